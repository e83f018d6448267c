"""Authenticated contract ids: an id commits to its contract's salt, creation time, template
and argument; a validator also recomputes the metadata and ties created contracts to their
create nodes. Contracts here are made by the real engine."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from minicanton.core.lf.commands import CreateCommand, template_reference
from minicanton.core.lf.contract_id import (
    ContractAuthenticationFailed,
    authenticate_contract,
    contract_id_of,
    contract_salt,
)
from minicanton.core.lf.engine import SubmissionResult, interpret
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import ContractInstance, KeyWithMaintainers
from minicanton.core.lf.value import NumericValue, PartyValue, RecordValue, TextValue, Value
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.contract_authentication import ContractCheck
from minicanton.core.protocol.merkle import FIRST_ROOT_VIEW, build_tree
from minicanton.core.protocol.validation_views import open_views
from minicanton.core.protocol.views import (
    CommonMetadata,
    ParticipantMetadata,
    SubmitterMetadata,
    decompose,
)

REPO = Path(__file__).resolve().parents[3]
REGISTRY = PackageRegistry([
    load_package((REPO / "examples" / "dvp.py").read_text()),
    load_package((REPO / "tests" / "sim" / "packages" / "accounts.py").read_text()),
])
LEDGER_TIME_US = 1_700_000_000_000_000
ALICE, BOB, BANK = "Alice::1220aa", "Bob::1220bb", "Bank::1220cc"


class NoContracts:
    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        return None

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return None


def created(template: str, act_as: str, **fields: Value) -> tuple[SubmissionResult,
                                                                    ContractInstance]:
    command = CreateCommand(template_reference(template),
                            RecordValue(None, tuple(fields.items())))
    result = interpret([command], frozenset({act_as}), frozenset(), LEDGER_TIME_US,
                       b"transaction-seed", NoContracts(), REGISTRY)
    (instance,) = result.created_contracts.values()
    return result, replace(instance, salt=contract_salt(result.node_seeds[0]))


def bank_iou() -> tuple[SubmissionResult, ContractInstance]:
    return created("dvp:Iou", BANK, issuer=PartyValue(BANK), owner=PartyValue(ALICE),
                   amount=NumericValue(Decimal("100")), currency=TextValue("USD"))


def account() -> ContractInstance:
    return created("accounts:Account", BANK, bank=PartyValue(BANK), holder=PartyValue(ALICE),
                   number=TextValue("7"), balance=NumericValue(Decimal("5")))[1]


def with_amount(iou: ContractInstance, amount: str) -> ContractInstance:
    fields = tuple((k, NumericValue(Decimal(amount)) if k == "amount" else v)
                   for k, v in iou.argument.fields)
    return replace(iou, argument=RecordValue(iou.argument.type_id, fields))


def test_a_created_contract_authenticates_with_its_salt() -> None:
    _, iou = bank_iou()
    authenticate_contract(iou)
    ContractCheck(REGISTRY, LEDGER_TIME_US).check_contract(iou)
    assert iou.contract_id == contract_id_of(iou.salt or b"", LEDGER_TIME_US, iou.template_id,
                                             iou.argument)
    ContractCheck(REGISTRY, LEDGER_TIME_US).check_contract(account())


@pytest.mark.parametrize("forge", [
    lambda c: replace(c, salt=None),
    lambda c: replace(c, salt=b"\x00" * 32),
    lambda c: replace(c, salt=(c.salt or b"") + b"\x00"),
    lambda c: replace(c, created_at_us=c.created_at_us + 1),
    lambda c: with_amount(c, "1000000"),
    lambda c: replace(c, template_id=replace(c.template_id, entity_name="Share")),
], ids=["no salt", "another salt", "a longer salt", "another time", "another amount",
        "another template"])
def test_an_id_does_not_authenticate_other_contents(forge) -> None:
    _, iou = bank_iou()
    with pytest.raises(ContractAuthenticationFailed):
        authenticate_contract(forge(iou))
    with pytest.raises(ContractAuthenticationFailed):
        ContractCheck(REGISTRY, LEDGER_TIME_US).check_contract(forge(iou))


@pytest.mark.parametrize("forge", [
    lambda c: replace(c, signatories=c.signatories | {ALICE}),
    lambda c: replace(c, observers=frozenset()),
    lambda c: replace(c, observers=c.observers | {BOB}),
    lambda c: replace(c, key=KeyWithMaintainers(TextValue("k"), frozenset({BANK}))),
], ids=["an extra signatory", "no observer", "an extra observer", "a key"])
def test_metadata_must_be_what_the_template_gives(forge) -> None:
    """The id does not hash the metadata in: it is recomputed from the template."""
    _, iou = bank_iou()
    authenticate_contract(forge(iou))  # same salt, time, template and argument
    with pytest.raises(ContractAuthenticationFailed, match="template does not give"):
        ContractCheck(REGISTRY, LEDGER_TIME_US).check_contract(forge(iou))


def test_a_key_must_be_the_templates_with_its_maintainers() -> None:
    real = account()
    assert real.key is not None
    forged = replace(real, key=replace(real.key, maintainers=frozenset({BANK, ALICE})))
    with pytest.raises(ContractAuthenticationFailed):
        ContractCheck(REGISTRY, LEDGER_TIME_US).check_contract(forged)


def test_a_contract_its_template_refuses_is_not_authentic() -> None:
    _, iou = bank_iou()
    negative = with_amount(iou, "-1")  # the Iou's ensure clause wants a positive amount
    negative = replace(negative, contract_id=contract_id_of(
        iou.salt or b"", LEDGER_TIME_US, iou.template_id, negative.argument))
    authenticate_contract(negative)
    with pytest.raises(ContractAuthenticationFailed, match="cannot be re-created"):
        ContractCheck(REGISTRY, LEDGER_TIME_US).check_contract(negative)


def open_root_view(result: SubmissionResult, forge_created=lambda c: c):
    (view,) = decompose(result.transaction, result.node_seeds, {}, ConfirmationPolicy.SIGNATORY,
                        LEDGER_TIME_US)
    data = view.participant_data
    data = replace(data, created_core=tuple(replace(c, contract=forge_created(c.contract))
                                            for c in data.created_core))
    view = replace(view, participant_data=data)
    submitter = SubmitterMetadata(frozenset({BANK}), "app", "cmd",
                                  "PAR::bank::1220ee", "sub", LEDGER_TIME_US + 1)
    common = CommonMetadata(ConfirmationPolicy.SIGNATORY, "domain::1220ff",
                            "MED::mediator::1220ff")
    tree = build_tree(submitter, common, ParticipantMetadata(LEDGER_TIME_US, LEDGER_TIME_US, ""),
                      (view,), b"tree-seed-tree-seed")
    return open_views(tree, (FIRST_ROOT_VIEW,))


def test_a_view_discloses_its_created_contracts_with_their_salt() -> None:
    result, iou = bank_iou()
    view = open_root_view(result)
    assert [c.contract for c in view.data.created_core] == [iou]
    ContractCheck(REGISTRY, LEDGER_TIME_US).check_view(view)


@pytest.mark.parametrize("forge", [
    lambda c: replace(c, salt=b"\x01" * 32),
    lambda c: replace(c, observers=frozenset()),
    lambda c: replace(c, created_at_us=c.created_at_us - 1),
], ids=["a wrong salt", "other metadata than the node", "another creation time"])
def test_a_created_contract_must_be_its_create_node_with_the_right_salt(forge) -> None:
    result, _ = bank_iou()
    with pytest.raises(ContractAuthenticationFailed):
        ContractCheck(REGISTRY, LEDGER_TIME_US).check_view(open_root_view(result, forge))
