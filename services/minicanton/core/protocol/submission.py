"""Submission: from a command to one confirmation request batch (DESIGN.md §3 steps 1-2).

Theory of operation
-------------------
`prepare_submission` is the whole submitting side, pure (time and randomness are arguments):

1. *Interpret* the commands with the engine against the submitters' view of the ledger
   (`interpret_submission`; the transaction seed comes from the injected entropy).
2. *Check the submitter*: this participant hosts every acting party with Submission
   permission in the topology snapshot it submits against.
3. *Decompose and build the tree*: views by the domain's confirmation policy, the Merkle
   tree salted from a fresh seed, with the submitter, common and participant metadata
   (`build_request_tree`).
4. *Check the recipients*: every informee is hosted, every participant that will receive a
   view has an encryption key and has vetted every package the transaction uses; and the
   request's size against the domain's `max_request_size_bytes` (`SEQUENCER_REQUEST_TOO_LARGE`
   before anything is recorded, rather than a refusal by the sequencer after).
5. *Assemble the batch* (`request_batch`): for each view, `view_tree` of that view encrypted
   for exactly the participants hosting its entitled parties (its informees and those of its
   ancestor views) — a participant never receives, even encrypted, a view it is not entitled
   to; the informee message to the mediator; one root-hash message per informee participant,
   each addressed to it and the mediator. The submitter signs the root hash once and only the
   root views' messages carry the signature, and the root-hash messages name no participant:
   only those entitled to a root view (which reveals the submitter metadata) and the mediator
   learn who submitted (seed 003's sender privacy; Canton signs top-level views only).

The message id is derived from the root hash, which is unique per submission (the tree is
salted with fresh entropy), so a resend of the same request is deduplicated by the sequencer
and two submissions never collide. Each step is its own function, so a test can play a
malicious submitter by running the real path with one step altered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from minicanton.core.crypto.encryption import (
    EncryptionKeyPair,
    EncryptionPublicKey,
    SessionKeys,
    encrypt_view,
)
from minicanton.core.crypto.signing import Signature, SigningKeyPair
from minicanton.core.entropy import Entropy
from minicanton.core.errors import MinicantonError
from minicanton.core.hashing import Hash
from minicanton.core.ids import MemberId, PackageId, ParticipantId, PartyId, TransactionId
from minicanton.core.lf.commands import Command
from minicanton.core.lf.engine import ContractLookup, SubmissionResult, interpret
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.lf.transaction import Transaction
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy, VipPredicate
from minicanton.core.protocol.deduplication import ChangeId, DeduplicationPeriod
from minicanton.core.protocol.ledger_model import transaction_id_of
from minicanton.core.protocol.merkle import (
    GenTransactionTree,
    build_tree,
    encode_tree,
    entitled_parties,
    root_hash,
    view_hash,
    view_tree,
    views_with_paths,
)
from minicanton.core.protocol.messages import (
    InformeeMessage,
    RootHashMessage,
    encode_protocol_message,
)
from minicanton.core.protocol.view_message import (
    EncryptedViewMessage,
    encode_view_message,
    sign_root_hash,
)
from minicanton.core.protocol.views import (
    CommonMetadata,
    ParticipantMetadata,
    SubmitterMetadata,
    decompose,
)
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.sequencing.errors import RequestTooLarge
from minicanton.core.topology.snapshot import TopologySnapshot

SEED_BYTES = 32
REQUEST_MESSAGE_ID_PREFIX = "request-"


class SubmittingPartyNotHosted(MinicantonError):
    error_id = "SUBMITTING_PARTY_NOT_KNOWN_ON_LEDGER"


class InformeesNotActive(MinicantonError):
    error_id = "INFORMEES_NOT_ACTIVE"


class PackageNotVettedByRecipients(MinicantonError):
    error_id = "PACKAGE_NOT_VETTED_BY_RECIPIENTS"


class NoMediatorAvailable(MinicantonError):
    error_id = "NO_MEDIATOR_AVAILABLE"


@dataclass(frozen=True, slots=True)
class ParticipantIdentity:
    """Who this participant is on the domain, with its keys (never printed)."""

    participant_id: ParticipantId
    domain_id: str
    signing_key: SigningKeyPair
    encryption_key: EncryptionKeyPair

    def __repr__(self) -> str:
        return f"ParticipantIdentity({self.participant_id})"


@dataclass(frozen=True, slots=True)
class CommandSubmission:
    """A Ledger API submission as the participant machine takes it (Daml's `Commands`)."""

    commands: tuple[Command, ...]
    act_as: frozenset[PartyId]
    application_id: str
    command_id: str
    submission_id: str
    read_as: frozenset[PartyId] = frozenset()
    workflow_id: str = ""
    ledger_time_us: int | None = None  # None: the submission time
    deduplication_period: DeduplicationPeriod | None = None

    @property
    def change_id(self) -> ChangeId:
        return ChangeId(self.application_id, self.command_id, frozenset(self.act_as))


@dataclass(frozen=True, slots=True)
class PreparedSubmission:
    """A confirmation request ready to send, with what the submitter tracks it by."""

    submission: CommandSubmission
    message_id: str
    max_sequencing_time_us: int
    batch: Batch
    root_hash: Hash
    result: SubmissionResult

    @property
    def change_id(self) -> ChangeId:
        return self.submission.change_id

    @property
    def transaction_id(self) -> TransactionId:
        return transaction_id_of(self.root_hash)


def request_message_id(root: Hash) -> str:
    return REQUEST_MESSAGE_ID_PREFIX + root.hex


def prepare_submission(
    submission: CommandSubmission,
    *,
    identity: ParticipantIdentity,
    contracts: ContractLookup,
    registry: PackageRegistry,
    snapshot: TopologySnapshot,
    now_us: int,
    max_sequencing_time_us: int,
    entropy: Entropy,
    sessions: SessionKeys | None = None,
) -> PreparedSubmission:
    """The whole submitting side; raises a typed `MinicantonError` if it cannot submit. With
    `sessions`, views are sealed under the session keys of their recipients (ADR 18)."""
    check_submitter(submission.act_as, identity.participant_id, snapshot)
    result = interpret_submission(submission, contracts, registry, now_us, entropy)
    tree = build_request_tree(
        submission, result, identity, snapshot, now_us, max_sequencing_time_us, entropy
    )
    check_recipients(tree, result.transaction, snapshot)
    root = root_hash(tree)
    batch = request_batch(tree, identity, snapshot, entropy, root=root, sessions=sessions,
                          now_us=now_us)
    check_request_size(batch, snapshot.parameters.max_request_size_bytes)
    return PreparedSubmission(
        submission, request_message_id(root), max_sequencing_time_us, batch, root, result
    )


def interpret_submission(
    submission: CommandSubmission,
    contracts: ContractLookup,
    registry: PackageRegistry,
    now_us: int,
    entropy: Entropy,
) -> SubmissionResult:
    ledger_time_us = now_us if submission.ledger_time_us is None else submission.ledger_time_us
    return interpret(
        submission.commands, frozenset(submission.act_as), frozenset(submission.read_as),
        ledger_time_us, entropy.random_bytes(SEED_BYTES), contracts, registry,
    )


def check_submitter(
    act_as: Iterable[PartyId], participant: ParticipantId, snapshot: TopologySnapshot
) -> None:
    """Raise unless `participant` hosts every party of `act_as` with Submission permission."""
    for party in sorted(act_as):
        permission = snapshot.hosting_participants(party).get(participant)
        if permission is None or not permission.can_submit:
            raise SubmittingPartyNotHosted(
                f"party {party} is not hosted by {participant} with submission permission "
                f"at {snapshot.timestamp_us}"
            )


def vip_predicate(snapshot: TopologySnapshot) -> VipPredicate:
    """A party counts as VIP when a VIP participant hosts it (the VIP policy's question)."""

    def is_vip(party: str) -> bool:
        hosts = snapshot.hosting_participants(PartyId(party))
        return any(snapshot.is_vip(participant) for participant in hosts)

    return is_vip


def choose_mediator(snapshot: TopologySnapshot) -> MemberId:
    mediators = sorted(snapshot.mediators())
    if not mediators:
        raise NoMediatorAvailable(f"the domain has no active mediator at {snapshot.timestamp_us}")
    return mediators[0]


def build_request_tree(
    submission: CommandSubmission,
    result: SubmissionResult,
    identity: ParticipantIdentity,
    snapshot: TopologySnapshot,
    now_us: int,
    max_sequencing_time_us: int,
    entropy: Entropy,
) -> GenTransactionTree:
    policy: ConfirmationPolicy = snapshot.parameters.default_confirmation_policy
    views = decompose(
        result.transaction, result.node_seeds, result.input_contracts, policy,
        result.ledger_time_us, vip_predicate(snapshot),
    )
    submitter = SubmitterMetadata(
        frozenset(submission.act_as), submission.application_id, submission.command_id,
        identity.participant_id, submission.submission_id, max_sequencing_time_us,
    )
    common = CommonMetadata(policy, identity.domain_id, choose_mediator(snapshot))
    participant = ParticipantMetadata(result.ledger_time_us, now_us, submission.workflow_id)
    return build_tree(submitter, common, participant, views, entropy.random_bytes(SEED_BYTES))


def hosting_participants(
    parties: Iterable[str], snapshot: TopologySnapshot
) -> frozenset[ParticipantId]:
    """Every participant hosting one of `parties`, whatever its permission."""
    return frozenset(p for party in parties for p in snapshot.hosting_participants(PartyId(party)))


def check_recipients(
    tree: GenTransactionTree, transaction: Transaction, snapshot: TopologySnapshot
) -> None:
    """Every informee hosted; every view recipient with a key and the packages vetted."""
    informees = {p for parties in entitled_parties(tree).values() for p in parties}
    unhosted = sorted(p for p in informees if not snapshot.hosting_participants(PartyId(p)))
    if unhosted:
        raise InformeesNotActive(f"informees {unhosted} are hosted by no participant")
    packages = {PackageId(node.template_id.package_id) for node in transaction.nodes}
    for participant in sorted(hosting_participants(informees, snapshot)):
        missing = sorted(packages - snapshot.vetted_packages(participant))
        if missing:
            raise PackageNotVettedByRecipients(
                f"participant {participant} has not vetted packages {missing}"
            )
        if snapshot.current_encryption_key(MemberId(participant)) is None:
            raise InformeesNotActive(f"participant {participant} has no encryption key")


def check_request_size(batch: Batch, max_request_size_bytes: int) -> None:
    """Refuse a request the domain's sequencers must refuse: its envelopes' contents alone
    (less than the signed request the sequencer measures) exceed the domain's maximum."""
    size = sum(len(envelope.content) for envelope in batch.envelopes)
    if size > max_request_size_bytes:
        raise RequestTooLarge(
            f"the confirmation request holds {size} bytes of views and messages, more than "
            f"the domain's maximum request size of {max_request_size_bytes} bytes"
        )


def request_batch(
    tree: GenTransactionTree,
    identity: ParticipantIdentity,
    snapshot: TopologySnapshot,
    entropy: Entropy,
    signature: Signature | None = None,
    *,
    root: Hash | None = None,
    sessions: SessionKeys | None = None,
    now_us: int = 0,
) -> Batch:
    """The confirmation request: view envelopes, the informee message, root-hash messages.
    `root` is the tree's root hash when the caller has it already."""
    root = root_hash(tree) if root is None else root
    signed = signature or sign_root_hash(root, identity.signing_key)
    envelopes = view_envelopes(tree, signed, snapshot, entropy, sessions=sessions,
                               now_us=now_us)
    envelopes += mediator_envelopes(tree, identity.participant_id, snapshot)
    return Batch(tuple(envelopes))


def view_recipients(
    tree: GenTransactionTree, snapshot: TopologySnapshot
) -> dict[tuple[int, ...], frozenset[ParticipantId]]:
    """Each view's position -> the participants hosting a party entitled to it."""
    return {
        path: hosting_participants(parties, snapshot)
        for path, parties in entitled_parties(tree).items()
    }


def view_envelopes(
    tree: GenTransactionTree,
    signature: Signature,
    snapshot: TopologySnapshot,
    entropy: Entropy,
    recipients: Mapping[tuple[int, ...], frozenset[ParticipantId]] | None = None,
    *,
    sessions: SessionKeys | None = None,
    now_us: int = 0,
) -> list[Envelope]:
    addressed = view_recipients(tree, snapshot) if recipients is None else recipients
    envelopes = []
    for path, view in views_with_paths(tree):
        participants = sorted(addressed[path])
        keys = _encryption_keys(participants, snapshot)
        sealed = encrypt_view(encode_tree(view_tree(tree, path)), view_hash(view), keys, entropy,
                              sessions, now_us)
        message = EncryptedViewMessage(path, signature if len(path) == 1 else None, sealed)
        envelopes.append(Envelope(_members(participants), encode_view_message(message)))
    return envelopes


def _encryption_keys(
    participants: Sequence[ParticipantId], snapshot: TopologySnapshot
) -> dict[ParticipantId, EncryptionPublicKey]:
    keys = {}
    for participant in participants:
        key = snapshot.current_encryption_key(MemberId(participant))
        if key is None:
            raise InformeesNotActive(f"participant {participant} has no encryption key")
        keys[participant] = key
    return keys


def mediator_envelopes(
    tree: GenTransactionTree, submitter: ParticipantId, snapshot: TopologySnapshot
) -> list[Envelope]:
    informee_message = InformeeMessage.create(tree, submitter)
    mediator = MemberRecipient(informee_message.mediator)
    envelopes = [Envelope((mediator,), encode_protocol_message(informee_message))]
    root_hash_message = encode_protocol_message(RootHashMessage(informee_message.root_hash))
    for participant in sorted(hosting_participants(informee_message.informees, snapshot)):
        envelopes.append(
            Envelope((MemberRecipient(MemberId(participant)), mediator), root_hash_message)
        )
    return envelopes


def _members(participants: Iterable[ParticipantId]) -> tuple[MemberRecipient, ...]:
    return tuple(MemberRecipient(MemberId(p)) for p in participants)
