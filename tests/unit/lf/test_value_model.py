from decimal import Decimal

import pytest

from minicanton import _native
from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import encode_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.value import (
    MAX_NESTING,
    BoolValue,
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
    UnitValue,
    Value,
    VariantValue,
    order_key,
)

UNIT = UnitValue()


def test_numeric_holds_all_38_digits() -> None:
    largest = Decimal("9999999999999999999999999999.9999999999")
    assert NumericValue(largest).value == largest
    smallest = Decimal("-9999999999999999999999999999.9999999999")  # literal: unary minus rounds
    assert NumericValue(smallest).value == smallest


@pytest.mark.parametrize("raw", ["10000000000000000000000000000", "1.00000000001", "NaN"])
def test_numeric_out_of_range_or_scale_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidArgument):
        NumericValue(Decimal(raw))


def test_int64_rejects_bool_and_overflow() -> None:
    with pytest.raises(InvalidArgument):
        Int64Value(2**63)
    if "minicanton.core.lf.value" in _native.STATE.modules:
        # Compiled (ADR 16), an `int` field unboxes a bool to the int it equals as it enters:
        # the value never holds a bool. (No codec builds one from a bool: they refuse first.)
        assert type(Int64Value(True).value) is int and Int64Value(True) == Int64Value(1)
    else:
        with pytest.raises(InvalidArgument):
            Int64Value(True)


def test_text_map_orders_keys_and_the_last_duplicate_wins() -> None:
    # Daml-LF value spec: "If two or more entries have the same keys, the last one overrides"
    entries = (("b", TextValue("2")), ("a", TextValue("1")))
    assert [key for key, _ in TextMapValue(entries).entries] == ["a", "b"]
    assert TextMapValue((("a", TextValue("1")), ("a", TextValue("2")))) == TextMapValue(
        (("a", TextValue("2")),)
    )
    assert [key for key, _ in TextMapValue((("é", UNIT), ("z", UNIT), ("😀", UNIT))).entries] == [
        "z", "é", "😀"  # code point order, which is UTF-8 byte order
    ]


def test_gen_map_equality_and_hash_ignore_entry_order() -> None:
    one, two = (Int64Value(1), TextValue("a")), (Int64Value(2), TextValue("b"))
    forward, backward = GenMapValue((one, two)), GenMapValue((two, one))
    assert forward == backward and hash(forward) == hash(backward)
    assert encode_value(forward) == encode_value(backward)
    assert forward.entries == (one, two)


def test_gen_map_keeps_the_last_of_duplicate_keys() -> None:
    entries = ((Int64Value(1), TextValue("old")), (Int64Value(2), UNIT),
               (Int64Value(1), TextValue("new")))
    assert GenMapValue(entries) == GenMapValue(((Int64Value(2), UNIT),
                                                (Int64Value(1), TextValue("new"))))


def test_gen_map_keys_sort_by_their_natural_order() -> None:
    keys: list[Value] = [Int64Value(3), Int64Value(-5), Int64Value(0)]
    ordered = GenMapValue(tuple((key, UNIT) for key in keys)).entries
    assert [key for key, _ in ordered] == [Int64Value(-5), Int64Value(0), Int64Value(3)]
    texts = GenMapValue(((TextValue("b"), UNIT), (TextValue("ab"), UNIT))).entries
    assert [key for key, _ in texts] == [TextValue("ab"), TextValue("b")]


_COLOR = Identifier("p" * 64, "m", "Color")
_SAMPLES: list[Value] = [
    UNIT, BoolValue(False), BoolValue(True), Int64Value(-1), Int64Value(7),
    NumericValue(Decimal("-1.5")), NumericValue(Decimal("2")), TextValue(""), TextValue("a"),
    PartyValue("Alice"), DateValue(-3), DateValue(3),
    ListValue(()), ListValue((Int64Value(1),)), ListValue((Int64Value(1), Int64Value(0))),
    OptionalValue(None), OptionalValue(Int64Value(0)),
    TextMapValue((("k", UNIT),)), GenMapValue(((Int64Value(1), UNIT),)),
    RecordValue(None, (("a", Int64Value(1)),)), RecordValue(_COLOR, (("a", Int64Value(1)),)),
    VariantValue(_COLOR, "Red", UNIT), VariantValue(_COLOR, "Red", Int64Value(1)),
    EnumValue(None, "Red"), EnumValue(_COLOR, "Green"), EnumValue(_COLOR, "Red"),
]


def test_order_key_is_a_total_order_that_separates_distinct_values() -> None:
    ordered = sorted(_SAMPLES, key=order_key)
    assert ordered == _SAMPLES  # the samples are listed in the order the key gives
    assert len({order_key(v) for v in _SAMPLES}) == len(_SAMPLES)
    mixed = GenMapValue(tuple((key, UNIT) for key in reversed(_SAMPLES)))
    assert [key for key, _ in mixed.entries] == _SAMPLES


def test_order_key_refuses_a_key_nested_deeper_than_daml_allows() -> None:
    deep: Value = UNIT
    for _ in range(MAX_NESTING + 1):
        deep = ListValue((deep,))
    with pytest.raises(InvalidArgument, match="nests deeper"):
        GenMapValue(((deep, UNIT),))
