"""CommandCompletionService: the completions of one application's commands, live.

CompletionStream sends, from ``offset`` (exclusive; absent means the current ledger end, as in
Daml) and for ever, every completion of ``application_id`` whose act-as parties include one of
``parties``, each with a checkpoint (its offset and record time). The application id must be
the token's (when the token names one) and every party readable by the token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2 as completion_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2_grpc as completion_grpc,
)
from minicanton.core.protocol.offsets import Offset, offset_range
from minicanton.participant.ledger_api.errors import missing_field
from minicanton.participant.ledger_api.events import completion, timestamp
from minicanton.participant.ledger_api.filters import offset_from_proto, offset_to_proto
from minicanton.participant.ledger_api.rpc import LedgerApiService, stream, unary
from minicanton.participant.ledger_api.streams import follow
from minicanton.store.participant_store import CompletionRow


class CommandCompletionService(LedgerApiService, completion_grpc.CommandCompletionServiceServicer):
    @stream
    async def CompletionStream(self, request: completion_pb2.CompletionStreamRequest,
                               context: grpc.aio.ServicerContext
                               ) -> AsyncIterator[completion_pb2.CompletionStreamResponse]:
        claims = await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        if not request.parties:
            raise missing_field("parties")
        claims.check_read_as(request.parties)
        application_id = claims.check_application_id(request.application_id)
        if not application_id:
            raise missing_field("application_id")
        ledger_end = await self.backend.ledger_end()
        begin = (offset_from_proto(request.offset, "offset") if request.HasField("offset")
                 else ledger_end)
        window = offset_range(begin, None, ledger_end)
        parties = sorted(set(request.parties))

        async def read_page(after: Offset, upto: Offset, limit: int) -> list[CompletionRow]:
            return await self.backend.store.completions(application_id, parties, after, upto,
                                                        limit)

        authorization = self.backend.stream_authorization(claims, parties)
        async for row in follow(self.backend, authorization, window.begin_exclusive, None,
                                read_page, lambda row: row.offset):
            checkpoint = completion_pb2.Checkpoint(record_time=timestamp(row.entry.record_time_us),
                                                   offset=offset_to_proto(row.offset))
            yield completion_pb2.CompletionStreamResponse(checkpoint=checkpoint,
                                                          completions=[completion(row)])

    @unary()
    async def CompletionEnd(self, request: completion_pb2.CompletionEndRequest,
                            context: grpc.aio.ServicerContext
                            ) -> completion_pb2.CompletionEndResponse:
        await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        end = await self.backend.ledger_end()
        return completion_pb2.CompletionEndResponse(offset=offset_to_proto(end))
