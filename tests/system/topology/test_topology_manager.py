"""The topology manager end to end: real sequencer and manager processes, members played by
test code through runtime/topology_client.py and the sequencer client. The tests run in
order on one domain (module fixture `network`), each building on the previous one."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import asyncpg
import pytest
from prometheus_client import REGISTRY
from tests.integration.sequencer.harness import DOMAIN_ID, SEQUENCER_KEY
from tests.system.topology.conftest import Network
from tests.system.topology.harness import ADMIN_TOKEN, PlayedMember

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.core.crypto.signing import Signature, SigningKeyPair
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import MemberId, MemberKind, ParticipantId, party_id
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
)
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.core.topology.errors import MemberKeyNotValid
from minicanton.core.topology.mappings import (
    HostingParticipant,
    ParticipantPermission,
    PartyToParticipant,
    TrustLevel,
)
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.core.topology.transactions import (
    SignedTopologyTransaction,
    TopologyBroadcast,
    TopologyChangeOp,
    TopologyTransaction,
)
from minicanton.runtime.sequencer_client import (
    SendRejected,
    SequencerClient,
    SequencerClientConfig,
)

pytestmark = pytest.mark.system
SUBMISSION = ParticipantPermission.SUBMISSION
_members: dict[str, PlayedMember] = {}


def everyone(network: Network) -> list[PlayedMember]:
    return [network.mediator, *_members.values()]


async def all_processed(network: Network, ts_us: int) -> None:
    await asyncio.gather(*(m.wait_processed(ts_us) for m in everyone(network)))


def alice(member: PlayedMember) -> str:
    return party_id("alice", member.id.split("::")[-1])


async def test_onboarding_waits_for_approval_and_late_joiners_get_the_earlier_topology(
    network: Network,
) -> None:
    p1 = _members["p1"] = network.participant("p1", 21)
    key_mapping = initial_key_mapping(p1.id, [p1.key], [p1.encryption.public])
    async with p1.admin(network.manager.endpoint) as client:
        answer = await client.request_onboarding(key_mapping)
        assert answer.status == pb.ONBOARDING_STATUS_PENDING
        assert (await client.onboarding_status(p1.id)).status == pb.ONBOARDING_STATUS_PENDING
    async with network.manager.admin() as admin:
        pending = await admin.call("ListOnboardingRequests",
                                   pb.ListOnboardingRequestsRequest(pending_only=True))
        assert [r.participant for r in pending.requests] == [p1.id]
        listed = await admin.call("ListParticipants", pb.ListRequest())
        assert not listed.participants  # nothing in the topology before approval
        change = await admin.approve(p1.id)
    assert change.effective_us - change.sequenced_us == 250_000  # the genesis delay
    async with p1.admin(network.manager.endpoint) as client:
        status = await client.onboarding_status(p1.id)
    assert status.status == pb.ONBOARDING_STATUS_ADMITTED
    assert status.effective_us == change.effective_us
    await network.start_member(p1)
    _members["p2"] = network.participant("p2", 22)
    effective_us = await network.onboard(_members["p2"])
    await all_processed(network, effective_us)
    for member in everyone(network):
        state = member.topology.client.state  # type: ignore[union-attr]
        assert set(state.snapshot(effective_us).participants()) == {
            _members["p1"].id, _members["p2"].id}, member.name
        assert _members["p2"].id not in state.snapshot(effective_us - 1).participants()
        assert state.head().mediators() == {network.mediator.id}
        assert [s.split("::")[1] for s in state.head().sequencers()] == ["seq0"]
    async with network.manager.admin() as admin:
        fetched, _ = await admin.fetch_state(0)
    # the late joiners got the genesis from the manager, the rest from the sequencer
    for member in everyone(network):
        accepted = member.topology.client.state.transactions()  # type: ignore[union-attr]
        assert [s.hash for s in accepted] == [s.hash for s, _ in fetched]


async def test_a_party_allocated_by_its_participant_is_seen_by_all_at_one_effective_time(
    network: Network,
) -> None:
    p1 = _members["p1"]
    async with p1.admin(network.manager.endpoint) as client:
        change = await client.allocate_party(alice(p1), [(p1.id, SUBMISSION)])
    effective_us, sequenced_us = change.effective_us, change.sequenced_us
    assert effective_us == sequenced_us + 250_000
    await all_processed(network, effective_us)
    for member in everyone(network):
        state = member.topology.client.state  # type: ignore[union-attr]
        stored = state.history(PartyToParticipant(alice(p1), (
            HostingParticipant(ParticipantId(p1.id), SUBMISSION),)).key)
        assert [(s.sequenced_us, s.valid_from_us) for s in stored] == [
            (sequenced_us, effective_us)], member.name
        assert state.snapshot(effective_us).hosting_participants(alice(p1)) == {p1.id: SUBMISSION}
        assert state.snapshot(effective_us - 1).hosting_participants(alice(p1)) == {}
        assert state.snapshot(sequenced_us).known_parties() == frozenset()
    async with network.manager.admin() as admin:
        before = await admin.call("ListParties", pb.ListRequest(as_of_us=effective_us - 1))
        after = await admin.call("ListParties", pb.ListRequest(as_of_us=effective_us))
    assert not before.parties
    assert [p.party for p in after.parties] == [alice(p1)]
    again = await p1.admin(network.manager.endpoint).allocate_party(
        alice(p1), [(p1.id, SUBMISSION)])
    assert again.unchanged  # a retried allocation changes nothing


def _signed_text(key: SigningKeyPair, text: str) -> bytes:
    digest = hash_of(HashPurpose.CONFIRMATION_RESPONSE, "topology-test", text)
    signature = key.sign(digest, HashPurpose.CONFIRMATION_RESPONSE)
    return json.dumps({"text": text, "by": signature.signed_by,
                       "sig": signature.raw.hex()}).encode()


def _verify_at(member: PlayedMember, sender: str, ts_us: int, payload: bytes) -> None:
    """What a member does with a signed protocol message: check it at its sequencing time."""
    message = json.loads(payload)
    digest = hash_of(HashPurpose.CONFIRMATION_RESPONSE, "topology-test", message["text"])
    signature = Signature(message["by"], HashPurpose.CONFIRMATION_RESPONSE,
                          bytes.fromhex(message["sig"]))
    snapshot = member.topology.client.snapshot(ts_us)  # type: ignore[union-attr]
    snapshot.verify_member_signature(MemberId(sender), digest,
                                     HashPurpose.CONFIRMATION_RESPONSE, signature)


async def _send(sender: PlayedMember, to: PlayedMember, payload: bytes) -> int:
    assert sender.client is not None
    outcome = await sender.client.send(_to(to, payload))
    assert isinstance(outcome, SendDelivered)
    return outcome.timestamp_us


async def _sequencer_key(network: Network, member: str) -> bytes:
    listed = await network.sequencers.admin("ListMembers", apb.ListMembersRequest(),
                                            apb.ListMembersResponse)
    return next(m.signing_public_key for m in listed.members  # type: ignore[attr-defined]
                if m.member == member)


async def test_key_rotation_and_revocation_at_the_sequencer_and_at_members(
    network: Network,
) -> None:
    p1, p2 = _members["p1"], _members["p2"]
    old, new = p1.key, SigningKeyPair.from_private(b"\x31" * 32)
    # a second client of p1 that only sends, still signing with the old key
    probe = SequencerClient(domain_id=DOMAIN_ID, member=p1.id, signing_key=old,
                            trusted_sequencer_keys=[SEQUENCER_KEY.public],
                            config=SequencerClientConfig(network.sequencers.endpoints))
    rotation = await p1.admin(network.manager.endpoint).rotate_key(p1.id, new)
    await probe.send_async(_to(p2, _signed_text(old, "before")))
    assert network.manager.ready and p1.client is not None
    await _until_sequencer_key(network, p1.id, new)  # re-keyed at the rotation's effective time
    assert int(time.time_ns() // 1000) >= rotation.effective_us
    await p1.switch_key(new, network.sequencers.endpoints)  # the member signs with its new key
    revocation = await p1.admin(network.manager.endpoint).revoke_key(p1.id, old.fingerprint)
    await all_processed(network, revocation.effective_us)
    with pytest.raises(SendRejected) as refused:
        await probe.send_async(_to(p2, _signed_text(old, "after, by the sequencer")))
    assert refused.value.rejected_error_id == "SEQUENCER_INVALID_SIGNATURE"
    await probe.close()
    await _send(p1, p2, _signed_text(old, "after, inside"))
    await _send(p1, p2, _signed_text(new, "after, new key"))
    await p2.wait_until(lambda: len(_texts(p2)) == 3)
    received = _texts(p2)
    assert received["before"][0] < rotation.effective_us
    _verify_at(p2, p1.id, *received["before"])  # signed before the revocation: still valid
    _verify_at(p2, p1.id, *received["after, new key"])
    with pytest.raises(MemberKeyNotValid):
        _verify_at(p2, p1.id, *received["after, inside"])
    for member in everyone(network):
        state = member.topology.client.state  # type: ignore[union-attr]
        assert state.snapshot(revocation.effective_us - 1).signing_keys(p1.id) == (
            old.public, new.public)
        assert state.snapshot(revocation.effective_us).signing_keys(p1.id) == (new.public,)


def _to(member: PlayedMember, payload: bytes) -> Batch:
    return Batch((Envelope((MemberRecipient(member.id),), payload),))


def _texts(member: PlayedMember) -> dict[str, tuple[int, bytes]]:
    found = {}
    for ts_us, _, payload in member.payloads():
        if payload.startswith(b"{"):
            found[json.loads(payload)["text"]] = (ts_us, payload)
    return found


async def _until_sequencer_key(network: Network, member: str, key: SigningKeyPair) -> None:
    for _ in range(200):
        if await _sequencer_key(network, member) == key.public.raw:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the sequencers never learnt {member}'s new key")


async def test_vip_trust_level_and_parameters_change_at_their_effective_time(
    network: Network,
) -> None:
    p1, p2 = _members["p1"], _members["p2"]
    async with network.manager.admin() as admin:
        vip = await admin.set_trust_level(p2.id, TrustLevel.VIP)
        parameters = (await admin.call("SetDomainParameters", pb.SetDomainParametersRequest(
            confirmation_response_timeout_us=10_000_000,
            topology_change_delay_us=100_000))).change
    await all_processed(network, parameters.effective_us)
    for member in everyone(network):
        state = member.topology.client.state  # type: ignore[union-attr]
        assert not state.snapshot(vip.effective_us - 1).is_vip(p2.id)
        assert state.snapshot(vip.effective_us).is_vip(p2.id)
        before = state.snapshot(parameters.effective_us - 1).parameters
        after = state.snapshot(parameters.effective_us).parameters
        assert before.confirmation_response_timeout_us == 30_000_000
        assert after.confirmation_response_timeout_us == 10_000_000
    # a change sequenced once the new delay is in force takes effect 100 ms later
    vetted = await p1.admin(network.manager.endpoint).vet_packages(p1.id, ["pkg-a", "pkg-b"])
    assert vetted.effective_us - vetted.sequenced_us == 100_000
    await all_processed(network, vetted.effective_us)
    for member in everyone(network):
        snapshot = member.topology.client.snapshot(vetted.effective_us)  # type: ignore[union-attr]
        assert snapshot.vetted_packages(p1.id) == {"pkg-a", "pkg-b"}


async def _refused_error(sender: PlayedMember, to: PlayedMember, payload: bytes) -> str | None:
    assert sender.client is not None
    try:
        await sender.client.send_async(_to(to, payload))
    except SendRejected as refused:
        return refused.rejected_error_id
    return None


async def test_the_sequencers_enforce_the_domain_maximum_request_size(
    network: Network,
) -> None:
    """The maximum request size is a domain parameter: the manager hands each change to the
    sequencers at its effective time (shells review #6b)."""
    p1, p2 = _members["p1"], _members["p2"]
    payload = b"x" * 200_000
    assert await _refused_error(p1, p2, payload) is None
    for size_bytes, refused in ((100_000, "SEQUENCER_REQUEST_TOO_LARGE"), (10 << 20, None)):
        async with network.manager.admin() as admin:
            change = (await admin.call("SetDomainParameters", pb.SetDomainParametersRequest(
                max_request_size_bytes=size_bytes))).change
        await all_processed(network, change.effective_us)
        for _ in range(100):  # applied by the manager once the change is effective
            if await _refused_error(p1, p2, payload) == refused:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"sequencers do not enforce {size_bytes} bytes")


