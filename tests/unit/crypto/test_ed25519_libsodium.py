"""Ed25519 through libsodium is the same Ed25519 as before (OpenSSL, through `cryptography`):
the same public key for a seed (RFC 8032's first test vector), the same signature bytes, and
each side verifies the other's. What libsodium refuses beyond OpenSSL (a small-order key,
a non-canonical signature) is refused as a typed `CryptoError`."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from minicanton.core.crypto import signing
from minicanton.core.crypto.signing import Signature, SigningKeyPair, verify_signature
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.memo import BoundedMemo

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
ROOT = hash_of(HashPurpose.MERKLE_NODE, b"libsodium interop")
PURPOSE = HashPurpose.ROOT_HASH_MESSAGE
SIGNED = PURPOSE.to_bytes(4, "big") + ROOT.digest


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check below does the curve arithmetic."""
    monkeypatch.setattr(signing, "_VERIFIED", BoundedMemo(capacity=0))


def test_a_seed_gives_the_rfc_8032_public_key() -> None:
    assert SigningKeyPair.from_private(RFC8032_SEED).public.raw == RFC8032_PUBLIC


def test_signatures_are_the_bytes_openssl_makes_and_verify_both_ways() -> None:
    key = SigningKeyPair.from_private(RFC8032_SEED)
    ours = key.sign(ROOT, PURPOSE)
    openssl = Ed25519PrivateKey.from_private_bytes(RFC8032_SEED)
    assert ours.raw == openssl.sign(SIGNED)
    Ed25519PublicKey.from_public_bytes(RFC8032_PUBLIC).verify(ours.raw, SIGNED)
    verify_signature(key.public, ROOT, PURPOSE, Signature(key.fingerprint, PURPOSE,
                                                          openssl.sign(SIGNED)))


def test_an_altered_or_truncated_signature_is_a_crypto_error() -> None:
    key = SigningKeyPair.from_private(RFC8032_SEED)
    signature = key.sign(ROOT, PURPOSE)
    flipped = bytes([signature.raw[0] ^ 1]) + signature.raw[1:]
    for raw in (flipped, signature.raw[:63], signature.raw + b"\x00", b""):
        with pytest.raises(CryptoError, match="invalid signature"):
            verify_signature(key.public, ROOT, PURPOSE, dataclasses.replace(signature, raw=raw))


def test_a_small_order_public_key_verifies_nothing() -> None:
    """The identity point as a key with the all-identity signature: OpenSSL's cofactorless
    check accepts it for any message; libsodium refuses small-order keys outright."""
    identity = bytes([1]) + bytes(31)
    public = signing.SigningPublicKey(identity)
    forged = Signature(public.fingerprint, PURPOSE, identity + bytes(32))
    with pytest.raises(CryptoError, match="invalid signature"):
        verify_signature(public, ROOT, PURPOSE, forged)
