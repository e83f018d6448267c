"""`minicanton localnet up | status | down`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.table import Table

from minicanton.cli.localnet import launcher
from minicanton.cli.localnet.bootstrap import bootstrap_dvp
from minicanton.cli.localnet.network import NetworkFileError, network_path, save_network
from minicanton.cli.localnet.supervisor import LocalnetError
from minicanton.runtime.embedded_postgres import EmbeddedPostgresError

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)
DIR_OPTION = typer.Option(Path(".localnet"), "--dir", help="folder for data, configs, logs")


def _progress(message: str) -> None:
    console.print(f"[cyan]•[/cyan] {message}")


@app.command()
def up(directory: Path = DIR_OPTION,
       dsn: str = typer.Option(None, "--dsn", help="use this PostgreSQL server (its databases "
                                "must exist) instead of an embedded one")) -> None:
    """Start two sequencers, a mediator, the topology manager, four participants and a JSON
    API for each."""
    try:
        network = launcher.up(directory, dsn, _progress)
        asyncio.run(bootstrap_dvp(network, _progress))
        save_network(directory.resolve(), network)
    except (LocalnetError, EmbeddedPostgresError, NetworkFileError, OSError,
            grpc.aio.AioRpcError) as error:
        message = (f"{error.code().name}: {error.details()}"
                   if isinstance(error, grpc.aio.AioRpcError) else str(error))
        console.print(f"[red]error:[/red] {message}")
        console.print(f"logs: {directory / 'logs'}; stop what started: "
                      f"minicanton localnet down --dir {directory}")
        raise typer.Exit(1) from None
    console.print(f"[green]local network up[/green]: {network_path(directory.resolve())}")
    for name, node in network["participants"].items():
        console.print(f"  {name:<8} Ledger API {node['ledger_api']}   "
                      f"JSON API {node.get('json_api', '-')}")


@app.command()
def status(directory: Path = DIR_OPTION) -> None:
    """Show each process and whether it is alive."""
    try:
        rows = launcher.status(directory)
    except NetworkFileError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    table = Table("node", "pid", "running")
    for name, pid, alive in rows:
        table.add_row(name, str(pid or "-"), "[green]yes[/green]" if alive else "[red]no[/red]")
    Console().print(table)
    if not all(alive for _, _, alive in rows):
        raise typer.Exit(3)


@app.command()
def down(directory: Path = DIR_OPTION,
         wipe: bool = typer.Option(False, "--wipe", help="also delete all data")) -> None:
    """Stop every process cleanly (data kept for the next `up` unless --wipe)."""
    try:
        launcher.down(directory, wipe, _progress)
    except (EmbeddedPostgresError, NetworkFileError, OSError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    console.print("[green]local network down[/green]")

