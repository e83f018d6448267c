"""`minicanton`: one command for every process and for the local network.

Each area is a typer sub-app in its own module, registered below. Errors a user can cause
(bad config, unreachable node, wrong arguments) print one clear line and exit non-zero: each
command maps them itself, so no stack trace reaches the terminal.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="minicanton",
    help="A faithful mini Canton: run nodes, a local network, and talk to them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# (module under minicanton.cli, attribute, command name, help)
SUB_APPS: list[tuple[str, str, str, str]] = [
    ("localnet.commands", "app", "localnet", "Run a whole local network on 127.0.0.1."),
    ("token", "app", "token", "Print a development JWT for a local network."),
    ("demo", "app", "demo", "Run demos against a local network."),
    ("sequencer", "app", "sequencer", "Run a sequencer."),
    ("mediator", "app", "mediator", "Run a mediator."),
    ("topology", "app", "topology", "Run and administer the topology manager."),
    ("participant", "app", "participant", "Run a participant."),
    ("json_api", "app", "json-api", "Run an HTTP JSON API."),
]


def _register() -> None:
    for module_name, attribute, name, help_text in SUB_APPS:
        try:
            module = importlib.import_module(f"minicanton.cli.{module_name}")
        except ModuleNotFoundError as missing:
            if missing.name == f"minicanton.cli.{module_name}":
                continue  # that area's CLI is not built yet
            raise
        app.add_typer(getattr(module, attribute), name=name, help=help_text)


_register()

if __name__ == "__main__":
    app()
