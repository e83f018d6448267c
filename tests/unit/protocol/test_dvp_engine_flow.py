"""The seed's DvP run through the real engine, then the ledger model, views, Merkle tree and
encryption: who is informed of what, who confirms, and what each participant can decrypt."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from minicanton.core.crypto.encryption import EncryptionKeyPair, decrypt_view, encrypt_view
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, ParticipantId
from minicanton.core.lf.commands import CreateCommand, ExerciseCommand, template_reference
from minicanton.core.lf.engine import SubmissionResult, interpret, reinterpret
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import ContractInstance, Node
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    Value,
)
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.ledger_model import (
    divulged_contracts,
    informees_of_node,
    preorder,
    witnesses,
)
from minicanton.core.protocol.merkle import (
    Leaf,
    build_tree,
    decode_tree,
    encode_tree,
    entitled_parties,
    root_hash,
    verify_membership,
    view_hash,
    view_tree,
    views_with_paths,
)
from minicanton.core.protocol.views import (
    CommonMetadata,
    NewView,
    ParticipantMetadata,
    SubmitterMetadata,
    decompose,
)

DVP_SOURCE = (Path(__file__).resolve().parents[3] / "examples" / "dvp.py").read_text()
REGISTRY = PackageRegistry([load_package(DVP_SOURCE)])
LEDGER_TIME_US = 1_700_000_000_000_000
ALICE, BOB, BANK, SR = "Alice::1220aa", "Bob::1220bb", "Bank::1220cc", "SR::1220dd"
HOSTED_ON = {p: ParticipantId(f"PAR::{p.split(':')[0].lower()}::1220ee") for p in
             (ALICE, BOB, BANK, SR)}
KEYS = {pid: EncryptionKeyPair.generate(SeededEntropy(pid.encode())) for pid in
        HOSTED_ON.values()}


def rec(**fields: Value) -> RecordValue:
    return RecordValue(None, tuple(fields.items()))


@dataclass
class Ledger:
    """Active contracts, visible to stakeholders and to parties they were divulged to."""

    active: dict[str, ContractInstance] = field(default_factory=dict)
    divulged: dict[str, set[str]] = field(default_factory=dict)
    count: int = 0

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        return self.active.get(contract_id)

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return None

    def visible(self, readers: frozenset[str]) -> ReaderView:
        return ReaderView(self, readers)

    def submit(self, act_as: str, *commands: CreateCommand | ExerciseCommand) -> SubmissionResult:
        readers = frozenset({act_as})
        self.count += 1
        result = interpret(list(commands), readers, frozenset(), LEDGER_TIME_US,
                           f"seed-{self.count}".encode() * 2, self.visible(readers), REGISTRY)
        for party in (ALICE, BOB, BANK, SR):
            for contract_id in divulged_contracts(result.transaction, party):
                self.divulged.setdefault(contract_id, set()).add(party)
        for contract_id in result.consumed_contracts:
            self.active.pop(contract_id, None)
        self.active.update((c.contract_id, c) for c in result.active_created)
        return result


@dataclass
class ReaderView:
    ledger: Ledger
    readers: frozenset[str]

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        contract = self.ledger.active.get(contract_id)
        if contract is None:
            return None
        seen = contract.stakeholders | self.ledger.divulged.get(contract_id, set())
        return contract if seen & self.readers else None

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return None


def create(name: str, **fields: Value) -> CreateCommand:
    return CreateCommand(template_reference(f"dvp:{name}"), rec(**fields))


def run_dvp() -> tuple[Ledger, SubmissionResult, SubmissionResult]:
    ledger = Ledger()
    iou = ledger.submit(BANK, create("Iou", issuer=PartyValue(BANK), owner=PartyValue(ALICE),
                                     amount=NumericValue(Decimal("100")),
                                     currency=TextValue("USD")))
    share = ledger.submit(SR, create("Share", registry=PartyValue(SR), owner=PartyValue(BOB),
                                     company=TextValue("ACME"), quantity=Int64Value(10)))
    (iou_id,), (share_id,) = iou.created_contracts, share.created_contracts
    proposal = ledger.submit(ALICE, create(
        "DvpProposal", buyer=PartyValue(ALICE), seller=PartyValue(BOB),
        iou=ContractIdValue(iou_id), company=TextValue("ACME"), quantity=Int64Value(10)))
    (proposal_id,) = proposal.created_contracts
    accept = ledger.submit(BOB, ExerciseCommand(template_reference("dvp:DvpProposal"),
                                                proposal_id, "Accept",
                                                rec(share=ContractIdValue(share_id))))
    (dvp_id,) = accept.created_contracts
    swap = ledger.submit(ALICE, ExerciseCommand(template_reference("dvp:DvP"), dvp_id, "Swap",
                                                rec()))
    return ledger, accept, swap


LEDGER, ACCEPT, SWAP = run_dvp()


def _leg_contracts(entity: str) -> set[str]:
    ids = {cid for cid, c in SWAP.input_contracts.items() if c.template_id.entity_name == entity}
    return ids | {cid for cid, c in SWAP.created_contracts.items()
                  if c.template_id.entity_name == entity}


def _views(result: SubmissionResult, policy: ConfirmationPolicy,
           vips: frozenset[str] = frozenset()) -> tuple[NewView, ...]:
    return decompose(result.transaction, result.node_seeds, result.input_contracts, policy,
                     result.ledger_time_us, vips.__contains__)


def test_after_accept_the_buyer_has_the_share_divulged() -> None:
    (share_id,) = _leg_contracts("Share") & set(SWAP.input_contracts)
    assert divulged_contracts(ACCEPT.transaction, ALICE) == {share_id}
    assert LEDGER.divulged[share_id] == {ALICE}
    assert divulged_contracts(ACCEPT.transaction, BANK) == frozenset()


def test_bank_and_sr_are_informed_only_of_their_own_leg() -> None:
    tx = SWAP.transaction
    shares, ious = _leg_contracts("Share"), _leg_contracts("Iou")
    seen = witnesses(tx)
    for node_id in preorder(tx):
        node: Node = tx.node(node_id)
        contract_id = getattr(node, "contract_id", None)
        if contract_id in shares:
            assert BANK not in informees_of_node(node) and BANK not in seen[node_id]
        if contract_id in ious:
            assert SR not in informees_of_node(node) and SR not in seen[node_id]
    assert len(shares) == 2 and len(ious) == 2


def test_swap_views_and_confirming_parties_under_each_policy() -> None:
    (root,) = _views(SWAP, ConfirmationPolicy.SIGNATORY)
    assert root.common_data.informees == {ALICE, BOB}
    legs = {v.common_data.informees: v for _, v in root.walk()}
    assert set(legs) == {frozenset(s) for s in ({ALICE, BOB}, {BANK, ALICE}, {BANK, BOB},
                                                 {SR, BOB}, {SR, ALICE})}
    confirmers = {i: {c.party for c in v.common_data.confirming_parties}
                  for i, v in legs.items()}
    assert confirmers[frozenset({BANK, ALICE})] == {BANK, ALICE}  # signatory + actor
    assert confirmers[frozenset({BANK, BOB})] == {BANK}  # the new Iou's signatory
    for _, view in _views(SWAP, ConfirmationPolicy.FULL)[0].walk():
        assert view.common_data.threshold == len(view.common_data.informees)
    for _, view in _views(SWAP, ConfirmationPolicy.VIP, frozenset({ALICE, BOB}))[0].walk():
        assert view.common_data.threshold == 1


def test_each_view_reinterprets_from_its_seed_to_the_same_nodes() -> None:
    (root,) = _views(SWAP, ConfirmationPolicy.SIGNATORY)
    for _, view in root.walk():
        data = view.participant_data
        if data.root_seed is None:
            continue
        inputs = {i.contract.contract_id: i.contract
                  for _, v in view.walk() for i in v.participant_data.core_inputs}
        lookup = Ledger(active=inputs)
        again = reinterpret(data.root_node, data.root_seed, LEDGER_TIME_US, lookup, REGISTRY)
        assert again.transaction == view.action_transaction()


def test_each_participant_decrypts_exactly_the_views_it_is_entitled_to() -> None:
    submitter = SubmitterMetadata(frozenset({ALICE}), "dvp", "swap-1",
                                  HOSTED_ON[ALICE], "sub-1", LEDGER_TIME_US + 60_000_000)
    common = CommonMetadata(ConfirmationPolicy.SIGNATORY, "domain::1220ff",
                            MemberId("MED::mediator::1220ff"))
    participant = ParticipantMetadata(LEDGER_TIME_US, LEDGER_TIME_US, "")
    tree = build_tree(submitter, common, participant,
                      _views(SWAP, ConfirmationPolicy.SIGNATORY), b"swap-transaction-seed")
    root = root_hash(tree)
    entropy = SeededEntropy(b"encryption")
    delivered: dict[ParticipantId, list[bytes]] = {pid: [] for pid in KEYS}
    for path, view in views_with_paths(tree):
        recipients = {HOSTED_ON[p] for p in entitled_parties(tree)[path]}
        sealed = encrypt_view(encode_tree(view_tree(tree, path)), view_hash(view),
                              {pid: KEYS[pid].public for pid in recipients}, entropy)
        for pid in recipients:
            delivered[pid].append(decrypt_view(sealed, pid, KEYS[pid]))
    assert [len(delivered[HOSTED_ON[p]]) for p in (ALICE, BOB, BANK, SR)] == [5, 5, 2, 2]
    for plaintext in delivered[HOSTED_ON[BANK]]:
        verify_membership(root, decode_tree(plaintext))
        assert not any(cid.encode() in plaintext for cid in _leg_contracts("Share"))
        assert SR.encode() not in plaintext
    for plaintext in delivered[HOSTED_ON[SR]]:
        held = decode_tree(plaintext)
        verify_membership(root, held)
        assert not any(cid.encode() in plaintext for cid in _leg_contracts("Iou"))
        assert BANK.encode() not in plaintext
        assert all(isinstance(v.view_participant_data, Leaf)
                   for _, v in views_with_paths(held) if isinstance(v.view_common_data, Leaf))