async def test_a_mediator_added_later_joins_late_and_leaves_the_active_set(
    network: Network,
) -> None:
    m2 = PlayedMember("mediator2", MemberKind.MEDIATOR, 12, network.database("m2"))
    signed = initial_key_mapping(m2.id, [m2.key])
    async with network.manager.admin() as admin:
        added = await admin.add_domain_member(signed)
        assert (await admin.add_domain_member(signed)).unchanged
    _members["m2"] = await network.start_member(m2)  # registered before the broadcast
    await all_processed(network, added.effective_us)
    for member in everyone(network):
        state = member.topology.client.state  # type: ignore[union-attr]
        assert state.snapshot(added.effective_us - 1).mediators() == {network.mediator.id}
        assert state.snapshot(added.effective_us).mediators() == {network.mediator.id, m2.id}
    async with network.manager.admin() as admin:
        removed = await admin.remove_domain_member(m2.id)
    await all_processed(network, removed.effective_us)
    for member in everyone(network):
        snapshot = member.topology.client.snapshot(removed.effective_us)  # type: ignore[union-attr]
        assert snapshot.mediators() == {network.mediator.id}
        assert snapshot.signing_keys(m2.id) == (m2.key.public,)  # its keys stay


def _alarm_count(member: str, error_id: str) -> float:
    return REGISTRY.get_sample_value("minicanton_topology_alarms_total",
                                     {"member": member, "error_id": error_id}) or 0.0


