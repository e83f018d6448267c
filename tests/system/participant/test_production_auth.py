"""Production Ledger API auth on a real participant process, with user tokens only.

The participant first verifies ES256 tokens against a JWKS served over HTTP (which also holds
an RSA key), then is restarted to verify RS256 tokens against an X.509 certificate file. Its
default `participant_admin` user (and the configured additional admin user) bootstraps the
first user, whose token then submits through the domain; forged, misdirected and expired
tokens are refused, each next to a twin that is accepted, so a refusal is for the reason
named and not for an unrelated one.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError
from tests.integration.ledger_api.harness import rich_status
from tests.local_http import local_http_server
from tests.system.participant.harness import (
    Domain,
    LedgerClient,
    NodeProcess,
    create,
    created,
    exercise,
)
from tests.unit.runtime.token_forgery import certificate_pem, handmade_token, jwk_of, public_pem

from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2 as command_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2 as package_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2 as party_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2 as user_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2_grpc as user_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.participant.config import ParticipantConfig
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
DVP = (Path(__file__).parents[3] / "examples" / "dvp.py").read_bytes()
CLAIMS = "https://daml.com/ledger-api"
AUD_PREFIX = "https://daml.com/jwt/aud/participant/"
OTHER_PARTICIPANT = "PAR::other::1220" + "ab" * 32
EXTRA_ADMIN = "ops-admin"
ADMIN_RIGHT = user_pb.Right(participant_admin=user_pb.Right.ParticipantAdmin())


@dataclass
class Idp:
    """The identity provider's keys: the EC key is in the JWKS as `ec1`, the RSA key both in
    the JWKS (`rsa1`) and in the certificate file."""

    ec_key: ec.EllipticCurvePrivateKey
    rsa_key: rsa.RSAPrivateKey
    jwks: dict[str, Any]
    jwks_url: str
    certificate: Path

    def es256(self, payload: dict[str, Any], kid: str = "ec1") -> str:
        return jwt.encode(payload, self.ec_key, algorithm="ES256", headers={"kid": kid})

    def rs256(self, payload: dict[str, Any], kid: str | None = None) -> str:
        headers = {"kid": kid} if kid else None
        return jwt.encode(payload, self.rsa_key, algorithm="RS256", headers=headers)


@dataclass
class Setup:
    domain: Domain
    node: NodeProcess
    client: LedgerClient
    users: user_grpc.UserManagementServiceStub
    idp: Idp

    @property
    def participant_id(self) -> str:
        return str(self.node.ready["participant_id"])


def expiring(payload: dict[str, Any], in_s: int = 600) -> dict[str, Any]:
    return {**payload, "exp": int(time.time()) + in_s}


def user_token_payload(user_id: str) -> dict[str, Any]:
    """Daml's scope-based user token: its rights come from user management."""
    return expiring({"sub": user_id, "scope": "daml_ledger_api"})


def audience_token_payload(user_id: str, participant_id: str) -> dict[str, Any]:
    return expiring({"sub": user_id, "aud": AUD_PREFIX + participant_id})


