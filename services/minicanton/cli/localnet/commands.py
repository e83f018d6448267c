"""`minicanton localnet up | status | down`.

Every error a user can cause reaches the terminal as one line through `_one_line_errors`
(no stack trace). `up` owns what it starts: interrupted (Ctrl-C, SIGTERM) or failed, it
stops its processes and PostgreSQL again and says so; data stays for the next `up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import grpc
import typer
from rich.console import Console
from rich.table import Table

from minicanton.cli.localnet import launcher, processes
from minicanton.cli.localnet.bootstrap import bootstrap_dvp
from minicanton.cli.localnet.layout import StateFileError
from minicanton.cli.localnet.network import NetworkFileError, network_path, save_network
from minicanton.cli.localnet.supervisor import LocalnetError
from minicanton.runtime.embedded_postgres import EmbeddedPostgresError

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
DIR_OPTION = typer.Option(Path(".localnet"), "--dir", help="folder for data, configs, logs")
USER_ERRORS = (LocalnetError, EmbeddedPostgresError, NetworkFileError, StateFileError,
               OSError, grpc.aio.AioRpcError)
EXIT_INTERRUPTED = 130


def _progress(message: str) -> None:
    console.print(f"[cyan]•[/cyan] {message}", highlight=False)


def describe(error: BaseException) -> str:
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return str(error)


def _error(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False, markup=True)


@contextlib.contextmanager
def _one_line_errors(exit_code: int = 1) -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as error:
        _error(describe(error))
        raise typer.Exit(exit_code) from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM ends `up` the way Ctrl-C does


@contextlib.contextmanager
def _alone_on(directory: Path) -> Iterator[None]:
    """`up` and `down` on one folder exclude each other: a second `up` would take the first
    one's half-started nodes for leftovers and stop them. The lock lives in DIR/run/, which
    only a network folder has (so `down --dir` on another folder writes nothing there)."""
    run_dir = directory / "run"
    if not run_dir.is_dir():
        yield
        return
    with (run_dir / ".lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LocalnetError(f"another 'minicanton localnet' command is working on "
                                f"{directory.resolve()}: wait for it to end") from None
        yield


def _stop_what_started(directory: Path) -> str | None:
    """Stop this start's processes (uninterruptibly); a one-line account, None when nothing
    had started (an error found before any start needs no clean-up hint)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    try:
        stopped = processes.stop_all(directory.resolve(), lambda message: None)
    except USER_ERRORS as error:
        return f"could not stop everything ({describe(error)}): run 'minicanton localnet " \
               f"down --dir {directory}'"
    if not stopped:
        return None
    names = ", ".join(stopped)
    return f"stopped what this up had started ({names}); data kept in {directory}"


def _start(directory: Path, dsn: str | None, starting: list[bool]) -> dict:
    """Start the network unless all of it already runs; `starting` gets an entry once this
    up may have started something, so only then does a failure stop what runs."""
    if directory.is_dir():
        already = processes.running_network(directory.resolve(), lambda message: None)
        if already is not None:
            _progress(f"the network in {directory.resolve()} is already running")
            return already
    starting.append(True)
    network = launcher.start(directory, dsn, _progress)
    asyncio.run(bootstrap_dvp(network, _progress))
    save_network(directory.resolve(), network)  # only now does the network count as running
    return network


@app.command()
def up(directory: Path = DIR_OPTION,
       dsn: str = typer.Option(None, "--dsn", help="use this PostgreSQL server instead of an "
                               "embedded one; its databases must exist (see docs)")) -> None:
    """Start two sequencers, a mediator, the topology manager, four participants and a JSON
    API for each."""
    signal.signal(signal.SIGTERM, _interrupt)
    starting: list[bool] = []
    try:
        if not directory.exists():
            (directory / "run").mkdir(mode=0o700, parents=True)
        with _alone_on(directory):
            network = _start(directory, dsn, starting)
    except KeyboardInterrupt:
        stopped = _stop_what_started(directory) if starting and directory.is_dir() else None
        console.print(f"interrupted: {stopped or 'nothing had started'}", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as error:  # whatever failed, stop what this up started
        _error(describe(error) if isinstance(error, USER_ERRORS)
               else f"{type(error).__name__}: {error}")
        stopped = _stop_what_started(directory) if starting and directory.is_dir() else None
        if stopped:
            console.print(f"{stopped}; logs in {directory / 'logs'}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]local network up[/green]: {network_path(directory.resolve())}")
    for name, node in network["participants"].items():
        console.print(f"  {name:<8} Ledger API {node['ledger_api']}   "
                      f"JSON API {node.get('json_api', '-')}")


@app.command()
def status(directory: Path = DIR_OPTION) -> None:
    """Show each process (and the embedded PostgreSQL) and whether it is alive."""
    with _one_line_errors():
        rows = processes.status(directory)
    table = Table("node", "pid", "running")
    for name, pid, alive in rows:
        table.add_row(name, str(pid or "-"), "[green]yes[/green]" if alive else "[red]no[/red]")
    Console().print(table)
    if not all(alive for _, _, alive in rows):
        raise typer.Exit(3)


@app.command()
def down(directory: Path = DIR_OPTION,
         wipe: bool = typer.Option(False, "--wipe", help="also delete all data (an external "
                                   "--dsn server's databases are left alone)")) -> None:
    """Stop every process cleanly (data kept for the next `up` unless --wipe)."""
    with _one_line_errors(), _alone_on(directory):
        processes.down(directory, wipe, _progress)
    console.print("[green]local network down[/green]")
