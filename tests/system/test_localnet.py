"""`minicanton localnet up`, `demo dvp`, `status`, `down`: the newcomer's path, for real."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.integration.cli.localnet_cli import minicanton, spawn_minicanton

from minicanton.cli.ledger_client import LedgerClient, create_command
from minicanton.cli.localnet.supervisor import is_alive, recorded_pids
from minicanton.core.lf.value import NumericValue, PartyValue, TextValue
from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
NODES = {"sequencer1", "sequencer2", "topology", "mediator", "bank", "sr", "alice", "bob",
         "bank-json-api", "sr-json-api", "alice-json-api", "bob-json-api"}


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory: pytest.TempPathFactory):
    # a space in the path, as in a user's "My Networks" folder
    directory = tmp_path_factory.mktemp("local net")
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
        assert node["admin_api"] == node["ledger_api"]
        assert node["json_api"].startswith("http://127.0.0.1:")
        assert is_alive(node["json_api_pid"])
    assert len(network["sequencers"]) == 2
    assert all(is_alive(node["pid"]) for node in network["sequencers"].values())
    assert is_alive(network["topology_manager"]["pid"])
    assert [is_alive(node["pid"]) for node in network["mediators"].values()] == [True]
    assert network["auth"]["hs256_secret"] and network["postgres"]["dsn"]
    assert {entry["participant"] for entry in network["parties"].values()} == {
        "bank", "sr", "alice", "bob"}


def test_each_process_logs_to_its_own_file(network_dir: Path) -> None:
    logs = {path.stem: path for path in (network_dir / "logs").glob("*.log")}
    assert set(logs) == NODES
    for name, path in logs.items():
        records = [json.loads(line) for line in path.read_text().splitlines()[:5]]
        assert {record["node"] for record in records} == {
            "topology-manager" if name == "topology" else name}


def test_secrets_are_readable_by_the_owner_only(network_dir: Path) -> None:
    secret_files = [network_dir / "state.json", network_dir / "network.json",
                    *(network_dir / "configs").glob("*.json")]
    assert len(secret_files) >= 10
    for path in secret_files:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    for folder in ("logs", "run", "configs"):  # DIR itself is 0711 as root
        assert (network_dir / folder).stat().st_mode & 0o077 == 0, folder


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
    assert status.returncode == 0 and status.stdout.count("yes") == 13
    postgres = next(line for line in status.stdout.splitlines() if "postgres" in line)
    assert "yes" in postgres


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def test_a_token_from_the_cli_is_accepted_by_the_party_s_participant(
        network_dir: Path) -> None:
    result = minicanton("token", "--dir", str(network_dir), "--act-as", "Alice")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    network = json.loads((network_dir / "network.json").read_text())
    alice = network["parties"]["Alice"]["party"]
    claims = _claims(token)["https://daml.com/ledger-api"]
    assert claims["actAs"] == [alice] and claims["applicationId"] == "minicanton-cli"
    async with LedgerClient(network["participants"]["alice"]["ledger_api"]) as client:
        assert {c.template for c in await client.active_contracts(alice, token)} == {
            "dvp:Share"}


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


async def test_down_with_an_unreadable_network_json_still_stops_everything(
        network_dir: Path) -> None:
    """The pids in run/ are enough: a corrupt network.json must not leave nodes running
    (and PostgreSQL's files are never wiped under them)."""
    network = json.loads((network_dir / "network.json").read_text())
    pids = list(recorded_pids(network_dir / "run").values())
    assert len(pids) == 12 and all(is_alive(pid) for pid in pids)
    (network_dir / "network.json").write_text('{"participants": {')
    down = minicanton("localnet", "down", "--dir", str(network_dir))
    assert down.returncode == 0, down.stderr
    assert "network.json is not valid JSON" in down.stderr
    assert not any(is_alive(pid) for pid in pids)
    assert not EmbeddedPostgres(network_dir / "postgres").is_running()
    assert network["parties"], "the data stays for the next up"


def _start_up_until(network_dir: Path, progress: str) -> subprocess.Popen[str]:
    up = spawn_minicanton("localnet", "up", "--dir", str(network_dir))
    assert up.stderr is not None
    for line in up.stderr:
        if progress in line:
            return up
    raise AssertionError(f"up ended before {progress!r}: rc {up.wait()}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_up_stops_what_it_started_and_says_so(
        network_dir: Path, signum: int) -> None:
    up = _start_up_until(network_dir, "participant bank ready")  # all 8 nodes spawned
    started = list(recorded_pids(network_dir / "run").values())
    os.killpg(up.pid, signum)  # a terminal's Ctrl-C reaches the whole foreground group
    _, rest = up.communicate(timeout=120)
    assert up.returncode == 130, rest
    said = [line for line in rest.splitlines() if line.startswith("interrupted")]
    assert len(said) == 1 and "stopped what this up had started" in said[0], rest
    assert "PostgreSQL" in said[0] and "Traceback" not in rest
    assert len(started) >= 8 and not any(is_alive(pid) for pid in started)
    assert not EmbeddedPostgres(network_dir / "postgres").is_running()
    status = minicanton("localnet", "status", "--dir", str(network_dir))
    assert status.returncode != 0 and "yes" not in status.stdout


async def test_up_over_a_half_started_network_stops_it_and_starts_properly(
        network_dir: Path) -> None:
    """An `up` killed outright (no chance to clean up) leaves nodes running; the network is
    not complete, so the next `up` must not call it running."""
    up = _start_up_until(network_dir, "participant bank ready")
    up.kill()
    up.wait()
    leftovers = list(recorded_pids(network_dir / "run").values())
    assert leftovers and all(is_alive(pid) for pid in leftovers)
    again = minicanton("localnet", "up", "--dir", str(network_dir))
    assert again.returncode == 0, again.stderr
    assert "already running" not in again.stderr
    assert "an earlier start left" in again.stderr
    assert not any(is_alive(pid) for pid in leftovers)
    network = json.loads((network_dir / "network.json").read_text())
    assert set(network["parties"]) == {"Bank", "SR", "Alice", "Bob"}
    assert await _bobs_ious_in(network, "CHF") == 1


def test_a_node_that_fails_to_start_is_named_with_its_cause_and_the_rest_stopped(
        network_dir: Path) -> None:
    assert minicanton("localnet", "down", "--dir", str(network_dir)).returncode == 0
    key_file = network_dir / "keys" / "alice.json"
    key = key_file.read_bytes()
    key_file.write_text('{"not": "a key"}')
    try:
        up = minicanton("localnet", "up", "--dir", str(network_dir))
    finally:
        key_file.write_bytes(key)
    assert up.returncode == 1 and "Traceback" not in up.stderr
    assert "error: alice exited during start-up" in up.stderr
    causes = [line for line in up.stderr.splitlines() if "cannot start" in line]
    assert causes == [f"cannot start: PARTICIPANT_KEY_FILE_INVALID: {key_file}: unsupported "
                      "key file version None"], up.stderr
    assert '"level"' not in up.stderr, "the node's error, not its raw log lines"
    assert "stopped what this up had started (" in up.stderr
    assert not recorded_pids(network_dir / "run")
    assert not EmbeddedPostgres(network_dir / "postgres").is_running()