def admin_claims_payload(**extra: Any) -> dict[str, Any]:
    return expiring({CLAIMS: {"actAs": [], "readAs": [], "admin": True, **extra}})


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """A static HTTP server on 127.0.0.1 for `directory`; its base URL."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *_: object) -> None:
            pass

    with local_http_server(Handler) as address:
        yield f"http://{address}"


@pytest_asyncio.fixture(scope="module")
async def setup(postgres_cluster: EmbeddedPostgres,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Setup]:
    workdir = Path(tmp_path_factory.mktemp("production-auth"))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [jwk_of(ec_key, "ec1"), jwk_of(rsa_key, "rsa1")]}
    (workdir / "idp").mkdir()
    (workdir / "idp" / "jwks.json").write_text(json.dumps(jwks))
    certificate = workdir / "idp" / "idp-cert.pem"
    certificate.write_bytes(certificate_pem(rsa_key))
    domain = Domain(postgres_cluster, workdir, sequencer_instances=1)
    client: LedgerClient | None = None
    with served(workdir / "idp") as base_url:
        idp = Idp(ec_key, rsa_key, jwks, f"{base_url}/jwks.json", certificate)
        try:
            await domain.start()
            config = domain.participant_config("idp")
            config["auth"] = {"jwks_url": idp.jwks_url, "algorithm": "ES256"}
            config["additional_admin_user_id"] = EXTRA_ADMIN
            node = NodeProcess("idp", "minicanton.participant", workdir, config)
            domain.participants["idp"] = node
            domain.nodes.append(node)
            node.spawn()
            await node.wait_ready()
            client = LedgerClient(node)
            yield Setup(domain, node, client, user_grpc.UserManagementServiceStub(
                client.channel), idp)
        finally:
            if client is not None:
                await client.close()
            await domain.stop()


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return LedgerClient.auth(token)


async def participant_id_with(setup: Setup, token: str) -> str:
    response = await setup.client.parties.GetParticipantId(
        party_pb.GetParticipantIdRequest(), metadata=auth(token), timeout=10,
        wait_for_ready=True)
    return str(response.participant_id)


async def refusals(setup: Setup, cases: list[tuple[str, str, str]]) -> dict[str, str]:
    """Each case (name, token, expected fragment of the refusal) against GetParticipantId:
    by name, "" when refused UNAUTHENTICATED with the fragment, else what happened (all
    cases run, so a failure shows every token that got through)."""
    outcomes = {}
    for name, token, fragment in cases:
        try:
            outcomes[name] = f"accepted: {await participant_id_with(setup, token)}"
        except grpc.aio.AioRpcError as error:
            details = error.details() or ""
            refused = error.code() == grpc.StatusCode.UNAUTHENTICATED and fragment in details
            outcomes[name] = "" if refused else f"{error.code().name}: {details}"
    return outcomes


async def rights_of(setup: Setup, user_id: str, token: str) -> list[user_pb.Right]:
    response = await setup.users.ListUserRights(
        user_pb.ListUserRightsRequest(user_id=user_id), metadata=auth(token), timeout=10)
    return list(response.rights)


# ------------------------------------------------------------------------------ bootstrap


async def test_participant_admin_bootstraps_a_user_whose_token_submits(setup: Setup) -> None:
    """No token with Daml's custom claims anywhere: the default admin user creates the party
    and the user, and the user's ES256 token (verified through the JWKS) submits."""
    idp, client = setup.idp, setup.client
    admin = auth(idp.es256(user_token_payload("participant_admin")))
    assert await rights_of(setup, "participant_admin", idp.es256(
        user_token_payload("participant_admin"))) == [ADMIN_RIGHT]
    await client.packages.UploadDarFile(package_pb.UploadDarFileRequest(dar_file=DVP),
                                        metadata=admin, timeout=30)
    allocated = await client.parties.AllocateParty(party_pb.AllocatePartyRequest(
        party_id_hint="Alice", display_name="Alice"), metadata=admin, timeout=30)
    alice = str(allocated.party_details.party)
    alice_app = idp.es256(audience_token_payload("alice-app", setup.participant_id))
    with pytest.raises(grpc.aio.AioRpcError) as unknown:  # a user token, no such user yet
        await participant_id_with(setup, alice_app)
    assert unknown.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await setup.users.CreateUser(user_pb.CreateUserRequest(
        user=user_pb.User(id="alice-app", primary_party=alice)), metadata=admin, timeout=10)
    granted = await setup.users.GrantUserRights(user_pb.GrantUserRightsRequest(
        user_id="alice-app", rights=[user_pb.Right(can_act_as=user_pb.Right.CanActAs(
            party=alice))]), metadata=admin, timeout=10)
    assert len(granted.newly_granted_rights) == 1

    iou = create("Iou", issuer=Value(party=alice), owner=Value(party=alice),
                 amount=Value(numeric="5.0"), currency=Value(text="USD"))
    transaction = await submit(setup, alice_app, alice, "boot-1", iou)
    contract_id = created(transaction, "Iou")
    moved = await submit(setup, alice_app, alice, "boot-2", exercise(
        "Iou", contract_id, "Transfer", recipient=Value(party=alice)))
    assert created(moved, "Iou") != contract_id
    with pytest.raises(grpc.aio.AioRpcError) as archived:  # through the real submission path
        await submit(setup, alice_app, alice, "boot-3", exercise(
            "Iou", contract_id, "Transfer", recipient=Value(party=alice)))
    assert archived.value.code() == grpc.StatusCode.NOT_FOUND
    info = rich_status(archived.value)[1]
    assert info.reason == "CONTRACT_NOT_FOUND" and info.metadata["contract_id"] == contract_id


async def submit(setup: Setup, token: str, party: str, command_id: str,
                 command: commands_pb2.Command) -> Any:
    request = command_pb.SubmitAndWaitRequest(commands=commands_pb2.Commands(
        ledger_id="minicanton", application_id="alice-app", command_id=command_id,
        act_as=[party], commands=[command]))
    response = await setup.client.commands.SubmitAndWaitForTransaction(
        request, metadata=auth(token), timeout=60)
    return response.transaction


# ------------------------------------------------------------------------------ refusals


