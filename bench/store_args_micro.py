"""The per-batch writes of the mediator and the participants, in process against a real PostgreSQL.

What benchmark (a) (Iou creates, bank -> alice, c=32) hands the stores per batch, rebuilt with
the store's own dataclasses in the shapes a capture of the localnet showed (session 7: 617
mediator batches of 5.4 events on average, each transaction three events: the request with an
informee and two root hash messages, ~1.6 KB signed; the response with its verdict, ~0.95
KB; the receipt of the verdict send, ~0.5 KB. Participants: a batch of new pending requests,
then a batch of the transactions their verdicts committed, ~2.6 per batch; bank's with
completions and sequenced submissions, alice's without), written through the real store
methods (`PostgresMediatorStore.record_events`, the participant's `EventWriter.apply_event`)
into freshly migrated databases of an embedded cluster (not durable: fsync off, so the figures
are the statements' CPU, not the disk).

Per batch it prints, min of the rounds: the client's CPU (`time.process_time`: building the
arguments, asyncpg's encoding and protocol, the event loop), and the server backend's CPU
(`/proc/PID/schedstat` of the connection's backend, nanoseconds). A round writes every batch
once into new databases. `--against OTHER_TREE` loads that tree's PostgreSQL store modules
(its statements, functions and migrations) beside this one's and alternates the two in every
round, so a slow minute of the machine hits both. `--breakdown` also prints where this tree's
client CPU per write goes: the round trip (and how it grows with the time the server takes),
building the arguments, and asyncpg encoding and sending them (through a statement with the
same parameter types that ignores them). Run it with this tree's sources first:
`PYTHONPATH=services python -m bench.store_args_micro [--against TREE] [--breakdown]`
(`STORE_MICRO_ROUNDS`, default 7; `MINICANTON_NATIVE=0` for the pure core).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import importlib.util
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from minicanton import _native
from minicanton.core.crypto.signing import Signature
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import Fingerprint, MemberId, ParticipantId, RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.activeness import ActivenessResult
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.core.protocol.mediator import (
    PersistRequest,
    PersistResponse,
    PersistVerdict,
    ResponseOutcome,
    VerdictDelivery,
)
from minicanton.core.protocol.messages import Approve, MediatorResult
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.participant import effects as participant_effects
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.shutdown import install_uvloop
from minicanton.store.mediator_store import Lease, MessageIndex, MessageKind, RecordedEvent
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    EventEffects,
    PendingRequest,
    StoredContract,
    StoredEvent,
    SubmissionSequenced,
    TransactionEntry,
)
from minicanton.store.postgres import participant_fast_writes
from minicanton.store.postgres.mediator_store import PostgresMediatorStore
from minicanton.store.postgres.participant_store import PostgresParticipantStore

TRANSACTIONS = 600
ROUNDS = int(os.environ.get("STORE_MICRO_ROUNDS", "7"))
MEDIATOR_BATCHES = (5, 3, 7, 1, 6, 4, 8, 2, 5, 6, 3, 9, 4, 7, 5)  # events per batch, mean 5
PARTICIPANT_BATCHES = (3, 2, 4, 1, 3, 5, 2, 3, 6, 1)  # requests / transactions per batch
T0_US = 1_795_379_190_000_000
BANK = "Bank::12208eac3ef4935e4e00effd93724beccf6f3d5730cc91c7896e5bedf9d0e627f743"
ALICE = "Alice::12200559c4dd2161d716f80e8f545d05fbf1a81a4754e67282e0cbde38feedc48d85"
BANK_PARTICIPANT = ParticipantId(
    "PAR::bank::12208eac3ef4935e4e00effd93724beccf6f3d5730cc91c7896e5bedf9d0e627f743")
ALICE_PARTICIPANT = ParticipantId(
    "PAR::alice::12200559c4dd2161d716f80e8f545d05fbf1a81a4754e67282e0cbde38feedc48d85")
MEDIATOR = MemberId(
    "MED::mediator::122066030ffe347679369d475c89ddf0742831bc3864415bbe99c36d9e3b033b19a3")
IOU = Identifier("25d0fc863600d55012b05f4a5b34d12aa6b53478397f788b11e7240d276fe2ba", "dvp", "Iou")


def _bytes(seed: int, size: int) -> bytes:
    """Incompressible-looking bytes (signed events and payloads are mostly ciphertext)."""
    block = seed.to_bytes(8, "big")
    return b"".join(_sha(block, n) for n in range(size // 32 + 1))[:size]


def _sha(block: bytes, counter: int) -> bytes:
    return hashlib.sha256(block + counter.to_bytes(4, "big")).digest()


def _hash(seed: int) -> Hash:
    return Hash(_sha(b"hash", seed))


def _position(counter: int, seed: int) -> SequencerPosition:
    return SequencerPosition(counter, T0_US + counter * 10, _hash(seed))


# --- the mediator ---------------------------------------------------------------------------

def _result(request_ts_us: int, seed: int) -> MediatorResult:
    return MediatorResult(request_ts_us, _hash(seed), MEDIATOR, Approve(),
                          Signature(Fingerprint("1220" + "66" * 32), HashPurpose.MEDIATOR_VERDICT,
                                    _sha(b"sig", seed) * 2))


def _mediator_stream() -> list[tuple[str, int]]:
    """Event kinds in arrival order: requests run ahead of their responses and receipts."""
    stream = []
    for i in range(TRANSACTIONS + 4):
        if i < TRANSACTIONS:
            stream.append(("request", i))
        if 2 <= i < TRANSACTIONS + 2:
            stream.append(("response", i - 2))
        if i >= 4:
            stream.append(("receipt", i - 4))
    return stream


def mediator_batches() -> list[list[RecordedEvent]]:
    events: list[RecordedEvent] = []
    request_ts: dict[int, int] = {}
    for counter, (kind, tx) in enumerate(_mediator_stream()):
        position = _position(counter, counter)
        ts = position.timestamp_us
        if kind == "request":
            request_ts[tx] = ts
            messages = (MessageIndex(0, ts, MessageKind.INFORMEE_MESSAGE),
                        MessageIndex(1, ts, MessageKind.ROOT_HASH_MESSAGE),
                        MessageIndex(2, ts, MessageKind.ROOT_HASH_MESSAGE))
            request = PersistRequest(ts, _hash(tx), BANK_PARTICIPANT, ConfirmationPolicy.SIGNATORY,
                                     ts + 30_000_000, ts + 60_000_000, (_bytes(tx, 1100),))
            events.append(RecordedEvent(position, _bytes(counter, 1620), messages,
                                        requests=(request,)))
        elif kind == "response":
            rts = request_ts[tx]
            response = PersistResponse(rts, ts, BANK_PARTICIPANT, _hash(tx + 7),
                                       ResponseOutcome.COUNTED, "", _bytes(tx + 11, 600))
            result = _result(rts, tx)
            verdict = PersistVerdict(
                rts, ts, f"verdict-{rts}", rts + 60_000_000, result,
                tuple(VerdictDelivery(p, _result(rts, tx + 1 + n))
                      for n, p in enumerate(sorted((ALICE_PARTICIPANT, BANK_PARTICIPANT)))))
            events.append(RecordedEvent(
                position, _bytes(counter, 950),
                (MessageIndex(0, rts, MessageKind.CONFIRMATION_RESPONSE),),
                responses=(response,), verdicts=(verdict,)))
        else:
            events.append(RecordedEvent(position, _bytes(counter, 480),
                                        receipts=(f"verdict-{request_ts[tx]}",)))
    return _cut(events, MEDIATOR_BATCHES)


def _cut(items: list[Any], sizes: Sequence[int]) -> list[list[Any]]:
    out: list[list[Any]] = []
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(items):
            return out
        out.append(items[start:start + size])
        start += size
    return out


# --- the participants -----------------------------------------------------------------------

def _request_id(tx: int) -> RequestId:
    return RequestId(str(T0_US + tx * 30))


def _contract_id(tx: int) -> str:
    return "01" + _sha(b"contract", tx).hex() + "d5"


def _change_key(tx: int) -> str:
    return f'["bench","{_sha(b"cmd", tx).hex()[:32]}",["{BANK}"]]'


def _pending(tx: int, payload_size: int) -> PendingRequest:
    request_id = _request_id(tx)
    locks = RequestLocks(request_id, T0_US + tx * 30, T0_US + tx * 30 + 60_000_000,
                         frozenset({_contract_id(tx)}), frozenset(),
                         ActivenessResult(request_id))
    return PendingRequest(locks, _bytes(tx + 99, payload_size))


def _transaction(tx: int, submitter: bool) -> TransactionEntry:
    party = BANK if submitter else ALICE
    contract_id = _contract_id(tx)
    ts = T0_US + tx * 30
    event = StoredEvent(0, None, "create", contract_id, IOU, False, _bytes(tx + 5, 637),
                        frozenset({party}), frozenset({party}))
    contract = StoredContract(contract_id, IOU, frozenset({BANK}), frozenset({BANK, ALICE}), None,
                              _bytes(tx + 6, 681), ts)
    command_id = _sha(b"cmd", tx).hex()[:32]
    completion = CompletionEntry("bench", frozenset({BANK}), command_id,
                                 f"{_sha(b'sub', tx).hex()[:36]}", _change_key(tx),
                                 ts + 250_000) if submitter else None
    return TransactionEntry(_sha(b"tx", tx).hex(), ts, ts + 80_000, (event,), frozenset(),
                            (contract,), (), command_id if submitter else "", "",
                            "bench" if submitter else "", frozenset({BANK}), completion)


def participant_batches(submitter: bool) -> list[EventEffects]:
    """A batch of new pending requests, then one of the transactions their verdicts commit."""
    batches: list[EventEffects] = []
    counter = itertools.count(1)
    tx = 0
    for size in itertools.cycle(PARTICIPANT_BATCHES):
        if tx >= TRANSACTIONS:
            return batches
        txs = range(tx, min(tx + size, TRANSACTIONS))
        c = next(counter)
        sequenced = tuple(SubmissionSequenced(_change_key(t), _request_id(t), T0_US + t * 30)
                          for t in txs) if submitter else ()
        batches.append(EventEffects(
            CleanPosition(c, T0_US + c * 10),
            pending_added=tuple(_pending(t, 3800 if submitter else 3250) for t in txs),
            submissions_sequenced=sequenced))
        c = next(counter)
        batches.append(EventEffects(
            CleanPosition(c, T0_US + c * 10),
            transactions=tuple(_transaction(t, submitter) for t in txs),
            pending_removed=tuple(_request_id(t) for t in txs)))
        tx += size
    return batches


# --- measuring --------------------------------------------------------------------------------

def _backend_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def _timed(write: Callable[[Any], Awaitable[Any]], batches: Sequence[Any],
                 backend_pid: int) -> tuple[float, float]:
    """Client CPU and backend CPU in µs per batch."""
    server0 = _backend_ns(backend_pid)
    start = time.process_time()
    for batch in batches:
        await write(batch)
    client_s = time.process_time() - start
    server_ns = _backend_ns(backend_pid) - server0
    return client_s / len(batches) * 1e6, server_ns / len(batches) / 1e3


async def _mediator_round(stores: Any, dsn: str,
                          batches: list[list[RecordedEvent]]) -> tuple[float, float]:
    store = await stores.mediator.connect(dsn, pool_size=1)
    try:
        lease = await store.acquire_lease("bench", 60_000)
        assert lease is not None
        # the pool's one connection is the one record_events holds
        pid = await store._pool.fetchval("SELECT pg_backend_pid()")
        await store.record_events(lease, batches[0])
        return await _timed(lambda b: store.record_events(lease, b), batches[1:], pid)
    finally:
        await store.close()


async def _participant_round(stores: Any, dsn: str,
                             batches: list[EventEffects]) -> tuple[float, float]:
    store = await stores.participant.open(dsn, min_size=1, max_size=1)
    writer = store.event_writer()
    try:
        pid = await store.pool.fetchval("SELECT pg_backend_pid()")
        await writer.apply_event(batches[0])
        return await _timed(writer.apply_event, batches[1:], pid)
    finally:
        await store.close()


# --- the participants, from the core's own effects (commit sets included) ----------------------

Captured = list[tuple[CleanPosition, list[Any]]]


def captured_events(transactions: int = TRANSACTIONS) -> dict[str, Captured]:
    """Each event bank's and alice's machines handled for `transactions` Iou creates through
    every core machine (tests/sim's seeded network, 16 in flight): its clean position and
    effects, as the pump hands them to `event_effects`. Unlike `participant_batches` these
    start from the machine's commit sets, so they measure `transaction_entry` (encoding the
    events and contracts) as well."""
    from tests.sim import harness
    from tests.sim.dvp_flow import iou

    captured: dict[str, Captured] = {"bank": [], "alice": []}
    step = harness.participant_step

    def capturing_step(machine: Any, store: Any, event: Any, snapshot: Any) -> list[Any]:
        effects = step(machine, store, event, snapshot)
        for name, node in net.participants.items():
            if node.store is store and name in captured:
                captured[name].append(
                    (CleanPosition(event.counter, event.timestamp_us), list(effects)))
        return effects

    net = harness.SimNetwork()
    harness.participant_step = capturing_step  # type: ignore[assignment]
    try:
        for start in range(0, transactions, 16):
            for n in range(start, min(start + 16, transactions)):
                net.submit("bank", iou(net), act_as=["Bank"], command_id=f"iou-{n}")
            net.run()
    finally:
        harness.participant_step = step
    return captured


def _event_groups(events: Captured) -> list[Captured]:
    """Consecutive events written together, as the pump merges a delivered batch."""
    return _cut(events, PARTICIPANT_BATCHES)


async def _captured_round(stores: Any, dsn: str, groups: list[Captured]) -> tuple[float, float]:
    """`event_effects` of each event, merged per group, then `EventWriter.apply_event`."""
    store = await stores.participant.open(dsn, min_size=1, max_size=1)
    writer = store.event_writer()
    event_effects, merge_effects = stores.effects.event_effects, stores.effects.merge_effects

    async def write(group: Captured) -> Any:
        return await writer.apply_event(merge_effects([event_effects(p, e) for p, e in group]))
    try:
        pid = await store.pool.fetchval("SELECT pg_backend_pid()")
        await write(groups[0])
        return await _timed(write, groups[1:], pid)
    finally:
        await store.close()


async def _captured_build_round(stores: Any, _dsn: str, groups: list[Captured]
                                ) -> tuple[float, float]:
    """The client's part of `_captured_round` before asyncpg: `event_effects`, merging, and
    `fast_apply_event`'s arguments (handed to a stand-in connection). No server."""
    event_effects, merge_effects = stores.effects.event_effects, stores.effects.merge_effects
    fast_apply_event = stores.fast_writes.fast_apply_event
    capture, end = _Capture(), 0
    start = time.process_time()
    for group in groups:
        effects = merge_effects([event_effects(p, e) for p, e in group])
        end = (await fast_apply_event(capture, effects, end))[3]
    return (time.process_time() - start) / len(groups) * 1e6, 0.0


