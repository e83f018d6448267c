"""The mediator process in a real domain: a sequencer process, the topology manager process
(which lists the mediator at genesis and tells it who the domain is), and two participants
played by test code that onboard, allocate their parties and run one request through it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from mediator_fixtures import iou_create, tree_for
from tests.integration.mediator.harness import MediatorProcess
from tests.integration.sequencer.harness import ADMIN_TOKEN as SEQUENCER_TOKEN
from tests.integration.sequencer.harness import SEQUENCER_KEY, SequencerCluster
from tests.system.topology.harness import PlayedMember, TopologyManagerProcess

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import Fingerprint, MemberKind, ParticipantId, member_id, party_id
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    LocalApprove,
    MediatorResult,
    RootHashMessage,
    encode_protocol_message,
)
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.core.topology.mappings import ParticipantPermission
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.ports import free_port
from minicanton.topology.changes import initial_key_mapping

pytestmark = pytest.mark.system
MEDIATOR_KEY = SigningKeyPair.from_private(b"\x21" * 32)
MEDIATOR_ID = member_id(MemberKind.MEDIATOR, "mediator", MEDIATOR_KEY.fingerprint)


def _db(postgres: EmbeddedPostgres, label: str) -> str:
    return postgres.create_database(f"medsys_{label}_{uuid.uuid4().hex[:10]}")


def _verdicts(member: PlayedMember, request_ts_us: int) -> list[MediatorResult]:
    found = []
    for _ts, _sender, payload in member.payloads():
        if payload.startswith(b"MCPM"):
            message = decode_protocol_message(payload)
            if isinstance(message, MediatorResult) and message.request_ts_us == request_ts_us:
                found.append(message)
    return found


async def test_a_mediator_started_from_the_topology_manager_decides_a_request(
    postgres_cluster: EmbeddedPostgres, tmp_path: Path,
) -> None:
    sequencers = SequencerCluster(_db(postgres_cluster, "seq"), tmp_path)
    mapping = initial_key_mapping(MEDIATOR_ID, [MEDIATOR_KEY], []).to_bytes().hex()
    manager = TopologyManagerProcess(tmp_path, _db(postgres_cluster, "tm"), sequencers.endpoints,
                                     SEQUENCER_TOKEN, [mapping])
    mediator = MediatorProcess(tmp_path, {
        "database_dsn": _db(postgres_cluster, "med"),
        "signing_key_seed_hex": MEDIATOR_KEY.private_raw.hex(),
        "topology_manager": "", "sequencers": list(sequencers.endpoints),
        "trusted_sequencer_keys_hex": [SEQUENCER_KEY.public.raw.hex()],
        "port": free_port(), "health_port": None, "admin_token": "auditor-token",
        "log_json": False,
    })
    participants = [PlayedMember(f"p{i}", MemberKind.PARTICIPANT, 40 + i,
                                 _db(postgres_cluster, f"p{i}")) for i in (1, 2)]
    try:
        await sequencers.start()
        await manager.start(admission="open")
        mediator.config["topology_manager"] = manager.endpoint
        mediator.spawn()
        await mediator.wait_ready()
        alice, bank = await _join(manager, sequencers, participants)
        p1, p2 = participants
        tree = tree_for(iou_create(bank, alice), {}, ConfirmationPolicy.SIGNATORY, 1,
                        MEDIATOR_ID, ParticipantId(p1.id), alice)
        informee = InformeeMessage.create(tree, ParticipantId(p1.id))
        request_ts_us = await _send(p1, _request(informee, participants))
        (view,) = informee.views
        response = ConfirmationResponse.create(
            request_ts_us=request_ts_us, view_hash=view.view_hash, sender=ParticipantId(p2.id),
            local_verdict=LocalApprove(), confirming_parties=[bank], root_hash=informee.root_hash,
            signing_key=p2.key)
        await _send(p2, [Envelope((MemberRecipient(MEDIATOR_ID),),
                                  encode_protocol_message(response))])
        for member in participants:
            await member.wait_until(lambda m=member: bool(_verdicts(m, request_ts_us)), 15)
            (result,) = _verdicts(member, request_ts_us)
            assert result.verdict == Approve()
            result.verify(MEDIATOR_KEY.public)
    finally:
        mediator.terminate()
        for member in participants:
            await member.stop()
        manager.terminate()
        await sequencers.stop()


async def _join(manager: TopologyManagerProcess, sequencers: SequencerCluster,
                participants: list[PlayedMember]) -> tuple[str, str]:
    """Onboard both participants (open admission) and host Alice on p1, Bank on p2."""
    namespace = Fingerprint(manager.ready["domain_namespace"])
    for member in participants:
        mapping = initial_key_mapping(member.id, [member.key], [member.encryption.public])
        async with member.admin(manager.endpoint) as client:
            await client.request_onboarding(mapping)
        await member.start(namespace, sequencers.endpoints, manager.endpoint)
    parties = []
    last_effective_us = 0
    for member, hint in zip(participants, ("alice", "bank"), strict=True):
        party = party_id(hint, member.id.split("::")[-1])
        async with member.admin(manager.endpoint) as client:
            change = await client.allocate_party(
                party, [(member.id, ParticipantPermission.SUBMISSION)])
        last_effective_us = max(last_effective_us, change.effective_us)
        parties.append(party)
    for member in participants:
        await member.wait_processed(last_effective_us)
    await asyncio.sleep(0.1)
    return parties[0], parties[1]


def _request(informee: InformeeMessage, participants: list[PlayedMember]) -> list[Envelope]:
    mediator = MemberRecipient(MEDIATOR_ID)
    envelopes = [Envelope((mediator,), encode_protocol_message(informee))]
    for member in participants:
        root_hash = RootHashMessage(informee.root_hash)
        envelopes.append(Envelope((MemberRecipient(member.id), mediator),
                                  encode_protocol_message(root_hash)))
    return envelopes


async def _send(member: PlayedMember, envelopes: list[Envelope]) -> int:
    assert member.client is not None
    outcome = await member.client.send(Batch(tuple(envelopes)))
    assert isinstance(outcome, SendDelivered)
    return outcome.timestamp_us
