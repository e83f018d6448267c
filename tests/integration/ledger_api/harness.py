"""The Ledger API under test: the real gRPC server on 127.0.0.1, the real participant store on a
real PostgreSQL, and clients generated from the protos.

What stands in for the rest of the node is test code implementing the node's interfaces:
`LedgerWriter` plays the commit path (it interprets commands with the real engine, computes
the commit set and writes it with ``store.apply_event``, then signals the ledger end);
`StorePartyAllocator` and `StorePackageUploader` record parties and packages in the admin store
(the node would go through the topology manager first); `ScriptedSubmitter` plays the
protocol pipeline (raise a scripted error, or commit through the `LedgerWriter`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from tests.unit.lf.engine_helpers import (
    ALICE,
    BANK,
    BOB,
    DVP_SOURCE,
    LEDGER_TIME_US,
    SR,
    InMemoryLedger,
    cid,
    int64,
    numeric,
    party,
    record,
    ref,
    text,
)

from minicanton.codec.package_archive import PackageArchive, PackageSource
from minicanton.core.errors import MinicantonError
from minicanton.core.lf.commands import Command, CreateCommand, ExerciseCommand
from minicanton.core.lf.engine import SubmissionResult
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.protocol.commit_set import commit_set_for
from minicanton.participant.ledger_api.backend import (
    LedgerApiBackend,
    LedgerEndNotifier,
    PostgresCreateEvents,
    SubmissionAccepted,
    SubmissionRequest,
)
from minicanton.participant.ledger_api.server import LedgerApiServer, start_ledger_api_server
from minicanton.runtime.auth import (
    AuthConfig,
    KeySource,
    LedgerApiAuthenticator,
    mint_dev_token,
)
from minicanton.runtime.auth_keys import SharedSecretKeys
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    CompletionRow,
    EventEffects,
    transaction_entry,
)
from minicanton.store.postgres.participant_admin_store import (
    PackageRow,
    PartyRow,
    PostgresParticipantAdminStore,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

SECRET = "ledger-api-test-secret-0123456789abcdef"
PARTICIPANT_ID = "PAR::p1::1220abcdef"
LEDGER_ID = "minicanton-test"
HOSTED = frozenset({BANK, SR, ALICE, BOB})
RECORD_TIME_US = LEDGER_TIME_US + 1_000
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def rich_status(error: grpc.aio.AioRpcError) -> tuple[status_pb2.Status,
                                                       error_details_pb2.ErrorInfo]:
    """The google.rpc.Status a call failed with, and its ErrorInfo."""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            info = error_details_pb2.ErrorInfo()
            assert any(detail.Unpack(info) for detail in status.details)
            return status, info
    raise AssertionError(f"no {STATUS_DETAILS_KEY} in {error}")


class RegistryHolder:
    """The node's current package registry; uploads swap in a new one."""

    def __init__(self, registry: PackageRegistry | None = None) -> None:
        self.registry = registry

    def __call__(self) -> PackageRegistry | None:
        return self.registry


@dataclass
class StorePartyAllocator:
    admin: PostgresParticipantAdminStore
    namespace: str = "1220abcdef"

    async def allocate_party(self, party_id_hint: str, display_name: str) -> PartyRow:
        row = PartyRow(f"{party_id_hint}::{self.namespace}", display_name, True,
                       int(time.time() * 1e6))
        await self.admin.add_party(row)
        return row


@dataclass
class StorePackageUploader:
    admin: PostgresParticipantAdminStore
    registry: RegistryHolder
    uploads: list[str] = field(default_factory=list)

    async def upload_packages(self, archive: PackageArchive, submission_id: str) -> list[str]:
        packages = [load_package(p.source) for p in archive.packages]  # validate all first
        current = self.registry.registry or PackageRegistry()
        for package, source in zip(packages, archive.packages, strict=True):
            await self.admin.add_package(PackageRow(package.package_id, source.name,
                                                    source.source, int(time.time() * 1e6)))
            current = current.with_package(package)
        self.registry.registry = current
        self.uploads.append(submission_id)
        return [p.package_id for p in packages]


