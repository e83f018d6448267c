"""Between the Ledger API's protobuf values and the JSON API's JSON, directed by the types the
participant's packages declare (`type_cache.py`).

Inbound (a request's payload, choice argument or key): JSON is decoded against the template's
type with the core codec, so a wrong value is refused with its path (``payload.amount:
expected Numeric ...``) before anything is submitted. Outbound (created events, keys, exercise
results): protobuf values are checked against the same types and written in the Daml-LF JSON
encoding. A ledger answer that does not fit its declared type is the participant's fault,
never the caller's: it becomes `UnreadableLedgerAnswer` (a 500), not a 400.
"""

from __future__ import annotations

from collections.abc import Iterator

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    commands_pb2,
    event_pb2,
    transaction_pb2,
    value_pb2,
)
from minicanton.codec.ledger_api_values import (
    identifier_from_proto,
    identifier_to_proto,
    record_from_proto,
    record_to_proto,
    value_from_proto,
    value_to_proto,
)
from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.lf.json_codec import JsonDecodeError, decode_json, encode_json
from minicanton.core.lf.package_types import ChoiceInfo
from minicanton.core.lf.typecheck import check_value
from minicanton.core.lf.types import Type
from minicanton.core.lf.value import RecordValue, Value
from minicanton.core.protocol.offsets import Offset
from minicanton.json_api.contracts import (
    NO_KEY,
    ActiveContract,
    ArchivedContract,
    ContractEvent,
    LedgerUpdate,
)
from minicanton.json_api.type_cache import PackageSource, TemplateTypes, TypeCache


class UnreadableLedgerAnswer(MinicantonError):
    error_id = "LEDGER_ANSWER_UNREADABLE"


class UnknownChoice(InvalidArgument):
    error_id = "CHOICE_NOT_FOUND"


class NoContractKey(InvalidArgument):
    error_id = "TEMPLATE_HAS_NO_KEY"


# --------------------------------------------------------------------------------- inbound


def decode(data: object, type_: Type, types: TemplateTypes, where: str) -> Value:
    try:
        return decode_json(data, type_, types.environment)
    except JsonDecodeError as error:
        inner = error.message.removeprefix(f"{error.path}: ") if error.path else error.message
        path = f"{where}.{error.path}" if error.path else where
        raise InvalidArgument(f"{path}: {inner}") from None


def choice_of(types: TemplateTypes, choice: str) -> ChoiceInfo:
    info = types.info.choice(choice)
    if info is None:
        known = ", ".join(c.name for c in types.info.choices)
        raise UnknownChoice(f"template {types.identifier} has no choice {choice!r}; "
                            f"its choices are {known}")
    return info


def key_value(types: TemplateTypes, key: object) -> value_pb2.Value:
    if types.info.key_type is None:
        raise NoContractKey(f"template {types.identifier} has no contract key")
    return value_to_proto(decode(key, types.info.key_type, types, "key"))


def canonical_key(types: TemplateTypes, key: object) -> object:
    """The key as the JSON API writes it (to compare with stored keys)."""
    if types.info.key_type is None:
        raise NoContractKey(f"template {types.identifier} has no contract key")
    value = decode(key, types.info.key_type, types, "key")
    return encode_json(value, types.info.key_type, types.environment)


def create_command(types: TemplateTypes, payload: object) -> commands_pb2.Command:
    record = decode(payload, types.info.record_type, types, "payload")
    assert isinstance(record, RecordValue)
    return commands_pb2.Command(create=commands_pb2.CreateCommand(
        template_id=identifier_to_proto(types.identifier),
        create_arguments=record_to_proto(record)))


def _argument(types: TemplateTypes, choice: str, argument: object) -> tuple[str, value_pb2.Value]:
    info = choice_of(types, choice)
    return info.name, value_to_proto(decode(argument, info.argument_type, types, "argument"))


def exercise_command(types: TemplateTypes, contract_id: str, choice: str,
                     argument: object) -> commands_pb2.Command:
    name, value = _argument(types, choice, argument)
    return commands_pb2.Command(exercise=commands_pb2.ExerciseCommand(
        template_id=identifier_to_proto(types.identifier), contract_id=contract_id,
        choice=name, choice_argument=value))


def exercise_by_key_command(types: TemplateTypes, key: object, choice: str,
                            argument: object) -> commands_pb2.Command:
    key_pb = key_value(types, key)
    name, value = _argument(types, choice, argument)
    return commands_pb2.Command(exerciseByKey=commands_pb2.ExerciseByKeyCommand(
        template_id=identifier_to_proto(types.identifier), contract_key=key_pb, choice=name,
        choice_argument=value))


