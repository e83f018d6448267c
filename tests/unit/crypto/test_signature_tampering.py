"""A one-byte change to a signature over a transaction's root hash is detected."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.core.crypto.signing import SigningKeyPair, verify_signature
from minicanton.core.entropy import SeededEntropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of

KEY = SigningKeyPair.generate(SeededEntropy(b"submitter"))
ROOT = hash_of(HashPurpose.MERKLE_NODE, b"transaction-tree", b"root")
SIGNATURE = KEY.sign(ROOT, HashPurpose.SUBMISSION_REQUEST)


def test_the_untouched_signature_verifies() -> None:
    verify_signature(KEY.public, ROOT, HashPurpose.SUBMISSION_REQUEST, SIGNATURE)


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, 63), mask=st.integers(1, 255), in_hash=st.booleans())
def test_a_one_byte_change_to_signature_or_hash_fails(index: int, mask: int,
                                                      in_hash: bool) -> None:
    if in_hash:
        digest = bytearray(ROOT.digest)
        digest[index % 32] ^= mask
        signed, signature = Hash(bytes(digest)), SIGNATURE
    else:
        raw = bytearray(SIGNATURE.raw)
        raw[index] ^= mask
        signed, signature = ROOT, dataclasses.replace(SIGNATURE, raw=bytes(raw))
    with pytest.raises(CryptoError):
        verify_signature(KEY.public, signed, HashPurpose.SUBMISSION_REQUEST, signature)


def test_a_signature_for_one_purpose_never_verifies_for_another() -> None:
    relabelled = dataclasses.replace(SIGNATURE, purpose=HashPurpose.CONFIRMATION_RESPONSE)
    with pytest.raises(CryptoError):
        verify_signature(KEY.public, ROOT, HashPurpose.CONFIRMATION_RESPONSE, relabelled)
