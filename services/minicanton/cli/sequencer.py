"""`minicanton sequencer run --config FILE`: run one sequencer instance until SIGTERM."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run(
    config: Path = typer.Option(..., "--config", help="the instance's .json or .toml config"),
) -> None:
    """Run one sequencer instance (several may share one database: active-active)."""
    from minicanton.sequencer.__main__ import run as run_sequencer

    raise typer.Exit(run_sequencer(str(config)))
