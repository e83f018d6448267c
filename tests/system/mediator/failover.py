"""A domain of real processes with two instances of one mediator on one database, a steady
stream of Iou creates through the Ledger API, and the checks the failover tests assert.

`FailoverDomain` is the participant harness's `Domain` with one sequencer instance and the
mediator started twice: "mediator-a" first (it takes the lease and becomes active), then
"mediator-b" (passive: it serves its auditor API and retries the lease). Both have a short
lease TTL, so a takeover shows up in seconds.

`IouLoad` runs a few workers, each submitting one Iou create after another (Bank issues
to Alice, submitted on Bank's participant) with a fresh command id, and records how each
call ended: committed with a transaction id, or rejected with a status and its text. The
checks then read what was really committed, in both participants' ledgers, in the mediator's
database and in the sequencer's, and return what they found so the tests can assert on it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc
from tests.system.participant.harness import Domain, LedgerClient, NodeProcess

from minicanton.codec.sequencer import decode_stored_envelopes
from minicanton.runtime.ports import free_port

LEASE_TTL_MS = 2_000
LEASE_RENEW_INTERVAL_MS = 250
VERDICT = "verdict-"


class FailoverDomain(Domain):
    """Sequencer, topology manager, mediator instances a (active) and b (passive)."""

    mediators: dict[str, NodeProcess]

    async def _start(self, node: NodeProcess) -> NodeProcess:
        if node.module != "minicanton.mediator":
            return await super()._start(node)
        self.mediators = {}
        for name in ("mediator-a", "mediator-b"):
            instance = NodeProcess(name, node.module, self.workdir, {
                **node.config, "instance_name": name, "port": free_port(),
                "lease_ttl_ms": LEASE_TTL_MS,
                "lease_renew_interval_ms": LEASE_RENEW_INTERVAL_MS,
            })
            self.mediators[name] = instance
            self.nodes.append(instance)
            self.spawn_mediator(name)
            if name == "mediator-a":
                await instance.wait_ready()
        await wait_for_log(self.mediators["mediator-b"], "serving the auditor API")
        return self.mediators["mediator-a"]

    def spawn_mediator(self, name: str) -> None:
        self.mediators[name].spawn()

    @property
    def mediator_dsn(self) -> str:
        return str(self.mediators["mediator-a"].config["database_dsn"])

    @property
    def sequencer_dsn(self) -> str:
        assert self.sequencers is not None
        return self.sequencers.dsn


def log_size(node: NodeProcess) -> int:
    return node.log_path.stat().st_size if node.log_path.exists() else 0


def log_since(node: NodeProcess, offset: int) -> str:
    return node.log_path.read_bytes()[offset:].decode(errors="replace")


async def wait_for_log(node: NodeProcess, text: str, since: int = 0,
                       timeout_s: float = 60.0) -> None:
    """Until the node's log shows `text` after byte `since` (the log of a restarted node
    goes on in the same file)."""
    deadline = time.monotonic() + timeout_s
    while text not in log_since(node, since):
        assert node.process is not None
        if node.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{node.name} never logged {text!r}:\n{node.log_tail()}")
        await asyncio.sleep(0.05)


async def lease(dsn: str) -> tuple[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow("SELECT holder, epoch FROM mediator_lease")
    finally:
        await connection.close()
    return str(row["holder"]), int(row["epoch"])


async def until_lease_moves(dsn: str, epoch: int, timeout_s: float = 60.0) -> tuple[str, float]:
    """The new holder once the epoch passed `epoch`, and the seconds it took."""
    started = time.monotonic()
    while True:
        holder, now_epoch = await lease(dsn)
        if now_epoch > epoch:
            return holder, time.monotonic() - started
        assert time.monotonic() - started < timeout_s, "the lease never moved"
        await asyncio.sleep(0.05)


# --- load -------------------------------------------------------------------------------

@dataclass
class IouLoad:
    client: LedgerClient
    issuer: str
    owner: str
    prefix: str
    workers: int = 6
    outcomes: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._worker(n)) for n in range(self.workers)]

    async def finish(self) -> None:
        """Stop submitting and wait for every submitted call to answer."""
        self.stop.set()
        await asyncio.gather(*self._tasks)

    def committed(self) -> int:
        return sum(1 for o in self.outcomes.values() if o is not None and o[0] == "committed")

    async def until_committed(self, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.committed() < count:
            assert time.monotonic() < deadline, f"only {self.committed()} commits"
            await asyncio.sleep(0.05)

    async def _worker(self, worker: int) -> None:
        sequence = 0
        while not self.stop.is_set():
            command_id = f"{self.prefix}-{worker}-{sequence}"
            sequence += 1
            self.outcomes[command_id] = None  # submitted, no answer yet
            try:
                tx_id = await self.client.create_iou(self.issuer, self.owner, "1.00", command_id)
                self.outcomes[command_id] = ("committed", tx_id)
            except grpc.aio.AioRpcError as error:
                self.outcomes[command_id] = ("rejected", error.code().name,
                                             error.details() or "")


# --- what was committed -----------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFindings:
    unanswered: list[str]  # submitted, never answered
    unclear: list[tuple[str, ...]]  # rejected without a status a user can act on
    lost: list[str]  # answered committed, missing from the submitter's ledger
    twice: list[str]  # in the ledger more than once
    rejected_but_committed: list[str]
    unknown: list[str]  # in the ledger under a command id nobody submitted
    submitter_only: set[str]  # transaction ids in one participant's ledger only
    observer_only: set[str]


async def ledger_findings(load: IouLoad, bank: LedgerClient, alice: LedgerClient,
                          converge_s: float = 30.0) -> LedgerFindings:
    """Once the load is finished. Each participant commits on the verdict on its own, so the
    observer may still be a few events behind the submitter (or ahead, read second): the
    ledgers are read again until they agree or `converge_s` passed, and a difference that
    outlasts that is a finding."""
    deadline = time.monotonic() + converge_s
    while True:
        by_command: dict[str, list[str]] = {}
        for tx in await bank.transactions_of(load.issuer):
            by_command.setdefault(tx.command_id, []).append(tx.transaction_id)
        submitter_ids = {tx_id for ids in by_command.values() for tx_id in ids}
        observer_ids = {tx.transaction_id for tx in await alice.transactions_of(load.owner)}
        if submitter_ids == observer_ids or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    outcomes = load.outcomes
    return LedgerFindings(
        unanswered=[c for c, o in outcomes.items() if o is None],
        unclear=[o for o in outcomes.values()
                 if o is not None and o[0] == "rejected" and not _clear(o)],
        lost=[c for c, o in outcomes.items() if o is not None and o[0] == "committed"
              and by_command.get(c) != [o[1]]],
        twice=[c for c, ids in by_command.items() if len(ids) > 1],
        rejected_but_committed=[c for c, o in outcomes.items()
                                if o is not None and o[0] == "rejected" and c in by_command],
        unknown=[c for c in by_command if c not in outcomes],
        submitter_only=submitter_ids - observer_ids,
        observer_only=observer_ids - submitter_ids,
    )


def _clear(outcome: tuple[str, ...]) -> bool:
    """A rejection the application can act on: a status that says what happened, with text.
    INTERNAL / UNKNOWN (a stack trace) and the client's own deadline (no answer) are not."""
    _, code, details = outcome
    return code not in ("INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED") and bool(details)


