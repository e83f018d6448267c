"""A package the participant refuses, uploaded through the JSON API to the real Ledger API:
400 with PACKAGE_LOAD_FAILED, the line within the package and Python's complaint in the
package's terms, and no path of the server's files (the audit saw .../core/lf/dsl.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.integration.json_api.on_ledger import Stack, auth, json_api_stack

from minicanton.core.lf import dsl

SERVER_DIR = dsl.__file__.rpartition("/minicanton/")[0]


@pytest.fixture
async def plain(postgres_cluster, fresh_database) -> AsyncIterator[Stack]:
    async with json_api_stack(postgres_cluster, fresh_database, with_store=False) as started:
        yield started


async def test_an_upload_with_a_missing_dsl_name_is_400_naming_the_line_not_the_server(
        plain: Stack) -> None:
    source = b'from __future__ import annotations\nfrom minicanton.dsl import Nmeric\n' \
             b'\nMODULE = "bad"\n'
    response = await plain.http.post("/v1/packages", content=source, headers={
        **auth(admin=True), "Content-Type": "application/octet-stream"})
    answer = response.json()
    assert response.status_code == 400 and answer["status"] == 400, answer
    assert answer["ledgerApiError"]["details"][0]["errorCodeId"] == "PACKAGE_LOAD_FAILED"
    (message,) = answer["errors"]
    assert message.endswith("line 2: ImportError: cannot import name 'Nmeric' "
                            "from 'minicanton.dsl'"), message
    assert SERVER_DIR not in str(answer) and "dsl.py" not in str(answer)
