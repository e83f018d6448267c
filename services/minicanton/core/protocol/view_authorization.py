"""Daml authorization of the views a participant holds (Canton's `AuthorizationValidator`).

Theory of operation
-------------------
Daml authorizes a root action by the submitters, and every other action by what its parent
exercise grants: the exercised contract's signatories and the choice's controllers
(`ledger_model.granted_authorizers`). A validator re-runs each view it holds from its root
(`validation`); inside that run the engine checks every action below the root against what
its parent grants. What a view cannot show by itself is who authorized its *root*, so
`root_authorizers` answers that from where the view sits:

- a root view: the submitters (`SubmitterMetadata.act_as`, which root views reveal);
- a subview whose parent view we also hold: what the parent's exercise grants (the parent
  action is a core node of the parent view, the one whose children hold the subview's root);
- a subview whose parent we do not hold: we cannot see the grant. If we host one of the
  root's required authorizers (`ledger_model.required_authorizers`), that is a gap in the
  authorization chain, and we reject: every required authorizer of an honest subview is
  among its parent's grant, so an informee of the parent action, and an honest submitter
  sends the parent to every participant hosting one (Canton: "If this participant hosts an
  authorizer, it should also have received the parent view"). Otherwise nobody we host
  lends the root its authority; the root is re-run authorized by its own required
  authorizers, so that everything below it is still checked.

By induction from the root views down, a party's authority is used only in a request its own
participant has checked: an honest participant hosting a required authorizer of an action
holds the whole chain of views from a root view down to it — each re-run against its parent's
grant, the root against the submitters — or rejects the request.

The parent's grant is deliberately not copied into the subview: its informees that are not
the parent's would learn the parent contract's signatories and the parent's actors, and could
not check the claim anyway (Canton's views carry no such field either).
"""

from __future__ import annotations

from collections.abc import Mapping

from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import PartyId
from minicanton.core.lf.engine_errors import FailedAuthorization
from minicanton.core.lf.transaction import ExerciseNode, Party
from minicanton.core.protocol.ledger_model import granted_authorizers, required_authorizers
from minicanton.core.protocol.merkle import MerklePath
from minicanton.core.protocol.validation_views import OpenView
from minicanton.core.protocol.views import SubmitterMetadata


def root_authorizers(
    view: OpenView,
    held: Mapping[MerklePath, OpenView],
    submitter: SubmitterMetadata | None,
    hosted: frozenset[PartyId],
) -> frozenset[Party]:
    """The authorizers `view`'s root action is re-run with (see the module docstring).

    Raises `FailedAuthorization` for a gap in the authorization chain (a subview of a party
    we host without its parent) and `InvalidArgument` for a root view without submitter
    metadata or a subview that hangs under no exercise of its parent.
    """
    if len(view.position) == 1:
        if submitter is None:
            raise InvalidArgument(f"the root view at {view.position} has no submitter metadata")
        return frozenset(submitter.act_as)
    parent = held.get(view.position[:-1])
    if parent is not None:
        return granted_authorizers(parent_action(parent, view))
    required = required_authorizers(view.data.root_node)
    ours = sorted(required & hosted)
    if ours:
        raise FailedAuthorization(
            f"the view at {view.position} needs the authority of {', '.join(ours)}, hosted "
            "here, but its parent view did not reach us: a gap in the authorization chain",
            frozenset(ours),
        )
    return required


def parent_action(parent: OpenView, view: OpenView) -> ExerciseNode:
    """The exercise of `parent`'s core whose consequence `view`'s root is."""
    for _, node in parent.data.core_nodes:
        if isinstance(node, ExerciseNode) and view.root_node_id in node.children:
            return node
    raise InvalidArgument(
        f"the view at {view.position} is no consequence of an exercise of its parent view"
    )
