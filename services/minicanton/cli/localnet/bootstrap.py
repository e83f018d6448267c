"""After the nodes are up: the DvP parties on their own participants, and the DvP package
uploaded and vetted everywhere — all through the public Ledger API, as an operator would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minicanton.cli.ledger_client import LedgerClient
from minicanton.cli.localnet.layout import DVP_PARTICIPANTS
from minicanton.runtime.auth import mint_dev_token

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


def dvp_source() -> bytes:
    path = EXAMPLES / "dvp.py"
    if not path.exists():
        raise FileNotFoundError(f"the DvP example package is missing: {path}")
    return path.read_bytes()


async def bootstrap_dvp(network: dict[str, Any], progress: Callable[[str], None]) -> None:
    admin = mint_dev_token(network["auth"]["hs256_secret"], act_as=[], admin=True,
                           application_id="minicanton-localnet")
    source = dvp_source()

    async def prepare(name: str, hint: str) -> tuple[str, str]:
        async with LedgerClient(network["participants"][name]["ledger_api"]) as client:
            await client.upload_package(source, admin)
            party = await client.find_or_allocate_party(hint, admin)
        progress(f"{hint} is hosted on participant {name}; dvp package vetted there")
        return hint, party

    results = await asyncio.gather(*(prepare(name, hint) for name, hint
                                     in DVP_PARTICIPANTS.items()
                                     if name in network["participants"]))
    owners = {hint: name for name, hint in DVP_PARTICIPANTS.items()}
    network["parties"] = {hint: {"party": party, "participant": owners[hint]}
                          for hint, party in results}
