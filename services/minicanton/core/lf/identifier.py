"""Template and type identifiers: ``package_id:module:Entity``."""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.errors import InvalidArgument


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    """A fully qualified name; Daml's `Identifier{package_id, module_name, entity_name}`."""

    package_id: str
    module_name: str
    entity_name: str

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
