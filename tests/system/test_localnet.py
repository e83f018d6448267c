"""`minicanton localnet up`, `demo dvp`, `status`, `down`: the newcomer's path, for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from minicanton.cli.ledger_client import LedgerClient, create_command
from minicanton.cli.localnet.supervisor import is_alive
from minicanton.core.lf.value import NumericValue, PartyValue, TextValue
from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system


def minicanton(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minicanton.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("localnet")
    started = minicanton("localnet", "up", "--dir", str(directory))
    try:
        assert started.returncode == 0, started.stderr
        yield directory
    finally:
        minicanton("localnet", "down", "--dir", str(directory), "--wipe")


def test_network_json_describes_every_node(network_dir: Path) -> None:
    network = json.loads((network_dir / "network.json").read_text())
    assert set(network["participants"]) == {"bank", "sr", "alice", "bob"}
    for node in network["participants"].values():
        assert node["ledger_api"].startswith("127.0.0.1:") and is_alive(node["pid"])
        assert node["json_api"].startswith("http://127.0.0.1:")
        assert is_alive(node["json_api_pid"])
    assert len(network["sequencers"]) == 2
    assert all(is_alive(node["pid"]) for node in network["sequencers"].values())
    assert is_alive(network["topology_manager"]["pid"])
    assert [is_alive(node["pid"]) for node in network["mediators"].values()] == [True]
    assert network["auth"]["hs256_secret"] and network["postgres"]["dsn"]
    assert {entry["participant"] for entry in network["parties"].values()} == {
        "bank", "sr", "alice", "bob"}


def test_secrets_are_readable_by_the_owner_only(network_dir: Path) -> None:
    secret_files = [network_dir / "state.json", network_dir / "network.json",
                    *(network_dir / "configs").glob("*.json")]
    assert len(secret_files) >= 10
    for path in secret_files:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


async def _templates_seen(network: dict, hint: str) -> set[str]:
    entry = network["parties"][hint]
    token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[entry["party"]])
    endpoint = network["participants"][entry["participant"]]["ledger_api"]
    async with LedgerClient(endpoint) as client:
        return {c.template for c in await client.active_contracts(entry["party"], token)}


async def test_demo_runs_dvp_and_each_party_sees_only_its_share(network_dir: Path) -> None:
    demo = minicanton("demo", "dvp", "--dir", str(network_dir))
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Alice swapped" in demo.stdout
    network = json.loads((network_dir / "network.json").read_text())
    assert await _templates_seen(network, "Bank") == {"dvp:Iou"}
    assert await _templates_seen(network, "SR") == {"dvp:Share"}
    assert await _templates_seen(network, "Alice") == {"dvp:Share"}
    assert await _templates_seen(network, "Bob") == {"dvp:Iou"}


async def _submit_iou_from_bank_to_bob(network: dict, currency: str) -> None:
    """The client call `make bench` drives (a) with: SubmitAndWait, no transaction back."""
    bank, bob = network["parties"]["Bank"], network["parties"]["Bob"]
    token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[bank["party"]])
    iou = create_command("dvp", "Iou", issuer=PartyValue(bank["party"]),
                         owner=PartyValue(bob["party"]), amount=NumericValue(Decimal(7)),
                         currency=TextValue(currency))
    async with LedgerClient(network["participants"]["bank"]["ledger_api"]) as client:
        assert await client.submit_and_wait_for_completion(token, [bank["party"]], [iou]) is None


async def _bobs_ious_in(network: dict, currency: str) -> int:
    bob = network["parties"]["Bob"]
    bob_token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[bob["party"]])
    async with LedgerClient(network["participants"]["bob"]["ledger_api"]) as client:
        return sum(1 for c in await client.active_contracts(bob["party"], bob_token)
                   if c.template == "dvp:Iou"
                   and c.argument.field("currency") == TextValue(currency))


async def test_a_submission_waits_for_its_completion_alone(network_dir: Path) -> None:
    network = json.loads((network_dir / "network.json").read_text())
    await _submit_iou_from_bank_to_bob(network, "EUR")
    assert await _bobs_ious_in(network, "EUR") == 1


def _query_over_http(network: dict, hint: str, template: str) -> list[dict]:
    entry = network["parties"][hint]
    token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[entry["party"]])
    url = network["participants"][entry["participant"]]["json_api"] + "/v1/query"
    response = httpx.post(url, json={"templateIds": [template]},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["result"])


def test_each_participant_has_a_json_api_that_keeps_its_privacy(network_dir: Path) -> None:
    network = json.loads((network_dir / "network.json").read_text())
    assert _query_over_http(network, "Bank", "dvp:Share") == []
    assert _query_over_http(network, "SR", "dvp:Iou") == []
    shares = _query_over_http(network, "Alice", "dvp:Share")
    assert shares and all(s["payload"]["owner"] == network["parties"]["Alice"]["party"]
                          for s in shares)


def test_up_again_is_a_no_op_and_status_reports_running(network_dir: Path) -> None:
    again = minicanton("localnet", "up", "--dir", str(network_dir))
    assert again.returncode == 0 and "already running" in again.stderr
    status = minicanton("localnet", "status", "--dir", str(network_dir))
    assert status.returncode == 0 and status.stdout.count("yes") == 12


def test_token_for_an_unknown_party_is_a_clear_error(network_dir: Path) -> None:
    result = minicanton("token", "--dir", str(network_dir), "--act-as", "Mallory")
    assert result.returncode == 2 and "unknown party 'Mallory'" in result.stderr
    assert "Traceback" not in result.stderr


def test_down_leaves_no_process_behind(tmp_path: Path, network_dir: Path) -> None:
    network = json.loads((network_dir / "network.json").read_text())
    pids = [node["pid"] for group in ("participants", "sequencers", "mediators")
            for node in network[group].values()] + [network["topology_manager"]["pid"]]
    pids += [node["json_api_pid"] for node in network["participants"].values()]
    down = minicanton("localnet", "down", "--dir", str(network_dir))
    assert down.returncode == 0, down.stderr
    assert not any(is_alive(pid) for pid in pids)
    status = minicanton("localnet", "status", "--dir", str(network_dir))
    assert status.returncode == 3
    assert not EmbeddedPostgres(network_dir / "postgres").is_running()


async def test_up_after_down_keeps_the_ledger_and_goes_on(network_dir: Path) -> None:
    """`down` keeps the data for the next `up` (as root too, where the tightened directory
    must still let the `postgres` user reach its cluster)."""
    again = minicanton("localnet", "up", "--dir", str(network_dir))
    assert again.returncode == 0, again.stderr
    network = json.loads((network_dir / "network.json").read_text())
    assert await _templates_seen(network, "Alice") == {"dvp:Share"}
    assert await _templates_seen(network, "Bob") == {"dvp:Iou"}
    assert await _bobs_ious_in(network, "EUR") == 1, "the Iou created before the restart"
    await _submit_iou_from_bank_to_bob(network, "CHF")
    assert await _bobs_ious_in(network, "CHF") == 1
