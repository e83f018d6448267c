"""CommandSubmissionService.Submit and CommandService (submit, then wait for the completion).

Submit returns once the `CommandSubmitter` accepted the submission; its outcome arrives on the
completion stream. The CommandService waits for that completion (at most the call's deadline
or `max_wait_s`) and answers with the transaction id, the flat transaction or the tree as the
submitting (act-as) parties see it, or fails with the rejection's status and error id, as
Daml's CommandService does. Waiting never cancels the submitter's own completion future: a
caller that gives up leaves the submission to complete.
"""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2
from google.rpc import code_pb2

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2 as command_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2_grpc as command_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_submission_service_pb2 as submission_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_submission_service_pb2_grpc as submission_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import transaction_pb2
from minicanton.core.errors import MinicantonError
from minicanton.participant.ledger_api.backend import (
    CommandSubmitter,
    LedgerApiBackend,
    SubmissionRequest,
)
from minicanton.participant.ledger_api.commands import submission_context, submission_request
from minicanton.participant.ledger_api.errors import (
    LedgerApiError,
    code_by_number,
    missing_field,
)
from minicanton.participant.ledger_api.events import EventRenderer, timestamp
from minicanton.participant.ledger_api.filters import wildcard
from minicanton.participant.ledger_api.rpc import LedgerApiService, unary
from minicanton.runtime.auth import LedgerApiAuthenticator
from minicanton.runtime.waits import result_within
from minicanton.store.participant_store import CompletionRow, TransactionEntry, TransactionRow
from minicanton.store.postgres.participant_rows import transaction_row_of

Committed = TransactionEntry | None

DEFAULT_MAX_WAIT_S = 300.0


class CommandRejected(MinicantonError):
    """A completion that was not OK, raised as the SubmitAndWait outcome."""

    def __init__(self, row: CompletionRow) -> None:
        entry = row.entry
        super().__init__(entry.message or "the command was rejected",
                         error_id=entry.error_id or "COMMAND_REJECTED")
        self.grpc_status = code_by_number(entry.status_code).name
        self.completion_offset = row.offset


def _context(request: submission_pb2.SubmitRequest | command_pb2.SubmitAndWaitRequest
             ) -> dict[str, str]:
    return submission_context(request.commands)


class _Submitting(LedgerApiService):
    def __init__(self, backend: LedgerApiBackend, authenticator: LedgerApiAuthenticator,
                 submitter: CommandSubmitter, max_wait_s: float = DEFAULT_MAX_WAIT_S) -> None:
        super().__init__(backend, authenticator)
        self.submitter = submitter
        self.max_wait_s = max_wait_s

    async def _request(self, request: submission_pb2.SubmitRequest
                       | command_pb2.SubmitAndWaitRequest,
                       context: grpc.aio.ServicerContext) -> SubmissionRequest:
        claims = await self.claims(context)
        if not request.HasField("commands"):
            raise missing_field("commands")
        self.check_ledger_id(request.commands.ledger_id)
        return submission_request(request.commands, claims)


class CommandSubmissionService(_Submitting, submission_grpc.CommandSubmissionServiceServicer):
    @unary(_context)
    async def Submit(self, request: submission_pb2.SubmitRequest,
                     context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self.submitter.submit(await self._request(request, context))
        return empty_pb2.Empty()


class CommandService(_Submitting, command_grpc.CommandServiceServicer):
    @unary(_context)
    async def SubmitAndWait(self, request: command_pb2.SubmitAndWaitRequest,
                            context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._submit_and_wait(request, context)
        return empty_pb2.Empty()

    @unary(_context)
    async def SubmitAndWaitForTransactionId(
        self, request: command_pb2.SubmitAndWaitRequest, context: grpc.aio.ServicerContext
    ) -> command_pb2.SubmitAndWaitForTransactionIdResponse:
        _, row, _ = await self._submit_and_wait(request, context)
        return command_pb2.SubmitAndWaitForTransactionIdResponse(
            transaction_id=row.transaction_id or "", completion_offset=row.offset)

    @unary(_context)
    async def SubmitAndWaitForTransaction(
        self, request: command_pb2.SubmitAndWaitRequest, context: grpc.aio.ServicerContext
    ) -> command_pb2.SubmitAndWaitForTransactionResponse:
        submission, row, committed = await self._submit_and_wait(request, context)
        transaction = await self._flat_transaction(submission, row, committed)
        return command_pb2.SubmitAndWaitForTransactionResponse(
            transaction=transaction, completion_offset=row.offset)

    @unary(_context)
    async def SubmitAndWaitForTransactionTree(
        self, request: command_pb2.SubmitAndWaitRequest, context: grpc.aio.ServicerContext
    ) -> command_pb2.SubmitAndWaitForTransactionTreeResponse:
        submission, row, committed = await self._submit_and_wait(request, context)
        parties = sorted(submission.act_as)
        stored = await self._transaction(row, parties, committed, flat=False)
        if stored is None:
            tree = transaction_pb2.TransactionTree(transaction_id=row.transaction_id or "",
                                                   offset=row.offset)
        else:
            tree = EventRenderer(self.backend.registry(), True).transaction_tree(stored, parties)
        return command_pb2.SubmitAndWaitForTransactionTreeResponse(
            transaction=tree, completion_offset=row.offset)

    async def _submit_and_wait(self, request: command_pb2.SubmitAndWaitRequest,
                               context: grpc.aio.ServicerContext
                               ) -> tuple[SubmissionRequest, CompletionRow, Committed]:
        submission = await self._request(request, context)
        accepted = await self.submitter.submit(submission)
        remaining = context.time_remaining()
        timeout_s = self.max_wait_s if remaining is None else min(remaining, self.max_wait_s)
        # a caller that gives up leaves the completion to the completion stream
        row = await result_within(accepted.completion, timeout_s)
        if row is None:
            raise LedgerApiError(
                "REQUEST_TIME_OUT",
                "the command did not complete in time; it may still complete (see the "
                "completion stream)",
                command_id=submission.command_id, submission_id=submission.submission_id,
            )
        if row.entry.status_code != code_pb2.OK:
            raise CommandRejected(row)
        return submission, row, accepted.committed()

    async def _transaction(self, row: CompletionRow, parties: list[str],
                           committed: Committed, *, flat: bool) -> TransactionRow | None:
        """The completed transaction as the parties see it: from what the commit path stored
        when it still holds that (the same row, one read less), else from the store."""
        if committed is not None and committed.transaction_id == row.transaction_id:
            return transaction_row_of(committed, row.offset, parties, flat=flat)
        return await self.backend.store.transaction_by_id(row.transaction_id or "", parties,
                                                          flat=flat)

    async def _flat_transaction(self, submission: SubmissionRequest, row: CompletionRow,
                                committed: Committed) -> transaction_pb2.Transaction:
        """The flat transaction for the submitters; one without events (a non-consuming
        exercise, say) is still answered, with its header only, as Daml does."""
        parties = sorted(submission.act_as)
        transaction_id = row.transaction_id or ""
        renderer = EventRenderer(self.backend.registry(), True)
        flat = await self._transaction(row, parties, committed, flat=True)
        rendered = None if flat is None else renderer.flat_transaction(flat, wildcard(parties))
        if rendered is not None:
            return rendered
        tree = await self._transaction(row, parties, committed, flat=False)
        if tree is None:
            return transaction_pb2.Transaction(transaction_id=transaction_id, offset=row.offset)
        return transaction_pb2.Transaction(
            transaction_id=transaction_id, command_id=submission.command_id,
            workflow_id=tree.workflow_id, effective_at=timestamp(tree.ledger_time_us),
            offset=tree.offset)

