"""View encryption: each recipient opens its view; anyone else, or any tampering, fails."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.core.crypto.encryption import (
    EncryptedView,
    EncryptionKeyPair,
    EncryptionPublicKey,
    WrappedKey,
    decrypt_view,
    encrypt_view,
)
from minicanton.core.entropy import SeededEntropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import ParticipantId

NAMES = ("alice", "bob", "bank", "sr")
PARTICIPANTS = {n: ParticipantId(f"PAR::{n}::1220{n.encode().hex()}") for n in NAMES}
KEYS = {n: EncryptionKeyPair.generate(SeededEntropy(f"key-{n}".encode())) for n in NAMES}
VIEW_HASH = hash_of(HashPurpose.MERKLE_NODE, b"view", b"one")
PLAINTEXT = b"the serialized view of the Iou transfer" * 20


def encrypted_for(*names: str, seed: int = 7) -> EncryptedView:
    recipients = {PARTICIPANTS[n]: KEYS[n].public for n in names}
    return encrypt_view(PLAINTEXT, VIEW_HASH, recipients, SeededEntropy(seed))


FOR_ALL = encrypted_for(*NAMES)


def test_every_recipient_decrypts_the_view() -> None:
    for name in NAMES:
        assert decrypt_view(FOR_ALL, PARTICIPANTS[name], KEYS[name]) == PLAINTEXT
    assert FOR_ALL.recipients == set(PARTICIPANTS.values())


def test_seeded_encryption_reproduces_bit_for_bit() -> None:
    assert encrypted_for(*NAMES) == FOR_ALL
    assert encrypted_for(*NAMES, seed=8).ciphertext != FOR_ALL.ciphertext


def test_a_participant_that_is_not_a_recipient_cannot_decrypt() -> None:
    only_bank = encrypted_for("bank")
    with pytest.raises(CryptoError, match="not addressed"):
        decrypt_view(only_bank, PARTICIPANTS["sr"], KEYS["sr"])


def test_the_wrong_key_for_a_recipient_fails_cleanly() -> None:
    with pytest.raises(CryptoError):
        decrypt_view(FOR_ALL, PARTICIPANTS["bank"], KEYS["sr"])
    # Even if the fingerprint is spoofed, the key agreement gives a different key.
    sr_slot = next(w for w in FOR_ALL.wrapped_keys if w.recipient == PARTICIPANTS["sr"])
    spoofed = dataclasses.replace(sr_slot, key_fingerprint=KEYS["bank"].fingerprint)
    with pytest.raises(CryptoError):
        decrypt_view(_with_slot(FOR_ALL, spoofed), PARTICIPANTS["sr"], KEYS["bank"])


def test_a_wrapped_key_moved_to_another_recipient_does_not_open() -> None:
    bank_slot = next(w for w in FOR_ALL.wrapped_keys if w.recipient == PARTICIPANTS["bank"])
    stolen = dataclasses.replace(bank_slot, recipient=PARTICIPANTS["sr"])
    view = EncryptedView(FOR_ALL.view_hash, FOR_ALL.nonce, FOR_ALL.ciphertext, (stolen,))
    with pytest.raises(CryptoError):
        decrypt_view(view, PARTICIPANTS["sr"], KEYS["bank"])


def test_a_ciphertext_passed_off_as_another_view_does_not_open() -> None:
    other = dataclasses.replace(FOR_ALL, view_hash=hash_of(HashPurpose.MERKLE_NODE, b"other"))
    with pytest.raises(CryptoError):
        decrypt_view(other, PARTICIPANTS["alice"], KEYS["alice"])


def test_encrypting_for_nobody_or_to_a_bad_key_is_refused() -> None:
    with pytest.raises(CryptoError):
        encrypt_view(PLAINTEXT, VIEW_HASH, {}, SeededEntropy(1))
    with pytest.raises(CryptoError):
        EncryptionPublicKey(b"short")
    with pytest.raises(CryptoError):
        encrypt_view(PLAINTEXT, VIEW_HASH, {PARTICIPANTS["sr"]: EncryptionPublicKey(bytes(32))},
                     SeededEntropy(1))


def _with_slot(view: EncryptedView, slot: WrappedKey) -> EncryptedView:
    slots = tuple(slot if w.recipient == slot.recipient else w for w in view.wrapped_keys)
    return dataclasses.replace(view, wrapped_keys=slots)


def _flip(raw: bytes, index: int, mask: int) -> bytes:
    changed = bytearray(raw)
    changed[index % len(changed)] ^= mask
    return bytes(changed)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(["ciphertext", "nonce", "view_hash", "wrapped.ephemeral_public",
                           "wrapped.nonce", "wrapped.ciphertext"]),
    index=st.integers(0, 10_000),
    mask=st.integers(1, 255),
    name=st.sampled_from(NAMES),
)
def test_any_one_byte_change_is_detected(field: str, index: int, mask: int, name: str) -> None:
    view = FOR_ALL
    if field == "view_hash":
        view = dataclasses.replace(view, view_hash=type(view.view_hash)(
            _flip(view.view_hash.digest, index, mask)))
    elif field.startswith("wrapped."):
        attribute = field.removeprefix("wrapped.")
        slot = next(w for w in view.wrapped_keys if w.recipient == PARTICIPANTS[name])
        tampered = dataclasses.replace(
            slot, **{attribute: _flip(getattr(slot, attribute), index, mask)})
        view = _with_slot(view, tampered)
    else:
        view = dataclasses.replace(view, **{field: _flip(getattr(view, field), index, mask)})
    with pytest.raises(CryptoError):
        decrypt_view(view, PARTICIPANTS[name], KEYS[name])


def test_the_private_key_is_not_in_the_repr() -> None:
    assert KEYS["alice"].private_raw.hex() not in repr(KEYS["alice"])
