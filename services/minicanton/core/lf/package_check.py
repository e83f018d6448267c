"""The static check a package's source passes before it is run.

Theory of operation
-------------------
Interpretation must be deterministic and side-effect free: every participant re-runs the
same choice bodies and must reach the same transaction. Python cannot be sandboxed, so this
is a guard against mistakes, not against a hostile author (packages are uploaded by an
operator and vetted, like DARs). It rejects, naming the line:

- imports other than ``from minicanton.dsl import ...``, ``from __future__ import
  annotations`` and ``from decimal import Decimal``;
- names that reach for I/O, dynamic code, reflection, the clock or randomness (`open`,
  `eval`, `exec`, `compile`, `__import__`, `globals`, `print`, `input`, `time`, `datetime`,
  `random`, `os`, `sys`, ...), ``.now()`` / ``.today()`` / ``.utcnow()``, ``getattr`` unless
  its name is a constant public attribute, and any ``_private`` or ``__dunder__`` attribute;
- state that could survive from one interpretation to the next: ``global``/``nonlocal``,
  assignment to attributes, mutable module-level values, mutable default arguments;
- sets (`set`, `frozenset`, ``{a, b}``): their iteration order depends on the per-process
  string hash seed, so two participants could build different transactions;
- ``try`` (a body must not swallow the engine's errors), ``with``, generators and async.

At the top level only imports, ``MODULE = "name"``, constants, classes and functions are
allowed; class bodies hold annotated fields, constant/lambda/DSL-call attributes and methods.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from minicanton.core.errors import MinicantonError


class PackageLoadError(MinicantonError):
    """A package's source was refused or failed to load; `line` is 1-based (0 if unknown)."""

    error_id = "PACKAGE_LOAD_FAILED"

    def __init__(self, line: int, complaint: str) -> None:
        super().__init__(f"line {line}: {complaint}" if line else complaint)
        self.line = line


DSL_MODULE = "minicanton.dsl"
ALLOWED_FROM_IMPORTS = {"__future__": {"annotations"}, "decimal": {"Decimal"}}

_FORBIDDEN_NAMES = {
    **dict.fromkeys(("open", "input", "print", "breakpoint", "help", "exit", "quit"), "does I/O"),
    **dict.fromkeys(("eval", "exec", "compile", "__import__"), "runs dynamic code"),
    **dict.fromkeys(
        ("globals", "locals", "vars", "dir", "setattr", "delattr", "type", "object", "super",
         "memoryview", "classmethod", "staticmethod", "property", "__builtins__"),
        "is reflection",
    ),
    **dict.fromkeys(
        ("time", "datetime", "random", "os", "sys", "secrets", "uuid"),
        "reads the clock, randomness or the environment",
    ),
    **dict.fromkeys(("id", "hash"), "differs between processes"),
    **dict.fromkeys(("set", "frozenset"), "iterates in a per-process order"),
}
_CLOCK_ATTRIBUTES = {"now", "today", "utcnow"}
_FORMAT_ATTRIBUTES = {"format", "format_map"}  # "{0.__class__}".format(x) reaches dunders
_FORBIDDEN_STATEMENTS: dict[type, str] = {
    ast.Global: "global state",
    ast.Nonlocal: "nonlocal state",
    ast.Try: "try (a body must not catch the engine's errors)",
    ast.With: "with",
    ast.AsyncWith: "async with",
    ast.AsyncFunctionDef: "async functions",
    ast.AsyncFor: "async for",
    ast.Await: "await",
    ast.Yield: "generators",
    ast.YieldFrom: "generators",
    ast.Set: "sets (their iteration order differs between processes)",
    ast.SetComp: "sets (their iteration order differs between processes)",
}
if hasattr(ast, "TryStar"):
    _FORBIDDEN_STATEMENTS[ast.TryStar] = "try (a body must not catch the engine's errors)"


@dataclass(frozen=True, slots=True)
class CheckedSource:
    """What the check learned: the declared module name and the names imported from the DSL."""

    module_name: str
    dsl_names: frozenset[str]


def check_source(tree: ast.Module) -> CheckedSource:
    """Raise `PackageLoadError` at the first forbidden construct, else describe the module."""
    dsl_names = _check_imports(tree)
    module_name = _declared_module(tree)
    for statement in tree.body:
        _check_top_level(statement, dsl_names)
    for node in ast.walk(tree):
        _check_node(node)
    _check_free_names(tree, _bound_at_top_level(tree))
    return CheckedSource(module_name, frozenset(dsl_names))


