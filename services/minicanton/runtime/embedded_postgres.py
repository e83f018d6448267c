"""An embedded PostgreSQL cluster: initdb + pg_ctl into a folder we own.

Used by `minicanton localnet` when no DSN is configured and by the test suite. PostgreSQL
refuses to run as root, so when we are root the server binaries run as the ``postgres`` OS
user (``runuser -u postgres --``) on a data folder it owns; as a normal user they run as us.
The cluster listens on 127.0.0.1 only, on a port we pick, with trust authentication for
loopback — it is a development cluster, never a production one.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shlex
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from minicanton.runtime.ports import free_port

log = logging.getLogger(__name__)

SUPERUSER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    pass


def find_pg_bin() -> Path:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's 'postgresql' "
        "package or run 'make test' / 'make run', which install it"
    )


_PG_CTL_GENERIC = ("could not start server", "Examine the log output")


def _cause(log_file: Path, offset: int, pg_ctl_stderr: str) -> str:
    """This start's FATAL/PANIC lines from the server log (earlier starts are above them),
    else what pg_ctl said beyond its generic lines (a server that never got to write its
    log, e.g. a data directory it cannot open)."""
    lines: list[str] = []
    if log_file.exists():
        with log_file.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
    causes = [line.split(":  ", 1)[-1] for line in lines if "FATAL:" in line or "PANIC:" in line]
    if not causes:
        causes = [line for line in pg_ctl_stderr.splitlines()
                  if line.strip() and not any(g in line for g in _PG_CTL_GENERIC)]
    return "; ".join(causes or lines[-5:] or ["no cause in its log"]) + f" (log: {log_file})"


_PG_CTL_NOT_RUNNING = 3  # pg_ctl status: 0 running, 3 not running, 4 no data dir it can read


def _running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = 0
    durable: bool = True  # False: fsync off etc., for tests only

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.bin_dir = find_pg_bin()

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if _running_as_root():
            self._let_postgres_reach_the_data_dir()
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def _let_postgres_reach_the_data_dir(self) -> None:
        """As root the server runs as `postgres`, which must traverse every parent. Checked
        before each command, not only at initdb: an owner may tighten a parent between
        runs (the localnet keeps its directory at 0700 for its secrets), and a cluster it
        can no longer reach would neither start nor stop."""
        for parent in self.data_dir.parents:
            if parent == Path("/") or not parent.exists():
                continue
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o011)

    def _prepare_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            self._let_postgres_reach_the_data_dir()
            shutil.chown(self.data_dir, "postgres", "postgres")
        os.chmod(self.data_dir, 0o700)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised():
            return
        self._prepare_dir()
        result = self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip()}")

    def _server_options(self) -> str:
        """pg_ctl hands `-o` to a shell: a folder with spaces must be one quoted word."""
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-p {self.port}",
            f"-c {shlex.quote(f'unix_socket_directories={self.data_dir}')}",
            "-c max_connections=300",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(options)

    def start(self) -> str:
        self.init()
        if self.port == 0:
            self.port = free_port()
        log_file = self.data_dir / "server.log"
        offset = log_file.stat().st_size if log_file.exists() else 0
        result = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(log_file), "-w", "-t", "60",
            "-o", self._server_options(), "start", check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"PostgreSQL in {self.data_dir} did not start on "
                                        f"127.0.0.1:{self.port}: "
                                        f"{_cause(log_file, offset, result.stderr)}")
        self._wait_ready()
        log.info("embedded PostgreSQL on 127.0.0.1:%d (%s)", self.port, self.data_dir)
        return self.dsn

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.port), timeout=1
            ):
                return
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL did not accept connections on {self.port}")

    def is_running(self) -> bool:
        if not self.initialised():
            return False
        result = self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False)
        if result.returncode not in (0, _PG_CTL_NOT_RUNNING):
            # "not running" must not be guessed from an error: a cluster taken for stopped
            # would be left running when its directory is wiped
            raise EmbeddedPostgresError(f"pg_ctl status failed: {result.stderr.strip()}")
        return result.returncode == 0

    def stop(self) -> None:
        if not self.is_running():
            return
        result = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop",
                           check=False)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"pg_ctl stop failed: {result.stderr.strip()}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        psql = shutil.which("psql") or str(self.bin_dir / "psql")
        result = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.dsn_for(database),
             "-c", sql],
            capture_output=True, text=True, timeout=60,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str) -> str:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)
