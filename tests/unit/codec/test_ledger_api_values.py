"""Daml Ledger API `Value` <-> Daml-LF values: round trips, Daml's wire forms, and refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.unit.lf.strategies import typed_values

from minicanton.codec.gen.com.daml.ledger.api.v1 import value_pb2
from minicanton.codec.ledger_api_values import (
    LedgerApiValueError,
    identifier_from_proto,
    identifier_to_proto,
    label_record,
    numeric_from_text,
    numeric_to_text,
    record_from_proto,
    record_to_proto,
    value_from_proto,
    value_to_proto,
)
from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import numeric_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.typecheck import check_value
from minicanton.core.lf.types import RecordDef, TList, TParty, TText, Type, TypeCon, TypeEnvironment
from minicanton.core.lf.value import (
    DATE_MAX_DAYS,
    DATE_MIN_DAYS,
    INT64_MAX,
    INT64_MIN,
    TIMESTAMP_MAX_US,
    TIMESTAMP_MIN_US,
    BoolValue,
    ContractIdValue,
    DateValue,
    EnumValue,
    GenMapValue,
    Int64Value,
    ListValue,
    NumericValue,
    OptionalValue,
    PartyValue,
    RecordValue,
    TextMapValue,
    TextValue,
    TimestampValue,
    UnitValue,
    Value,
    VariantValue,
)

PKG = "a1b2c3d4e5f6"
IOU = Identifier(PKG, "Iou", "Iou")
AMOUNT = Identifier(PKG, "Iou", "Amount")
COLOUR = Identifier(PKG, "Paint", "Colour")

# --------------------------------------------------------------------------- strategies
# H1's typed strategies give well-typed values; this untyped one adds what they never draw
# (unlabelled fields, records and variants without type ids, arbitrary names and ids).

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
identifiers = st.builds(
    Identifier,
    st.from_regex(r"[0-9a-f]{8,64}", fullmatch=True),
    st.from_regex(r"[A-Z][a-z]{0,5}(\.[A-Z][a-z]{0,5}){0,2}", fullmatch=True),
    st.from_regex(r"[A-Z][A-Za-z0-9_]{0,8}", fullmatch=True),
)
numerics = st.decimals(
    min_value=Decimal("-" + "9" * 28 + ".9999999999"), max_value=Decimal("9" * 28 + ".9999999999"),
    places=10, allow_nan=False, allow_infinity=False,
).map(numeric_value)
scalars: st.SearchStrategy[Value] = st.one_of(
    st.just(UnitValue()),
    st.builds(BoolValue, st.booleans()),
    st.builds(Int64Value, st.integers(INT64_MIN, INT64_MAX)),
    numerics,
    st.builds(TextValue, st.text(max_size=20)),
    st.builds(PartyValue, st.text(min_size=1, max_size=40)),
    st.builds(ContractIdValue, st.text(min_size=1, max_size=40)),
    st.builds(DateValue, st.integers(DATE_MIN_DAYS, DATE_MAX_DAYS)),
    st.builds(TimestampValue, st.integers(TIMESTAMP_MIN_US, TIMESTAMP_MAX_US)),
    st.builds(EnumValue, st.none() | identifiers, names),
)


def _containers(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    labelled_fields = st.lists(st.tuples(names, children), max_size=4,
                               unique_by=lambda field: field[0]).map(tuple)
    return st.one_of(
        st.lists(children, max_size=4).map(lambda items: ListValue(tuple(items))),
        st.builds(OptionalValue, st.none() | children),
        st.dictionaries(st.text(max_size=8), children, max_size=4).map(
            lambda entries: TextMapValue(tuple(entries.items()))),
        st.lists(st.tuples(children, children), max_size=4, unique_by=lambda kv: kv[0]).map(
            lambda pairs: GenMapValue(tuple(pairs))),
        st.builds(RecordValue, st.none() | identifiers, labelled_fields),
        st.builds(VariantValue, st.none() | identifiers, names, children),
    )


values = st.recursive(scalars, _containers, max_leaves=20)


def _strip(value: Value) -> Value:
    """What a non-verbose encoding keeps: no type ids, no labels."""
    match value:
        case RecordValue(_, fields):
            return RecordValue(None, tuple(("", _strip(item)) for _, item in fields))
        case VariantValue(_, constructor, argument):
            return VariantValue(None, constructor, _strip(argument))
        case EnumValue(_, constructor):
            return EnumValue(None, constructor)
        case ListValue(items):
            return ListValue(tuple(_strip(item) for item in items))
        case OptionalValue(inner):
            return OptionalValue(None if inner is None else _strip(inner))
        case TextMapValue(entries):
            return TextMapValue(tuple((key, _strip(item)) for key, item in entries))
        case GenMapValue(pairs):
            return GenMapValue(tuple((_strip(k), _strip(v)) for k, v in pairs))
    return value


# --------------------------------------------------------------------------- round trips


@settings(max_examples=150, deadline=None)
@given(values)
def test_every_value_survives_the_wire(value: Value) -> None:
    wire = value_to_proto(value).SerializeToString()
    assert value_from_proto(value_pb2.Value.FromString(wire)) == value


@settings(max_examples=100, deadline=None)
@given(values)
def test_non_verbose_encoding_drops_exactly_ids_and_labels(value: Value) -> None:
    # Keys that differ only by type id become equal once stripped; the wire refuses such a
    # map as a duplicate key, which is the behaviour the refusal tests cover.
    assume(not _has_keys_equal_once_stripped(value))
    assert value_from_proto(value_to_proto(value, verbose=False)) == _strip(value)


def _has_keys_equal_once_stripped(value: Value) -> bool:
    match value:
        case GenMapValue(pairs):
            keys = [_strip(key) for key, _ in pairs]
            return len(set(keys)) != len(keys) or any(
                _has_keys_equal_once_stripped(part) for pair in pairs for part in pair)
        case RecordValue(_, fields):
            return any(_has_keys_equal_once_stripped(item) for _, item in fields)
        case VariantValue(_, _, argument):
            return _has_keys_equal_once_stripped(argument)
        case ListValue(items):
            return any(_has_keys_equal_once_stripped(item) for item in items)
        case OptionalValue(inner):
            return inner is not None and _has_keys_equal_once_stripped(inner)
        case TextMapValue(entries):
            return any(_has_keys_equal_once_stripped(item) for _, item in entries)
    return False


@settings(max_examples=100, deadline=None)
@given(identifiers)
def test_identifiers_round_trip(identifier: Identifier) -> None:
    assert identifier_from_proto(identifier_to_proto(identifier)) == identifier


@settings(max_examples=60, deadline=None)
@given(typed_values())
def test_typed_values_survive_a_non_verbose_trip_once_checked_against_their_type(
        triple: tuple[Type, TypeEnvironment, Value]) -> None:
    # What a participant does with a command argument from a terse client: decode, then let
    # the engine's type check put labels and type ids back.
    type_, env, value = triple
    decoded = value_from_proto(value_to_proto(value, verbose=False))
    assert check_value(decoded, type_, env, "argument") == value
    assert value_from_proto(value_to_proto(value)) == value


def test_bare_record_round_trips_and_keeps_unlabelled_fields() -> None:
    record = RecordValue(IOU, (("issuer", PartyValue("bank")), ("", Int64Value(3))))
    pb = record_to_proto(record)
    assert pb.record_id.entity_name == "Iou"
    assert record_from_proto(pb) == record


# --------------------------------------------------------------------------- Daml's forms


@pytest.mark.parametrize(("text", "expected"), [
    ("1.5", "1.5"), ("+1.5", "1.5"), ("-0.0000000001", "-0.0000000001"), ("7.", "7"),
    ("0042", "42"), ("1.000000000000000000", "1"),
    ("9" * 28 + "." + "9" * 10, "9" * 28 + "." + "9" * 10),
    ("-" + "9" * 28, "-" + "9" * 28), ("-0", "0"),
])
def test_numeric_text_accepted(text: str, expected: str) -> None:
    assert numeric_from_text(text) == numeric_value(Decimal(expected))


@pytest.mark.parametrize("text", [
    "", "abc", "1e5", "1E-3", ".5", "1.2.3", " 1", "1 ", "--1", "NaN", "Infinity", "1_000",
    "\u0661", "1.00000000001", "1" * 29, "1" * 39, "0." + "0" * 38,
])
def test_numeric_text_refused(text: str) -> None:
    with pytest.raises(LedgerApiValueError, match="Numeric"):
        numeric_from_text(text)


def test_numeric_is_written_with_all_ten_decimals_and_no_negative_zero() -> None:
    assert numeric_to_text(NumericValue(Decimal("1.5")).value) == "1.5000000000"
    assert numeric_to_text(NumericValue(Decimal("-0")).value) == "0.0000000000"
    assert value_to_proto(NumericValue(Decimal("-12"))).numeric == "-12.0000000000"
    big = numeric_value(Decimal("9" * 28 + "." + "9" * 10))
    assert value_to_proto(big).numeric == "9" * 28 + "." + "9" * 10


def test_scalar_cases_use_damls_oneof_fields() -> None:
    cases: dict[str, Value] = {
        "unit": UnitValue(), "bool": BoolValue(True), "int64": Int64Value(-7),
        "text": TextValue("hé"), "party": PartyValue("alice::1220"),
        "contract_id": ContractIdValue("00ab"), "date": DateValue(-1),
        "timestamp": TimestampValue(1_700_000_000_123_456), "numeric": NumericValue(Decimal(2)),
        "enum": EnumValue(COLOUR, "Red"),
    }
    for case, value in cases.items():
        assert value_to_proto(value).WhichOneof("Sum") == case


def test_timestamp_travels_as_sfixed64_micros_from_daml_bytes() -> None:
    # Field 9, wire type 1 (64-bit): tag 0x49, then the little-endian two's complement.
    micros = -62135596800_000000  # 0001-01-01T00:00:00Z, Daml's lower bound
    wire = bytes([0x49]) + micros.to_bytes(8, "little", signed=True)
    assert value_from_proto(value_pb2.Value.FromString(wire)) == TimestampValue(micros)
    assert value_to_proto(TimestampValue(micros)).SerializeToString() == wire


def test_date_travels_as_int32_days() -> None:
    wire = value_to_proto(DateValue(19000)).SerializeToString()
    assert wire == bytes([14 << 3]) + _varint(19000)  # field 14, varint


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def test_text_map_entries_come_out_in_key_order() -> None:
    pb = value_pb2.Value(map=value_pb2.Map(entries=[
        value_pb2.Map.Entry(key="b", value=value_pb2.Value(int64=2)),
        value_pb2.Map.Entry(key="a", value=value_pb2.Value(int64=1)),
    ]))
    decoded = value_from_proto(pb)
    assert decoded == TextMapValue((("a", Int64Value(1)), ("b", Int64Value(2))))
    assert [entry.key for entry in value_to_proto(decoded).map.entries] == ["a", "b"]


def test_gen_map_entries_go_out_in_key_order_whatever_order_they_were_built_in() -> None:
    # Daml-LF GenMaps are ordered by key, so equal maps encode identically (review #13).
    value = GenMapValue(((Int64Value(2), TextValue("two")), (Int64Value(1), TextValue("one"))))
    assert [e.key.int64 for e in value_to_proto(value).gen_map.entries] == [1, 2]


def test_optional_distinguishes_none_from_some_none() -> None:
    none = value_pb2.Value(optional=value_pb2.Optional())
    some_none = value_pb2.Value(optional=value_pb2.Optional(value=none))
    assert value_from_proto(none) == OptionalValue(None)
    assert value_from_proto(some_none) == OptionalValue(OptionalValue(None))


# --------------------------------------------------------------------------- refusals


def _record(*fields: value_pb2.RecordField) -> value_pb2.Value:
    return value_pb2.Value(record=value_pb2.Record(fields=list(fields)))


def _field(label: str, value: value_pb2.Value | None = None) -> value_pb2.RecordField:
    return value_pb2.RecordField(label=label, value=value)


INT = value_pb2.Value(int64=1)
UNSET = value_pb2.Value()

MALFORMED = {
    "unset oneof": (UNSET, "none of its cases"),
    "bad numeric": (value_pb2.Value(numeric="1,5"), "Numeric"),
    "numeric too precise": (value_pb2.Value(numeric="0.12345678901"), "decimal places"),
    "timestamp too late": (value_pb2.Value(timestamp=TIMESTAMP_MAX_US + 1), "out of range"),
    "timestamp too early": (value_pb2.Value(timestamp=TIMESTAMP_MIN_US - 1), "out of range"),
    "date too late": (value_pb2.Value(date=DATE_MAX_DAYS + 1), "out of range"),
    "date too early": (value_pb2.Value(date=DATE_MIN_DAYS - 1), "out of range"),
    "empty party": (value_pb2.Value(party=""), "party"),
    "long contract id": (value_pb2.Value(contract_id="c" * 256), "contract id"),
    "variant without value": (
        value_pb2.Value(variant=value_pb2.Variant(constructor="Some")), "value is required"),
    "variant without constructor": (
        value_pb2.Value(variant=value_pb2.Variant(value=INT)), "constructor"),
    "enum with bad constructor": (value_pb2.Value(enum=value_pb2.Enum(constructor="1st")),
                                  "not a Daml name"),
    "record field without value": (_record(_field("x")), "value is required"),
    "record label not a name": (_record(_field("my-field", INT)), "not a Daml name"),
    "duplicate record label": (_record(_field("x", INT), _field("x", INT)), "duplicate"),
    "record id missing module": (
        value_pb2.Value(record=value_pb2.Record(
            record_id=value_pb2.Identifier(package_id=PKG, entity_name="Iou"))),
        "record_id.module_name"),
    "record id package with colon": (
        value_pb2.Value(record=value_pb2.Record(record_id=value_pb2.Identifier(
            package_id="a:b", module_name="M", entity_name="E"))), "package_id"),
    "duplicate text map key": (
        value_pb2.Value(map=value_pb2.Map(entries=[
            value_pb2.Map.Entry(key="k", value=INT), value_pb2.Map.Entry(key="k", value=INT)])),
        "duplicate"),
    "text map entry without value": (
        value_pb2.Value(map=value_pb2.Map(entries=[value_pb2.Map.Entry(key="k")])),
        "value is required"),
    "gen map entry without key": (
        value_pb2.Value(gen_map=value_pb2.GenMap(entries=[value_pb2.GenMap.Entry(value=INT)])),
        "key is required"),
    "duplicate gen map key": (
        value_pb2.Value(gen_map=value_pb2.GenMap(entries=[
            value_pb2.GenMap.Entry(key=INT, value=INT),
            value_pb2.GenMap.Entry(key=INT, value=INT)])), "duplicate"),
    "unset list element": (value_pb2.Value(list=value_pb2.List(elements=[INT, UNSET])),
                           "none of its cases"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_values_are_refused_with_a_typed_error(case: str) -> None:
    pb, reason = MALFORMED[case]
    with pytest.raises(LedgerApiValueError, match=reason) as caught:
        value_from_proto(pb)
    assert isinstance(caught.value, InvalidArgument)
    assert caught.value.error_id == "INVALID_ARGUMENT"


def test_error_names_where_in_the_value_the_problem_is() -> None:
    bad_amount = value_pb2.Value(numeric="1.00000000001")
    pb = _record(_field("owner", value_pb2.Value(party="alice")), _field("amounts", value_pb2.Value(
        list=value_pb2.List(elements=[value_pb2.Value(numeric="1"), bad_amount]))))
    with pytest.raises(LedgerApiValueError) as caught:
        value_from_proto(pb, "create_arguments")
    assert caught.value.path == "create_arguments.amounts[1]"
    assert str(caught.value).startswith("create_arguments.amounts[1]: Numeric")


def test_unlabelled_field_is_named_by_position_in_errors() -> None:
    too_late = value_pb2.Value(date=DATE_MAX_DAYS + 1)
    inner = value_pb2.Value(optional=value_pb2.Optional(value=too_late))
    with pytest.raises(LedgerApiValueError) as caught:
        value_from_proto(_record(_field("", INT), _field("", inner)))
    assert caught.value.path == "fields[1].Some"


def test_nesting_is_bounded_in_both_directions() -> None:
    value: Value = UnitValue()
    pb = innermost = value_pb2.Value()
    for _ in range(120):
        value = OptionalValue(value)
        innermost = innermost.optional.value
    innermost.unit.SetInParent()
    with pytest.raises(LedgerApiValueError, match="nests deeper"):
        value_to_proto(value)
    with pytest.raises(LedgerApiValueError, match="nests deeper"):
        value_from_proto(pb)


def test_identifier_needs_every_part() -> None:
    with pytest.raises(LedgerApiValueError, match="package_id"):
        identifier_from_proto(value_pb2.Identifier(module_name="M", entity_name="E"))
    with pytest.raises(LedgerApiValueError, match="entity_name"):
        identifier_from_proto(value_pb2.Identifier(package_id=PKG, module_name="M",
                                                   entity_name="E."))


# --------------------------------------------------------------------------- labelling

IOU_DEF = RecordDef((("issuer", TParty()), ("owner", TParty()), ("amount", TypeCon(AMOUNT)),
                     ("tags", TList(TText()))))

BANK, ALICE = PartyValue("bank"), PartyValue("alice")
TAGS = ListValue((TextValue("x"),))
ONE = NumericValue(Decimal(1))


def test_positional_fields_get_their_declared_labels() -> None:
    record = RecordValue(None, (("", BANK), ("", ALICE), ("", Int64Value(0)), ("tags", TAGS)))
    labelled = label_record(record, IOU_DEF)
    assert [label for label, _ in labelled.fields] == ["issuer", "owner", "amount", "tags"]
    assert labelled.fields[1][1] == ALICE


def test_fully_labelled_fields_may_come_in_any_order() -> None:
    record = RecordValue(None, (("tags", TAGS), ("owner", ALICE), ("amount", UnitValue()),
                                ("issuer", BANK)))
    labelled = label_record(record, IOU_DEF)
    assert labelled.fields == (("issuer", BANK), ("owner", ALICE), ("amount", UnitValue()),
                               ("tags", TAGS))


@pytest.mark.parametrize(("fields", "reason"), [
    ((("issuer", BANK), ("owner", ALICE), ("amount", ONE)), "do not match"),
    ((("issuer", BANK), ("owner", ALICE), ("amount", ONE), ("tags", TAGS), ("x", ONE)),
     "do not match"),
    ((("issuer", BANK), ("owner", ALICE), ("amount", ONE), ("issuer", BANK)), "do not match"),
    ((("", BANK), ("", ALICE), ("", ONE)), "declares 4"),
    ((("", BANK), ("issuer", ALICE), ("", ONE), ("", TAGS)), "field 1 is labelled 'issuer'"),
])
def test_label_mismatches_are_refused(fields: tuple[tuple[str, Value], ...], reason: str) -> None:
    with pytest.raises(LedgerApiValueError, match=reason):
        label_record(RecordValue(None, fields), IOU_DEF)
