"""User rights for user tokens: cached per user, and re-checked while a stream lives.

Theory of operation
-------------------
A user token carries only a user id; what it may do is the user's rights in the admin store
(two queries: the user, its rights). `UserRightsCache` answers the authenticator's
`UserRightsLookup` from memory for `ttl_s` after a read, as Daml's user management cache does,
so a busy application costs two queries per user per `ttl_s`, not per call:

- concurrent misses for one user share one read (a burst at expiry is one read, not N);
- `invalidate(user_id)` is called by this participant's UserManagementService after each of
  its writes (create, delete, grant, revoke): the next call reads the store, so a change made
  through the Ledger API applies at once; a change made another way (SQL, another process)
  applies within `ttl_s`;
- a read that was under way while any invalidation happened is answered but not kept (it may
  have read the state before the write), and its start time, not its end, starts the TTL;
- at most `max_users` entries are kept; past that the expired ones go, then the oldest.

A stream outlives the check made when it opened. `StreamAuthorization.check()`, called by the
stream between pages and on every wake-up, ends it when its token expired
(ACCESS_TOKEN_EXPIRED) and, for a user token, re-reads the user's rights (through the cache)
every `check_interval_s` and right after any user write here: a user that is gone or
deactivated, or whose rights no longer cover the stream's parties, ends the stream with
PERMISSION_DENIED. Custom-claims tokens carry their rights in the token: only expiry applies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from minicanton.runtime.auth import (
    AuthorizedClaims,
    PermissionDenied,
    UserRights,
    UserRightsLookup,
)

DEFAULT_TTL_S = 1.0
DEFAULT_MAX_USERS = 10_000
DEFAULT_CHECK_INTERVAL_S = 2.0


@dataclass(frozen=True, slots=True)
class _Entry:
    rights: UserRights | None  # None: no such user (also worth remembering for a while)
    read_at_s: float  # when the read began: what it saw is at least this old


class UserRightsCache:
    """The `UserRightsLookup` of `load`, remembered per user for `ttl_s`."""

    def __init__(self, load: UserRightsLookup, ttl_s: float = DEFAULT_TTL_S, *,
                 max_users: int = DEFAULT_MAX_USERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.changes = 0  # invalidations so far; streams re-check when it moves
        self._load = load
        self._max_users = max_users
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._reading: dict[str, asyncio.Task[UserRights | None]] = {}

    async def get(self, user_id: str) -> UserRights | None:
        entry = self._entries.get(user_id)
        if entry is not None and self._clock() < entry.read_at_s + self.ttl_s:
            return entry.rights
        reading = self._reading.get(user_id)
        if reading is None:
            reading = asyncio.get_running_loop().create_task(self._read(user_id))
            reading.add_done_callback(_consume_outcome)
            self._reading[user_id] = reading
        # One caller giving up (a cancelled RPC) must not cancel the read the others share.
        return await asyncio.shield(reading)

    def invalidate(self, user_id: str) -> None:
        """The user's rights changed: forget them and any read under way."""
        self.changes += 1
        self._entries.pop(user_id, None)
        self._reading.pop(user_id, None)

    async def _read(self, user_id: str) -> UserRights | None:
        changes, started_at_s = self.changes, self._clock()
        try:
            rights = await self._load(user_id)
        finally:
            if self._reading.get(user_id) is asyncio.current_task():
                del self._reading[user_id]
        if changes == self.changes:
            self._remember(user_id, _Entry(rights, started_at_s))
        return rights

    def _remember(self, user_id: str, entry: _Entry) -> None:
        self._entries.pop(user_id, None)  # re-inserted last: dict order is age order
        if len(self._entries) >= self._max_users:
            oldest_s = self._clock() - self.ttl_s
            self._entries = {u: e for u, e in self._entries.items() if e.read_at_s > oldest_s}
            while len(self._entries) >= self._max_users:
                del self._entries[next(iter(self._entries))]
        self._entries[user_id] = entry


def _consume_outcome(task: asyncio.Task[UserRights | None]) -> None:
    """Mark a failed shared read's exception as seen: its callers got it (or all left)."""
    if not task.cancelled():
        task.exception()


class StreamAuthorization:
    """Whether a stream reading as `parties` may go on; `check()` raises when not."""

    def __init__(self, claims: AuthorizedClaims, parties: Collection[str],
                 rights: UserRightsCache, check_interval_s: float = DEFAULT_CHECK_INTERVAL_S,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self._claims = claims
        self._parties = frozenset(parties)
        self._rights = rights
        self._check_interval_s = check_interval_s
        self._clock = clock
        self._next_check_s = 0.0
        self._seen_changes = -1  # the first check always reads (the cache has it, usually)

    async def check(self) -> None:
        self._claims.check_not_expired(time.time())
        user_id = self._claims.user_id
        if user_id is None:
            return
        now_s = self._clock()
        if now_s < self._next_check_s and self._seen_changes == self._rights.changes:
            return
        self._next_check_s = now_s + self._check_interval_s
        check_user_may_read(user_id, await self._current_rights(user_id), self._parties)

    async def _current_rights(self, user_id: str) -> UserRights | None:
        """The rights as of now: a read that a user write overtook is read again (it may
        predate the write, and the stream must not go on a page on stale rights)."""
        while True:
            changes = self._rights.changes
            rights = await self._rights.get(user_id)
            if changes == self._rights.changes:
                self._seen_changes = changes
                return rights


def check_user_may_read(user_id: str, rights: UserRights | None,
                        parties: Collection[str]) -> None:
    """PERMISSION_DENIED unless the user exists, is active and reads or acts as `parties`."""
    if rights is None:
        raise PermissionDenied(f"user {user_id!r} no longer exists")
    if rights.is_deactivated:
        raise PermissionDenied(f"user {user_id!r} is deactivated")
    # The same rule as when the stream opened: the rights as a user token's claims carry them.
    AuthorizedClaims(act_as=rights.act_as, read_as=rights.read_as,
                     admin=rights.participant_admin, application_id=user_id,
                     user_id=user_id).check_read_as(parties)
