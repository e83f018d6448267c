"""Canonical bytes of view contents, and their decoding.

The Merkle tree hashes the leaves of a transaction tree (the three metadata leaves and each
view's common and participant data) over the bytes produced here, and views travel between
participants as these bytes (encrypted). Both uses need one canonical form: equal contents
give equal bytes, and the decoder accepts exactly the bytes the encoder produces (sets must
be strictly sorted, flags 0 or 1, no trailing bytes), so ``decode(b) == c`` implies
``encode(c) == b`` and a recipient recomputes the very hash the submitter computed.

A leaf encoding is ``FORMAT_VERSION``, a `LeafKind` byte, then the body. Bodies are built
from fixed-width big-endian integers, ``u32``-length-prefixed byte strings and UTF-8 text,
``u32`` counts for sequences, party sets as sorted text sequences, and Daml-LF values in
their canonical binary encoding (`minicanton.core.lf.binary_codec`) as a byte string. The
tags below are frozen: they are inside every view hash. Bad bytes raise `ViewDecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any, TypeVar

from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberId, ParticipantId
from minicanton.core.lf.binary_codec import decode_value, encode_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    KeyWithMaintainers,
    LookupByKeyNode,
    Node,
    NodeId,
    Party,
)
from minicanton.core.lf.value import RecordValue, Value
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmingParty,
    ViewConfirmationParameters,
)
from minicanton.core.protocol.views import (
    CommonMetadata,
    CreatedContract,
    InputContract,
    ParticipantMetadata,
    ResolvedKey,
    SubmitterMetadata,
    ViewCommonData,
    ViewParticipantData,
)

FORMAT_VERSION = 3  # 2: contracts carry their salt; 3: no read-as in submitter metadata
T = TypeVar("T")

LeafContent = (
    SubmitterMetadata | CommonMetadata | ParticipantMetadata | ViewCommonData | ViewParticipantData
)


class ViewDecodeError(InvalidArgument):
    """Bytes that are not the canonical encoding of a view or tree."""

    error_id = "VIEW_DECODE_ERROR"


class LeafKind(IntEnum):
    SUBMITTER_METADATA = 1
    COMMON_METADATA = 2
    PARTICIPANT_METADATA = 3
    VIEW_COMMON_DATA = 4
    VIEW_PARTICIPANT_DATA = 5


class NodeTag(IntEnum):
    CREATE = 1
    EXERCISE = 2
    FETCH = 3
    LOOKUP_BY_KEY = 4


_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_U32_MAX = 2**32 - 1


class Writer:
    """Appends canonical fields to a buffer."""

    __slots__ = ("out",)

    def __init__(self) -> None:
        self.out = bytearray()

    def u8(self, value: int) -> None:
        self.out.append(value)

    def u32(self, value: int) -> None:
        if not 0 <= value <= _U32_MAX:
            raise InvalidArgument(f"{value} does not fit in 32 unsigned bits")
        self.out += _U32.pack(value)

    def i64(self, value: int) -> None:
        try:
            self.out += _I64.pack(value)
        except struct.error:
            raise InvalidArgument(f"{value} does not fit in 64 signed bits") from None

    def flag(self, value: bool) -> None:
        self.u8(1 if value else 0)

    def blob(self, value: bytes) -> None:
        self.u32(len(value))
        self.out += value

    def text(self, value: str) -> None:
        try:
            self.blob(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidArgument("text is not encodable as UTF-8") from None

    def value(self, value: Value) -> None:
        self.blob(encode_value(value))

    def parties(self, parties: frozenset[Party]) -> None:
        self.sequence(sorted(parties), self.text)

    def sequence(self, items: Iterable[T], put: Callable[[T], None]) -> None:
        materialised = list(items)
        self.u32(len(materialised))
        for item in materialised:
            put(item)

    def optional(self, item: T | None, put: Callable[[T], None]) -> None:
        self.flag(item is not None)
        if item is not None:
            put(item)


class Reader:
    """A cursor over untrusted bytes; every read checks bounds and canonical form."""

    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.position = 0

    # The fixed-width reads index and unpack in place (no slice per field): decoding a view
    # tree is thousands of these, and each step of indirection shows in its cost.
    def take(self, length: int, what: str) -> bytes:
        start = self.position
        end = start + length
        if end > len(self.data):
            raise ViewDecodeError(f"truncated input while reading {what}")
        self.position = end
        return self.data[start:end]

    def u8(self, what: str) -> int:
        start = self.position
        if start >= len(self.data):
            raise ViewDecodeError(f"truncated input while reading {what}")
        self.position = start + 1
        return self.data[start]

    def u32(self, what: str) -> int:
        start = self.position
        if start + 4 > len(self.data):
            raise ViewDecodeError(f"truncated input while reading {what}")
        self.position = start + 4
        value: int = _U32.unpack_from(self.data, start)[0]
        return value

    def i64(self, what: str) -> int:
        start = self.position
        if start + 8 > len(self.data):
            raise ViewDecodeError(f"truncated input while reading {what}")
        self.position = start + 8
        value: int = _I64.unpack_from(self.data, start)[0]
        return value

    def flag(self, what: str) -> bool:
        byte = self.u8(what)
        if byte > 1:
            raise ViewDecodeError(f"{what}: flag byte {byte} is neither 0 nor 1")
        return byte == 1

    def blob(self, what: str) -> bytes:
        length = self.u32(what)
        start = self.position
        end = start + length
        if end > len(self.data):
            raise ViewDecodeError(f"truncated input while reading {what}")
        self.position = end
        return self.data[start:end]

    def text(self, what: str) -> str:
        try:
            return self.blob(what).decode("utf-8")
        except UnicodeDecodeError:
            raise ViewDecodeError(f"{what} is not valid UTF-8") from None

    def value(self, what: str) -> Value:
        return decode_value(self.blob(what))

    def parties(self, what: str) -> frozenset[Party]:
        parties = self.sequence(lambda: self.text(what), what)
        if parties != sorted(set(parties)):
            raise ViewDecodeError(f"{what} are not strictly sorted")
        return frozenset(parties)

    def sequence(self, get: Callable[[], T], what: str) -> list[T]:
        count = self.u32(what)
        if count > len(self.data) - self.position:
            raise ViewDecodeError(f"{what}: count {count} exceeds the remaining input")
        return [get() for _ in range(count)]

    def optional(self, get: Callable[[], T], what: str) -> T | None:
        return get() if self.flag(what) else None

    def expect_end(self) -> None:
        if self.position != len(self.data):
            raise ViewDecodeError(f"{len(self.data) - self.position} trailing bytes")


def decoding(what: str, decode: Callable[[], T]) -> T:
    """Run `decode`; a validation failure of the decoded data becomes a `ViewDecodeError`."""
    try:
        return decode()
    except ViewDecodeError:
        raise
    except (InvalidArgument, ValueError, KeyError) as error:
        raise ViewDecodeError(f"invalid {what}: {error}") from None



def put_identifier(w: Writer, identifier: Identifier) -> None:
    w.text(identifier.package_id)
    w.text(identifier.module_name)
    w.text(identifier.entity_name)


def get_identifier(r: Reader) -> Identifier:
    return Identifier(r.text("package id"), r.text("module name"), r.text("entity name"))


def put_key(w: Writer, key: KeyWithMaintainers) -> None:
    w.value(key.key)
    w.parties(key.maintainers)


def get_key(r: Reader) -> KeyWithMaintainers:
    return KeyWithMaintainers(r.value("contract key"), r.parties("key maintainers"))


def get_record(r: Reader, what: str) -> RecordValue:
    value = r.value(what)
    if not isinstance(value, RecordValue):
        raise ViewDecodeError(f"{what} must be a record, got {type(value).__name__}")
    return value



def put_node(w: Writer, node: Node) -> None:
    if isinstance(node, CreateNode):
        w.u8(NodeTag.CREATE)
        _put_created(w, node.contract_id, node.template_id, node.argument, node.signatories,
                     node.observers, node.key)
    elif isinstance(node, ExerciseNode):
        w.u8(NodeTag.EXERCISE)
        _put_exercise(w, node)
    elif isinstance(node, FetchNode):
        w.u8(NodeTag.FETCH)
        w.text(node.contract_id)
        put_identifier(w, node.template_id)
        w.parties(node.acting_parties)
        w.parties(node.signatories)
        w.parties(node.stakeholders)
        w.optional(node.key, lambda key: put_key(w, key))
        w.flag(node.by_key)
    else:
        w.u8(NodeTag.LOOKUP_BY_KEY)
        put_identifier(w, node.template_id)
        put_key(w, node.key)
        w.optional(node.result, w.text)


def _put_exercise(w: Writer, node: ExerciseNode) -> None:
    w.text(node.contract_id)
    put_identifier(w, node.template_id)
    w.text(node.choice)
    w.value(node.choice_argument)
    w.parties(node.acting_parties)
    w.flag(node.consuming)
    w.parties(node.signatories)
    w.parties(node.stakeholders)
    w.parties(node.choice_observers)
    w.sequence(node.children, w.u32)
    w.flag(node.exercise_result is not None)
    if node.exercise_result is not None:
        w.value(node.exercise_result)
    w.optional(node.key, lambda key: put_key(w, key))
    w.flag(node.by_key)


def get_node(r: Reader) -> Node:
    tag = r.u8("node tag")
    if tag == NodeTag.CREATE:
        return CreateNode(
            r.text("contract id"), get_identifier(r), get_record(r, "create argument"),
            r.parties("signatories"), r.parties("observers"),
            r.optional(lambda: get_key(r), "key"),
        )
    if tag == NodeTag.EXERCISE:
        return _get_exercise(r)
    if tag == NodeTag.FETCH:
        return FetchNode(
            r.text("contract id"), get_identifier(r), r.parties("acting parties"),
            r.parties("signatories"), r.parties("stakeholders"),
            r.optional(lambda: get_key(r), "key"), r.flag("by key"),
        )
    if tag == NodeTag.LOOKUP_BY_KEY:
        return LookupByKeyNode(
            get_identifier(r), get_key(r), r.optional(lambda: r.text("result"), "result")
        )
    raise ViewDecodeError(f"unknown node tag {tag}")


def _get_exercise(r: Reader) -> ExerciseNode:
    return ExerciseNode(
        contract_id=r.text("contract id"),
        template_id=get_identifier(r),
        choice=r.text("choice"),
        choice_argument=r.value("choice argument"),
        acting_parties=r.parties("acting parties"),
        consuming=r.flag("consuming"),
        signatories=r.parties("signatories"),
        stakeholders=r.parties("stakeholders"),
        choice_observers=r.parties("choice observers"),
        children=tuple(NodeId(c) for c in r.sequence(lambda: r.u32("child"), "children")),
        exercise_result=r.optional(lambda: r.value("exercise result"), "exercise result"),
        key=r.optional(lambda: get_key(r), "key"),
        by_key=r.flag("by key"),
    )



def put_contract(w: Writer, contract: ContractInstance) -> None:
    """A contract is its create node's fields (`put_node` after the tag) and then
    `put_contract_creation`: a store may build it from the node's encoding."""
    _put_created(w, contract.contract_id, contract.template_id, contract.argument,
                 contract.signatories, contract.observers, contract.key)
    put_contract_creation(w, contract)


