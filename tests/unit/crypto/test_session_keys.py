"""Session keys (ADR 18): views to the same recipient keys share one asymmetrically wrapped
key for a bounded time and count; each view is still bound to its own hash, every recipient
opens it, nobody else does, and any tampering fails as before."""

from __future__ import annotations

import dataclasses

import pytest

from minicanton.core.crypto import encryption
from minicanton.core.crypto.encryption import (
    EncryptedView,
    EncryptionKeyPair,
    SessionKeys,
    decrypt_view,
    encrypt_view,
)
from minicanton.core.entropy import SeededEntropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import ParticipantId

NAMES = ("alice", "bank", "sr")
PARTICIPANTS = {n: ParticipantId(f"PAR::{n}::1220{n.encode().hex()}") for n in NAMES}
KEYS = {n: EncryptionKeyPair.generate(SeededEntropy(f"session-key-{n}".encode()))
        for n in NAMES}
NOW_US = 1_700_000_000_000_000


@pytest.fixture(autouse=True)
def _open_for_real(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not from the sender's memory of what it sealed: every recipient here unwraps."""
    monkeypatch.setattr(encryption._SEALED_HERE, "capacity", 0)


def _view_hash(n: int) -> Hash:
    return hash_of(HashPurpose.MERKLE_NODE, b"view", str(n).encode())


def _seal(sessions: SessionKeys, n: int, *names: str, now_us: int = NOW_US,
          keys: dict[str, EncryptionKeyPair] | None = None) -> EncryptedView:
    keys = keys or KEYS
    recipients = {PARTICIPANTS[name]: keys[name].public for name in names}
    return encrypt_view(f"view {n}".encode() * 10, _view_hash(n), recipients,
                        SeededEntropy(n), sessions, now_us)


def test_views_to_the_same_recipients_share_the_wrapped_session_key() -> None:
    sessions = SessionKeys()
    first, second = _seal(sessions, 1, "alice", "bank"), _seal(sessions, 2, "alice", "bank")
    assert first.wrapped_keys == second.wrapped_keys and len(sessions) == 1
    assert first.nonce != second.nonce and first.ciphertext != second.ciphertext
    for name in ("alice", "bank"):
        assert decrypt_view(first, PARTICIPANTS[name], KEYS[name]) == b"view 1" * 10
        assert decrypt_view(second, PARTICIPANTS[name], KEYS[name]) == b"view 2" * 10
    with pytest.raises(CryptoError, match="not addressed"):
        decrypt_view(first, PARTICIPANTS["sr"], KEYS["sr"])


def test_a_receiver_unwraps_a_session_key_once() -> None:
    sessions = SessionKeys()
    first, second = _seal(sessions, 3, "sr", "bank"), _seal(sessions, 4, "sr", "bank")
    slot = next(w for w in first.wrapped_keys if w.recipient == PARTICIPANTS["sr"])
    assert (slot, KEYS["sr"].fingerprint) not in encryption._SESSIONS_OPENED
    assert decrypt_view(first, PARTICIPANTS["sr"], KEYS["sr"]) == b"view 3" * 10
    assert (slot, KEYS["sr"].fingerprint) in encryption._SESSIONS_OPENED
    assert decrypt_view(second, PARTICIPANTS["sr"], KEYS["sr"]) == b"view 4" * 10


def test_each_view_stays_bound_to_its_own_hash() -> None:
    sessions = SessionKeys()
    first = _seal(sessions, 5, "alice", "bank")
    passed_off = dataclasses.replace(first, view_hash=_view_hash(6))
    with pytest.raises(CryptoError):
        decrypt_view(passed_off, PARTICIPANTS["alice"], KEYS["alice"])


def test_other_recipients_or_other_keys_get_another_session() -> None:
    sessions = SessionKeys()
    for_two = _seal(sessions, 7, "alice", "bank")
    for_three = _seal(sessions, 8, "alice", "bank", "sr")
    rotated = dict(KEYS, bank=EncryptionKeyPair.generate(SeededEntropy(b"bank rotated")))
    after_rotation = _seal(sessions, 9, "alice", "bank", keys=rotated)
    assert len({v.wrapped_keys for v in (for_two, for_three, after_rotation)}) == 3
    assert decrypt_view(after_rotation, PARTICIPANTS["bank"], rotated["bank"]) == b"view 9" * 10


def test_a_session_ends_after_its_lifetime_its_view_count_or_a_clock_going_back() -> None:
    sessions = SessionKeys(ttl_us=1_000_000, max_views=3)
    first = _seal(sessions, 10, "alice")
    assert _seal(sessions, 11, "alice", now_us=NOW_US + 999_999).wrapped_keys == \
        first.wrapped_keys
    assert _seal(sessions, 12, "alice", now_us=NOW_US + 1_000_000).wrapped_keys != \
        first.wrapped_keys
    renewed = _seal(sessions, 13, "alice", now_us=NOW_US + 1_000_001)
    assert _seal(sessions, 14, "alice", now_us=NOW_US + 1_000_002).wrapped_keys == \
        renewed.wrapped_keys
    assert _seal(sessions, 15, "alice", now_us=NOW_US + 1_000_003).wrapped_keys != \
        renewed.wrapped_keys  # its fourth view: max_views is 3
    latest = _seal(sessions, 16, "alice", now_us=NOW_US + 1_000_004)
    assert _seal(sessions, 17, "alice", now_us=NOW_US).wrapped_keys != latest.wrapped_keys
    with pytest.raises(CryptoError, match="positive"):
        SessionKeys(ttl_us=0)


def test_a_session_key_and_a_view_key_never_open_as_each_other() -> None:
    session_view = _seal(SessionKeys(), 18, "alice")
    own_key_view = encrypt_view(b"view 19" * 10, _view_hash(18), {
        PARTICIPANTS["alice"]: KEYS["alice"].public}, SeededEntropy(19))
    for view, slots_from in ((session_view, own_key_view), (own_key_view, session_view)):
        swapped = dataclasses.replace(view, wrapped_keys=slots_from.wrapped_keys)
        with pytest.raises(CryptoError):
            decrypt_view(swapped, PARTICIPANTS["alice"], KEYS["alice"])


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_ciphertext",
                                   "wrapped_nonce", "ephemeral_public"])
def test_a_flipped_byte_in_a_session_view_fails_cleanly(field: str) -> None:
    view = _seal(SessionKeys(), 20 + len(field), "sr")
    slot = view.wrapped_keys[0]

    def flipped(raw: bytes) -> bytes:
        return bytes([raw[0] ^ 1]) + raw[1:]

    if field in ("ciphertext", "nonce"):
        tampered = dataclasses.replace(view, **{field: flipped(getattr(view, field))})
    else:
        name = field.removeprefix("wrapped_")
        tampered = dataclasses.replace(view, wrapped_keys=(
            dataclasses.replace(slot, **{name: flipped(getattr(slot, name))}),))
    with pytest.raises(CryptoError):
        decrypt_view(tampered, PARTICIPANTS["sr"], KEYS["sr"])


def test_seeded_session_encryption_reproduces_bit_for_bit() -> None:
    assert _seal(SessionKeys(), 30, "alice", "sr") == _seal(SessionKeys(), 30, "alice", "sr")
