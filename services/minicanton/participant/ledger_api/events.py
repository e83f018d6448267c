"""Store rows as Ledger API messages: created, archived and exercised events, flat
transactions, transaction trees and completions, as Daml defines them.

- A **flat transaction** holds the requesting parties' stakeholder view: a `CreatedEvent` per
  create and an `ArchivedEvent` per consuming exercise they are stakeholders of (transient
  contracts left out; the store's flat witnesses already say which). A template filter keeps
  an event for the parties whose filter admits its template; a transaction with no event left
  is not sent.
- A **transaction tree** holds every create and exercise the parties witness (fetches and
  lookups are not shown, as in Daml), exercises naming their shown children, with the roots of
  the parties' projection.
- Event ids are ``#<transaction id>:<node id>`` (node ids are the engine's, the same at every
  participant); the command id is shown only to a submitting party.
- **Verbose** output labels records and names record/variant/enum types. Values as the engine
  stored them are already labelled; an unlabelled one is labelled from the package type info
  (`PackageRegistry.template_info`) when the template is known, else left as it is.
  Non-verbose output leaves out labels and type ids.
"""

from __future__ import annotations

from collections.abc import Collection

from google.protobuf import timestamp_pb2

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    completion_pb2,
    event_pb2,
    transaction_pb2,
    value_pb2,
)
from minicanton.codec.ledger_api_values import (
    identifier_to_proto,
    record_to_proto,
    value_to_proto,
)
from minicanton.core.errors import MinicantonError
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.lf.package_types import TemplateInfo
from minicanton.core.lf.transaction import ContractInstance, CreateNode, ExerciseNode
from minicanton.core.lf.typecheck import check_value
from minicanton.core.lf.types import Type, TypeCon
from minicanton.core.lf.value import (
    EnumValue,
    GenMapValue,
    ListValue,
    OptionalValue,
    RecordValue,
    TextMapValue,
    Value,
    VariantValue,
)
from minicanton.participant.ledger_api.backend import event_id
from minicanton.participant.ledger_api.errors import completion_status
from minicanton.participant.ledger_api.filters import PartyFilters
from minicanton.store.participant_store import CompletionRow, TransactionRow, decode_node


def timestamp(micros: int) -> timestamp_pb2.Timestamp:
    seconds, rest = divmod(micros, 1_000_000)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=rest * 1000)


