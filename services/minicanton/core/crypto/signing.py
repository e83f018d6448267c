"""Ed25519 signatures over purpose-tagged hashes.

A signature always covers a `Hash` computed for a declared `HashPurpose`, and the purpose is
signed again alongside it, so a signature produced for one purpose never verifies for another.
Keys are identified by their fingerprint: the hex of a purpose-tagged hash of the raw public
key, prefixed ``1220`` as Canton's multihash-style fingerprints are.

Ed25519 runs in libsodium (PyNaCl), not OpenSSL: the signatures are the same bytes (RFC 8032
signing is deterministic), and libsodium verifies twice and signs 1.7 times as fast, which
counts at a dozen signatures per transaction (ADR 15). libsodium is also the stricter
verifier (it refuses small-order keys and non-canonical points that OpenSSL lets through):
only an adversary's signature can tell, and it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import nacl.bindings as sodium
from nacl.exceptions import CryptoError as SodiumError

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

    def __init__(self, signed_by: Fingerprint, purpose: HashPurpose, raw: bytes) -> None:
        object.__setattr__(self, "signed_by", signed_by)
        object.__setattr__(self, "purpose", purpose)
        object.__setattr__(self, "raw", raw)

    def __hash__(self) -> int:  # the raw bytes alone tell signatures apart
        return hash(self.raw)


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
        public_raw, _ = _key_pair(private_raw)
        return cls(private_raw, SigningPublicKey(public_raw))

    @property
    def fingerprint(self) -> Fingerprint:
        return self.public.fingerprint

    def sign(self, hash_: Hash, purpose: HashPurpose) -> Signature:
        signed = _signed_bytes(hash_, purpose)
        raw = sodium.crypto_sign(signed, _key_pair(self.private_raw)[1])[:SIGNATURE_BYTES]
        _VERIFIED.put((self.public.raw, signed, raw), True)
        return Signature(self.fingerprint, purpose, raw)


SIGNATURE_BYTES = 64


@lru_cache(maxsize=256)
def _key_pair(private_raw: bytes) -> tuple[bytes, bytes]:
    """(public key, libsodium's 64-byte secret key) of a seed. Deriving the public half is a
    scalar multiplication, as costly as a signature, so a node signing every event keeps it."""
    public_raw, secret = sodium.crypto_sign_seed_keypair(private_raw)
    return bytes(public_raw), bytes(secret)


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
    if len(signature.raw) != SIGNATURE_BYTES or len(public_key.raw) != 32:
        raise CryptoError("invalid signature")
    try:
        sodium.crypto_sign_open(signature.raw + checked[1], public_key.raw)
    except SodiumError:
        raise CryptoError("invalid signature") from None
    _VERIFIED.put(checked, True)


# (public key, signed bytes, signature) triples known to verify: a node checks its own
# signatures when its messages come back to it (a submitter validating its own request), and
# some signatures more than once. Verification is a pure function of the triple and Ed25519
# signing is deterministic, so a triple signed or verified here verifies again; only valid
# triples enter, so nothing a peer sends can make a bad one pass (core/memo.py).
_VERIFIED: BoundedMemo[tuple[bytes, bytes, bytes], bool] = BoundedMemo(capacity=4096)

