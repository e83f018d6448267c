"""Rows of the participant's PostgreSQL tables turned into the store's dataclasses, and the
event-log query they come from (kept apart from the store's methods so each file stays one idea:
store/postgres/participant_store.py does the transactions, this file the row shapes).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.commit_set import GlobalKeyHash
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.core.protocol.deduplication import ChangeId
from minicanton.core.protocol.offsets import Offset
from minicanton.store.participant_store import (
    CompletionEntry,
    CompletionRow,
    ContractRow,
    EventRow,
    InFlightRow,
    StoredContract,
    SubmissionEntry,
    TransactionEntry,
    TransactionRow,
    decode_activeness_result,
)


def template_text(identifier: Identifier) -> str:
    return str(identifier)


def parse_template(text: str) -> Identifier:
    package_id, module_name, entity_name = text.split(":", 2)
    return Identifier(package_id, module_name, entity_name)


EVENTS_SQL = """
WITH page AS (
    SELECT DISTINCT ledger_offset FROM event_witnesses
    WHERE party = ANY($1::text[]) AND (NOT $2 OR flat)
      AND ledger_offset > $3 AND ($4::text IS NULL OR ledger_offset <= $4)
    ORDER BY ledger_offset LIMIT $5
)
SELECT t.*, e.node_id, e.parent_node_id, e.kind, e.contract_id, e.template_id AS event_template,
       e.consuming, e.payload, array_agg(w.party ORDER BY w.party) AS witnesses
FROM transactions t
JOIN events e ON e.ledger_offset = t.ledger_offset
JOIN event_witnesses w ON w.ledger_offset = e.ledger_offset AND w.node_id = e.node_id
WHERE t.{which} AND w.party = ANY($1::text[]) AND (NOT $2 OR w.flat)
GROUP BY t.ledger_offset, e.ledger_offset, e.node_id
ORDER BY t.ledger_offset, e.node_id
"""


def group_transactions(rows: Iterable[Any]) -> list[TransactionRow]:
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row["ledger_offset"], []).append(row)
    return [transaction_row(group) for group in grouped.values()]


def transaction_row(rows: list[Any]) -> TransactionRow:
    head = rows[0]
    events = tuple(
        EventRow(r["node_id"], r["parent_node_id"], r["kind"], r["contract_id"],
                 parse_template(r["event_template"]), r["consuming"], bytes(r["payload"]),
                 frozenset(r["witnesses"]))
        for r in rows
    )
    present = {e.node_id for e in events}
    roots = tuple(e.node_id for e in events if e.parent_node_id not in present)
    return TransactionRow(
        Offset(head["ledger_offset"]), head["transaction_id"], head["command_id"],
        head["workflow_id"], head["application_id"], frozenset(head["submitters"]),
        head["ledger_time_us"], head["record_time_us"], roots, events,
    )


def transaction_row_of(entry: TransactionEntry, offset: Offset, parties: Collection[str], *,
                       flat: bool) -> TransactionRow | None:
    """The row `EVENTS_SQL` returns for `entry` once stored at `offset` (as the one-statement
    write stores it, participant_fast_writes.py), without reading it back: each event the
    parties witness (flat: as stakeholders), with those of them who do, by node id."""
    wanted = frozenset(parties)
    events = []
    for e in sorted(entry.events, key=lambda e: e.node_id):
        witnesses = wanted & (e.flat_witnesses if flat else e.tree_witnesses | e.flat_witnesses)
        if witnesses:
            events.append(EventRow(e.node_id, e.parent_node_id, e.kind, e.contract_id,
                                   e.template_id, e.consuming, e.payload, witnesses))
    if not events:
        return None
    present = {e.node_id for e in events}
    roots = tuple(e.node_id for e in events if e.parent_node_id not in present)
    return TransactionRow(offset, entry.transaction_id, entry.command_id, entry.workflow_id,
                          entry.application_id, entry.submitters, entry.ledger_time_us,
                          entry.record_time_us, roots, tuple(events))


def stored_contract(row: Any, stakeholders: frozenset[str], key_hash: str | None,
                     signatories: frozenset[str]) -> StoredContract:
    return StoredContract(
        row["contract_id"], parse_template(row["template_id"]), signatories, stakeholders,
        None if key_hash is None else GlobalKeyHash(key_hash), bytes(row["payload"]),
        row["ledger_time_us"],
    )


def contract_row(row: Any) -> ContractRow:
    contract = stored_contract(row, frozenset(row["stakeholders"]), row["key_hash"],
                                frozenset(row["signatories"]))
    archived = row["archived_at_offset"]
    return ContractRow(contract, Offset(row["created_at_offset"]),
                       None if archived is None else Offset(archived))


def divulged_row(row: Any) -> ContractRow:
    contract = stored_contract(row, frozenset(), None, frozenset())
    return ContractRow(contract, Offset(row["divulged_at_offset"]), None)


def completion_row(row: Any) -> CompletionRow:
    entry = CompletionEntry(
        row["application_id"], frozenset(row["act_as"]), row["command_id"],
        row["submission_id"], None, row["record_time_us"], row["status_code"],
        row["error_id"], row["message"],
    )
    return CompletionRow(Offset(row["ledger_offset"]), entry, row["transaction_id"])


def request_locks(row: Any) -> RequestLocks:
    request_id = RequestId(row["request_id"])
    stored = row["activeness_result"]
    return RequestLocks(
        request_id, row["request_ts_us"], row["decision_time_us"],
        frozenset(row["locked_contracts"]),
        frozenset(GlobalKeyHash(k) for k in row["locked_keys"]),
        None if stored is None else decode_activeness_result(stored, request_id),
    )


def in_flight_row(row: Any) -> InFlightRow:
    change_id = ChangeId(row["application_id"], row["command_id"], frozenset(row["act_as"]))
    entry = SubmissionEntry(change_id, row["submission_id"], row["message_id"],
                            row["max_sequencing_time_us"], bytes(row["payload"]))
    request_id = row["request_id"]
    return InFlightRow(entry, row["sequenced_at_us"],
                       None if request_id is None else RequestId(request_id))
