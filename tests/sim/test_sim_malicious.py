"""A malicious submitter: Alice's participant runs the real submission path with one step
altered. Every variant is rejected and nothing is committed anywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from tests.sim.altered_submission import altered_submission, without_views_for
from tests.sim.dvp_flow import DvpContracts, exercise, iou, setup_until_dvp
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.lf.contract_id import derive_contract_id
from minicanton.core.lf.engine import ContractLookup, SubmissionResult
from minicanton.core.lf.transaction import CreateNode, NodeId
from minicanton.core.lf.value import NumericValue, RecordValue
from minicanton.core.protocol import validation
from minicanton.core.protocol.submission import CommandSubmission, PreparedSubmission
from minicanton.core.sequencing.batch import Batch, MemberRecipient

TTL_US = 60_000_000


def malicious_submit(
    net: SimNetwork,
    submission: CommandSubmission,
    *,
    alter_lookup: Callable[[ContractLookup], ContractLookup] = lambda c: c,
    alter_result: Callable[[SubmissionResult], SubmissionResult] = lambda r: r,
    alter_batch: Callable[[Batch], Batch] = lambda b: b,
    forge_with: SigningKeyPair | None = None,
) -> PreparedSubmission:
    """Alice's participant's real submission steps, with the given step altered."""
    node = net.participants["alice"]
    prepared = altered_submission(
        submission, identity=node.machine.config.identity,
        contracts=alter_lookup(node.store.lookup(list(submission.act_as))),
        registry=net.domain.registry, snapshot=net.domain.snapshot(net.clock_us),
        now_us=net.clock_us, ttl_us=TTL_US, entropy=node.entropy, alter_result=alter_result,
        alter_batch=alter_batch, forge_with=forge_with)
    return net.submit_prepared("alice", prepared)


def swap_submission(net: SimNetwork, contracts: DvpContracts) -> CommandSubmission:
    return CommandSubmission((exercise("dvp:DvP", contracts.dvp, "Swap"),),
                             frozenset({net.domain.party("Alice")}), "sim", "evil-swap", "evil-1")


def inflate_new_iou(result: SubmissionResult) -> SubmissionResult:
    """Bob would receive a million instead of 100 (under the id such an Iou would have): the
    view no longer re-interprets."""
    nodes = list(result.transaction.nodes)
    for index, node in enumerate(nodes):
        if isinstance(node, CreateNode) and node.template_id.entity_name == "Iou":
            fields = tuple((k, NumericValue(Decimal("1000000")) if k == "amount" else v)
                           for k, v in node.argument.fields)
            argument = RecordValue(node.argument.type_id, fields)
            contract_id = derive_contract_id(result.node_seeds[NodeId(index)],
                                             result.ledger_time_us, node.template_id, argument)
            nodes[index] = replace(node, contract_id=contract_id, argument=argument)
    return replace(result, transaction=replace(result.transaction, nodes=tuple(nodes)))


def withhold_from(net: SimNetwork, name: str) -> Callable[[Batch], Batch]:
    return without_views_for(MemberRecipient(net.domain.participants[name].id))


@pytest.fixture
def ready() -> tuple[SimNetwork, DvpContracts, dict[str, int]]:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    contracts = setup_until_dvp(net)
    committed = {n: len(net.store(n).transactions) for n in net.participants}
    return net, contracts, committed


def assert_nothing_committed(net: SimNetwork, committed: dict[str, int]) -> None:
    for name in net.participants:
        assert len(net.store(name).transactions) == committed[name], name
        assert net.machine(name).conflict_detector.in_flight() == ()


def test_a_view_that_does_not_match_reinterpretation_is_rejected(ready) -> None:
    net, contracts, committed = ready
    malicious_submit(net, swap_submission(net, contracts), alter_result=inflate_new_iou)
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("evil-swap")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.CONFORMANCE
    assert_nothing_committed(net, committed)


def test_a_view_withheld_from_an_informee_participant_is_rejected(ready) -> None:
    net, contracts, committed = ready
    malicious_submit(net, swap_submission(net, contracts), alter_batch=withhold_from(net, "sr"))
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("evil-swap")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.MISSING_VIEWS
    assert completion.rejection.participants == (net.domain.participant_of("sr"),)
    assert_nothing_committed(net, committed)


def test_a_forged_submitter_signature_is_rejected(ready) -> None:
    net, contracts, committed = ready
    forger = SigningKeyPair.generate(SeededEntropy(b"forger"))
    malicious_submit(net, swap_submission(net, contracts), forge_with=forger)
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("evil-swap")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.AUTHENTICATION
    assert_nothing_committed(net, committed)


def test_acting_for_a_party_the_submitter_does_not_host_is_rejected(ready) -> None:
    net, _, committed = ready
    submission = CommandSubmission((iou(net, owner="Alice", amount="5"),),
                                   frozenset({net.domain.party("Bank")}), "sim", "evil-iou",
                                   "evil-2")
    malicious_submit(net, submission)
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("evil-iou")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.SUBMITTER_NOT_AUTHORIZED
    assert_nothing_committed(net, committed)
