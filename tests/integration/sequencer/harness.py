"""Real sequencer processes for tests, and members with clients talking to them.

`SequencerCluster` writes one config per instance (fixed free ports on 127.0.0.1, so a killed
instance restarts where clients expect it), starts `python -m minicanton.sequencer` for each,
waits for its ready file, and stops every process it started (SIGTERM, then SIGKILL after a
timeout) when the test ends. Other areas' system tests can reuse it:
`from tests.integration.sequencer.harness import SequencerCluster`.
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

import grpc

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.runtime.ports import free_port
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig

DOMAIN_ID = "testdomain::1220" + "cd" * 32
SEQUENCER_SEED_HEX = "5e" * 32
SEQUENCER_KEY = SigningKeyPair.from_private(bytes.fromhex(SEQUENCER_SEED_HEX))
ADMIN_TOKEN = "test-admin-token"
ADMIN = "/minicanton.sequencer.v1.SequencerAdminService/"


@dataclass
class SequencerProcess:
    name: str
    config_path: Path
    ready_path: Path
    log_path: Path
    port: int
    health_port: int
    process: subprocess.Popen[bytes] | None = None
    node_index: int = -1

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def spawn(self) -> None:
        self.ready_path.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "minicanton.sequencer", "--config", str(self.config_path)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready_path.exists():
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.02)
        self.node_index = json.loads(self.ready_path.read_text())["node_index"]

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout_s: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


@dataclass(frozen=True)
class Member:
    member: MemberId
    key: SigningKeyPair


@dataclass
class SequencerCluster:
    dsn: str
    workdir: Path
    instances: int = 1
    total_nodes: int | None = None
    overrides: dict[str, object] = field(default_factory=dict)
    processes: list[SequencerProcess] = field(default_factory=list)
    clients: list[SequencerClient] = field(default_factory=list)
    _seed: int = 0

    def __post_init__(self) -> None:
        for index in range(self.instances):
            name = f"seq{index}"
            process = SequencerProcess(name, self.workdir / f"{name}.json",
                                       self.workdir / f"{name}.ready",
                                       self.workdir / f"{name}.log", free_port(), free_port())
            config = {
                "domain_id": DOMAIN_ID, "node_name": name, "database_dsn": self.dsn,
                "total_nodes": self.total_nodes or self.instances,
                "signing_key_seed_hex": SEQUENCER_SEED_HEX, "port": process.port,
                "health_port": process.health_port, "ready_file": str(process.ready_path),
                "admin_token": ADMIN_TOKEN, "offline_timeout_ms": 1_000,
                "pool_size": 4, **self.overrides,
            }
            process.config_path.write_text(json.dumps(config))
            self.processes.append(process)

    async def start(self) -> SequencerCluster:
        # one at a time: the first applies the migrations, the others find them done
        for process in self.processes:
            process.spawn()
            await process.wait_ready()
        return self

    async def restart(self, index: int) -> None:
        process = self.processes[index]
        process.spawn()
        await process.wait_ready()

    async def stop(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()
        for process in self.processes:
            process.terminate()

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(p.endpoint for p in self.processes)

    async def admin(self, method: str, request: object, response_type: type,
                    instance: int = 0) -> object:
        async with grpc.aio.insecure_channel(self.processes[instance].endpoint) as channel:
            raw = await channel.unary_unary(ADMIN + method)(
                request.SerializeToString(),  # type: ignore[attr-defined]
                metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),), timeout=10)
        return response_type.FromString(raw)  # type: ignore[attr-defined]

    async def register(self, hint: str, kind: MemberKind = MemberKind.PARTICIPANT) -> Member:
        self._seed += 1
        key = SigningKeyPair.from_private(
            self._seed.to_bytes(4, "big") + hint.encode()[:28].ljust(28, b"\0"))
        member = member_id(kind, hint, key.fingerprint)
        await self.admin("RegisterMember", apb.RegisterMemberRequest(
            member=member, signing_public_key=key.public.raw), apb.RegisterMemberResponse)
        return Member(member, key)

    def client(self, member: Member, endpoints: tuple[str, ...] | None = None,
               **options: object) -> SequencerClient:
        config = SequencerClientConfig(endpoints or self.endpoints, **options)  # type: ignore
        client = SequencerClient(domain_id=DOMAIN_ID, member=member.member,
                                 signing_key=member.key,
                                 trusted_sequencer_keys=[SEQUENCER_KEY.public], config=config)
        self.clients.append(client)
        return client


class Recorder:
    """An event handler that keeps what it was given, for assertions."""

    def __init__(self) -> None:
        self.events: list[VerifiedEvent] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: VerifiedEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[list[VerifiedEvent]], bool],
                       timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate(self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; {len(self.events)} events so far")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def contents(self) -> list[bytes]:
        out = []
        for verified in self.events:
            content = verified.event.content
            batch = getattr(content, "batch", None)
            out += [e.content for e in batch.envelopes] if batch else []
        return out
