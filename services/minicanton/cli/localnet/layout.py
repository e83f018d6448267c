"""What a local network is: its folders, secrets, ports and one config per node.

Everything is decided at the first `up` and kept in DIR/state.json (mode 0600), so the next
`up` restarts the same network on the same ports with the same keys and data. The node
configs are the same JSON files a deployment would use (DIR/configs/NAME.json).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.runtime.files import write_private
from minicanton.runtime.ports import free_port

SEQUENCER_NAMES = ("sequencer1", "sequencer2")
DVP_PARTICIPANTS = {"bank": "Bank", "sr": "SR", "alice": "Alice", "bob": "Bob"}
STATE_FILE = "state.json"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str  # sequencer | topology | mediator | participant | json_api
    module: str
    config: dict[str, Any] = field(repr=False)  # holds seeds, tokens and DSNs

    @property
    def database(self) -> str:
        return f"mc_{self.name.replace('-', '_')}"


SECRET_KEYS = ("hs256_secret", "sequencer_seed_hex", "mediator_seed_hex",
               "sequencer_admin_token", "topology_admin_token", "mediator_admin_token")


class StateFileError(RuntimeError):
    """DIR/state.json cannot be used as it is: the message names the file and the fault."""


def _validated_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except ValueError as error:
        raise StateFileError(f"{path} is not valid JSON ({error}); restore it, or start "
                             "over with 'localnet down --wipe'") from None
    if not isinstance(state, dict):
        raise StateFileError(f"{path} does not hold a JSON object")
    for key in SECRET_KEYS:
        if not isinstance(state.get(key), str) or not state[key]:
            raise StateFileError(f"{path}: {key!r} is missing or not a string")
    for seed in ("sequencer_seed_hex", "mediator_seed_hex"):
        try:
            bytes.fromhex(state[seed])
        except ValueError:
            raise StateFileError(f"{path}: {seed!r} is not hex") from None
    ports = state.setdefault("ports", {})
    if not isinstance(ports, dict):
        raise StateFileError(f"{path}: 'ports' must be an object of name -> port number")
    for name, port in ports.items():
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise StateFileError(f"{path}: ports.{name} is {port!r}, not a port number "
                                 "(delete the entry to have the next up pick a free port)")
    if not isinstance(state.get("external_dsn", ""), str):
        raise StateFileError(f"{path}: 'external_dsn' must be a string")
    return state


def load_or_create_state(directory: Path) -> dict[str, Any]:
    path = directory / STATE_FILE
    if path.exists():
        return _validated_state(path)
    state: dict[str, Any] = {
        "hs256_secret": secrets.token_hex(32),
        "sequencer_seed_hex": secrets.token_hex(32),
        "mediator_seed_hex": secrets.token_hex(32),
        "sequencer_admin_token": secrets.token_urlsafe(24),
        "topology_admin_token": secrets.token_urlsafe(24),
        "mediator_admin_token": secrets.token_urlsafe(24),
        "ports": {},
    }
    write_private(path, json.dumps(state, indent=2))
    return state


def save_state(directory: Path, state: dict[str, Any]) -> None:
    write_private(directory / STATE_FILE, json.dumps(state, indent=2))


def port_for(state: dict[str, Any], key: str) -> int:
    ports: dict[str, int] = state.setdefault("ports", {})
    if key not in ports:
        ports[key] = free_port()
    return ports[key]


def mediator_member(state: dict[str, Any]) -> tuple[MemberId, SigningKeyPair]:
    key = SigningKeyPair.from_private(bytes.fromhex(state["mediator_seed_hex"]))
    return member_id(MemberKind.MEDIATOR, "mediator", key.fingerprint), key


@dataclass
class LocalnetLayout:
    directory: Path
    # secrets (seeds, tokens, the HS256 secret) and DSNs: never in a repr
    state: dict[str, Any] = field(repr=False)
    dsn_of: dict[str, str] = field(repr=False)  # database name -> DSN
    ready_dir: Path
    participants: tuple[str, ...] = tuple(DVP_PARTICIPANTS)
    # node -> where this start's output begins in its (appended) log
    log_offsets: dict[str, int] = field(default_factory=dict, repr=False)

    def _common(self, name: str) -> dict[str, Any]:
        return {"ready_file": str(self.ready_dir / f"{name}.ready"), "log_json": True}

    def sequencer_endpoints(self) -> list[str]:
        return [f"127.0.0.1:{port_for(self.state, name)}" for name in SEQUENCER_NAMES]

    def topology_endpoint(self) -> str:
        return f"127.0.0.1:{port_for(self.state, 'topology')}"

    def sequencers(self) -> list[NodeSpec]:
        return [NodeSpec(name, "sequencer", "minicanton.sequencer", {
            **self._common(name), "domain_id": "localnet", "node_name": name,
            "database_dsn": self.dsn_of["mc_sequencer"], "total_nodes": len(SEQUENCER_NAMES),
            "signing_key_seed_hex": self.state["sequencer_seed_hex"],
            "port": port_for(self.state, name), "health_port": port_for(self.state,
                                                                         f"{name}-health"),
            "admin_token": self.state["sequencer_admin_token"],
        }) for name in SEQUENCER_NAMES]

    def topology_manager(self, initial_members: list[str]) -> NodeSpec:
        return NodeSpec("topology", "topology", "minicanton.topology", {
            **self._common("topology"), "database_dsn": self.dsn_of["mc_topology"],
            "port": port_for(self.state, "topology"),
            "health_port": port_for(self.state, "topology-health"),
            "admin_token": self.state["topology_admin_token"], "admission": "open",
            "sequencer_endpoints": self.sequencer_endpoints(),
            "sequencer_admin_token": self.state["sequencer_admin_token"],
            "initial_members": initial_members,
            "parameters": {"topology_change_delay_ms": 250},
        })

    def mediator(self) -> NodeSpec:
        return NodeSpec("mediator", "mediator", "minicanton.mediator", {
            **self._common("mediator"), "database_dsn": self.dsn_of["mc_mediator"],
            "signing_key_seed_hex": self.state["mediator_seed_hex"],
            "topology_manager": self.topology_endpoint(),
            "sequencers": self.sequencer_endpoints(),
            "port": port_for(self.state, "mediator"),
            "health_port": port_for(self.state, "mediator-health"),
            "admin_token": self.state["mediator_admin_token"],
        })

    def participant(self, name: str) -> NodeSpec:
        return NodeSpec(name, "participant", "minicanton.participant", {
            **self._common(name), "name": name,
            "database_dsn": self.dsn_of[f"mc_{name}"],
            "key_file": str(self.directory / "keys" / f"{name}.json"),
            "sequencers": self.sequencer_endpoints(),
            "topology_manager": self.topology_endpoint(),
            "ledger_api": {"port": port_for(self.state, f"{name}-ledger-api")},
            "health_port": port_for(self.state, f"{name}-health"),
            "auth": {"hs256_secret": self.state["hs256_secret"]},
        })

    def json_api(self, participant: str, participant_id: str) -> NodeSpec:
        name = f"{participant}-json-api"
        return NodeSpec(name, "json_api", "minicanton.json_api", {
            **self._common(name), "name": name,
            "ledger_api": f"127.0.0.1:{port_for(self.state, f'{participant}-ledger-api')}",
            "participant_id": participant_id,
            "http": {"port": port_for(self.state, name)},
            "auth": {"hs256_secret": self.state["hs256_secret"]},
            "query_store": {"dsn": self.dsn_of[f"mc_{participant}_json_api"]},
        })

    def database_names(self) -> list[str]:
        return ["mc_sequencer", "mc_topology", "mc_mediator",
                *(f"mc_{name}" for name in self.participants),
                *(f"mc_{name}_json_api" for name in self.participants)]
