"""A small real domain for the mediator tests: seeded keys, signed topology transactions in a
real `TopologyState`, and seed 003's DvP Swap as a real Merkle tree. The test plays the
sequencer: it picks timestamps and builds the events the mediator would be delivered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.hashing import Hash
from minicanton.core.ids import (
    MemberId,
    MemberKind,
    ParticipantId,
    PartyId,
    member_id,
    party_id,
)
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import NumericValue, PartyValue, RecordValue, UnitValue
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmingParty,
    ViewConfirmationParameters,
)
from minicanton.core.protocol.merkle import (
    BlindedNode,
    GenTransactionTree,
    Leaf,
    TransactionView,
    build_tree,
)
from minicanton.core.protocol.messages import (
    ConfirmationResponse,
    InformeeMessage,
    LocalApprove,
    LocalVerdict,
    RootHashMessage,
    encode_protocol_message,
)
from minicanton.core.protocol.views import (
    CommonMetadata,
    ParticipantMetadata,
    SubmitterMetadata,
    ViewCommonData,
    decompose,
)
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.sequencing.events import Deliver, SequencedEvent
from minicanton.core.topology.mappings import (
    HostingParticipant,
    NamespaceDelegation,
    OwnerToKeyMapping,
    ParticipantPermission,
    ParticipantState,
    PartyToParticipant,
    TopologyMapping,
    TrustLevel,
)
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.state import TopologyState
from minicanton.core.topology.transactions import TopologyChangeOp, TopologyTransaction

T0_US = 1_700_000_000_000_000
DELAY_US = 250_000
REQUEST_TS_US = T0_US + 1_000_000  # well after the topology is effective
RESPONSE_TIMEOUT_US = 2_000_000
REACTION_TIMEOUT_US = 1_000_000
DOMAIN_ID = "domain::1220" + "cd" * 32
PKG = "a" * 64


@dataclass
class Node_:
    id: MemberId
    key: SigningKeyPair

    @property
    def participant(self) -> ParticipantId:
        return ParticipantId(self.id)


@dataclass
class DvpDomain:
    """Alice, Bob, Bank and SR, each on their own participant; one mediator."""

    seed: int = 3
    vip_bank: bool = False
    entropy: SeededEntropy = field(init=False)
    state: TopologyState = field(init=False)
    root: SigningKeyPair = field(init=False)
    mediator: Node_ = field(init=False)
    participants: dict[str, Node_] = field(init=False, default_factory=dict)
    parties: dict[str, PartyId] = field(init=False, default_factory=dict)
    counter: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.entropy = SeededEntropy(self.seed)
        self.root = SigningKeyPair.generate(self.entropy)
        genesis = DomainParameters(
            confirmation_response_timeout_us=RESPONSE_TIMEOUT_US,
            mediator_reaction_timeout_us=REACTION_TIMEOUT_US,
            topology_change_delay_us=DELAY_US,
        )
        self.state = TopologyState(self.root.fingerprint, genesis)
        self.submit(NamespaceDelegation(self.root.fingerprint, self.root.public, True))
        self.mediator = self.member(MemberKind.MEDIATOR, "mediator")
        self.submit(OwnerToKeyMapping(self.mediator.id, (self.mediator.key.public,)),
                    self.mediator.key)
        for hint in ("alice", "bob", "bank", "sr"):
            trust = TrustLevel.VIP if hint == "bank" and self.vip_bank else TrustLevel.ORDINARY
            node = self.onboard(hint, trust)
            self.participants[hint] = node
            self.host(hint, {hint: ParticipantPermission.SUBMISSION})

    # --- topology ------------------------------------------------------------------------

    def member(self, kind: MemberKind, hint: str) -> Node_:
        key = SigningKeyPair.generate(self.entropy)
        return Node_(member_id(kind, hint, key.fingerprint), key)

    def submit(self, mapping: TopologyMapping, *extra: SigningKeyPair, at_us: int = T0_US) -> None:
        tx = TopologyTransaction(TopologyChangeOp.REPLACE, self.state.next_serial(mapping.key),
                                 mapping)
        self.state.accept(tx.sign(self.root, *extra), at_us)

    def onboard(self, hint: str, trust: TrustLevel = TrustLevel.ORDINARY,
                at_us: int = T0_US) -> Node_:
        node = self.member(MemberKind.PARTICIPANT, hint)
        encryption = EncryptionKeyPair.generate(self.entropy)
        self.submit(OwnerToKeyMapping(node.id, (node.key.public,), (encryption.public,)),
                    node.key, at_us=at_us)
        self.submit(ParticipantState(node.participant, ParticipantPermission.SUBMISSION, trust),
                    at_us=at_us)
        return node

    def host(self, party_hint: str, hosts: dict[str, ParticipantPermission],
             at_us: int = T0_US) -> PartyId:
        party = self.parties.setdefault(party_hint, party_id(party_hint, self.root.fingerprint))
        hosting = tuple(
            HostingParticipant(self.participants[p].participant, perm) for p, perm in hosts.items()
        )
        self.submit(PartyToParticipant(party, hosting), at_us=at_us)
        return party

    def snapshot(self, t_us: int) -> TopologySnapshot:
        return self.state.snapshot(t_us)

    def p(self, hint: str) -> ParticipantId:
        return self.participants[hint].participant

    # --- the DvP swap ----------------------------------------------------------------------

    def swap_tree(self, policy: ConfirmationPolicy = ConfirmationPolicy.SIGNATORY,
                  salt: int = 1) -> GenTransactionTree:
        a, b, bank, sr = (self.parties[h] for h in ("alice", "bob", "bank", "sr"))
        inputs = {
            "iou1": _contract("iou1", "Iou", {bank}, {a}),
            "share1": _contract("share1", "Share", {sr}, {b}),
            "dvp": _contract("dvp", "DvP", {a, b}, set()),
        }
        return self.tree(_swap(a, b, bank, sr), inputs, policy, salt)

    def iou_create_tree(self, policy: ConfirmationPolicy, salt: int = 1,
                        issuer: str = "bank", owner: str = "alice") -> GenTransactionTree:
        """One view: a create of an Iou signed by `issuer`, observed by `owner`."""
        transaction = iou_create(self.parties[issuer], self.parties[owner])
        return self.tree(transaction, {}, policy, salt)

    def tree(self, transaction: Transaction, inputs: dict[str, ContractInstance],
             policy: ConfirmationPolicy, salt: int) -> GenTransactionTree:
        snapshot = self.state.snapshot(REQUEST_TS_US)

        def is_vip(party: str) -> bool:
            hosts = snapshot.hosting_participants(PartyId(party))
            return any(snapshot.is_vip(p) for p in hosts)

        return tree_for(transaction, inputs, policy, salt, self.mediator.id, self.p("alice"),
                        self.parties["alice"], is_vip)

    def informee_participants(self, tree: GenTransactionTree) -> list[ParticipantId]:
        informee = InformeeMessage.create(tree, self.p("alice"))
        snapshot = self.snapshot(REQUEST_TS_US)
        return sorted({p for party in informee.informees
                       for p in snapshot.hosting_participants(party)})

    # --- events as the sequencer would deliver them to the mediator ------------------------

    def event(self, ts_us: int, envelopes: Iterable[Envelope],
              sender: MemberId | None = None) -> SequencedEvent:
        self.counter += 1
        content = Deliver(sender or self.participants["alice"].id, None,
                          Batch(tuple(envelopes)))
        return SequencedEvent(DOMAIN_ID, self.mediator.id, self.counter, ts_us, None, content)

    def to_mediator(self, payload: bytes, *also: ParticipantId) -> Envelope:
        recipients = (MemberRecipient(self.mediator.id), *(MemberRecipient(p) for p in also))
        return Envelope(recipients, payload)

    def request_envelopes(
        self, tree: GenTransactionTree, root_hash_to: dict[ParticipantId, Hash] | None = None,
        submitter: str = "alice",
    ) -> list[Envelope]:
        """The request as `submitter`'s participant sends it (naming itself in the informee
        message, the mediator's alone)."""
        informee = InformeeMessage.create(tree, self.p(submitter))
        if root_hash_to is None:
            root_hash_to = {p: informee.root_hash for p in self.informee_participants(tree)}
        envelopes = [self.to_mediator(encode_protocol_message(informee))]
        for participant, root_hash in root_hash_to.items():
            message = RootHashMessage(root_hash)
            envelopes.append(self.to_mediator(encode_protocol_message(message), participant))
        return envelopes

    def request_event(self, ts_us: int, tree: GenTransactionTree,
                      root_hash_to: dict[ParticipantId, Hash] | None = None,
                      submitter: str = "alice", sender: str | None = None) -> SequencedEvent:
        """The request named as `submitter`'s, sequenced as sent by `sender` (the same unless
        a test forges it)."""
        envelopes = self.request_envelopes(tree, root_hash_to, submitter)
        return self.event(ts_us, envelopes, sender=self.participants[sender or submitter].id)

    def response(
        self, hint: str, request_ts_us: int, informee: InformeeMessage, view_hash: Hash | None,
        parties: Iterable[str], verdict: LocalVerdict | None = None,
        signer: str | None = None,
    ) -> ConfirmationResponse:
        return ConfirmationResponse.create(
            request_ts_us=request_ts_us, view_hash=view_hash, sender=self.p(hint),
            local_verdict=verdict or LocalApprove(),
            confirming_parties=[self.parties[p] for p in parties],
            root_hash=informee.root_hash,
            signing_key=self.participants[signer or hint].key,
        )

    def response_event(self, ts_us: int, *responses: ConfirmationResponse) -> SequencedEvent:
        return self.event(
            ts_us, [self.to_mediator(encode_protocol_message(r)) for r in responses],
            sender=responses[0].sender if responses else None,
        )

    def time_proof(self, ts_us: int) -> SequencedEvent:
        return self.event(ts_us, [], sender=self.mediator.id)


