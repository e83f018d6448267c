"""DIR/network.json: what a local network is made of, for people and scripts.

Shape (issue 5): {"participants": {NAME: {"ledger_api", "admin_api", "pid", "json_api"?}},
"sequencers": {NAME: {"endpoint", "pid"}}, "mediators": {...}, "topology_manager": {...},
"auth": {"hs256_secret"}, "postgres": {"dsn"}, "parties": {HINT: {"party", "participant"}}}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from minicanton.runtime.files import write_private

FILE_NAME = "network.json"


class NetworkFileError(RuntimeError):
    pass


def network_path(directory: Path) -> Path:
    return Path(directory) / FILE_NAME


def load_network(directory: Path) -> dict[str, Any]:
    path = network_path(directory)
    if not path.exists():
        raise NetworkFileError(
            f"no local network in {directory} ({FILE_NAME} missing): run "
            f"'minicanton localnet up --dir {directory}' first"
        )
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise NetworkFileError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise NetworkFileError(f"{path} does not hold a JSON object")
    fault = _shape_fault(data)
    if fault:
        raise NetworkFileError(f"{path}: {fault}; 'minicanton localnet up --dir {directory}' "
                               "writes it again")
    return data


def _shape_fault(data: dict[str, Any]) -> str | None:
    """What is wrong with a parsed network.json, in words; None if nothing is."""
    for group in ("participants", "sequencers", "mediators", "parties"):
        entries = data.get(group)
        if not isinstance(entries, dict) or not all(
                isinstance(entry, dict) for entry in entries.values()):
            return f"{group!r} must be an object of name -> object"
    for section in ("topology_manager", "auth"):
        if not isinstance(data.get(section), dict):
            return f"{section!r} must be an object"
    if not isinstance(data.get("postgres", {}), dict):  # none for a deployed network's clients
        return "'postgres' must be an object"
    if not isinstance(data["auth"].get("hs256_secret"), str):
        return "auth.hs256_secret must be a string"
    nodes = [*data["participants"].values(), *data["sequencers"].values(),
             *data["mediators"].values(), data["topology_manager"]]
    for node in nodes:
        for key in ("pid", "json_api_pid"):
            if not isinstance(node.get(key, 0), int) or isinstance(node.get(key), bool):
                return f"{key} {node[key]!r} is not a process id"
    for name, node in data["participants"].items():
        if not isinstance(node.get("ledger_api"), str):
            return f"participants.{name}.ledger_api must be a string"
    for hint, entry in data["parties"].items():
        if not isinstance(entry.get("party"), str) or not isinstance(
                entry.get("participant"), str):
            return f"parties.{hint} needs string 'party' and 'participant'"
    return None


def save_network(directory: Path, network: dict[str, Any]) -> Path:
    path = network_path(directory)
    write_private(path, json.dumps(network, indent=2, sort_keys=True))  # holds the dev secret
    return path


def resolve_party(network: dict[str, Any], name: str) -> str:
    """`Alice` (a hint from the network's parties) or a full party id."""
    parties = network.get("parties", {})
    if name in parties:
        return str(parties[name]["party"])
    if "::" in name:
        return name
    known = ", ".join(sorted(parties)) or "none yet"
    raise NetworkFileError(f"unknown party {name!r}; known parties: {known}")
