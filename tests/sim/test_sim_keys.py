"""Contract key uniqueness across requests: the maintainer's participant locks a key a request
creates, so two racing creates of one key cannot both commit; exercising by key is checked
against the key's assignment at the maintainer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.sim.dvp_flow import create, rec
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.sim_domain import ACCOUNTS_PACKAGE, SimDomain

from minicanton.core.errors import MinicantonError
from minicanton.core.lf.commands import ExerciseByKeyCommand, template_reference
from minicanton.core.lf.value import NumericValue, PartyValue, TextValue

KEY_CODES = {"LOCAL_VERDICT_LOCKED_KEYS", "LOCAL_VERDICT_DUPLICATE_KEY"}


def accounts_network(seed: int = 0) -> SimNetwork:
    net = SimNetwork(SimDomain({"bank": ("Bank",), "alice": ("Alice",)}, (ACCOUNTS_PACKAGE,)),
                     seed=seed)
    net.invariants.append(check_invariants)
    return net


def open_account(net: SimNetwork, number: str, command_id: str, balance: str = "10") -> None:
    net.submit("bank", create("accounts:Account", bank=PartyValue(net.domain.party("Bank")),
                              holder=PartyValue(net.domain.party("Alice")),
                              number=TextValue(number), balance=NumericValue(Decimal(balance))),
               act_as=["Bank"], command_id=command_id)


def test_two_racing_creates_of_one_key_commit_once() -> None:
    net = accounts_network()
    open_account(net, "42", "first")
    open_account(net, "42", "second")  # interpreted before the first is sequenced
    net.run(advance_time=True)
    outcomes = {c.change_id.command_id: c for _, c in net.store("bank").completions}
    assert outcomes["first"].accepted
    rejection = outcomes["second"].rejection
    assert rejection is not None and rejection.error_id in KEY_CODES
    assert len(net.store("bank").active) == len(net.store("alice").active) == 1


def test_a_create_of_an_assigned_key_is_refused_at_submission() -> None:
    net = accounts_network()
    open_account(net, "7", "first")
    net.run()
    with pytest.raises(MinicantonError) as raised:
        open_account(net, "7", "again")
    assert raised.value.error_id == "DUPLICATE_CONTRACT_KEY"


def test_exercise_by_key_follows_the_key_to_its_current_contract() -> None:
    net = accounts_network()
    open_account(net, "9", "open")
    net.run()
    key = rec(bank=PartyValue(net.domain.party("Bank")), number=TextValue("9"))
    withdraw = ExerciseByKeyCommand(template_reference("accounts:Account"), key, "Withdraw",
                                    rec(amount=NumericValue(Decimal("3"))))
    net.submit("alice", withdraw, act_as=["Alice"], command_id="w1")
    net.run()
    net.submit("alice", withdraw, act_as=["Alice"], command_id="w2")
    net.run()
    assert [c.accepted for _, c in net.store("alice").completions] == [True, True]
    (account,) = net.store("bank").active.values()
    assert dict(account.argument.fields)["balance"] == NumericValue(Decimal("4"))
