"""What the Ledger API's admin services need from the node: parties and packages.

Both go through the topology manager, and both answer only once the change is *effective* in
this participant's own topology (it has processed an event at or after the effective time),
so a party just allocated can submit at once and a package just uploaded can be used at once.

- `allocate_party`: ``hint::<our namespace>``, hosted here with Submission permission.
- `upload_packages`: load each source (a typed error with the line if it does not load), store
  it, swap it into the node's registry, then vet all of them in one topology change. Storing
  comes first, so a crash before vetting leaves a stored package that `revet_stored` vets at
  the next start.

The event pump records the domain's parties as their mappings arrive (`record_parties`),
so ListKnownParties shows every party of the domain, `is_local` as hosted now.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.codec.package_archive import PackageArchive
from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.ids import PackageId, ParticipantId, PartyId, party_id
from minicanton.core.lf.package import Package, PackageRegistry, load_package
from minicanton.core.topology.mappings import ParticipantPermission
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.participant.domain_time import DomainTime
from minicanton.runtime.clock import Clock
from minicanton.runtime.topology_admin_client import TopologyAdminClient, TopologyCallFailed
from minicanton.store.postgres.participant_admin_store import (
    PackageRow,
    PartyRow,
    PostgresParticipantAdminStore,
)

log = logging.getLogger(__name__)


class PartyAllocationFailed(MinicantonError):
    error_id = "PARTY_ALLOCATION_FAILED"


class PartyAlreadyExists(MinicantonError):
    error_id = "PARTY_ALREADY_EXISTS"
    grpc_status = "ALREADY_EXISTS"


class PackageVettingFailed(MinicantonError):
    error_id = "PACKAGE_VETTING_FAILED"
    grpc_status = "FAILED_PRECONDITION"


def topology_error(error: TopologyCallFailed, what: str,
                   kind: type[MinicantonError]) -> MinicantonError:
    """The topology manager's refusal, keeping its error id and status for the client."""
    typed = kind(f"{what}: {error.message}", error_id=error.error_id)
    typed.grpc_status = error.status.name  # type: ignore[attr-defined]
    return typed


class Registry:
    """The node's package registry; replaced (never mutated) when packages are added."""

    def __init__(self, packages: Iterable[Package] = ()) -> None:
        self.current = PackageRegistry(packages)
        self.listeners: list[Callable[[], None]] = []

    def add(self, packages: Iterable[Package]) -> None:
        registry = self.current
        for package in packages:
            registry = registry.with_package(package)
        self.current = registry
        for listener in self.listeners:
            listener()


class NodeAdmin:
    def __init__(self, participant: ParticipantId, namespace: str,
                 topology: TopologyAdminClient, store: PostgresParticipantAdminStore,
                 domain_time: DomainTime, head: Callable[[], TopologySnapshot],
                 registry: Registry, clock: Clock, wait_timeout_s: float) -> None:
        self.participant = participant
        self.namespace = namespace
        self.topology = topology
        self.store = store
        self.domain_time = domain_time
        self.head = head
        self.registry = registry
        self.clock = clock
        self.wait_timeout_s = wait_timeout_s
        self._recording_parties = asyncio.Lock()

    # -- parties ---------------------------------------------------------------------------

    async def allocate_party(self, party_id_hint: str, display_name: str) -> PartyRow:
        party = party_id(party_id_hint or f"party-{secrets.token_hex(8)}", self.namespace)
        try:
            change = await self.topology.allocate_party(
                party, [(self.participant, ParticipantPermission.SUBMISSION)])
        except TopologyCallFailed as error:
            raise topology_error(error, f"cannot allocate {party}", PartyAllocationFailed
                                 ) from None
        if change.unchanged:
            raise PartyAlreadyExists(f"party {party} already exists")
        await self._wait_effective(change, f"the hosting of {party}")
        row = PartyRow(party, display_name, True, self.clock())
        await self.store.record_allocated_party(row)
        log.info("allocated party %s", party)
        return row

    async def record_parties(self) -> None:
        """Record the domain's parties as the newest topology hosts them: new ones, and known
        ones whose hosting here began or ended (a domain admin may host a party on this node
        without this node allocating it). A party gone from the topology stays known, no
        longer local. One recording at a time, each from the head: a slower, older one must
        not write back a hosting a newer one already replaced."""
        async with self._recording_parties:
            snapshot = self.head()
            hosted = {party: self.participant in snapshot.hosting_participants(party)
                      for party in snapshot.known_parties()}
            for row in await self.store.list_parties():
                local = hosted.get(PartyId(row.party), False)
                if row.is_local != local:
                    await self.store.record_hosting(row.party, local, self.clock())
                hosted.pop(PartyId(row.party), None)
            for party, local in sorted(hosted.items()):
                await self.store.record_hosting(party, local, self.clock())

    # -- packages --------------------------------------------------------------------------

    async def upload_packages(self, archive: PackageArchive, submission_id: str) -> list[str]:
        loaded = [load_package(source.source) for source in archive.packages]
        for source, package in zip(archive.packages, loaded, strict=True):
            name = source.name or archive.name or package.module_name
            await self.store.add_package(PackageRow(package.package_id, name, source.source,
                                                    self.clock()))
        self.registry.add(loaded)
        ids = [p.package_id for p in loaded]
        await self.vet(ids)
        log.info("uploaded and vetted packages %s (submission %s)", ids, submission_id)
        return ids

    async def vet(self, package_ids: list[str]) -> None:
        missing = [p for p in package_ids
                   if PackageId(p) not in self.head().vetted_packages(self.participant)]
        if not missing:
            return
        try:
            change = await self.topology.vet_packages(self.participant, missing)
        except TopologyCallFailed as error:
            raise topology_error(error, "cannot vet packages", PackageVettingFailed) from None
        await self._wait_effective(change, f"the vetting of {missing}")

    async def revet_stored(self) -> None:
        await self.vet([row.package_id for row in await self.store.list_packages()])

    async def _wait_effective(self, change: pb.TopologyChange, what: str) -> None:
        if change.effective_us:
            await self.domain_time.wait_processed(change.effective_us, self.wait_timeout_s)


def load_stored(rows: Iterable[PackageRow]) -> list[Package]:
    """The stored packages, loaded again at start (they loaded when uploaded)."""
    packages = []
    for row in rows:
        try:
            packages.append(load_package(row.source))
        except MinicantonError as error:
            raise InvalidArgument(f"stored package {row.package_id} no longer loads: "
                                  f"{error.message}") from None
    return packages

