"""Packages: loading a module's source into templates, data types and their Daml-LF types.

Theory of operation
-------------------
A package is the UTF-8 source of one Python module written with the DSL (`dsl.py`). Its id
is the plain SHA-256 hex of those bytes (what ``sha256sum`` prints), so the same source has
the same id everywhere. Loading:

1. `package_check.check_source` refuses forbidden constructs, naming the line, and
   `package_instrument` makes every function and lambda report to the interpretation meter
   (`metering`), so the engine's limits are counted rather than left to Python's stack;
2. the module runs once, under the engine's fixed decimal context (`NUMERIC_CONTEXT`), with a
   small set of builtins and an ``__import__`` that yields only the DSL, ``decimal`` (whose
   ``Decimal`` is the DSL's `Numeric`) and ``__future__``;
3. the classes it defined are given identifiers (``package_id:module:Entity``) and their
   annotations are resolved into Daml-LF types, producing a `TypeEnvironment` entry for every
   template, record, variant, enum and choice argument (choice ``C`` of template ``T`` has
   the record type ``T.C``; every template also gets Daml's consuming ``Archive`` choice);
4. signatory, observer, controller, ensure and key declarations are compiled into plain
   functions the engine calls (`TemplateDef`, `ChoiceDef`).

A `PackageRegistry` is an immutable set of loaded packages: it resolves a template reference
(``module:Entity`` must be defined by exactly one package) and answers type questions for the
JSON API (`template_info`, `type_environment`).
"""

from __future__ import annotations
import __future__

import ast
import builtins
import decimal
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from minicanton.core.errors import MinicantonError
from minicanton.core.lf import dsl
from minicanton.core.lf.identifier import Identifier, TemplateReference
from minicanton.core.lf.metering import HOOKS, metered_builtins
from minicanton.core.lf.numeric import NUMERIC_CONTEXT, Numeric
from minicanton.core.lf.package_check import DSL_MODULE, PackageLoadError, check_source
from minicanton.core.lf.package_instrument import instrument
from minicanton.core.lf.package_schema import build_package_contents
from minicanton.core.lf.package_types import ChoiceDef, TemplateDef, TemplateInfo
from minicanton.core.lf.types import DataTypeDef, TypeEnvironment

__all__ = [
    "AmbiguousTemplate",
    "Package",
    "PackageLoadError",
    "PackageRegistry",
    "TemplateNotFound",
    "load_package",
    "package_id_of",
]


class TemplateNotFound(MinicantonError):
    error_id = "TEMPLATE_NOT_FOUND"


class AmbiguousTemplate(MinicantonError):
    error_id = "AMBIGUOUS_TEMPLATE"


@dataclass(frozen=True, slots=True)
class Package:
    package_id: str
    module_name: str
    source: str
    templates: Mapping[str, TemplateDef]
    data_types: Mapping[Identifier, DataTypeDef]
    python_classes: Mapping[Identifier, type]


def package_id_of(source: str | bytes) -> str:
    """SHA-256 hex of the source's UTF-8 bytes: the same digest ``sha256sum`` prints."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    return hashlib.sha256(raw).hexdigest()


def load_package(source: str | bytes) -> Package:
    """Check, run and describe a package; `PackageLoadError` (with the line) if refused."""
    text = _decode(source)
    package_id = package_id_of(source)
    try:
        tree = ast.parse(text, filename="<package>")
    except SyntaxError as error:
        raise PackageLoadError(error.lineno or 0, f"syntax error: {error.msg}") from None
    checked = check_source(tree)
    namespace = _execute(instrument(tree), checked.module_name)
    contents = build_package_contents(package_id, checked.module_name, namespace, tree)
    return Package(
        package_id=package_id,
        module_name=checked.module_name,
        source=text,
        templates=MappingProxyType(contents.templates),
        data_types=MappingProxyType(contents.data_types),
        python_classes=MappingProxyType(contents.python_classes),
    )


def _decode(source: str | bytes) -> str:
    if isinstance(source, str):
        return source
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PackageLoadError(0, f"the source is not UTF-8: {error}") from None


# ------------------------------------------------------------------------------ execution

PACKAGE_FILENAME_PREFIX = "<package "

_SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "chr", "dict", "divmod", "enumerate", "filter", "int",
    "isinstance", "iter", "len", "list", "map", "max", "min", "next", "ord", "pow", "range",
    "reversed", "round", "sorted", "str", "sum", "tuple", "zip", "True", "False", "None",
    "ArithmeticError", "AssertionError", "Exception", "IndexError", "KeyError",
    "LookupError", "OverflowError", "TypeError", "ValueError", "ZeroDivisionError",
)
# ``from decimal import Decimal`` in a package yields `Numeric` (as the DSL's ``Decimal``
# does): every decimal in package code follows Daml's per-operation rounding.
_DECIMAL_FOR_PACKAGES = ModuleType("decimal")
_DECIMAL_FOR_PACKAGES.Decimal = Numeric  # type: ignore[attr-defined]
_IMPORTABLE = {DSL_MODULE: dsl, "decimal": _DECIMAL_FOR_PACKAGES, "__future__": __future__}


def _guarded_import(
    name: str,
    globals_: Mapping[str, Any] | None = None,
    locals_: Mapping[str, Any] | None = None,
    fromlist: tuple[str, ...] = (),
    level: int = 0,
) -> Any:
    module = _IMPORTABLE.get(name) if level == 0 else None
    if module is None:
        raise ImportError(f"a package may not import {name!r}")
    return module


def _public_getattr(obj: Any, name: str, *default: Any) -> Any:
    if not isinstance(name, str) or name.startswith("_"):
        raise AttributeError(f"attribute {name!r} is not accessible from a package")
    return getattr(obj, name, *default)


def _safe_builtins() -> dict[str, Any]:
    table = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    table["__build_class__"] = builtins.__build_class__
    table["__import__"] = _guarded_import
    table["getattr"] = _public_getattr
    table.update(metered_builtins())  # sum(), sorted(), ... count a step per item
    return table


def _execute(tree: ast.Module, module_name: str) -> dict[str, Any]:
    filename = f"{PACKAGE_FILENAME_PREFIX}{module_name}>"
    namespace: dict[str, Any] = {
        "__builtins__": _safe_builtins(),
        "__name__": f"minicanton.packages.{module_name}",
        **HOOKS,
    }
    # Annotations are always postponed (PEP 563), whatever the package imports, so a choice
    # of template T may return ContractId[T] without quoting.
    flags = __future__.annotations.compiler_flag
    code = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
    try:
        # Module-level Decimal arithmetic must not depend on the loading thread's context:
        # the same package id has to mean the same constants on every participant.
        with decimal.localcontext(NUMERIC_CONTEXT):
            exec(code, namespace)
    except MinicantonError:
        raise
    except Exception as error:
        line = package_line_of(error)
        raise PackageLoadError(line, f"{type(error).__name__}: {complaint_of(error)}") from None
    return namespace


# An absolute path to a file of this server (Python's own messages name modules' files).
_SERVER_FILE = re.compile(r"(?<![\w./\\])(?:[A-Za-z]:)?[/\\][^\s'\"()<>]*\.(?:py|pyc|so|pyd)\b")


def complaint_of(error: Exception) -> str:
    """What the package's author is told of `error`: its message in the package's terms,
    without the paths of this server's files (``from minicanton.dsl import Nmeric`` fails
    naming the DSL module's file) or the DSL's internal module name."""
    text = str(error)
    if isinstance(error, ImportError):
        if error.path:
            text = text.replace(f" ({error.path})", "")
        text = text.replace(" (unknown location)", "").replace(dsl.__name__, DSL_MODULE)
    return _SERVER_FILE.sub("<server file>", text)


def package_line_of(error: BaseException) -> int:
    """The innermost line of package code in `error`'s traceback (0 if none)."""
    line = 0
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename.startswith(PACKAGE_FILENAME_PREFIX):
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


