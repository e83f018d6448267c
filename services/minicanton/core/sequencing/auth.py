"""Challenge-response authentication of members to the sequencer.

A member asks for a nonce, signs hash(AUTH_CHALLENGE, domain, member, nonce) with its
registered key, and gets a short-lived token. Binding the domain and member into the hash means
a signed challenge works for one member on one domain only.
"""

from __future__ import annotations

from minicanton.core.crypto.signing import (
    Signature,
    SigningKeyPair,
    SigningPublicKey,
    verify_signature,
)
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.errors import AuthenticationFailed


def challenge_hash(domain_id: str, member: MemberId, nonce: bytes) -> Hash:
    return hash_of(HashPurpose.AUTH_CHALLENGE, "minicanton.auth.v1", domain_id, member, nonce)


def sign_challenge(
    domain_id: str, member: MemberId, nonce: bytes, key: SigningKeyPair
) -> Signature:
    return key.sign(challenge_hash(domain_id, member, nonce), HashPurpose.AUTH_CHALLENGE)


def verify_challenge(
    domain_id: str, member: MemberId, nonce: bytes, signature: Signature, key: SigningPublicKey
) -> None:
    try:
        verify_signature(
            key, challenge_hash(domain_id, member, nonce), HashPurpose.AUTH_CHALLENGE, signature
        )
    except CryptoError as error:
        raise AuthenticationFailed(f"challenge response of {member}: {error.message}") from None
