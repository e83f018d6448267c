"""From a package module that has run to its Daml-LF types and compiled declarations.

Called by `package.load_package` once the module's classes exist: gives every DSL class its
identifier, resolves annotations (strings are evaluated in the module's namespace, so
forward references work), and compiles signatory / observer / controller / key / ensure
declarations into functions (see `package_types`). Every mistake is a `PackageLoadError`
naming the line of the class or member at fault.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from minicanton.core.lf import dsl
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package_check import PackageLoadError
from minicanton.core.lf.package_types import (
    ChoiceDef,
    ChoiceInfo,
    KeyDef,
    TemplateDef,
    TemplateInfo,
)
from minicanton.core.lf.types import (
    DataTypeDef,
    EnumDef,
    RecordDef,
    TContractId,
    TDate,
    TList,
    TNumeric,
    TOptional,
    TParty,
    TTextMap,
    TUnit,
    Type,
    TypeCon,
    VariantDef,
)

RESERVED_FIELD_NAMES = frozenset(
    {"replace", "field_values", "signatories", "observers", "key", "ensure", "constructors"}
)
ARCHIVE = "Archive"
_DSL_BASES: tuple[type, ...] = (dsl.Template, dsl.Record, dsl.Variant, dsl.Enum)


@dataclass
class PackageContents:
    templates: dict[str, TemplateDef] = field(default_factory=dict)
    data_types: dict[Identifier, DataTypeDef] = field(default_factory=dict)
    python_classes: dict[Identifier, type] = field(default_factory=dict)


class _Lines:
    """Line numbers of classes and their members, from the module's AST."""

    def __init__(self, tree: ast.Module) -> None:
        self._lines: dict[tuple[str, str], int] = {}
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef):
                self._lines[(statement.name, "")] = statement.lineno
                for member in statement.body:
                    for name in _bound_names(member):
                        self._lines[(statement.name, name)] = member.lineno

    def of(self, cls: type, member: str = "") -> int:
        return self._lines.get((cls.__name__, member)) or self._lines.get((cls.__name__, ""), 0)


def _bound_names(member: ast.stmt) -> list[str]:
    if isinstance(member, ast.AnnAssign | ast.Assign):
        targets = [member.target] if isinstance(member, ast.AnnAssign) else member.targets
        return [t.id for t in targets if isinstance(t, ast.Name)]
    if isinstance(member, ast.FunctionDef):
        return [member.name]
    return []


def build_package_contents(
    package_id: str, module_name: str, namespace: Mapping[str, Any], tree: ast.Module
) -> PackageContents:
    lines = _Lines(tree)
    classes = _declared_classes(namespace, lines)
    identifiers = {cls: Identifier(package_id, module_name, name) for name, cls in classes.items()}
    for cls, identifier in identifiers.items():
        cls._mc_identifier = identifier  # type: ignore[attr-defined]
    types = _TypeResolver(namespace, identifiers)
    contents = PackageContents()
    for cls, identifier in identifiers.items():
        contents.python_classes[identifier] = cls
        if issubclass(cls, dsl.Template):
            _SchemaBuilder(cls, identifier, types, lines).add_template(contents)
        elif issubclass(cls, dsl.Record):
            fields = _fields(cls, types, lines)
            contents.data_types[identifier] = RecordDef(fields)
        elif issubclass(cls, dsl.Variant):
            contents.data_types[identifier] = _variant(cls, types, lines)
        else:
            contents.data_types[identifier] = _enum(cls, lines)
    return contents


def _declared_classes(namespace: Mapping[str, Any], lines: _Lines) -> dict[str, type]:
    classes: dict[str, type] = {}
    for name, value in namespace.items():
        if not isinstance(value, type) or value.__module__ != namespace["__name__"]:
            continue
        bases = [base for base in _DSL_BASES if issubclass(value, base)]
        if len(bases) != 1 or len(value.__bases__) != 1:
            raise PackageLoadError(
                lines.of(value), f"class {name} must derive from exactly one of "
                "Template, Record, Variant or Enum"
            )
        classes[name] = value
    return classes


