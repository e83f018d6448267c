"""A real topology manager process, and members played by test code.

`TopologyManagerProcess` writes the manager's config, starts `python -m minicanton.topology`,
waits for its ready file and stops it (SIGTERM, then SIGKILL). `PlayedMember` is what a
participant or mediator process will do with the pieces of issue 4: its own database with the
"topology_member" store, a `SequencerClient` to the real sequencers, a `MemberTopology` fed
with every event in the same transaction as the member's clean position, the late-joiner
bootstrap before its first event, and a `TopologyAdminClient` acting as itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from tests.integration.sequencer.harness import DOMAIN_ID, SEQUENCER_KEY

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import Fingerprint, MemberId, MemberKind, member_id
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.events import Deliver, SequencerPosition
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.runtime.ports import free_port
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig
from minicanton.runtime.topology_admin_client import TopologyAdminClient
from minicanton.runtime.topology_client import MemberTopology
from minicanton.store.postgres.topology_store import migrate_member_store

ADMIN_TOKEN = "topology-admin-token"


@dataclass
class TopologyManagerProcess:
    workdir: Path
    dsn: str
    sequencer_endpoints: tuple[str, ...]
    sequencer_admin_token: str
    initial_members: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "topology.log"

    def write_config(self, **overrides: object) -> Path:
        config = {
            "database_dsn": self.dsn, "port": self.port, "health_port": None,
            "admin_token": ADMIN_TOKEN, "admission": "permissioned",
            "sequencer_endpoints": list(self.sequencer_endpoints),
            "sequencer_admin_token": self.sequencer_admin_token,
            "trusted_sequencer_keys_hex": [SEQUENCER_KEY.public.raw.hex()],
            "initial_members": self.initial_members, "change_timeout_ms": 10_000,
            "ready_file": str(self.workdir / "topology.ready"), "log_json": False,
            **overrides,
        }
        path = self.workdir / "topology.json"
        path.write_text(json.dumps(config))
        return path

    async def start(self, **overrides: object) -> None:
        config = self.write_config(**overrides)
        ready = self.workdir / "topology.ready"
        ready.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "minicanton.topology", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the topology manager did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        self.ready = json.loads(ready.read_text())

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def admin(self) -> TopologyAdminClient:
        return TopologyAdminClient(self.endpoint, admin_token=ADMIN_TOKEN, timeout_s=15)


@dataclass(eq=False)
class PlayedMember:
    """A participant or mediator as its process will run, minus the protocol."""

    name: str
    kind: MemberKind
    seed: int
    dsn: str
    key: SigningKeyPair = field(init=False)
    encryption: EncryptionKeyPair = field(init=False)
    id: MemberId = field(init=False)
    events: list[VerifiedEvent] = field(default_factory=list)
    position: SequencerPosition | None = None
    topology: MemberTopology | None = None
    client: SequencerClient | None = None
    pool: asyncpg.Pool | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.key = SigningKeyPair.from_private(self.seed.to_bytes(32, "big"))
        self.encryption = EncryptionKeyPair.from_private((self.seed + 1000).to_bytes(32, "big"))
        self.id = member_id(self.kind, self.name, self.key.fingerprint)

    def key_mapping_hex(self) -> str:
        encryption = [self.encryption.public] if self.kind is MemberKind.PARTICIPANT else []
        return initial_key_mapping(self.id, [self.key], encryption).to_bytes().hex()

    def admin(self, endpoint: str) -> TopologyAdminClient:
        return TopologyAdminClient(endpoint, member=self.id, member_key=self.key,
                                   domain_id=DOMAIN_ID, timeout_s=15)

    async def start(self, namespace: Fingerprint, sequencers: tuple[str, ...],
                    manager_endpoint: str) -> None:
        await migrate_member_store(self.dsn)
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        await self.pool.execute("CREATE TABLE IF NOT EXISTS played_position (singleton boolean "
                                "PRIMARY KEY DEFAULT true, counter bigint, ts bigint)")
        row = await self.pool.fetchrow("SELECT counter, ts FROM played_position")
        self.position = None if row is None else SequencerPosition(row["counter"], row["ts"])
        self.topology = await MemberTopology.open(self.pool, self.id, namespace)
        self._manager_endpoint = manager_endpoint
        self.client = SequencerClient(
            domain_id=DOMAIN_ID, member=self.id, signing_key=self.key,
            trusted_sequencer_keys=[SEQUENCER_KEY.public],
            config=SequencerClientConfig(sequencers))
        await self.client.start(self._handle, resume_from=self.position)

    async def switch_key(self, key: SigningKeyPair, sequencers: tuple[str, ...]) -> None:
        """Sign with `key` from now on: a new sequencer client resuming where this one is."""
        assert self.client is not None
        await self.client.close()
        self.key = key
        self.client = SequencerClient(
            domain_id=DOMAIN_ID, member=self.id, signing_key=key,
            trusted_sequencer_keys=[SEQUENCER_KEY.public],
            config=SequencerClientConfig(sequencers))
        await self.client.start(self._handle, resume_from=self.position)

    async def _handle(self, verified: VerifiedEvent) -> None:
        assert self.pool is not None and self.topology is not None
        ts_us = verified.event.timestamp_us
        fetched = None
        if self.position is None:  # the first event ever: get what came before it
            async with self.admin(self._manager_endpoint) as admin:
                fetched, _ = await admin.fetch_state(ts_us - 1)
        async with self.pool.acquire() as connection, connection.transaction():
            if fetched is not None:
                await self.topology.bootstrap(connection, fetched, ts_us)
            await self.topology.process(connection, verified.event)
            await connection.execute(
                "INSERT INTO played_position VALUES (true, $1, $2) ON CONFLICT (singleton) "
                "DO UPDATE SET counter = $1, ts = $2", verified.position.counter, ts_us)
        self.position = verified.position
        self.events.append(verified)
        self._changed.set()

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if self.client is not None and self.client.failure is not None:
                raise AssertionError(f"{self.name}'s client stopped: {self.client.failure}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: timed out waiting")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.2)

    async def wait_processed(self, ts_us: int, timeout_s: float = 10.0) -> None:
        """Until this member processed an event after `ts_us` (asking for a time proof)."""
        assert self.client is not None
        if self.position is None or self.position.timestamp_us < ts_us:
            while time.time_ns() // 1000 <= ts_us:
                await asyncio.sleep(0.02)
            await self.client.request_time_proof()
        await self.wait_until(lambda: self.position is not None
                              and self.position.timestamp_us > ts_us, timeout_s)

    def payloads(self) -> list[tuple[int, str | None, bytes]]:
        out: list[tuple[int, str | None, bytes]] = []
        for verified in self.events:
            content = verified.event.content
            if isinstance(content, Deliver):
                out += [(verified.event.timestamp_us, content.sender, e.content)
                        for e in content.batch.envelopes]
        return out
