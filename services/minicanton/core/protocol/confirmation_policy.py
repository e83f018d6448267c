"""Confirmation policies: who must confirm an action, with which weights and threshold.

Theory of operation. A confirmation policy turns an action node into its view's
confirmation parameters: the informees, the subset of them that are *confirming parties*
with a weight each, and a threshold. The mediator approves a view once the summed weight of
the confirming parties that approved reaches the threshold (DESIGN.md §3, step 6). These are
Canton's three policies (`ConfirmationPolicy.{Signatory, Vip, Full}` in Canton 2.x):

- SIGNATORY — the confirming parties are the signatories of the contract acted on (the key
  maintainers for a lookup-by-key) plus the actors, each with weight 1, threshold = their
  number: every one of them must confirm. Liveness depends on all of them.
- FULL — every informee confirms, weight 1 each, threshold = number of informees.
- VIP — the confirming parties are those informees that know the contract's state (its
  stakeholders, or the maintainers for a lookup) and are hosted on a VIP participant (the
  caller says which, from the topology snapshot). Each has weight 1 and the threshold is 1:
  VIP participants are trusted to act honestly, so one VIP confirmation suffices — Canton's
  own comment: "As all VIP participants are trusted, it suffices that one of them confirms".
  The mediator must then also check that the responder is a VIP participant. A node with no
  such party makes the policy inapplicable (`ConfirmationPolicyNotApplicable`), as Canton's
  `ConfirmationPolicy.choose` would not pick VIP for such a transaction.

  Divergence from Canton, on purpose. Canton's `Vip.informeesAndThreshold` makes *every*
  VIP-hosted party in `stateKnownTo(node)` a confirming party, and so an informee, even when
  Daml's ledger model does not inform it of the node; only `choose` uses `informees ∩
  stateKnownTo`. The two differ for a fetch or a non-consuming exercise whose VIP-hosted
  stakeholder is an observer and not an actor: Canton sends that observer the view and lets
  it confirm, we do not. We keep the narrower set because
  (1) privacy: the observer would learn of an action Daml's ledger model hides from it (and
  the views, projections and divulgence here all follow the ledger model's informees, so a
  confirmer outside them would receive a view that names it nowhere);
  (2) safety is the same: threshold 1 in both, and every party we accept an approval from is
  also a confirming party in Canton (a VIP-hosted stakeholder), so we never approve what
  Canton would not;
  (3) applicability is the same: VIP is usable for exactly the transactions Canton's
  `choose` picks it for.
  The cost is liveness: a view has fewer VIP parties that can approve it, so when the
  participant of every VIP informee is down it times out where Canton could still be
  approved by the observer's participant.

The threshold is never below 1, so a view is never approved vacuously.

What the mediator can check. It sees a view's informees and parameters but not its action,
so it cannot recompute the parameters; `parameters_problem` checks what *any* action with
those informees would get under the declared policy: weight 1 for every confirming party;
SIGNATORY and FULL a threshold equal to the number of confirming parties (everybody must
confirm), FULL every informee confirming; VIP a threshold of 1 and only parties hosted on a
VIP participant confirming. This is Canton's mediator check of `minimumThreshold`, made exact:
without it a submitter could lower a view's threshold to 1 and add itself as a confirmer, and
its own approval would commit other parties' views. Whether the SIGNATORY confirmers are the
action's signatories and actors only a participant holding the view can tell (validation
compares the view's parameters with `confirmation_parameters` of its action).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.lf.transaction import Node, Party, Transaction
from minicanton.core.protocol.ledger_model import (
    acting_parties,
    informees_of_node,
    preorder,
    signatories_or_maintainers,
    state_known_to,
)

VipPredicate = Callable[[Party], bool]


class ConfirmationPolicy(Enum):
    """Values are stable wire names; they are part of the common metadata's hash."""

    VIP = "Vip"
    SIGNATORY = "Signatory"
    FULL = "Full"


class ConfirmationPolicyNotApplicable(MinicantonError):
    error_id = "CONFIRMATION_POLICY_NOT_APPLICABLE"


@dataclass(frozen=True, slots=True, order=True)
class ConfirmingParty:
    party: Party
    weight: int = 1

    def __init__(self, party: Party, weight: int = 1) -> None:
        object.__setattr__(self, "party", party)
        object.__setattr__(self, "weight", weight)