async def test_forged_and_tampered_topology_is_refused_by_every_member_with_an_alarm(
    network: Network,
) -> None:
    p1, p2 = _members["p1"], _members["p2"]
    namespace = p2.id.split("::")[-1]
    mallory = PartyToParticipant(party_id("mallory", namespace), (
        HostingParticipant(ParticipantId(p2.id), SUBMISSION),))
    forged = TopologyTransaction(TopologyChangeOp.REPLACE, 1, mallory).sign(p2.key)
    genuine = p2.topology.client.state.history(  # type: ignore[union-attr]
        PartyToParticipant(alice(p1), (HostingParticipant(ParticipantId(p1.id), SUBMISSION),)
                           ).key)[-1].signed
    hijack = TopologyTransaction(TopologyChangeOp.REPLACE, 2, PartyToParticipant(
        alice(p1), (HostingParticipant(ParticipantId(p2.id), SUBMISSION),)))
    tampered = SignedTopologyTransaction(hijack, genuine.signatures)  # signatures of another tx
    payloads = [TopologyBroadcast((forged,)).to_bytes(),
                TopologyBroadcast((tampered,)).to_bytes(), b"MCTB\x01garbage"]
    counts = {m.id: len(m.topology.client.alarms) for m in everyone(network)}  # type: ignore[union-attr]
    sizes = {m.id: len(m.topology.client.state) for m in everyone(network)}  # type: ignore[union-attr]
    assert p2.client is not None
    outcome = await p2.client.send(Batch(tuple(
        Envelope((GroupRecipient(RecipientGroup.ALL_MEMBERS),), p) for p in payloads)))
    assert isinstance(outcome, SendDelivered)
    await all_processed(network, outcome.timestamp_us)
    for member in everyone(network):
        client = member.topology.client  # type: ignore[union-attr]
        alarms = client.alarms[counts[member.id]:]
        assert sorted(a.error_id for a in alarms) == [
            "TOPOLOGY_TRANSACTION_DECODE_ERROR", "TOPOLOGY_UNAUTHORIZED",
            "TOPOLOGY_UNAUTHORIZED"], member.name
        # p2 learns its own copy's sender and so does the mediator (a domain entity); another
        # participant is not told which participant sent a batch (sender privacy, seed 003)
        is_other_participant = member.kind is MemberKind.PARTICIPANT and member is not p2
        expected_sender = None if is_other_participant else p2.id
        assert all(a.sender == expected_sender for a in alarms), member.name
        assert len(client.state) == sizes[member.id]
        assert client.head().hosting_participants(alice(p1)) == {p1.id: SUBMISSION}
        assert _alarm_count(member.id, "TOPOLOGY_UNAUTHORIZED") >= 2
    for _ in range(50):
        if network.manager.log_path.read_text().count("ALARM") >= 3:
            break
        await asyncio.sleep(0.05)
    assert network.manager.log_path.read_text().count("ALARM") == 3  # the manager too
    async with network.manager.admin() as admin:
        parties = await admin.call("ListParties", pb.ListRequest())
    assert [p.party for p in parties.parties] == [alice(p1)]


