"""Administration over gRPC: users and rights (and user tokens that use them), parties,
packages (upload of both archive forms, list, get, status), version, identity, health and
reflection."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tests.integration.ledger_api.harness import (
    LEDGER_ID,
    PARTICIPANT_ID,
    SECRET,
    Harness,
    auth,
    rich_status,
)
from tests.unit.lf.engine_helpers import ALICE, BOB, DVP_SOURCE

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
from minicanton.codec.package_archive import build_package_archive
from minicanton.participant.ledger_api.server import SERVICE_NAMES
from minicanton.runtime.auth import mint_dev_user_token

COUNTER_SOURCE = '''
from minicanton.dsl import Int64, Party, Template

MODULE = "counter"


class Counter(Template):
    owner: Party
    value: Int64

    signatories = ("owner",)
'''
BROKEN_SOURCE = "from minicanton.dsl import Template\nimport os\n"


def act_as(party: str) -> user_pb2.Right:
    return user_pb2.Right(can_act_as=user_pb2.Right.CanActAs(party=party))


def read_as(party: str) -> user_pb2.Right:
    return user_pb2.Right(can_read_as=user_pb2.Right.CanReadAs(party=party))


async def test_users_and_rights(api: Harness) -> None:
    users = user_grpc.UserManagementServiceStub(api.channel)
    admin = auth(api.token(admin=True))
    created = await users.CreateUser(user_pb2.CreateUserRequest(
        user=user_pb2.User(id="alice-app", primary_party=ALICE), rights=[act_as(ALICE)]),
        metadata=admin)
    assert created.user.id == "alice-app"
    with pytest.raises(grpc.aio.AioRpcError) as exists:
        await users.CreateUser(user_pb2.CreateUserRequest(user=user_pb2.User(id="alice-app")),
                               metadata=admin)
    assert exists.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert rich_status(exists.value)[1].reason == "USER_ALREADY_EXISTS"
    granted = await users.GrantUserRights(user_pb2.GrantUserRightsRequest(
        user_id="alice-app", rights=[act_as(ALICE), read_as(BOB)]), metadata=admin)
    assert list(granted.newly_granted_rights) == [read_as(BOB)]
    listed = await users.ListUserRights(user_pb2.ListUserRightsRequest(user_id="alice-app"),
                                        metadata=admin)
    assert list(listed.rights) == [act_as(ALICE), read_as(BOB)]

    # The user's own token: rights come from user management, and it may read itself.
    own = auth(mint_dev_user_token(SECRET, "alice-app", PARTICIPANT_ID))
    me = await users.GetUser(user_pb2.GetUserRequest(), metadata=own)
    assert me.user.primary_party == ALICE
    ledger = tx_grpc.TransactionServiceStub(api.channel)
    as_bob = tx_pb2.GetTransactionByIdRequest(transaction_id="none", requesting_parties=[BOB])
    with pytest.raises(grpc.aio.AioRpcError) as readable:  # may read as Bob: just not found
        await ledger.GetFlatTransactionById(as_bob, metadata=own)
    assert readable.value.code() == grpc.StatusCode.NOT_FOUND
    revoked = await users.RevokeUserRights(user_pb2.RevokeUserRightsRequest(
        user_id="alice-app", rights=[read_as(BOB), read_as(ALICE)]), metadata=admin)
    assert list(revoked.newly_revoked_rights) == [read_as(BOB)]
    with pytest.raises(grpc.aio.AioRpcError) as unreadable:  # the same token, rights changed
        await ledger.GetFlatTransactionById(as_bob, metadata=own)
    assert unreadable.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as not_admin:
        await users.GetUser(user_pb2.GetUserRequest(user_id="bob-app"), metadata=own)
    assert not_admin.value.code() == grpc.StatusCode.PERMISSION_DENIED

    for index in range(3):
        await users.CreateUser(user_pb2.CreateUserRequest(
            user=user_pb2.User(id=f"u{index}")), metadata=admin)
    pages, token = [], ""
    while not pages or token:
        page = await users.ListUsers(user_pb2.ListUsersRequest(page_size=2, page_token=token),
                                     metadata=admin)
        pages.append([u.id for u in page.users])
        token = page.next_page_token
    assert pages == [["alice-app", "participant_admin"], ["u0", "u1"], ["u2"]]
    await users.DeleteUser(user_pb2.DeleteUserRequest(user_id="alice-app"), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await users.GetUser(user_pb2.GetUserRequest(user_id="alice-app"), metadata=admin)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as deleted_user:  # its token is now refused
        await users.GetUser(user_pb2.GetUserRequest(), metadata=own)
    assert deleted_user.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as bad_id:
        await users.CreateUser(user_pb2.CreateUserRequest(user=user_pb2.User(id="a b")),
                               metadata=admin)
    assert rich_status(bad_id.value)[1].reason == "INVALID_FIELD"


async def test_parties(api: Harness) -> None:
    parties = party_grpc.PartyManagementServiceStub(api.channel)
    admin = auth(api.token(admin=True))
    allocated = await parties.AllocateParty(party_pb2.AllocatePartyRequest(
        party_id_hint="carol", display_name="Carol"), metadata=admin)
    assert allocated.party_details.party.startswith("carol::")
    assert allocated.party_details.is_local
    generated = await parties.AllocateParty(party_pb2.AllocatePartyRequest(), metadata=admin)
    assert generated.party_details.party.startswith("party-")
    known = await parties.ListKnownParties(party_pb2.ListKnownPartiesRequest(), metadata=admin)
    assert [p.display_name for p in known.party_details] == ["Carol", ""]
    assert not known.next_page_token
    page = await parties.ListKnownParties(party_pb2.ListKnownPartiesRequest(page_size=1),
                                          metadata=admin)
    assert len(page.party_details) == 1 and page.next_page_token
    got = await parties.GetParties(party_pb2.GetPartiesRequest(
        parties=[allocated.party_details.party, "nobody::1220ab"]), metadata=admin)
    assert [p.display_name for p in got.party_details] == ["Carol"]
    participant = await parties.GetParticipantId(party_pb2.GetParticipantIdRequest(),
                                                 metadata=admin)
    assert participant.participant_id == PARTICIPANT_ID


async def test_packages_upload_list_get_status(api: Harness) -> None:
    management = management_grpc.PackageManagementServiceStub(api.channel)
    packages = package_grpc.PackageServiceStub(api.channel)
    admin = auth(api.token(admin=True))
    reader = auth(api.token(read_as=[ALICE]))
    dvp_id = hashlib.sha256(DVP_SOURCE.encode()).hexdigest()
    counter_id = hashlib.sha256(COUNTER_SOURCE.encode()).hexdigest()
    await management.UploadDarFile(management_pb2.UploadDarFileRequest(
        dar_file=COUNTER_SOURCE.encode(), submission_id="up-1"), metadata=admin)
    listed = await packages.ListPackages(package_pb2.ListPackagesRequest(), metadata=reader)
    assert sorted(listed.package_ids) == sorted([dvp_id, counter_id])
    got = await packages.GetPackage(package_pb2.GetPackageRequest(package_id=counter_id),
                                    metadata=reader)
    assert got.archive_payload == COUNTER_SOURCE.encode() and got.hash == counter_id
    assert got.hash_function == package_pb2.SHA256
    status = await packages.GetPackageStatus(package_pb2.GetPackageStatusRequest(
        package_id=counter_id), metadata=reader)
    assert status.package_status == package_pb2.REGISTERED
    unknown = await packages.GetPackageStatus(package_pb2.GetPackageStatusRequest(
        package_id="0" * 64), metadata=reader)
    assert unknown.package_status == package_pb2.UNKNOWN
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await packages.GetPackage(package_pb2.GetPackageRequest(package_id="0" * 64),
                                  metadata=reader)
    assert rich_status(missing.value)[1].reason == "PACKAGE_NOT_FOUND"

    renamed = COUNTER_SOURCE.replace('"counter"', '"counter2"')
    zipped = build_package_archive([("counter2.py", renamed.encode())], name="counters")
    await management.UploadDarFile(management_pb2.UploadDarFileRequest(dar_file=zipped),
                                   metadata=admin)
    known = await management.ListKnownPackages(management_pb2.ListKnownPackagesRequest(),
                                               metadata=admin)
    details = {d.package_id: d for d in known.package_details}
    renamed_id = hashlib.sha256(renamed.encode()).hexdigest()
    assert details[renamed_id].source_description == "counter2.py"
    assert details[counter_id].package_size == len(COUNTER_SOURCE.encode())
    assert api.registry.registry is not None and api.registry.registry.package(renamed_id)

    for bad, error_id in ((BROKEN_SOURCE.encode(), "PACKAGE_LOAD_FAILED"),
                          (b"PK\x03\x04garbage", "INVALID_DAR"),
                          (b"", "INVALID_DAR")):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await management.UploadDarFile(management_pb2.UploadDarFileRequest(dar_file=bad),
                                           metadata=admin)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rich_status(refused.value)[1].reason == error_id


async def test_version_identity_health_and_reflection(api: Harness) -> None:
    token = auth(api.token(read_as=[ALICE]))
    version = await version_grpc.VersionServiceStub(api.channel).GetLedgerApiVersion(
        version_pb2.GetLedgerApiVersionRequest(), metadata=token)
    assert version.version and version.features.user_management.supported
    identity = await identity_grpc.LedgerIdentityServiceStub(api.channel).GetLedgerIdentity(
        identity_pb2.GetLedgerIdentityRequest(), metadata=token)
    assert identity.ledger_id == LEDGER_ID
    with pytest.raises(grpc.aio.AioRpcError) as other_ledger:
        await version_grpc.VersionServiceStub(api.channel).GetLedgerApiVersion(
            version_pb2.GetLedgerApiVersionRequest(ledger_id="elsewhere"), metadata=token)
    assert other_ledger.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_status(other_ledger.value)[1].reason == "LEDGER_ID_MISMATCH"

    health = health_pb2_grpc.HealthStub(api.channel)  # no token needed
    checked = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert checked.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(api.channel)
    call = reflection.ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    answer = await call.read()
    await call.done_writing()
    names = {s.name for s in answer.list_services_response.service}
    assert set(SERVICE_NAMES) <= names and "grpc.health.v1.Health" in names
