"""What the Ledger API needs from the participant node: a read side and a command submitter.

Theory of operation
-------------------
The services in this package are thin: they check the caller's token, turn protobuf into core
values, ask the backend, and turn rows back into protobuf. The backend is

- the **read side**, `LedgerApiBackend`: the participant store (`LedgerReadStore`: ACS, event
  log, completions, ledger end) and its admin part (`ParticipantAdminStore`: parties, users
  and rights, packages) read directly, plus the things only the node can do, behind small
  interfaces it implements: `PartyAllocator` (a party is allocated through the topology
  manager) and `PackageUploader` (store and vet packages). Streams follow the ledger through
  `LedgerEndNotifier`: the commit path calls ``notifier.advance(applied.ledger_end)`` after
  each ``store.apply_event``; a stream waiting for new offsets wakes up and reads the store.
  A stream also re-reads the ledger end every `poll_interval_s`, so a missed signal delays,
  never loses, an update. User tokens' rights come from the admin store through a short-lived
  cache (`user_rights.UserRightsCache`, `user_rights_ttl_s`) that the UserManagementService
  invalidates on each of its writes (`user_rights_changed`); a stream re-checks its caller
  through `stream_authorization` every `rights_check_interval_s`.
- the **write side**, `CommandSubmitter`: ``submit(request)`` interprets and sends a command
  (the protocol pipeline) and either raises a typed `MinicantonError` (the synchronous
  rejections: DUPLICATE_COMMAND, INVALID_ARGUMENT, CONTRACT_NOT_FOUND, ...) or returns
  `SubmissionAccepted`, whose ``completion`` resolves to the `CompletionRow` the commit path
  stored for it (success with a transaction id, or the rejection). Submit returns at
  acceptance; the CommandService waits for the completion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from minicanton.codec.package_archive import PackageArchive
from minicanton.core.lf.commands import Command
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.protocol.deduplication import DeduplicationPeriod
from minicanton.core.protocol.offsets import LEDGER_BEGIN, Offset
from minicanton.participant.ledger_api.user_rights import (
    DEFAULT_CHECK_INTERVAL_S,
    DEFAULT_TTL_S,
    StreamAuthorization,
    UserRightsCache,
)
from minicanton.runtime.auth import AuthorizedClaims, UserRights
from minicanton.store.participant_store import (
    CompletionRow,
    ContractRow,
    TransactionEntry,
    TransactionRow,
)
from minicanton.store.postgres.participant_admin_store import (
    PackageRow,
    PartyRow,
    UserNotFound,
    UserRight,
    UserRow,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

DEFAULT_POLL_INTERVAL_S = 1.0


# -- the stores, as the Ledger API reads them (PostgresParticipantStore and its admin part) --

class LedgerReadStore(Protocol):
    async def ledger_end(self) -> Offset: ...

    async def active_contracts(
        self, parties: Collection[str], template_ids: Collection[Identifier] | None = None
    ) -> tuple[list[ContractRow], Offset]: ...

    async def transactions(
        self, parties: Collection[str], begin_exclusive: Offset, end_inclusive: Offset | None,
        *, flat: bool, limit: int = 1000,
    ) -> list[TransactionRow]: ...

    async def transaction_by_id(
        self, transaction_id: str, parties: Collection[str], *, flat: bool
    ) -> TransactionRow | None: ...

    async def completions(
        self, application_id: str, parties: Collection[str], begin_exclusive: Offset,
        end_inclusive: Offset | None = None, limit: int = 1000,
    ) -> list[CompletionRow]: ...


class ParticipantAdminStore(Protocol):
    async def list_parties(self) -> list[PartyRow]: ...
    async def get_parties(self, parties: Collection[str]) -> list[PartyRow]: ...
    async def create_user(self, user: UserRow, rights: Iterable[UserRight] = ()) -> None: ...
    async def get_user(self, user_id: str) -> UserRow: ...
    async def delete_user(self, user_id: str) -> None: ...
    async def list_users(self, after_user_id: str = "", limit: int = 1000) -> list[UserRow]: ...
    async def grant_rights(self, user_id: str, rights: Iterable[UserRight]
                           ) -> list[UserRight]: ...
    async def revoke_rights(self, user_id: str, rights: Iterable[UserRight]
                            ) -> list[UserRight]: ...
    async def list_rights(self, user_id: str) -> list[UserRight]: ...
    async def list_packages(self) -> list[PackageRow]: ...
    async def get_package(self, package_id: str) -> PackageRow | None: ...


class CreateEventLookup(Protocol):
    async def create_event_ids(self, contracts: Collection[ContractRow]) -> dict[str, str]:
        """contract id -> event id of the create event at the contract's creation offset."""
        ...


# -- what the node implements -----------------------------------------------------------------

class PartyAllocator(Protocol):
    async def allocate_party(self, party_id_hint: str, display_name: str) -> PartyRow:
        """Allocate a party hosted here through the topology manager and return it once it is
        known (recorded in the admin store); typed errors for a taken or invalid hint."""
        ...


class PackageUploader(Protocol):
    async def upload_packages(self, archive: PackageArchive, submission_id: str
                              ) -> list[str]:
        """Load (validate), store and vet the archive's packages; their ids. Typed errors
        (e.g. PACKAGE_LOAD_FAILED with the line) for a package that does not load."""
        ...


