"""The mediator's one-statement batch write with tables left empty: an empty column goes to
PostgreSQL as NULL (store/postgres/mediator_store.py `_columns`), which must write exactly the
rows an empty array wrote: none for that table, every row for the others."""

from __future__ import annotations

import asyncpg
import pytest

from minicanton.core.crypto.signing import Signature
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import Fingerprint, MemberId, ParticipantId
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.mediator import (
    PersistRequest,
    PersistResponse,
    PersistVerdict,
    ResponseOutcome,
    VerdictDelivery,
)
from minicanton.core.protocol.messages import Approve, MediatorResult
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.store.mediator_store import MessageIndex, MessageKind, RecordedEvent
from minicanton.store.postgres.mediator_store import PostgresMediatorStore

TS_US = 1_000_000
BANK = ParticipantId("PAR::bank::1220" + "aa" * 32)
ALICE = ParticipantId("PAR::alice::1220" + "bb" * 32)


def _event(counter: int, **rows: object) -> RecordedEvent:
    position = SequencerPosition(counter, TS_US + counter, Hash(bytes([counter]) * 32))
    return RecordedEvent(position, b"event %d" % counter, **rows)  # type: ignore[arg-type]


MEDIATOR_KEY = Fingerprint("1220" + "cc" * 32)


def _result(request_ts_us: int) -> MediatorResult:
    return MediatorResult(request_ts_us, Hash(b"r" * 32),
                          MemberId(f"MED::mediator::{MEDIATOR_KEY}"), Approve(),
                          Signature(MEDIATOR_KEY, HashPurpose.MEDIATOR_VERDICT, b"s" * 64))


def _verdict(request_ts_us: int, decided_ts_us: int) -> PersistVerdict:
    return PersistVerdict(request_ts_us, decided_ts_us, f"verdict-{request_ts_us}",
                          request_ts_us + 60, _result(request_ts_us),
                          tuple(VerdictDelivery(p, _result(request_ts_us))
                                for p in (ALICE, BANK)))


@pytest.fixture
async def store(fresh_database: str):
    store = await PostgresMediatorStore.connect(fresh_database)
    yield store
    await store.close()


async def _counts(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {table: await connection.fetchval(f"SELECT count(*) FROM mediator_{table}")
                for table in ("events", "messages", "requests", "responses", "verdicts",
                              "receipts")}
    finally:
        await connection.close()


async def test_batches_with_empty_tables_write_exactly_their_rows(
        store: PostgresMediatorStore, fresh_database: str) -> None:
    lease = await store.acquire_lease("a", 60_000)
    assert lease is not None
    request_ts = TS_US + 1
    request = PersistRequest(request_ts, Hash(b"h" * 32), BANK, ConfirmationPolicy.SIGNATORY,
                             request_ts + 30, request_ts + 60, (b"payload",))
    response = PersistResponse(request_ts, TS_US + 2, BANK, None, ResponseOutcome.COUNTED,
                               "a note, with \"quotes\" {braces} and NULL", b"response")
    other = MessageIndex(1, None, MessageKind.OTHER)  # an index row without a request
    assert await store.record_events(lease, [
        _event(1, messages=(MessageIndex(0, request_ts, MessageKind.INFORMEE_MESSAGE),),
               requests=(request,)),
        _event(2, messages=(MessageIndex(0, request_ts, MessageKind.CONFIRMATION_RESPONSE),
                            other),
               responses=(response,), verdicts=(_verdict(request_ts, TS_US + 2),)),
    ]) == 2
    assert await _counts(fresh_database) == {"events": 2, "messages": 3, "requests": 1,
                                             "responses": 1, "verdicts": 1, "receipts": 0}
    # nothing but the events themselves, then only a send error, then only a receipt
    assert await store.record_events(lease, [_event(3)]) == 1
    assert await store.record_events(
        lease, [_event(4, send_errors=((f"verdict-{request_ts}", "refused"),))]) == 1
    stored = await store.verdict(request_ts)
    assert stored is not None and stored.send_error == "refused" and stored.sent_ts_us is None
    assert await store.record_events(lease, [_event(5, receipts=(f"verdict-{request_ts}",))]) == 1
    assert await _counts(fresh_database) == {"events": 5, "messages": 3, "requests": 1,
                                             "responses": 1, "verdicts": 1, "receipts": 1}
    position = await store.clean_position()
    assert position is not None and position.counter == 5
    connection = await asyncpg.connect(fresh_database)
    try:
        note, view_hash = await connection.fetchrow(
            "SELECT note, view_hash FROM mediator_responses")
        kinds = await connection.fetch(
            "SELECT kind, request_ts FROM mediator_messages WHERE ts = $1 "
            "ORDER BY envelope_index", TS_US + 2)
    finally:
        await connection.close()
    assert (note, view_hash) == (response.note, None)
    assert [(r["kind"], r["request_ts"]) for r in kinds] == [
        ("confirmation_response", request_ts), ("other", None)]
    # a replay of a batch already recorded writes nothing, empty tables and all
    assert await store.record_events(lease, [_event(3), _event(4)]) == 0
    assert (await _counts(fresh_database))["events"] == 5
