"""TransactionService: flat and tree streams, the ledger end, lookups by transaction id.

Streams take ``begin`` (required, exclusive) and ``end`` (inclusive; absent means follow the
ledger live); both are checked against the ledger end as Daml does (`offsets.offset_range`:
OFFSET_AFTER_LEDGER_END, OFFSET_OUT_OF_RANGE). Flat streams honour template filters; tree
streams are filtered by party only (Daml: template filters must be empty for trees). Reading
needs every filter party in the token's actAs or readAs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2 as tx_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)
from minicanton.core.protocol.offsets import Offset, OffsetRange, offset_range
from minicanton.participant.ledger_api.errors import (
    LedgerApiError,
    invalid_field,
    missing_field,
)
from minicanton.participant.ledger_api.events import EventRenderer
from minicanton.participant.ledger_api.filters import (
    PartyFilters,
    offset_from_proto,
    offset_to_proto,
    party_filters,
    wildcard,
)
from minicanton.participant.ledger_api.rpc import LedgerApiService, stream, unary
from minicanton.participant.ledger_api.streams import follow
from minicanton.runtime.auth import AuthorizedClaims
from minicanton.store.participant_store import TransactionRow


def transaction_not_found(transaction_id: str) -> LedgerApiError:
    return LedgerApiError("TRANSACTION_NOT_FOUND", "Transaction not found, or not visible.",
                          transaction_id=transaction_id)


class TransactionService(LedgerApiService, tx_grpc.TransactionServiceServicer):
    @stream
    async def GetTransactions(self, request: tx_pb2.GetTransactionsRequest,
                              context: grpc.aio.ServicerContext
                              ) -> AsyncIterator[tx_pb2.GetTransactionsResponse]:
        claims, filters, window = await self._stream_request(request, context)
        renderer = EventRenderer(self.backend.registry(), request.verbose)
        async for row in self._rows(claims, filters, window, flat=True):
            transaction = renderer.flat_transaction(row, filters)
            if transaction is not None:
                yield tx_pb2.GetTransactionsResponse(transactions=[transaction])

    @stream
    async def GetTransactionTrees(self, request: tx_pb2.GetTransactionsRequest,
                                  context: grpc.aio.ServicerContext
                                  ) -> AsyncIterator[tx_pb2.GetTransactionTreesResponse]:
        claims, filters, window = await self._stream_request(request, context)
        if not filters.is_wildcard:
            raise invalid_field("filter", "template filters must be empty for transaction "
                                          "trees (trees are filtered by party only)")
        renderer = EventRenderer(self.backend.registry(), request.verbose)
        async for row in self._rows(claims, filters, window, flat=False):
            tree = renderer.transaction_tree(row, filters.parties)
            yield tx_pb2.GetTransactionTreesResponse(transactions=[tree])

    @unary()
    async def GetLedgerEnd(self, request: tx_pb2.GetLedgerEndRequest,
                           context: grpc.aio.ServicerContext) -> tx_pb2.GetLedgerEndResponse:
        await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        end = await self.backend.ledger_end()
        return tx_pb2.GetLedgerEndResponse(offset=offset_to_proto(end))

    @unary()
    async def GetTransactionById(self, request: tx_pb2.GetTransactionByIdRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> tx_pb2.GetTransactionResponse:
        parties = await self._by_id_request(request, context)
        row = await self.backend.store.transaction_by_id(request.transaction_id, parties,
                                                         flat=False)
        if row is None:
            raise transaction_not_found(request.transaction_id)
        renderer = EventRenderer(self.backend.registry(), verbose=True)
        return tx_pb2.GetTransactionResponse(
            transaction=renderer.transaction_tree(row, parties))

    @unary()
    async def GetFlatTransactionById(self, request: tx_pb2.GetTransactionByIdRequest,
                                     context: grpc.aio.ServicerContext
                                     ) -> tx_pb2.GetFlatTransactionResponse:
        parties = await self._by_id_request(request, context)
        row = await self.backend.store.transaction_by_id(request.transaction_id, parties,
                                                         flat=True)
        renderer = EventRenderer(self.backend.registry(), verbose=True)
        transaction = None if row is None else renderer.flat_transaction(row, wildcard(parties))
        if transaction is None:
            raise transaction_not_found(request.transaction_id)
        return tx_pb2.GetFlatTransactionResponse(transaction=transaction)

    # -- shared request handling ---------------------------------------------------------------

    async def _stream_request(self, request: tx_pb2.GetTransactionsRequest,
                              context: grpc.aio.ServicerContext
                              ) -> tuple[AuthorizedClaims, PartyFilters, OffsetRange]:
        claims = await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        filters = party_filters(request.filter, request.HasField("filter"))
        claims.check_read_as(filters.parties)
        if not request.HasField("begin"):
            raise missing_field("begin")
        begin = offset_from_proto(request.begin, "begin")
        end = offset_from_proto(request.end, "end") if request.HasField("end") else None
        window = offset_range(begin, end, await self.backend.ledger_end())
        return claims, filters, window

    def _rows(self, claims: AuthorizedClaims, filters: PartyFilters, window: OffsetRange,
              *, flat: bool) -> AsyncIterator[TransactionRow]:
        parties = sorted(filters.parties)

        async def read_page(begin: Offset, end: Offset, limit: int) -> list[TransactionRow]:
            return await self.backend.store.transactions(parties, begin, end, flat=flat,
                                                         limit=limit)

        authorization = self.backend.stream_authorization(claims, parties)
        return follow(self.backend, authorization, window.begin_exclusive, window.end_inclusive,
                      read_page, lambda row: row.offset)

    async def _by_id_request(self, request: tx_pb2.GetTransactionByIdRequest,
                             context: grpc.aio.ServicerContext) -> list[str]:
        claims = await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        if not request.transaction_id:
            raise missing_field("transaction_id")
        if not request.requesting_parties:
            raise missing_field("requesting_parties")
        claims.check_read_as(request.requesting_parties)
        return sorted(set(request.requesting_parties))
