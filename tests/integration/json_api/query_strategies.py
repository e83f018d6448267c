"""Hypothesis strategies for Item payloads and queries (tests/integration/json_api/packages.py),
from small pools so that equalities and range bounds hit stored values often."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from minicanton.core.lf.value_text import format_numeric, format_timestamp

TEXTS = ["", "a", "B", "apple", "ä", "ab", "z", "日本", "\U0001f600", "a b", "A"]
NUL_TEXTS = [*TEXTS, "\x00", "a\x00", "a\x00b", "\x00z"]
INTS = [-(2**63), -5, -1, 0, 1, 3, 10, 2**63 - 1]
NUMERICS = [Decimal(x) for x in ("0", "1.5", "-2.25", "10", "1.05", "0.0000000001",
                                 "9999999999999999999999999999.9999999999")]
DATES = ["0001-01-01", "1999-12-31", "2000-01-01", "2024-02-29", "9999-12-31"]
MICROS = [-62135596800000000, 0, 1, 999, 1000, 1_500_000, 1_706_702_400_000_000,
          253402300799999999]


def ints() -> st.SearchStrategy[int]:
    return st.sampled_from(INTS)


def timestamps() -> st.SearchStrategy[str]:
    return st.sampled_from(MICROS).map(format_timestamp)


def inner_payload(texts: list[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({"label": st.sampled_from(texts),
                                  "level": ints().map(str)})


def payloads(texts: list[str] = TEXTS) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({
        "owner": st.just("alice::1220aa"), "watcher": st.just("bob::1220bb"),
        "count": ints().map(str), "price": st.sampled_from(NUMERICS).map(format_numeric),
        "name": st.sampled_from(texts), "day": st.sampled_from(DATES), "at": timestamps(),
        "flag": st.booleans(), "inner": inner_payload(texts),
        "maybe": st.none() | ints().map(str), "maybe_inner": st.none() | inner_payload(texts),
        "tags": st.lists(st.sampled_from(texts[:4] + texts[-2:]), max_size=2),
        "color": st.sampled_from(["Red", "Green", "Blue"]),
        "shape": st.one_of(
            st.builds(lambda n: {"tag": "Circle", "value": format_numeric(n)},
                      st.sampled_from(NUMERICS)),
            st.builds(lambda n: {"tag": "Square", "value": str(n)}, ints())),
    })


def ranges(values: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    lower = st.sampled_from(["%gt", "%gte"])
    upper = st.sampled_from(["%lt", "%lte"])
    return st.one_of(
        st.builds(lambda op, v: {op: v}, lower | upper, values),
        st.builds(lambda a, b, v, w: {a: v, b: w}, lower, upper, values, values),
    )


def scalar_query(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return values | ranges(values)


def field_queries(texts: list[str]) -> dict[str, st.SearchStrategy[object]]:
    return {
        "count": scalar_query(ints() | ints().map(str)),
        "price": scalar_query(st.sampled_from(NUMERICS) | st.sampled_from(["1.50", "-2.250"])),
        "name": scalar_query(st.sampled_from(texts)),
        "day": scalar_query(st.sampled_from(DATES)),
        "at": scalar_query(timestamps() | st.just("2024-01-31T13:00:00+01:00")),
        "flag": st.booleans(),
        "inner": st.fixed_dictionaries({}, optional={
            "label": scalar_query(st.sampled_from(texts)), "level": scalar_query(ints())}),
        "maybe": st.none() | scalar_query(ints()),
        "maybe_inner": st.none() | st.fixed_dictionaries(
            {}, optional={"label": st.sampled_from(texts)}),
        "tags": st.lists(st.sampled_from(texts[:4] + texts[-2:]), max_size=2),
        "color": st.sampled_from(["Red", "Green", "Blue"]),
    }


def queries(texts: list[str] = TEXTS) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({}, optional=field_queries(texts))