def put_contract_creation(w: Writer, contract: ContractInstance) -> None:
    """What a contract adds to its create node: when, and with which salt, it was created."""
    w.i64(contract.created_at_us)
    w.optional(contract.salt, w.blob)


def _put_created(w: Writer, contract_id: str, template_id: Identifier, argument: RecordValue,
                 signatories: frozenset[Party], observers: frozenset[Party],
                 key: KeyWithMaintainers | None) -> None:
    w.text(contract_id)
    put_identifier(w, template_id)
    w.value(argument)
    w.parties(signatories)
    w.parties(observers)
    w.optional(key, lambda k: put_key(w, k))


def get_contract(r: Reader) -> ContractInstance:
    return ContractInstance(
        r.text("contract id"), get_identifier(r), get_record(r, "contract argument"),
        r.parties("signatories"), r.parties("observers"),
        r.optional(lambda: get_key(r), "key"), r.i64("created at"),
        r.optional(lambda: r.blob("contract salt"), "contract salt"),
    )



def _put_submitter(w: Writer, m: SubmitterMetadata) -> None:
    w.parties(m.act_as)
    w.text(m.application_id)
    w.text(m.command_id)
    w.text(m.submitting_participant)
    w.text(m.submission_id)
    w.i64(m.max_sequencing_time_us)


