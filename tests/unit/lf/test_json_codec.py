"""The Daml-LF JSON codec: Daml's documented examples, round trips, and every malformed shape
refused with a typed error that names the path, the expected type and what was found."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.lf.strategies import typed_values

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import MAX_NESTING, numeric_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.json_codec import (
    JsonDecodeError,
    JsonEncodeError,
    decode_json,
    encode_json,
)
from minicanton.core.lf.types import (
    DataTypeDef,
    EnumDef,
    RecordDef,
    TBool,
    TContractId,
    TDate,
    TGenMap,
    TInt64,
    TList,
    TNumeric,
    TOptional,
    TParty,
    TText,
    TTextMap,
    TTimestamp,
    TUnit,
    Type,
    TypeCon,
    TypeEnvironment,
    VariantDef,
)
from minicanton.core.lf.value import (
    TIMESTAMP_MAX_US,
    TIMESTAMP_MIN_US,
    BoolValue,
    DateValue,
    EnumValue,
    Int64Value,
    ListValue,
    NumericValue,
    OptionalValue,
    PartyValue,
    RecordValue,
    TextValue,
    TimestampValue,
    UnitValue,
    Value,
    VariantValue,
)

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _id(name: str) -> Identifier:
    return Identifier("ab" * 32, "Main", name)


ITEM, IOU, FOO, COLOR, TREE = _id("Item"), _id("Iou"), _id("Foo"), _id("Color"), _id("Tree")
DEPTH1, DEPTH2, PAIR = _id("Depth1"), _id("Depth2"), _id("Pair")
ENV: dict[Identifier, DataTypeDef] = {
    ITEM: RecordDef((("owner", TParty()), ("qty", TInt64()))),
    IOU: RecordDef((
        ("issuer", TParty()),
        ("amount", TNumeric()),
        ("items", TList(TypeCon(ITEM))),
        ("note", TOptional(TText())),
    )),
    FOO: VariantDef((("Bar", TInt64()), ("Baz", TUnit()), ("Quux", TOptional(TInt64())))),
    COLOR: EnumDef(("Red", "Green")),
    TREE: RecordDef((("value", TInt64()), ("children", TList(TypeCon(TREE))))),
    DEPTH1: RecordDef((("foo", TOptional(TInt64())),)),
    DEPTH2: RecordDef((("foo", TOptional(TOptional(TInt64()))),)),
    PAIR: RecordDef((("f1", TInt64()), ("f2", TBool()))),
}
OPT_INT, OPT2_INT = TOptional(TInt64()), TOptional(TOptional(TInt64()))
OPT3_INT = TOptional(OPT2_INT)


def _some(value: Value) -> OptionalValue:
    return OptionalValue(value)


NONE = OptionalValue(None)


def _decode(data: object, type_: Type) -> Value:
    return decode_json(data, type_, ENV)


# ------------------------------------------------------------------ Daml's documented examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), ('"+42"', 42), ("-42", -42), ("0", 0), ("-0", 0), ("42.0", 42),
     ("9223372036854775807", 2**63 - 1), ('"9223372036854775807"', 2**63 - 1),
     ("-9223372036854775808", -(2**63)), ('"-9223372036854775808"', -(2**63)),
     ('"000000000000000000000000042"', 42)],
)
def test_int64_inputs(text: str, expected: int) -> None:
    assert _decode(json.loads(text), TInt64()) == Int64Value(expected)
    assert encode_json(Int64Value(expected), TInt64(), ENV) == str(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", "42"), ("42.0", "42"), ('"42"', "42"), ("-42", "-42"), ('"-42"', "-42"),
     ("0", "0"), ("-0", "0"), ("2e3", "2000"), ('"2e3"', "2000"), ("0.1", "0.1"),
     ('"1E-10"', "0.0000000001"), ("0.30000000000000004e0", None),
     ('"9999999999999999999999999999.9999999999"', "9999999999999999999999999999.9999999999"),
     ('"-9999999999999999999999999999.9999999999"', "-9999999999999999999999999999.9999999999")],
)
def test_numeric_inputs(text: str, expected: str | None) -> None:
    data = json.loads(text, parse_float=Decimal)  # as the JSON API parses request bodies
    if expected is None:  # Daml would round; we refuse to change an amount silently
        with pytest.raises(JsonDecodeError, match="at most 10 decimal places"):
            _decode(data, TNumeric())
        return
    assert _decode(data, TNumeric()) == numeric_value(Decimal(expected))


def test_numeric_reads_exact_decimals_when_json_is_parsed_with_parse_float_decimal() -> None:
    text = "9999999999999999999999999999.9999999999"
    assert _decode(json.loads(text, parse_float=Decimal), TNumeric()) == numeric_value(
        Decimal(text)
    )


@pytest.mark.parametrize(
    "text",
    ["1234567890123456789.1234567891", "0.1", "42.0", "2e3", "1e300", "-0.5"],
)
def test_a_float_is_never_read_as_numeric(text: str) -> None:
    # json.loads without parse_float=Decimal has already rounded the number to a binary
    # float: 1234567890123456789.1234567891 became 1234567890123456800.0. Refuse them all
    # (even 0.5, which is exact) so a caller that forgot parse_float=Decimal learns at once.
    data = json.loads(text)
    assert isinstance(data, float)
    with pytest.raises(JsonDecodeError) as caught:
        _decode(data, TNumeric())
    message = caught.value.message
    assert message.startswith("expected Numeric 10 as a string or an exact number, found the float")
    assert "send Numeric as a JSON string or parse JSON with parse_float=Decimal" in message


@pytest.mark.parametrize(
    "data", [2.0**53 + 2, -(2.0**53) - 2, 1e19, 9.3e18, 1e300]
)
def test_a_float_beyond_2_to_the_53_is_never_read_as_int64(data: float) -> None:
    with pytest.raises(JsonDecodeError) as caught:
        _decode(data, TInt64())
    message = caught.value.message
    assert message.startswith("expected Int64 as a string or an exact number, found the float")
    assert "send Int64 as a JSON string or parse JSON with parse_float=Decimal" in message


def test_an_integral_float_within_2_to_the_53_is_still_an_int64() -> None:
    assert _decode(2.0**53, TInt64()) == Int64Value(2**53)
    assert _decode(-42.0, TInt64()) == Int64Value(-42)


@pytest.mark.parametrize(
    ("number", "text"),
    [("42", "42.0"), ("0.25", "0.25"), ("-1.5", "-1.5"), ("0", "0.0"), ("-0", "0.0"),
     ("100.2500", "100.25"), ("0.0000000001", "0.0000000001"),
     ("9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999")],
)
def test_numeric_output_is_daml_unscaled_string(number: str, text: str) -> None:
    assert encode_json(numeric_value(Decimal(number)), TNumeric(), ENV) == text


@pytest.mark.parametrize(
    ("micros", "text"),
    [(0, "1970-01-01T00:00:00Z"), (1000, "1970-01-01T00:00:00.001Z"),
     (120_000, "1970-01-01T00:00:00.120Z"), (1, "1970-01-01T00:00:00.000001Z"),
     (123_456, "1970-01-01T00:00:00.123456Z"), (-1, "1969-12-31T23:59:59.999999Z"),
     (TIMESTAMP_MIN_US, "0001-01-01T00:00:00Z"), (TIMESTAMP_MAX_US, "9999-12-31T23:59:59.999999Z"),
     (1_709_164_800_000_000, "2024-02-29T00:00:00Z")],
)
def test_timestamps_round_trip_with_0_3_or_6_fraction_digits(micros: int, text: str) -> None:
    assert encode_json(TimestampValue(micros), TTimestamp(), ENV) == text
    assert _decode(text, TTimestamp()) == TimestampValue(micros)


@pytest.mark.parametrize(
    ("text", "same_as"),
    [("1990-11-09T04:30:23.1234569Z", "1990-11-09T04:30:23.123456Z"),  # past µs is dropped
     ("1990-11-09T04:30:23.1Z", "1990-11-09T04:30:23.100Z"),
     ("2021-01-01T01:00:00+01:00", "2021-01-01T00:00:00Z"),
     ("2020-12-31T23:30:00-00:30", "2021-01-01T00:00:00Z"),
     ("2021-01-01T00:00:00+00:00", "2021-01-01T00:00:00Z")],
)
def test_timestamp_inputs_with_fractions_and_offsets(text: str, same_as: str) -> None:
    assert _decode(text, TTimestamp()) == _decode(same_as, TTimestamp())


@pytest.mark.parametrize(
    ("text", "days"),
    [("1970-01-01", 0), ("2019-06-18", 18065), ("0001-01-01", -719162), ("9999-12-31", 2932896),
     ("2000-02-29", 11016), ("1969-12-31", -1)],
)
def test_dates(text: str, days: int) -> None:
    assert _decode(text, TDate()) == DateValue(days)
    assert encode_json(DateValue(days), TDate(), ENV) == text


@pytest.mark.parametrize(
    ("data", "type_", "value", "output"),
    [(None, OPT_INT, NONE, None), (None, OPT2_INT, NONE, None),
     (42, OPT_INT, _some(Int64Value(42)), "42"), ([], OPT2_INT, _some(NONE), []),
     ([42], OPT2_INT, _some(_some(Int64Value(42))), ["42"]),
     ([[]], OPT3_INT, _some(_some(NONE)), [[]]),
     ([[42]], OPT3_INT, _some(_some(_some(Int64Value(42)))), [["42"]]),
     ({}, TOptional(TUnit()), _some(UnitValue()), {})],
)
def test_optionals_as_daml_documents_them(
    data: object, type_: Type, value: Value, output: object
) -> None:
    assert _decode(data, type_) == value
    assert encode_json(value, type_, ENV) == output


@pytest.mark.parametrize(
    ("data", "record", "foo"),
    [({}, DEPTH1, NONE), ({}, DEPTH2, NONE), ({"foo": 42}, DEPTH1, _some(Int64Value(42))),
     ({"foo": [42]}, DEPTH2, _some(_some(Int64Value(42)))), ({"foo": None}, DEPTH1, NONE),
     ({"foo": None}, DEPTH2, NONE), ({"foo": []}, DEPTH2, _some(NONE)), ([None], DEPTH1, NONE)],
)
def test_optional_record_fields_may_be_left_out(
    data: object, record: Identifier, foo: Value
) -> None:
    value = _decode(data, TypeCon(record))
    assert value == RecordValue(record, (("foo", foo),))
    encoded = encode_json(value, TypeCon(record), ENV)
    assert isinstance(encoded, dict) and "foo" in encoded  # output never leaves a field out


def test_records_read_as_arrays_in_field_order_and_are_written_as_objects() -> None:
    value = _decode([42, True], TypeCon(PAIR))
    assert value == RecordValue(PAIR, (("f1", Int64Value(42)), ("f2", BoolValue(True))))
    assert encode_json(value, TypeCon(PAIR), ENV) == {"f1": "42", "f2": True}


@pytest.mark.parametrize(
    ("data", "value"),
    [({"tag": "Bar", "value": 42}, VariantValue(FOO, "Bar", Int64Value(42))),
     ({"tag": "Baz", "value": {}}, VariantValue(FOO, "Baz", UnitValue())),
     ({"tag": "Quux", "value": None}, VariantValue(FOO, "Quux", NONE)),
     ({"tag": "Quux", "value": 42}, VariantValue(FOO, "Quux", _some(Int64Value(42))))],
)
def test_variants(data: object, value: Value) -> None:
    assert _decode(data, TypeCon(FOO)) == value
    assert _decode(encode_json(value, TypeCon(FOO), ENV), TypeCon(FOO)) == value


def test_enums_maps_and_type_ids() -> None:
    assert _decode("Green", TypeCon(COLOR)) == EnumValue(COLOR, "Green")
    assert encode_json(EnumValue(COLOR, "Red"), TypeCon(COLOR), ENV) == "Red"
    text_map = _decode({"b": "2", "a": 1}, TTextMap(TInt64()))
    assert encode_json(text_map, TTextMap(TInt64()), ENV) == {"a": "1", "b": "2"}
    gen_map_type = TGenMap(TypeCon(COLOR), TText())
    gen_map = _decode([["Red", "r"], ["Green", "g"]], gen_map_type)
    assert gen_map == _decode([["Green", "g"], ["Red", "r"]], gen_map_type)
    assert encode_json(gen_map, gen_map_type, ENV) == [["Green", "g"], ["Red", "r"]]


def test_gen_map_entry_order_is_free_and_the_last_duplicate_wins() -> None:
    # Daml-LF value spec: "If two or more entries have the same keys, the last one
    # overrides ... Entries with different key may occur in arbitrary order".
    type_ = TGenMap(TInt64(), TText())
    forward = _decode([[1, "a"], [2, "b"]], type_)
    assert forward == _decode([[2, "b"], [1, "a"]], type_)
    assert encode_json(forward, type_, ENV) == [["1", "a"], ["2", "b"]]
    assert _decode([["1", "x"], [2, "b"], [1, "a"]], type_) == forward


def test_a_recursive_type_round_trips() -> None:
    data = {"value": "1", "children": [{"value": "2", "children": []}]}
    value = _decode(data, TypeCon(TREE))
    assert encode_json(value, TypeCon(TREE), ENV) == data


# --------------------------------------------------------------------------------- properties


@BOUNDED
@given(typed_values())
def test_round_trip_through_json_text(triple: tuple[Type, TypeEnvironment, Value]) -> None:
    type_, env, value = triple
    text = json.dumps(encode_json(value, type_, env), allow_nan=False)
    assert decode_json(json.loads(text), type_, env) == value


def _wrong_json(type_: Type, env: TypeEnvironment) -> object:
    """JSON that no value of `type_` is encoded as, and that is not even close in shape."""
    if isinstance(type_, TOptional):
        return "not a list" if isinstance(type_.element, TOptional) else _wrong_json(
            type_.element, env
        )
    if isinstance(type_, TypeCon):
        definition = env[type_.identifier]
        return 5 if isinstance(definition, EnumDef) else (
            "x" if isinstance(definition, RecordDef) else []
        )
    wrong: dict[type, object] = {
        TUnit: 1, TBool: "true", TInt64: 1.5, TNumeric: "abc", TText: 7, TParty: 7,
        TContractId: 7, TDate: "2020-13-01", TTimestamp: "2020-01-01T00:00:00",
        TList: {"a": 1}, TTextMap: [], TGenMap: {},
    }
    return wrong[type(type_)]


@BOUNDED
@given(typed_values(max_leaves=4))
def test_a_wrong_shape_deep_inside_is_reported_at_its_path(
    triple: tuple[Type, TypeEnvironment, Value],
) -> None:
    type_, env, value = triple
    holder = _id("Holder")
    holder_env = {**env, holder: RecordDef((("items", TList(type_)),))}
    good = encode_json(value, type_, env)
    with pytest.raises(JsonDecodeError) as caught:
        decode_json({"items": [good, good, _wrong_json(type_, env)]}, TypeCon(holder), holder_env)
    assert caught.value.path.startswith("items[2]")
    assert "expected" in caught.value.message or "not a" in caught.value.message


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)


@BOUNDED
@given(typed_values(max_leaves=4), _json_values)
def test_arbitrary_json_decodes_or_fails_with_a_typed_error(
    triple: tuple[Type, TypeEnvironment, Value], data: object
) -> None:
    type_, env, _ = triple
    try:
        value = decode_json(data, type_, env)
    except JsonDecodeError as error:
        assert isinstance(error, InvalidArgument) and error.message
        return
    assert decode_json(encode_json(value, type_, env), type_, env) == value


# ----------------------------------------------------------------------------- malformed input

IOU_OK = {"issuer": "Bank", "amount": "1", "items": []}
ITEM_OK = {"owner": "Alice", "qty": 1}


@pytest.mark.parametrize(
    ("type_", "data", "path", "message"),
    [
        (TUnit(), [], "", "expected Unit ({}), found an array of 0 items"),
        (TUnit(), {"a": 1}, "", "expected Unit"),
        (TBool(), "true", "", 'expected Bool (true or false), found the string "true"'),
        (TInt64(), 42.5, "", "expected Int64 (an integer or a string of digits), found the number"),
        (TInt64(), "42.0", "", "expected Int64"),
        (TInt64(), " 42", "", "expected Int64"),
        (TInt64(), True, "", "found true"),
        (TInt64(), "9223372036854775808", "", "out of range"),
        (TInt64(), -(2**63) - 1, "", "out of range"),
        (TInt64(), "9" * 5000, "", "out of range"),
        (TInt64(), 1e300, "", "expected Int64 as a string or an exact number, found the float"),
        (TNumeric(), "1.00000000001", "", "at most 10 decimal places"),
        (TNumeric(), "1e-999999999", "", "at most 10 decimal places"),
        (TNumeric(), "1e28", "", "must be below 1e+28"),
        (TNumeric(), "-1e999999999", "", "must be below"),
        (TNumeric(), 1e300, "", "expected Numeric 10 as a string or an exact number"),
        (TNumeric(), "blah", "", 'expected Numeric 10 (a number or a numeric string), found the'),
        (TNumeric(), " 42 ", "", "expected Numeric 10"),
        (TNumeric(), "+42", "", "expected Numeric 10"),
        (TNumeric(), "42.", "", "expected Numeric 10"),
        (TNumeric(), "1_000", "", "expected Numeric 10"),
        (TNumeric(), "NaN", "", "expected Numeric 10"),
        (TNumeric(), float("nan"), "", "expected Numeric 10 as a string or an exact number"),
        (TNumeric(), float("inf"), "", "expected Numeric 10 as a string or an exact number"),
        (TNumeric(), Decimal("sNaN"), "", "expected Numeric 10"),
        (TNumeric(), None, "", "found null"),
        (TText(), 42, "", "expected Text (a string), found the number 42"),
        (TText(), "\ud800", "", "lone surrogate"),
        (TParty(), "", "", "invalid Party: a party id is 1-255 characters"),
        (TParty(), 5, "", "expected Party"),
        (TContractId(), None, "", "expected ContractId"),
        (TDate(), "2021-02-29", "", "2021-02-29 is not a calendar date"),
        (TDate(), "2021-13-01", "", "not a calendar date"),
        (TDate(), "0000-01-01", "", "not a calendar date"),
        (TDate(), "2021-1-01", "", "not a yyyy-mm-dd date"),
        (TDate(), "2021-01-01T00:00:00Z", "", "not a yyyy-mm-dd date"),
        (TDate(), 20210101, "", "expected Date (a yyyy-mm-dd string)"),
        (TTimestamp(), "2021-01-01T00:00:00", "", "not an ISO 8601 timestamp"),
        (TTimestamp(), "2021-01-01 00:00:00Z", "", "not an ISO 8601 timestamp"),
        (TTimestamp(), "2021-01-01T00:00:00.Z", "", "not an ISO 8601 timestamp"),
        (TTimestamp(), "2021-01-01T24:00:00Z", "", "not a time of day"),
        (TTimestamp(), "2021-01-01T23:59:60Z", "", "not a time of day"),
        (TTimestamp(), "2021-02-30T00:00:00Z", "", "not a calendar date"),
        (TTimestamp(), "2021-01-01T00:00:00+24:00", "", "not a UTC offset"),
        (TTimestamp(), "0001-01-01T00:00:00+00:01", "", "out of range"),
        (TTimestamp(), "9999-12-31T23:59:59-00:01", "", "out of range"),
        (TTimestamp(), 12345, "", "expected Timestamp (an ISO 8601 string)"),
        (TList(TInt64()), "abc", "", "expected List Int64 (an array)"),
        (TList(TInt64()), [1, "x"], "[1]", "expected Int64"),
        (OPT2_INT, [1, 2], "", "expected Optional Int64 nested in an Optional ([] or [value])"),
        (OPT2_INT, "x", "", "nested in an Optional"),
        (OPT2_INT, [None], "[0]", "expected Int64 (an integer or a string of digits), found null"),
        (OPT3_INT, [[1, 2]], "[0]", "expected Optional Int64 nested in an Optional"),
        (OPT3_INT, [1], "[0]", "nested in an Optional"),
        (TTextMap(TInt64()), [], "", "expected TextMap Int64 (an object), found an array"),
        (TTextMap(TInt64()), {"a": "x"}, "a", "expected Int64"),
        (TTextMap(TInt64()), {"a b": "x"}, '["a b"]', "expected Int64"),
        (TGenMap(TInt64(), TText()), {}, "", "an array of [key, value] pairs"),
        (TGenMap(TInt64(), TText()), [1], "[0]", "a GenMap entry (a [key, value] pair), found the"),
        (TGenMap(TInt64(), TText()), [[1]], "[0]", "a [key, value] pair"),
        (TGenMap(TInt64(), TText()), [[1, "a", 3]], "[0]", "a [key, value] pair"),
        (TGenMap(TInt64(), TText()), [[1, 2]], "[0][1]", "expected Text"),
        (TypeCon(IOU), "x", "", "expected record Main:Iou (an object or an array)"),
        (TypeCon(IOU), {"issuer": "Bank", "items": []}, "amount", "missing field amount of type"),
        (TypeCon(IOU), {**IOU_OK, "extra": 1}, "extra", "unknown field 'extra' of record Main:Iou"),
        (TypeCon(IOU), ["Bank", "1"], "", "an array of its 4 fields in order"),
        (TypeCon(IOU), {**IOU_OK, "amount": "abc"}, "amount", "expected Numeric 10"),
        (TypeCon(IOU), {**IOU_OK, "items": [ITEM_OK, ITEM_OK, {"owner": 5, "qty": 1}]},
         "items[2].owner", "expected Party"),
        (TypeCon(IOU), {**IOU_OK, "note": 5}, "note", "expected Text"),
        (TypeCon(FOO), {"tag": "No", "value": 1}, "tag", "unknown constructor 'No' of Main:Foo"),
        (TypeCon(FOO), {"value": 1}, "tag", "missing tag of variant Main:Foo"),
        (TypeCon(FOO), {"tag": 1, "value": 1}, "tag", "expected a constructor of Main:Foo"),
        (TypeCon(FOO), {"tag": "Bar"}, "value", "missing value of Main:Foo.Bar"),
        (TypeCon(FOO), {"tag": "Bar", "value": "x"}, "value", "expected Int64"),
        (TypeCon(FOO), {"tag": "Bar", "value": 1, "x": 2}, "x", "unknown field 'x'"),
        (TypeCon(FOO), [], "", "expected variant Main:Foo"),
        (TypeCon(COLOR), "Blue", "", "unknown constructor 'Blue' of enum Main:Color"),
        (TypeCon(COLOR), 1, "", "expected enum Main:Color (a string, one of Red, Green)"),
        (TypeCon(_id("Missing")), {}, "", "is not defined"),
    ],
)
def test_malformed_json_is_refused_at_its_path(
    type_: Type, data: object, path: str, message: str
) -> None:
    with pytest.raises(JsonDecodeError) as caught:
        _decode(data, type_)
    assert caught.value.path == path
    assert message in caught.value.message
    assert caught.value.message.startswith(f"{path}: ") or not path
    assert caught.value.error_id == "INVALID_ARGUMENT"


def test_nesting_deeper_than_daml_lf_allows_is_refused() -> None:
    data: object = {"value": 0, "children": []}
    for _ in range(MAX_NESTING + 5):
        data = {"value": 0, "children": [data]}
    with pytest.raises(JsonDecodeError, match="nests deeper than 100"):
        _decode(data, TypeCon(TREE))


@pytest.mark.parametrize(
    ("value", "type_", "path"),
    [(TextValue("x"), TInt64(), ""),
     (PartyValue("A"), TText(), ""),
     (ListValue((Int64Value(1), TextValue("x"))), TList(TInt64()), "[1]"),
     (RecordValue(ITEM, (("owner", PartyValue("A")),)), TypeCon(ITEM), "qty"),
     (RecordValue(PAIR, (("f1", Int64Value(1)), ("f2", BoolValue(True)))), TypeCon(ITEM), ""),
     (VariantValue(FOO, "Nope", UnitValue()), TypeCon(FOO), ""),
     (VariantValue(FOO, "Bar", UnitValue()), TypeCon(FOO), "value"),
     (EnumValue(COLOR, "Blue"), TypeCon(COLOR), ""),
     (OptionalValue(Int64Value(1)), OPT2_INT, ""),
     (NumericValue(Decimal(1)), TOptional(TNumeric()), "")],
)
def test_encoding_a_value_as_the_wrong_type_is_a_typed_error(
    value: Value, type_: Type, path: str
) -> None:
    with pytest.raises(JsonEncodeError) as caught:
        encode_json(value, type_, ENV)
    assert caught.value.path == path
