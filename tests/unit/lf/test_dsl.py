"""The DSL: data classes, dates, type resolution into Daml-LF types, Python value conversion."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from engine_helpers import BANK_SOURCE
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton import dsl as public_dsl
from minicanton.core.lf import dsl
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageLoadError, PackageRegistry, load_package
from minicanton.core.lf.typecheck import (
    ValueTypeError,
    check_value,
    from_python,
    show_type,
    to_python,
)
from minicanton.core.lf.types import (
    EnumDef,
    RecordDef,
    TBool,
    TContractId,
    TDate,
    TInt64,
    TList,
    TNumeric,
    TOptional,
    TParty,
    TText,
    TTextMap,
    TTimestamp,
    TUnit,
    TypeCon,
    VariantDef,
)
from minicanton.core.lf.value import (
    DATE_MAX_DAYS,
    DATE_MIN_DAYS,
    Int64Value,
    NumericValue,
    OptionalValue,
    PartyValue,
    RecordValue,
    TextValue,
)

# ---------------------------------------------------------------------------------- dates


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=DATE_MIN_DAYS, max_value=DATE_MAX_DAYS))
def test_dates_agree_with_the_proleptic_gregorian_calendar(days: int) -> None:
    expected = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    date = dsl.Date.from_days(days)
    assert (date.year, date.month, date.day) == (expected.year, expected.month, expected.day)
    assert str(date) == expected.isoformat()
    assert dsl.Date.of(expected.year, expected.month, expected.day) == date


def test_date_helpers() -> None:
    assert dsl.Date.of(2024, 2, 28).add_days(1) == dsl.Date.of(2024, 2, 29)
    assert dsl.Date.of(2023, 2, 28).add_days(1) == dsl.Date.of(2023, 3, 1)
    assert dsl.Date.of(1970, 1, 1).days_since_epoch == 0
    assert dsl.Date.of(1969, 12, 31) < dsl.Date.of(1970, 1, 1)
    with pytest.raises(ValueError, match="2023-02-29 is not a date"):
        dsl.Date.of(2023, 2, 29)


def test_durations_are_microseconds() -> None:
    assert dsl.seconds(2) == 2_000_000 and dsl.minutes(1) == 60_000_000
    assert dsl.hours(1) == 3_600_000_000 and dsl.days(1) == 86_400_000_000


# ------------------------------------------------------------------------- data classes


class Pair(dsl.Record):
    left: dsl.Party
    right: dsl.Text


class Shape(dsl.Variant):
    Circle: dsl.Numeric
    Square: dsl.Int64


def test_records_are_keyword_built_immutable_and_compared_by_value() -> None:
    pair = Pair(left="a", right="b")
    assert (
        pair.left == "a" and pair == Pair(left="a", right="b") and pair != Pair(left="a", right="c")
    )
    assert hash(pair) == hash(Pair(left="a", right="b"))
    assert pair.replace(right="z") == Pair(left="a", right="z") and pair.right == "b"
    assert repr(pair) == "Pair(left='a', right='b')"
    with pytest.raises(TypeError, match="Pair: missing field\\(s\\) right"):
        Pair(left="a")
    with pytest.raises(TypeError, match="unknown field\\(s\\) middle"):
        Pair(left="a", right="b", middle="c")
    with pytest.raises(AttributeError, match="immutable"):
        pair.left = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="unknown field"):
        pair.replace(middle="c")


def test_variants_know_their_constructors() -> None:
    circle = Shape("Circle", Decimal("1.5"))
    assert (circle.tag, circle.value) == ("Circle", Decimal("1.5"))
    assert circle == Shape("Circle", Decimal("1.5")) and circle != Shape("Square", 1)
    with pytest.raises(TypeError, match="Shape has no constructor 'Triangle'"):
        Shape("Triangle", 3)
    with pytest.raises(AttributeError):
        circle.tag = "Square"  # type: ignore[misc]


def test_the_public_module_re_exports_the_dsl() -> None:
    for name in public_dsl.__all__:
        assert getattr(public_dsl, name) is getattr(dsl, name)


# --------------------------------------------------------------------- type resolution


TYPES_SOURCE = """
from minicanton.dsl import (
    Bool, ContractId, Date, Enum, Int64, List, Numeric, Optional, Party, Record, Template,
    Text, TextMap, Time, Unit, Variant, choice,
)

MODULE = "types.demo"


class Colour(Enum):
    constructors = ("Red", "Green")


class Choice(Variant):
    Nothing: Unit
    Some: "Later"


class Later(Record):
    when: Time