class _TypeResolver:
    """Turns annotations (DSL markers, classes, or strings naming them) into Daml-LF types."""

    def __init__(self, namespace: Mapping[str, Any], identifiers: Mapping[type, Identifier]):
        self._namespace = dict(namespace)
        self._identifiers = identifiers

    def resolve(self, annotation: Any, where: str, line: int) -> Type:
        annotation = self._evaluate(annotation, where, line)
        if annotation is None:
            return TUnit()
        if annotation is dsl.Date:
            return TDate()
        if annotation is dsl.Numeric:
            return TNumeric(10)
        if isinstance(annotation, type):
            if issubclass(annotation, dsl.PrimitiveType) and annotation is not dsl.PrimitiveType:
                return annotation.lf_type
            if annotation is dsl.ContractId:
                return TContractId(None)
            identifier = self._identifiers.get(annotation)
            if identifier is not None:
                return TypeCon(identifier)
        if isinstance(annotation, dsl.TypeApplication):
            return self._apply(annotation, where, line)
        raise PackageLoadError(line, f"{where}: {annotation!r} is not a DSL type")

    def template_identifier(self, annotation: Any) -> Identifier | None:
        if isinstance(annotation, type) and issubclass(annotation, dsl.Template):
            return self._identifiers.get(annotation)
        return None

    def record_class(self, identifier: Identifier) -> type | None:
        for cls, candidate in self._identifiers.items():
            if candidate == identifier and issubclass(cls, dsl.Record):
                return cls
        return None

    def _evaluate(self, annotation: Any, where: str, line: int) -> Any:
        # A quoted forward reference under `from __future__ import annotations` is a string
        # holding a string: evaluate until it is not one.
        for _ in range(3):
            if not isinstance(annotation, str):
                return annotation
            try:
                annotation = eval(annotation, self._namespace)
            except Exception as error:
                raise PackageLoadError(
                    line, f"{where}: cannot resolve type {annotation!r}: {error}"
                ) from None
        return annotation

    def _apply(self, application: dsl.TypeApplication, where: str, line: int) -> Type:
        if application.constructor == "ContractId":
            template = self.template_identifier(self._evaluate(application.argument, where, line))
            if template is None:
                raise PackageLoadError(line, f"{where}: ContractId[...] needs a template")
            return TContractId(template)
        inner = self.resolve(application.argument, where, line)
        if application.constructor == "List":
            return TList(inner)
        if application.constructor == "TextMap":
            return TTextMap(inner)
        if isinstance(inner, TOptional):
            raise PackageLoadError(line, f"{where}: nested Optional is not supported")
        return TOptional(inner)


def _fields(cls: type, types: _TypeResolver, lines: _Lines) -> tuple[tuple[str, Type], ...]:
    raw: dict[str, Any] = getattr(cls, "_mc_raw_annotations", {})
    fields = []
    for name, annotation in raw.items():
        line = lines.of(cls, name)
        if name in RESERVED_FIELD_NAMES or name.startswith("_"):
            raise PackageLoadError(line, f"{cls.__name__}: {name!r} is a reserved name")
        fields.append((name, types.resolve(annotation, f"{cls.__name__}.{name}", line)))
    return tuple(fields)


def _variant(cls: type, types: _TypeResolver, lines: _Lines) -> VariantDef:
    constructors = _fields(cls, types, lines)
    if not constructors:
        raise PackageLoadError(lines.of(cls), f"variant {cls.__name__} has no constructors")
    return VariantDef(constructors)


def _enum(cls: type, lines: _Lines) -> EnumDef:
    constructors = cls.__dict__.get("constructors")
    if (
        not isinstance(constructors, tuple)
        or not constructors
        or not all(isinstance(c, str) and c.isidentifier() for c in constructors)
        or len(set(constructors)) != len(constructors)
    ):
        raise PackageLoadError(
            lines.of(cls, "constructors"),
            f"enum {cls.__name__} needs constructors = (\"A\", \"B\", ...) of distinct names",
        )
    return EnumDef(constructors)


def _is_party_collection(ty: Type | None) -> bool:
    if isinstance(ty, TList | TOptional):
        return isinstance(ty.element, TParty)
    return isinstance(ty, TParty)


