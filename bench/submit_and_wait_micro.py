"""The Ledger API's per-call shell of SubmitAndWait, in process (performance.md).

What participant `bank` does around the protocol for each command of benchmark (a), minus
gRPC's own C core and the submitter: the error boundary (`rpc.unary` -> `run_typed`),
authentication of the same HS256 custom-claims token the load generator sends, the
`Commands` message (an Iou create, as (a) sends it) turned into a `SubmissionRequest` and
checked against the claims, the wait for the completion (which arrives one loop turn after
the submission was accepted, as it never is at once) and the empty response. The submitter
is a stand-in that accepts at once: its own shell is measured by the end-to-end profile.
Prints µs CPU per call, min of the rounds. Compare trees by alternating:
`PYTHONPATH=TREE/services python -m bench.submit_and_wait_micro`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

from minicanton import _native
from minicanton.cli.ledger_client import LEDGER_ID, create_command
from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2, commands_pb2
from minicanton.core.lf.value import NumericValue, PartyValue, TextValue
from minicanton.participant.ledger_api.backend import (
    LedgerApiBackend,
    LedgerEndNotifier,
    SubmissionAccepted,
    SubmissionRequest,
)
from minicanton.participant.ledger_api.command_submission import CommandService
from minicanton.runtime.auth import (
    AuthConfig,
    LedgerApiAuthenticator,
    SharedSecretKeys,
    mint_dev_token,
)
from minicanton.store.participant_store import CompletionEntry, CompletionRow

CALLS = 500
ROUNDS = 40
SECRET = b"benchmark-secret-of-at-least-32-bytes!!"
BANK = "Bank::1220" + "ab" * 32
ALICE = "Alice::1220" + "cd" * 32


class _Context:
    """What the handler asks of grpc.aio's servicer context on the success path."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float:
        return 119.9


class _Accepting:
    """Accepts each submission; its completion arrives on the next turn of the loop."""

    def __init__(self) -> None:
        self.submitted = 0

    async def submit(self, request: SubmissionRequest) -> SubmissionAccepted:
        self.submitted += 1
        future: asyncio.Future[CompletionRow] = asyncio.get_running_loop().create_future()
        row = CompletionRow(self.submitted, CompletionEntry(
            request.application_id, request.act_as, request.command_id, request.submission_id,
            "change", 0), "tx")
        asyncio.get_running_loop().call_soon(future.set_result, row)
        return SubmissionAccepted(future)


def _service() -> CommandService:
    backend = LedgerApiBackend(
        participant_id="bank", ledger_id=LEDGER_ID, store=None, admin=None,  # type: ignore[arg-type]
        create_events=None, party_allocator=None, package_uploader=None,  # type: ignore[arg-type]
        notifier=LedgerEndNotifier())
    authenticator = LedgerApiAuthenticator(AuthConfig(SharedSecretKeys(SECRET), "bank"))
    return CommandService(backend, authenticator, _Accepting())  # type: ignore[arg-type]


def _requests() -> list[command_service_pb2.SubmitAndWaitRequest]:
    command = create_command("dvp", "Iou", issuer=PartyValue(BANK), owner=PartyValue(ALICE),
                             amount=NumericValue(Decimal(100)), currency=TextValue("USD"))
    return [command_service_pb2.SubmitAndWaitRequest(commands=commands_pb2.Commands(
        ledger_id=LEDGER_ID, application_id="bench", command_id=uuid.uuid4().hex,
        act_as=[BANK], commands=[command])) for _ in range(CALLS)]


async def _round(service: CommandService, context: Any,
                 requests: list[command_service_pb2.SubmitAndWaitRequest]) -> float:
    start = time.process_time()
    for request in requests:
        await service.SubmitAndWait(request, context)
    return (time.process_time() - start) / len(requests) * 1e6


async def _main() -> float:
    service = _service()
    token = mint_dev_token(SECRET, act_as=[BANK], application_id="bench")
    context = _Context((("user-agent", "grpc-python-asyncio/1.62.1 grpc-c/39.0.0"),
                        ("authorization", f"Bearer {token}")))
    requests = _requests()
    return min([await _round(service, context, requests) for _ in range(ROUNDS)])


def main() -> None:
    best = asyncio.run(_main())
    print(f"core: {_native.STATE.describe()}; SubmitAndWait shell {best:.1f} µs CPU per call")


if __name__ == "__main__":
    main()
