"""Purpose-tagged SHA-256.

Every hash in minicanton is computed for one declared purpose, and the purpose is part of
the hashed bytes. A hash (and so a signature over it) produced for one purpose can never be
mistaken for one of another purpose — the same protection Canton gets from its
`HashPurpose`. Parts are length-prefixed so that ("ab", "c") and ("a", "bc") differ.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum


class HashPurpose(IntEnum):
    """Stable numbers: they are part of every hash, never renumber one."""

    MERKLE_LEAF = 1
    MERKLE_NODE = 2
    VIEW_SALT = 3
    CONTRACT_ID = 4
    TRANSACTION_ID = 5
    SUBMISSION_REQUEST = 6
    SEQUENCED_EVENT = 7
    TOPOLOGY_TRANSACTION = 8
    CONFIRMATION_RESPONSE = 9
    MEDIATOR_VERDICT = 10
    PUBLIC_KEY_FINGERPRINT = 11
    AUTH_CHALLENGE = 12
    VALUE = 13
    PACKAGE_ID = 14
    ROOT_HASH_MESSAGE = 15
    ENTROPY = 16
    KEY_WRAP = 17
    CONTRACT_KEY = 18
    SUBMISSION_SEED = 19
    CONTRACT_SALT = 20
    SEQUENCED_EVENT_RUN = 21
    SUBMISSION_REQUEST_RUN = 22


@dataclass(frozen=True, slots=True)
class Hash:
    """A SHA-256 digest. `hex` is the canonical text form."""

    digest: bytes

    def __init__(self, digest: bytes) -> None:
        object.__setattr__(self, "digest", digest)
        self.__post_init__()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hash):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Hash):
            return NotImplemented
        return self.digest < other.digest

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Hash):
            return NotImplemented
        return self.digest <= other.digest

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Hash):
            return NotImplemented
        return self.digest > other.digest

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Hash):
            return NotImplemented
        return self.digest >= other.digest

    def __post_init__(self) -> None:
        if len(self.digest) != 32:
            raise ValueError(f"a hash is 32 bytes, got {len(self.digest)}")

    @property
    def hex(self) -> str:
        return self.digest.hex()

    @classmethod
    def from_hex(cls, text: str) -> Hash:
        return cls(bytes.fromhex(text))

    def __str__(self) -> str:
        return self.hex


def hash_of(purpose: HashPurpose, *parts: bytes | str) -> Hash:
    """SHA-256 over the purpose and the length-prefixed parts (str parts are UTF-8). The
    bytes are joined and hashed in one call: about a hundred hashes per transaction per
    node make the per-part update calls count."""
    chunks = [purpose.to_bytes(4, "big")]
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        chunks.append(len(raw).to_bytes(4, "big"))
        chunks.append(raw)
    return Hash(hashlib.sha256(b"".join(chunks)).digest())
