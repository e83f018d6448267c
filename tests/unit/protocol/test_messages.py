"""Protocol messages: canonical round trips, signatures bound to their purpose, strict decoding."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediator_fixtures import REQUEST_TS_US, DvpDomain

from minicanton.core.errors import CryptoError, InvalidArgument
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.merkle import BlindedNode, blind, view_hash
from minicanton.core.protocol.message_codec import (
    MessageDecodeError,
    UnknownMessageKind,
    decode_protocol_message,
)
from minicanton.core.protocol.messages import (
    MAGIC,
    MAX_TEXT_CHARS,
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    LocalApprove,
    LocalReject,
    MediatorResult,
    MessageKind,
    ProtocolMessage,
    Reject,
    RejectReason,
    RootHashMessage,
    Timeout,
    UnresponsiveParticipant,
    encode_protocol_message,
)

DOMAIN = DvpDomain()
TREE = DOMAIN.swap_tree()
INFORMEE = InformeeMessage.create(TREE, DOMAIN.p("alice"))
FIRST_VIEW = INFORMEE.views[0].view_hash


def _response(verdict: LocalApprove | LocalReject = LocalApprove()) -> ConfirmationResponse:
    return DOMAIN.response("alice", REQUEST_TS_US, INFORMEE, FIRST_VIEW, ["alice"], verdict)


def _result(verdict: Approve | Reject | Timeout) -> MediatorResult:
    return MediatorResult.create(
        request_ts_us=REQUEST_TS_US, root_hash=INFORMEE.root_hash, mediator=DOMAIN.mediator.id,
        verdict=verdict, signing_key=DOMAIN.mediator.key,
    )


REJECT = Reject((
    RejectReason("LOCKED_CONTRACTS", "iou1 is locked", DOMAIN.p("bank"), FIRST_VIEW,
                 frozenset({DOMAIN.parties["bank"]})),
    RejectReason("MEDIATOR_ROOT_HASH_MISMATCH", "a recipient got another root hash"),
))
TIMEOUT = Timeout((UnresponsiveParticipant(DOMAIN.p("sr"), frozenset({DOMAIN.parties["sr"]})),),
                  frozenset({DOMAIN.parties["sr"]}))
INFORMEE_TIMEOUT = Timeout((), frozenset({DOMAIN.parties["bank"]}))  # a non-submitter's copy
MESSAGES: list[ProtocolMessage] = [
    INFORMEE,
    RootHashMessage(INFORMEE.root_hash),
    _response(),
    _response(LocalReject("LOCKED_CONTRACTS", "c2 is locked by request 17")),
    DOMAIN.response("bob", REQUEST_TS_US, INFORMEE, None, ["bob"],
                    LocalReject("MALFORMED", "cannot decrypt")),
    _result(Approve()),
    _result(REJECT),
    _result(TIMEOUT),
    _result(INFORMEE_TIMEOUT),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_its_canonical_bytes(message: ProtocolMessage) -> None:
    data = encode_protocol_message(message)
    assert data.startswith(MAGIC)
    decoded = decode_protocol_message(data)
    assert decoded == message
    assert encode_protocol_message(decoded) == data


def test_informee_message_derives_views_and_root_hash_from_the_tree() -> None:
    decoded = decode_protocol_message(encode_protocol_message(INFORMEE))
    assert isinstance(decoded, InformeeMessage)
    assert decoded.root_hash == INFORMEE.root_hash
    assert [v.view_position for v in decoded.views] == [(3,), (3, 2), (3, 2, 2), (3, 3),
                                                        (3, 3, 2)]
    assert decoded.confirmation_policy is ConfirmationPolicy.SIGNATORY
    assert decoded.mediator == DOMAIN.mediator.id
    assert decoded.informees == frozenset(DOMAIN.parties.values())


def test_informee_tree_must_blind_participant_data_and_reveal_every_view() -> None:
    with pytest.raises(InvalidArgument, match="participant metadata"):
        InformeeMessage(blind(TREE, lambda _p, _n: True), DOMAIN.p("alice"))
    metadata_blinded = blind(TREE, lambda path, _n: len(path) > 1 or path[0] == 1 or path[0] > 2)
    with pytest.raises(InvalidArgument, match="reveals the participant data"):
        InformeeMessage(metadata_blinded, DOMAIN.p("alice"))
    full = INFORMEE.tree
    root_view = full.root_views[0]
    assert not isinstance(root_view, BlindedNode)
    hidden = replace(root_view, subviews=(BlindedNode(view_hash(root_view.subviews[0])),
                                          root_view.subviews[1]))
    with pytest.raises(InvalidArgument, match="blinds the view"):
        InformeeMessage(replace(full, root_views=(hidden,)), DOMAIN.p("alice"))


def test_response_signature_verifies_and_binds_every_field() -> None:
    response = _response()
    response.verify(DOMAIN.participants["alice"].key.public)
    with pytest.raises(CryptoError):
        response.verify(DOMAIN.participants["bob"].key.public)
    tampered = replace(response, local_verdict=LocalReject("LOCKED_CONTRACTS", "x"))
    with pytest.raises(CryptoError):
        tampered.verify(DOMAIN.participants["alice"].key.public)
    moved = replace(response, request_ts_us=REQUEST_TS_US + 1)
    with pytest.raises(CryptoError):
        moved.verify(DOMAIN.participants["alice"].key.public)


def test_a_signature_for_one_purpose_never_passes_for_another() -> None:
    response = _response()
    with pytest.raises(InvalidArgument, match="MEDIATOR_VERDICT"):
        MediatorResult(REQUEST_TS_US, INFORMEE.root_hash, DOMAIN.mediator.id, Approve(),
                       response.signature)
    result = _result(Approve())
    result.verify(DOMAIN.mediator.key.public)
    forged = DOMAIN.mediator.key.sign(result.signing_hash(), HashPurpose.CONFIRMATION_RESPONSE)
    with pytest.raises(InvalidArgument):
        replace(result, signature=forged)


def test_result_verdict_cannot_be_swapped() -> None:
    approve = _result(Approve())
    swapped = replace(approve, verdict=TIMEOUT)
    with pytest.raises(CryptoError):
        swapped.verify(DOMAIN.mediator.key.public)


def test_value_checks() -> None:
    with pytest.raises(InvalidArgument, match="must name the view"):
        DOMAIN.response("alice", REQUEST_TS_US, INFORMEE, None, ["alice"])
    with pytest.raises(InvalidArgument, match="reason code"):
        LocalReject("not a code", "x")
    long = LocalReject("LOCKED_CONTRACTS", "x" * (MAX_TEXT_CHARS + 10))
    assert len(long.message) == MAX_TEXT_CHARS
    with pytest.raises(InvalidArgument, match="at least one reason"):
        Reject(())


def test_a_root_hash_message_names_no_participant() -> None:
    """Seed 003 sender privacy (core review #2): every informee participant gets one, so it
    must not say who submitted; the informee message, the mediator's alone, does."""
    data = encode_protocol_message(RootHashMessage(INFORMEE.root_hash))
    assert data == MAGIC + bytes([1, MessageKind.ROOT_HASH_MESSAGE]) + (
        len(INFORMEE.root_hash.digest).to_bytes(4, "big") + INFORMEE.root_hash.digest)
    assert b"PAR::" not in data
    assert DOMAIN.p("alice").encode() in encode_protocol_message(INFORMEE)


def _legacy_root_hash_message(participant: str) -> bytes:
    """Kind 2 as written before review #2: the root hash, then the submitting participant."""
    digest, name = INFORMEE.root_hash.digest, participant.encode()
    return MAGIC + bytes([1, MessageKind.LEGACY_ROOT_HASH_MESSAGE]) + (
        len(digest).to_bytes(4, "big") + digest + len(name).to_bytes(4, "big") + name)


def test_a_legacy_root_hash_message_is_still_read_without_its_participant() -> None:
    legacy = _legacy_root_hash_message(DOMAIN.p("alice"))
    assert decode_protocol_message(legacy) == RootHashMessage(INFORMEE.root_hash)
    for bad in (legacy + b"\x00", legacy[:-1],
                _legacy_root_hash_message(DOMAIN.mediator.id)):
        with pytest.raises(MessageDecodeError):
            decode_protocol_message(bad)


def test_payloads_without_magic_are_someone_elses() -> None:
    with pytest.raises(UnknownMessageKind):
        decode_protocol_message(b"\x01topology transaction bytes")


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_truncation_and_trailing_bytes_are_refused(message: ProtocolMessage) -> None:
    data = encode_protocol_message(message)
    for cut in (len(MAGIC) + 1, len(data) // 2, len(data) - 1):
        with pytest.raises(MessageDecodeError):
            decode_protocol_message(data[:cut])
    with pytest.raises(MessageDecodeError):
        decode_protocol_message(data + b"\x00")


def test_unknown_version_and_kind_are_refused() -> None:
    data = encode_protocol_message(MESSAGES[1])
    with pytest.raises(MessageDecodeError, match="version"):
        decode_protocol_message(MAGIC + b"\x02" + data[len(MAGIC) + 1:])
    with pytest.raises(MessageDecodeError, match="kind"):
        decode_protocol_message(MAGIC + b"\x01\x09" + data[len(MAGIC) + 2:])


def test_non_canonical_party_order_is_refused() -> None:
    response = DOMAIN.response("alice", REQUEST_TS_US, INFORMEE, FIRST_VIEW, ["alice", "bob"])
    data = encode_protocol_message(response)
    alice, bob = sorted(response.confirming_parties)
    a, b = alice.encode(), bob.encode()
    swapped = data.replace(a, b"\x00" * len(a)).replace(b, a).replace(b"\x00" * len(a), b)
    assert swapped != data
    with pytest.raises(MessageDecodeError):
        decode_protocol_message(swapped)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_corruption_is_a_typed_error_or_a_valid_message(data: st.DataObject) -> None:
    message = data.draw(st.sampled_from(MESSAGES))
    raw = bytearray(encode_protocol_message(message))
    position = data.draw(st.integers(len(MAGIC), len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        decoded = decode_protocol_message(bytes(raw))
    except MessageDecodeError:
        return
    assert encode_protocol_message(decoded) == bytes(raw)
    if isinstance(decoded, ConfirmationResponse) and decoded != message:
        with pytest.raises(CryptoError):
            decoded.verify(DOMAIN.participants["alice"].key.public)


def test_hash_purposes_differ_for_the_same_bytes() -> None:
    body = b"same body"
    assert hash_of(HashPurpose.CONFIRMATION_RESPONSE, body) != hash_of(
        HashPurpose.MEDIATOR_VERDICT, body
    )


def test_a_result_is_encoded_once_and_a_changed_copy_anew() -> None:
    """The mediator sends and stores one result several times: the bytes are remembered on
    the (immutable) result, and a copy with another verdict does not inherit them."""
    result = _result(REJECT)
    first = encode_protocol_message(result)
    assert encode_protocol_message(result) is first
    assert first == encode_protocol_message(_result(REJECT))
    assert decode_protocol_message(first) == result
    approved = replace(result, verdict=Approve())
    assert encode_protocol_message(approved) != first
    assert decode_protocol_message(encode_protocol_message(approved)) == approved
