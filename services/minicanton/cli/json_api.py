"""`minicanton json-api run --config FILE`: run one HTTP JSON API until SIGTERM."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run(
    config: Path = typer.Option(..., "--config", help="the JSON API's .json or .toml config"),
) -> None:
    """Run one HTTP JSON API in front of one participant's Ledger API."""
    from minicanton.json_api.__main__ import run as run_json_api

    raise typer.Exit(run_json_api(str(config)))
