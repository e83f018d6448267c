"""Member authentication: challenge-response for a short-lived bearer token.

`challenge` stores a random nonce for a registered, enabled member; `authenticate` consumes it
(once only, before it expires), checks the member's signature over it with the member's current
key and issues a random token. Only the token's SHA-256 is stored, in the shared database, so
any instance accepts it (a client resumes on another instance without logging in again) and a
database read does not leak usable tokens. Tokens of a disabled member are deleted everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from minicanton.core.crypto.signing import Signature
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.auth import verify_challenge
from minicanton.core.sequencing.errors import AuthenticationFailed
from minicanton.core.sequencing.members import MemberRecord
from minicanton.runtime.clock import Clock
from minicanton.sequencer.members import MemberCache
from minicanton.store.sequencer import SequencerStore

NONCE_BYTES = 32


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authenticator:
    def __init__(self, store: SequencerStore, members: MemberCache, domain_id: str,
                 clock: Clock, token_ttl_ms: int, challenge_ttl_ms: int) -> None:
        self._store = store
        self._members = members
        self._domain_id = domain_id
        self._clock = clock
        self._token_ttl_us = token_ttl_ms * 1_000
        self._challenge_ttl_us = challenge_ttl_ms * 1_000
        self._tokens: dict[bytes, tuple[MemberId, int]] = {}
        members.on_change.append(self.forget_member)

    async def _enabled(self, member: MemberId) -> MemberRecord:
        record = await self._members.lookup(member)
        if record is None or not record.enabled:
            raise AuthenticationFailed(f"{member} is not an enabled member")
        return record

    async def challenge(self, member: MemberId) -> tuple[bytes, int]:
        await self._enabled(member)
        nonce = secrets.token_bytes(NONCE_BYTES)
        expires_us = self._clock() + self._challenge_ttl_us
        await self._store.save_challenge(nonce, member, expires_us)
        return nonce, expires_us

    async def authenticate(self, member: MemberId, nonce: bytes,
                           signature: Signature) -> tuple[str, int]:
        record = await self._enabled(member)
        if not await self._store.take_challenge(nonce, member, self._clock()):
            raise AuthenticationFailed("unknown, used or expired challenge")
        verify_challenge(self._domain_id, member, nonce, signature, record.public_key)
        token = secrets.token_urlsafe(32)
        expires_us = self._clock() + self._token_ttl_us
        await self._store.save_token(_hash(token), member, expires_us)
        return token, expires_us

    async def member_of(self, metadata: Sequence[tuple[str, str | bytes]]) -> tuple[
            MemberRecord, int]:
        """The enabled member a request's bearer token names, and the token's expiry."""
        token = _bearer(metadata)
        digest = _hash(token)
        now_us = self._clock()
        found = self._tokens.get(digest)
        if found is None or found[1] <= now_us:
            found = await self._store.token_member(digest, now_us)
            if found is None:
                raise AuthenticationFailed("unknown or expired token")
            self._tokens[digest] = found
        record = self._members.directory.enabled(found[0])
        if record is None:
            raise AuthenticationFailed(f"{found[0]} is not an enabled member")
        return record, found[1]

    def forget_member(self, member: MemberId) -> None:
        for digest in [d for d, (m, _) in self._tokens.items() if m == member]:
            del self._tokens[digest]


def _bearer(metadata: Sequence[tuple[str, str | bytes]]) -> str:
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[len("Bearer "):]
    raise AuthenticationFailed("missing 'authorization: Bearer <token>' metadata")
