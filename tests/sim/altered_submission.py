"""A participant's real submission steps with one step altered: what a malicious submitter
sends. Shared by the simulation's malicious submitter (`test_sim_malicious.malicious_submit`)
and the rogue participant of the real-process tests (tests/system/protocol/rogue.py).

The steps are the honest ones (`interpret_submission`, `build_request_tree`,
`request_batch`), so everything not altered is exactly what an honest participant would
send: only the altered step can be what the recipients catch.
"""

from __future__ import annotations

from collections.abc import Callable

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import Entropy
from minicanton.core.lf.engine import ContractLookup, SubmissionResult
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.protocol.merkle import root_hash
from minicanton.core.protocol.submission import (
    CommandSubmission,
    ParticipantIdentity,
    PreparedSubmission,
    build_request_tree,
    interpret_submission,
    request_batch,
    request_message_id,
)
from minicanton.core.protocol.view_message import is_view_message, sign_root_hash
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.topology.snapshot import TopologySnapshot


def altered_submission(
    submission: CommandSubmission,
    *,
    identity: ParticipantIdentity,
    contracts: ContractLookup,
    registry: PackageRegistry,
    snapshot: TopologySnapshot,
    now_us: int,
    ttl_us: int,
    entropy: Entropy,
    alter_result: Callable[[SubmissionResult], SubmissionResult] = lambda r: r,
    alter_batch: Callable[[Batch], Batch] = lambda b: b,
    forge_with: SigningKeyPair | None = None,
) -> PreparedSubmission:
    """The request the submission steps build, with the result or the batch altered, or the
    root hash signed with `forge_with` instead of the participant's own key."""
    result = alter_result(interpret_submission(submission, contracts, registry, now_us,
                                               entropy))
    max_seq_us = now_us + ttl_us
    tree = build_request_tree(submission, result, identity, snapshot, now_us, max_seq_us,
                              entropy)
    root = root_hash(tree)
    signature = None if forge_with is None else sign_root_hash(root, forge_with)
    batch = alter_batch(request_batch(tree, identity, snapshot, entropy, signature))
    return PreparedSubmission(submission, request_message_id(root), max_seq_us, batch, root,
                              result)


def without_views_for(victim: MemberRecipient) -> Callable[[Batch], Batch]:
    """The batch with `victim` left out of every view message's recipients (it still gets
    the root-hash message, so it knows a view was withheld)."""

    def alter(batch: Batch) -> Batch:
        envelopes = []
        for envelope in batch.envelopes:
            if is_view_message(envelope.content):
                recipients = tuple(r for r in envelope.recipients if r != victim)
                envelope = Envelope(recipients, envelope.content)
            if envelope.recipients:
                envelopes.append(envelope)
        return Batch(tuple(envelopes))

    return alter