class Everything(Template):
    owner: Party
    flag: Bool
    count: Int64
    amount: Numeric
    label: Text
    day: Date
    at: Time
    me: ContractId["Everything"]
    anything: ContractId
    many: List[Party]
    maybe: Optional[Text]
    scores: TextMap[Int64]
    colour: Colour
    pick: Choice

    signatories = ("owner",)
    observers = lambda self: self.many

    @choice(controller="owner", consuming=False, observers="many")
    def Touch(self, ctx, owner: Party, note: Optional[Text]) -> List[ContractId[Everything]]:
        return []

    @choice(controller="owner")
    def Done(self, ctx) -> None:
        pass
"""


@pytest.fixture(scope="module")
def types_registry() -> PackageRegistry:
    return PackageRegistry([load_package(TYPES_SOURCE)])


def _id(registry: PackageRegistry, name: str) -> Identifier:
    (package,) = registry.packages()
    return Identifier(package.package_id, "types.demo", name)


def test_every_field_type_resolves(types_registry: PackageRegistry) -> None:
    everything = _id(types_registry, "Everything")
    info = types_registry.template_info(everything)
    assert dict(info.fields) == {
        "owner": TParty(),
        "flag": TBool(),
        "count": TInt64(),
        "amount": TNumeric(10),
        "label": TText(),
        "day": TDate(),
        "at": TTimestamp(),
        "me": TContractId(everything),
        "anything": TContractId(None),
        "many": TList(TParty()),
        "maybe": TOptional(TText()),
        "scores": TTextMap(TInt64()),
        "colour": TypeCon(_id(types_registry, "Colour")),
        "pick": TypeCon(_id(types_registry, "Choice")),
    }
    env = types_registry.type_environment()
    assert env[_id(types_registry, "Colour")] == EnumDef(("Red", "Green"))
    assert env[_id(types_registry, "Choice")] == VariantDef(
        (("Nothing", TUnit()), ("Some", TypeCon(_id(types_registry, "Later"))))
    )
    assert env[_id(types_registry, "Later")] == RecordDef((("when", TTimestamp()),))


def test_choice_types_resolve(types_registry: PackageRegistry) -> None:
    info = types_registry.template_info(_id(types_registry, "Everything"))
    touch = info.choice("Touch")
    assert touch is not None and not touch.consuming
    assert touch.argument_fields == (("owner", TParty()), ("note", TOptional(TText())))
    assert touch.result_type == TList(TContractId(_id(types_registry, "Everything")))
    assert touch.argument_type == TypeCon(_id(types_registry, "Everything.Touch"))
    done = info.choice("Done")
    assert done is not None and done.result_type == TUnit() and done.consuming


def test_key_types_resolve() -> None:
    registry = PackageRegistry([load_package(BANK_SOURCE)])
    info = registry.template_info(registry.resolve("bank:Account"))
    assert (
        isinstance(info.key_type, TypeCon) and info.key_type.identifier.entity_name == "AccountKey"
    )


@pytest.mark.parametrize(
    "old, new, complaint",
    [
        (
            '    me: ContractId["Everything"]',
            "    me: ContractId[Later]",
            "ContractId[...] needs a template",
        ),
        ("    count: Int64", "    count: int", "is not a DSL type"),
        ("    count: Int64", "    count: Missing", "cannot resolve type 'Missing'"),
        (
            '    constructors = ("Red", "Green")',
            '    constructors = ("Red", "Red")',
            "distinct names",
        ),
        ('    Nothing: Unit\n    Some: "Later"', "    pass", "has no constructors"),
        ("    label: Text", "    replace: Text", "'replace' is a reserved name"),
        (
            "    def Done(self, ctx) -> None:",
            "    def Archive(self, ctx) -> None:",
            "'Archive' is taken",
        ),
        (
            "    def Done(self, ctx) -> None:",
            "    def label(self, ctx) -> None:",
            "'label' is taken",
        ),
        (
            'controller="owner", consuming',
            'controller="nobody", consuming',
            "'nobody' is not a Party",
        ),
    ],
    ids=[
        "cid-of-record",
        "python-type",
        "unknown-name",
        "enum",
        "variant",
        "reserved",
        "archive",
        "field-clash",
        "controller",
    ],
)
def test_schema_mistakes_are_load_errors(old: str, new: str, complaint: str) -> None:
    assert old in TYPES_SOURCE
    with pytest.raises(PackageLoadError) as caught:
        load_package(TYPES_SOURCE.replace(old, new))
    assert complaint in caught.value.message and caught.value.line > 0


# -------------------------------------------------------------------- value conversion


def test_python_values_round_trip(types_registry: PackageRegistry) -> None:
    package = types_registry.packages()[0]
    classes = {i.entity_name: c for i, c in package.python_classes.items()}
    everything = _id(types_registry, "Everything")
    obj = classes["Everything"](
        owner="alice",
        flag=True,
        count=-3,
        amount=Decimal("2.5"),
        label="x",
        day=dsl.Date.of(2020, 5, 17),
        at=1_600_000_000_000_000,
        me="00ab",
        anything="00cd",
        many=["bob", "carol"],
        maybe=None,
        scores={"b": 2, "a": 1},
        colour="Green",
        pick=classes["Choice"]("Some", classes["Later"](when=5)),
    )
    value = from_python(obj, TypeCon(everything), types_registry, "v")
    assert isinstance(value, RecordValue) and value.type_id == everything
    assert value.field("amount") == NumericValue(Decimal("2.5"))
    assert value.field("maybe") == OptionalValue(None)
    assert to_python(value, TypeCon(everything), types_registry) == obj
    env = types_registry.type_environment()
    assert check_value(value, TypeCon(everything), env, "v") == value


@pytest.mark.parametrize(
    "obj, ty, complaint",
    [
        (True, TInt64(), "expected Int64, got bool"),
        (1.5, TNumeric(10), "expected Numeric, got float"),
        (3, TText(), "expected Text, got int"),
        ("2020-01-01", TDate(), "expected Date, got str '2020-01-01'"),
        ([1, "x"], TList(TInt64()), "[1]: expected Int64, got str 'x'"),
        ({"k": "v"}, TTextMap(TInt64()), "['k']: expected Int64, got str 'v'"),
        (2**63, TInt64(), "out of the Int64 range"),
        (Decimal("1e30"), TNumeric(10), "exceeds Numeric 10 precision"),
        ("", TParty(), "a party id is 1-255 characters"),
    ],
)
def test_from_python_rejects_wrong_values_with_a_path(
    types_registry: PackageRegistry, obj: object, ty: object, complaint: str
) -> None:
    with pytest.raises(ValueTypeError) as caught:
        from_python(obj, ty, types_registry, "result")  # type: ignore[arg-type]
    assert caught.value.message.startswith("result") and complaint in caught.value.message
    assert caught.value.error_id == "INVALID_ARGUMENT"


def test_numeric_results_round_half_even(types_registry: PackageRegistry) -> None:
    half_up = Decimal("0.00000000005")
    assert from_python(half_up, TNumeric(10), types_registry, "r") == NumericValue(Decimal(0))
    odd = Decimal("0.00000000015")
    assert from_python(odd, TNumeric(10), types_registry, "r") == NumericValue(
        Decimal("0.0000000002")
    )


def test_records_of_another_class_are_refused(types_registry: PackageRegistry) -> None:
    later = _id(types_registry, "Later")
    with pytest.raises(ValueTypeError, match=r"expected types\.demo:Later, got Pair"):
        from_python(Pair(left="a", right="b"), TypeCon(later), types_registry, "r")


def test_check_value_reorders_labelled_fields_and_types_them(
    types_registry: PackageRegistry,
) -> None:
    env = types_registry.type_environment()
    touch = _id(types_registry, "Everything.Touch")
    given_value = RecordValue(
        None, (("note", OptionalValue(TextValue("n"))), ("owner", PartyValue("a")))
    )
    checked = check_value(given_value, TypeCon(touch), env, "argument")
    assert checked == RecordValue(
        touch, (("owner", PartyValue("a")), ("note", OptionalValue(TextValue("n"))))
    )
    wrong_id = RecordValue(_id(types_registry, "Later"), given_value.fields)
    with pytest.raises(ValueTypeError, match=r"argument: expected .*Everything\.Touch"):
        check_value(wrong_id, TypeCon(touch), env, "argument")
    with pytest.raises(ValueTypeError, match="argument: expected 2 fields, got 1"):
        check_value(RecordValue(None, (("", PartyValue("a")),)), TypeCon(touch), env, "argument")
    with pytest.raises(ValueTypeError, match=r"argument\.owner: field given twice"):
        check_value(
            RecordValue(None, (("owner", PartyValue("a")), ("owner", PartyValue("b")))),
            TypeCon(touch),
            env,
            "argument",
        )


def test_show_type_reads_like_daml() -> None:
    iou = Identifier("p", "dvp", "Iou")
    assert show_type(TContractId(iou)) == "ContractId dvp:Iou"
    assert show_type(TList(TOptional(TParty()))) == "List (Optional Party)"
    assert show_type(TTimestamp()) == "Time" and show_type(TNumeric(10)) == "Numeric"
    assert show_type(TTextMap(TInt64())) == "TextMap Int64"


def test_int64_value_passes_through_check_value(types_registry: PackageRegistry) -> None:
    env = types_registry.type_environment()
    assert check_value(Int64Value(3), TInt64(), env, "x") == Int64Value(3)
    with pytest.raises(ValueTypeError, match="x: expected Int64, got Text"):
        check_value(TextValue("3"), TInt64(), env, "x")
