"""`minicanton token --dir DIR --act-as Alice`: print a development JWT for a local network."""

from __future__ import annotations

from pathlib import Path

import typer

from minicanton.cli.localnet.network import NetworkFileError, load_network, resolve_party
from minicanton.runtime.auth import mint_dev_token

app = typer.Typer(no_args_is_help=False, invoke_without_command=True)


@app.callback()
def token(
    directory: Path = typer.Option(Path(".localnet"), "--dir", help="the local network folder"),
    act_as: list[str] = typer.Option([], "--act-as", help="party (hint or full id), repeatable"),
    read_as: list[str] = typer.Option([], "--read-as", help="party to read as, repeatable"),
    admin: bool = typer.Option(False, "--admin", help="grant participant admin rights"),
    application_id: str = typer.Option("minicanton-cli", "--application-id"),
    expires_in_s: int = typer.Option(24 * 3600, "--expires-in", min=1, help="seconds"),
) -> None:
    """Print an HS256 token with Daml's custom claims, signed with the network's dev secret."""
    try:
        network = load_network(directory)
        secret = network["auth"]["hs256_secret"]
        acting = [resolve_party(network, party) for party in act_as]
        reading = [resolve_party(network, party) for party in read_as]
    except (NetworkFileError, KeyError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if not (acting or reading or admin):
        typer.echo("error: give at least one of --act-as, --read-as, --admin", err=True)
        raise typer.Exit(2)
    typer.echo(mint_dev_token(secret, acting, reading, admin=admin,
                              application_id=application_id, expires_in_s=expires_in_s))
