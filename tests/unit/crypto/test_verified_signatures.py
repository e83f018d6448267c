"""The memory of verified signatures: a node's own signatures and repeated checks skip the
curve arithmetic, and nothing else changes — an altered signature, hash or purpose still
fails after the genuine one was remembered."""

from __future__ import annotations

import dataclasses

import pytest

from minicanton.core.crypto import signing
from minicanton.core.crypto.signing import SigningKeyPair, verify_signature
from minicanton.core.entropy import SeededEntropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.memo import BoundedMemo

KEY = SigningKeyPair.generate(SeededEntropy(b"verified-signatures"))
OTHER = SigningKeyPair.generate(SeededEntropy(b"someone else"))


def test_a_signature_made_here_is_remembered_as_verified() -> None:
    root = hash_of(HashPurpose.MERKLE_NODE, b"own request")
    signature = KEY.sign(root, HashPurpose.SUBMISSION_REQUEST)
    triple = (KEY.public.raw, HashPurpose.SUBMISSION_REQUEST.to_bytes(4, "big") + root.digest,
              signature.raw)
    assert triple in signing._VERIFIED
    verify_signature(KEY.public, root, HashPurpose.SUBMISSION_REQUEST, signature)


def test_what_was_remembered_does_not_let_a_variant_through() -> None:
    root = hash_of(HashPurpose.MERKLE_NODE, b"remembered")
    signature = KEY.sign(root, HashPurpose.SUBMISSION_REQUEST)
    verify_signature(KEY.public, root, HashPurpose.SUBMISSION_REQUEST, signature)
    other_root = hash_of(HashPurpose.MERKLE_NODE, b"another")
    with pytest.raises(CryptoError):
        verify_signature(KEY.public, other_root, HashPurpose.SUBMISSION_REQUEST, signature)
    with pytest.raises(CryptoError, match="expected"):
        verify_signature(KEY.public, root, HashPurpose.CONFIRMATION_RESPONSE, signature)
    with pytest.raises(CryptoError, match="expected"):
        verify_signature(OTHER.public, root, HashPurpose.SUBMISSION_REQUEST, signature)
    flipped = bytes([signature.raw[0] ^ 1]) + signature.raw[1:]
    with pytest.raises(CryptoError):
        verify_signature(KEY.public, root, HashPurpose.SUBMISSION_REQUEST,
                         dataclasses.replace(signature, raw=flipped))


def test_a_peer_signature_is_verified_once_then_remembered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = hash_of(HashPurpose.MERKLE_NODE, b"from a peer")
    signature = OTHER.sign(root, HashPurpose.MEDIATOR_VERDICT)
    monkeypatch.setattr(signing, "_VERIFIED", BoundedMemo(capacity=4096))
    verify_signature(OTHER.public, root, HashPurpose.MEDIATOR_VERDICT, signature)
    assert len(signing._VERIFIED) == 1
    verify_signature(OTHER.public, root, HashPurpose.MEDIATOR_VERDICT, signature)
    assert len(signing._VERIFIED) == 1
