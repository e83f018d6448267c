"""The canonical binary value encoding: round trip, canonical form, and refusal of bad bytes."""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.lf.strategies import values

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import (
    FORMAT_VERSION,
    MAX_NESTING,
    Kind,
    ValueDecodeError,
    ValueEncodeError,
    decode_value,
    encode_value,
    numeric_value,
)
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.value import (
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
)

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IOU = Identifier("ab" * 32, "dvp", "Iou")


def _iou() -> RecordValue:
    return RecordValue(IOU, (
        ("issuer", PartyValue("Bank::1220")),
        ("owner", PartyValue("Alice::1220")),
        ("amount", NumericValue(Decimal("100.25"))),
        ("currency", TextValue("USD")),
    ))


# Frozen forever: these bytes are hashed into contract ids and view hashes. If this test fails,
# the change broke every stored hash; make a new FORMAT_VERSION instead.
GOLDEN: list[tuple[Value, str]] = [
    (UnitValue(), "0101"),
    (BoolValue(True), "010201"),
    (Int64Value(-2), "0103fffffffffffffffe"),
    (NumericValue(Decimal("1.5")), "0104" "0000000000000000000000037e11d600"),
    (TextValue("é"), "010500000002c3a9"),
    (DateValue(19000), "010800004a38"),
    (TimestampValue(1), "01090000000000000001"),
    (OptionalValue(None), "010b00"),
    (ListValue((PartyValue("A"), ContractIdValue("c"))), "010a00000002060000000141070000000163"),
    (TextMapValue((("b", UnitValue()), ("a", BoolValue(False)))),
     "010c" "00000002" "00000001" "61" "0200" "00000001" "62" "01"),
    (GenMapValue(((Int64Value(1), UnitValue()),)), "010d" "00000001" "030000000000000001" "01"),
    (EnumValue(Identifier("p", "M", "Color"), "Red"),
     "0110" "01" "0000000170" "000000014d" "00000005436f6c6f72" "00000003526564"),
    (_iou(),
     "010e" "01" "00000040" + "6162" * 32 + "00000003647670" "00000003496f75" "00000004"
     "00000006697373756572" "06" "0000000a42616e6b3a3a31323230"
     "000000056f776e6572" "06" "0000000b416c6963653a3a31323230"
     "00000006616d6f756e74" "04" "0000000000000000000000e969a80900"
     "0000000863757272656e6379" "05" "00000003555344"),
]


@pytest.mark.parametrize(("value", "golden_hex"), GOLDEN)
def test_encoding_is_frozen(value: Value, golden_hex: str) -> None:
    assert encode_value(value).hex() == golden_hex
    assert decode_value(bytes.fromhex(golden_hex)) == value


@BOUNDED
@given(values())
def test_round_trip(value: Value) -> None:
    encoded = encode_value(value)
    assert encoded[0] == FORMAT_VERSION
    assert decode_value(encoded) == value
    assert encode_value(decode_value(encoded)) == encoded


def test_equal_values_give_equal_bytes() -> None:
    assert encode_value(NumericValue(Decimal("1.5"))) == encode_value(
        NumericValue(Decimal("1.500000"))
    )
    assert encode_value(NumericValue(Decimal("-0"))) == encode_value(NumericValue(Decimal(0)))
    forward = TextMapValue((("a", UnitValue()), ("b", UnitValue())))
    backward = TextMapValue((("b", UnitValue()), ("a", UnitValue())))
    assert forward == backward
    assert encode_value(forward) == encode_value(backward)


def test_distinct_values_give_distinct_bytes() -> None:
    # Record labels and type ids are part of the encoding.
    one, two = (Int64Value(1), UnitValue()), (Int64Value(2), TextValue("b"))
    assert encode_value(GenMapValue((one,))) != encode_value(GenMapValue((two,)))
    assert encode_value(RecordValue(None, (("a", UnitValue()),))) != encode_value(
        RecordValue(IOU, (("a", UnitValue()),))
    )
    assert encode_value(TextValue("A")) != encode_value(PartyValue("A"))
    assert encode_value(ListValue((TextValue("ab"), TextValue("c")))) != encode_value(
        ListValue((TextValue("a"), TextValue("bc")))
    )


def test_numeric_extremes_keep_all_38_digits() -> None:
    largest = numeric_value(Decimal("9999999999999999999999999999.9999999999"))
    smallest = numeric_value(Decimal("-0.0000000001"))
    for value in (largest, smallest):
        assert decode_value(encode_value(value)) == value


