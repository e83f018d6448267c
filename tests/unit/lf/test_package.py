"""Package loading: ids, the static determinism check (with lines), the registry."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from engine_helpers import DVP_SOURCE, REPO

from minicanton.core.lf.identifier import Identifier, TemplateReference
from minicanton.core.lf.package import (
    AmbiguousTemplate,
    PackageLoadError,
    PackageRegistry,
    TemplateNotFound,
    load_package,
    package_id_of,
)
from minicanton.core.lf.types import RecordDef, TContractId, TNumeric, TParty, TText, TUnit, TypeCon

HEADER = 'from minicanton.dsl import Party, Template, Text, choice\n\nMODULE = "probe"\n\n'
HEADER_LINES = HEADER.count("\n")


def _template_with_body(statement: str) -> tuple[str, int]:
    """A valid package whose choice body runs `statement`; returns it and that line."""
    source = HEADER + (
        "class Probe(Template):\n"
        "    owner: Party\n"
        '    signatories = ("owner",)\n'
        "\n"
        '    @choice(controller="owner")\n'
        "    def Poke(self, ctx, note: Text) -> Text:\n"
        f"        {statement}\n"
        "        return note\n"
    )
    return source, HEADER_LINES + 7


def _load_error(source: str) -> PackageLoadError:
    with pytest.raises(PackageLoadError) as caught:
        load_package(source)
    assert caught.value.error_id == "PACKAGE_LOAD_FAILED"
    return caught.value


# ---------------------------------------------------------------------------------- ids


def test_package_id_is_the_sha256_of_the_source_bytes() -> None:
    package = load_package(DVP_SOURCE)
    assert package.package_id == hashlib.sha256(DVP_SOURCE.encode()).hexdigest()
    assert package.package_id == package_id_of(DVP_SOURCE.encode())
    assert package.module_name == "dvp"
    assert load_package(DVP_SOURCE.encode()).package_id == package.package_id


def test_package_id_matches_sha256sum_of_the_file() -> None:
    path = REPO / "examples" / "dvp.py"
    printed = subprocess.run(
        ["sha256sum", str(path)], check=True, capture_output=True, text=True, timeout=10
    ).stdout.split()[0]
    assert load_package(path.read_bytes()).package_id == printed


def test_a_one_character_change_changes_the_id() -> None:
    assert package_id_of(DVP_SOURCE) != package_id_of(DVP_SOURCE + " ")


# ------------------------------------------------------------------- forbidden imports


@pytest.mark.parametrize(
    "line, complaint",
    [
        ("import os", "import of 'os' is not allowed"),
        ("import time", "import of 'time' is not allowed"),
        ("import random", "import of 'random' is not allowed"),
        ("from datetime import datetime", "import from 'datetime'"),
        ("from os import path", "import from 'os'"),
        ("from minicanton.dsl import *", "import from 'minicanton.dsl' of *"),
        ("from minicanton.core.lf import engine", "import from 'minicanton.core.lf'"),
        ("from decimal import getcontext", "import from 'decimal' of getcontext"),
        ("from __future__ import barry_as_FLUFL", "import from '__future__'"),
        ("from . import sibling", "import from '.'"),
    ],
)
def test_forbidden_imports_are_refused_with_their_line(line: str, complaint: str) -> None:
    source = HEADER + line + "\n"
    error = _load_error(source)
    assert error.line == HEADER_LINES + 1
    assert complaint in error.message
    assert error.message.startswith(f"line {HEADER_LINES + 1}: ")


def test_an_import_inside_a_function_is_refused() -> None:
    source, line = _template_with_body("from minicanton.dsl import Party")
    error = _load_error(source)
    assert error.line == line and "top level" in error.message


def test_fields_and_locals_may_reuse_forbidden_builtin_names() -> None:
    source = HEADER.replace("Party, Template, Text", "Int64, Party, Template, Text, Time") + (
        "class Probe(Template):\n"
        "    owner: Party\n"
        "    id: Text\n"
        "    time: Time\n"
        "    signatories = (\"owner\",)\n"
        "\n"
        "    @choice(controller=\"owner\")\n"
        "    def Poke(self, ctx, hash: Text, type: Int64) -> Text:\n"
        "        set = [hash, self.id]\n"
        "        return set[0] + str(type)\n"
    )
    package = load_package(source)
    fields = dict(package.templates["Probe"].info.fields)
    assert set(fields) == {"owner", "id", "time"}


def test_the_allowed_imports_load() -> None:
    source = (
        "from __future__ import annotations\n"
        "from decimal import Decimal\n"
        "from minicanton.dsl import Party as P, Template\n"
        'MODULE = "ok"\n'
        'LIMIT = Decimal("1.5")\n'
        "class T(Template):\n"
        "    owner: P\n"
        '    signatories = "owner"\n'
    )
    assert list(load_package(source).templates) == ["T"]


# ---------------------------------------------------- non-deterministic and unsafe calls


@pytest.mark.parametrize(
    "statement, complaint",
    [
        ("open('/etc/passwd')", "'open' is not allowed: it does I/O"),
        ("print(note)", "'print' is not allowed: it does I/O"),
        ("input()", "'input' is not allowed"),
        ("eval('1')", "'eval' is not allowed: it runs dynamic code"),
        ("exec('x = 1')", "'exec' is not allowed"),
        ("compile('1', 'f', 'eval')", "'compile' is not allowed"),
        ("__import__('os')", "'__import__' is not allowed"),
        ("globals()", "'globals' is not allowed: it is reflection"),
        ("vars(self)", "'vars' is not allowed"),
        ("setattr(self, 'owner', note)", "'setattr' is not allowed"),
        ("getattr(self, '__class__')", "getattr needs a constant, public attribute name"),
        ("getattr(self, note)", "getattr needs a constant, public attribute name"),
        ("self.__class__", "access to attribute '__class__' is not allowed"),
        ("ctx._run", "access to attribute '_run' is not allowed"),
        ("time.time()", "'time' is not allowed: it reads the clock"),
        ("datetime.now()", "call of .now() is not allowed"),
        ("datetime", "'datetime' is not allowed"),
        ("note.now()", "call of .now() is not allowed"),
        ("note.today()", "call of .today() is not allowed"),
        ("note.utcnow()", "call of .utcnow() is not allowed"),
        ("random.random()", "'random' is not allowed"),
        ("os.getcwd()", "'os' is not allowed"),
        ("sys.exit(1)", "'sys' is not allowed"),
        ("hash(note)", "'hash' is not allowed: it differs between processes"),
        ("id(note)", "'id' is not allowed"),
        ("set([note])", "'set' is not allowed: it iterates in a per-process order"),
        ("{note, note}", "not allowed in a package: sets"),
        ("{c for c in note}", "not allowed in a package: sets"),
        ("'{0.__class__}'.format(note)", ".format() is not allowed"),
        ("type(note)", "'type' is not allowed"),
        ("global LIMIT", "not allowed in a package: global state"),
        ("self.owner = note", "assigning or deleting attributes is not allowed"),
        ("try: pass\n        except Exception: pass", "not allowed in a package: try"),
        ("with note: pass", "not allowed in a package: with"),
        ("yield note", "not allowed in a package: generators"),
        ("f = lambda x=[]: x", "default arguments must be constants"),
    ],
)
def test_forbidden_calls_are_refused_with_their_line(statement: str, complaint: str) -> None:
    source, line = _template_with_body(statement)
    error = _load_error(source)
    assert complaint in error.message, error.message
    assert error.line == line, error.message


@pytest.mark.parametrize(
    "snippet, complaint",
    [
        ("STATE = []", "module-level values must be immutable constants"),
        ("STATE = {}", "module-level values must be immutable constants"),
        ("for i in range(3):\n    pass", "only imports, MODULE, constants, classes"),
        ("def __init__(self):\n    pass", "the name '__init__' is reserved"),
        ("@choice(controller='x')\ndef f(self, ctx):\n    pass", "take no decorators"),
        ("class Loose:\n    pass", "must derive from a DSL base"),
        ("class T(Template):\n    signatories = ['owner']", "class attributes are constants"),
        ("class T(Template):\n    owner: Party = 'x'", "a field is `name: Type`"),
        ("class T(Template):\n    def __eq__(self, other):\n        return True", "reserved"),
    ],
)
def test_module_and_class_shape_is_checked(snippet: str, complaint: str) -> None:
    error = _load_error(HEADER + snippet + "\n")
    assert complaint in error.message, error.message
    assert error.line == HEADER_LINES + 1 or error.line == HEADER_LINES + 2, error.message


# --------------------------------------------------------------- other load failures


def test_a_syntax_error_names_its_line() -> None:
    error = _load_error(HEADER + "class (:\n")
    assert error.line == HEADER_LINES + 1 and "syntax error" in error.message


def test_the_module_name_must_be_declared() -> None:
    error = _load_error("from minicanton.dsl import Template\n")
    assert "MODULE" in error.message


def test_an_error_while_running_the_module_names_its_line() -> None:
    error = _load_error(HEADER + "X = 1\nY = X // 0\n")
    assert error.line == HEADER_LINES + 2 and "ZeroDivisionError" in error.message


def test_a_template_needs_signatories() -> None:
    error = _load_error(HEADER + "class T(Template):\n    owner: Party\n")
    assert error.line == HEADER_LINES + 1 and "declares no signatories" in error.message


def test_signatories_must_name_party_fields() -> None:
    source = HEADER + "class T(Template):\n    owner: Text\n    signatories = ('owner',)\n"
    error = _load_error(source)
    assert error.line == HEADER_LINES + 3 and "not a Party" in error.message


def test_unknown_types_are_reported() -> None:
    source = (
        HEADER + "class T(Template):\n    owner: Party\n    n: int\n    signatories = 'owner'\n"
    )
    error = _load_error(source)
    assert error.line == HEADER_LINES + 3 and "T.n" in error.message


def test_a_choice_needs_typed_arguments_and_a_result_type() -> None:
    untyped, _ = _template_with_body("pass")
    error = _load_error(untyped.replace("note: Text) -> Text", "note) -> Text"))
    assert "argument 'note' needs a type" in error.message
    error = _load_error(untyped.replace(" -> Text:", ":"))
    assert "needs a result type" in error.message


def test_nested_optional_is_refused() -> None:
    source = (
        'from minicanton.dsl import Optional, Party, Template\nMODULE = "m"\n'
        "class T(Template):\n    owner: Party\n    x: Optional[Optional[Party]]\n"
        "    signatories = 'owner'\n"
    )
    assert "nested Optional" in _load_error(source).message


def test_non_utf8_source_is_refused() -> None:
    with pytest.raises(PackageLoadError, match="not UTF-8"):
        load_package(b"\xff\xfe")


# ------------------------------------------------------------------------------ registry


def _variant_of_dvp() -> str:
    return DVP_SOURCE + "\n# a second build of the same module\n"


def test_registry_resolves_module_entity_to_the_single_package() -> None:
    package = load_package(DVP_SOURCE)
    registry = PackageRegistry([package])
    expected = Identifier(package.package_id, "dvp", "Iou")
    assert registry.resolve("dvp:Iou") == expected
    assert registry.resolve(TemplateReference.parse(f"{package.package_id}:dvp:Iou")) == expected
    assert registry.resolve(expected) == expected


def test_registry_reports_missing_templates() -> None:
    registry = PackageRegistry([load_package(DVP_SOURCE)])
    with pytest.raises(TemplateNotFound) as caught:
        registry.resolve("dvp:Bond")
    assert caught.value.error_id == "TEMPLATE_NOT_FOUND" and "dvp:Bond" in caught.value.message
    with pytest.raises(TemplateNotFound):
        registry.resolve("ab" * 32 + ":dvp:Iou")
    with pytest.raises(TemplateNotFound):
        registry.resolve("dvp:SwapResult")  # a record, not a template


def test_registry_reports_ambiguous_module_entity() -> None:
    first, second = load_package(DVP_SOURCE), load_package(_variant_of_dvp())
    registry = PackageRegistry([first]).with_package(second)
    with pytest.raises(AmbiguousTemplate) as caught:
        registry.resolve("dvp:DvP")
    assert caught.value.error_id == "AMBIGUOUS_TEMPLATE"
    assert first.package_id in caught.value.message and second.package_id in caught.value.message
    assert registry.resolve(f"{second.package_id}:dvp:DvP").package_id == second.package_id


def test_with_package_is_idempotent_and_leaves_the_original_unchanged() -> None:
    package = load_package(DVP_SOURCE)
    empty = PackageRegistry()
    registry = empty.with_package(package).with_package(load_package(DVP_SOURCE))
    assert [p.package_id for p in registry.packages()] == [package.package_id]
    assert empty.packages() == ()
    assert registry.package(package.package_id) is not None


def test_template_info_describes_fields_key_and_choices() -> None:
    package = load_package(DVP_SOURCE)
    registry = PackageRegistry([package])
    iou = registry.resolve("dvp:Iou")
    info = registry.template_info(iou)
    assert info.fields == (
        ("issuer", TParty()),
        ("owner", TParty()),
        ("amount", TNumeric(10)),
        ("currency", TText()),
    )
    assert info.key_type is None and info.record_type == TypeCon(iou)
    transfer = info.choice("Transfer")
    assert transfer is not None and transfer.consuming
    assert transfer.argument_fields == (("recipient", TParty()),)
    assert transfer.result_type == TContractId(iou)
    archive = info.choice("Archive")
    assert archive is not None and archive.result_type == TUnit() and archive.argument_fields == ()
    assert [c.name for c in info.choices] == ["Transfer", "Archive"]


def test_type_environment_holds_templates_records_and_choice_arguments() -> None:
    package = load_package(DVP_SOURCE)
    env = PackageRegistry([package]).type_environment()
    pid = package.package_id
    swap_result = env[Identifier(pid, "dvp", "SwapResult")]
    assert swap_result == RecordDef(
        (
            ("iou", TContractId(Identifier(pid, "dvp", "Iou"))),
            ("share", TContractId(Identifier(pid, "dvp", "Share"))),
        )
    )
    assert env[Identifier(pid, "dvp", "DvpProposal.Accept")] == RecordDef(
        (("share", TContractId(Identifier(pid, "dvp", "Share"))),)
    )
    assert env[Identifier(pid, "dvp", "DvP.Swap")] == RecordDef(())
    assert Identifier(pid, "dvp", "Share.Transfer") in env
    swap = PackageRegistry([package]).template_info(Identifier(pid, "dvp", "DvP")).choice("Swap")
    assert swap is not None and swap.result_type == TypeCon(Identifier(pid, "dvp", "SwapResult"))


def test_two_loads_of_one_source_do_not_share_classes() -> None:
    first, second = load_package(DVP_SOURCE), load_package(DVP_SOURCE)
    assert first.templates["Iou"].python_class is not second.templates["Iou"].python_class
