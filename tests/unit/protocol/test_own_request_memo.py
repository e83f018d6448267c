"""A submitter validating its own request opens its views and checks its own signature from
memory (ADR 19): the outcome is exactly the one of the full path, for the genuine request and
for every variant of it, because only byte-identical inputs are answered from memory.

Each test validates the same delivered bytes twice, once with the memories as the submission
left them and once with them emptied (what a participant that never sealed these views does),
and compares the whole `ValidatedRequest`: views held, rejections, activeness, deadlines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from tests.sim.dvp_flow import iou, setup_until_dvp, swap
from tests.sim.harness import SimNetwork

from minicanton.core.crypto import encryption, signing
from minicanton.core.memo import BoundedMemo
from minicanton.core.protocol.request_envelopes import sort_envelopes
from minicanton.core.protocol.validation import (
    AUTHENTICATION,
    MALFORMED,
    IgnoredRequest,
    ValidatedRequest,
    validate_payload,
)
from minicanton.core.protocol.view_message import (
    EncryptedViewMessage,
    decode_view_message,
    encode_view_message,
)
from minicanton.core.sequencing.events import Deliver

_MEMOS = ("_SEALED_HERE", "_SESSIONS_OPENED")


@pytest.fixture(scope="module")
def own_request() -> tuple[SimNetwork, int, list[bytes], list[bytes]]:
    net = SimNetwork()
    prepared = net.submit("bank", iou(net), act_as=["Bank"], command_id="own-request-memo")
    net.run()
    ts = net.request_ts(prepared)
    (event,) = [e for e in net.delivered["bank"] if e.timestamp_us == ts]
    assert isinstance(event.content, Deliver)
    envelopes = sort_envelopes(ts, event.content.batch.envelopes)
    return net, ts, list(envelopes.view_messages), list(envelopes.root_hash_messages)


@pytest.fixture
def sealed_views(own_request: tuple[SimNetwork, int, list[bytes], list[bytes]]
                 ) -> Iterator[None]:
    """The memories as the submission left them (a test may empty them; they come back)."""
    net, _, views, _ = own_request
    message = decode_view_message(views[0])
    identity = net.machine("bank").config.identity
    plaintext = encryption.decrypt_view(message.encrypted, identity.participant_id,
                                        identity.encryption_key)
    saved = {name: getattr(encryption, name) for name in _MEMOS}
    saved_verified = signing._VERIFIED
    yield
    for name, memo in saved.items():
        setattr(encryption, name, memo)
    signing._VERIFIED = saved_verified
    # put the bank's own view back for the next test, as its sealing did
    key = (message.encrypted, identity.participant_id, identity.encryption_key.fingerprint)
    encryption._SEALED_HERE.put(key, plaintext)


def _forget_everything() -> None:
    """A process that sealed and signed nothing: every opening and verification is done."""
    for name in _MEMOS:
        setattr(encryption, name, BoundedMemo(capacity=16))
    signing._VERIFIED = BoundedMemo(capacity=16)


def _validate(net: SimNetwork, name: str, ts: int, views: list[bytes],
              roots: list[bytes]) -> ValidatedRequest | IgnoredRequest:
    identity = net.machine(name).config.identity
    return validate_payload(ts, views, roots, identity, net.domain.registry,
                            net.domain.snapshot(ts))


def _both_ways(net: SimNetwork, name: str, ts: int, views: list[bytes],
               roots: list[bytes]) -> ValidatedRequest | IgnoredRequest:
    remembered = _validate(net, name, ts, views, roots)
    _forget_everything()
    full = _validate(net, name, ts, views, roots)
    assert remembered == full
    return full


def _own_view(net: SimNetwork, views: list[bytes]) -> EncryptedViewMessage:
    message = decode_view_message(views[0])
    identity = net.machine("bank").config.identity
    key = (message.encrypted, identity.participant_id, identity.encryption_key.fingerprint)
    assert key in encryption._SEALED_HERE  # what the fast path answers from
    return message


def test_the_own_request_validates_from_memory_as_in_full(own_request, sealed_views) -> None:
    net, ts, views, roots = own_request
    message = _own_view(net, views)
    assert message.submitter_signature is not None
    result = _both_ways(net, "bank", ts, views, roots)
    assert isinstance(result, ValidatedRequest) and result.rejection is None
    assert [v.rejection for v in result.views] == [None]
    assert result.submitter is not None and result.submitter.command_id == "own-request-memo"


def test_the_observer_gets_the_same_outcome_either_way(own_request, sealed_views) -> None:
    net, ts, _, _ = own_request
    (event,) = [e for e in net.delivered["alice"] if e.timestamp_us == ts]
    assert isinstance(event.content, Deliver)
    envelopes = sort_envelopes(ts, event.content.batch.envelopes)
    result = _both_ways(net, "alice", ts, list(envelopes.view_messages),
                        list(envelopes.root_hash_messages))
    assert isinstance(result, ValidatedRequest) and result.rejection is None


@pytest.mark.parametrize("position", [0, 1, 100, -1])
def test_a_flipped_ciphertext_byte_is_opened_for_real_and_rejected_alike(
    own_request, sealed_views, position: int
) -> None:
    net, ts, views, roots = own_request
    message = _own_view(net, views)
    cipher = bytearray(message.encrypted.ciphertext)
    cipher[position] ^= 0x01
    altered = replace(message, encrypted=replace(message.encrypted, ciphertext=bytes(cipher)))
    result = _both_ways(net, "bank", ts, [encode_view_message(altered)], roots)
    assert isinstance(result, ValidatedRequest) and result.rejection is not None
    assert result.rejection.code == MALFORMED and result.views == ()


def test_a_flipped_nonce_or_wrapped_key_is_opened_for_real(own_request, sealed_views) -> None:
    net, ts, views, roots = own_request
    message = _own_view(net, views)
    sealed = message.encrypted
    nonce = bytes([sealed.nonce[0] ^ 0x80]) + sealed.nonce[1:]
    slot = sealed.wrapped_keys[0]
    wrapped = replace(slot, ciphertext=bytes([slot.ciphertext[0] ^ 1]) + slot.ciphertext[1:])
    for variant in (replace(sealed, nonce=nonce),
                    replace(sealed, wrapped_keys=(wrapped, *sealed.wrapped_keys[1:]))):
        altered = encode_view_message(replace(message, encrypted=variant))
        result = _both_ways(net, "bank", ts, [altered], roots)
        assert isinstance(result, ValidatedRequest)
        # the bank's own slot was not touched by the wrapped-key variant when it is not first
        ours = slot.recipient == net.machine("bank").config.identity.participant_id
        if variant.nonce != sealed.nonce or ours:
            assert result.rejection is not None and result.rejection.code == MALFORMED


def test_a_flipped_signature_byte_is_verified_for_real_and_rejected_alike(
    own_request, sealed_views
) -> None:
    net, ts, views, roots = own_request
    message = _own_view(net, views)
    signature = message.submitter_signature
    assert signature is not None
    raw = bytes([signature.raw[0] ^ 1]) + signature.raw[1:]
    altered = replace(message, submitter_signature=replace(signature, raw=raw))
    result = _both_ways(net, "bank", ts, [encode_view_message(altered)], roots)
    assert isinstance(result, ValidatedRequest) and result.rejection is not None
    assert result.rejection.code == AUTHENTICATION


def test_after_the_memory_evicted_the_view_the_outcome_is_the_same(
    own_request, sealed_views
) -> None:
    net, ts, views, roots = own_request
    remembered = _validate(net, "bank", ts, views, roots)
    encryption._SEALED_HERE = BoundedMemo(capacity=1)
    encryption._SEALED_HERE.put(("another view",), b"")  # type: ignore[arg-type]
    signing._VERIFIED = BoundedMemo(capacity=1)
    assert _validate(net, "bank", ts, views, roots) == remembered


def test_views_another_participant_sealed_validate_alike(sealed_views) -> None:
    """The DvP swap alice submits, as the bank (holding subviews only) and bob validate it:
    the same with the sealing's memories as without."""
    net = SimNetwork()
    contracts = setup_until_dvp(net)
    prepared = swap(net, contracts)
    net.run()
    ts = net.request_ts(prepared)
    for name in ("bank", "bob", "alice"):
        (event,) = [e for e in net.delivered[name] if e.timestamp_us == ts]
        assert isinstance(event.content, Deliver)
        envelopes = sort_envelopes(ts, event.content.batch.envelopes)
        views, roots = list(envelopes.view_messages), list(envelopes.root_hash_messages)
        remembered = _validate(net, name, ts, views, roots)
        saved = (encryption._SEALED_HERE, encryption._SESSIONS_OPENED, signing._VERIFIED)
        _forget_everything()
        assert _validate(net, name, ts, views, roots) == remembered
        encryption._SEALED_HERE, encryption._SESSIONS_OPENED, signing._VERIFIED = saved
        assert isinstance(remembered, ValidatedRequest) and remembered.rejection is None