async def test_es256_jwks_refuses_forged_misdirected_and_expired_tokens(setup: Setup) -> None:
    idp = setup.idp
    ours = setup.participant_id
    assert await participant_id_with(setup, idp.es256(admin_claims_payload())) == ours
    assert await participant_id_with(setup, idp.es256(
        admin_claims_payload(participantId=ours))) == ours
    assert await participant_id_with(setup, idp.es256(
        audience_token_payload("participant_admin", ours))) == ours
    claims = admin_claims_payload()
    jwk_json, jwks_json = (json.dumps(d).encode() for d in (idp.jwks["keys"][0], idp.jwks))
    not_accepted = "algorithm '{}' is not accepted"
    cases = [
        ("alg none", handmade_token({"alg": "none", "kid": "ec1"}, claims, None),
         not_accepted.format("none")),
        *((f"HS256 keyed with the {what}",
           handmade_token({"alg": "HS256", "kid": "ec1"}, claims, secret),
           not_accepted.format("HS256"))
          for what, secret in (("EC public key PEM", public_pem(idp.ec_key)),
                               ("JWK", jwk_json), ("JWKS document", jwks_json))),
        ("RS256 by a key the JWKS holds", idp.rs256(claims, kid="rsa1"),
         not_accepted.format("RS256")),
        ("ES256 by another key, same kid", jwt.encode(
            claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
            headers={"kid": "ec1"}), "does not verify"),
        ("expired", idp.es256(expiring(claims, in_s=-3600)), "expired"),
        ("another participantId", idp.es256(
            admin_claims_payload(participantId=OTHER_PARTICIPANT)), "not this one"),
        ("another participant's audience", idp.es256(
            audience_token_payload("participant_admin", OTHER_PARTICIPANT)), "not this one"),
    ]
    assert await refusals(setup, cases) == {name: "" for name, _, _ in cases}


async def test_restarted_with_a_certificate_rs256_only_and_admin_users_kept(setup: Setup
                                                                           ) -> None:
    """The additional admin user's right, revoked by an operator, is not granted again by
    the restart; the same participant then takes RS256 tokens checked by the certificate."""
    idp, node = setup.idp, setup.node
    es_admin = idp.es256(user_token_payload("participant_admin"))
    assert await rights_of(setup, EXTRA_ADMIN, es_admin) == [ADMIN_RIGHT]
    revoked = await setup.users.RevokeUserRights(user_pb.RevokeUserRightsRequest(
        user_id=EXTRA_ADMIN, rights=[ADMIN_RIGHT]), metadata=auth(es_admin), timeout=10)
    assert list(revoked.newly_revoked_rights) == [ADMIN_RIGHT]

    assert node.terminate() == 0
    node.config["auth"] = {"public_key_file": str(idp.certificate), "algorithm": "RS256"}
    node.spawn()
    await node.wait_ready()
    rs_admin = idp.rs256(user_token_payload("participant_admin"))
    assert await rights_of(setup, "participant_admin", rs_admin) == [ADMIN_RIGHT]
    assert await rights_of(setup, EXTRA_ADMIN, rs_admin) == []

    ours = setup.participant_id
    assert await participant_id_with(setup, idp.rs256(admin_claims_payload())) == ours
    assert await participant_id_with(setup, idp.rs256(
        audience_token_payload("participant_admin", ours))) == ours
    claims = admin_claims_payload()
    not_accepted = "algorithm '{}' is not accepted"
    cases = [
        ("alg none", handmade_token({"alg": "none", "typ": "JWT"}, claims, None),
         not_accepted.format("none")),
        ("HS256 keyed with the RSA public key PEM",
         handmade_token({"alg": "HS256", "typ": "JWT"}, claims, public_pem(idp.rsa_key)),
         not_accepted.format("HS256")),
        ("HS256 keyed with the certificate",
         handmade_token({"alg": "HS256", "typ": "JWT"}, claims, idp.certificate.read_bytes()),
         not_accepted.format("HS256")),
        ("ES256 by the JWKS's EC key", idp.es256(claims), not_accepted.format("ES256")),
        ("PS256 by the certificate's key", jwt.encode(claims, idp.rsa_key, algorithm="PS256"),
         not_accepted.format("PS256")),
        ("expired", idp.rs256(expiring(claims, in_s=-3600)), "expired"),
        ("another participantId", idp.rs256(
            admin_claims_payload(participantId=OTHER_PARTICIPANT)), "not this one"),
        ("another participant's audience", idp.rs256(
            audience_token_payload("participant_admin", OTHER_PARTICIPANT)), "not this one"),
    ]
    assert await refusals(setup, cases) == {name: "" for name, _, _ in cases}


def test_an_invalid_additional_admin_user_id_is_a_config_error(tmp_path: Path) -> None:
    valid = {"name": "idp", "database_dsn": "postgresql://127.0.0.1/idp",
             "key_file": str(tmp_path / "keys.json"), "sequencers": ["127.0.0.1:1"],
             "topology_manager": "127.0.0.1:2",
             "auth": {"hs256_secret": "a-development-secret-of-32-bytes!!"}}
    assert ParticipantConfig.model_validate(
        {**valid, "additional_admin_user_id": "ops-admin"}).additional_admin_user_id == "ops-admin"
    with pytest.raises(ValidationError, match="not a valid Ledger API user id"):
        ParticipantConfig.model_validate({**valid, "additional_admin_user_id": "ops admin"})
