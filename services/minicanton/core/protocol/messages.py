"""The confirmation protocol's messages, as carried in sequencer envelope payloads.

Theory of operation
-------------------
A confirmation request (DESIGN.md §3 step 2) is one batch: encrypted views for the
participants, an `InformeeMessage` for the mediator (every view's hash, informees, confirming
parties and threshold, with all contents blinded), and one `RootHashMessage` per informee
participant, each addressed to that participant *and* the mediator, so the mediator sees who
got the request and can check that everybody got the same root hash. A root-hash message
names no participant: seed 003 wants the recipients not to learn who submitted, so only the
informee message (to the mediator alone) names the submitting participant, and a participant
learns it only from the submitter metadata of a root view it is entitled to. Each confirming
participant answers per view with a signed `ConfirmationResponse` (step 5); the mediator
answers the whole request with a signed `MediatorResult` carrying the `Verdict` (step 6).

A request is identified by its sequencing timestamp (Canton's `RequestId`), so responses
and results carry `request_ts_us`. Signatures cover a purpose-tagged hash of the message's
canonical bytes without the signature (`CONFIRMATION_RESPONSE`, `MEDIATOR_VERDICT`), so a
signature cannot be lifted from one kind of message to another.

Wire format (`encode_protocol_message`): ``MAGIC``, a version byte, a kind byte, then the
body in the same tiny big-endian, length-prefixed format as topology transactions
(`topology.serialization`). `message_codec.decode_protocol_message` is the strict inverse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeAlias

from minicanton.core.crypto.signing import (
    Signature,
    SigningKeyPair,
    SigningPublicKey,
    verify_signature,
)
from minicanton.core.errors import InvalidArgument
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import (
    MemberId,
    MemberKind,
    ParticipantId,
    PartyId,
    parse_member_id,
    parse_party_id,
)
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ViewConfirmationParameters,
)
from minicanton.core.protocol.merkle import (
    FIRST_ROOT_VIEW,
    FIRST_SUBVIEW,
    BlindedNode,
    GenTransactionTree,
    Leaf,
    MerklePath,
    TransactionView,
    encode_tree,
    full_informee_tree,
    root_hash,
    view_hash,
)
from minicanton.core.protocol.views import CommonMetadata
from minicanton.core.topology.serialization import Writer

MAGIC = b"MCPM"
WIRE_VERSION = 1
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MAX_TEXT_CHARS = 4096  # reason messages; longer ones are cut by `reason_text`


class MessageKind(IntEnum):
    """Stable numbers: they are on the wire, never renumber one."""

    INFORMEE_MESSAGE = 1
    # kind 2 was a root-hash message that also named the submitting participant (review #2):
    # no longer written, still read (`message_codec`) so payloads kept from before stay readable
    LEGACY_ROOT_HASH_MESSAGE = 2
    CONFIRMATION_RESPONSE = 3
    MEDIATOR_RESULT = 4
    ROOT_HASH_MESSAGE = 5


def _check_code(code: str) -> None:
    if not _CODE.match(code):
        raise InvalidArgument(f"reason code {code!r} must match {_CODE.pattern}")


def reason_text(text: str) -> str:
    """`text` cut to `MAX_TEXT_CHARS`, so a long explanation never makes a message invalid."""
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def _check_participant(participant: str) -> None:
    if parse_member_id(participant)[0] is not MemberKind.PARTICIPANT:
        raise InvalidArgument(f"{participant!r} is not a participant id")


def _check_parties(parties: Iterable[str]) -> None:
    for party in parties:
        parse_party_id(party)


# ---------------------------------------------------------------------------------------------
# Request: informee message and root-hash messages


@dataclass(frozen=True, slots=True)
class InformeeView:
    """One view as the mediator sees it: hash, Merkle position, confirmation parameters."""

    view_hash: Hash
    view_position: MerklePath
    parameters: ViewConfirmationParameters


@dataclass(frozen=True, slots=True)
class InformeeMessage:
    """The full informee tree for the mediator (Canton's `InformeeMessage`): the transaction's
    Merkle tree with the common metadata and every view's common data (informees, confirming
    parties, threshold) revealed and everything else blinded. Its root hash is the
    transaction's, so the mediator can check it against the root-hash messages.

    `root_hash`, `views` (pre-order) and `common_metadata` are derived from `tree`."""

    tree: GenTransactionTree
    submitting_participant: ParticipantId
    root_hash: Hash = field(init=False, compare=False, repr=False)
    views: tuple[InformeeView, ...] = field(init=False, compare=False, repr=False)
    common_metadata: CommonMetadata = field(init=False, compare=False, repr=False)

    @classmethod
    def create(
        cls, tree: GenTransactionTree, submitting_participant: ParticipantId
    ) -> InformeeMessage:
        """The informee message of a full transaction tree (blinds what the mediator must
        not see)."""
        return cls(full_informee_tree(tree), submitting_participant)

    def __post_init__(self) -> None:
        _check_participant(self.submitting_participant)
        tree = self.tree
        if not isinstance(tree.common_metadata, Leaf):
            raise InvalidArgument("an informee tree must reveal the common metadata")
        for leaf in (tree.submitter_metadata, tree.participant_metadata):
            if not isinstance(leaf, BlindedNode):
                raise InvalidArgument("an informee tree must blind the submitter and "
                                      "participant metadata")
        views = tuple(_informee_views(tree.root_views, (FIRST_ROOT_VIEW,)))
        if not views:
            raise InvalidArgument("an informee tree needs at least one view")
        object.__setattr__(self, "views", views)
        object.__setattr__(self, "root_hash", root_hash(tree))
        object.__setattr__(self, "common_metadata", tree.common_metadata.content)

    @property
    def confirmation_policy(self) -> ConfirmationPolicy:
        return self.common_metadata.confirmation_policy

    @property
    def mediator(self) -> MemberId:
        return self.common_metadata.mediator_id

    def view(self, view_hash: Hash) -> InformeeView | None:
        return next((v for v in self.views if v.view_hash == view_hash), None)

    @property
    def informees(self) -> frozenset[PartyId]:
        return frozenset(PartyId(p) for v in self.views for p in v.parameters.informees)


def _informee_views(
    views: tuple[TransactionView | BlindedNode, ...], first: MerklePath
) -> Iterator[InformeeView]:
    """Every view in pre-order; each must be present with its common data revealed and its
    participant data blinded (Canton's `FullInformeeTree` invariant)."""
    for index, view in enumerate(views):
        path = (*first[:-1], first[-1] + index)
        if not isinstance(view, TransactionView):
            raise InvalidArgument(f"the informee tree blinds the view at {path}")
        common = view.view_common_data
        if not isinstance(common, Leaf):
            raise InvalidArgument(f"the informee tree blinds the common data of view {path}")
        if not isinstance(view.view_participant_data, BlindedNode):
            raise InvalidArgument(f"the informee tree reveals the participant data of {path}")
        _check_parties(common.content.informees)
        yield InformeeView(view_hash(view), path, common.content.parameters)
        yield from _informee_views(view.subviews, (*path, FIRST_SUBVIEW))


@dataclass(frozen=True, slots=True)
class RootHashMessage:
    """Sent to each informee participant together with the mediator (one envelope each).
    It carries the root hash only: who submitted is not the recipients' to know."""

    root_hash: Hash

    def __init__(self, root_hash: Hash) -> None:
        object.__setattr__(self, "root_hash", root_hash)


# ---------------------------------------------------------------------------------------------
# Confirmation responses


@dataclass(frozen=True, slots=True)
class LocalApprove:
    pass


@dataclass(frozen=True, slots=True)
class LocalReject:
    """A participant's rejection: a stable code (e.g. ``LOCKED_CONTRACTS``) and a message."""

    code: str
    message: str

    def __post_init__(self) -> None:
        _check_code(self.code)
        object.__setattr__(self, "message", reason_text(self.message))


LocalVerdict: TypeAlias = LocalApprove | LocalReject


@dataclass(frozen=True, slots=True)
class ConfirmationResponse:
    """A participant's signed answer for one view (or, with `view_hash` None, a rejection of
    a request it could not even attribute to a view, e.g. a malformed one)."""

    request_ts_us: int
    view_hash: Hash | None
    sender: ParticipantId
    local_verdict: LocalVerdict
    confirming_parties: frozenset[PartyId]
    root_hash: Hash
    signature: Signature

    def __post_init__(self) -> None:
        _check_participant(self.sender)
        _check_parties(self.confirming_parties)
        if self.view_hash is None and isinstance(self.local_verdict, LocalApprove):
            raise InvalidArgument("an approval must name the view it approves")
        if self.signature.purpose is not HashPurpose.CONFIRMATION_RESPONSE:
            raise InvalidArgument("a confirmation response needs a CONFIRMATION_RESPONSE signature")

    @classmethod
    def create(
        cls,
        *,
        request_ts_us: int,
        view_hash: Hash | None,
        sender: ParticipantId,
        local_verdict: LocalVerdict,
        confirming_parties: Iterable[PartyId],
        root_hash: Hash,
        signing_key: SigningKeyPair,
    ) -> ConfirmationResponse:
        parties = frozenset(confirming_parties)
        unsigned = _response_body(
            request_ts_us, view_hash, sender, local_verdict, parties, root_hash
        )
        digest = hash_of(HashPurpose.CONFIRMATION_RESPONSE, unsigned)
        signature = signing_key.sign(digest, HashPurpose.CONFIRMATION_RESPONSE)
        return cls(request_ts_us, view_hash, sender, local_verdict, parties, root_hash, signature)

    def signing_hash(self) -> Hash:
        body = _response_body(
            self.request_ts_us, self.view_hash, self.sender, self.local_verdict,
            self.confirming_parties, self.root_hash,
        )
        return hash_of(HashPurpose.CONFIRMATION_RESPONSE, body)

    def verify(self, public_key: SigningPublicKey) -> None:
        """Raise `CryptoError` unless `public_key` signed this response."""
        verify_signature(
            public_key, self.signing_hash(), HashPurpose.CONFIRMATION_RESPONSE, self.signature
        )


# ---------------------------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True, slots=True)
class Approve:
    pass


@dataclass(frozen=True, slots=True)
class RejectReason:
    """Why a request was rejected. `participant` is the rejecting participant, or None when
    the mediator itself rejected (a malformed request); `view_hash` is None for reasons that
    concern the whole request. Only the submitter's copy of a verdict is complete; the other
    recipients' copies name no other participant (see `verdict_disclosure`)."""

    code: str
    message: str
    participant: ParticipantId | None = None
    view_hash: Hash | None = None
    parties: frozenset[PartyId] = frozenset()

    def __post_init__(self) -> None:
        _check_code(self.code)
        object.__setattr__(self, "message", reason_text(self.message))
        if self.participant is not None:
            _check_participant(self.participant)
        _check_parties(self.parties)


@dataclass(frozen=True, slots=True)
class Reject:
    reasons: tuple[RejectReason, ...]

    def __post_init__(self) -> None:
        if not self.reasons:
            raise InvalidArgument("a rejection needs at least one reason")


@dataclass(frozen=True, slots=True)
class UnresponsiveParticipant:
    """A participant that should have confirmed for `parties` but did not answer in time."""

    participant: ParticipantId
    parties: frozenset[PartyId]

    def __post_init__(self) -> None:
        _check_participant(self.participant)
        _check_parties(self.parties)


@dataclass(frozen=True, slots=True)
class Timeout:
    """Not enough confirmations by the participant response deadline. `parties`: the
    confirming parties still pending. The submitter's copy lists the `unresponsive`
    participants; the other recipients' copies list none, and only the parties they saw."""

    unresponsive: tuple[UnresponsiveParticipant, ...]  # sorted by participant
    parties: frozenset[PartyId] = frozenset()

    def __post_init__(self) -> None:
        _check_parties(self.parties)


Verdict: TypeAlias = Approve | Reject | Timeout


@dataclass(frozen=True, slots=True)
class MediatorResult:
    """The mediator's signed verdict on the request sequenced at `request_ts_us`."""

    request_ts_us: int
    root_hash: Hash
    mediator: MemberId
    verdict: Verdict
    signature: Signature
    # Memo of the wire bytes: the mediator encodes one result for the audit log, the outbox
    # and every recipient's envelope (a pure function of the immutable fields).
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if parse_member_id(self.mediator)[0] is not MemberKind.MEDIATOR:
            raise InvalidArgument(f"{self.mediator!r} is not a mediator id")
        if self.signature.purpose is not HashPurpose.MEDIATOR_VERDICT:
            raise InvalidArgument("a mediator result needs a MEDIATOR_VERDICT signature")

    @classmethod
    def create(
        cls,
        *,
        request_ts_us: int,
        root_hash: Hash,
        mediator: MemberId,
        verdict: Verdict,
        signing_key: SigningKeyPair,
    ) -> MediatorResult:
        digest = hash_of(
            HashPurpose.MEDIATOR_VERDICT,
            _result_body(request_ts_us, root_hash, mediator, verdict),
        )
        signature = signing_key.sign(digest, HashPurpose.MEDIATOR_VERDICT)
        return cls(request_ts_us, root_hash, mediator, verdict, signature)

    def signing_hash(self) -> Hash:
        body = _result_body(self.request_ts_us, self.root_hash, self.mediator, self.verdict)
        return hash_of(HashPurpose.MEDIATOR_VERDICT, body)

    def verify(self, public_key: SigningPublicKey) -> None:
        """Raise `CryptoError` unless `public_key` (the mediator's) signed this result."""
        verify_signature(
            public_key, self.signing_hash(), HashPurpose.MEDIATOR_VERDICT, self.signature
        )


ProtocolMessage: TypeAlias = (
    InformeeMessage | RootHashMessage | ConfirmationResponse | MediatorResult
)


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_protocol_message(message: ProtocolMessage) -> bytes:
    w = Writer()
    w.u8(WIRE_VERSION)
    if isinstance(message, InformeeMessage):
        w.u8(MessageKind.INFORMEE_MESSAGE)
        _write_informee_message(w, message)
    elif isinstance(message, RootHashMessage):
        w.u8(MessageKind.ROOT_HASH_MESSAGE)
        _write_root_hash_message(w, message)
    elif isinstance(message, ConfirmationResponse):
        w.u8(MessageKind.CONFIRMATION_RESPONSE)
        _write_response(w, message)
    else:
        if message._encoded is not None:
            return message._encoded
        w.u8(MessageKind.MEDIATOR_RESULT)
        _write_result(w, message)
        encoded = MAGIC + w.getvalue()
        object.__setattr__(message, "_encoded", encoded)
        return encoded
    return MAGIC + w.getvalue()


def _write_hash(w: Writer, value: Hash) -> None:
    w.raw(value.digest)


def _write_optional_hash(w: Writer, value: Hash | None) -> None:
    w.u8(0 if value is None else 1)
    if value is not None:
        _write_hash(w, value)


def _write_signature(w: Writer, signature: Signature) -> None:
    w.text(signature.signed_by)
    w.u32(signature.purpose)
    w.raw(signature.raw)


def _write_informee_message(w: Writer, m: InformeeMessage) -> None:
    w.raw(encode_tree(m.tree))
    w.text(m.submitting_participant)


def _write_root_hash_message(w: Writer, m: RootHashMessage) -> None:
    _write_hash(w, m.root_hash)


def _response_body(
    request_ts_us: int,
    view_hash: Hash | None,
    sender: str,
    local_verdict: LocalVerdict,
    parties: frozenset[PartyId],
    root_hash: Hash,
) -> bytes:
    w = Writer()
    w.i64(request_ts_us)
    _write_optional_hash(w, view_hash)
    w.text(sender)
    if isinstance(local_verdict, LocalReject):
        w.u8(1)
        w.text(local_verdict.code)
        w.text(local_verdict.message)
    else:
        w.u8(0)
    w.texts(parties)
    _write_hash(w, root_hash)
    return w.getvalue()


def _write_response(w: Writer, m: ConfirmationResponse) -> None:
    w.raw(_response_body(
        m.request_ts_us, m.view_hash, m.sender, m.local_verdict, m.confirming_parties,
        m.root_hash,
    ))
    _write_signature(w, m.signature)


def _result_body(request_ts_us: int, root_hash: Hash, mediator: str, verdict: Verdict) -> bytes:
    w = Writer()
    w.i64(request_ts_us)
    _write_hash(w, root_hash)
    w.text(mediator)
    _write_verdict(w, verdict)
    return w.getvalue()


def _write_verdict(w: Writer, verdict: Verdict) -> None:
    if isinstance(verdict, Approve):
        w.u8(0)
    elif isinstance(verdict, Reject):
        w.u8(1)
        w.u32(len(verdict.reasons))
        for reason in verdict.reasons:
            w.text(reason.code)
            w.text(reason.message)
            w.u8(0 if reason.participant is None else 1)
            if reason.participant is not None:
                w.text(reason.participant)
            _write_optional_hash(w, reason.view_hash)
            w.texts(reason.parties)
    else:
        w.u8(2)
        w.u32(len(verdict.unresponsive))
        for missing in verdict.unresponsive:
            w.text(missing.participant)
            w.texts(missing.parties)
        w.texts(verdict.parties)


def _write_result(w: Writer, m: MediatorResult) -> None:
    w.raw(_result_body(m.request_ts_us, m.root_hash, m.mediator, m.verdict))
    _write_signature(w, m.signature)
