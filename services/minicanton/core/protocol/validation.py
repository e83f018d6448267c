"""Validation of a confirmation request at one participant (DESIGN.md §3 step 4).

Theory of operation
-------------------
`validate_request` takes the request's envelopes as delivered to this participant, its record
time (the sequencing timestamp) and the topology snapshot at that time, and answers
everything that does not depend on other requests. It is pure and independent of the
participant's state, so the shell may run it for later events while earlier ones commit;
only the conflict detection that follows (in `participant`) must go strictly in order.

1. *Envelopes.* Exactly one root hash must be addressed to us (else the request is ignored
   with an alarm: the mediator rejects it as malformed and we hold nothing). Each view message
   is decrypted with our key and decoded; its tree must hash to that root (Merkle membership)
   and hold the announced view, in full, with the announced hash. Views nested in several
   messages count once.
2. *Authenticity.* A root view reveals the submitter metadata, and its message carries the
   submitting participant's signature over the root hash, which must verify with the keys of
   the participant that metadata names, at the record time; that participant must host every
   acting party with Submission permission, and the record time must not be after the
   request's max sequencing time (a replay after it is void). Nothing else tells us who
   submitted (seed 003's sender privacy: no sender on the event, no participant in the
   root-hash message, no signature on a subview's message), so a participant that holds only
   subviews relies, as in Canton, on the root views' holders and the mediator (which checks
   the submitter against the authenticated sender) to reject a forged request.
3. *Request-wide checks.* Our domain, an active mediator, ledger time within
   ± `ledger_time_record_time_tolerance_us` of the record time: this request's own
   sequencing timestamp, so a replay sequenced later than twice the tolerance after the
   original fails it (`replay_protection`: what bounds how long root hashes are remembered).
4. *Per view.* The packages of its nodes are known and vetted by us; its confirmation
   parameters are those the policy gives its root and core nodes (a submitter cannot drop a
   confirmer); every contract it discloses is authentic (`contract_authentication`: ids
   commit to salted contents, metadata is what the template gives, created contracts are
   their create nodes'); *conformance*: its root action re-run from its seed with the same
   packages and only the disclosed inputs gives the view's nodes, node for node;
   *authorization*: that re-run authorizes the root by the submitters (root view), by what
   the parent's exercise grants (a subview whose parent we hold), or — for a subview without
   its parent, which is rejected if we host one of its root's required authorizers — by those
   authorizers (`view_authorization`); the engine checks every action below the root.

Failures become `LocalReject`s with stable codes: a request-wide one rejects every view we
confirm, a view's own only that view. A root-hash message with no view at all means a view we
are entitled to was withheld: the answer is a rejection for all our confirming parties.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from minicanton.core.crypto.encryption import decrypt_view
from minicanton.core.errors import CryptoError, InvalidArgument, MinicantonError
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import MemberId, PartyId, RequestId
from minicanton.core.lf.engine import reinterpret
from minicanton.core.lf.engine_errors import FailedAuthorization
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.protocol.activeness import ActivenessSet, activeness_set_for
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmationPolicyNotApplicable,
    confirmation_parameters,
)
from minicanton.core.protocol.contract_authentication import (
    ContractAuthenticationFailed,
    ContractCheck,
)
from minicanton.core.protocol.merkle import (
    GenTransactionTree,
    Leaf,
    MerklePath,
    decode_tree,
    verify_membership,
)
from minicanton.core.protocol.message_codec import (
    decode_protocol_message,
)
from minicanton.core.protocol.messages import LocalReject, RootHashMessage
from minicanton.core.protocol.replay_protection import remember_until_us
from minicanton.core.protocol.response_aggregation import may_confirm
from minicanton.core.protocol.submission import ParticipantIdentity, vip_predicate
from minicanton.core.protocol.validation_views import (
    OpenView,
    ViewLedger,
    forest_of_views,
    open_views,
)
from minicanton.core.protocol.view_authorization import root_authorizers
from minicanton.core.protocol.view_message import (
    EncryptedViewMessage,
    ViewMessageDecodeError,
    decode_view_message,
)
from minicanton.core.protocol.view_recipients import recipient_problems
from minicanton.core.protocol.views import CommonMetadata, ParticipantMetadata, SubmitterMetadata
from minicanton.core.sequencing.batch import Recipient
from minicanton.core.topology.errors import MemberKeyNotValid
from minicanton.core.topology.snapshot import TopologySnapshot

MALFORMED = "LOCAL_VERDICT_MALFORMED_REQUEST"
MISSING_VIEWS = "LOCAL_VERDICT_MISSING_VIEWS"
AUTHENTICATION = "LOCAL_VERDICT_AUTHENTICATION_FAILED"
SUBMITTER_NOT_AUTHORIZED = "LOCAL_VERDICT_SUBMITTER_NOT_AUTHORIZED"
SEQUENCED_TOO_LATE = "LOCAL_VERDICT_MAX_SEQUENCING_TIME_EXCEEDED"
LEDGER_TIME = "LOCAL_VERDICT_LEDGER_TIME_OUT_OF_BOUND"
PACKAGE_NOT_VETTED = "LOCAL_VERDICT_PACKAGE_NOT_VETTED"
MALFORMED_VIEW = "LOCAL_VERDICT_MALFORMED_VIEW"
CONFORMANCE = "LOCAL_VERDICT_MODEL_CONFORMANCE"
AUTHORIZATION = "LOCAL_VERDICT_FAILED_AUTHORIZATION"
CONTRACT_AUTHENTICATION = "LOCAL_VERDICT_CONTRACT_AUTHENTICATION_FAILED"


def request_id_of(request_ts_us: int) -> RequestId:
    """A request is named by its sequencing timestamp (Canton's `RequestId`)."""
    return RequestId(str(request_ts_us))


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """The parts of one sequenced batch that make a confirmation request for us."""

    view_messages: tuple[EncryptedViewMessage, ...]
    root_hash_messages: tuple[RootHashMessage, ...]
    undecodable: tuple[str, ...] = ()  # why view messages could not even be decoded
    # each view message's envelope recipients (None: not known, a payload kept from before)
    view_recipients: tuple[tuple[Recipient, ...], ...] | None = None


def validate_payload(
    request_ts_us: int,
    view_messages: Iterable[bytes],
    root_hash_messages: Iterable[bytes],
    identity: ParticipantIdentity,
    registry: PackageRegistry,
    snapshot: TopologySnapshot,
    view_recipients: Sequence[tuple[Recipient, ...]] | None = None,
) -> ValidatedRequest | IgnoredRequest:
    """`validate_request` on the raw payloads (as received, or as kept while pending)."""
    views: list[EncryptedViewMessage] = []
    recipients: list[tuple[Recipient, ...]] = []
    undecodable: list[str] = []
    raws = list(view_messages)
    for index, raw in enumerate(raws):
        try:
            views.append(decode_view_message(raw))
        except ViewMessageDecodeError as err:
            undecodable.append(err.message)
            continue
        if view_recipients is not None:
            recipients.append(view_recipients[index])
    roots = tuple(m for m in map(decode_protocol_message, root_hash_messages)
                  if isinstance(m, RootHashMessage))
    received = ReceivedRequest(tuple(views), roots, tuple(undecodable),
                               None if view_recipients is None else tuple(recipients))
    return validate_request(request_ts_us, received, identity, registry, snapshot)


@dataclass(frozen=True, slots=True)
class HeldView:
    view: OpenView
    view_hash: Hash
    rejection: LocalReject | None  # this view's own checks
    confirming_parties: frozenset[PartyId]  # its confirmers we may answer for
    core_activeness: ActivenessSet  # its core's part of the request's activeness set

    @property
    def is_root(self) -> bool:
        return len(self.view.position) == 1


@dataclass(frozen=True, slots=True)
class ValidatedRequest:
    request_ts_us: int
    root_hash: Hash
    mediator: MemberId | None  # None when no view could be read
    views: tuple[HeldView, ...]  # in position order, nested ones once
    rejection: LocalReject | None  # request-wide: applies to every view
    hosted_parties: frozenset[PartyId]
    confirming_parties: frozenset[PartyId]  # all we may confirm for (view-less answers)
    submitter: SubmitterMetadata | None  # known (with who submitted) when we hold a root view
    metadata: ParticipantMetadata | None
    activeness: ActivenessSet
    response_deadline_us: int
    decision_time_us: int
    replay_protected_until_us: int  # a replay sequenced up to this is a known duplicate

    @property
    def request_id(self) -> RequestId:
        return request_id_of(self.request_ts_us)

    @property
    def model_valid_views(self) -> tuple[HeldView, ...]:
        """Views we would commit on approval: those that passed every check of ours."""
        if self.rejection is not None:
            return ()
        return tuple(v for v in self.views if v.rejection is None)


@dataclass(frozen=True, slots=True)
class IgnoredRequest:
    """Not a request we can answer; the mediator rejects it (it checks root hashes too)."""

    reason: str


def validate_request(
    request_ts_us: int,
    received: ReceivedRequest,
    identity: ParticipantIdentity,
    registry: PackageRegistry,
    snapshot: TopologySnapshot,
) -> ValidatedRequest | IgnoredRequest:
    roots = {m.root_hash for m in received.root_hash_messages}
    if len(roots) != 1:
        return IgnoredRequest(
            f"request at {request_ts_us} has {len(roots)} root hashes for us; exactly one "
            "is needed"
        )
    (root,) = roots
    trees, problems = _open_trees(received.view_messages, root, identity, snapshot)
    if received.view_recipients is not None:
        problems += recipient_problems(received.view_messages, received.view_recipients,
                                       [view for _, view in trees], snapshot)
    problems = [*received.undecodable, *problems]
    return _Checker(request_ts_us, root, identity, registry, snapshot).run(trees, problems)


def _open_trees(
    messages: Sequence[EncryptedViewMessage],
    root: Hash,
    identity: ParticipantIdentity,
    snapshot: TopologySnapshot,
) -> tuple[list[tuple[GenTransactionTree, OpenView]], list[str]]:
    opened: list[tuple[GenTransactionTree, OpenView]] = []
    problems: list[str] = []
    for message in messages:
        try:
            plaintext = decrypt_view(message.encrypted, identity.participant_id,
                                     identity.encryption_key)
            tree = decode_tree(plaintext)
            verify_membership(root, tree)
            view = open_views(tree, message.view_position)
            if view.view_hash != message.view_hash:
                raise CryptoError(f"the view at {message.view_position} is not the one sealed")
            view.check_shape()
            opened.append((tree, view))
            if message.is_root_view:
                problems += _signature_problems(message, tree, root, snapshot)
        except MinicantonError as err:
            problems.append(f"view {message.view_hash}: {err.message}")
        except (ValueError, KeyError, IndexError, TypeError, RecursionError) as err:
            # only the submitter can produce bytes that decrypt: a malicious one must not be
            # able to crash us, whatever it sealed
            problems.append(f"view {message.view_hash}: undecodable ({type(err).__name__})")
    return opened, problems


def _signature_problems(
    message: EncryptedViewMessage,
    tree: GenTransactionTree,
    root: Hash,
    snapshot: TopologySnapshot,
) -> list[str]:
    """A root view's message must be signed by the participant its submitter metadata names
    (Canton's AuthenticationValidator); a subview's carries no signature to check."""
    if not isinstance(tree.submitter_metadata, Leaf):
        return []  # a root view without submitter metadata is malformed (view_authorization)
    submitter = tree.submitter_metadata.content.submitting_participant
    position = message.view_position
    if message.submitter_signature is None:
        return [f"{AUTHENTICATION}: the root view at {position} carries no submitter signature"]
    try:
        snapshot.verify_member_signature(MemberId(submitter), root, HashPurpose.ROOT_HASH_MESSAGE,
                                         message.submitter_signature)
    except (CryptoError, MemberKeyNotValid) as err:
        return [f"{AUTHENTICATION}: submitter signature by {submitter}: {err.message}"]
    return []


class _Checker:
    """One request's checks; a class only to share the request's context between them."""

    def __init__(
        self,
        request_ts_us: int,
        root: Hash,
        identity: ParticipantIdentity,
        registry: PackageRegistry,
        snapshot: TopologySnapshot,
    ) -> None:
        self.ts_us, self.root = request_ts_us, root
        self.identity, self.registry, self.snapshot = identity, registry, snapshot
        hosted = snapshot.parties_hosted_by(identity.participant_id)
        self.hosted = frozenset(hosted)
        self.contracts = ContractCheck(registry, request_ts_us)  # replaced once metadata is read

    def run(
        self, trees: list[tuple[GenTransactionTree, OpenView]], problems: list[str]
    ) -> ValidatedRequest:
        common, metadata, submitter_md = _metadata([tree for tree, _ in trees])
        policy = common.confirmation_policy if common else None
        views = self._held_views([view for _, view in trees], policy, submitter_md, metadata)
        rejection = self._request_rejection(trees, problems, common, metadata, submitter_md)
        parameters = self.snapshot.parameters
        return ValidatedRequest(
            request_ts_us=self.ts_us,
            root_hash=self.root,
            mediator=common.mediator_id if common else None,
            views=views,
            rejection=rejection,
            hosted_parties=self.hosted,
            confirming_parties=self._may_confirm(self.hosted, policy),
            submitter=submitter_md,
            metadata=metadata,
            activeness=_request_activeness(views, self.hosted),
            response_deadline_us=parameters.participant_response_deadline_us(self.ts_us),
            decision_time_us=parameters.decision_deadline_us(self.ts_us),
            replay_protected_until_us=remember_until_us(parameters, self.ts_us),
        )

    def _may_confirm(
        self, parties: frozenset[PartyId], policy: ConfirmationPolicy | None
    ) -> frozenset[PartyId]:
        effective = policy or self.snapshot.parameters.default_confirmation_policy
        me = self.identity.participant_id
        return frozenset(p for p in parties if may_confirm(self.snapshot, effective, me, p))

    # --- request-wide ---------------------------------------------------------------------

    def _request_rejection(
        self,
        trees: list[tuple[GenTransactionTree, OpenView]],
        problems: list[str],
        common: CommonMetadata | None,
        metadata: ParticipantMetadata | None,
        submitter_md: SubmitterMetadata | None,
    ) -> LocalReject | None:
        if problems:
            code = AUTHENTICATION if any(p.startswith(AUTHENTICATION) for p in problems) else (
                MALFORMED)
            return LocalReject(code, "; ".join(problems))
        if not trees:
            return LocalReject(MISSING_VIEWS, f"a root hash {self.root} reached us without any "
                                              "view: a view we are entitled to was withheld")
        if common is None or metadata is None:
            return LocalReject(MALFORMED, "the common or participant metadata is blinded")
        return (self._common_rejection(common) or self._submitter_rejection(submitter_md)
                or self._ledger_time_rejection(metadata))

    def _common_rejection(self, common: CommonMetadata) -> LocalReject | None:
        if common.domain_id != self.identity.domain_id:
            return LocalReject(MALFORMED, f"the request is for domain {common.domain_id}")
        if common.mediator_id not in self.snapshot.mediators():
            return LocalReject(MALFORMED, f"{common.mediator_id} is not an active mediator")
        return None

    def _submitter_rejection(self, md: SubmitterMetadata | None) -> LocalReject | None:
        if md is None:
            return None  # we hold no root view: its holders and the mediator check the submitter
        if self.ts_us > md.max_sequencing_time_us:
            return LocalReject(SEQUENCED_TOO_LATE, f"sequenced at {self.ts_us}, after the max "
                                                   f"sequencing time {md.max_sequencing_time_us}")
        submitter = md.submitting_participant  # whose signature `_signature_problems` checked
        for party in sorted(md.act_as):
            permission = self.snapshot.hosting_participants(PartyId(party)).get(submitter)
            if permission is None or not permission.can_submit:
                return LocalReject(SUBMITTER_NOT_AUTHORIZED, f"{submitter} may not submit "
                                                             f"for {party} at {self.ts_us}")
        return None

    def _ledger_time_rejection(self, metadata: ParticipantMetadata) -> LocalReject | None:
        tolerance_us = self.snapshot.parameters.ledger_time_record_time_tolerance_us
        skew_us = metadata.ledger_time_us - self.ts_us
        if abs(skew_us) > tolerance_us:
            return LocalReject(LEDGER_TIME, f"ledger time {metadata.ledger_time_us} is "
                                            f"{skew_us} us from the record time {self.ts_us}; "
                                            f"the tolerance is {tolerance_us} us")
        return None

    # --- per view -------------------------------------------------------------------------

    def _held_views(
        self,
        opened: list[OpenView],
        policy: ConfirmationPolicy | None,
        submitter_md: SubmitterMetadata | None,
        metadata: ParticipantMetadata | None,
    ) -> tuple[HeldView, ...]:
        unique: dict[MerklePath, OpenView] = {}
        for top in opened:
            for view in top.walk():
                unique.setdefault(view.position, view)
        if metadata is not None:
            self.contracts = ContractCheck(self.registry, metadata.ledger_time_us)
        return tuple(
            self._held(unique[p], unique, policy, submitter_md, metadata) for p in sorted(unique)
        )

    def _held(
        self,
        view: OpenView,
        held: Mapping[MerklePath, OpenView],
        policy: ConfirmationPolicy | None,
        md: SubmitterMetadata | None,
        metadata: ParticipantMetadata | None,
    ) -> HeldView:
        rejection = None
        if policy is not None and metadata is not None:
            rejection = (
                self._package_rejection(view) or self._parameter_rejection(view, policy)
                or self._contract_rejection(view)
                or self._conformance_rejection(view, held, md, metadata.ledger_time_us)
            )
        confirmers = frozenset(PartyId(p) for p in view.common.parameters.confirmers)
        return HeldView(
            view=view,
            view_hash=view.view_hash,
            rejection=rejection,
            confirming_parties=self._may_confirm(confirmers & self.hosted, policy),
            core_activeness=activeness_set_for(view.core_transaction(), self.hosted),
        )

    def _package_rejection(self, view: OpenView) -> LocalReject | None:
        vetted = self.snapshot.vetted_packages(self.identity.participant_id)
        for node in view.subtree_nodes().values():
            package_id = node.template_id.package_id
            if package_id not in vetted or self.registry.package(package_id) is None:
                return LocalReject(PACKAGE_NOT_VETTED, f"package {package_id} of "
                                                       f"{node.template_id} is not vetted by us")
        return None

    def _parameter_rejection(
        self, view: OpenView, policy: ConfirmationPolicy
    ) -> LocalReject | None:
        is_vip = vip_predicate(self.snapshot)
        expected = view.common.parameters
        try:
            for _, node in view.data.core_nodes:
                if confirmation_parameters(node, policy, is_vip) != expected:
                    return LocalReject(MALFORMED_VIEW, f"the view at {view.position} declares "
                                       "confirmation parameters its nodes do not have")
            for subview in view.subviews:
                if subview.common.parameters == expected:
                    return LocalReject(MALFORMED_VIEW, f"subview {subview.position} should have "
                                                       "been part of its parent view")
        except ConfirmationPolicyNotApplicable as err:
            return LocalReject(MALFORMED_VIEW, err.message)
        return None

    def _contract_rejection(self, view: OpenView) -> LocalReject | None:
        try:
            self.contracts.check_view(view)
        except ContractAuthenticationFailed as err:
            return LocalReject(CONTRACT_AUTHENTICATION, f"view {view.position}: {err.message}")
        return None

    def _conformance_rejection(
        self,
        view: OpenView,
        held: Mapping[MerklePath, OpenView],
        md: SubmitterMetadata | None,
        ledger_time_us: int,
    ) -> LocalReject | None:
        if view.data.core_nodes[0][0] != view.root_node_id:
            return LocalReject(MALFORMED_VIEW, "the view's core does not start at its root")
        try:
            authorizers = root_authorizers(view, held, md, self.hosted)
        except FailedAuthorization as err:
            return LocalReject(AUTHORIZATION, err.message)
        except InvalidArgument as err:
            return LocalReject(MALFORMED_VIEW, err.message)
        try:
            again = reinterpret(
                view.data.root_node, view.data.root_seed or b"", ledger_time_us,
                ViewLedger(view), self.registry, authorizers=authorizers,
            )
        except FailedAuthorization as err:
            return LocalReject(AUTHORIZATION, f"view {view.position}: {err.message}")
        except MinicantonError as err:
            return LocalReject(CONFORMANCE, f"view {view.position}: {err.error_id}: {err.message}")
        except (ValueError, KeyError, IndexError, TypeError, RecursionError) as err:
            return LocalReject(CONFORMANCE, f"view {view.position}: {type(err).__name__}")
        if again.transaction != view.action_transaction():
            return LocalReject(CONFORMANCE, f"view {view.position} is not what its root action "
                                            "gives when re-interpreted")
        return None


def _metadata(
    trees: list[GenTransactionTree],
) -> tuple[CommonMetadata | None, ParticipantMetadata | None, SubmitterMetadata | None]:
    """The metadata leaves (all trees share one root hash, so they agree)."""
    common = metadata = submitter = None
    for tree in trees:
        if isinstance(tree.common_metadata, Leaf):
            common = tree.common_metadata.content
        if isinstance(tree.participant_metadata, Leaf):
            metadata = tree.participant_metadata.content
        if isinstance(tree.submitter_metadata, Leaf):
            submitter = tree.submitter_metadata.content
    return common, metadata, submitter


def _request_activeness(views: tuple[HeldView, ...], hosted: frozenset[PartyId]) -> ActivenessSet:
    """The activeness set of every view we hold, taken as one part of the transaction."""
    if not views:
        return ActivenessSet()
    forest = forest_of_views([v.view for v in views])
    return activeness_set_for(forest.transaction, frozenset(hosted))
