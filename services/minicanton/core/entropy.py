"""Injected randomness.

The core never draws randomness by itself: keys, nonces, salts and transaction seeds come
from an `Entropy` passed in. Processes pass `SystemEntropy` from `runtime`; tests and the
simulation pass `SeededEntropy`, which is a deterministic stream (SHA-256 in counter mode),
so a seed replays a run bit for bit.
"""

from __future__ import annotations

from typing import Protocol

from minicanton.core.hashing import HashPurpose, hash_of


class Entropy(Protocol):
    def random_bytes(self, length: int) -> bytes: ...


class SeededEntropy:
    """Deterministic bytes from a seed. Not for production keys."""

    def __init__(self, seed: int | bytes) -> None:
        self._seed = seed if isinstance(seed, bytes) else seed.to_bytes(16, "big", signed=True)
        self._counter = 0

    def random_bytes(self, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            block = hash_of(HashPurpose.ENTROPY, self._seed, self._counter.to_bytes(8, "big"))
            out += block.digest
            self._counter += 1
        return bytes(out[:length])