# --- what the mediator decided and sent -------------------------------------------------

@dataclass(frozen=True)
class VerdictFindings:
    requests: int
    undecided: list[int]  # requests with no verdict
    sequenced_twice: list[str]  # verdict message ids the sequencer sequenced more than once
    differing: list[str]  # sequenced verdicts whose payloads are not what the mediator stored
    unsent: list[str]  # verdicts stored, never sequenced


async def verdict_findings(domain: FailoverDomain, mediator_id: str) -> VerdictFindings:
    mediator = await asyncpg.connect(domain.mediator_dsn)
    try:
        requests = await mediator.fetch(
            "SELECT r.request_ts, v.message_id, v.recipients, v.deliveries "
            "FROM mediator_requests r LEFT JOIN mediator_verdicts v USING (request_ts)")
    finally:
        await mediator.close()
    sequenced = await _sequenced_verdicts(domain.sequencer_dsn, mediator_id)
    stored = {r["message_id"]: dict(zip(r["recipients"], map(bytes, r["deliveries"]),
                                        strict=True))
              for r in requests if r["message_id"] is not None}
    return VerdictFindings(
        requests=len(requests),
        undecided=[r["request_ts"] for r in requests if r["message_id"] is None],
        sequenced_twice=[m for m, copies in sequenced.items() if len(copies) > 1],
        differing=[m for m, copies in sequenced.items()
                   if any(copy != stored.get(m) for copy in copies)],
        unsent=[m for m in stored if m not in sequenced],
    )


async def _sequenced_verdicts(dsn: str, mediator_id: str) -> dict[str, list[dict[str, bytes]]]:
    """Every verdict batch the sequencer sequenced from the mediator: message id -> the
    payload each recipient was delivered, once per time it was sequenced."""
    connection = await asyncpg.connect(dsn)
    try:
        members = {r["number"]: r["member"]
                   for r in await connection.fetch("SELECT number, member FROM sequencer_members")}
        rows = await connection.fetch(
            "SELECT e.message_id, e.payload FROM sequencer_events e "
            "JOIN sequencer_members m ON m.number = e.sender "
            "WHERE m.member = $1 AND e.message_id LIKE $2 AND e.payload IS NOT NULL",
            mediator_id, VERDICT + "%")
    finally:
        await connection.close()
    out: dict[str, list[dict[str, bytes]]] = {}
    for row in rows:
        copies: dict[str, bytes] = {}
        for stored in decode_stored_envelopes(bytes(row["payload"])):
            for number in stored.member_numbers:
                if members[number] != mediator_id:  # the sender's own receipt
                    copies[members[number]] = stored.envelope.content
        out.setdefault(row["message_id"], []).append(copies)
    return out


def summary(**parts: Any) -> str:
    return "; ".join(f"{k}={v}" for k, v in parts.items())
