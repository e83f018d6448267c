"""The auth attack matrix on every Ledger API RPC, against a participant configured for RS256.

Every RPC refuses, with UNAUTHENTICATED: no token, ``alg: none``, an HS256 token signed with
the RS256 public key (key confusion), an expired token, a token for another participant
(custom claims or the audience of a user token), a tampered token. With a valid token that
lacks the right, PERMISSION_DENIED: reading as a party the token neither reads nor acts as,
acting as a party it only reads as, another application id, a non-admin on admin services.
A valid token with the rights passes every gate (the positive control).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.integration.ledger_api.harness import (
    PARTICIPANT_ID,
    SECRET,
    Harness,
    auth,
    ledger_api,
)
from tests.integration.ledger_api.test_commands import commands
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB, SR

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2 as acs_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2_grpc as acs_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2 as completion_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2_grpc as completion_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2 as command_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2_grpc as command_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_submission_service_pb2 as submission_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_submission_service_pb2_grpc as submission_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    ledger_identity_service_pb2 as identity_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    ledger_identity_service_pb2_grpc as identity_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import package_service_pb2 as package_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    package_service_pb2_grpc as package_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_filter_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2 as tx_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import version_service_pb2 as version_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    version_service_pb2_grpc as version_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2 as management_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2_grpc as management_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2 as party_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2_grpc as party_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2 as user_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2_grpc as user_grpc,
)
from minicanton.participant.ledger_api import server
from minicanton.participant.ledger_api.server import SERVICE_NAMES
from minicanton.runtime.auth import DAML_CLAIMS, PARTICIPANT_AUDIENCE_PREFIX, mint_dev_token
from minicanton.runtime.auth_keys import PublicKeyKeys
from minicanton.store.postgres.participant_admin_store import UserRight, UserRow

U = grpc.StatusCode.UNAUTHENTICATED
P = grpc.StatusCode.PERMISSION_DENIED
GATE_CODES = (U, P)


@dataclass(frozen=True)
class Rpc:
    """One RPC: how to call it, and which right it needs (public, read, act, admin)."""

    service: str
    name: str
    stub: Callable[[grpc.aio.Channel], Any]
    request: Callable[[], Any]
    needs: str
    streaming: bool = False


def _flt(party: str) -> transaction_filter_pb2.TransactionFilter:
    out = transaction_filter_pb2.TransactionFilter()
    out.filters_by_party[party].SetInParent()
    return out


def _submit_and_wait() -> command_pb2.SubmitAndWaitRequest:
    return command_pb2.SubmitAndWaitRequest(commands=commands("auth-cmd"))


_TX, _CMD = tx_grpc.TransactionServiceStub, command_grpc.CommandServiceStub
_USERS, _PARTIES = user_grpc.UserManagementServiceStub, party_grpc.PartyManagementServiceStub
_PACKAGES = package_grpc.PackageServiceStub
_MANAGEMENT = management_grpc.PackageManagementServiceStub
RPCS = [
    Rpc("ActiveContractsService", "GetActiveContracts", acs_grpc.ActiveContractsServiceStub,
        lambda: acs_pb2.GetActiveContractsRequest(filter=_flt(ALICE)), "read", True),
    Rpc("TransactionService", "GetTransactions", _TX,
        lambda: tx_pb2.GetTransactionsRequest(begin={"boundary": 0}, filter=_flt(ALICE)),
        "read", True),
    Rpc("TransactionService", "GetTransactionTrees", _TX,
        lambda: tx_pb2.GetTransactionsRequest(begin={"boundary": 0}, filter=_flt(ALICE)),
        "read", True),
    Rpc("TransactionService", "GetLedgerEnd", _TX, tx_pb2.GetLedgerEndRequest, "public"),
    Rpc("TransactionService", "GetTransactionById", _TX,
        lambda: tx_pb2.GetTransactionByIdRequest(transaction_id="t", requesting_parties=[ALICE]),
        "read"),
    Rpc("TransactionService", "GetFlatTransactionById", _TX,
        lambda: tx_pb2.GetTransactionByIdRequest(transaction_id="t", requesting_parties=[ALICE]),
        "read"),
    Rpc("CommandCompletionService", "CompletionStream",
        completion_grpc.CommandCompletionServiceStub,
        lambda: completion_pb2.CompletionStreamRequest(application_id="app", parties=[ALICE]),
        "read", True),
    Rpc("CommandCompletionService", "CompletionEnd",
        completion_grpc.CommandCompletionServiceStub, completion_pb2.CompletionEndRequest,
        "public"),
    Rpc("CommandSubmissionService", "Submit", submission_grpc.CommandSubmissionServiceStub,
        lambda: submission_pb2.SubmitRequest(commands=commands("auth-cmd")), "act"),
    Rpc("CommandService", "SubmitAndWait", _CMD, _submit_and_wait, "act"),
    Rpc("CommandService", "SubmitAndWaitForTransactionId", _CMD, _submit_and_wait, "act"),
    Rpc("CommandService", "SubmitAndWaitForTransaction", _CMD, _submit_and_wait, "act"),
    Rpc("CommandService", "SubmitAndWaitForTransactionTree", _CMD, _submit_and_wait, "act"),
    Rpc("PackageService", "ListPackages", _PACKAGES, package_pb2.ListPackagesRequest, "public"),
    Rpc("PackageService", "GetPackage", _PACKAGES,
        lambda: package_pb2.GetPackageRequest(package_id="0" * 64), "public"),
    Rpc("PackageService", "GetPackageStatus", _PACKAGES,
        lambda: package_pb2.GetPackageStatusRequest(package_id="0" * 64), "public"),
    Rpc("PackageManagementService", "ListKnownPackages", _MANAGEMENT,
        management_pb2.ListKnownPackagesRequest, "admin"),
    Rpc("PackageManagementService", "UploadDarFile", _MANAGEMENT,
        lambda: management_pb2.UploadDarFileRequest(dar_file=b"MODULE = 'x'\n"), "admin"),
    Rpc("PartyManagementService", "GetParticipantId", _PARTIES,
        party_pb2.GetParticipantIdRequest, "admin"),
    Rpc("PartyManagementService", "GetParties", _PARTIES,
        lambda: party_pb2.GetPartiesRequest(parties=[ALICE]), "admin"),
    Rpc("PartyManagementService", "ListKnownParties", _PARTIES,
        party_pb2.ListKnownPartiesRequest, "admin"),
    Rpc("PartyManagementService", "AllocateParty", _PARTIES,
        lambda: party_pb2.AllocatePartyRequest(party_id_hint="mallory"), "admin"),
    Rpc("UserManagementService", "CreateUser", _USERS,
        lambda: user_pb2.CreateUserRequest(user=user_pb2.User(id="new-user")), "admin"),
    Rpc("UserManagementService", "GetUser", _USERS,
        lambda: user_pb2.GetUserRequest(user_id="someone"), "admin"),
    Rpc("UserManagementService", "DeleteUser", _USERS,
        lambda: user_pb2.DeleteUserRequest(user_id="someone"), "admin"),
    Rpc("UserManagementService", "ListUsers", _USERS, user_pb2.ListUsersRequest, "admin"),
    Rpc("UserManagementService", "GrantUserRights", _USERS,
        lambda: user_pb2.GrantUserRightsRequest(user_id="someone", rights=[user_pb2.Right(
            participant_admin=user_pb2.Right.ParticipantAdmin())]), "admin"),
    Rpc("UserManagementService", "RevokeUserRights", _USERS,
        lambda: user_pb2.RevokeUserRightsRequest(user_id="someone", rights=[user_pb2.Right(
            participant_admin=user_pb2.Right.ParticipantAdmin())]), "admin"),
    Rpc("UserManagementService", "ListUserRights", _USERS,
        lambda: user_pb2.ListUserRightsRequest(user_id="someone"), "admin"),
    Rpc("VersionService", "GetLedgerApiVersion", version_grpc.VersionServiceStub,
        version_pb2.GetLedgerApiVersionRequest, "public"),
    Rpc("LedgerIdentityService", "GetLedgerIdentity", identity_grpc.LedgerIdentityServiceStub,
        identity_pb2.GetLedgerIdentityRequest, "public"),
]


def test_the_matrix_covers_every_rpc_of_every_service() -> None:
    covered = {(r.service, r.name) for r in RPCS}
    expected = set()
    for module_name in dir(server):
        module = getattr(server, module_name)
        descriptor = getattr(module, "DESCRIPTOR", None)
        for service in getattr(descriptor, "services_by_name", {}).values():
            if service.full_name in SERVICE_NAMES:
                expected |= {(service.name, m.name) for m in service.methods}
    assert covered == expected


# -- tokens ------------------------------------------------------------------------------------

@dataclass
class Tokens:
    key: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def rs256(self, payload: dict[str, Any], expires_in_s: int = 600) -> str:
        now = int(time.time())
        return jwt.encode({"iat": now, "exp": now + expires_in_s, **payload}, self.key,
                          algorithm="RS256")

    def claims(self, act_as: list[str] = (), read_as: list[str] = (),  # type: ignore[assignment]
               admin: bool = False, application_id: str = "app",
               participant_id: str = PARTICIPANT_ID, expires_in_s: int = 600) -> str:
        return self.rs256({DAML_CLAIMS: {
            "actAs": list(act_as), "readAs": list(read_as), "admin": admin,
            "applicationId": application_id, "participantId": participant_id}}, expires_in_s)

    def full(self) -> str:
        return self.claims([ALICE, BANK], [BOB, SR], admin=True)

    def alg_none(self) -> str:
        header = _b64({"alg": "none", "typ": "JWT"})
        payload = _b64({DAML_CLAIMS: {"actAs": [ALICE, BANK], "admin": True}})
        return f"{header}.{payload}."

    def key_confusion(self) -> str:
        """HS256 signed with the server's RS256 public key as the HMAC secret."""
        signing_input = (f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}."
                         f"{_b64({DAML_CLAIMS: {'actAs': [ALICE, BANK], 'admin': True}})}")
        mac = hmac.new(self.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_raw_b64(mac)}"

    def tampered(self) -> str:
        header, _, signature = self.full().split(".")
        forged = _b64({DAML_CLAIMS: {"actAs": [ALICE, BANK, BOB, SR], "admin": True}})
        return f"{header}.{forged}.{signature}"

    def unauthenticated(self) -> dict[str, str | None]:
        other_participant = self.rs256({
            "sub": "alice-user", "aud": f"{PARTICIPANT_AUDIENCE_PREFIX}PAR::other::1220ff"})
        return {
            "no token": None,
            "alg none": self.alg_none(),
            "key confusion": self.key_confusion(),
            "expired": self.claims([ALICE, BANK], admin=True, expires_in_s=-3600),
            "other participant": self.claims([ALICE, BANK], admin=True,
                                             participant_id="PAR::other::1220ff"),
            "user token for another participant": other_participant,
            "tampered": self.tampered(),
            "garbage": "not.a.jwt",
        }


