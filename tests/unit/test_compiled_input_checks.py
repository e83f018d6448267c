"""Inputs of the wrong Python type get the modules' typed errors in both cores (ADR 16).

Compiled, mypyc checks declared types on every call and field assignment and would answer a
decision time of None or a float parameter with a bare TypeError, or take True as 1. The
conflict detector and the domain parameters admit such values as `object` and check them
themselves; these tests run under both `MINICANTON_NATIVE=0` and `=1` and first assert which
of the two they exercise.
"""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import pytest

from minicanton import _native
from minicanton.core.ids import RequestId
from minicanton.core.protocol import conflict_detection
from minicanton.core.protocol.activeness import ActivenessResult, ActivenessSet
from minicanton.core.protocol.commit_set import ContractId
from minicanton.core.protocol.conflict_detection import (
    ConflictDetector,
    ContractState,
    DecisionTimeRequired,
    RequestLocks,
)
from minicanton.core.topology import parameters
from minicanton.core.topology.errors import InvalidDomainParameters
from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters

REQUEST = RequestId("request-1")
CONTRACT = ContractId("c")
WRONG_TIMES: list[object] = [None, 1.5, True, False, "5", 10**30 + 0.5]
INT_FIELDS = [
    "confirmation_response_timeout_us",
    "mediator_reaction_timeout_us",
    "ledger_time_record_time_tolerance_us",
    "topology_change_delay_us",
    "max_request_size_bytes",
]


def assert_runs_the_loaded_core(module: ModuleType) -> None:
    compiled = not (module.__file__ or "").endswith(".py")
    assert compiled == _native.STATE.compiled, (module.__file__, _native.STATE.describe())


def detector() -> ConflictDetector:
    result = ConflictDetector(complete_acs=True)
    result.provide_states({CONTRACT: ContractState(True)}, {})
    return result


@pytest.mark.parametrize("decision", WRONG_TIMES, ids=repr)
def test_a_malformed_decision_time_is_refused_with_the_typed_error(decision: object) -> None:
    assert_runs_the_loaded_core(conflict_detection)
    checker = detector()
    with pytest.raises(DecisionTimeRequired) as refused:
        checker.check_and_lock(REQUEST, 1, ActivenessSet(consumed=frozenset({CONTRACT})),
                               decision)
    assert refused.value.error_id == "CONFLICT_DETECTION_STATE"
    assert repr(decision) in refused.value.message  # what came, not what a coercion made
    assert checker.in_flight() == () and checker.lock_holders(CONTRACT) == ()
    with pytest.raises(DecisionTimeRequired):  # a store row without a usable decision time
        RequestLocks(REQUEST, 1, decision, frozenset({CONTRACT}), frozenset())  # type: ignore[arg-type]


def test_a_well_formed_request_still_locks_and_restores() -> None:
    checker = detector()
    result = checker.check_and_lock(REQUEST, 1, ActivenessSet(consumed=frozenset({CONTRACT})), 9)
    assert result.is_successful and checker.next_deadline_us() == 9
    locks = checker.locks_of(REQUEST)
    assert (locks.decision_time_us, locks.activeness_result) == (9, result)
    with pytest.raises(DecisionTimeRequired):  # before the request
        RequestLocks(REQUEST, 10, 9, frozenset(), frozenset())
    restored = ConflictDetector(complete_acs=True)
    restored.restore([locks])
    assert restored.lock_holders(CONTRACT) == (REQUEST,) and restored.timed_out(10) == (REQUEST,)
    other = ActivenessResult(RequestId("request-2"))
    with pytest.raises(conflict_detection.ConflictDetectionError):
        RequestLocks(REQUEST, 1, 9, frozenset(), frozenset(), other)


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [None, 1.5, True, "250000", 2.5e5], ids=repr)
def test_a_parameter_of_the_wrong_type_is_refused_with_the_typed_error(
    field: str, value: object
) -> None:
    assert_runs_the_loaded_core(parameters)
    with pytest.raises(InvalidDomainParameters) as refused:
        replace(DomainParameters(), **{field: value})  # type: ignore[arg-type]
    assert refused.value.error_id == "INVALID_DOMAIN_PARAMETERS"
    assert field in refused.value.message and repr(value) in refused.value.message
    with pytest.raises(InvalidDomainParameters):
        DomainParameters(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", [None, "SIGNATORY", 0, ConfirmationPolicy.FULL.value],
                         ids=repr)
def test_a_policy_of_the_wrong_type_is_refused_with_the_typed_error(policy: object) -> None:
    with pytest.raises(InvalidDomainParameters) as refused:
        DomainParameters(default_confirmation_policy=policy)  # type: ignore[arg-type]
    assert "default_confirmation_policy" in refused.value.message


def test_well_formed_parameters_keep_their_values_and_deadlines() -> None:
    p = DomainParameters(confirmation_response_timeout_us=2_000, mediator_reaction_timeout_us=3_000,
                         default_confirmation_policy=ConfirmationPolicy.FULL)
    assert p.decision_deadline_us(10_000) == 15_000
    assert replace(p, max_request_size_bytes=1024).max_request_size_bytes == 1024
    assert p == DomainParameters(2_000, 3_000, default_confirmation_policy=ConfirmationPolicy.FULL)
    assert hash(p) == hash(replace(p))
    with pytest.raises(AttributeError):  # still frozen
        p.topology_change_delay_us = 5  # type: ignore[misc]