class _SchemaBuilder:
    """Compiles one template class: its fields, parties, key, ensure and choices."""

    def __init__(self, cls: type, identifier: Identifier, types: _TypeResolver, lines: _Lines):
        self.cls = cls
        self.identifier = identifier
        self.types = types
        self.lines = lines
        self.fields = _fields(cls, types, lines)
        self.field_types = dict(self.fields)

    def add_template(self, contents: PackageContents) -> None:
        signatories = self._contract_parties("signatories", required=True)
        observers = self._contract_parties("observers", required=False)
        key = self._key()
        choices = self._choices(signatories)
        info = TemplateInfo(
            identifier=self.identifier,
            fields=self.fields,
            key_type=key.type if key else None,
            choices=tuple(choice.info for choice in choices.values()),
        )
        ensure = self.cls.__dict__.get("ensure")
        if ensure is not None and not callable(ensure):
            raise PackageLoadError(self.lines.of(self.cls, "ensure"), "ensure must be a method")
        contents.templates[self.cls.__name__] = TemplateDef(
            info, self.cls, signatories, observers, ensure, key, choices
        )
        contents.data_types[self.identifier] = RecordDef(self.fields)
        for choice in choices.values():
            contents.data_types[choice.info.argument_type.identifier] = RecordDef(
                choice.info.argument_fields
            )

    def _contract_parties(self, attribute: str, required: bool) -> Callable[[Any], Any]:
        spec = self.cls.__dict__.get(attribute)
        line = self.lines.of(self.cls, attribute)
        where = f"{self.cls.__name__}.{attribute}"
        if spec is None:
            if required:
                raise PackageLoadError(
                    line, f"template {self.cls.__name__} declares no signatories"
                )
            return lambda contract: ()
        if callable(spec):
            return spec  # type: ignore[no-any-return]
        names = self._party_names(spec, self.field_types, where, line)
        return lambda contract: [getattr(contract, name) for name in names]

    def _party_names(
        self, spec: Any, scope: Mapping[str, Type], where: str, line: int
    ) -> tuple[str, ...]:
        names = (spec,) if isinstance(spec, str) else spec
        if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
            raise PackageLoadError(
                line, f"{where} must be a field name, a tuple of field names or a function"
            )
        for name in names:
            if not _is_party_collection(scope.get(name)):
                raise PackageLoadError(
                    line, f"{where}: {name!r} is not a Party, List Party or Optional Party field"
                )
        return names

    def _key(self) -> KeyDef | None:
        spec = self.cls.__dict__.get("key")
        if spec is None:
            return None
        line = self.lines.of(self.cls, "key")
        where = f"{self.cls.__name__}.key"
        if not isinstance(spec, dsl.Key) or not callable(spec.value):
            raise PackageLoadError(line, f"{where} must be Key(type, value, maintainers)")
        key_type = self.types.resolve(spec.type, where, line)
        maintainers = spec.maintainers
        if not callable(maintainers):
            names = self._party_names(maintainers, self._key_fields(key_type), where, line)
            return KeyDef(key_type, spec.value, lambda key: [getattr(key, n) for n in names])
        return KeyDef(key_type, spec.value, maintainers)

    def _key_fields(self, key_type: Type) -> Mapping[str, Type]:
        if not isinstance(key_type, TypeCon):
            return {}
        cls = self.types.record_class(key_type.identifier)
        return dict(_fields(cls, self.types, self.lines)) if cls is not None else {}

    def _choices(self, signatories: Callable[[Any], Any]) -> dict[str, ChoiceDef]:
        choices: dict[str, ChoiceDef] = {}
        for name, member in self.cls.__dict__.items():
            if isinstance(member, dsl.ChoiceDeclaration):
                line = self.lines.of(self.cls, name)
                if name == ARCHIVE or name in self.field_types:
                    raise PackageLoadError(line, f"choice name {name!r} is taken")
                choices[name] = self._choice(name, member, line)
        choices[ARCHIVE] = self._archive(signatories)
        return choices

    def _choice(self, name: str, declaration: dsl.ChoiceDeclaration, line: int) -> ChoiceDef:
        where = f"{self.cls.__name__}.{name}"
        signature = inspect.signature(declaration.function)
        parameters = list(signature.parameters.values())
        if len(parameters) < 2:
            raise PackageLoadError(line, f"choice {where} takes (self, ctx, arguments...)")
        arguments = []
        for parameter in parameters[2:]:
            if (
                parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
                or parameter.default is not parameter.empty
                or parameter.annotation is parameter.empty
            ):
                raise PackageLoadError(
                    line, f"{where}: argument {parameter.name!r} needs a type and no default"
                )
            arg_where = f"{where}.{parameter.name}"
            arg_type = self.types.resolve(parameter.annotation, arg_where, line)
            arguments.append((parameter.name, arg_type))
        if signature.return_annotation is signature.empty:
            raise PackageLoadError(line, f"choice {where} needs a result type (-> Type)")
        result_type = self.types.resolve(signature.return_annotation, f"{where} result", line)
        argument_fields = tuple(arguments)
        info = ChoiceInfo(
            name=name,
            argument_type=TypeCon(self._choice_type_id(name)),
            argument_fields=argument_fields,
            result_type=result_type,
            consuming=bool(declaration.consuming),
        )
        scope = dict(argument_fields)
        controllers = self._choice_parties(
            declaration.controller, scope, f"{where} controller", line
        )
        observers = self._choice_parties(
            declaration.observers, scope, f"{where} observers", line
        )
        return ChoiceDef(info, declaration.function, controllers, observers)

    def _choice_parties(
        self, spec: Any, arguments: Mapping[str, Type], where: str, line: int
    ) -> Callable[[Any, Mapping[str, Any]], Any]:
        if callable(spec):
            return lambda contract, args: spec(contract, SimpleNamespace(**args))
        scope = {**self.field_types, **arguments}
        names = self._party_names(spec, scope, where, line)
        plan = tuple((name, name in arguments) for name in names)
        return lambda contract, args: [
            args[name] if is_argument else getattr(contract, name) for name, is_argument in plan
        ]

    def _archive(self, signatories: Callable[[Any], Any]) -> ChoiceDef:
        info = ChoiceInfo(ARCHIVE, TypeCon(self._choice_type_id(ARCHIVE)), (), TUnit(), True)
        return ChoiceDef(
            info,
            body=lambda contract, ctx: None,
            controllers=lambda contract, args: signatories(contract),
            observers=lambda contract, args: (),
        )

    def _choice_type_id(self, choice: str) -> Identifier:
        return Identifier(
            self.identifier.package_id,
            self.identifier.module_name,
            f"{self.identifier.entity_name}.{choice}",
        )
