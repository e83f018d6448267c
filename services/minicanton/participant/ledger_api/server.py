"""Start the participant's gRPC Ledger API: every service, gRPC health and reflection.

    api = await start_ledger_api_server("127.0.0.1:0", backend, submitter, authenticator)
    ... api.port ...
    await api.stop(grace_s=1.0)

Health and reflection are open (load balancers and tools call them without a token); every
Ledger API RPC authenticates its caller. `health` is the node's `HealthState` when it has one
(the node decides readiness); without one the server reports SERVING once started.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2,
    active_contracts_service_pb2_grpc,
    command_completion_service_pb2,
    command_completion_service_pb2_grpc,
    command_service_pb2,
    command_service_pb2_grpc,
    command_submission_service_pb2,
    command_submission_service_pb2_grpc,
    ledger_identity_service_pb2,
    ledger_identity_service_pb2_grpc,
    package_service_pb2,
    package_service_pb2_grpc,
    transaction_service_pb2,
    transaction_service_pb2_grpc,
    version_service_pb2,
    version_service_pb2_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2,
    package_management_service_pb2_grpc,
    party_management_service_pb2,
    party_management_service_pb2_grpc,
    user_management_service_pb2,
    user_management_service_pb2_grpc,
)
from minicanton.participant.ledger_api.active_contracts import ActiveContractsService
from minicanton.participant.ledger_api.backend import CommandSubmitter, LedgerApiBackend
from minicanton.participant.ledger_api.command_submission import (
    DEFAULT_MAX_WAIT_S,
    CommandService,
    CommandSubmissionService,
)
from minicanton.participant.ledger_api.completions import CommandCompletionService
from minicanton.participant.ledger_api.identity import LedgerIdentityService, VersionService
from minicanton.participant.ledger_api.packages import PackageManagementService, PackageService
from minicanton.participant.ledger_api.parties import PartyManagementService
from minicanton.participant.ledger_api.transactions import TransactionService
from minicanton.participant.ledger_api.users import UserManagementService
from minicanton.runtime.auth import LedgerApiAuthenticator
from minicanton.runtime.health import HealthState
from minicanton.runtime.transport import warn_if_exposed

DEFAULT_MAX_MESSAGE_BYTES = 64 << 20  # an UploadDarFile carries a whole archive

SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (active_contracts_service_pb2, "ActiveContractsService"),
        (command_completion_service_pb2, "CommandCompletionService"),
        (command_service_pb2, "CommandService"),
        (command_submission_service_pb2, "CommandSubmissionService"),
        (ledger_identity_service_pb2, "LedgerIdentityService"),
        (package_service_pb2, "PackageService"),
        (transaction_service_pb2, "TransactionService"),
        (version_service_pb2, "VersionService"),
        (package_management_service_pb2, "PackageManagementService"),
        (party_management_service_pb2, "PartyManagementService"),
        (user_management_service_pb2, "UserManagementService"),
    )
)


@dataclass(slots=True)
class LedgerApiServer:
    server: grpc.aio.Server
    port: int
    health: HealthState

    async def stop(self, grace_s: float | None = 1.0) -> None:
        await self.health.shutting_down()
        await self.server.stop(grace_s)


async def start_ledger_api_server(
    bind: str,
    backend: LedgerApiBackend,
    submitter: CommandSubmitter,
    authenticator: LedgerApiAuthenticator,
    *,
    health: HealthState | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
) -> LedgerApiServer:
    """Bind ``host:port`` (port 0: any free port), register every service, start serving."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", max_message_bytes),
                                      ("grpc.max_send_message_length", max_message_bytes)])
    _add_services(server, backend, submitter, authenticator, max_wait_s)
    own_health = health is None
    health = health or HealthState(SERVICE_NAMES)
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME),
        server,
    )
    warn_if_exposed(bind.rsplit(":", 1)[0], "the Ledger API")
    port = server.add_insecure_port(bind)
    if port == 0:
        raise OSError(f"the Ledger API could not bind {bind}")
    await server.start()
    if own_health:
        await health.set_ready(True)
    return LedgerApiServer(server, port, health)


def _add_services(server: grpc.aio.Server, backend: LedgerApiBackend,
                  submitter: CommandSubmitter, authenticator: LedgerApiAuthenticator,
                  max_wait_s: float) -> None:
    api = (backend, authenticator)
    active_contracts_service_pb2_grpc.add_ActiveContractsServiceServicer_to_server(
        ActiveContractsService(*api), server)
    command_completion_service_pb2_grpc.add_CommandCompletionServiceServicer_to_server(
        CommandCompletionService(*api), server)
    command_service_pb2_grpc.add_CommandServiceServicer_to_server(
        CommandService(*api, submitter, max_wait_s), server)
    command_submission_service_pb2_grpc.add_CommandSubmissionServiceServicer_to_server(
        CommandSubmissionService(*api, submitter, max_wait_s), server)
    ledger_identity_service_pb2_grpc.add_LedgerIdentityServiceServicer_to_server(
        LedgerIdentityService(*api), server)
    package_service_pb2_grpc.add_PackageServiceServicer_to_server(PackageService(*api), server)
    transaction_service_pb2_grpc.add_TransactionServiceServicer_to_server(
        TransactionService(*api), server)
    version_service_pb2_grpc.add_VersionServiceServicer_to_server(VersionService(*api), server)
    package_management_service_pb2_grpc.add_PackageManagementServiceServicer_to_server(
        PackageManagementService(*api), server)
    party_management_service_pb2_grpc.add_PartyManagementServiceServicer_to_server(
        PartyManagementService(*api), server)
    user_management_service_pb2_grpc.add_UserManagementServiceServicer_to_server(
        UserManagementService(*api), server)