def _get_submitter(r: Reader) -> SubmitterMetadata:
    return SubmitterMetadata(
        r.parties("act as"), r.text("application id"),
        r.text("command id"), ParticipantId(r.text("submitting participant")),
        r.text("submission id"), r.i64("max sequencing time"),
    )


def _put_common(w: Writer, m: CommonMetadata) -> None:
    w.text(m.confirmation_policy.value)
    w.text(m.domain_id)
    w.text(m.mediator_id)


def _get_common(r: Reader) -> CommonMetadata:
    return CommonMetadata(
        ConfirmationPolicy(r.text("confirmation policy")), r.text("domain id"),
        MemberId(r.text("mediator id")),
    )


def _put_participant(w: Writer, m: ParticipantMetadata) -> None:
    w.i64(m.ledger_time_us)
    w.i64(m.submission_time_us)
    w.text(m.workflow_id)


def _get_participant(r: Reader) -> ParticipantMetadata:
    return ParticipantMetadata(
        r.i64("ledger time"), r.i64("submission time"), r.text("workflow id")
    )


def _put_view_common(w: Writer, data: ViewCommonData) -> None:
    w.parties(data.informees)
    w.u32(len(data.confirming_parties))
    for confirming in data.confirming_parties:
        w.text(confirming.party)
        w.u32(confirming.weight)
    w.u32(data.threshold)


