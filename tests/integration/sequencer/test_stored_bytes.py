"""Envelopes stored as the bytes they arrived as, on a real database, across a rolling upgrade.

This release writes an admitted submission's envelope bytes into the stored payload as they
are, and reads them back as bytes. The payload keeps the previous release's format: an
instance of the previous release (whose reader is `decode_stored_envelopes`) reads our rows,
and rows the previous release wrote read as bytes here and are delivered as it delivered them.
"""

from __future__ import annotations

import uuid

from tests.unit.sequencing.helpers import ALICE, BOB, DOMAIN, KEYS, LIMITS, MEDIATOR, directory
from tests.unit.sequencing.test_delivery_cache import previous_release_encoding

from minicanton.codec.sequencer import (
    decode_stored_envelopes,
    envelope_bytes,
    parse_submission_envelopes,
    submission_to_proto,
)
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
    SubmissionRequest,
    sign_submission,
)
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.stored import with_serialized
from minicanton.core.sequencing.submission import (
    ValidatedSubmission,
    plan_events,
    validate_submission,
)
from minicanton.store.postgres.sequencer import PostgresSequencerStore

START_US = 1_000_000


def _admitted(message_id: str) -> tuple[ValidatedSubmission, ValidatedSubmission]:
    """One submission as the service admits it (envelopes as bytes), and as objects."""
    batch = Batch((
        Envelope((MemberRecipient(BOB), MemberRecipient(ALICE)), b"view" * 50),
        Envelope((GroupRecipient(RecipientGroup.MEDIATOR_GROUP),), b"informee"),
        Envelope((MemberRecipient(MEDIATOR),), b"")))
    request = SubmissionRequest(DOMAIN, ALICE, message_id, START_US + 10_000_000, batch)
    signed = sign_submission(request, KEYS[ALICE])
    parsed, serialized = parse_submission_envelopes(
        submission_to_proto(signed).SerializeToString())
    checked = validate_submission(parsed, 100, ALICE, directory(), LIMITS, START_US)
    return (ValidatedSubmission(checked.request, checked.sender_number,
                                with_serialized(checked.envelopes, serialized)), checked)


async def test_stored_bytes_read_the_same_in_both_releases(fresh_database: str) -> None:
    store = await PostgresSequencerStore.connect(fresh_database, pool_size=2)
    try:
        await store.initialize(DOMAIN, 1)
        session = uuid.uuid4()
        rejoin_us = await store.go_online(0, session, START_US)
        allocator = TimestampAllocator(1, 0, rejoin_us)
        ours, as_objects = _admitted("ours")
        theirs, theirs_as_objects = _admitted("theirs")
        planned = plan_events([ours, theirs], allocator, START_US)
        result = await store.write(0, session, allocator.last_us, START_US, planned)
        assert len(result.written) == 2
        # the second row as the previous release wrote it
        theirs_ts = planned[1].event.timestamp_us  # type: ignore[union-attr]
        before = previous_release_encoding(theirs_as_objects.envelopes)
        async with store._pool.acquire() as connection:
            await connection.execute("UPDATE sequencer_events SET payload = $1 WHERE ts = $2",
                                     before, theirs_ts)
            payloads = [row["payload"] for row in await connection.fetch(
                "SELECT payload FROM sequencer_events ORDER BY ts")]

        # the previous release's reader reads our row; our row is its format exactly
        assert decode_stored_envelopes(payloads[0]) == as_objects.envelopes
        assert payloads[0] == previous_release_encoding(as_objects.envelopes)

        # this release reads both rows as the envelopes' bytes, which are what it delivers
        page = await store.read_events(0, 10)
        assert [e.message_id for e in page.events] == ["ours", "theirs"]
        for event, objects in zip(page.events, (as_objects, theirs_as_objects), strict=True):
            assert [e.member_numbers for e in event.envelopes] == \
                [e.member_numbers for e in objects.envelopes]
            assert [e.envelope for e in event.envelopes] == \
                [envelope_bytes(e.envelope) for e in objects.envelopes]  # type: ignore[arg-type]
    finally:
        await store.close()
