"""A bounded schemathesis run against the served ``/openapi.json`` (every operation, its
examples, coverage and fuzzing phases, with a token that goes past auth) finds no 5xx. The
JSON API stands in front of the participant's real Ledger API server with a query store."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from tests.integration.json_api.on_ledger import auth, json_api_stack, ledger_token
from tests.unit.lf.engine_helpers import ALICE, BANK

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


async def test_schemathesis_finds_no_server_error(postgres_cluster, fresh_database,
                                                  tmp_path) -> None:
    async with json_api_stack(postgres_cluster, fresh_database, with_store=True) as stack:
        await stack.ok("/v1/create", {"templateId": "dvp:Iou", "payload": {
            "issuer": BANK, "owner": ALICE, "amount": "5", "currency": "USD"}}, auth(BANK))
        token = ledger_token(ALICE, BANK, admin=True)
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", f"http://127.0.0.1:{stack.server.port}/openapi.json",
            "--checks", "not_a_server_error", "--max-examples", "20", "--workers", "1",
            "--seed", "20240131", "--request-timeout", "30", "--generation-database", "none",
            "--header", f"Authorization: Bearer {token}", "--no-color",
            "--report-dir", str(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", text)
    assert generated is not None, text[-2000:]
    assert int(generated.group(1)) > 500 and generated.group(1) == generated.group(2), text[-2000:]
