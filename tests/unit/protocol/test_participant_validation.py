"""Validation of a real request at one participant, on the bytes that participant was
delivered: what it holds and may confirm, and how tampering and hostile contents end up."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sim.dvp_flow import DvpContracts, setup_until_dvp, swap
from tests.sim.harness import SimNetwork
from tests.sim.permission_flow import (
    hosting_alice_with,
    issue_iou_to_alice,
    rehost,
    submit_regardless,
    transfer_to_bob,
)
from tests.sim.sim_domain import TOLERANCE_US

from minicanton.core.crypto.encryption import decrypt_view, encrypt_view
from minicanton.core.crypto.signing import Signature
from minicanton.core.entropy import SeededEntropy
from minicanton.core.hashing import Hash
from minicanton.core.protocol import validation
from minicanton.core.protocol.messages import RootHashMessage, encode_protocol_message
from minicanton.core.protocol.request_envelopes import sort_envelopes
from minicanton.core.protocol.validation import (
    IgnoredRequest,
    ValidatedRequest,
    validate_payload,
)
from minicanton.core.protocol.view_message import (
    EncryptedViewMessage,
    decode_view_message,
    encode_view_message,
    sign_root_hash,
)
from minicanton.core.sequencing.events import Deliver
from minicanton.core.topology.mappings import ParticipantPermission


@pytest.fixture(scope="module")
def swapped() -> tuple[SimNetwork, DvpContracts, int]:
    net = SimNetwork()
    contracts = setup_until_dvp(net)
    prepared = swap(net, contracts)
    net.run()
    return net, contracts, net.request_ts(prepared)


def arrived(net: SimNetwork, name: str, ts_us: int) -> tuple[list[bytes], list[bytes]]:
    (event,) = [e for e in net.delivered[name] if e.timestamp_us == ts_us]
    assert isinstance(event.content, Deliver)
    sorted_ = sort_envelopes(ts_us, event.content.batch.envelopes)
    return list(sorted_.view_messages), list(sorted_.root_hash_messages)


def validate(net: SimNetwork, name: str, ts_us: int, views: list[bytes], roots: list[bytes],
             at_us: int | None = None) -> ValidatedRequest | IgnoredRequest:
    identity = net.machine(name).config.identity
    when = ts_us if at_us is None else at_us
    return validate_payload(when, views, roots, identity, net.domain.registry,
                            net.domain.snapshot(when))


def test_the_bank_holds_its_leg_and_confirms_it(swapped) -> None:
    net, contracts, ts = swapped
    result = validate(net, "bank", ts, *arrived(net, "bank", ts))
    assert isinstance(result, ValidatedRequest) and result.rejection is None
    assert [v.rejection for v in result.views] == [None, None]
    entities = [{n.template_id.entity_name for n in v.view.subtree_nodes().values()}
                for v in result.views]
    assert entities == [{"Iou"}, {"Iou"}]
    assert all(v.confirming_parties == {net.domain.party("Bank")} for v in result.views)
    assert result.activeness.consumed == {contracts.iou}
    assert result.submitter is None  # the Bank holds no root view


def test_the_submitter_holds_every_view_and_sees_the_submitter_metadata(swapped) -> None:
    net, _, ts = swapped
    result = validate(net, "alice", ts, *arrived(net, "alice", ts))
    assert isinstance(result, ValidatedRequest) and result.rejection is None
    assert len(result.views) == 5 and result.submitter is not None
    assert result.submitter.command_id == "swap"


def _resigned(raw: bytes, signature: Signature | None) -> bytes:
    return encode_view_message(replace(decode_view_message(raw), submitter_signature=signature))


def test_a_root_view_must_carry_the_signature_of_the_participant_its_metadata_names(
        swapped) -> None:
    """Only root views' messages are signed (core review #2): Bob holds the root view and
    checks the signature against the submitter metadata it reveals, not against anything a
    root-hash message or the event would say."""
    net, _, ts = swapped
    views, roots = arrived(net, "bob", ts)
    root_index = next(i for i, raw in enumerate(views)
                      if len(decode_view_message(raw).view_position) == 1)
    genuine = validate(net, "bob", ts, views, roots)
    assert isinstance(genuine, ValidatedRequest) and genuine.rejection is None
    assert genuine.submitter is not None
    assert genuine.submitter.submitting_participant == net.domain.participant_of("alice")
    bob = net.domain.participants["bob"]
    for signature in (None, sign_root_hash(genuine.root_hash, bob.key)):
        tampered = list(views)
        tampered[root_index] = _resigned(views[root_index], signature)
        result = validate(net, "bob", ts, tampered, roots)
        assert isinstance(result, ValidatedRequest) and result.rejection is not None
        assert result.rejection.code == validation.AUTHENTICATION


def test_a_participant_holding_only_subviews_is_not_told_who_submitted(swapped) -> None:
    net, _, ts = swapped
    views, roots = arrived(net, "bank", ts)
    assert all(decode_view_message(raw).submitter_signature is None for raw in views)
    assert roots == [encode_protocol_message(RootHashMessage(net.submitted[-1].root_hash))]
    result = validate(net, "bank", ts, views, roots)
    assert isinstance(result, ValidatedRequest) and result.rejection is None
    assert result.submitter is None


def test_a_flipped_ciphertext_byte_makes_the_request_malformed(swapped) -> None:
    net, _, ts = swapped
    views, roots = arrived(net, "bank", ts)
    message = decode_view_message(views[0])
    sealed = message.encrypted
    flipped = replace(sealed, ciphertext=bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:])
    views[0] = encode_view_message(replace(message, encrypted=flipped))
    result = validate(net, "bank", ts, views, roots)
    assert isinstance(result, ValidatedRequest)
    assert result.rejection is not None and result.rejection.code == validation.MALFORMED
    assert str(message.view_hash) in result.rejection.message


def test_without_a_root_hash_message_the_request_is_ignored(swapped) -> None:
    net, _, ts = swapped
    views, _ = arrived(net, "bank", ts)
    assert isinstance(validate(net, "bank", ts, views, []), IgnoredRequest)


def test_views_of_another_transaction_fail_membership(swapped) -> None:
    net, _, ts = swapped
    views, _ = arrived(net, "bank", ts)
    _, other_roots = arrived(net, "bank", net.sequenced_at[net.submitted[0].message_id])
    result = validate(net, "bank", ts, views, other_roots)
    assert isinstance(result, ValidatedRequest) and result.rejection is not None
    assert result.rejection.code in (validation.MALFORMED, validation.AUTHENTICATION)


def test_ledger_time_and_max_sequencing_time_are_checked_against_the_record_time(
        swapped) -> None:
    net, _, ts = swapped
    late = validate(net, "bank", ts, *arrived(net, "bank", ts), at_us=ts + 2 * TOLERANCE_US)
    assert isinstance(late, ValidatedRequest) and late.rejection is not None
    assert late.rejection.code == validation.LEDGER_TIME
    submitter = validate(net, "alice", ts, *arrived(net, "alice", ts))
    assert isinstance(submitter, ValidatedRequest) and submitter.submitter is not None
    too_late = submitter.submitter.max_sequencing_time_us + 1
    replayed = validate(net, "alice", ts, *arrived(net, "alice", ts), at_us=too_late)
    assert isinstance(replayed, ValidatedRequest) and replayed.rejection is not None
    assert replayed.rejection.code == validation.SEQUENCED_TOO_LATE


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=300), position=st.sampled_from([(3,), (3, 2), (4, 2, 2)]))
def test_hostile_sealed_contents_are_rejected_never_crash(swapped, plaintext: bytes,
                                                          position: tuple[int, ...]) -> None:
    net, _, ts = swapped
    views, roots = arrived(net, "bank", ts)
    genuine = decode_view_message(views[0])
    bank = net.domain.participants["bank"]
    sealed = encrypt_view(plaintext, Hash(b"\x07" * 32), {bank.participant: bank.encryption.public},
                          SeededEntropy(plaintext))
    hostile = EncryptedViewMessage(position, genuine.submitter_signature, sealed)
    result = validate(net, "bank", ts, [encode_view_message(hostile)], roots)
    assert isinstance(result, ValidatedRequest)
    assert result.rejection is not None and result.rejection.code == validation.MALFORMED


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_mutated_genuine_view_is_rejected_never_crashes(swapped, data: st.DataObject) -> None:
    net, _, ts = swapped
    views, roots = arrived(net, "bank", ts)
    genuine = decode_view_message(views[0])
    bank = net.domain.participants["bank"]
    plaintext = bytearray(decrypt_view(genuine.encrypted, bank.participant, bank.encryption))
    index = data.draw(st.integers(0, len(plaintext) - 1))
    plaintext[index] ^= data.draw(st.integers(1, 255))
    sealed = encrypt_view(bytes(plaintext), genuine.view_hash,
                          {bank.participant: bank.encryption.public}, SeededEntropy(index))
    mutated = replace(genuine, encrypted=sealed)
    result = validate(net, "bank", ts, [encode_view_message(mutated), *views[1:]], roots)
    assert isinstance(result, ValidatedRequest)
    assert result.rejection is not None or any(v.rejection for v in result.views)


# --- the submitting participant's permission (issue 5) -------------------------------------


def transfer_sent(permission: ParticipantPermission) -> tuple[SimNetwork, int]:
    """Alice's participant, hosting her with `permission`, sends her transfer of the Bank's
    Iou anyway; the network and the request's timestamp."""
    net = SimNetwork(hosting_alice_with(permission))
    iou_id = issue_iou_to_alice(net)
    prepared = submit_regardless(net, "alice", "Alice", transfer_to_bob(net, iou_id), "transfer")
    net.run()
    return net, net.request_ts(prepared)