class EventRenderer:
    """Renders values and events for one request (verbose or not, one registry snapshot)."""

    def __init__(self, registry: PackageRegistry | None, verbose: bool) -> None:
        self._registry = registry
        self._verbose = verbose

    # -- values ----------------------------------------------------------------------------

    def _labelled(self, value: Value, ty: Type | None) -> Value:
        if not self._verbose or ty is None or self._registry is None or _is_labelled(value):
            return value
        try:
            return check_value(value, ty, self._registry.type_environment(), "")
        except MinicantonError:  # stored under another type than the registry knows
            return value

    def value(self, value: Value, ty: Type | None) -> value_pb2.Value:
        return value_to_proto(self._labelled(value, ty), verbose=self._verbose)

    def record(self, record: RecordValue, ty: Type | None) -> value_pb2.Record:
        labelled = self._labelled(record, ty)
        assert isinstance(labelled, RecordValue)
        return record_to_proto(labelled, verbose=self._verbose)

    def _info(self, template_id: Identifier) -> TemplateInfo | None:
        if self._registry is None:
            return None
        try:
            return self._registry.template_info(template_id)
        except MinicantonError:
            return None

    # -- events ----------------------------------------------------------------------------

    def created(self, event: str, contract: CreateNode | ContractInstance,
                witnesses: Collection[str], created_at_us: int) -> event_pb2.CreatedEvent:
        info = self._info(contract.template_id)
        out = event_pb2.CreatedEvent(
            event_id=event, contract_id=contract.contract_id,
            template_id=identifier_to_proto(contract.template_id),
            create_arguments=self.record(contract.argument, TypeCon(contract.template_id)),
            witness_parties=sorted(witnesses), signatories=sorted(contract.signatories),
            observers=sorted(contract.observers - contract.signatories),
            created_at=timestamp(created_at_us),
        )
        if contract.key is not None:
            key_type = info.key_type if info is not None else None
            out.contract_key.CopyFrom(self.value(contract.key.key, key_type))
        return out

    def archived(self, event: str, node: ExerciseNode, witnesses: Collection[str]
                 ) -> event_pb2.ArchivedEvent:
        return event_pb2.ArchivedEvent(
            event_id=event, contract_id=node.contract_id,
            template_id=identifier_to_proto(node.template_id), witness_parties=sorted(witnesses),
        )

    def exercised(self, event: str, node: ExerciseNode, witnesses: Collection[str],
                  children: list[str]) -> event_pb2.ExercisedEvent:
        info = self._info(node.template_id)
        choice = info.choice(node.choice) if info is not None else None
        out = event_pb2.ExercisedEvent(
            event_id=event, contract_id=node.contract_id,
            template_id=identifier_to_proto(node.template_id), choice=node.choice,
            choice_argument=self.value(node.choice_argument,
                                       choice.argument_type if choice else None),
            acting_parties=sorted(node.acting_parties), consuming=node.consuming,
            witness_parties=sorted(witnesses), child_event_ids=children,
        )
        if node.exercise_result is not None:
            out.exercise_result.CopyFrom(
                self.value(node.exercise_result, choice.result_type if choice else None))
        return out

    # -- transactions ------------------------------------------------------------------------

    def flat_transaction(self, row: TransactionRow, filters: PartyFilters
                         ) -> transaction_pb2.Transaction | None:
        """The flat transaction for the filter, or None if it keeps no event."""
        events = []
        for stored in row.events:
            witnesses = filters.witnesses(stored.witnesses, stored.template_id)
            if not witnesses:
                continue
            node = decode_node(stored.payload)
            name = event_id(row.transaction_id, stored.node_id)
            if isinstance(node, CreateNode):
                events.append(event_pb2.Event(
                    created=self.created(name, node, witnesses, row.ledger_time_us)))
            elif isinstance(node, ExerciseNode) and node.consuming:
                events.append(event_pb2.Event(archived=self.archived(name, node, witnesses)))
        if not events:
            return None
        return transaction_pb2.Transaction(
            transaction_id=row.transaction_id,
            command_id=_command_id(row, filters.parties), workflow_id=row.workflow_id,
            effective_at=timestamp(row.ledger_time_us), events=events, offset=row.offset,
        )

    def transaction_tree(self, row: TransactionRow, parties: Collection[str]
                         ) -> transaction_pb2.TransactionTree:
        shown = {e.node_id: e for e in row.events if e.kind in ("create", "exercise")}
        tree = transaction_pb2.TransactionTree(
            transaction_id=row.transaction_id, command_id=_command_id(row, parties),
            workflow_id=row.workflow_id, effective_at=timestamp(row.ledger_time_us),
            offset=row.offset,
            root_event_ids=[event_id(row.transaction_id, n) for n in row.root_node_ids
                            if n in shown],
        )
        for node_id, stored in shown.items():
            node = decode_node(stored.payload)
            name = event_id(row.transaction_id, node_id)
            target = tree.events_by_id[name]
            if isinstance(node, CreateNode):
                target.created.CopyFrom(
                    self.created(name, node, stored.witnesses, row.ledger_time_us))
            elif isinstance(node, ExerciseNode):
                children = [event_id(row.transaction_id, c) for c in node.children
                            if c in shown]
                target.exercised.CopyFrom(
                    self.exercised(name, node, stored.witnesses, children))
        return tree


def completion(row: CompletionRow) -> completion_pb2.Completion:
    entry = row.entry
    metadata = {"command_id": entry.command_id, "submission_id": entry.submission_id}
    return completion_pb2.Completion(
        command_id=entry.command_id,
        status=completion_status(entry.status_code, entry.error_id, entry.message, metadata),
        transaction_id=row.transaction_id or "", application_id=entry.application_id,
        act_as=sorted(entry.act_as), submission_id=entry.submission_id,
    )


def _command_id(row: TransactionRow, parties: Collection[str]) -> str:
    """Daml shows the command id to the submitting parties only."""
    return row.command_id if row.submitters & set(parties) else ""


def _is_labelled(value: Value) -> bool:
    """Every record labelled and every record, variant and enum naming its type."""
    match value:
        case RecordValue(type_id, fields):
            return type_id is not None and all(
                label and _is_labelled(item) for label, item in fields)
        case VariantValue(type_id, _, inner):
            return type_id is not None and _is_labelled(inner)
        case EnumValue(type_id, _):
            return type_id is not None
        case ListValue(items):
            return all(_is_labelled(item) for item in items)
        case OptionalValue(inner):
            return inner is None or _is_labelled(inner)
        case TextMapValue(entries):
            return all(_is_labelled(item) for _, item in entries)
        case GenMapValue(entries):
            return all(_is_labelled(k) and _is_labelled(v) for k, v in entries)
        case _:
            return True
