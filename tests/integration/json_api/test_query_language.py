"""The query language: its rules on examples, and its two readings (Python and SQL on a real
PostgreSQL) agreeing on random contracts and queries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.json_api.packages import item_template, items_package
from tests.integration.json_api.query_strategies import payloads, queries

from minicanton.json_api.query_language import (
    FieldEquals,
    FieldRange,
    QueryError,
    compile_query,
    matches,
    query_sql,
)

PACKAGE = items_package()
ITEM = item_template(PACKAGE)
ENV = PACKAGE.data_types


def compile_(query: object):
    return compile_query(query, ITEM, ENV)


def item(**overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "owner": "alice::1220aa", "watcher": "bob::1220bb", "count": "3", "price": "1.5",
        "name": "apple", "day": "2024-01-31", "at": "2024-01-31T12:00:00Z", "flag": True,
        "inner": {"label": "x", "level": "1"}, "maybe": None, "maybe_inner": None,
        "tags": ["a", "b"], "color": "Red", "shape": {"tag": "Square", "value": "2"},
    }
    payload.update(overrides)
    return payload


# ------------------------------------------------------------------------------- examples


def test_partial_record_equality_matches_more_fields() -> None:
    query = compile_({"inner": {"label": "x"}, "name": "apple"})
    assert matches(query, item())
    assert not matches(query, item(inner={"label": "y", "level": "1"}))
    assert not matches(query, item(name="pear"))


def test_values_are_compared_canonically_whatever_form_the_query_uses() -> None:
    assert matches(compile_({"price": Decimal("1.50")}), item())
    assert matches(compile_({"price": "1.5000"}), item())
    assert matches(compile_({"count": 3}), item())
    assert matches(compile_({"at": "2024-01-31T13:00:00+01:00"}), item())
    assert not matches(compile_({"count": "4"}), item())


def test_lists_and_variants_are_whole_value_equality() -> None:
    assert matches(compile_({"tags": ["a", "b"]}), item())
    assert not matches(compile_({"tags": ["b", "a"]}), item())
    assert not matches(compile_({"tags": ["a"]}), item())
    assert matches(compile_({"shape": {"tag": "Square", "value": 2}}), item())


def test_optional_fields_match_null_or_the_element() -> None:
    assert matches(compile_({"maybe": None}), item())
    assert matches(compile_({"maybe": 7}), item(maybe="7"))
    assert matches(compile_({"maybe": {"%gt": 5}}), item(maybe="7"))
    assert not matches(compile_({"maybe": {"%gt": 5}}), item())
    some = item(maybe_inner={"label": "q", "level": "9"})
    assert matches(compile_({"maybe_inner": {"label": "q"}}), some)
    assert not matches(compile_({"maybe_inner": {"label": "q"}}), item())


def test_ranges_on_each_rangeable_type() -> None:
    assert matches(compile_({"count": {"%gte": 3, "%lt": 4}}), item())
    assert not matches(compile_({"count": {"%gt": 3}}), item())
    assert matches(compile_({"price": {"%gt": "1.25", "%lte": Decimal("1.5")}}), item())
    assert matches(compile_({"name": {"%gt": "Apple", "%lt": "b"}}), item())
    assert matches(compile_({"day": {"%lt": "2024-02-01"}}), item())
    assert matches(compile_({"at": {"%gt": "2024-01-31T11:59:59.999999Z"}}), item())
    assert not matches(compile_({"at": {"%gt": "2024-01-31T12:00:00.000Z"}}), item())


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ({"nmae": "apple"}, "query.nmae: unknown field 'nmae'"),
        ({"inner": {"lable": "x"}}, "query.inner.lable: unknown field"),
        ({"count": {"%lt": 1, "%lte": 2}}, "%lt and %lte may not be used together"),
        ({"count": {"%gt": 1, "%gte": 2}}, "%gt and %gte may not be used together"),
        ({"count": {"%lt": 1, "eq": 2}}, "unknown operator"),
        ({"flag": {"%lt": True}}, "apply to Int64, Numeric, Text, Date and Time"),
        ({"inner": {"label": ["x", "y"]}}, "query.inner.label: expected Text"),
        ({"count": "three"}, "query.count: expected Int64"),
        ({"count": {"%lt": "x"}}, "query.count.%lt: expected Int64"),
        (["name"], "expected an object"),
    ],
)
def test_ill_typed_queries_are_refused_with_the_path(query: object, complaint: str) -> None:
    with pytest.raises(QueryError) as error:
        compile_(query)
    assert complaint in error.value.message


def test_an_empty_query_matches_everything() -> None:
    query = compile_({})
    assert query.conditions == ()
    assert matches(query, item())


def test_compiled_conditions_name_paths_into_the_payload() -> None:
    query = compile_({"inner": {"level": {"%lt": 2}}, "maybe": None})
    assert query.conditions == (
        FieldRange(("inner", "level"), "int64", None, query.conditions[0].upper),
        FieldEquals(("maybe",), None),
    )


# ------------------------------------------------------------- Python and SQL agree

@pytest.fixture(scope="module")
def private_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def sql_table(postgres_cluster, private_loop) -> Iterator[asyncpg.Connection]:
    dsn = postgres_cluster.create_database("query_language_property")
    connection = private_loop.run_until_complete(asyncpg.connect(dsn))
    private_loop.run_until_complete(connection.execute(
        "CREATE TABLE contracts (id int PRIMARY KEY, payload jsonb NOT NULL)"))
    yield connection
    private_loop.run_until_complete(connection.close())


async def _sql_matches(connection: asyncpg.Connection, rows: list[dict[str, object]],
                       query) -> set[int]:
    async with connection.transaction():
        await connection.execute("DELETE FROM contracts")
        await connection.executemany(
            "INSERT INTO contracts VALUES ($1, $2::text::jsonb)",
            [(i, json.dumps(row, ensure_ascii=False)) for i, row in enumerate(rows)])
        params: list[object] = []
        condition = query_sql(query, "payload", params)
        found = await connection.fetch(f"SELECT id FROM contracts WHERE {condition}", *params)
    return {row["id"] for row in found}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(payloads(), min_size=1, max_size=12), query=queries())
def test_python_and_sql_readings_agree(sql_table, private_loop, rows, query) -> None:
    compiled = compile_(query)
    expected = {i for i, row in enumerate(rows) if matches(compiled, row)}
    found = private_loop.run_until_complete(_sql_matches(sql_table, rows, compiled))
    assert found == expected, (query, compiled)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(payloads(), min_size=1, max_size=6))
def test_each_contract_matches_the_query_of_its_own_fields(sql_table, private_loop,
                                                           rows) -> None:
    # a query naming every field of row 0 finds row 0 (and only its duplicates)
    compiled = compile_(rows[0])
    found = private_loop.run_until_complete(_sql_matches(sql_table, rows, compiled))
    assert 0 in found
    assert found == {i for i, row in enumerate(rows) if row == rows[0]}