@BOUNDED
@given(values(), st.data())
def test_one_byte_mutation_never_decodes_to_the_same_value(
    value: Value, data: st.DataObject
) -> None:
    encoded = encode_value(value)
    position = data.draw(st.integers(0, len(encoded) - 1), label="position")
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != encoded[position]))
    mutated = encoded[:position] + bytes((replacement,)) + encoded[position + 1 :]
    try:
        decoded = decode_value(mutated)
    except ValueDecodeError:
        return
    assert decoded != value
    assert encode_value(decoded) == mutated  # the decoder accepts canonical bytes only


@BOUNDED
@given(values(), st.binary(min_size=1, max_size=4))
def test_truncation_and_trailing_bytes_fail(value: Value, extra: bytes) -> None:
    encoded = encode_value(value)
    step = max(1, len(encoded) // 128)  # every prefix of small encodings, 128 of big ones
    for length in [*range(0, len(encoded), step), len(encoded) - 1]:
        with pytest.raises(ValueDecodeError):
            decode_value(encoded[:length])
    with pytest.raises(ValueDecodeError, match="trailing"):
        decode_value(encoded + extra)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_fail_with_a_typed_error(data: bytes) -> None:
    try:
        decoded = decode_value(bytes((FORMAT_VERSION,)) + data)
    except ValueDecodeError as error:
        assert error.error_id == "INVALID_ARGUMENT"
        return
    assert encode_value(decoded) == bytes((FORMAT_VERSION,)) + data


def _u32(n: int) -> str:
    return struct.pack(">I", n).hex()


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [
        ("", "format version"),
        ("02" "01", "unknown value format version 2"),
        ("01" "63", "unknown kind tag 99"),
        ("01" "0202", "Bool at offset 2 must be 0 or 1"),
        ("01" "0b02", "optional flag"),
        ("01" "05" + _u32(2) + "c328", "not valid UTF-8"),
        ("01" "05" + _u32(1000) + "41", "exceeds the input"),
        ("01" "0a" + _u32(0xFFFFFFFF), "exceeds the input"),
        ("01" "04" + (10**38).to_bytes(16, "big").hex(), "exceeds 38 digits"),
        ("01" "06" + _u32(0), "party id is 1-255"),
        ("01" "08" + struct.pack(">i", 2932897).hex(), "out of range"),
        ("01" "09" + struct.pack(">q", -62135596800_000001).hex(), "out of range"),
        ("01" "0c" + _u32(2) + _u32(1) + "62" "01" + _u32(1) + "61" "01", "strictly ascending"),
        ("01" "0c" + _u32(2) + _u32(1) + "61" "01" + _u32(1) + "61" "01", "strictly ascending"),
        ("01" "0d" + _u32(2) + "0101" "0101", "GenMap keys not strictly ascending at offset 8"),
        ("01" "0d" + _u32(2) + "03" + "00" * 7 + "02" "01" "03" + "00" * 7 + "01" "01",
         "GenMap keys not strictly ascending at offset 16"),
        ("01" "0e" "02", "type id flag"),
    ],
)
def test_malformed_bytes_are_refused_with_a_reason(hex_bytes: str, message: str) -> None:
    with pytest.raises(ValueDecodeError, match=message) as caught:
        decode_value(bytes.fromhex(hex_bytes))
    assert isinstance(caught.value, InvalidArgument)


def _nested_lists(depth: int) -> Value:
    value: Value = UnitValue()
    for _ in range(depth):
        value = ListValue((value,))
    return value


def test_nesting_is_limited_like_daml_lf() -> None:
    deepest = _nested_lists(MAX_NESTING)
    assert decode_value(encode_value(deepest)) == deepest
    with pytest.raises(ValueEncodeError, match="nests deeper"):
        encode_value(_nested_lists(MAX_NESTING + 1))
    forged = bytes((FORMAT_VERSION,)) + (bytes((Kind.LIST,)) + bytes.fromhex(_u32(1))) * 5000
    with pytest.raises(ValueDecodeError, match="nests deeper"):
        decode_value(forged + bytes((Kind.UNIT,)))


def test_text_that_is_not_unicode_cannot_be_encoded() -> None:
    with pytest.raises(ValueEncodeError, match="surrogate"):
        encode_value(TextValue("\ud800"))
