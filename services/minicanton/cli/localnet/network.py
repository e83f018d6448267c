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
    return data


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
