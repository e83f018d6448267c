"""The engine's counted limits: the same typed failure wherever and however deep it runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from minicanton.core.lf.binary_codec import decode_value, encode_value
from minicanton.core.lf.commands import CreateAndExerciseCommand, template_reference
from minicanton.core.lf.engine import SubmissionResult, interpret, reinterpret
from minicanton.core.lf.engine_errors import (
    InterpretationDepthExceeded,
    InterpretationStepLimitExceeded,
    ValueTypeError,
)
from minicanton.core.lf.engine_limits import MAX_CALL_DEPTH, MAX_EXERCISE_DEPTH, MAX_STEPS
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import ExerciseNode
from minicanton.core.lf.value import Int64Value, PartyValue, RecordValue

DEEP_SOURCE = """
from minicanton.dsl import Int64, List, Optional, Party, Record, Template, choice

MODULE = "deep"


class Tree(Record):
    child: Optional[Tree]


def recurse(n):
    if n == 0:
        return 0
    return recurse(n - 1) + 1


def tree(depth):
    built = None
    while depth > 0:
        built = Tree(child=built)
        depth = depth - 1
    return built


class Node(Template):
    owner: Party
    signatories = "owner"

    @choice(controller="owner")
    def Recurse(self, ctx, n: Int64) -> Int64:
        return recurse(n)

    @choice(controller="owner")
    def RecurseInLambda(self, ctx, n: Int64) -> Int64:
        down = lambda k: 0 if k == 0 else down(k - 1) + 1
        return down(n)

    @choice(controller="owner")
    def Down(self, ctx, n: Int64) -> Int64:
        if n == 0:
            return 0
        below = ctx.create(Node(owner=self.owner))
        return ctx.exercise(below, Node.Down, n=n - 1) + 1

    @choice(controller="owner")
    def DownThenRecurse(self, ctx, n: Int64) -> Int64:
        if n == 0:
            return recurse(1000)
        below = ctx.create(Node(owner=self.owner))
        return ctx.exercise(below, Node.DownThenRecurse, n=n - 1)

    @choice(controller="owner")
    def DownThenTree(self, ctx, n: Int64) -> Optional[Tree]:
        if n == 0:
            return tree(48)  # a Tree level is a record and an optional: 96 levels
        below = ctx.create(Node(owner=self.owner))
        return ctx.exercise(below, Node.DownThenTree, n=n - 1)

    @choice(controller="owner")
    def Grow(self, ctx, n: Int64) -> Optional[Tree]:
        return tree(n)

    @choice(controller="owner")
    def Loop(self, ctx, n: Int64) -> Int64:
        for _ in range(n):
            pass
        return n

    @choice(controller="owner")
    def Forever(self, ctx, n: Int64) -> Int64:
        while True:
            n = n + 1
        return n

    @choice(controller="owner")
    def ForeverWithContinue(self, ctx, n: Int64) -> Int64:
        while n >= 0:
            continue
        return n

    @choice(controller="owner")
    def EndlessIterator(self, ctx, n: Int64) -> Int64:
        for _ in iter(int, 1):
            n = n + 1
        return n

    @choice(controller="owner")
    def EndlessComprehension(self, ctx, n: Int64) -> List[Int64]:
        return [k for k in iter(int, 1)]

    @choice(controller="owner")
    def EndlessSum(self, ctx, n: Int64) -> Int64:
        return sum(iter(int, 1))

    @choice(controller="owner")
    def HugeSum(self, ctx, n: Int64) -> Int64:
        return sum(range(10**12))

    @choice(controller="owner")
    def EndlessRecursionOfHelpers(self, ctx, n: Int64) -> Int64:
        return ping(n)


def ping(n):
    return pong(n)


def pong(n):
    return ping(n) if n < 0 else n
