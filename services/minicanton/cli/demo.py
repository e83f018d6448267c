"""`minicanton demo dvp`: the seed's delivery-versus-payment across four participants.

Bank issues Alice an Iou, SR registers a Share for Bob, Alice proposes the swap, Bob accepts,
Alice swaps — each party acting through its own participant's Ledger API. Then every party's
active contracts, as its own participant shows them: Bank never sees the Share, SR never the
Iou.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import typer
from rich.console import Console
from rich.table import Table

from minicanton.cli.ledger_client import LedgerClient, create_command, exercise_command
from minicanton.cli.localnet.network import NetworkFileError, load_network
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    Value,
)
from minicanton.runtime.auth import mint_dev_token

app = typer.Typer(no_args_is_help=True)
console = Console()


class Party:
    def __init__(self, network: dict[str, Any], hint: str) -> None:
        entry = network["parties"][hint]
        self.hint, self.id = hint, entry["party"]
        self.endpoint = network["participants"][entry["participant"]]["ledger_api"]
        self.token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[self.id],
                                    application_id="minicanton-demo")

    async def submit(self, command: Any) -> dict[str, str]:
        """Submit and wait; returns the created contract ids by entity name."""
        async with LedgerClient(self.endpoint, "minicanton-demo") as client:
            response = await client.submit_and_wait(self.token, [self.id], [command])
        created = {}
        for event in response.transaction.events_by_id.values():
            if event.HasField("created"):
                created[event.created.template_id.entity_name] = event.created.contract_id
        return created

    async def active_contracts(self) -> list[Any]:
        async with LedgerClient(self.endpoint, "minicanton-demo") as client:
            return await client.active_contracts(self.id, self.token)


def show(value: Value) -> str:
    if isinstance(value, RecordValue):
        return ", ".join(f"{name}={show(field)}" for name, field in value.fields)
    if isinstance(value, PartyValue):
        return value.value.split("::", 1)[0]
    if isinstance(value, ContractIdValue):
        return value.value[:10] + "…"
    if isinstance(value, NumericValue | Int64Value | TextValue):
        return str(value.value)
    return repr(value)


async def run_dvp(network: dict[str, Any]) -> None:
    bank, sr, alice, bob = (Party(network, h) for h in ("Bank", "SR", "Alice", "Bob"))
    step = console.print
    iou = (await bank.submit(create_command("dvp", "Iou", issuer=PartyValue(bank.id),
           owner=PartyValue(alice.id), amount=NumericValue(Decimal(100)),
           currency=TextValue("USD"))))["Iou"]
    step("1. Bank issued Alice an Iou for 100 USD")
    share = (await sr.submit(create_command("dvp", "Share", registry=PartyValue(sr.id),
             owner=PartyValue(bob.id), company=TextValue("ACME"), quantity=Int64Value(10))))[
        "Share"]
    step("2. SR registered 10 ACME shares for Bob")
    proposal = (await alice.submit(create_command(
        "dvp", "DvpProposal", buyer=PartyValue(alice.id), seller=PartyValue(bob.id),
        iou=ContractIdValue(iou), company=TextValue("ACME"), quantity=Int64Value(10))))[
        "DvpProposal"]
    step("3. Alice proposed: her Iou for Bob's 10 ACME")
    dvp = (await bob.submit(exercise_command("dvp", "DvpProposal", proposal, "Accept",
                                             share=ContractIdValue(share))))["DvP"]
    step("4. Bob accepted with his Share")
    await alice.submit(exercise_command("dvp", "DvP", dvp, "Swap"))
    step("5. Alice swapped: the Iou went to Bob and the Share to Alice, atomically\n")
    for party in (bank, sr, alice, bob):
        table = Table("template", "contract", title=f"what {party.hint} sees")
        for contract in await party.active_contracts():
            table.add_row(contract.template, show(contract.argument))
        console.print(table)


@app.command()
def dvp(directory: Path = typer.Option(Path(".localnet"), "--dir")) -> None:
    """Run the DvP flow on a local network and print what each party sees."""
    try:
        network = load_network(directory)
        asyncio.run(run_dvp(network))
    except NetworkFileError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    except KeyError as missing:
        console.print(f"[red]error:[/red] the network has no party {missing}: was it "
                      "started with 'minicanton localnet up'?")
        raise typer.Exit(2) from None
    except grpc.aio.AioRpcError as error:
        console.print(f"[red]error:[/red] {error.code().name}: {error.details()}")
        raise typer.Exit(1) from None
