"""ActiveContractsService.GetActiveContracts: one consistent snapshot of the ACS.

The snapshot is read in one store transaction at the ledger end; it is sent in chunks of
`CHUNK_SIZE` created events and the last message carries the snapshot's offset (Daml's
contract: "offset is included only in the last message"), from which a client continues with
GetTransactions. A contract is sent to the requesting parties that are its stakeholders and
whose filter admits its template.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2 as acs_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2_grpc as acs_grpc,
)
from minicanton.core.errors import InvalidArgument
from minicanton.core.protocol.offsets import parse_offset
from minicanton.participant.ledger_api.errors import invalid_field
from minicanton.participant.ledger_api.events import EventRenderer
from minicanton.participant.ledger_api.filters import party_filters
from minicanton.participant.ledger_api.rpc import LedgerApiService, stream
from minicanton.store.participant_store import decode_contract

CHUNK_SIZE = 200


class ActiveContractsService(LedgerApiService, acs_grpc.ActiveContractsServiceServicer):
    @stream
    async def GetActiveContracts(
        self, request: acs_pb2.GetActiveContractsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[acs_pb2.GetActiveContractsResponse]:
        claims = await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        filters = party_filters(request.filter, request.HasField("filter"))
        claims.check_read_as(filters.parties)
        authorization = self.backend.stream_authorization(claims, filters.parties)
        rows, offset = await self.backend.store.active_contracts(
            filters.parties, filters.exact_templates())
        self._check_active_at(request.active_at_offset, offset)
        event_ids = await self.backend.create_events.create_event_ids(rows)
        renderer = EventRenderer(self.backend.registry(), request.verbose)
        chunk = acs_pb2.GetActiveContractsResponse()
        for row in rows:
            contract = row.contract
            witnesses = filters.witnesses(contract.stakeholders, contract.template_id)
            if not witnesses:
                continue
            instance = decode_contract(contract.payload)
            chunk.active_contracts.append(renderer.created(
                event_ids.get(contract.contract_id, ""), instance, witnesses,
                contract.ledger_time_us))
            if len(chunk.active_contracts) >= CHUNK_SIZE:
                await authorization.check()
                yield chunk
                chunk = acs_pb2.GetActiveContractsResponse()
        chunk.offset = offset
        yield chunk

    @staticmethod
    def _check_active_at(requested: str, snapshot: str) -> None:
        """Only the current snapshot is served; an explicit offset must name it."""
        if not requested:
            return
        try:
            parse_offset(requested)
        except InvalidArgument as error:
            raise invalid_field("active_at_offset", error.message) from None
        if requested != snapshot:
            raise invalid_field(
                "active_at_offset",
                f"only the snapshot at the ledger end ({snapshot or 'ledger begin'}) is served",
            )
