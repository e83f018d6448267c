from decimal import Decimal

import pytest

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.value import Int64Value, NumericValue, TextMapValue, TextValue


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
        Int64Value(True)
    with pytest.raises(InvalidArgument):
        Int64Value(2**63)


def test_text_map_orders_keys_and_rejects_duplicates() -> None:
    entries = (("b", TextValue("2")), ("a", TextValue("1")))
    assert [key for key, _ in TextMapValue(entries).entries] == ["a", "b"]
    with pytest.raises(InvalidArgument):
        TextMapValue((("a", TextValue("1")), ("a", TextValue("2"))))
