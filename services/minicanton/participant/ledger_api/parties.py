"""PartyManagementService: this participant's id and the parties it knows; allocation goes
through the node's `PartyAllocator` (a party-to-participant mapping via the topology manager).
Every RPC needs participant admin rights, as in Daml."""

from __future__ import annotations

import uuid

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2 as party_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2_grpc as party_grpc,
)
from minicanton.participant.ledger_api.paging import (
    decode_page_token,
    next_page_token,
    page_size,
)
from minicanton.participant.ledger_api.rpc import LedgerApiService, unary
from minicanton.store.postgres.participant_admin_store import PartyRow


def party_details(row: PartyRow) -> party_pb2.PartyDetails:
    return party_pb2.PartyDetails(party=row.party, display_name=row.display_name,
                                  is_local=row.is_local)


class PartyManagementService(LedgerApiService, party_grpc.PartyManagementServiceServicer):
    @unary()
    async def GetParticipantId(self, request: party_pb2.GetParticipantIdRequest,
                               context: grpc.aio.ServicerContext
                               ) -> party_pb2.GetParticipantIdResponse:
        await self.admin_claims(context)
        return party_pb2.GetParticipantIdResponse(participant_id=self.backend.participant_id)

    @unary()
    async def GetParties(self, request: party_pb2.GetPartiesRequest,
                         context: grpc.aio.ServicerContext) -> party_pb2.GetPartiesResponse:
        await self.admin_claims(context)
        rows = await self.backend.admin.get_parties(sorted(set(request.parties)))
        return party_pb2.GetPartiesResponse(party_details=[party_details(r) for r in rows])

    @unary()
    async def ListKnownParties(self, request: party_pb2.ListKnownPartiesRequest,
                               context: grpc.aio.ServicerContext
                               ) -> party_pb2.ListKnownPartiesResponse:
        await self.admin_claims(context)
        size = page_size(request.page_size)
        after = decode_page_token(request.page_token)
        rows = [r for r in await self.backend.admin.list_parties() if r.party > after][:size]
        return party_pb2.ListKnownPartiesResponse(
            party_details=[party_details(r) for r in rows],
            next_page_token=next_page_token([r.party for r in rows], size),
        )

    @unary()
    async def AllocateParty(self, request: party_pb2.AllocatePartyRequest,
                            context: grpc.aio.ServicerContext
                            ) -> party_pb2.AllocatePartyResponse:
        await self.admin_claims(context)
        hint = request.party_id_hint or f"party-{uuid.uuid4().hex[:12]}"
        row = await self.backend.party_allocator.allocate_party(hint, request.display_name)
        return party_pb2.AllocatePartyResponse(party_details=party_details(row))