@dataclass(frozen=True, slots=True)
class SubmissionRequest:
    """A validated `Commands` message: who submits what, in core terms."""

    application_id: str
    command_id: str
    submission_id: str
    workflow_id: str
    act_as: frozenset[str]
    read_as: frozenset[str]
    commands: tuple[Command, ...]
    deduplication_period: DeduplicationPeriod | None = None
    min_ledger_time_abs_us: int | None = None
    min_ledger_time_rel_us: int | None = None


@dataclass(frozen=True, slots=True)
class SubmissionAccepted:
    """The submission is in the pipeline; `completion` resolves to its stored completion."""

    completion: asyncio.Future[CompletionRow]
    # once `completion` resolved: its transaction exactly as the commit path stored it at the
    # completion's offset, when the node still holds it (None: read the store)
    committed: Callable[[], TransactionEntry | None] = lambda: None


class CommandSubmitter(Protocol):
    async def submit(self, request: SubmissionRequest) -> SubmissionAccepted:
        """Accept a submission for processing, or raise a typed `MinicantonError`."""
        ...


# -- following the ledger end -----------------------------------------------------------------

class LedgerEndNotifier:
    """The ledger end as the commit path last announced it; streams wait here for more."""

    def __init__(self, ledger_end: Offset = LEDGER_BEGIN) -> None:
        self._ledger_end = ledger_end
        self._changed = asyncio.Event()

    @property
    def ledger_end(self) -> Offset:
        return self._ledger_end

    def advance(self, ledger_end: Offset) -> None:
        """Announce a new ledger end (after the store committed it); never moves back."""
        if ledger_end > self._ledger_end:
            self._ledger_end = ledger_end
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def wait_beyond(self, offset: Offset, timeout_s: float) -> bool:
        """Wait until the announced end passes `offset`; False if `timeout_s` went by."""
        while self._ledger_end <= offset:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout_s)
            except TimeoutError:
                return self._ledger_end > offset
        return True


# -- the read side ------------------------------------------------------------------------------

@dataclass(slots=True)
class LedgerApiBackend:
    participant_id: str
    ledger_id: str
    store: LedgerReadStore
    admin: ParticipantAdminStore
    create_events: CreateEventLookup
    party_allocator: PartyAllocator
    package_uploader: PackageUploader
    notifier: LedgerEndNotifier
    # The node's current package registry (it swaps in a new one on upload); labels values.
    registry: Callable[[], PackageRegistry | None] = lambda: None
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    user_rights_ttl_s: float = DEFAULT_TTL_S
    rights_check_interval_s: float = DEFAULT_CHECK_INTERVAL_S
    rights_cache: UserRightsCache = field(init=False)

    def __post_init__(self) -> None:
        self.rights_cache = UserRightsCache(self._read_user_rights, self.user_rights_ttl_s)

    async def ledger_end(self) -> Offset:
        end = await self.store.ledger_end()
        self.notifier.advance(end)
        return end

    async def ledger_end_beyond(self, offset: Offset) -> Offset:
        """The ledger end for a stream at `offset`: the announced one when it is past the
        stream (no query: the commit path announces only what is committed), else the
        store's (a missed or not yet sent signal costs a query, never an update)."""
        announced = self.notifier.ledger_end
        return announced if announced > offset else await self.ledger_end()

    async def wait_beyond(self, offset: Offset) -> None:
        """Return when the ledger may have passed `offset` (or after a poll interval)."""
        await self.notifier.wait_beyond(offset, self.poll_interval_s)

    async def user_rights(self, user_id: str) -> UserRights | None:
        """The `UserRightsLookup` the authenticator takes for user tokens (cached)."""
        return await self.rights_cache.get(user_id)

    def user_rights_changed(self, user_id: str) -> None:
        """A user-management write here touched `user_id`: the next lookup reads the store."""
        self.rights_cache.invalidate(user_id)

    def stream_authorization(self, claims: AuthorizedClaims, parties: Collection[str]
                             ) -> StreamAuthorization:
        """What a stream reading as `parties` for `claims` checks as it goes."""
        return StreamAuthorization(claims, parties, self.rights_cache,
                                   self.rights_check_interval_s)

    async def _read_user_rights(self, user_id: str) -> UserRights | None:
        try:
            user = await self.admin.get_user(user_id)
            rights = await self.admin.list_rights(user_id)
        except UserNotFound:
            return None
        return UserRights(
            user_id=user.user_id,
            primary_party=user.primary_party or None,
            is_deactivated=user.is_deactivated,
            act_as=frozenset(r.party for r in rights if r.kind == "can_act_as"),
            read_as=frozenset(r.party for r in rights if r.kind == "can_read_as"),
            participant_admin=any(r.kind == "participant_admin" for r in rights),
        )


def event_id(transaction_id: str, node_id: int) -> str:
    """Daml's event id form: ``#<transaction id>:<node id>``."""
    return f"#{transaction_id}:{node_id}"


class PostgresCreateEvents:
    """Create-event ids for ACS entries, from the participant store's event log.

    A contract in the ACS was created by a create event in the transaction at its creation
    offset (creates with a hosted stakeholder are in the hosted parties' projection); a
    divulged contract may have none, and then gets no event id.
    """

    def __init__(self, store: PostgresParticipantStore) -> None:
        self._store = store

    async def create_event_ids(self, contracts: Collection[ContractRow]) -> dict[str, str]:
        if not contracts:
            return {}
        found = await self._store.create_events(contracts)
        return {cid: event_id(ref.transaction_id, ref.node_id) for cid, ref in found.items()}
