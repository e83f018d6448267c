"""Template and type information for the JSON API, delegated to the participant and cached.

Theory of operation
-------------------
The participant is the one place that stores packages (seed 004's "type workspace"); every
JSON API instance delegates type questions to it through the package service and caches
what it learns, so any number of instances can run side by side without a type database of
their own:

- **Compiled packages** (templates, their fields, keys and choices, and the data types they
  use) are kept in an LRU bounded by the size of their compiled schemas (about 1 MB by
  default). Packages are content-addressed (their id is the SHA-256 of their source, checked
  on arrival), so an entry never goes stale: it is only evicted when others are used more.
- **Resolutions** of ``module:Entity`` to the packages that define it are cached for a TTL
  (5 minutes) in a bounded map, least recently used first out. A name that resolves to
  nothing re-reads the package list at once, so a newly uploaded template is usable
  immediately; a name that already resolved sees a new package (which may make it
  ambiguous) within the TTL, or at once after `refresh` (``/v1/refresh/cache``).
- A package's template names are kept once read (a few bytes each), so re-reading the
  package list only loads packages never seen before.

Every ledger call goes through the `PackageSource` the caller passes, bound to a token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.identifier import Identifier, TemplateReference
from minicanton.core.lf.package import (
    AmbiguousTemplate,
    PackageLoadError,
    TemplateNotFound,
    load_package,
    package_id_of,
)
from minicanton.core.lf.package_types import TemplateInfo
from minicanton.core.lf.types import TypeEnvironment
from minicanton.core.lf.value_text import describe_type

DEFAULT_SCHEMA_CAPACITY_BYTES = 1_000_000
DEFAULT_RESOLUTION_TTL_S = 300.0
DEFAULT_MAX_RESOLUTIONS = 10_000

Name = tuple[str, str]  # (module, entity)


class PackageSource(Protocol):
    """The participant's package service, as one caller may use it."""

    async def package_ids(self) -> list[str]: ...

    async def package_source(self, package_id: str) -> bytes | None: ...


class PackageUnusable(InvalidArgument):
    error_id = "PACKAGE_UNUSABLE"


@dataclass(frozen=True, slots=True)
class CompiledPackage:
    package_id: str
    templates: dict[str, TemplateInfo]  # by entity name
    environment: TypeEnvironment
    schema_bytes: int

    @property
    def names(self) -> frozenset[Name]:
        return frozenset((info.identifier.module_name, name)
                         for name, info in self.templates.items())


def compile_package(package_id: str, source: bytes) -> CompiledPackage:
    if package_id_of(source) != package_id:
        raise PackageUnusable(f"the participant sent a package whose digest is not {package_id}")
    try:
        package = load_package(source)
    except PackageLoadError as error:
        raise PackageUnusable(f"package {package_id} does not load: {error.message}") from None
    templates = {name: template.info for name, template in package.templates.items()}
    schema: dict[str, object] = {str(identifier): repr(definition)
                                 for identifier, definition in package.data_types.items()}
    schema.update({name: [describe_type(t) for _, t in info.fields]
                   for name, info in templates.items()})
    return CompiledPackage(package_id, templates, package.data_types,
                           len(json.dumps(schema).encode()))


@dataclass(frozen=True, slots=True)
class TemplateTypes:
    """What decoding and encoding a template's values needs."""

    info: TemplateInfo
    environment: TypeEnvironment

    @property
    def identifier(self) -> Identifier:
        return self.info.identifier