async def _manager_rows(network: Network) -> tuple[int, int]:
    connection = await asyncpg.connect(network.manager.dsn)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT tx_hash) AS d "
            "FROM topology_member_transactions")
    finally:
        await connection.close()
    return row["n"], row["d"]


async def test_restarts_keep_the_state_and_apply_nothing_twice(network: Network) -> None:
    p1 = _members["p1"]
    async with network.manager.admin() as admin:
        before, _ = await admin.fetch_state(0)
    network.manager.terminate()
    await network.manager.start(admission="open")  # same database, now an open domain
    await p1.stop()
    await network.start_member(p1)  # restored from its own database
    async with network.manager.admin() as admin:
        after, _ = await admin.fetch_state(0)
    assert [(s.hash, t) for s, t in after] == [(s.hash, t) for s, t in before]
    assert [s.hash for s in p1.topology.client.state.transactions()] == [  # type: ignore[union-attr]
        s.hash for s, _ in before]
    p3 = _members["p3"] = network.participant("p3", 23)
    key_mapping = initial_key_mapping(p3.id, [p3.key], [p3.encryption.public])
    async with p3.admin(network.manager.endpoint) as client:
        answer = await client.request_onboarding(key_mapping)
    assert answer.status == pb.ONBOARDING_STATUS_ADMITTED  # open: no admin needed
    await network.start_member(p3)
    await all_processed(network, answer.change.effective_us)
    async with network.manager.admin() as admin:
        final, _ = await admin.fetch_state(0)
    assert len(final) == len(before) + 2
    for member in everyone(network):
        hashes = [s.hash for s in member.topology.client.state.transactions()]  # type: ignore[union-attr]
        assert hashes == [s.hash for s, _ in final], member.name
        assert len(await member.topology.store.load()) == len(final)  # type: ignore[union-attr]
    assert await _manager_rows(network) == (len(final), len(final))
    log = network.manager.log_path.read_text()
    unexpected = [line for line in log.splitlines()
                  if (" ERROR " in line or "Traceback" in line) and "ALARM" not in line]
    assert unexpected == []


