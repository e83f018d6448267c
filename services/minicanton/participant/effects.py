"""The participant machine's effects for one sequenced event, as the store's `EventEffects`.

Pure mapping, no I/O: the pump calls `event_effects` with everything one event caused (the
machine's persisted effects and the topology rows accepted from it) and hands the result to
`PostgresParticipantStore.apply_event`, one database transaction with the clean position.
Sends, time proofs and alarms are not state; the pump acts on them after the commit.

A command's id, application id and submitters appear on a transaction only at the submitting
participant (Daml shows them to the submitting parties only); other participants see the
transaction without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from minicanton.core.ids import RequestId
from minicanton.core.protocol.participant_effects import (
    Completion,
    Effect,
    EmitCompletion,
    MarkSubmissionSequenced,
    PersistCommit,
    PersistPendingRequest,
    RemovePendingRequest,
)
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    EventEffects,
    PendingRequest,
    SubmissionSequenced,
    TopologyRow,
    TransactionEntry,
    transaction_entry,
)
from minicanton.store.topology_store import TopologyRow as MemberTopologyRow


def completion_entry(completion: Completion) -> CompletionEntry:
    change = completion.change_id
    rejection = completion.rejection
    base = CompletionEntry(
        application_id=change.application_id, act_as=frozenset(change.act_as),
        command_id=change.command_id, submission_id=completion.submission_id,
        change_key=change.key, record_time_us=completion.record_time_us,
    )
    if rejection is None:
        return base
    message = rejection.message
    named = [p for p in rejection.participants if p not in message]
    if named:
        message += f" (participants: {', '.join(named)})"
    return CompletionEntry(
        base.application_id, base.act_as, base.command_id, base.submission_id,
        base.change_key, base.record_time_us, rejection.status_code, rejection.error_id,
        message,
    )


def commit_entry(commit: PersistCommit) -> TransactionEntry:
    completion = None if commit.completion is None else completion_entry(commit.completion)
    ours = completion is not None
    submitter = commit.submitter
    return transaction_entry(
        commit.commit_set,
        transaction_id=commit.transaction_id,
        ledger_time_us=commit.ledger_time_us,
        record_time_us=commit.record_time_us,
        command_id=submitter.command_id if ours and submitter else "",
        workflow_id=commit.workflow_id,
        application_id=submitter.application_id if ours and submitter else "",
        submitters=frozenset(submitter.act_as) if submitter else frozenset(),
        completion=completion,
    )


def topology_rows(rows: Iterable[MemberTopologyRow]) -> tuple[TopologyRow, ...]:
    """The topology client's rows in the participant store's own table."""
    return tuple(TopologyRow(r.sequenced_us, r.position, r.valid_from_us, r.signed)
                 for r in rows)


def member_topology_rows(rows: Iterable[TopologyRow]) -> list[MemberTopologyRow]:
    """Back again, for `TopologyClient.restore` (it re-validates every signature)."""
    return [MemberTopologyRow(r.position, b"", r.sequenced_ts_us, r.effective_from_us,
                              r.payload) for r in rows]


def event_effects(position: CleanPosition, effects: Sequence[Effect],
                  topology: Iterable[MemberTopologyRow] = ()) -> EventEffects:
    """One pass over the machine's effects (the pump calls this for every event)."""
    transactions: list[TransactionEntry] = []
    rejections: list[CompletionEntry] = []
    pending_added: list[PendingRequest] = []
    pending_removed: list[RequestId] = []
    sequenced: list[SubmissionSequenced] = []
    for e in effects:
        if isinstance(e, PersistCommit):
            transactions.append(commit_entry(e))
        elif isinstance(e, PersistPendingRequest):
            pending_added.append(PendingRequest(e.locks, e.payload))
        elif isinstance(e, RemovePendingRequest):
            pending_removed.append(e.request_id)
        elif isinstance(e, MarkSubmissionSequenced):
            sequenced.append(SubmissionSequenced(e.change_id.key, e.request_id,
                                                 e.sequenced_at_us))
        elif isinstance(e, EmitCompletion):
            rejections.append(completion_entry(e.completion))
    return EventEffects(position, tuple(transactions), tuple(rejections),
                        tuple(pending_added), tuple(pending_removed), tuple(sequenced),
                        topology_rows(topology) if topology else ())


def merge_effects(stored: Sequence[EventEffects]) -> EventEffects:
    """Consecutive events' effects as one write, at the last one's clean position.

    The store applies a write's parts in a fixed order (transactions with their completions,
    rejections, then pending requests added before those removed, then submissions marked
    sequenced), which leaves the same rows as applying the events one by one: a request added
    and removed within the batch is gone, and marking a submission sequenced after its
    completion deleted it changes nothing. Offsets follow that order, so the caller must not
    merge a rejection with a later event's transaction (`pump._offsets_out_of_order`)."""
    if len(stored) == 1:
        return stored[0]
    return EventEffects(
        position=stored[-1].position,
        transactions=tuple(t for s in stored for t in s.transactions),
        rejections=tuple(r for s in stored for r in s.rejections),
        pending_added=tuple(p for s in stored for p in s.pending_added),
        pending_removed=tuple(r for s in stored for r in s.pending_removed),
        submissions_sequenced=tuple(q for s in stored for q in s.submissions_sequenced),
        topology=tuple(t for s in stored for t in s.topology),
    )