def _check_imports(tree: ast.Module) -> set[str]:
    top_level = {id(statement) for statement in tree.body}
    dsl_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = ", ".join(alias.name for alias in node.names)
            raise PackageLoadError(node.lineno, f"import of {names!r} is not allowed; "
                                   f"a package imports only from {DSL_MODULE}")
        if isinstance(node, ast.ImportFrom):
            if id(node) not in top_level:
                raise PackageLoadError(node.lineno, "imports belong at the top level")
            dsl_names |= _check_import_from(node)
    return dsl_names


def _check_import_from(node: ast.ImportFrom) -> set[str]:
    module = node.module or ""
    names = [alias.name for alias in node.names]
    if node.level == 0 and module == DSL_MODULE and "*" not in names:
        return {alias.asname or alias.name for alias in node.names}
    allowed = ALLOWED_FROM_IMPORTS.get(module) if node.level == 0 else None
    if allowed is not None and set(names) <= allowed:
        return set()
    shown = "." * node.level + module
    raise PackageLoadError(
        node.lineno,
        f"import from {shown!r} of {', '.join(names)} is not allowed; "
        f"a package imports only from {DSL_MODULE}",
    )


def _declared_module(tree: ast.Module) -> str:
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == "MODULE"
        ):
            value = statement.value
            if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
                raise PackageLoadError(statement.lineno, "MODULE must be a string literal")
            if not all(part.isidentifier() for part in value.value.split(".")):
                raise PackageLoadError(statement.lineno, f"{value.value!r} is not a module name")
            return value.value
    raise PackageLoadError(1, 'a package must declare its module name: MODULE = "name"')


def _check_top_level(statement: ast.stmt, dsl_names: set[str]) -> None:
    if isinstance(statement, ast.ImportFrom | ast.Pass) or _is_docstring(statement):
        return
    if isinstance(statement, ast.Assign):
        if not all(isinstance(t, ast.Name) for t in statement.targets):
            raise PackageLoadError(statement.lineno, "top-level assignments bind plain names")
        if not _is_constant_expression(statement.value):
            raise PackageLoadError(
                statement.lineno, "module-level values must be immutable constants"
            )
        return
    if isinstance(statement, ast.FunctionDef):
        if statement.decorator_list:
            raise PackageLoadError(statement.lineno, "top-level functions take no decorators")
        return
    if isinstance(statement, ast.ClassDef):
        _check_class(statement, dsl_names)
        return
    raise PackageLoadError(
        statement.lineno,
        "only imports, MODULE, constants, classes and functions are allowed at the top level",
    )


def _check_class(cls: ast.ClassDef, dsl_names: set[str]) -> None:
    if cls.keywords or cls.decorator_list:
        raise PackageLoadError(cls.lineno, f"class {cls.name} takes no decorators or keywords")
    bases_ok = bool(cls.bases) and all(
        isinstance(base, ast.Name) and base.id in dsl_names for base in cls.bases
    )
    if not bases_ok:
        raise PackageLoadError(
            cls.lineno, f"class {cls.name} must derive from a DSL base (Template, Record, ...)"
        )
    for statement in cls.body:
        _check_class_statement(cls.name, statement, dsl_names)


