"""The core's hand-written dataclass `__init__`s stay what `@dataclass` would generate.

mypyc compiles an explicit `__init__` but leaves the methods `@dataclass` generates
interpreted (ADR 17), so the hottest core classes write theirs out. This reads every core
module's source and holds each explicit `__init__` to its class's fields: the same parameters
in the same order with the same defaults, every field set exactly once (a field outside
`__init__` to its default, unless `__post_init__` computes it), and `__post_init__` called
last when the class has one. A field added to the class and not to its `__init__` fails here,
not in production."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.lf.identifier import Identifier
from minicanton.core.topology.mappings import MappingCode, MappingKey

CORE = Path(__file__).resolve().parents[2] / "services" / "minicanton" / "core"


def _is_dataclass(node: ast.ClassDef) -> bool:
    return any("dataclass" in ast.unparse(d) for d in node.decorator_list)


def _method(node: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == name),
                None)


def _fields(node: ast.ClassDef) -> list[tuple[str, str | None, bool]]:
    """(name, default as source, in __init__) of each field, in order."""
    fields = []
    for statement in node.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        if ast.unparse(statement.annotation).startswith(("ClassVar", "Final")):
            continue
        default: str | None = None
        in_init = True
        value = statement.value
        if isinstance(value, ast.Call) and ast.unparse(value.func) == "field":
            for keyword in value.keywords:
                if keyword.arg == "default":
                    default = ast.unparse(keyword.value)
                elif keyword.arg == "default_factory":
                    default = _factory_default(ast.unparse(keyword.value))
                elif keyword.arg == "init":
                    in_init = bool(ast.literal_eval(keyword.value))
        elif value is not None:
            default = ast.unparse(value)
        fields.append((statement.target.id, default, in_init))
    return fields


def _factory_default(factory: str) -> str:
    return {"dict": "{}", "list": "[]", "set": "set()"}.get(factory, f"{factory}()")


def _explicit_inits() -> list[tuple[str, ast.ClassDef, ast.FunctionDef]]:
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and _is_dataclass(node):
                init = _method(node, "__init__")
                if init is not None:
                    found.append((f"{path.relative_to(CORE)}:{node.name}", node, init))
    return found


EXPLICIT = _explicit_inits()


def test_the_hot_classes_have_their_inits_written_out() -> None:
    names = {name.split(":")[1] for name, _, _ in EXPLICIT}
    assert {"Hash", "MappingKey", "Envelope", "SequencedEvent", "Leaf"} <= names
    assert len(EXPLICIT) >= 50


@pytest.mark.parametrize(("where", "node", "init"), EXPLICIT, ids=[e[0] for e in EXPLICIT])
def test_an_explicit_init_is_what_dataclass_would_generate(
    where: str, node: ast.ClassDef, init: ast.FunctionDef,
) -> None:
    fields = _fields(node)
    parameters = [a.arg for a in init.args.args[1:]]
    assert parameters == [name for name, _, in_init in fields if in_init], where
    defaults = [ast.unparse(d) for d in init.args.defaults]
    expected_defaults = [d for _, d, in_init in fields if in_init and d is not None]
    assert defaults == expected_defaults, where
    assert not init.args.kwonlyargs and init.args.vararg is None and init.args.kwarg is None

    statements = list(init.body)
    if _method(node, "__post_init__") is not None:
        assert ast.unparse(statements.pop()) == "self.__post_init__()", where
    assigned = {}
    for statement in statements:
        call = statement.value if isinstance(statement, ast.Expr) else None
        assert isinstance(call, ast.Call) and ast.unparse(call.func) == "object.__setattr__", \
            f"{where}: only object.__setattr__ of fields, got {ast.unparse(statement)}"
        target, name, value = call.args
        assert ast.unparse(target) == "self" and isinstance(name, ast.Constant)
        assert name.value not in assigned, f"{where}: {name.value} set twice"
        assigned[name.value] = ast.unparse(value)
    for name, default, in_init in fields:
        assert assigned.get(name) == (name if in_init else default), f"{where}: field {name}"
    # a field neither in __init__ nor with a default is __post_init__'s to set
    assert set(assigned) == {name for name, default, in_init in fields
                             if in_init or default is not None}, where


@pytest.mark.parametrize(("where", "node", "init"), EXPLICIT, ids=[e[0] for e in EXPLICIT])
def test_explicit_equality_comes_with_its_hash(
    where: str, node: ast.ClassDef, init: ast.FunctionDef,
) -> None:
    if _method(node, "__eq__") is not None:
        assert _method(node, "__hash__") is not None, where


def test_the_written_out_methods_behave_as_the_generated_ones() -> None:
    digest = hash_of(HashPurpose.VALUE, b"x")
    same = Hash(digest.digest)
    assert same == digest and hash(same) == hash(digest) and same is not digest
    low, high = Hash(bytes(32)), Hash(b"\x01" + bytes(31))
    assert low < high and low <= high and high > low and high >= low and not high < low
    assert sorted([high, low]) == [low, high]
    assert digest != digest.digest
    with pytest.raises(ValueError, match="32 bytes"):
        Hash(b"short")  # __post_init__ still runs
    with pytest.raises(dataclasses.FrozenInstanceError):
        same.digest = bytes(32)  # type: ignore[misc]
    assert dataclasses.replace(same, digest=bytes(32)) == Hash(bytes(32))

    key = MappingKey(MappingCode.PARTY_TO_PARTICIPANT, "Alice::1220")
    other_code = MappingKey(MappingCode.PARTICIPANT_STATE, "Alice::1220")
    assert key == MappingKey(MappingCode.PARTY_TO_PARTICIPANT, "Alice::1220")
    assert key != other_code and {key: 1}.get(other_code) is None
    assert sorted([key, other_code]) == [other_code, key]

    template = Identifier("pkg", "Mod", "T")
    assert template == Identifier("pkg", "Mod", "T") != Identifier("pkg", "Mod", "U")
    assert hash(template) == hash(Identifier("pkg", "Mod", "T"))