class Stores:
    """The PostgreSQL store classes of one source tree (this one, or `--against`'s), with the
    participant's argument builders (`event_effects` and what it calls) of the same tree."""

    MODULES = ("store.participant_store", "participant.effects", "store.postgres.pools",
               "store.postgres.topology_store", "store.postgres.participant_rows",
               "store.postgres.participant_fast_writes",
               "store.postgres.participant_slow_writes", "store.postgres.submission_starts",
               "store.postgres.participant_store", "store.postgres.sequencer_pruning",
               "store.postgres.sequencer", "store.postgres.mediator_store")

    def __init__(self, tree: Path | None) -> None:
        self.name = "this tree" if tree is None else str(tree)
        if tree is None:
            self.mediator, self.participant = PostgresMediatorStore, PostgresParticipantStore
            self.effects: Any = participant_effects
            self.fast_writes: Any = participant_fast_writes
            return
        # the other tree's modules under their own names while they import each other, so
        # each uses its own statements, functions and migrations; then ours come back
        ours = {n: sys.modules[f"minicanton.{n}"] for n in self.MODULES
                if f"minicanton.{n}" in sys.modules}
        theirs = {}
        try:
            for name in self.MODULES:
                path = tree / "services/minicanton" / f"{name.replace('.', '/')}.py"
                spec = importlib.util.spec_from_file_location(f"minicanton.{name}", path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
                theirs[name] = module
        finally:
            for name in self.MODULES:
                sys.modules.pop(f"minicanton.{name}", None)
            sys.modules.update({f"minicanton.{n}": m for n, m in ours.items()})
        self.mediator = theirs["store.postgres.mediator_store"].PostgresMediatorStore
        self.participant = theirs["store.postgres.participant_store"].PostgresParticipantStore
        self.effects = theirs["participant.effects"]
        self.fast_writes = theirs["store.postgres.participant_fast_writes"]


_CAPTURED = functools.cache(captured_events)
CASES: dict[str, tuple[Callable[..., Awaitable[tuple[float, float]]], Callable[[], Any]]] = {
    "mediator record_events": (_mediator_round, mediator_batches),
    "bank apply_event": (_participant_round, lambda: participant_batches(True)),
    "alice apply_event": (_participant_round, lambda: participant_batches(False)),
    "bank effects+write": (_captured_round, lambda: _event_groups(_CAPTURED()["bank"])),
    "alice effects+write": (_captured_round, lambda: _event_groups(_CAPTURED()["alice"])),
    "bank effects+arguments": (_captured_build_round,
                               lambda: _event_groups(_CAPTURED()["bank"])),
    "alice effects+arguments": (_captured_build_round,
                                lambda: _event_groups(_CAPTURED()["alice"])),
}


async def _main(cluster: EmbeddedPostgres, trees: list[Stores], only: str) -> None:
    cases = {name: case for name, case in CASES.items() if only in name}
    batches = {name: make() for name, (_, make) in cases.items()}
    best: dict[tuple[str, str], tuple[float, float]] = {}
    names = itertools.count()
    for _ in range(ROUNDS):
        for case, (run, _) in cases.items():
            for stores in trees:  # alternating, so a slow minute hits both
                dsn = "" if run is _captured_build_round else cluster.create_database(
                    f"micro{os.getpid()}_{next(names)}")
                client, server = await run(stores, dsn, batches[case])
                old = best.get((case, stores.name), (float("inf"), float("inf")))
                best[(case, stores.name)] = (min(old[0], client), min(old[1], server))
    for case in cases:
        per = TRANSACTIONS / len(batches[case])
        for stores in trees:
            client, server = best[(case, stores.name)]
            print(f"  {case:<23} client {client:6.1f} µs/batch ({client / per:5.1f} µs/tx)  "
                  f"server {server:6.1f} µs/batch ({server / per:5.1f} µs/tx)  {stores.name}")


# --- where a write's client CPU goes (--breakdown, this tree only) -----------------------------

class _Capture:
    """Stands in for a connection to keep the arguments a store method passes."""

    def __init__(self) -> None:
        self.arguments: list[tuple[Any, ...]] = []

    async def fetchval(self, _query: str, *arguments: Any) -> str:
        self.arguments.append(arguments)
        return "applied"


async def _per_call(connection: Any, query: str, argument_sets: Sequence[Sequence[Any]]
                    ) -> tuple[float, float]:
    """Client and server µs per execution of `query`, min of 7 passes over the sets."""
    pid = connection.get_server_pid()
    await connection.fetchrow(query, *argument_sets[0])
    best = (float("inf"), float("inf"))
    for _ in range(7):
        client, server = await _timed(lambda a: connection.fetchrow(query, *a), argument_sets,
                                      pid)
        best = (min(best[0], client), min(best[1], server))
    return best


async def _no_op(connection: Any, query: str) -> str:
    """A statement taking `query`'s parameters (same types, so the same encoding) that does
    nothing with them: the client's cost of sending them."""
    types = (await connection.prepare(query)).get_parameters()
    casts = ", ".join(f"${n}::{t.schema}.{t.name}" for n, t in enumerate(types, start=1))
    return f"SELECT 1 FROM (SELECT {casts}) x"


async def _breakdown(cluster: EmbeddedPostgres) -> None:
    import asyncpg

    from minicanton.store.postgres import mediator_store, participant_fast_writes
    dsn = cluster.create_database(f"breakdown{os.getpid()}")
    await (await PostgresMediatorStore.connect(dsn, pool_size=1)).close()
    await (await PostgresParticipantStore.open(dsn)).close()
    connection = await asyncpg.connect(dsn)
    try:
        for n in (0, 1_000, 3_000):  # the client's CPU grows with the time it waits
            client, server = await _per_call(
                connection, f"SELECT count(*) FROM generate_series(1, {n})", [()] * 300)
            print(f"  round trip, server busy {server:5.0f} µs: client {client:5.1f} µs")
        lease = Lease("bench", 1)  # the arguments only, never executed for real
        events = mediator_batches()
        arguments = [mediator_store._record_arguments(lease, b) for b in events]
        await _breakdown_of("mediator", connection, mediator_store._RECORD, arguments,
                            lambda: [mediator_store._record_arguments(lease, b) for b in events])
        for who, submitter in (("bank", True), ("alice", False)):
            batches = participant_batches(submitter)

            async def build(batches: list[EventEffects] = batches) -> _Capture:
                capture, end = _Capture(), 0
                for effects in batches:
                    end = (await participant_fast_writes.fast_apply_event(
                        capture, effects, end))[3]
                return capture
            captured = (await build()).arguments
            build_us = float("inf")
            for _ in range(5):
                start = time.process_time()
                await build()
                build_us = min(build_us, (time.process_time() - start) / len(batches) * 1e6)
            await _breakdown_of(who, connection, participant_fast_writes.APPLY_SQL, captured,
                                None, build_us)
    finally:
        await connection.close()


async def _breakdown_of(who: str, connection: Any, query: str, arguments: list[Any],
                        build: Callable[[], Any] | None, build_us: float = 0.0) -> None:
    if build is not None:
        build_us = float("inf")
        for _ in range(5):  # min of 5: a pass may hold a GC pause
            start = time.process_time()
            build()
            build_us = min(build_us, (time.process_time() - start) / len(arguments) * 1e6)
    no_op = await _no_op(connection, query)
    full, _ = await _per_call(connection, no_op, arguments)
    empty, _ = await _per_call(connection, no_op, [
        [None if isinstance(v, list | tuple) else v for v in a] for a in arguments])
    print(f"  {who}: building the arguments {build_us:5.1f} µs/batch; asyncpg sending them "
          f"{full - empty:5.1f} µs/batch (a statement that ignores them: {full:5.1f}, with "
          f"every array NULL: {empty:5.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", type=Path, help="another source tree to alternate with")
    parser.add_argument("--only", default="", help="the cases whose name contains this")
    parser.add_argument("--breakdown", action="store_true",
                        help="also where this tree's client CPU per write goes")
    trees = [Stores(None)]
    options = parser.parse_args()
    against = options.against
    if against is not None:
        trees.append(Stores(against.resolve()))
    print(f"core: {_native.STATE.describe()}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="minicanton-micro-"))
    cluster = EmbeddedPostgres(root / "data", durable=False)
    try:
        cluster.start()
        print(f"store_args_micro: {TRANSACTIONS} transactions of (a), "
              f"{len(mediator_batches())} mediator batches, min of {ROUNDS} rounds")
        install_uvloop()  # as the nodes run (runtime/process.py)
        asyncio.run(_main(cluster, trees, options.only))
        if options.breakdown:
            asyncio.run(_breakdown(cluster))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
