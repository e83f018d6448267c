"""Shared builders for the sequencing unit tests: deterministic keys and members."""

from __future__ import annotations

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SignedSubmissionRequest,
    SubmissionRequest,
    sign_submission,
)
from minicanton.core.sequencing.members import MemberDirectory, MemberRecord
from minicanton.core.sequencing.submission import SubmissionLimits

DOMAIN = "domain::1220aa"
ENTROPY = SeededEntropy(7)


def key(seed: int) -> SigningKeyPair:
    return SigningKeyPair.generate(SeededEntropy(seed))


def member(kind: MemberKind, hint: str) -> MemberId:
    return member_id(kind, hint, "1220" + "ab" * 16)


ALICE = member(MemberKind.PARTICIPANT, "alice")
BOB = member(MemberKind.PARTICIPANT, "bob")
CAROL = member(MemberKind.PARTICIPANT, "carol")
MEDIATOR = member(MemberKind.MEDIATOR, "mediator")
KEYS = {ALICE: key(1), BOB: key(2), CAROL: key(3), MEDIATOR: key(4)}
SEQUENCER_KEY = key(99)


def directory(*disabled: MemberId) -> MemberDirectory:
    return MemberDirectory.of(
        MemberRecord(m, n, KEYS[m].public, m not in disabled)
        for n, m in enumerate([ALICE, BOB, CAROL, MEDIATOR], start=1)
    )


LIMITS = SubmissionLimits(DOMAIN, max_request_size_bytes=4096,
                          max_sequencing_time_horizon_us=60_000_000)


def request(
    sender: MemberId = ALICE, *recipients: MemberId, message_id: str = "m1",
    max_sequencing_time_us: int = 2_000_000, content: bytes = b"hello",
) -> SubmissionRequest:
    envelopes = (Envelope(tuple(MemberRecipient(r) for r in recipients or (BOB,)), content),)
    return SubmissionRequest(DOMAIN, sender, message_id, max_sequencing_time_us,
                             Batch(envelopes))


def signed(req: SubmissionRequest) -> SignedSubmissionRequest:
    return sign_submission(req, KEYS[req.sender])
