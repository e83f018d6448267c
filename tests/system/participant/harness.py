"""A whole domain of real processes on 127.0.0.1 for participant system tests.

`Domain` starts sequencer instance(s) (the sequencer harness), the topology manager (open
admission, short timeouts), a mediator, and participants, each `python -m minicanton.<kind>`
with its own database on the session's PostgreSQL, and waits for each ready file. `stop`
ends every process it started (SIGTERM, then SIGKILL after a timeout), so nothing leaks even
when a test fails. `LedgerClient` is a Ledger API client generated from our protos, with a dev
token.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from tests.integration.sequencer.harness import ADMIN_TOKEN, SequencerCluster

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2 as acs_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2_grpc as acs_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2 as command_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2_grpc as command_grpc
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    commands_pb2,
    transaction_filter_pb2,
    value_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import ledger_offset_pb2 as offset_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2 as tx_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2 as package_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2_grpc as package_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2 as party_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2_grpc as party_grpc,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.ports import free_port
from minicanton.topology.changes import initial_key_mapping

SECRET = "participant-system-test-secret-0123456789"
TM_ADMIN_TOKEN = "topology-admin-token"
MEDIATOR_SEED_HEX = "6d" * 32
APPLICATION_ID = "system-test"


@dataclass
class NodeProcess:
    name: str
    module: str
    workdir: Path
    config: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def ready_path(self) -> Path:
        return self.workdir / f"{self.name}.ready"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def spawn(self) -> None:
        self.ready_path.unlink(missing_ok=True)
        config_path = self.workdir / f"{self.name}.json"
        config_path.write_text(json.dumps({**self.config, "ready_file": str(self.ready_path)}))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, "--config", str(config_path)],
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    async def wait_ready(self, timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not self.ready_path.exists():
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        self.ready = json.loads(self.ready_path.read_text())
        return self.ready

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self, timeout_s: float = 20.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def _database(postgres: EmbeddedPostgres, prefix: str) -> str:
    return postgres.create_database(f"{prefix}_{uuid.uuid4().hex[:12]}")


@dataclass
class Domain:
    postgres: EmbeddedPostgres
    workdir: Path
    sequencer_instances: int = 2
    sequencers: SequencerCluster | None = None
    nodes: list[NodeProcess] = field(default_factory=list)
    participants: dict[str, NodeProcess] = field(default_factory=dict)

    async def start(self) -> Domain:
        # the sequencers' ceiling under the domain's 10 MiB, so a test can have a request
        # the participant sends refused by the sequencers
        self.sequencers = SequencerCluster(_database(self.postgres, "seq"), self.workdir,
                                           instances=self.sequencer_instances,
                                           overrides={"max_request_size_bytes": 1 << 20})
        await self.sequencers.start()
        endpoints = list(self.sequencers.endpoints)
        mediator_key = SigningKeyPair.from_private(bytes.fromhex(MEDIATOR_SEED_HEX))
        mediator = member_id(MemberKind.MEDIATOR, "mediator", mediator_key.fingerprint)
        self.manager = await self._start(NodeProcess("topology", "minicanton.topology",
                                                     self.workdir, {
            "database_dsn": _database(self.postgres, "tm"), "port": free_port(),
            "admin_token": TM_ADMIN_TOKEN, "admission": "open",
            "sequencer_endpoints": endpoints, "sequencer_admin_token": ADMIN_TOKEN,
            "initial_members": [initial_key_mapping(mediator, [mediator_key]).to_bytes().hex()],
            "parameters": {"confirmation_response_timeout_ms": 5_000,
                           "mediator_reaction_timeout_ms": 5_000,
                           "topology_change_delay_ms": 100},
            "log_json": False,
        }))
        await self._start(NodeProcess("mediator", "minicanton.mediator", self.workdir, {
            "database_dsn": _database(self.postgres, "med"),
            "signing_key_seed_hex": MEDIATOR_SEED_HEX, "topology_manager": self.manager_endpoint,
            "sequencers": endpoints, "admin_token": "mediator-admin-token", "log_json": False,
        }))
        return self

    @property
    def manager_endpoint(self) -> str:
        return f"127.0.0.1:{self.manager.config['port']}"

    async def _start(self, node: NodeProcess) -> NodeProcess:
        self.nodes.append(node)
        node.spawn()
        await node.wait_ready()
        return node

    def participant_config(self, name: str) -> dict[str, Any]:
        assert self.sequencers is not None
        return {
            "name": name, "database_dsn": _database(self.postgres, name),
            "key_file": str(self.workdir / name / "keys.json"),
            "sequencers": list(self.sequencers.endpoints),
            "topology_manager": self.manager_endpoint,
            "ledger_api": {"port": free_port()}, "auth": {"hs256_secret": SECRET},
            "max_sequencing_time_ms": 5_000, "health_port": free_port(), "log_json": False,
        }

    async def add_participant(self, name: str) -> NodeProcess:
        node = NodeProcess(name, "minicanton.participant", self.workdir,
                           self.participant_config(name))
        self.participants[name] = node
        return await self._start(node)

    async def stop(self) -> None:
        for node in reversed(self.nodes):
            node.terminate()
        if self.sequencers is not None:
            await self.sequencers.stop()


def admin_token(participant: str | None = None) -> str:
    return mint_dev_token(SECRET, act_as=[], admin=True, application_id=APPLICATION_ID)


def party_token(*parties: str) -> str:
    return mint_dev_token(SECRET, act_as=list(parties), application_id=APPLICATION_ID)


class LedgerClient:
    """Ledger API stubs generated from our protos, on one participant."""

    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{node.ready['ledger_api_port']}")
        self.parties = party_grpc.PartyManagementServiceStub(self.channel)
        self.packages = package_grpc.PackageManagementServiceStub(self.channel)
        self.commands = command_grpc.CommandServiceStub(self.channel)
        self.transactions = tx_grpc.TransactionServiceStub(self.channel)
        self.acs = acs_grpc.ActiveContractsServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    @staticmethod
    def auth(token: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token}"),)

    async def allocate(self, hint: str) -> str:
        response = await self.parties.AllocateParty(
            party_pb.AllocatePartyRequest(party_id_hint=hint, display_name=hint.title()),
            metadata=self.auth(admin_token()), timeout=30, wait_for_ready=True)
        return str(response.party_details.party)

    async def known_parties(self) -> list[Any]:
        response = await self.parties.ListKnownParties(
            party_pb.ListKnownPartiesRequest(), metadata=self.auth(admin_token()), timeout=30,
            wait_for_ready=True)
        return list(response.party_details)

    async def upload(self, source: bytes) -> None:
        await self.packages.UploadDarFile(
            package_pb.UploadDarFileRequest(dar_file=source),
            metadata=self.auth(admin_token()), timeout=30, wait_for_ready=True)

    async def create_iou(self, issuer: str, owner: str, amount: str, command_id: str) -> str:
        create = commands_pb2.Command(create=commands_pb2.CreateCommand(
            template_id=value_pb2.Identifier(module_name="dvp", entity_name="Iou"),
            create_arguments=value_pb2.Record(fields=[
                value_pb2.RecordField(label="issuer", value=value_pb2.Value(party=issuer)),
                value_pb2.RecordField(label="owner", value=value_pb2.Value(party=owner)),
                value_pb2.RecordField(label="amount", value=value_pb2.Value(numeric=amount)),
                value_pb2.RecordField(label="currency", value=value_pb2.Value(text="USD")),
            ])))
        request = command_pb.SubmitAndWaitRequest(commands=commands_pb2.Commands(
            ledger_id="minicanton", application_id=APPLICATION_ID, command_id=command_id,
            act_as=[issuer], commands=[create]))
        response = await self.commands.SubmitAndWaitForTransactionId(
            request, metadata=self.auth(party_token(issuer)), timeout=60, wait_for_ready=True)
        return str(response.transaction_id)

    async def submit(self, party: str, command_id: str,
                     *commands: commands_pb2.Command) -> Any:
        """Submit and wait; the flat transaction as `party` sees it."""
        request = command_pb.SubmitAndWaitRequest(commands=commands_pb2.Commands(
            ledger_id="minicanton", application_id=APPLICATION_ID, command_id=command_id,
            act_as=[party], commands=list(commands)))
        response = await self.commands.SubmitAndWaitForTransaction(
            request, metadata=self.auth(party_token(party)), timeout=60, wait_for_ready=True)
        return response.transaction

    async def active_contracts(self, party: str) -> list[Any]:
        request = acs_pb.GetActiveContractsRequest(
            ledger_id="minicanton", filter=_filter(party), verbose=True)
        created = []
        async for response in self.acs.GetActiveContracts(
                request, metadata=self.auth(party_token(party)), timeout=30, wait_for_ready=True):
            created += list(response.active_contracts)
        return created

    async def ledger_end(self, party: str) -> str:
        response = await self.transactions.GetLedgerEnd(
            tx_pb.GetLedgerEndRequest(ledger_id="minicanton"),
            metadata=self.auth(party_token(party)), timeout=10, wait_for_ready=True)
        return str(response.offset.absolute)

    async def transactions_of(self, party: str) -> list[Any]:
        """Every flat transaction `party` sees, from the beginning to the ledger end now."""
        end = await self.ledger_end(party)
        if not end:
            return []
        request = tx_pb.GetTransactionsRequest(
            ledger_id="minicanton",
            begin=offset_pb.LedgerOffset(boundary=offset_pb.LedgerOffset.LEDGER_BEGIN),
            end=offset_pb.LedgerOffset(absolute=end), filter=_filter(party), verbose=True)
        out = []
        async for response in self.transactions.GetTransactions(
                request, metadata=self.auth(party_token(party)), timeout=30, wait_for_ready=True):
            out += list(response.transactions)
        return out


def record(**fields: value_pb2.Value) -> value_pb2.Record:
    return value_pb2.Record(fields=[value_pb2.RecordField(label=k, value=v)
                                    for k, v in fields.items()])


def create(entity: str, **fields: value_pb2.Value) -> commands_pb2.Command:
    return commands_pb2.Command(create=commands_pb2.CreateCommand(
        template_id=value_pb2.Identifier(module_name="dvp", entity_name=entity),
        create_arguments=record(**fields)))


def exercise(entity: str, contract_id: str, choice: str,
             **arguments: value_pb2.Value) -> commands_pb2.Command:
    return commands_pb2.Command(exercise=commands_pb2.ExerciseCommand(
        template_id=value_pb2.Identifier(module_name="dvp", entity_name=entity),
        contract_id=contract_id, choice=choice,
        choice_argument=value_pb2.Value(record=record(**arguments))))


def created(transaction: Any, entity: str) -> str:
    """The id of the one contract of `entity` the transaction created."""
    ids = [e.created.contract_id for e in transaction.events
           if e.WhichOneof("event") == "created" and e.created.template_id.entity_name == entity]
    assert len(ids) == 1, (entity, transaction)
    return str(ids[0])


def _filter(party: str) -> transaction_filter_pb2.TransactionFilter:
    return transaction_filter_pb2.TransactionFilter(
        filters_by_party={party: transaction_filter_pb2.Filters()})


async def eventually(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await check()
        except AssertionError:
            pass
        except grpc.aio.AioRpcError as error:  # a restarted node not reachable yet
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        if time.monotonic() > deadline:
            return await check()
        await asyncio.sleep(0.2)