@dataclass(frozen=True, slots=True)
class ViewConfirmationParameters:
    """Informees (all of them), the confirming ones with weights (sorted), and the threshold.

    Two nodes with equal parameters can share a view; that is the decomposition rule.
    """

    informees: frozenset[Party]
    confirming_parties: tuple[ConfirmingParty, ...]
    threshold: int

    def __init__(
        self,
        informees: frozenset[Party],
        confirming_parties: tuple[ConfirmingParty, ...],
        threshold: int,
    ) -> None:
        object.__setattr__(self, "informees", informees)
        object.__setattr__(self, "confirming_parties", confirming_parties)
        object.__setattr__(self, "threshold", threshold)
        self.__post_init__()

    def __post_init__(self) -> None:
        confirmers = [c.party for c in self.confirming_parties]
        if confirmers != sorted(set(confirmers)):
            raise InvalidArgument("confirming parties must be sorted and distinct")
        if not set(confirmers) <= self.informees:
            raise InvalidArgument("confirming parties must be informees")
        if self.threshold < 1 or any(c.weight < 1 for c in self.confirming_parties):
            raise InvalidArgument("threshold and weights must be positive")
        if self.threshold > sum(c.weight for c in self.confirming_parties):
            raise InvalidArgument("threshold exceeds the total confirming weight")

    @property
    def confirmers(self) -> frozenset[Party]:
        return frozenset(c.party for c in self.confirming_parties)

    def is_satisfied_by(self, approving: frozenset[Party]) -> bool:
        """Whether approvals by `approving` reach the threshold."""
        weight = sum(c.weight for c in self.confirming_parties if c.party in approving)
        return weight >= self.threshold


def confirmation_parameters(
    node: Node, policy: ConfirmationPolicy, is_vip: VipPredicate | None = None
) -> ViewConfirmationParameters:
    """The view confirmation parameters of `node` under `policy`; VIP needs `is_vip`."""
    node_informees = informees_of_node(node)
    if policy is ConfirmationPolicy.FULL:
        return _all_must_confirm(node_informees, node_informees)
    if policy is ConfirmationPolicy.SIGNATORY:
        confirming = signatories_or_maintainers(node) | acting_parties(node)
        return _all_must_confirm(node_informees, confirming)
    if is_vip is None:
        raise ConfirmationPolicyNotApplicable("the VIP policy needs to know the VIP parties")
    vips = frozenset(p for p in node_informees & state_known_to(node) if is_vip(p))
    if not vips:
        raise ConfirmationPolicyNotApplicable(
            f"no informee of this {type(node).__name__} who knows the contract's state is "
            "hosted on a VIP participant"
        )
    return ViewConfirmationParameters(node_informees, _weighted(vips), threshold=1)


def parameters_problem(
    parameters: ViewConfirmationParameters, policy: ConfirmationPolicy, is_vip: VipPredicate
) -> str:
    """Why no action with these informees gets `parameters` under `policy`, or "" if some
    action may (see "What the mediator can check" above)."""
    weights = sorted({c.weight for c in parameters.confirming_parties})
    if weights != [1]:
        return f"confirming weights {weights}, but the {policy.value} policy gives weight 1"
    count = len(parameters.confirming_parties)
    if policy is ConfirmationPolicy.VIP:
        if parameters.threshold != 1:
            return f"threshold {parameters.threshold}, but the Vip policy has threshold 1"
        ordinary = sorted(p for p in parameters.confirmers if not is_vip(p))
        if ordinary:
            return f"confirming parties {ordinary} are hosted on no VIP participant"
        return ""
    if parameters.threshold != count:
        return (f"threshold {parameters.threshold} for {count} confirming parties, but under "
                f"the {policy.value} policy every confirming party must confirm")
    silent = sorted(parameters.informees - parameters.confirmers)
    if policy is ConfirmationPolicy.FULL and silent:
        return f"informees {silent} do not confirm, but under the Full policy every one does"
    return ""


def _all_must_confirm(
    node_informees: frozenset[Party], confirming: frozenset[Party]
) -> ViewConfirmationParameters:
    if not confirming:
        raise ConfirmationPolicyNotApplicable("an action has no party that could confirm it")
    return ViewConfirmationParameters(node_informees, _weighted(confirming), len(confirming))


def _weighted(parties: frozenset[Party]) -> tuple[ConfirmingParty, ...]:
    return tuple(ConfirmingParty(party, 1) for party in sorted(parties))


def applicable_policies(
    transaction: Transaction, is_vip: VipPredicate
) -> tuple[ConfirmationPolicy, ...]:
    """Policies usable for `transaction`, most permissive first (VIP when every node has a
    VIP informee who knows its state, then SIGNATORY; FULL is always possible)."""
    usable: list[ConfirmationPolicy] = []
    for policy in ConfirmationPolicy:
        try:
            for node_id in preorder(transaction):
                confirmation_parameters(transaction.node(node_id), policy, is_vip)
        except ConfirmationPolicyNotApplicable:
            continue
        usable.append(policy)
    return tuple(usable)
