"""Template and type identifiers: ``package_id:module:Entity``."""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Identifier:
    """A fully qualified name; Daml's `Identifier{package_id, module_name, entity_name}`."""

    package_id: str
    module_name: str
    entity_name: str

    def __init__(self, package_id: str, module_name: str, entity_name: str) -> None:
        object.__setattr__(self, "package_id", package_id)
        object.__setattr__(self, "module_name", module_name)
        object.__setattr__(self, "entity_name", entity_name)

    def _parts(self) -> tuple[str, str, str]:
        return (self.package_id, self.module_name, self.entity_name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identifier):
            return NotImplemented
        return (self.entity_name == other.entity_name and self.module_name == other.module_name
                and self.package_id == other.package_id)

    def __hash__(self) -> int:
        return hash(self._parts())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Identifier):
            return NotImplemented
        return self._parts() < other._parts()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Identifier):
            return NotImplemented
        return self._parts() <= other._parts()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Identifier):
            return NotImplemented
        return self._parts() > other._parts()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Identifier):
            return NotImplemented
        return self._parts() >= other._parts()

    def __str__(self) -> str:
        return f"{self.package_id}:{self.module_name}:{self.entity_name}"

    @property
    def qualified_name(self) -> str:
        return f"{self.module_name}:{self.entity_name}"


@dataclass(frozen=True, slots=True)
class TemplateReference:
    """A template id as a user writes it: with or without the package id."""

    package_id: str | None
    module_name: str
    entity_name: str

    @classmethod
    def parse(cls, text: str) -> TemplateReference:
        parts = text.split(":")
        if len(parts) == 2 and all(parts):
            return cls(None, parts[0], parts[1])
        if len(parts) == 3 and all(parts):
            return cls(parts[0], parts[1], parts[2])
        raise InvalidArgument(
            f"template id {text!r} must be 'module:Entity' or 'package_id:module:Entity'"
        )

    def __str__(self) -> str:
        name = f"{self.module_name}:{self.entity_name}"
        return f"{self.package_id}:{name}" if self.package_id else name
