"""The operating system's randomness for processes (`core.entropy.Entropy`): keys, salts,
transaction seeds. The core never draws randomness itself; tests pass `SeededEntropy`."""

from __future__ import annotations

import secrets


class SystemEntropy:
    def random_bytes(self, length: int) -> bytes:
        return secrets.token_bytes(length)