def _get_view_common(r: Reader) -> ViewCommonData:
    informees = r.parties("informees")
    confirming = r.sequence(
        lambda: ConfirmingParty(r.text("confirming party"), r.u32("weight")), "confirming"
    )
    return ViewCommonData(
        ViewConfirmationParameters(informees, tuple(confirming), r.u32("threshold"))
    )


def _put_view_participant(w: Writer, data: ViewParticipantData) -> None:
    def put_core(entry: tuple[NodeId, Node]) -> None:
        w.u32(entry[0])
        put_node(w, entry[1])

    def put_used(item: InputContract | CreatedContract) -> None:
        put_contract(w, item.contract)
        w.flag(item.consumed if isinstance(item, InputContract) else item.consumed_in_core)

    def put_resolved(item: ResolvedKey) -> None:
        put_identifier(w, item.template_id)
        w.value(item.key)
        w.optional(item.contract_id, w.text)

    w.sequence(data.core_nodes, put_core)
    w.optional(data.root_seed, w.blob)
    w.sequence(data.core_inputs, put_used)
    w.sequence(data.created_core, put_used)
    w.sequence(sorted(data.created_in_subview_archived_in_core), w.text)
    w.sequence(data.resolved_keys, put_resolved)


def _get_view_participant(r: Reader) -> ViewParticipantData:
    core = r.sequence(lambda: (NodeId(r.u32("node id")), get_node(r)), "core nodes")
    seed = r.optional(lambda: r.blob("root seed"), "root seed")
    inputs = r.sequence(lambda: InputContract(get_contract(r), r.flag("consumed")), "inputs")
    created = r.sequence(
        lambda: CreatedContract(get_contract(r), r.flag("consumed in core")), "created"
    )
    archived = r.sequence(lambda: r.text("contract id"), "archived in core")
    if archived != sorted(set(archived)):
        raise ViewDecodeError("created-in-subview-archived-in-core ids are not strictly sorted")
    resolved = r.sequence(
        lambda: ResolvedKey(
            get_identifier(r), r.value("key"), r.optional(lambda: r.text("cid"), "cid")
        ),
        "resolved keys",
    )
    return ViewParticipantData(
        tuple(core), seed, tuple(inputs), tuple(created), frozenset(archived), tuple(resolved)
    )


_CODECS: dict[type, tuple[LeafKind, Callable[[Writer, Any], None], Callable[[Reader], Any]]] = {
    SubmitterMetadata: (LeafKind.SUBMITTER_METADATA, _put_submitter, _get_submitter),
    CommonMetadata: (LeafKind.COMMON_METADATA, _put_common, _get_common),
    ParticipantMetadata: (LeafKind.PARTICIPANT_METADATA, _put_participant, _get_participant),
    ViewCommonData: (LeafKind.VIEW_COMMON_DATA, _put_view_common, _get_view_common),
    ViewParticipantData: (
        LeafKind.VIEW_PARTICIPANT_DATA, _put_view_participant, _get_view_participant
    ),
}
_DECODERS = {kind: get for kind, _, get in _CODECS.values()}


def leaf_kind(content: LeafContent) -> LeafKind:
    return _CODECS[type(content)][0]


def encode_leaf_content(content: LeafContent) -> bytes:
    """The canonical bytes of one Merkle leaf's content (what its hash covers)."""
    kind, put, _ = _CODECS[type(content)]
    w = Writer()
    w.u8(FORMAT_VERSION)
    w.u8(kind)
    put(w, content)
    return bytes(w.out)


def decode_leaf_content(data: bytes) -> LeafContent:
    """The leaf content whose canonical encoding is exactly `data`."""
    r = Reader(data)
    version = r.u8("format version")
    if version != FORMAT_VERSION:
        raise ViewDecodeError(f"unknown view format version {version}")
    raw_kind = r.u8("leaf kind")
    if raw_kind not in _DECODERS:
        raise ViewDecodeError(f"unknown leaf kind {raw_kind}")
    kind = LeafKind(raw_kind)
    content: LeafContent = decoding(kind.name.lower().replace("_", " "),
                                    lambda: _DECODERS[kind](r))
    r.expect_end()
    return content