class LedgerWriter:
    """The commit path: engine -> commit set -> one ``apply_event`` -> ledger end signal."""

    def __init__(self, store: PostgresParticipantStore, notifier: LedgerEndNotifier,
                 registry: RegistryHolder) -> None:
        self.store = store
        self.notifier = notifier
        self.registry = registry
        self.ledger = InMemoryLedger()
        self.sequencer_counter = 0
        self.last_result: SubmissionResult | None = None

    async def commit(self, commands: Sequence[Command], act_as: Iterable[str], *,
                     command_id: str = "", application_id: str = "app",
                     submission_id: str = "", workflow_id: str = "") -> CompletionRow:
        registry = self.registry.registry
        assert registry is not None
        submitters = frozenset(act_as)
        result = self.ledger.submit(registry, list(commands), submitters)
        self.last_result = result
        commit = commit_set_for(result.transaction, HOSTED, result.input_contracts,
                                LEDGER_TIME_US)
        transaction_id = f"tx-{self.sequencer_counter + 1}"
        completion = CompletionEntry(application_id, submitters, command_id, submission_id,
                                     None, RECORD_TIME_US) if command_id else None
        entry = transaction_entry(
            commit, transaction_id=transaction_id, ledger_time_us=LEDGER_TIME_US,
            record_time_us=RECORD_TIME_US, command_id=command_id, workflow_id=workflow_id,
            application_id=application_id, submitters=submitters, completion=completion)
        applied = await self._apply(EventEffects(self._position(), transactions=(entry,)))
        offset = applied.transaction_offsets[0]
        placeholder = CompletionEntry(application_id, submitters, command_id, submission_id,
                                      None, RECORD_TIME_US)
        return CompletionRow(offset, completion or placeholder, transaction_id)

    async def reject(self, completion: CompletionEntry) -> CompletionRow:
        applied = await self._apply(EventEffects(self._position(), rejections=(completion,)))
        return CompletionRow(applied.rejection_offsets[0], completion, None)

    def _position(self) -> CleanPosition:
        self.sequencer_counter += 1
        return CleanPosition(self.sequencer_counter, RECORD_TIME_US + self.sequencer_counter)

    async def _apply(self, effects: EventEffects) -> Any:
        applied = await self.store.apply_event(effects)
        self.notifier.advance(applied.ledger_end)
        return applied


@dataclass
class ScriptedSubmitter:
    """The protocol pipeline, scripted: raise `error` if set, else commit via the writer."""

    writer: LedgerWriter
    error: MinicantonError | None = None
    requests: list[SubmissionRequest] = field(default_factory=list)
    hold: bool = False  # accept but never complete
    rejection: tuple[int, str, str] | None = None  # complete with (code, error id, message)

    async def submit(self, request: SubmissionRequest) -> SubmissionAccepted:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        completion: asyncio.Future[CompletionRow] = asyncio.get_running_loop().create_future()
        if self.rejection is not None:
            code, error_id, message = self.rejection
            completion.set_result(await self.writer.reject(CompletionEntry(
                request.application_id, request.act_as, request.command_id,
                request.submission_id, None, RECORD_TIME_US, code, error_id, message)))
        elif not self.hold:
            completion.set_result(await self.writer.commit(
                request.commands, request.act_as, command_id=request.command_id,
                application_id=request.application_id, submission_id=request.submission_id,
                workflow_id=request.workflow_id))
        return SubmissionAccepted(completion)


@dataclass
class Harness:
    store: PostgresParticipantStore
    admin: PostgresParticipantAdminStore
    backend: LedgerApiBackend
    registry: RegistryHolder
    writer: LedgerWriter
    submitter: ScriptedSubmitter
    uploader: StorePackageUploader
    server: LedgerApiServer
    channel: grpc.aio.Channel

    def token(self, act_as: Iterable[str] = (), read_as: Iterable[str] = (),
              admin: bool = False, application_id: str | None = None) -> str:
        return mint_dev_token(SECRET, act_as, read_as, admin=admin,
                              application_id=application_id, participant_id=PARTICIPANT_ID)


