"""A small asynchronous Ledger API client for the CLI (`localnet up`, `demo`).

It speaks only the public gRPC Ledger API, with a bearer token, exactly as any Daml
application would: nothing here reaches into a node.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

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
from minicanton.codec.ledger_api_values import (
    record_from_proto,
    record_to_proto,
    value_to_proto,
)
from minicanton.core.lf.value import RecordValue, Value

LEDGER_ID = "minicanton"


@dataclass(frozen=True)
class ActiveContract:
    contract_id: str
    template: str  # module:Entity
    argument: RecordValue


class LedgerClient:
    def __init__(self, endpoint: str, application_id: str = "minicanton-cli") -> None:
        self.channel = grpc.aio.insecure_channel(endpoint)
        self.application_id = application_id
        self._parties = party_grpc.PartyManagementServiceStub(self.channel)
        self._packages = package_grpc.PackageManagementServiceStub(self.channel)
        self._commands = command_grpc.CommandServiceStub(self.channel)
        self._acs = acs_grpc.ActiveContractsServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> LedgerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @staticmethod
    def _auth(token: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token}"),)

    async def find_or_allocate_party(self, hint: str, admin_token: str) -> str:
        """The participant's party with this hint, allocated on first use (idempotent)."""
        known = await self._parties.ListKnownParties(
            party_pb.ListKnownPartiesRequest(), metadata=self._auth(admin_token), timeout=30)
        for details in known.party_details:
            if details.party.split("::", 1)[0] == hint and details.is_local:
                return str(details.party)
        allocated = await self._parties.AllocateParty(
            party_pb.AllocatePartyRequest(party_id_hint=hint, display_name=hint),
            metadata=self._auth(admin_token), timeout=60)
        return str(allocated.party_details.party)

    async def upload_package(self, source: bytes, admin_token: str) -> None:
        await self._packages.UploadDarFile(
            package_pb.UploadDarFileRequest(dar_file=source, submission_id=uuid.uuid4().hex),
            metadata=self._auth(admin_token), timeout=60)

    async def submit_and_wait(self, token: str, act_as: Sequence[str],
                              commands: Sequence[commands_pb2.Command],
                              command_id: str | None = None, visibility_wait_s: float = 10.0,
                              ) -> command_pb.SubmitAndWaitForTransactionTreeResponse:
        """Submit and wait for the transaction. A contract another participant just created
        reaches this participant a moment after the creator's completion (each participant
        commits on the verdict independently), so CONTRACT_NOT_FOUND is retried, with a new
        command id, for up to `visibility_wait_s` — what a Daml application does too."""
        response: command_pb.SubmitAndWaitForTransactionTreeResponse = await self._retrying(
            self._commands.SubmitAndWaitForTransactionTree, token, act_as, commands,
            command_id, visibility_wait_s)
        return response

    async def submit_and_wait_for_completion(
        self, token: str, act_as: Sequence[str], commands: Sequence[commands_pb2.Command],
        command_id: str | None = None, visibility_wait_s: float = 10.0,
    ) -> None:
        """As `submit_and_wait`, but only the completion comes back (SubmitAndWait): for a
        client that needs no contract ids from the transaction."""
        await self._retrying(self._commands.SubmitAndWait, token, act_as, commands, command_id,
                             visibility_wait_s)

    async def _retrying(self, rpc: Any, token: str, act_as: Sequence[str],
                        commands: Sequence[commands_pb2.Command], command_id: str | None,
                        visibility_wait_s: float) -> Any:
        deadline = time.monotonic() + visibility_wait_s
        delay_s = 0.02
        while True:
            request = command_pb.SubmitAndWaitRequest(commands=commands_pb2.Commands(
                ledger_id=LEDGER_ID, application_id=self.application_id,
                command_id=command_id or uuid.uuid4().hex, act_as=list(act_as),
                commands=list(commands)))
            try:
                return await rpc(request, metadata=self._auth(token), timeout=120)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 0.5)

    async def active_contracts(self, party: str, token: str) -> list[ActiveContract]:
        request = acs_pb.GetActiveContractsRequest(
            ledger_id=LEDGER_ID, verbose=True,
            filter=transaction_filter_pb2.TransactionFilter(
                filters_by_party={party: transaction_filter_pb2.Filters()}))
        contracts = []
        async for response in self._acs.GetActiveContracts(
                request, metadata=self._auth(token), timeout=60):
            for event in response.active_contracts:
                template = f"{event.template_id.module_name}:{event.template_id.entity_name}"
                contracts.append(ActiveContract(
                    event.contract_id, template, record_from_proto(event.create_arguments)))
        return contracts


def template_id(module: str, entity: str) -> value_pb2.Identifier:
    return value_pb2.Identifier(module_name=module, entity_name=entity)


def create_command(module: str, entity: str, **fields: Value) -> commands_pb2.Command:
    return commands_pb2.Command(create=commands_pb2.CreateCommand(
        template_id=template_id(module, entity),
        create_arguments=record_to_proto(RecordValue(None, tuple(fields.items())))))


def exercise_command(module: str, entity: str, contract_id: str, choice: str,
                     **arguments: Value) -> commands_pb2.Command:
    return commands_pb2.Command(exercise=commands_pb2.ExerciseCommand(
        template_id=template_id(module, entity), contract_id=contract_id, choice=choice,
        choice_argument=value_to_proto(RecordValue(None, tuple(arguments.items())))))