def _cli(network: Network, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINICANTON_TOPOLOGY_ENDPOINT": network.manager.endpoint}
    if token:
        env["MINICANTON_TOPOLOGY_ADMIN_TOKEN"] = ADMIN_TOKEN
    return subprocess.run([sys.executable, "-m", "minicanton.cli.main", "topology", *args],
                          capture_output=True, text=True, env=env, timeout=60)


async def test_the_cli_lists_and_changes_the_topology(network: Network) -> None:
    p1, p2 = _members["p1"], _members["p2"]
    listed = await asyncio.to_thread(_cli, network, "participants", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["participant"]: r for r in json.loads(listed.stdout)}
    assert rows[p2.id]["trust_level"] == "TRUST_LEVEL_VIP"
    table = await asyncio.to_thread(_cli, network, "parties")
    assert table.returncode == 0 and "alice" in table.stdout
    changed = await asyncio.to_thread(_cli, network, "set-trust", p2.id, "ordinary", "--json")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["effective_us"] > 0
    nobody = "PAR::nobody::1220" + "ab" * 32
    bad = await asyncio.to_thread(_cli, network, "set-trust", nobody, "vip")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: TOPOLOGY_UNKNOWN_PARTICIPANT")
    assert "Traceback" not in bad.stderr
    refused = await asyncio.to_thread(_cli, network, "keys", token=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    wrong = await asyncio.to_thread(_cli, network, "vet", p1.id, "bad id!",
                                    "--admin-token", "not-the-token")
    assert wrong.returncode == 1 and "TOPOLOGY_UNAUTHENTICATED" in wrong.stderr


async def test_offboarding_removes_the_participant_and_disables_it_at_the_sequencers(
    network: Network,
) -> None:
    p3 = _members.pop("p3")
    async with network.manager.admin() as admin:
        change = await admin.call("OffboardParticipant",
                                  pb.OffboardParticipantRequest(participant=p3.id))
    await p3.stop()  # its sequencer access ends at the effective time
    effective_us = change.change.effective_us
    await all_processed(network, effective_us)
    for member in everyone(network):
        state = member.topology.client.state  # type: ignore[union-attr]
        assert p3.id in state.snapshot(effective_us - 1).participants()
        assert p3.id not in state.snapshot(effective_us).participants()
    for _ in range(100):
        listed = await network.sequencers.admin("ListMembers", apb.ListMembersRequest(),
                                                apb.ListMembersResponse)
        enabled = {m.member: m.enabled for m in listed.members}  # type: ignore[attr-defined]
        if not enabled[p3.id]:
            break
        await asyncio.sleep(0.05)
    assert enabled[p3.id] is False