def submitter_rejection(net: SimNetwork, name: str, ts_us: int,
                        at_us: int | None = None) -> str | None:
    """The request-wide rejection `name` gives the transfer (its message), None if none."""
    result = validate(net, name, ts_us, *arrived(net, name, ts_us), at_us=at_us)
    assert isinstance(result, ValidatedRequest) and result.submitter is not None
    if result.rejection is None:
        return None
    assert result.rejection.code == validation.SUBMITTER_NOT_AUTHORIZED, result.rejection
    return result.rejection.message


@pytest.mark.parametrize("permission", [ParticipantPermission.CONFIRMATION,
                                        ParticipantPermission.OBSERVATION],
                         ids=lambda p: p.name.lower())
def test_a_participant_hosting_a_party_without_submission_permission_may_not_submit_for_it(
        permission: ParticipantPermission) -> None:
    """The Bank's participant (the root view's other holder) and the submitter's own both
    reject, naming the submitting participant, the party and the request's time."""
    net, ts = transfer_sent(permission)
    for name in ("bank", "alice"):
        message = submitter_rejection(net, name, ts)
        assert message == (f"{net.domain.participant_of('alice')} may not submit for "
                           f"{net.domain.party('Alice')} at {ts}"), name


def test_a_participant_hosting_a_party_with_submission_permission_may_submit_for_it() -> None:
    net, ts = transfer_sent(ParticipantPermission.SUBMISSION)
    assert submitter_rejection(net, "bank", ts) is None
    assert submitter_rejection(net, "alice", ts) is None


def test_the_permission_is_the_one_in_force_at_the_request_timestamp() -> None:
    """The same request bytes, judged as sequenced at two times: before Alice's participant
    lost Submission permission for her (accepted, though the change is known by then) and
    after it took effect (rejected)."""
    net, ts = transfer_sent(ParticipantPermission.SUBMISSION)
    effective_us = rehost(net, "Alice", {"alice": ParticipantPermission.CONFIRMATION}, ts)
    assert ts < effective_us < ts + TOLERANCE_US
    assert submitter_rejection(net, "bank", ts) is None
    assert submitter_rejection(net, "bank", ts, at_us=effective_us - 1) is None
    message = submitter_rejection(net, "bank", ts, at_us=effective_us)
    assert message is not None and str(net.domain.party("Alice")) in message
