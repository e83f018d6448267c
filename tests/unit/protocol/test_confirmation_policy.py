"""The VIP policy's confirming parties, and where they differ from Canton's on purpose
(see the `confirmation_policy` module docstring)."""

from __future__ import annotations

import pytest

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ExerciseNode, FetchNode, Node
from minicanton.core.lf.value import UnitValue
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmationPolicyNotApplicable,
    confirmation_parameters,
)

BANK, ALICE, AUDITOR = "bank::1220aa", "alice::1220aa", "auditor::1220aa"
TEMPLATE = Identifier("a" * 64, "M", "Iou")
STAKEHOLDERS = frozenset({BANK, ALICE, AUDITOR})  # Bank signs, Alice and Auditor observe


def _fetch() -> FetchNode:
    return FetchNode("c1", TEMPLATE, frozenset({ALICE}), frozenset({BANK}), STAKEHOLDERS)


def _exercise(consuming: bool) -> ExerciseNode:
    return ExerciseNode(
        contract_id="c1", template_id=TEMPLATE, choice="Look", choice_argument=UnitValue(),
        acting_parties=frozenset({ALICE}), consuming=consuming, signatories=frozenset({BANK}),
        stakeholders=STAKEHOLDERS, choice_observers=frozenset(), children=(),
        exercise_result=None,
    )


@pytest.mark.parametrize("node", [_fetch(), _exercise(consuming=False)],
                         ids=["fetch", "non-consuming exercise"])
def test_a_vip_observer_the_ledger_model_does_not_inform_never_confirms(node: Node) -> None:
    # Canton would make AUDITOR a confirming informee here; we keep Daml's informees.
    vips = {BANK, AUDITOR}
    parameters = confirmation_parameters(node, ConfirmationPolicy.VIP, vips.__contains__)
    assert parameters.informees == {BANK, ALICE}
    assert parameters.confirmers == {BANK}
    assert parameters.threshold == 1
    with pytest.raises(ConfirmationPolicyNotApplicable):  # as Canton's `choose`
        confirmation_parameters(node, ConfirmationPolicy.VIP, {AUDITOR}.__contains__)


def test_a_vip_observer_that_is_an_informee_confirms() -> None:
    parameters = confirmation_parameters(_exercise(consuming=True), ConfirmationPolicy.VIP,
                                         {BANK, AUDITOR}.__contains__)
    assert parameters.informees == STAKEHOLDERS
    assert parameters.confirmers == {BANK, AUDITOR}
    assert parameters.threshold == 1