def _raw_b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64(obj: dict[str, Any]) -> str:
    return _raw_b64(json.dumps(obj).encode())


# -- calling -------------------------------------------------------------------------------------

async def call(channel: grpc.aio.Channel, rpc: Rpc, token: str | None) -> grpc.StatusCode:
    """The status the RPC ends with (OK when it answers or a stream keeps running)."""
    method = getattr(rpc.stub(channel), rpc.name)
    metadata = auth(token) if token is not None else ()
    try:
        if rpc.streaming:
            stream = method(rpc.request(), metadata=metadata)
            with contextlib.suppress(TimeoutError):  # a live stream waiting: past every gate
                await asyncio.wait_for(stream.read(), 0.5)
            stream.cancel()
        else:
            await method(rpc.request(), metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.fixture
async def rs256_api(fresh_database: str) -> AsyncIterator[tuple[Harness, Tokens]]:
    tokens = Tokens(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    keys = PublicKeyKeys.from_pem(tokens.public_pem, "RS256")
    async with ledger_api(fresh_database, keys) as harness:
        await harness.admin.create_user(UserRow("alice-user", ALICE, False, 0),
                                        [UserRight("can_act_as", ALICE)])
        yield harness, tokens


async def test_every_rpc_refuses_untrustworthy_tokens(rs256_api: tuple[Harness, Tokens]
                                                      ) -> None:
    api, tokens = rs256_api
    failures = []
    for attack, token in tokens.unauthenticated().items():
        for rpc in RPCS:
            code = await call(api.channel, rpc, token)
            if code != U:
                failures.append(f"{rpc.service}.{rpc.name} with {attack}: {code.name}")
    assert failures == []
    assert api.submitter.requests == []


async def test_every_rpc_denies_what_the_token_does_not_carry(
    rs256_api: tuple[Harness, Tokens],
) -> None:
    api, tokens = rs256_api
    wrong_party = tokens.claims([BOB], [SR], admin=True)  # admin gives no party rights
    read_only = tokens.claims([], [ALICE, BANK], admin=True)
    other_app = tokens.claims([ALICE, BANK], admin=True, application_id="other-app")
    not_admin = tokens.claims([ALICE, BANK], [BOB, SR])
    attacks = {"read": [("reads as another party", wrong_party)],
               "act": [("acts as another party", wrong_party),
                       ("acts as a party it only reads as", read_only),
                       ("another application id", other_app)],
               "admin": [("non-admin", not_admin)],
               "public": []}
    failures = []
    for rpc in RPCS:
        for attack, token in attacks[rpc.needs]:
            code = await call(api.channel, rpc, token)
            if code != P:
                failures.append(f"{rpc.service}.{rpc.name} {attack}: {code.name}")
    assert failures == []
    assert api.submitter.requests == []


async def test_a_token_with_the_rights_passes_every_gate(rs256_api: tuple[Harness, Tokens]
                                                         ) -> None:
    api, tokens = rs256_api
    user_token = tokens.rs256({"sub": "alice-user", "aud": f"{PARTICIPANT_AUDIENCE_PREFIX}"
                                                           f"{PARTICIPANT_ID}"})
    assert await call(api.channel, RPCS[0], user_token) == grpc.StatusCode.OK
    results = {f"{rpc.service}.{rpc.name}": await call(api.channel, rpc, tokens.full())
               for rpc in RPCS}
    assert {name: code.name for name, code in results.items() if code in GATE_CODES} == {}


async def test_a_stream_ends_when_its_token_expires(api: Harness) -> None:
    """Streams outlive tokens: a live stream is cut with UNAUTHENTICATED at expiry."""


    token = mint_dev_token(SECRET, [], [ALICE], participant_id=PARTICIPANT_ID,
                           expires_in_s=1)
    api.backend.poll_interval_s = 0.2
    stream = tx_grpc.TransactionServiceStub(api.channel).GetTransactions(
        tx_pb2.GetTransactionsRequest(begin={"boundary": 1}, filter=_flt(ALICE)),
        metadata=auth(token))
    with pytest.raises(grpc.aio.AioRpcError) as expired:
        await asyncio.wait_for(stream.read(), 5)
    assert expired.value.code() == U
    assert "ACCESS_TOKEN_EXPIRED" in (expired.value.details() or "")