def create_and_exercise_command(types: TemplateTypes, payload: object, choice: str,
                                argument: object) -> commands_pb2.Command:
    record = decode(payload, types.info.record_type, types, "payload")
    assert isinstance(record, RecordValue)
    name, value = _argument(types, choice, argument)
    return commands_pb2.Command(createAndExercise=commands_pb2.CreateAndExerciseCommand(
        template_id=identifier_to_proto(types.identifier),
        create_arguments=record_to_proto(record), choice=name, choice_argument=value))


# -------------------------------------------------------------------------------- outbound


def _json(value: Value, type_: Type, types: TemplateTypes, where: str) -> object:
    try:
        checked = check_value(value, type_, types.environment, where)
        return encode_json(checked, type_, types.environment)
    except InvalidArgument as error:
        raise UnreadableLedgerAnswer(f"the participant sent a {where} that does not fit "
                                     f"{types.identifier}: {error.message}") from None


class Translator:
    """Ledger answers in JSON, for one caller (its `PackageSource` is bound to its token)."""

    def __init__(self, cache: TypeCache, source: PackageSource) -> None:
        self.cache = cache
        self.source = source

    async def types(self, pb: value_pb2.Identifier) -> TemplateTypes:
        try:
            identifier = identifier_from_proto(pb)
        except InvalidArgument as error:
            raise UnreadableLedgerAnswer(
                f"a template id from the ledger: {error.message}") from None
        return await self.cache.template(identifier, self.source)

    async def contract(self, event: event_pb2.CreatedEvent) -> ActiveContract:
        types = await self.types(event.template_id)
        try:
            record = record_from_proto(event.create_arguments)
            key_pb = (value_from_proto(event.contract_key)
                      if event.HasField("contract_key") else None)
        except InvalidArgument as error:
            raise UnreadableLedgerAnswer(f"a contract from the ledger: {error.message}") from None
        payload = _json(record, types.info.record_type, types, "payload")
        key: object = NO_KEY
        if types.info.key_type is not None and key_pb is not None:
            key = _json(key_pb, types.info.key_type, types, "key")
        return ActiveContract(
            contract_id=event.contract_id, template_id=types.identifier, payload=payload,
            key=key, signatories=tuple(event.signatories), observers=tuple(event.observers),
            agreement_text=event.agreement_text.value if event.HasField("agreement_text") else "")

    async def archived(self, event: event_pb2.ArchivedEvent | event_pb2.ExercisedEvent
                       ) -> ArchivedContract:
        types = await self.types(event.template_id)
        return ArchivedContract(event.contract_id, types.identifier)

    async def update(self, transaction: transaction_pb2.Transaction) -> LedgerUpdate:
        events: list[ContractEvent] = []
        for event in transaction.events:
            if event.HasField("created"):
                events.append(await self.contract(event.created))
            elif event.HasField("archived"):
                events.append(await self.archived(event.archived))
        return LedgerUpdate(Offset(transaction.offset), tuple(events))

    async def tree_events(self, tree: transaction_pb2.TransactionTree) -> list[ContractEvent]:
        """Creates and consuming exercises (as archives), in ledger order (pre-order)."""
        events: list[ContractEvent] = []
        for event in _pre_order(tree):
            if event.HasField("created"):
                events.append(await self.contract(event.created))
            elif event.exercised.consuming:
                events.append(await self.archived(event.exercised))
        return events

    async def exercise_result(self, tree: transaction_pb2.TransactionTree) -> object:
        """The result of the transaction's (first) root exercise."""
        for event_id in tree.root_event_ids:
            event = tree.events_by_id[event_id]
            if event.HasField("exercised"):
                exercised = event.exercised
                types = await self.types(exercised.template_id)
                info = choice_of(types, exercised.choice)
                try:
                    result = value_from_proto(exercised.exercise_result)
                except InvalidArgument as error:
                    raise UnreadableLedgerAnswer(f"an exercise result: {error.message}") from None
                return _json(result, info.result_type, types, "exercise result")
        raise UnreadableLedgerAnswer("the transaction has no root exercise")

    async def created_root(self, tree: transaction_pb2.TransactionTree) -> ActiveContract:
        for event_id in tree.root_event_ids:
            event = tree.events_by_id[event_id]
            if event.HasField("created"):
                return await self.contract(event.created)
        raise UnreadableLedgerAnswer("the transaction has no root create")


def _pre_order(tree: transaction_pb2.TransactionTree) -> Iterator[transaction_pb2.TreeEvent]:
    stack = list(reversed(tree.root_event_ids))
    while stack:
        event = tree.events_by_id.get(stack.pop())
        if event is None:
            continue
        yield event
        if event.HasField("exercised"):
            stack.extend(reversed(event.exercised.child_event_ids))
