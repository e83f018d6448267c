"""A rogue participant that lives in the pytest process: real code of the test, a real
member of the real domain (issue 5: "a malicious participant in a test is real code of the
test").

Theory of operation. `Rogue.join` makes it a domain member the way the participant node
does, with the node's own functions: fresh signing and encryption keys; the domain's
identity from the topology manager (`participant.domain.domain_info`); onboarding by its
signed key mapping (`participant.domain.onboard`, the network admits openly, which also
registers it with the sequencers); a subscription to the real sequencers through the real
`SequencerClient` over gRPC (events checked against the sequencers' key). Parties are
allocated and packages vetted through the topology manager's admin API, signed as the
member (`TopologyAdminClient.allocate_party`, `vet_packages`), as the node's `NodeAdmin`
does, each awaited until effective in the rogue's own topology.

Inside, the real core runs: a `ParticipantMachine` with the simulation's in-memory store
(`SimParticipantStore`), each event taken through it by the simulation's shell step
(`participant_step`: prepare, load states, process, persist), the topology followed by the
real `TopologyClient` (bootstrapped from the manager on the first event, like a late joiner).
Its submissions are either honest (`submit`: the machine's `prepare_submission`) or the real
submission steps with one step altered (`submit_altered`, the simulation's
`altered_submission`); both are deduplicated and tracked as the shell does before sending.

Two knobs make it a rogue: what it submits, and a filter on what it sends. `hold(name,
rule)` keeps back every send `rule` matches (its confirmation responses to one request,
say) while everything else goes out; `release(name)` sends them late, `discard(name)`
never. A held response is still what its real machine decided, so a test can read the
verdicts it withheld (`held_verdicts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from tests.integration.sequencer.harness import SEQUENCER_KEY
from tests.sim.altered_submission import altered_submission
from tests.sim.harness import participant_step
from tests.sim.sim_domain import DVP_PACKAGE, PAINT_PACKAGE
from tests.sim.sim_store import SimParticipantStore
from tests.system.protocol.network import Network

from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2 as audit_pb
from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2_grpc as audit_grpc
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.hashing import Hash
from minicanton.core.ids import Fingerprint, MemberId, PartyId, party_id
from minicanton.core.lf.commands import Command
from minicanton.core.lf.engine import SubmissionResult
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import ConfirmationResponse, LocalReject, MediatorResult
from minicanton.core.protocol.participant import ParticipantConfig, ParticipantMachine
from minicanton.core.protocol.participant_effects import (
    Completion,
    Effect,
    RaiseAlarm,
    RequestTimeProof,
    SendBatch,
)
from minicanton.core.protocol.participant_outcomes import RESPONSE_MESSAGE_ID_PREFIX
from minicanton.core.protocol.submission import (
    CommandSubmission,
    ParticipantIdentity,
    PreparedSubmission,
)
from minicanton.core.sequencing.batch import Batch
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.send_tracking import SendDelivered, SendOutcome
from minicanton.core.topology.mappings import ParticipantPermission
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.participant import domain
from minicanton.participant.keys import ParticipantKeys
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.entropy import SystemEntropy
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig
from minicanton.runtime.topology_admin_client import TopologyAdminClient
from minicanton.runtime.topology_client import TopologyClient

SendRule = Callable[[SendBatch], bool]
TTL_US = 20_000_000  # max sequencing time after now, as the network's participants
JOIN_TIMEOUT_S = 30.0
TIMER_INTERVAL_S = 0.1
APPLICATION_ID = "rogue"


def responses_in(send: SendBatch) -> list[ConfirmationResponse]:
    """The confirmation responses a send carries (none if it is not a response batch)."""
    if not send.message_id.startswith(RESPONSE_MESSAGE_ID_PREFIX):
        return []
    found = [decode_protocol_message(e.content) for e in send.batch.envelopes]
    return [m for m in found if isinstance(m, ConfirmationResponse)]


def verdict_code(response: ConfirmationResponse) -> str:
    verdict = response.local_verdict
    return verdict.code if isinstance(verdict, LocalReject) else "APPROVE"


@dataclass
class Rogue:
    network: Network
    keys: ParticipantKeys
    domain_id: str
    admin: TopologyAdminClient
    topology: TopologyClient
    machine: ParticipantMachine
    store: SimParticipantStore = field(default_factory=lambda: SimParticipantStore(frozenset()))
    entropy: SystemEntropy = field(default_factory=SystemEntropy)
    sequencer: SequencerClient | None = None
    processed_us: int = 0
    own_roots: set[Hash] = field(default_factory=set)  # root hashes of its own requests
    outcomes: dict[str, asyncio.Future[SendOutcome]] = field(default_factory=dict)
    sent: list[SendBatch] = field(default_factory=list)
    held: list[tuple[str, SendBatch]] = field(default_factory=list)
    rules: dict[str, SendRule] = field(default_factory=dict)
    alarms: list[RaiseAlarm] = field(default_factory=list)
    send_errors: list[tuple[str, str]] = field(default_factory=list)  # (message id, error)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _first_event: bool = True

    # --- joining ------------------------------------------------------------------------

    @classmethod
    async def join(cls, network: Network, name: str = "rogue") -> Rogue:
        keys = ParticipantKeys.generate(name, SystemEntropy())
        member = MemberId(keys.participant_id)
        admin = TopologyAdminClient(network.domain.manager_endpoint, member=member,
                                    member_key=keys.signing, timeout_s=JOIN_TIMEOUT_S)
        info = await domain.domain_info(admin, JOIN_TIMEOUT_S)
        effective_us = await domain.onboard(admin, keys, JOIN_TIMEOUT_S)
        identity = ParticipantIdentity(keys.participant_id, info.domain_id, keys.signing,
                                       keys.encryption)
        machine = ParticipantMachine(ParticipantConfig(identity, submission_ttl_us=TTL_US),
                                     PackageRegistry([DVP_PACKAGE, PAINT_PACKAGE]))
        topology = TopologyClient(member, Fingerprint(info.domain_namespace),
                                  info.genesis_parameters)
        rogue = cls(network, keys, info.domain_id, admin, topology, machine)
        await rogue._subscribe()
        await rogue.wait_processed(max(effective_us, wall_clock_us()))
        await rogue._vet([DVP_PACKAGE.package_id, PAINT_PACKAGE.package_id])
        return rogue

    async def _subscribe(self) -> None:
        sequencers = self.network.domain.sequencers
        assert sequencers is not None
        self.sequencer = SequencerClient(
            domain_id=self.domain_id, member=MemberId(self.keys.participant_id),
            signing_key=self.keys.signing, trusted_sequencer_keys=[SEQUENCER_KEY.public],
            config=SequencerClientConfig(tuple(sequencers.endpoints),
                                         max_sequencing_time_ms=TTL_US // 1_000))
        await self.sequencer.start(self._handle)
        self._spawn(self._timer())

    @property
    def participant_id(self) -> str:
        return self.keys.participant_id

    async def allocate(self, hint: str) -> str:
        """A party hosted here with Submission permission, effective when this returns."""
        party = party_id(hint, self.keys.namespace)
        change = await self.admin.allocate_party(
            party, [(self.participant_id, ParticipantPermission.SUBMISSION)])
        await self.wait_processed(change.effective_us)
        self.store.parties = self.store.parties | {party}
        return str(party)

    async def _vet(self, package_ids: list[str]) -> None:
        change = await self.admin.vet_packages(self.participant_id, package_ids)
        await self.wait_processed(change.effective_us)

    async def wait_processed(self, ts_us: int, timeout_s: float = JOIN_TIMEOUT_S) -> None:
        """Until an event at or after `ts_us` went through the machine (asking for time
        proofs: sequencer time moves only with events)."""
        deadline = time.monotonic() + timeout_s
        while self.processed_us < ts_us:
            self.check_running()
            assert time.monotonic() < deadline, f"{self.participant_id} not at {ts_us} yet"
            assert self.sequencer is not None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sequencer.request_time_proof(), 5)
            await asyncio.sleep(0.05)

    def check_running(self) -> None:
        assert self.sequencer is not None
        failure = self.sequencer.failure
        assert failure is None, f"the rogue's subscription stopped: {failure!r}"
        assert not self.send_errors, f"the rogue's sends failed: {self.send_errors}"

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.sequencer is not None:
            await self.sequencer.close()
        await self.admin.close()

    # --- events -------------------------------------------------------------------------

    async def _handle(self, verified: VerifiedEvent) -> None:
        event = verified.event
        if self._first_event:  # a late joiner: the topology sequenced before its first event
            transactions, _ = await self.admin.fetch_state(event.timestamp_us - 1)
            self.topology.bootstrap(transactions, before_us=event.timestamp_us)
            self._first_event = False
        snapshot = self.topology.snapshot(event.timestamp_us)
        self.topology.ingest_event(event)  # effective only after the change delay
        effects = participant_step(self.machine, self.store, event, snapshot)
        self.processed_us = event.timestamp_us
        self._act(effects)

    def _act(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendBatch):
                self.send(effect)
            elif isinstance(effect, RequestTimeProof):
                self._time_proof()
            elif isinstance(effect, RaiseAlarm):
                self.alarms.append(effect)

    async def _timer(self) -> None:
        """As the node's timer: a deadline of ours passed on the wall clock asks for an
        event that shows it to the machine."""
        while True:
            await asyncio.sleep(TIMER_INTERVAL_S)
            if self.machine.handle_timer(wall_clock_us()):
                self._time_proof()

    def _time_proof(self) -> None:
        assert self.sequencer is not None
        sequencer = self.sequencer

        async def prove() -> None:
            with contextlib.suppress(Exception):
                await sequencer.request_time_proof()

        self._spawn(prove())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- sending, and the filter ----------------------------------------------------------

    def send(self, send: SendBatch) -> None:
        rule = next((name for name, r in self.rules.items() if r(send)), None)
        if rule is not None:
            self.held.append((rule, send))
            return
        self.sent.append(send)
        self._spawn(self._send_now(send))

    async def _send_now(self, send: SendBatch) -> None:
        assert self.sequencer is not None
        try:
            handle = await self.sequencer.send_async(
                send.batch, message_id=send.message_id,
                max_sequencing_time_us=send.max_sequencing_time_us)
        except Exception as error:  # a refusal is the test's news, not a lost task's
            self.send_errors.append((send.message_id, repr(error)))
            return
        self.outcomes[send.message_id] = handle.outcome

    def hold(self, name: str, rule: SendRule) -> None:
        """Keep back every send `rule` matches, under `name`, until released or discarded."""
        self.rules[name] = rule

    def release(self, name: str) -> None:
        self.rules.pop(name, None)
        for send in self.discard(name):
            self.send(send)

    def discard(self, name: str) -> list[SendBatch]:
        self.rules.pop(name, None)
        dropped = [send for rule, send in self.held if rule == name]
        self.held = [(rule, send) for rule, send in self.held if rule != name]
        return dropped

    def held_under(self, name: str) -> list[SendBatch]:
        return [send for rule, send in self.held if rule == name]

    def held_verdicts(self, name: str) -> list[str]:
        """The local verdicts of the responses held under `name`, view by view, sorted."""
        return sorted(verdict_code(r) for s in self.held_under(name) for r in responses_in(s))

    def sent_verdicts(self, request_ts_us: int) -> list[str]:
        """The local verdicts it sent for the request sequenced at `request_ts_us`."""
        return sorted(verdict_code(r) for s in self.sent for r in responses_in(s)
                      if r.request_ts_us == request_ts_us)

    @staticmethod
    def responses_to(root: Hash) -> SendRule:
        """Its confirmation responses to the request with this root hash."""
        return lambda send: any(r.root_hash == root for r in responses_in(send))

    def responses_to_others(self) -> SendRule:
        """Its confirmation responses to any request it did not submit itself."""
        return lambda send: any(r.root_hash not in self.own_roots for r in responses_in(send))

    # --- submitting ---------------------------------------------------------------------

    def _submission(self, party: str, command_id: str,
                    commands: tuple[Command, ...]) -> CommandSubmission:
        return CommandSubmission(commands, frozenset({PartyId(party)}), APPLICATION_ID,
                                 command_id, f"{command_id}-{self.entropy.random_bytes(4).hex()}")

    def _snapshot_now(self) -> TopologySnapshot:
        return self.topology.snapshot(max(wall_clock_us(), self.processed_us))

    def submit(self, party: str, command_id: str, *commands: Command) -> PreparedSubmission:
        """The honest path: what the node's Submitter does, against its in-memory store."""
        self.check_running()
        submission = self._submission(party, command_id, commands)
        prepared = self.machine.prepare_submission(
            submission, self.store.lookup(submission.act_as), self._snapshot_now(),
            wall_clock_us(), self.entropy)
        return self._track_and_send(prepared)

    def submit_altered(
        self, party: str, command_id: str, *commands: Command,
        alter_result: Callable[[SubmissionResult], SubmissionResult] = lambda r: r,
        alter_batch: Callable[[Batch], Batch] = lambda b: b,
        forge_with: SigningKeyPair | None = None,
    ) -> PreparedSubmission:
        """The real submission steps with one step altered (`altered_submission`)."""
        self.check_running()
        submission = self._submission(party, command_id, commands)
        prepared = altered_submission(
            submission, identity=self.machine.config.identity,
            contracts=self.store.lookup(submission.act_as), registry=self.machine.registry,
            snapshot=self._snapshot_now(), now_us=wall_clock_us(), ttl_us=TTL_US,
            entropy=self.entropy, alter_result=alter_result, alter_batch=alter_batch,
            forge_with=forge_with)
        return self._track_and_send(prepared)

    def _track_and_send(self, prepared: PreparedSubmission) -> PreparedSubmission:
        self.store.start_submission(prepared, wall_clock_us())
        self.own_roots.add(prepared.root_hash)
        self._act(self.machine.submit(prepared))
        return prepared

    async def request_ts(self, prepared: PreparedSubmission, timeout_s: float = 20.0) -> int:
        """When its request was sequenced (its record time, and its request id)."""
        deadline = time.monotonic() + timeout_s
        while prepared.message_id not in self.outcomes:
            assert time.monotonic() < deadline, "the request was not accepted by a sequencer"
            await asyncio.sleep(0.02)
        outcome = await asyncio.wait_for(asyncio.shield(self.outcomes[prepared.message_id]),
                                         max(0.1, deadline - time.monotonic()))
        assert isinstance(outcome, SendDelivered), outcome
        return outcome.timestamp_us

    async def completion(self, command_id: str, timeout_s: float = 30.0) -> Completion:
        """Its completion of `command_id`, once the verdict (or a timeout) decided it."""
        deadline = time.monotonic() + timeout_s
        while not (done := self.store.completion_of(command_id)):
            self.check_running()
            assert time.monotonic() < deadline, f"no completion of {command_id}"
            await asyncio.sleep(0.05)
        (completion,) = done
        return completion


# --- the mediator's auditor API -------------------------------------------------------------


async def audited_request(network: Network, request_ts_us: int,
                          timeout_s: float = 20.0) -> tuple[MediatorResult, list[Any]]:
    """The mediator's verdict on the request sequenced at `request_ts_us`, and every
    confirmation response it received for it, through its auditor API (admin token).
    Waits for the verdict."""
    (node,) = [n for n in network.domain.nodes if n.name == "mediator"]
    metadata = (("authorization", f"Bearer {node.config['admin_token']}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{node.ready['port']}") as channel:
        stub = audit_grpc.MediatorAuditorServiceStub(channel)  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + timeout_s
        while True:
            answer = await stub.GetRequest(audit_pb.GetRequestRequest(
                request_id_us=request_ts_us), metadata=metadata, timeout=10)
            if answer.HasField("verdict") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    assert answer.HasField("verdict"), f"no verdict on {request_ts_us}"
    result = decode_protocol_message(answer.verdict.result)
    assert isinstance(result, MediatorResult)
    responses = [decode_protocol_message(m.payload) for m in answer.messages
                 if m.kind == "confirmation_response"]
    return result, responses