class TypeCache:
    def __init__(self, *, schema_capacity_bytes: int = DEFAULT_SCHEMA_CAPACITY_BYTES,
                 resolution_ttl_s: float = DEFAULT_RESOLUTION_TTL_S,
                 max_resolutions: int = DEFAULT_MAX_RESOLUTIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = schema_capacity_bytes
        self._ttl_s = resolution_ttl_s
        self._max_resolutions = max_resolutions
        self._clock = clock
        self._schemas: OrderedDict[str, CompiledPackage] = OrderedDict()
        self._schema_bytes = 0
        self._resolutions: OrderedDict[Name, tuple[tuple[Identifier, ...], float]] = OrderedDict()
        self._names: dict[str, frozenset[Name]] = {}
        self._list_lock = asyncio.Lock()
        self._load_locks: dict[str, asyncio.Lock] = {}
        self.loads = 0  # packages fetched and compiled (for tests and metrics)

    # ----------------------------------------------------------------------- public surface

    async def resolve(self, reference: str | TemplateReference,
                      source: PackageSource) -> Identifier:
        """The template a user's ``[package_id:]module:Entity`` names, or a typed error."""
        if isinstance(reference, str):
            reference = TemplateReference.parse(reference)
        if reference.package_id is not None:
            identifier = Identifier(reference.package_id, reference.module_name,
                                    reference.entity_name)
            await self.template(identifier, source)
            return identifier
        name = (reference.module_name, reference.entity_name)
        found = self._cached_resolution(name)
        if found is None:
            await self._read_package_list(source)
            found = self._resolve_from_index(name)
        if not found:
            raise TemplateNotFound(f"no package on the participant defines template {reference}")
        if len(found) > 1:
            ids = ", ".join(sorted(identifier.package_id for identifier in found))
            raise AmbiguousTemplate(f"template {reference} is defined by several packages "
                                    f"({ids}); name it as package_id:module:Entity")
        return found[0]

    async def template(self, identifier: Identifier, source: PackageSource) -> TemplateTypes:
        package = await self.package(identifier.package_id, source)
        info = package.templates.get(identifier.entity_name) if package else None
        if info is None or info.identifier != identifier:
            raise TemplateNotFound(f"template {identifier} is not known to the participant")
        return TemplateTypes(info, package.environment)  # type: ignore[union-attr]

    async def all_templates(self, source: PackageSource) -> list[Identifier]:
        await self._read_package_list(source)
        return sorted(Identifier(package_id, module, entity)
                      for package_id, names in self._names.items() for module, entity in names)

    async def package(self, package_id: str, source: PackageSource) -> CompiledPackage | None:
        cached = self._schemas.get(package_id)
        if cached is not None:
            self._schemas.move_to_end(package_id)
            return cached
        lock = self._load_locks.setdefault(package_id, asyncio.Lock())
        async with lock:
            cached = self._schemas.get(package_id)
            if cached is None:
                cached = await self._load(package_id, source)
        self._load_locks.pop(package_id, None)
        return cached

    def refresh(self) -> None:
        """Forget every resolution: the next lookups re-read the participant's packages."""
        self._resolutions.clear()

    @property
    def schema_bytes(self) -> int:
        return self._schema_bytes

    def cached_packages(self) -> list[str]:
        return list(self._schemas)

    # ----------------------------------------------------------------------------- internals

    async def _load(self, package_id: str, source: PackageSource) -> CompiledPackage | None:
        raw = await source.package_source(package_id)
        if raw is None:
            return None
        compiled = compile_package(package_id, raw)
        self.loads += 1
        self._names[package_id] = compiled.names
        self._remember(compiled)
        return compiled

    def _remember(self, compiled: CompiledPackage) -> None:
        if compiled.schema_bytes > self._capacity:
            return  # used for this request, too big to keep
        self._schemas[compiled.package_id] = compiled
        self._schema_bytes += compiled.schema_bytes
        while self._schema_bytes > self._capacity:
            _, evicted = self._schemas.popitem(last=False)
            self._schema_bytes -= evicted.schema_bytes

    async def _read_package_list(self, source: PackageSource) -> None:
        async with self._list_lock:
            for package_id in await source.package_ids():
                if package_id not in self._names:
                    try:
                        await self.package(package_id, source)
                    except PackageUnusable:
                        self._names[package_id] = frozenset()  # not a template source

    def _cached_resolution(self, name: Name) -> tuple[Identifier, ...] | None:
        entry = self._resolutions.get(name)
        if entry is None:
            return None
        found, expires_at = entry
        if self._clock() >= expires_at:
            del self._resolutions[name]
            return None
        self._resolutions.move_to_end(name)
        return found

    def _resolve_from_index(self, name: Name) -> tuple[Identifier, ...]:
        found = tuple(sorted(Identifier(package_id, *name)
                             for package_id, names in self._names.items() if name in names))
        if found:  # misses are not cached: the next lookup re-reads the package list
            self._resolutions[name] = (found, self._clock() + self._ttl_s)
            self._resolutions.move_to_end(name)
            while len(self._resolutions) > self._max_resolutions:
                self._resolutions.popitem(last=False)
        return found
