"""Rewrites a checked package's syntax tree so its code reports to the interpretation meter.

Theory of operation
-------------------
Runs after `package_check` accepted the source and before it is compiled, so the names it
adds (the ``_mc_`` hooks of `metering`) are ones the author could not have written. Every
function body becomes::

    def f(...):
        "docstring, if any, stays first"
        _mc_enter()
        try:
            <the original body>
        finally:
            _mc_leave()

and every lambda ``lambda x: e`` becomes ``lambda x: _mc_leave_with(_mc_enter(), e)`` (if
``e`` raises, the interpretation is over, so the missing ``leave`` does not matter). Every
``for x in it`` and comprehension ``... for x in it`` iterates ``_mc_iter(it)`` (a step per
item), and every ``while`` body starts with ``_mc_tick()`` (a step per iteration, also one
cut short by ``continue``). Line numbers of the original statements are kept, so errors
still name the author's lines.
"""

from __future__ import annotations

import ast

__all__ = ["instrument"]


def instrument(tree: ast.Module) -> ast.Module:
    """`tree`, rewritten in place (and returned) to call the metering hooks."""
    _Instrumenter().visit(tree)
    return ast.fix_missing_locations(tree)


def _hook_call(name: str, *arguments: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(arguments), keywords=[])


class _Instrumenter(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        body = list(node.body)
        docstring = body[:1] if _is_docstring(body[0]) else []
        statements = body[len(docstring):] or [ast.Pass()]
        first = statements[0]
        enter = ast.copy_location(ast.Expr(_hook_call("_mc_enter")), first)
        leave = ast.copy_location(ast.Expr(_hook_call("_mc_leave")), first)
        guarded = ast.copy_location(
            ast.Try(body=statements, handlers=[], orelse=[], finalbody=[leave]), first
        )
        node.body = [*docstring, enter, guarded]
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        self.generic_visit(node)
        wrapped = _hook_call("_mc_leave_with", _hook_call("_mc_enter"), node.body)
        node.body = ast.copy_location(wrapped, node.body)
        return node


    def visit_For(self, node: ast.For) -> ast.For:
        self.generic_visit(node)
        node.iter = ast.copy_location(_hook_call("_mc_iter", node.iter), node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.iter = ast.copy_location(_hook_call("_mc_iter", node.iter), node.iter)
        return node

    def visit_While(self, node: ast.While) -> ast.While:
        self.generic_visit(node)
        tick = ast.copy_location(ast.Expr(_hook_call("_mc_tick")), node.body[0])
        node.body = [tick, *node.body]
        return node


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )
