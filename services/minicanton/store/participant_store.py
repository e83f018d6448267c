"""The participant store: what one sequenced event writes, and the rows the Ledger API reads.

Theory of operation. The participant handles sequenced events one at a time. Everything one
event causes — contracts archived and created, transactions appended to the event log at new
offsets, completions, requests starting or ending their wait for a verdict, submissions found
sequenced, topology received — is gathered in one `EventEffects` and written by
`apply_event` in ONE database transaction together with the event's `CleanPosition`. After a
crash the participant reads the clean position and resumes with the next event: an event is
either wholly stored or not at all, so no transaction is lost or duplicated. `apply_event` is
idempotent: an event at or below the stored clean position is recognised and skipped.

Offsets are handed out by the store inside that transaction (`offsets.offset_of` of a counter
kept in the same row as the clean position), so they are strictly increasing, gap-free and sort
lexicographically. Payloads are opaque bytes (`encode_contract`, `encode_node` below are the
canonical encodings); the columns beside them (template, stakeholders, witnesses, key hash) are
what queries filter on. `transaction_entry` turns a core `CommitSet` into the rows to store.

`PostgresParticipantStore` (store/postgres/participant_store.py) implements it with asyncpg.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from minicanton.core.errors import MinicantonError
from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    Node,
)
from minicanton.core.protocol.commit_set import CommitSet, GlobalKeyHash, ProjectedTransaction
from minicanton.core.protocol.conflict_detection import ActivenessResult, RequestLocks
from minicanton.core.protocol.deduplication import ChangeId
from minicanton.core.protocol.offsets import Offset
from minicanton.core.protocol.view_serialization import (
    Reader,
    Writer,
    decoding,
    get_contract,
    get_node,
    put_contract,
    put_contract_creation,
    put_node,
)

EventKind = Literal["create", "exercise", "fetch", "lookup"]
STATUS_OK = 0  # google.rpc.Code


class StoredRowInvalid(MinicantonError):
    """A row of the participant's own database does not decode: the store was tampered with
    or written by an incompatible version. The participant must not start on it."""

    error_id = "PARTICIPANT_STORE_ROW_INVALID"


@dataclass(frozen=True, slots=True)
class CleanPosition:
    """The last sequenced event whose effects are stored."""

    sequencer_counter: int
    sequencer_ts_us: int


@dataclass(frozen=True, slots=True)
class StoredContract:
    contract_id: str
    template_id: Identifier
    signatories: frozenset[str]
    stakeholders: frozenset[str]
    key_hash: GlobalKeyHash | None
    payload: bytes
    ledger_time_us: int


@dataclass(frozen=True, slots=True)
class DivulgedContract:
    contract: StoredContract
    parties: frozenset[str]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    node_id: int
    parent_node_id: int | None
    kind: EventKind
    contract_id: str | None
    template_id: Identifier
    consuming: bool
    payload: bytes
    tree_witnesses: frozenset[str]
    flat_witnesses: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompletionEntry:
    """A command completion for this participant's submitter. `change_key` names the
    in-flight submission it ends (and, when accepted, the dedup entry it records)."""

    application_id: str
    act_as: frozenset[str]
    command_id: str
    submission_id: str
    change_key: str | None
    record_time_us: int
    status_code: int = STATUS_OK
    error_id: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class TransactionEntry:
    transaction_id: str
    ledger_time_us: int
    record_time_us: int
    events: tuple[StoredEvent, ...]
    archived: frozenset[str] = frozenset()
    created: tuple[StoredContract, ...] = ()
    divulged: tuple[DivulgedContract, ...] = ()
    command_id: str = ""
    workflow_id: str = ""
    application_id: str = ""
    submitters: frozenset[str] = frozenset()
    completion: CompletionEntry | None = None  # the submitter's success, same offset


@dataclass(frozen=True, slots=True)
class PendingRequest:
    locks: RequestLocks
    payload: bytes = b""  # what the shell needs when the verdict comes


@dataclass(frozen=True, slots=True)
class SubmissionSequenced:
    change_key: str
    request_id: RequestId
    sequenced_at_us: int


@dataclass(frozen=True, slots=True)
class TopologyRow:
    sequenced_ts_us: int
    position: int
    effective_from_us: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class EventEffects:
    position: CleanPosition
    transactions: tuple[TransactionEntry, ...] = ()
    rejections: tuple[CompletionEntry, ...] = ()
    pending_added: tuple[PendingRequest, ...] = ()
    pending_removed: tuple[RequestId, ...] = ()
    submissions_sequenced: tuple[SubmissionSequenced, ...] = ()
    topology: tuple[TopologyRow, ...] = ()


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    already_applied: bool
    transaction_offsets: tuple[Offset, ...]
    rejection_offsets: tuple[Offset, ...]
    ledger_end: Offset


@dataclass(frozen=True, slots=True)
class SubmissionEntry:
    change_id: ChangeId
    submission_id: str
    message_id: str
    max_sequencing_time_us: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class InFlightRow:
    entry: SubmissionEntry
    sequenced_at_us: int | None
    request_id: RequestId | None


@dataclass(frozen=True, slots=True)
class ContractRow:
    contract: StoredContract
    created_at_offset: Offset
    archived_at_offset: Offset | None


@dataclass(frozen=True, slots=True)
class CreateEventRef:
    """Where a contract's create event is in the event log (the Ledger API's event id is
    ``#<transaction_id>:<node_id>``)."""

    transaction_id: str
    node_id: int


@dataclass(frozen=True, slots=True)
class EventRow:
    node_id: int
    parent_node_id: int | None
    kind: EventKind
    contract_id: str | None
    template_id: Identifier
    consuming: bool
    payload: bytes
    witnesses: frozenset[str]  # among the requesting parties


@dataclass(frozen=True, slots=True)
class TransactionRow:
    offset: Offset
    transaction_id: str
    command_id: str
    workflow_id: str
    application_id: str
    submitters: frozenset[str]
    ledger_time_us: int
    record_time_us: int
    root_node_ids: tuple[int, ...]  # roots of the requesting parties' projection
    events: tuple[EventRow, ...]


@dataclass(frozen=True, slots=True)
class CompletionRow:
    offset: Offset
    entry: CompletionEntry
    transaction_id: str | None


# -- payload encodings -------------------------------------------------------------------

def encode_contract(contract: ContractInstance) -> bytes:
    writer = Writer()
    put_contract(writer, contract)
    return bytes(writer.out)


def decode_contract(data: bytes) -> ContractInstance:
    reader = Reader(data)
    contract = decoding("stored contract", lambda: get_contract(reader))
    reader.expect_end()
    return contract


def encode_node(node: Node) -> bytes:
    writer = Writer()
    put_node(writer, node)
    return bytes(writer.out)


def decode_node(data: bytes) -> Node:
    reader = Reader(data)
    node = decoding("stored event", lambda: get_node(reader))
    reader.expect_end()
    return node


_ID_SETS = ("unknown", "inactive", "not_fresh")
_ID_MAPS = ("locked", "duplicate_keys", "locked_keys", "inconsistent_keys")
_ID_FIELDS = _ID_SETS + _ID_MAPS


def encode_activeness_result(result: ActivenessResult) -> str:
    """Canonical JSON of a request's activeness result (the request id is the row's key)."""
    if not any([getattr(result, name) for name in _ID_FIELDS]):
        return _NOTHING_FOUND  # nearly every request: the same text, made once
    return _canonical_json(result)


def _canonical_json(result: ActivenessResult) -> str:
    document: dict[str, Any] = {name: sorted(getattr(result, name)) for name in _ID_SETS}
    document |= {name: dict(sorted(getattr(result, name).items())) for name in _ID_MAPS}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


_NOTHING_FOUND = _canonical_json(ActivenessResult(RequestId("")))


def decode_activeness_result(text: str, request_id: RequestId) -> ActivenessResult:
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or set(document) != {*_ID_SETS, *_ID_MAPS}:
            raise ValueError(f"not an activeness result: {text[:200]!r}")
        return ActivenessResult(
            request_id,
            unknown=frozenset(_texts(document["unknown"])),
            inactive=frozenset(_texts(document["inactive"])),
            locked={c: RequestId(r) for c, r in _text_map(document["locked"]).items()},
            not_fresh=frozenset(_texts(document["not_fresh"])),
            duplicate_keys={GlobalKeyHash(k): c
                            for k, c in _text_map(document["duplicate_keys"]).items()},
            locked_keys={GlobalKeyHash(k): RequestId(r)
                         for k, r in _text_map(document["locked_keys"]).items()},
            inconsistent_keys={GlobalKeyHash(k): c for k, c in
                               _text_map(document["inconsistent_keys"], True).items()},
        )
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise StoredRowInvalid(
            f"activeness result of pending request {request_id}: {err}"
        ) from None