@asynccontextmanager
async def ledger_api(dsn: str, keys: KeySource | None = None, *, with_dvp: bool = True,
                     poll_interval_s: float = 1.0) -> AsyncIterator[Harness]:
    store = await PostgresParticipantStore.open(dsn)
    admin = PostgresParticipantAdminStore(store.pool)
    registry = RegistryHolder()
    notifier = LedgerEndNotifier(await store.ledger_end())
    uploader = StorePackageUploader(admin, registry)
    if with_dvp:
        await uploader.upload_packages(
            PackageArchive("dvp", (_source("dvp.py", DVP_SOURCE),)), "setup")
    backend = LedgerApiBackend(
        participant_id=PARTICIPANT_ID, ledger_id=LEDGER_ID, store=store, admin=admin,
        create_events=PostgresCreateEvents(store),
        party_allocator=StorePartyAllocator(admin), package_uploader=uploader,
        notifier=notifier, registry=registry, poll_interval_s=poll_interval_s)
    authenticator = LedgerApiAuthenticator(
        AuthConfig(keys or SharedSecretKeys(SECRET.encode()), participant_id=PARTICIPANT_ID,
                   ledger_id=LEDGER_ID), backend.user_rights)
    writer = LedgerWriter(store, notifier, registry)
    submitter = ScriptedSubmitter(writer)
    server = await start_ledger_api_server("127.0.0.1:0", backend, submitter, authenticator,
                                           max_wait_s=5.0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Harness(store, admin, backend, registry, writer, submitter, uploader, server,
                      channel)
    finally:
        await channel.close()
        await server.stop(0)
        await store.close()


def _source(name: str, text: str) -> PackageSource:
    return PackageSource(name, text.encode())


# -- the DvP flow (seed 003), committed step by step as the commit path would -----------------

@dataclass(frozen=True)
class DvpLedger:
    iou: str
    share: str
    proposal: str
    dvp: str
    new_iou: str
    new_share: str
    offsets: tuple[str, ...]  # of the five transactions tx-1 .. tx-5


def _created(writer: LedgerWriter, entity: str) -> str:
    result = writer.last_result
    assert result is not None
    (found,) = [c.contract_id for c in result.active_created
                if c.template_id.entity_name == entity]
    return found


async def run_dvp(h: Harness, *, through_swap: bool = True) -> DvpLedger:
    """Bank issues an Iou to Alice, SR a Share to Bob, Alice proposes, Bob accepts, Alice
    swaps: five transactions tx-1 .. tx-5 (the last two only with `through_swap`)."""
    w = h.writer
    offsets = [(await w.commit([CreateCommand(ref("dvp:Iou"), record(
        issuer=party(BANK), owner=party(ALICE), amount=numeric("100"), currency=text("USD")))],
        [BANK], command_id="issue-iou")).offset]
    iou = _created(w, "Iou")
    offsets.append((await w.commit([CreateCommand(ref("dvp:Share"), record(
        registry=party(SR), owner=party(BOB), company=text("ACME"), quantity=int64(10)))],
        [SR], command_id="issue-share")).offset)
    share = _created(w, "Share")
    offsets.append((await w.commit([CreateCommand(ref("dvp:DvpProposal"), record(
        buyer=party(ALICE), seller=party(BOB), iou=cid(iou), company=text("ACME"),
        quantity=int64(10)))], [ALICE], command_id="propose")).offset)
    proposal = _created(w, "DvpProposal")
    if not through_swap:
        return DvpLedger(iou, share, proposal, "", "", "", tuple(offsets))
    offsets.append((await w.commit([ExerciseCommand(ref("dvp:DvpProposal"), proposal, "Accept",
                                                    record(share=cid(share)))],
                                   [BOB], command_id="accept")).offset)
    dvp = _created(w, "DvP")
    offsets.append((await w.commit([ExerciseCommand(ref("dvp:DvP"), dvp, "Swap", record())],
                                   [ALICE], command_id="swap", workflow_id="dvp-1")).offset)
    return DvpLedger(iou, share, proposal, dvp, _created(w, "Iou"), _created(w, "Share"),
                     tuple(offsets))
