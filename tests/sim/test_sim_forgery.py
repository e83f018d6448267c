"""A malicious submitter forging someone else's authority or contracts. Alice's participant
runs the real submission path with one step altered and, being malicious, approves its own
views whatever its validation says: only the honest participants stand in the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from tests.sim.dvp_flow import DvpContracts, create, created_id, exercise, setup_until_dvp
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants, validated_at, view_rejections
from tests.sim.test_sim_malicious import assert_nothing_committed, malicious_submit

from minicanton.core.lf.contract_id import derive_contract_id
from minicanton.core.lf.engine import ContractLookup, SubmissionResult
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance, CreateNode, ExerciseNode
from minicanton.core.lf.value import (
    ContractIdValue,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    Value,
)
from minicanton.core.protocol import validation
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    ConfirmationResponse,
    LocalApprove,
    encode_protocol_message,
)
from minicanton.core.protocol.participant_outcomes import RESPONSE_MESSAGE_ID_PREFIX
from minicanton.core.protocol.submission import CommandSubmission
from minicanton.core.sequencing.batch import Batch, Envelope

MILLION = NumericValue(Decimal("1000000"))
EVIL_RESPONSES = "alice approves everything"


@pytest.fixture
def ready() -> tuple[SimNetwork, DvpContracts, dict[str, int]]:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    contracts = setup_until_dvp(net)
    committed = {n: len(net.store(n).transactions) for n in net.participants}
    return net, contracts, committed


def alice_turns_evil(net: SimNetwork) -> None:
    """From now on Alice's confirmation responses are held, for `approve_all_as_alice`."""
    net.hold(EVIL_RESPONSES, lambda sender, send: sender == "alice"
             and send.message_id.startswith(RESPONSE_MESSAGE_ID_PREFIX))


def approve_all_as_alice(net: SimNetwork) -> None:
    """Replace Alice's held confirmation responses by approvals of the same views."""
    key = net.domain.participants["alice"].key
    for held in net.discard(EVIL_RESPONSES):
        envelopes = []
        for envelope in held.signed.request.batch.envelopes:
            response = decode_protocol_message(envelope.content)
            assert isinstance(response, ConfirmationResponse) and response.view_hash
            approval = ConfirmationResponse.create(
                request_ts_us=response.request_ts_us, view_hash=response.view_hash,
                sender=response.sender, local_verdict=LocalApprove(),
                confirming_parties=response.confirming_parties,
                root_hash=response.root_hash, signing_key=key)
            envelopes.append(Envelope(envelope.recipients, encode_protocol_message(approval)))
        request = held.signed.request
        net.send_raw("alice", Batch(tuple(envelopes)), request.message_id,
                     request.max_sequencing_time_us)


def with_fields(record: RecordValue, **changes: Value) -> RecordValue:
    return RecordValue(record.type_id, tuple((k, changes.get(k, v)) for k, v in record.fields))


def own_iou(net: SimNetwork) -> str:
    """An Iou Alice issues to herself: a contract only she can see."""
    alice = PartyValue(net.domain.party("Alice"))
    command = create("dvp:Iou", issuer=alice, owner=alice, amount=NumericValue(Decimal("5")),
                     currency=TextValue("USD"))
    prepared = net.submit("alice", command, act_as=["Alice"], command_id="own-iou")
    net.run()
    return created_id(prepared, "Iou")


def bank_signs_the_new_iou(net: SimNetwork) -> Callable[[SubmissionResult], SubmissionResult]:
    """The Transfer's new Iou becomes a Bank-issued million, its id derived as the engine
    would (from the node's seed), so it re-interprets on its own."""
    bank = net.domain.party("Bank")

    def alter(result: SubmissionResult) -> SubmissionResult:
        nodes = list(result.transaction.nodes)
        (root_id,) = result.transaction.roots
        root = nodes[root_id]
        assert isinstance(root, ExerciseNode)
        (child_id,) = root.children
        child = nodes[child_id]
        assert isinstance(child, CreateNode)
        argument = with_fields(child.argument, issuer=PartyValue(bank), amount=MILLION)
        contract_id = derive_contract_id(result.node_seeds[child_id], result.ledger_time_us,
                                         child.template_id, argument)
        nodes[child_id] = replace(child, contract_id=contract_id, argument=argument,
                                  signatories=frozenset({bank}))
        nodes[root_id] = replace(root, exercise_result=ContractIdValue(contract_id))
        created = ContractInstance(contract_id, child.template_id, argument,
                                   frozenset({bank}), child.observers, None,
                                   result.ledger_time_us)
        return replace(result, transaction=replace(result.transaction, nodes=tuple(nodes)),
                       created_contracts={contract_id: created})

    return alter