# ------------------------------------------------------------------------------- registry


class PackageRegistry:
    """An immutable set of loaded packages; resolves templates and answers type questions."""

    def __init__(self, packages: Iterable[Package] = ()) -> None:
        self._packages: dict[str, Package] = {}
        self._by_name: dict[tuple[str, str], list[Identifier]] = {}
        self._templates: dict[Identifier, TemplateDef] = {}
        self._data_types: dict[Identifier, DataTypeDef] = {}
        self._classes: dict[Identifier, type] = {}
        for package in packages:
            self._add(package)
        self._environment = MappingProxyType(self._data_types)

    def _add(self, package: Package) -> None:
        if package.package_id in self._packages:
            return
        self._packages[package.package_id] = package
        for template in package.templates.values():
            identifier = template.info.identifier
            self._templates[identifier] = template
            key = (identifier.module_name, identifier.entity_name)
            self._by_name.setdefault(key, []).append(identifier)
        self._data_types.update(package.data_types)
        self._classes.update(package.python_classes)

    def with_package(self, package: Package) -> PackageRegistry:
        """A registry holding these packages and `package` (unchanged if already held)."""
        return PackageRegistry([*self._packages.values(), package])

    def packages(self) -> tuple[Package, ...]:
        return tuple(self._packages.values())

    def package(self, package_id: str) -> Package | None:
        return self._packages.get(package_id)

    def resolve(self, reference: TemplateReference | Identifier | str) -> Identifier:
        """The identifier of the template `reference` names, or a typed error."""
        if isinstance(reference, str):
            reference = TemplateReference.parse(reference)
        if reference.package_id is not None:
            identifier = Identifier(
                reference.package_id, reference.module_name, reference.entity_name
            )
            if identifier not in self._templates:
                raise TemplateNotFound(f"template {identifier} is not known")
            return identifier
        found = self._by_name.get((reference.module_name, reference.entity_name), [])
        if not found:
            raise TemplateNotFound(f"no known package defines template {reference}")
        if len(found) > 1:
            ids = ", ".join(sorted(identifier.package_id for identifier in found))
            raise AmbiguousTemplate(
                f"template {reference} is defined by several packages ({ids}); "
                "name it as package_id:module:Entity"
            )
        return found[0]

    def template(self, identifier: Identifier) -> TemplateDef:
        template = self._templates.get(identifier)
        if template is None:
            raise TemplateNotFound(f"template {identifier} is not known")
        return template

    def template_info(self, identifier: Identifier) -> TemplateInfo:
        """Field, key and choice types of a template (for type-directed value codecs)."""
        return self.template(identifier).info

    def choice(self, identifier: Identifier, choice_name: str) -> ChoiceDef | None:
        return self.template(identifier).choices.get(choice_name)

    def type_environment(self) -> TypeEnvironment:
        """Every data type the held packages define, including templates and choice args."""
        return self._environment

    def data_type(self, identifier: Identifier) -> DataTypeDef:
        definition = self._data_types.get(identifier)
        if definition is None:
            raise TemplateNotFound(f"data type {identifier} is not known")
        return definition

    def python_class(self, identifier: Identifier) -> type:
        return self._classes[identifier]