def tree_for(
    transaction: Transaction, inputs: dict[str, ContractInstance], policy: ConfirmationPolicy,
    salt: int, mediator: MemberId, submitter: ParticipantId, act_as: str,
    is_vip: Callable[[str], bool] | None = None,
) -> GenTransactionTree:
    """The full Merkle tree of `transaction`, as a submitting participant builds it."""
    seeds = {NodeId(i): bytes([i, salt]) * 16 for i in range(len(transaction.nodes))}
    views = decompose(transaction, seeds, inputs, policy, T0_US, is_vip)
    submitter_metadata = SubmitterMetadata(
        frozenset({act_as}), "dvp", f"cmd-{salt}", submitter, f"sub-{salt}",
        REQUEST_TS_US + 60_000_000,
    )
    common = CommonMetadata(policy, DOMAIN_ID, mediator)
    participant = ParticipantMetadata(T0_US, T0_US, "wf")
    return build_tree(submitter_metadata, common, participant, views, bytes([salt]) * 32)


Rig = Callable[[ViewConfirmationParameters], ViewConfirmationParameters]


def rigged(tree: GenTransactionTree, rig: Rig) -> GenTransactionTree:
    """`tree` with every view's confirmation parameters replaced by `rig(parameters)`, as a
    malicious submitter could build it (salts kept: it is still a well-formed tree)."""

    def view(node: TransactionView | BlindedNode) -> TransactionView | BlindedNode:
        if isinstance(node, BlindedNode) or isinstance(node.view_common_data, BlindedNode):
            return node
        common = node.view_common_data
        return TransactionView(Leaf(common.salt, ViewCommonData(rig(common.content.parameters))),
                               node.view_participant_data, tuple(map(view, node.subviews)))

    return GenTransactionTree(tree.submitter_metadata, tree.common_metadata,
                              tree.participant_metadata, tuple(map(view, tree.root_views)))