def bank_ious_of(net: SimNetwork, name: str) -> list[ContractInstance]:
    bank = net.domain.party("Bank")
    return [c for c in net.store(name).active.values() if c.signatories == {bank}]


def test_a_bank_signed_create_under_an_exercise_only_alice_sees_is_rejected(ready) -> None:
    net, _, _ = ready
    mine = own_iou(net)
    before = {name: bank_ious_of(net, name) for name in net.participants}
    committed = {n: len(net.store(n).transactions) for n in net.participants}
    alice_turns_evil(net)
    submission = CommandSubmission(
        (exercise("dvp:Iou", mine, "Transfer", recipient=PartyValue(net.domain.party("Alice"))),),
        frozenset({net.domain.party("Alice")}), "sim", "evil-mint", "evil-3")
    prepared = malicious_submit(net, submission, alter_result=bank_signs_the_new_iou(net))
    net.run()
    # the Bank holds the minting subview alone; Alice's honest validation (which her
    # participant ignores) finds the Transfer unfaithful and its grant lacking the Bank
    assert view_rejections(validated_at(net, "bank", prepared)) == [validation.AUTHORIZATION]
    assert view_rejections(validated_at(net, "alice", prepared)) == [
        validation.CONFORMANCE, validation.AUTHORIZATION]
    approve_all_as_alice(net)
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("evil-mint")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.AUTHORIZATION
    assert completion.rejection.participants == (net.domain.participant_of("bank"),)
    assert "gap in the authorization chain" in completion.rejection.message
    assert {name: bank_ious_of(net, name) for name in net.participants} == before
    assert_nothing_committed(net, committed)


class ForgedLedger:
    """Alice's ledger with one contract's instance replaced by a forgery under its real id."""

    def __init__(self, real: ContractLookup, contract_id: str,
                 forge: Callable[[ContractInstance], ContractInstance]) -> None:
        self.real, self.contract_id, self.forge = real, contract_id, forge

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        found = self.real.lookup_contract(contract_id)
        return self.forge(found) if found is not None and contract_id == self.contract_id \
            else found

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return self.real.lookup_key(template_id, key)


def a_million(iou: ContractInstance) -> ContractInstance:
    return replace(iou, argument=with_fields(iou.argument, amount=MILLION))


def bob_observes(net: SimNetwork) -> Callable[[ContractInstance], ContractInstance]:
    def forge(iou: ContractInstance) -> ContractInstance:
        return replace(iou, observers=iou.observers | {net.domain.party("Bob")})

    return forge


@pytest.mark.parametrize("forgery", ["contents", "metadata"])
def test_an_input_contract_forged_under_its_real_id_is_rejected(ready, forgery: str) -> None:
    """Alice transfers the Bank's Iou of 100 to Bob as if it were an Iou of a million (or
    as if Bob observed it): the Bank's participant finds it active and, re-interpreting
    against the forged instance, would approve and store a Bank-signed million."""
    net, contracts, committed = ready
    alice_turns_evil(net)
    forge = a_million if forgery == "contents" else bob_observes(net)
    submission = CommandSubmission(
        (exercise("dvp:Iou", contracts.iou, "Transfer",
                  recipient=PartyValue(net.domain.party("Bob"))),),
        frozenset({net.domain.party("Alice")}), "sim", "evil-transfer", "evil-4")
    prepared = malicious_submit(
        net, submission, alter_lookup=lambda real: ForgedLedger(real, contracts.iou, forge))
    net.run()
    assert view_rejections(validated_at(net, "bank", prepared))[0] == (
        validation.CONTRACT_AUTHENTICATION)
    approve_all_as_alice(net)
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("evil-transfer")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.CONTRACT_AUTHENTICATION
    assert net.domain.participant_of("bank") in completion.rejection.participants
    assert contracts.iou in net.store("bank").active
    assert_nothing_committed(net, committed)