def _check_class_statement(owner: str, statement: ast.stmt, dsl_names: set[str]) -> None:
    if isinstance(statement, ast.Pass) or _is_docstring(statement):
        return
    if isinstance(statement, ast.AnnAssign):
        if statement.value is not None or not isinstance(statement.target, ast.Name):
            raise PackageLoadError(statement.lineno, f"{owner}: a field is `name: Type`")
        return
    if isinstance(statement, ast.Assign):
        if not all(isinstance(t, ast.Name) for t in statement.targets):
            raise PackageLoadError(statement.lineno, f"{owner}: class attributes bind names")
        if not _is_class_attribute_value(statement.value, dsl_names):
            raise PackageLoadError(
                statement.lineno,
                f"{owner}: class attributes are constants, tuples, lambdas or DSL calls",
            )
        return
    if isinstance(statement, ast.FunctionDef):
        for decorator in statement.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if not (isinstance(target, ast.Name) and target.id in dsl_names):
                raise PackageLoadError(decorator.lineno, "methods take only DSL decorators")
        return
    raise PackageLoadError(statement.lineno, f"{owner}: unexpected statement in a class body")


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _is_constant_expression(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.Tuple):
        return all(_is_constant_expression(item) for item in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _is_constant_expression(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_constant_expression(node.left) and _is_constant_expression(node.right)
    if isinstance(node, ast.Call):  # Decimal("1.5")
        return (
            isinstance(node.func, ast.Name)
            and node.func.id == "Decimal"
            and not node.keywords
            and all(isinstance(arg, ast.Constant) for arg in node.args)
        )
    return False


def _is_class_attribute_value(node: ast.expr, dsl_names: set[str]) -> bool:
    if isinstance(node, ast.Lambda) or _is_constant_expression(node):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in dsl_names
    )


def _check_node(node: ast.AST) -> None:
    line = getattr(node, "lineno", 0)
    reason = _FORBIDDEN_STATEMENTS.get(type(node))
    if reason is not None:
        raise PackageLoadError(line, f"not allowed in a package: {reason}")
    if isinstance(node, ast.Name):
        _check_internal_name(node.id, line)
    elif isinstance(node, ast.Attribute):
        _check_attribute(node, line)
    elif isinstance(node, ast.FunctionDef | ast.ClassDef):
        _check_definition_name(node.name, line)
        if isinstance(node, ast.FunctionDef):
            _check_arguments(node.args, line)
    elif isinstance(node, ast.Lambda):
        _check_arguments(node.args, line)
    elif isinstance(node, ast.arg):
        _check_definition_name(node.arg, line)
    elif isinstance(node, ast.Call):
        _check_getattr(node, line)


def _check_free_names(node: ast.AST, bound: frozenset[str]) -> None:
    """Refuse a forbidden name where it would mean the builtin or module of that name.

    A name the package binds itself (a parameter ``time: Time``, a local ``id = ...``) is its
    own and allowed; only a free use (``time.time()``, ``open(...)``) is refused.
    """
    if isinstance(node, ast.FunctionDef | ast.Lambda):
        bound = bound | _bound_in_function(node)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
        reason = _FORBIDDEN_NAMES.get(node.id)
        if reason is not None:
            raise PackageLoadError(node.lineno, f"use of {node.id!r} is not allowed: it {reason}")
    for child in ast.iter_child_nodes(node):
        _check_free_names(child, bound)


def _bound_at_top_level(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in statement.names)
    return frozenset(names)


def _bound_in_function(function: ast.FunctionDef | ast.Lambda) -> frozenset[str]:
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    body: list[ast.AST] = [function.body] if isinstance(function, ast.Lambda) else [*function.body]
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
    return frozenset(names)


def _check_internal_name(name: str, line: int) -> None:
    if name.startswith("__") or name.startswith("_mc"):
        raise PackageLoadError(line, f"use of {name!r} is not allowed: it is internal")


def _check_attribute(node: ast.Attribute, line: int) -> None:
    if node.attr.startswith("_"):
        raise PackageLoadError(line, f"access to attribute {node.attr!r} is not allowed")
    if node.attr in _CLOCK_ATTRIBUTES:
        raise PackageLoadError(
            line, f"call of .{node.attr}() is not allowed: read ledger time with ctx.get_time()"
        )
    if node.attr in _FORMAT_ATTRIBUTES:
        raise PackageLoadError(line, f".{node.attr}() is not allowed; use an f-string")
    if not isinstance(node.ctx, ast.Load):
        raise PackageLoadError(line, "assigning or deleting attributes is not allowed")


def _check_definition_name(name: str, line: int) -> None:
    if name.startswith("__") or name.startswith("_mc"):
        raise PackageLoadError(line, f"the name {name!r} is reserved")


def _check_arguments(arguments: ast.arguments, line: int) -> None:
    for default in [*arguments.defaults, *arguments.kw_defaults]:
        if default is not None and not isinstance(default, ast.Constant):
            raise PackageLoadError(line, "default arguments must be constants")


def _check_getattr(node: ast.Call, line: int) -> None:
    if not (isinstance(node.func, ast.Name) and node.func.id == "getattr"):
        return
    name = node.args[1] if len(node.args) >= 2 else None
    if not (
        isinstance(name, ast.Constant)
        and isinstance(name.value, str)
        and not name.value.startswith("_")
    ):
        raise PackageLoadError(line, "getattr needs a constant, public attribute name")
