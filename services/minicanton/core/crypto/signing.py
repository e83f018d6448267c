"""Ed25519 signatures over purpose-tagged hashes.

A signature always covers a `Hash` computed for a declared `HashPurpose`, and the purpose is
signed again alongside it, so a signature produced for one purpose never verifies for another.
Keys are identified by their fingerprint: the hex of a purpose-tagged hash of the raw public
key, prefixed ``1220`` as Canton's multihash-style fingerprints are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from minicanton.core.entropy import Entropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import Fingerprint
from minicanton.core.memo import BoundedMemo


@lru_cache(maxsize=1024)
def fingerprint_of(public_key: bytes) -> Fingerprint:
    return Fingerprint("1220" + hash_of(HashPurpose.PUBLIC_KEY_FINGERPRINT, public_key).hex)


@dataclass(frozen=True, slots=True)
class SigningPublicKey:
    raw: bytes  # 32 bytes Ed25519

    @property
    def fingerprint(self) -> Fingerprint:
        return fingerprint_of(self.raw)


@dataclass(frozen=True, slots=True)
class Signature:
    signed_by: Fingerprint
    purpose: HashPurpose
    raw: bytes  # 64 bytes


@dataclass(frozen=True, slots=True)
class SigningKeyPair:
    private_raw: bytes = field(repr=False)  # 32-byte Ed25519 seed; never in a repr
    public: SigningPublicKey

    @classmethod
    def generate(cls, entropy: Entropy) -> SigningKeyPair:
        return cls.from_private(entropy.random_bytes(32))

    @classmethod
    def from_private(cls, private_raw: bytes) -> SigningKeyPair:
        if len(private_raw) != 32:
            raise CryptoError("an Ed25519 private key is 32 bytes")
        private = Ed25519PrivateKey.from_private_bytes(private_raw)
        public_raw = private.public_key().public_bytes_raw()
        return cls(private_raw, SigningPublicKey(public_raw))

    @property
    def fingerprint(self) -> Fingerprint:
        return self.public.fingerprint

    def sign(self, hash_: Hash, purpose: HashPurpose) -> Signature:
        signed = _signed_bytes(hash_, purpose)
        raw = _private_key(self.private_raw).sign(signed)
        _VERIFIED.put((self.public.raw, signed, raw), True)
        return Signature(self.fingerprint, purpose, raw)


@lru_cache(maxsize=256)
def _private_key(private_raw: bytes) -> Ed25519PrivateKey:
    """Loading a key derives its public half (a scalar multiplication, as costly as a
    signature), so a node signing every event keeps the loaded key."""
    return Ed25519PrivateKey.from_private_bytes(private_raw)


def _signed_bytes(hash_: Hash, purpose: HashPurpose) -> bytes:
    return purpose.to_bytes(4, "big") + hash_.digest


def verify_signature(
    public_key: SigningPublicKey, hash_: Hash, purpose: HashPurpose, signature: Signature
) -> None:
    """Raise `CryptoError` unless `signature` is `public_key`'s over `hash_` for `purpose`."""
    if signature.signed_by != public_key.fingerprint:
        raise CryptoError(
            f"signature is by {signature.signed_by}, expected {public_key.fingerprint}"
        )
    if signature.purpose != purpose:
        raise CryptoError(f"signature is for {signature.purpose.name}, expected {purpose.name}")
    checked = (public_key.raw, _signed_bytes(hash_, purpose), signature.raw)
    if checked in _VERIFIED:
        return
    try:
        _public_key(public_key.raw).verify(signature.raw, checked[1])
    except (InvalidSignature, ValueError):
        raise CryptoError("invalid signature") from None
    _VERIFIED.put(checked, True)


# (public key, signed bytes, signature) triples known to verify: a node checks its own
# signatures when its messages come back to it (a submitter validating its own request), and
# some signatures more than once. Verification is a pure function of the triple and Ed25519
# signing is deterministic, so a triple signed or verified here verifies again; only valid
# triples enter, so nothing a peer sends can make a bad one pass (core/memo.py).
_VERIFIED: BoundedMemo[tuple[bytes, bytes, bytes], bool] = BoundedMemo(capacity=4096)


@lru_cache(maxsize=1024)
def _public_key(public_raw: bytes) -> Ed25519PublicKey:
    """Loading a public key decompresses a curve point; members verify the same few keys
    (sequencers, counterparties) over and over."""
    return Ed25519PublicKey.from_public_bytes(public_raw)
