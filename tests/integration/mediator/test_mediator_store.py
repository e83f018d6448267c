"""The mediator store on real PostgreSQL, fed by the real processor: lease and fencing,
exactly-once recording, restart by replay, the verdict outbox and the auditor's reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from mediator_events import chain
from mediator_fixtures import REQUEST_TS_US, RESPONSE_TIMEOUT_US, DvpDomain

from minicanton.codec.sequencer import parse_signed_event
from minicanton.core.protocol.mediator import Mediator, SendVerdict, verdict_message_id
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import InformeeMessage, MediatorResult, Timeout
from minicanton.core.sequencing.batch import Batch
from minicanton.core.sequencing.events import Deliver, SequencedEvent
from minicanton.mediator.processing import EventProcessor, Processed
from minicanton.runtime.topology_client import TopologyClient
from minicanton.store.mediator_store import LeaseLost, MessageKind
from minicanton.store.migrations import apply_migrations
from minicanton.store.postgres.mediator_store import MIGRATIONS, PostgresMediatorStore

DEADLINE_US = REQUEST_TS_US + RESPONSE_TIMEOUT_US


def _scenario(domain: DvpDomain) -> list[SequencedEvent]:
    """Request 1 approved; request 2 times out at its deadline; a late response; a receipt."""
    tree1, tree2 = domain.swap_tree(salt=1), domain.swap_tree(salt=2)
    second_ts = REQUEST_TS_US + 50
    events = [domain.request_event(REQUEST_TS_US, tree1), domain.request_event(second_ts, tree2)]
    informee1 = InformeeMessage.create(tree1, domain.p("alice"))
    for i, hint in enumerate(("alice", "bob", "bank", "sr")):
        party = domain.parties[hint]
        responses = [domain.response(hint, REQUEST_TS_US, informee1, v.view_hash, [hint])
                     for v in informee1.views if party in v.parameters.confirmers]
        events.append(domain.response_event(REQUEST_TS_US + 100 + i, *responses))
    receipt = Deliver(domain.mediator.id, verdict_message_id(REQUEST_TS_US), Batch(()))
    domain.counter += 1
    events.append(SequencedEvent(events[0].domain_id, domain.mediator.id, domain.counter,
                                 REQUEST_TS_US + 150, None, receipt))
    events.append(domain.time_proof(second_ts + RESPONSE_TIMEOUT_US))
    informee2 = InformeeMessage.create(tree2, domain.p("alice"))
    late = domain.response("bob", second_ts, informee2, informee2.views[0].view_hash, ["bob"])
    events.append(domain.response_event(second_ts + RESPONSE_TIMEOUT_US + 1, late))
    return [SequencedEvent(e.domain_id, e.member, n, e.timestamp_us, None, e.content)
            for n, e in enumerate(events)]


def _processor(domain: DvpDomain) -> EventProcessor:
    topology = TopologyClient(domain.mediator.id, domain.root.fingerprint)
    topology.state = domain.state  # the test plays the topology manager directly
    return EventProcessor(Mediator(domain.mediator.id, domain.mediator.key), topology)


@pytest.fixture
async def store(fresh_database: str):
    store = await PostgresMediatorStore.connect(fresh_database)
    yield store
    await store.close()


async def test_lease_is_exclusive_and_fences_a_deposed_leader(store: PostgresMediatorStore) -> None:
    first = await store.acquire_lease("mediator-a", ttl_ms=300)
    assert first is not None and first.epoch == 1
    assert await store.acquire_lease("mediator-b", ttl_ms=300) is None
    assert await store.renew_lease(first, ttl_ms=300)
    await asyncio.sleep(0.4)  # a missed renewal: the lease expires
    second = await store.acquire_lease("mediator-b", ttl_ms=5_000)
    assert second is not None and second.epoch == 2
    assert not await store.renew_lease(first, ttl_ms=300)
    domain = DvpDomain()
    (verified, raw), = chain(_scenario(domain)[:1])
    record = _processor(domain).process(verified, raw).record
    with pytest.raises(LeaseLost):
        await store.record_events(first, [record])
    assert await store.clean_position() is None  # nothing written by the deposed leader
    assert await store.record_events(second, [record]) == 1


async def test_a_lapsed_lease_nobody_took_is_still_the_holders(
    store: PostgresMediatorStore,
) -> None:
    """A holder paused past its TTL while no other instance took the lease renews it and
    writes on (nobody else can have written: a takeover changes holder and epoch); once
    another instance has taken it, neither works."""
    first = await store.acquire_lease("mediator-a", ttl_ms=200)
    assert first is not None
    await asyncio.sleep(0.3)  # lapsed, nobody took it
    domain = DvpDomain()
    delivered = chain(_scenario(domain)[:2])
    processor = _processor(domain)
    records = [processor.process(v, raw).record for v, raw in delivered]
    assert await store.record_events(first, records[:1]) == 1
    assert await store.renew_lease(first, ttl_ms=200)
    await asyncio.sleep(0.3)
    second = await store.acquire_lease("mediator-b", ttl_ms=5_000)
    assert second is not None and second.epoch == first.epoch + 1
    assert not await store.renew_lease(first, ttl_ms=200)
    with pytest.raises(LeaseLost):
        await store.record_events(first, records[1:])
    assert await store.clean_position() == delivered[0][0].position


async def test_a_dropped_writer_connection_costs_one_write_not_the_writer(
    store: PostgresMediatorStore, fresh_database: str,
) -> None:
    """`record_events` keeps one connection between calls; when the server drops it, at
    most the next call fails (with whatever the client makes of the broken connection) and
    the one after writes on a fresh connection: nothing lost, nothing written twice."""
    lease = await store.acquire_lease("mediator-a", ttl_ms=10_000)
    assert lease is not None
    domain = DvpDomain()
    delivered = chain(_scenario(domain)[:2])
    processor = _processor(domain)
    records = [processor.process(v, raw).record for v, raw in delivered]
    assert await store.record_events(lease, records[:1]) == 1
    admin = await asyncpg.connect(fresh_database)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert killed >= 1
        for _ in range(100):  # until the terminated backends have exited
            if not await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"):
                break
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    written = None
    for _ in range(2):
        try:
            written = await store.record_events(lease, records)
            break
        except Exception:  # the one call the dropped connection fails (the error asyncpg
            continue  # raises for it varies with when it noticed)
    assert written == 1  # only the second event is new
    assert await store.clean_position() == delivered[1][0].position
    assert await store.record_events(lease, records) == 0


async def test_events_are_recorded_once_and_the_auditor_reads_them_back(
    store: PostgresMediatorStore,
) -> None:
    domain = DvpDomain()
    lease = await store.acquire_lease("mediator-a", ttl_ms=10_000)
    assert lease is not None
    processor = _processor(domain)
    delivered = chain(_scenario(domain))
    records = [processor.process(v, raw).record for v, raw in delivered]
    assert await store.record_events(lease, records[:3]) == 3
    assert await store.record_events(lease, records) == len(records) - 3
    assert await store.record_events(lease, records) == 0  # a replay writes nothing
    assert await store.clean_position() == delivered[-1][0].position
    messages = await store.messages_for_request(REQUEST_TS_US)
    kinds = [m.kind for m in messages]
    assert kinds.count(MessageKind.INFORMEE_MESSAGE) == 1
    assert kinds.count(MessageKind.ROOT_HASH_MESSAGE) == 4
    assert kinds.count(MessageKind.CONFIRMATION_RESPONSE) == 8  # one per view and confirmer
    assert messages[0].payload == delivered[0][0].event.content.batch.envelopes[0].content
    window = await store.messages_between(REQUEST_TS_US + 100, REQUEST_TS_US + 101, 100)
    assert sorted({m.ts_us for m in window}) == [REQUEST_TS_US + 100, REQUEST_TS_US + 101]
    assert len(window) == 4  # Alice and Bob each confirm two views
    assert len(await store.messages_between(REQUEST_TS_US, REQUEST_TS_US + 200, 3)) == 3
    verdict = await store.verdict(REQUEST_TS_US)
    assert verdict is not None and verdict.verdict == "approve"
    assert verdict.sent_ts_us == REQUEST_TS_US + 150  # our receipt marked it sent
    timed_out = await store.verdict(REQUEST_TS_US + 50)
    assert timed_out is not None and timed_out.verdict == "timeout"
    assert timed_out.decided_ts_us == DEADLINE_US + 50
    assert [v.request_ts_us for v in await store.unsent_verdicts()] == [REQUEST_TS_US + 50]


async def test_the_outbox_resends_each_recipient_its_own_copy(
    store: PostgresMediatorStore,
) -> None:
    domain = DvpDomain()
    lease = await store.acquire_lease("mediator-a", ttl_ms=10_000)
    assert lease is not None
    processor = _processor(domain)
    processed = [processor.process(v, raw) for v, raw in chain(_scenario(domain))]
    await store.record_events(lease, [p.record for p in processed])
    (send,) = [s for p in processed for s in p.sends
               if s.result.request_ts_us == REQUEST_TS_US + 50]  # the timed-out request
    (unsent,) = await store.unsent_verdicts()
    assert unsent.recipients == send.recipients
    assert unsent.deliveries == tuple(e.content for e in send.batch().envelopes)
    assert decode_protocol_message(unsent.result) == send.result  # the full one, audited
    copies = dict(zip(unsent.recipients, map(decode_protocol_message, unsent.deliveries),
                      strict=True))
    submitter, bank = copies[domain.p("alice")], copies[domain.p("bank")]
    assert isinstance(submitter, MediatorResult) and isinstance(submitter.verdict, Timeout)
    assert submitter.verdict.unresponsive  # names the silent participants
    assert isinstance(bank, MediatorResult) and isinstance(bank.verdict, Timeout)
    assert bank.verdict.unresponsive == ()


async def test_a_receipt_marks_its_verdict_sent_without_rewriting_the_verdict_row(
    store: PostgresMediatorStore,
) -> None:
    """Receipts go to a table of their own (migration 0004): the ~1 KB verdict row written
    one event earlier stays the same row version (same xmin), and it leaves the outbox."""
    domain = DvpDomain()
    lease = await store.acquire_lease("mediator-a", ttl_ms=10_000)
    assert lease is not None
    processor = _processor(domain)
    records = [processor.process(v, raw).record for v, raw in chain(_scenario(domain))]
    receipt = next(i for i, r in enumerate(records) if r.receipts)
    await store.record_events(lease, records[:receipt])
    assert [v.request_ts_us for v in await store.unsent_verdicts()] == [REQUEST_TS_US]
    row_version = "SELECT xmin::text FROM mediator_verdicts WHERE request_ts = $1"
    async with store._pool.acquire() as connection:
        before = await connection.fetchval(row_version, REQUEST_TS_US)
        await store.record_events(lease, records[receipt:receipt + 1])
        assert await connection.fetchval(row_version, REQUEST_TS_US) == before
    verdict = await store.verdict(REQUEST_TS_US)
    assert verdict is not None and verdict.sent_ts_us == REQUEST_TS_US + 150
    assert await store.unsent_verdicts() == []


async def test_migration_0004_keeps_the_receipts_of_verdicts_stored_before_it(
    fresh_database: str, tmp_path: Path,
) -> None:
    earlier = tmp_path / "mediator"
    earlier.mkdir()
    for migration in sorted(MIGRATIONS.glob("000[123]_*.sql")):
        (earlier / migration.name).write_text(migration.read_text())
    await apply_migrations(fresh_database, "mediator", earlier)
    connection = await asyncpg.connect(fresh_database)
    try:
        for request_ts, sent_ts in ((10, 20), (30, None)):
            await connection.execute(
                "INSERT INTO mediator_verdicts (request_ts, decided_ts, message_id, recipients,"
                " max_sequencing_time_us, verdict, result, sent_ts) VALUES ($1, $1, $2, '{}',"
                " 99, 'approve', '\\x00', $3)", request_ts, f"verdict-{request_ts}", sent_ts)
    finally:
        await connection.close()
    store = await PostgresMediatorStore.connect(fresh_database)
    try:
        sent = await store.verdict(10)
        assert sent is not None and sent.sent_ts_us == 20
        assert [v.message_id for v in await store.unsent_verdicts()] == ["verdict-30"]
    finally:
        await store.close()


@pytest.mark.parametrize("crash_after", [1, 3, 6, 8])
async def test_a_restarted_mediator_replays_and_continues_exactly_once(
    store: PostgresMediatorStore, crash_after: int,
) -> None:
    domain = DvpDomain()
    delivered = chain(_scenario(domain))
    reference = _processor(domain)
    expected = [reference.process(v, raw) for v, raw in delivered]
    lease = await store.acquire_lease("mediator-a", ttl_ms=10_000)
    assert lease is not None
    before = _processor(domain)
    await store.record_events(lease, [before.process(v, raw).record
                                      for v, raw in delivered[:crash_after]])
    restarted = await _restart(store, domain)
    after: list[Processed] = [restarted.process(v, raw) for v, raw in delivered[crash_after:]]
    assert after == expected[crash_after:]
    await store.record_events(lease, [p.record for p in after])
    assert (await store.verdict(REQUEST_TS_US)).verdict == "approve"  # type: ignore[union-attr]
    sends = [s for p in expected for s in p.sends]
    assert [s.message_id for s in sends] == [verdict_message_id(REQUEST_TS_US),
                                             verdict_message_id(REQUEST_TS_US + 50)]
    assert all(isinstance(s, SendVerdict) for s in sends)


async def _restart(store: PostgresMediatorStore, domain: DvpDomain) -> EventProcessor:
    """What the node does at start: replay the stored events the machine still needs."""
    processor = _processor(domain)
    position = await store.clean_position()
    assert position is not None
    start = await store.replay_start_ts(position.timestamp_us)
    if start is not None:
        for raw in await store.signed_events(start, position.timestamp_us):
            processor.replay(parse_signed_event(raw).event)
    processor.mediator.skip_to(position.timestamp_us)
    return processor


async def test_migration_0006_drops_the_event_key_and_every_message_keeps_its_event(
    fresh_database: str, tmp_path: Path,
) -> None:
    """A store written by the previous release (migrations up to 0005, the audit index with
    its foreign key to the events) is upgraded and written on: every indexed message, from
    before and after the upgrade, still finds its event, and the auditor reads them all."""
    earlier = tmp_path / "mediator"
    earlier.mkdir()
    for migration in sorted(MIGRATIONS.glob("000[1-5]_*.sql")):
        (earlier / migration.name).write_text(migration.read_text())
    await apply_migrations(fresh_database, "mediator", earlier)
    domain = DvpDomain()
    processor = _processor(domain)
    records = [processor.process(v, raw).record for v, raw in chain(_scenario(domain))]
    keys = ("SELECT count(*) FROM pg_constraint WHERE conrelid = 'mediator_messages'::regclass"
            " AND contype = 'f'")
    orphans = ("SELECT count(*) FROM mediator_messages m WHERE NOT EXISTS "
               "(SELECT FROM mediator_events e WHERE e.ts = m.ts)")
    old = PostgresMediatorStore(await asyncpg.create_pool(fresh_database, min_size=1,
                                                          max_size=2))
    try:  # the previous release's schema, written by the same statement
        lease = await old.acquire_lease("mediator-a", ttl_ms=10_000)
        assert lease is not None
        assert await old.record_events(lease, records[:4]) == 4
        assert await old._pool.fetchval(keys) == 1
    finally:
        await old.close()
    store = await PostgresMediatorStore.connect(fresh_database)
    try:
        assert await store._pool.fetchval(keys) == 0
        lease = await store.acquire_lease("mediator-a", ttl_ms=10_000)
        assert lease is not None
        assert await store.record_events(lease, records) == len(records) - 4
        assert await store._pool.fetchval(orphans) == 0
        indexed = await store._pool.fetchval("SELECT count(*) FROM mediator_messages")
        assert indexed == sum(len(r.messages) for r in records)
        everything = await store.messages_between(0, 2**62, 1_000)
        assert len(everything) == indexed
        kinds = [m.kind for m in await store.messages_for_request(REQUEST_TS_US)]
        assert kinds.count(MessageKind.CONFIRMATION_RESPONSE) == 8
    finally:
        await store.close()