def _texts(items: object) -> list[str]:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of strings, got {items!r}")
    return items


def _text_map(items: object, none_allowed: bool = False) -> dict[str, Any]:
    if not isinstance(items, dict) or not all(
        isinstance(v, str) or (none_allowed and v is None) for v in items.values()
    ):
        raise ValueError(f"expected an object of strings, got {items!r}")
    return items


def stored_contract(
    contract: ContractInstance,
    key_hash: GlobalKeyHash | None,
    encode: Callable[[ContractInstance], bytes] = encode_contract,
) -> StoredContract:
    return StoredContract(
        contract.contract_id,
        contract.template_id,
        contract.signatories,
        contract.stakeholders,
        key_hash,
        encode(contract),
        contract.created_at_us,
    )


def transaction_entry(
    commit_set: CommitSet,
    *,
    transaction_id: str,
    ledger_time_us: int,
    record_time_us: int,
    command_id: str = "",
    workflow_id: str = "",
    application_id: str = "",
    submitters: frozenset[str] = frozenset(),
    completion: CompletionEntry | None = None,
) -> TransactionEntry:
    """The rows an approved commit set adds to this participant's store. A contract created
    by a node of the projection is encoded from that node's bytes (`contract_payload`)."""
    creates: dict[str, tuple[CreateNode, bytes]] = {}
    events = stored_events(commit_set.projection, creates)
    payload = functools.partial(contract_payload, creates=creates)
    divulged = tuple(
        DivulgedContract(stored_contract(c, None, payload),
                         _divulged_witnesses(commit_set.projection, c.contract_id))
        for c in commit_set.divulged
    ) if commit_set.divulged else ()
    created = tuple(stored_contract(c.contract, c.key_hash, payload)
                    for c in commit_set.created)
    return TransactionEntry(transaction_id, ledger_time_us, record_time_us, events,
                            commit_set.archived, created, divulged, command_id, workflow_id,
                            application_id, submitters, completion)


def contract_payload(contract: ContractInstance,
                     creates: Mapping[str, tuple[CreateNode, bytes]]) -> bytes:
    """`encode_contract(contract)`, taken from its create node's encoding when `creates` has
    one with the same contents: `put_contract` is a create node's fields (`put_node` after
    the tag byte) and then `put_contract_creation`, and equal values have equal canonical
    bytes. Comparing costs about a sixth of encoding again."""
    found = creates.get(contract.contract_id)
    if found is None:
        return encode_contract(contract)
    node, node_payload = found
    if not (node.argument == contract.argument and node.template_id == contract.template_id
            and node.signatories == contract.signatories
            and node.observers == contract.observers and node.key == contract.key):
        return encode_contract(contract)
    creation = Writer()
    put_contract_creation(creation, contract)
    return node_payload[1:] + creation.out


def stored_events(projection: ProjectedTransaction,
                  creates: dict[str, tuple[CreateNode, bytes]] | None = None
                  ) -> tuple[StoredEvent, ...]:
    """The projection's events; each create node with its payload also into `creates`."""
    parent_of: dict[int, int] = {}
    events = []
    for w in projection.nodes:
        node = w.node
        payload = encode_node(node)
        if isinstance(node, CreateNode):
            kind: EventKind = "create"
            contract_id: str | None = node.contract_id
            consuming = False
            if creates is not None:
                creates[node.contract_id] = (node, payload)
        elif isinstance(node, ExerciseNode):
            kind, contract_id, consuming = "exercise", node.contract_id, node.consuming
            for child in node.children:
                parent_of[child] = w.node_id
        elif isinstance(node, FetchNode):
            kind, contract_id, consuming = "fetch", node.contract_id, False
        else:
            kind, contract_id, consuming = "lookup", node.result, False
        events.append((w, kind, contract_id, consuming, payload))
    return tuple(
        StoredEvent(w.node_id, parent_of.get(w.node_id), kind, contract_id,
                    w.node.template_id, consuming, payload, w.tree_witnesses,
                    w.flat_witnesses)
        for w, kind, contract_id, consuming, payload in events
    )


def _divulged_witnesses(projection: ProjectedTransaction, contract_id: str) -> frozenset[str]:
    parties: set[str] = set()
    for w in projection.nodes:
        node = w.node
        if isinstance(node, CreateNode | ExerciseNode | FetchNode) and (
            node.contract_id == contract_id
        ):
            parties |= w.tree_witnesses - node.stakeholders
    return frozenset(parties)
