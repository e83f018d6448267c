"""A view sealed by this process opens from memory (a submitter reading its own request), and
only the exact sealed view does: any altered byte, another recipient's key or another
participant goes through the real opening and fails as before."""

from __future__ import annotations

import dataclasses

import pytest
from tests.unit.crypto.test_encryption import KEYS, PARTICIPANTS, PLAINTEXT, encrypted_for

from minicanton.core.crypto import encryption
from minicanton.core.crypto.encryption import decrypt_view
from minicanton.core.errors import CryptoError
from minicanton.core.memo import BoundedMemo


def test_a_view_sealed_here_opens_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    memo: BoundedMemo[object, bytes] = BoundedMemo(capacity=16)
    monkeypatch.setattr(encryption, "_SEALED_HERE", memo)
    sealed = encrypted_for("alice", "bank", seed=11)
    assert len(memo) == 2  # one entry per recipient
    # What the memory holds is what comes back: nothing was unwrapped or decrypted. (Observed
    # through the memo, not by patching `_unwrap`: calls inside the compiled core are direct,
    # so a patched module attribute would never be called either way.)
    key = (sealed, PARTICIPANTS["bank"], KEYS["bank"].fingerprint)
    assert memo.get(key) == PLAINTEXT
    memo.put(key, b"remembered")
    assert decrypt_view(sealed, PARTICIPANTS["bank"], KEYS["bank"]) == b"remembered"


def test_only_the_exact_sealed_view_skips_the_opening() -> None:
    sealed = encrypted_for("alice", "bank", seed=12)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(CryptoError):
        decrypt_view(dataclasses.replace(sealed, ciphertext=flipped), PARTICIPANTS["bank"],
                     KEYS["bank"])
    bank_slot = next(w for w in sealed.wrapped_keys if w.recipient == PARTICIPANTS["bank"])
    broken = dataclasses.replace(bank_slot, ciphertext=b"\x00" * len(bank_slot.ciphertext))
    slots = tuple(broken if w is bank_slot else w for w in sealed.wrapped_keys)
    with pytest.raises(CryptoError):
        decrypt_view(dataclasses.replace(sealed, wrapped_keys=slots), PARTICIPANTS["bank"],
                     KEYS["bank"])
    with pytest.raises(CryptoError):
        decrypt_view(sealed, PARTICIPANTS["bank"], KEYS["alice"])  # another key
    with pytest.raises(CryptoError):
        decrypt_view(sealed, PARTICIPANTS["sr"], KEYS["sr"])  # not a recipient
    assert decrypt_view(sealed, PARTICIPANTS["alice"], KEYS["alice"]) == PLAINTEXT