"""
OWNER = "Owner::1220ee"
REGISTRY = PackageRegistry([load_package(DEEP_SOURCE)])


class _NoContracts:
    def lookup_contract(self, contract_id: str) -> None:
        return None

    def lookup_key(self, template_id: Identifier, key: object) -> None:
        return None


def _run(choice: str, n: int) -> SubmissionResult:
    command = CreateAndExerciseCommand(
        template_reference("deep:Node"),
        RecordValue(None, (("owner", PartyValue(OWNER)),)),
        choice,
        RecordValue(None, (("n", Int64Value(n)),)),
    )
    return interpret(
        [command], frozenset({OWNER}), frozenset(), 0, b"seed", _NoContracts(), REGISTRY
    )


def _outcome(choice: str, n: int) -> str:
    """What a participant would conclude: the result, or the error id and message."""
    try:
        node = _run(choice, n).transaction.nodes[1]
    except Exception as error:  # every outcome is compared, typed or not
        return f"{getattr(error, 'error_id', type(error).__name__)}: {error}"
    assert isinstance(node, ExerciseNode)
    return repr(node.exercise_result)


def _at_caller_depth(frames: int, action: Callable[[], Any]) -> Any:
    """Run `action` with `frames` more Python frames on the stack (a deeper shell)."""
    if frames == 0:
        return action()
    return _at_caller_depth(frames - 1, action)


# --------------------------------------------------------------------------- call depth


def test_recursion_within_the_call_depth_limit_succeeds() -> None:
    # the body is one call, recurse(n) is n + 1 more
    assert _outcome("Recurse", MAX_CALL_DEPTH - 2) == f"Int64Value(value={MAX_CALL_DEPTH - 2})"


@pytest.mark.parametrize("choice", ["Recurse", "RecurseInLambda"])
def test_deeper_recursion_is_a_typed_depth_error_not_a_recursion_error(choice: str) -> None:
    with pytest.raises(InterpretationDepthExceeded) as caught:
        _run(choice, 5000)
    assert caught.value.error_id == "INTERPRETATION_DEPTH_LIMIT"
    assert f"more than {MAX_CALL_DEPTH} deep" in caught.value.message


@pytest.mark.parametrize("n", [MAX_CALL_DEPTH - 2, MAX_CALL_DEPTH - 1, 900])
def test_the_outcome_does_not_depend_on_how_deep_the_caller_is(n: int) -> None:
    # A submitter runs a command from its request handler, a validator one view from its
    # event pump: their stacks differ. Before the counted limit, n = 900 succeeded from a
    # shallow caller and failed with a RecursionError from a deep one.
    shallow = _outcome("Recurse", n)
    assert _at_caller_depth(300, lambda: _outcome("Recurse", n)) == shallow
    assert _at_caller_depth(600, lambda: _outcome("Recurse", n)) == shallow


# ----------------------------------------------------------------------- exercise depth


def test_nested_exercises_within_the_limit_succeed() -> None:
    # the root exercise's body is the first level
    assert _outcome("Down", MAX_EXERCISE_DEPTH - 1).endswith(f"={MAX_EXERCISE_DEPTH - 1})")


def test_deeper_nested_exercises_are_a_typed_depth_error() -> None:
    with pytest.raises(InterpretationDepthExceeded, match=f"more than {MAX_EXERCISE_DEPTH} deep"):
        _run("Down", 40)


def test_a_validator_reinterpreting_a_subview_meets_the_same_limits() -> None:
    result = _run("Down", MAX_EXERCISE_DEPTH - 1)
    nested = next(
        node_id
        for node_id, node in enumerate(result.transaction.nodes)
        if isinstance(node, ExerciseNode) and node.choice_argument.fields[0][1] == Int64Value(5)
    )
    again = reinterpret(
        result.transaction.nodes[nested],
        result.node_seeds[nested],  # type: ignore[index]
        0,
        _LedgerOf(result),
        REGISTRY,
    )
    redone, original = again.transaction.nodes[0], result.transaction.nodes[nested]
    assert isinstance(redone, ExerciseNode) and isinstance(original, ExerciseNode)
    assert redone.exercise_result == original.exercise_result == Int64Value(5)
    assert set(again.created_contracts) <= set(result.created_contracts)


class _LedgerOf:
    """The contracts a submission created, as a validator's lookup would show them."""

    def __init__(self, result: SubmissionResult) -> None:
        self._created = result.created_contracts

    def lookup_contract(self, contract_id: str) -> Any:
        return self._created.get(contract_id)

    def lookup_key(self, template_id: Identifier, key: object) -> None:
        return None


# --------------------------------------------------------------- every limit at once


def test_at_every_limit_at_once_the_engine_still_fails_typed_from_a_deep_caller() -> None:
    # the deepest exercise nesting, then recursion to the call limit, with 300 frames of
    # caller below: the counted limit fires, not Python's
    deepest = MAX_EXERCISE_DEPTH - 1
    outcome = _at_caller_depth(300, lambda: _outcome("DownThenRecurse", deepest))
    assert outcome.startswith("INTERPRETATION_DEPTH_LIMIT: contract logic nested package calls")
    tree = _at_caller_depth(300, lambda: _outcome("DownThenTree", deepest))
    assert tree.startswith("OptionalValue(value=RecordValue(")


# ------------------------------------------------------------------- value nesting


def test_a_body_cannot_return_a_value_nested_deeper_than_daml_lf_allows() -> None:
    # n trees nest 2n + 1 levels (the result's Optional, then a record and an Optional each)
    grown = _run("Grow", 49).transaction.nodes[1]
    assert isinstance(grown, ExerciseNode) and grown.exercise_result is not None
    assert decode_value(encode_value(grown.exercise_result)) == grown.exercise_result
    with pytest.raises(ValueTypeError, match="nests deeper than 100 levels") as caught:
        _run("Grow", 50)
    assert caught.value.error_id == "INVALID_ARGUMENT"


# ------------------------------------------------------------------------------ steps


@pytest.mark.timeout(60)  # before the step budget these bodies never returned
@pytest.mark.parametrize(
    "choice",
    ["Forever", "ForeverWithContinue", "EndlessIterator", "EndlessComprehension", "EndlessSum",
     "HugeSum"],
)
def test_a_body_that_never_ends_runs_out_of_steps(choice: str) -> None:
    with pytest.raises(InterpretationStepLimitExceeded) as caught:
        _run(choice, 0)
    assert caught.value.error_id == "INTERPRETATION_STEP_LIMIT"
    assert f"more than {MAX_STEPS} steps" in caught.value.message


def test_the_step_budget_is_exact_and_the_same_on_every_run() -> None:
    # the body's call is one step and each iteration one more
    assert _outcome("Loop", MAX_STEPS - 1) == f"Int64Value(value={MAX_STEPS - 1})"
    over = _outcome("Loop", MAX_STEPS)
    assert over.startswith("INTERPRETATION_STEP_LIMIT")
    assert _at_caller_depth(300, lambda: _outcome("Loop", MAX_STEPS)) == over


def test_endless_mutual_recursion_is_a_depth_error() -> None:
    with pytest.raises(InterpretationDepthExceeded):
        _run("EndlessRecursionOfHelpers", -1)


def test_package_code_outside_an_interpretation_is_not_metered() -> None:
    template = REGISTRY.packages()[0].templates["Node"]
    contract = template.python_class(owner=OWNER)
    loop = template.choices["Loop"].body
    assert loop(contract, None, n=MAX_STEPS + 5) == MAX_STEPS + 5
    ping = template.choices["EndlessRecursionOfHelpers"].body
    assert ping(contract, None, n=MAX_CALL_DEPTH + 5) == MAX_CALL_DEPTH + 5
