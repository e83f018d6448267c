"""`minicanton participant run --config FILE`: run one participant node until SIGTERM."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run(
    config: Path = typer.Option(..., "--config", help="the participant's .json or .toml config"),
) -> None:
    """Run one participant: Ledger API, sequencer client, its own database and keys."""
    from minicanton.participant.__main__ import run as run_participant

    raise typer.Exit(run_participant(str(config)))