def with_confirmer(party: str, threshold: int | None = None, weight: int = 1) -> Rig:
    """A rig adding `party` as a confirmer (and informee) of weight `weight`, with `threshold`
    (unchanged if None)."""

    def rig(parameters: ViewConfirmationParameters) -> ViewConfirmationParameters:
        confirming = {c.party: c.weight for c in parameters.confirming_parties}
        confirming[party] = weight
        return ViewConfirmationParameters(
            parameters.informees | {party},
            tuple(ConfirmingParty(p, w) for p, w in sorted(confirming.items())),
            parameters.threshold if threshold is None else threshold,
        )

    return rig


def iou_create(issuer: str, owner: str) -> Transaction:
    """One action: the create of an Iou signed by `issuer`, observed by `owner`."""
    return Transaction((_create("iou", "Iou", {issuer}, {owner}),), (NodeId(0),))


def _contract(cid: str, entity: str, sigs: set[str], obs: set[str]) -> ContractInstance:
    template = Identifier(PKG, "dvp", entity)
    return ContractInstance(cid, template, RecordValue(template, ()), frozenset(sigs),
                            frozenset(obs), created_at_us=T0_US - 1)


def _exercise(cid: str, entity: str, actors: set[str], sigs: set[str], stakeholders: set[str],
              children: tuple[int, ...]) -> ExerciseNode:
    return ExerciseNode(
        contract_id=cid, template_id=Identifier(PKG, "dvp", entity), choice="Go",
        choice_argument=UnitValue(), acting_parties=frozenset(actors), consuming=True,
        signatories=frozenset(sigs), stakeholders=frozenset(stakeholders),
        choice_observers=frozenset(), children=tuple(NodeId(c) for c in children),
        exercise_result=None,
    )


def _create(cid: str, entity: str, sigs: set[str], obs: set[str]) -> CreateNode:
    template = Identifier(PKG, "dvp", entity)
    argument = RecordValue(template, (("amount", NumericValue(Decimal("1.0000000000"))),
                                      ("owner", PartyValue(sorted(obs)[0]))))
    return CreateNode(cid, template, argument, frozenset(sigs), frozenset(obs))


def _swap(a: str, b: str, bank: str, sr: str) -> Transaction:
    """Seed 003's Swap: Alice exercises Swap on DvP{A, B}, which transfers Bank's Iou from A
    to B and SR's Share from B to A."""
    nodes: tuple[Node, ...] = (
        _exercise("dvp", "DvP", {a}, {a, b}, {a, b}, (1, 3)),
        _exercise("iou1", "Iou", {a}, {bank}, {bank, a}, (2,)),
        _create("iou2", "Iou", {bank}, {b}),
        _exercise("share1", "Share", {b}, {sr}, {sr, b}, (4,)),
        _create("share2", "Share", {sr}, {a}),
    )
    return Transaction(nodes=nodes, roots=(NodeId(0),))
