"""A deterministic in-memory network of real core machines (DESIGN.md §5, STYLE.md habit 5).

One in-memory sequencer orders the members' sends with strictly increasing timestamps of a
virtual clock, using the sequencer's own pure rules (`validate_submission`: signature,
recipients, max sequencing time; `plan_events`; `project_event`: each member is delivered only
its envelopes, the sender its receipt, and a participant no other participant's name as
sender) and deduplicates sends by (sender, message id) until
their max sequencing time. Members are the real `ParticipantMachine`s (each with an in-memory
store the harness, playing the shell, applies effects to — persist, then send) and the real
mediator machine. Delivery of one event to all its recipients happens in one step, so after
every step all running members have seen the same prefix of the domain's history.

Scheduling is FIFO or, with `random_order`, a seeded choice among pending sends. Tests steer
the network like the seed's diagrams: `hold` keeps matching sends back (a request stays in
flight), `stop`/`start` take a participant down (its events wait for it, as the sequencer
keeps them), `restart` rebuilds a participant's machine from its store and
`restart_mediator` the mediator's from its stored events, as their shells do. Time only moves
when nothing is pending and a member has a deadline (`run(advance_time=True)`): the clock
jumps past it and the member's timer asks for a time proof, as the real shells do.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tests.sim.sim_domain import DOMAIN_ID, START_US, SimDomain
from tests.sim.sim_store import SimParticipantStore

from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, PartyId
from minicanton.core.lf.commands import Command
from minicanton.core.protocol import mediator as med
from minicanton.core.protocol.deduplication import DeduplicationPeriod
from minicanton.core.protocol.participant import ParticipantConfig, ParticipantMachine
from minicanton.core.protocol.participant_effects import (
    Effect,
    RaiseAlarm,
    RequestTimeProof,
    SendBatch,
)
from minicanton.core.protocol.participant_outcomes import response_message_id
from minicanton.core.protocol.replay_protection import (
    parameters_ever,
    remembered_since_us,
    replay_start_us,
)
from minicanton.core.protocol.submission import (
    CommandSubmission,
    ParticipantIdentity,
    PreparedSubmission,
)
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SignedSubmissionRequest,
    SubmissionRequest,
    sign_submission,
)
from minicanton.core.sequencing.errors import SubmissionRejected
from minicanton.core.sequencing.events import SequencedEvent
from minicanton.core.sequencing.members import MemberDirectory, MemberRecord
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.stored import StreamCursor, advance, project_event
from minicanton.core.sequencing.submission import (
    SubmissionLimits,
    plan_events,
    validate_submission,
)
from minicanton.core.topology.snapshot import TopologySnapshot

STEP_US = 1_000
MINUTE_US = 60_000_000
HoldRule = Callable[[str, SubmissionRequest], bool]


@dataclass
class QueuedSend:
    sender: str  # member name
    signed: SignedSubmissionRequest

    @property
    def message_id(self) -> str:
        return self.signed.request.message_id


@dataclass
class SimParticipant:
    name: str
    machine: ParticipantMachine
    store: SimParticipantStore
    entropy: SeededEntropy
    running: bool = True
    backlog: list[SequencedEvent] = field(default_factory=list)


class SimNetwork:
    def __init__(
        self,
        domain: SimDomain | None = None,
        *,
        seed: int = 0,
        random_order: bool = False,
        complete_acs: bool = False,
    ) -> None:
        self.domain = domain or SimDomain()
        self.rng = random.Random(seed)
        self.seed = seed
        self.random_order = random_order
        self.complete_acs = complete_acs
        self.clock_us = START_US
        self.participants = {
            name: self._new_participant(name) for name in self.domain.participants
        }
        self.mediator = med.Mediator(self.domain.mediator.id, self.domain.mediator.key)
        self.mediator_requests: dict[int, int] = {}  # its store: request ts -> decision time
        self.outbox: list[QueuedSend] = []
        self.held: list[tuple[str, QueuedSend]] = []  # (the rule's name, the send)
        self.hold_rules: dict[str, HoldRule] = {}
        self.sequenced_at: dict[str, int] = {}  # message id -> its event's timestamp
        self.delivered: dict[str, list[SequencedEvent]] = {n: [] for n in self._names()}
        self.alarms: list[tuple[str, RaiseAlarm | med.RaiseAlarm]] = []
        self.refused: list[tuple[str, str, str]] = []  # (sender, message id, error id)
        self.sequenced: list[QueuedSend] = []
        self.submitted: list[PreparedSubmission] = []
        self.invariants: list[Callable[[SimNetwork], None]] = []
        self._directory = self._members()
        self._allocator = TimestampAllocator(1, 0, START_US)
        self._cursors: dict[str, StreamCursor] = {}
        self._dedup: dict[tuple[str, str], int] = {}
        self._ticks = 0

    # --- members --------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [*self.domain.participants, "mediator"]

    def _member_id(self, name: str) -> MemberId:
        if name == "mediator":
            return self.domain.mediator.id
        return self.domain.participants[name].id

    def _members(self) -> MemberDirectory:
        records = []
        for number, name in enumerate(self._names()):
            node = self.domain.mediator if name == "mediator" else self.domain.participants[name]
            records.append(MemberRecord(node.id, number, node.key.public, True))
        return MemberDirectory.of(records)

    def _new_participant(self, name: str, store: SimParticipantStore | None = None
                         ) -> SimParticipant:
        node = self.domain.participants[name]
        identity = ParticipantIdentity(node.participant, DOMAIN_ID, node.key, node.encryption)
        config = ParticipantConfig(identity, complete_acs=self.complete_acs)
        hosted = self.domain.snapshot(START_US).parties_hosted_by(node.participant)
        store = store or SimParticipantStore(frozenset(hosted))
        machine = ParticipantMachine(config, self.domain.registry,
                                     last_event_ts_us=store.clean_ts_us)
        return SimParticipant(name, machine, store, SeededEntropy(f"{self.seed}/{name}".encode()))

    def store(self, name: str) -> SimParticipantStore:
        return self.participants[name].store

    def machine(self, name: str) -> ParticipantMachine:
        return self.participants[name].machine

    # --- submitting -----------------------------------------------------------------------

    def submit(
        self,
        name: str,
        *commands: Command,
        act_as: Sequence[str],
        command_id: str,
        read_as: Sequence[str] = (),
        application_id: str = "sim",
        submission_id: str | None = None,
        ledger_time_us: int | None = None,
        deduplication_period: DeduplicationPeriod | None = None,
    ) -> PreparedSubmission:
        """What the Ledger API's Submit does: interpret, deduplicate, track, send."""
        node = self.participants[name]
        parties = [self.domain.party(p) for p in act_as]
        readers = [self.domain.party(p) for p in read_as]
        submission = CommandSubmission(
            tuple(commands), frozenset(parties), application_id, command_id,
            submission_id or f"{command_id}#{len(self.submitted)}", frozenset(readers),
            ledger_time_us=ledger_time_us, deduplication_period=deduplication_period,
        )
        prepared = node.machine.prepare_submission(
            submission, node.store.lookup(parties + readers), self.domain.snapshot(self.clock_us),
            self.clock_us, node.entropy,
        )
        return self.submit_prepared(name, prepared)

    def submit_prepared(self, name: str, prepared: PreparedSubmission) -> PreparedSubmission:
        """Deduplicate, track and send a prepared request (a test may have altered it)."""
        self.record_in_flight(name, prepared)
        self._handle_effects(name, self.participants[name].machine.submit(prepared))
        self.submitted.append(prepared)
        return prepared

    def record_in_flight(self, name: str, prepared: PreparedSubmission) -> None:
        """The shell's deduplication step (the store's `start_submission`)."""
        self.participants[name].store.start_submission(prepared, self.clock_us)

    def send_raw(self, name: str, batch: Batch, message_id: str, max_seq_us: int) -> None:
        """Send a batch as member `name` (a malicious or replaying member)."""
        self._enqueue(name, SendBatch(message_id, batch, max_seq_us))

    # --- the sequencer --------------------------------------------------------------------

    def _enqueue(self, name: str, send: SendBatch) -> None:
        request = SubmissionRequest(DOMAIN_ID, self._member_id(name), send.message_id,
                                    send.max_sequencing_time_us, send.batch)
        node = self.domain.mediator if name == "mediator" else self.domain.participants[name]
        queued = QueuedSend(name, sign_submission(request, node.key))
        rule = next((k for k, r in self.hold_rules.items() if r(name, request)), None)
        if rule is not None:
            self.held.append((rule, queued))
        else:
            self.outbox.append(queued)

    def hold(self, name: str, rule: HoldRule) -> None:
        """Keep sends matching `rule` back until `release(name)`."""
        self.hold_rules[name] = rule

    def hold_responses(self, request: PreparedSubmission) -> None:
        """Keep back every confirmation response to `request`: it stays in flight."""

        def rule(_sender: str, send: SubmissionRequest) -> bool:
            ts = self.sequenced_at.get(request.message_id)
            return ts is not None and send.message_id == response_message_id(ts)

        self.hold(request.message_id, rule)

    def release(self, name: str | PreparedSubmission) -> None:
        key = name.message_id if isinstance(name, PreparedSubmission) else name
        self.hold_rules.pop(key, None)
        self.outbox.extend(send for rule, send in self.held if rule == key)
        self.held = [(rule, send) for rule, send in self.held if rule != key]

    def discard(self, name: str) -> list[QueuedSend]:
        """Drop the sends held under `name` (a member that never sends them); returns them."""
        self.hold_rules.pop(name, None)
        dropped = [send for rule, send in self.held if rule == name]
        self.held = [(rule, send) for rule, send in self.held if rule != name]
        return dropped

    def held_sends(self, name: str | PreparedSubmission) -> list[QueuedSend]:
        key = name.message_id if isinstance(name, PreparedSubmission) else name
        return [send for rule, send in self.held if rule == key]

    def request_ts(self, request: PreparedSubmission) -> int:
        return self.sequenced_at[request.message_id]

    def step(self) -> bool:
        """Sequence one pending send and deliver its event; False when nothing is pending."""
        if not self.outbox:
            return False
        index = self.rng.randrange(len(self.outbox)) if self.random_order else 0
        send = self.outbox.pop(index)
        self.clock_us += STEP_US + (self.rng.randrange(STEP_US) if self.random_order else 0)
        self.sequence(send, deduplicate=True)
        for check in self.invariants:
            check(self)
        return True

    def sequence(self, send: QueuedSend, *, deduplicate: bool) -> int | None:
        """Sequence `send` now; `deduplicate=False` plays a faulty sequencer that lets a
        replay through. Returns the event's timestamp (None if refused or deduplicated)."""
        request = send.signed.request
        key = (send.sender, request.message_id)
        if deduplicate and self._dedup.get(key, -1) >= self.clock_us:
            return None
        try:
            validated = validate_submission(
                send.signed, _size(request), request.sender, self._directory,
                SubmissionLimits(DOMAIN_ID, 10 << 20, 10 * MINUTE_US), self.clock_us)
        except SubmissionRejected as err:
            self.refused.append((send.sender, request.message_id, err.error_id))
            return None
        self._dedup[key] = request.max_sequencing_time_us
        (planned,) = plan_events([validated], self._allocator, self.clock_us)
        stored = planned.event
        assert stored is not None
        self.sequenced_at.setdefault(request.message_id, stored.timestamp_us)
        self.sequenced.append(send)
        for number in sorted(stored.recipient_numbers):
            name = self._names()[number]
            cursor = self._cursors.get(name, StreamCursor())
            event = project_event(stored, DOMAIN_ID, self._member_id(name), number,
                                  request.sender, cursor)
            self._cursors[name] = advance(cursor, event)
            self._deliver(name, event)
        return stored.timestamp_us

    # --- members handling events ----------------------------------------------------------

    def _deliver(self, name: str, event: SequencedEvent) -> None:
        self.delivered[name].append(event)
        if name == "mediator":
            snapshot = self.domain.snapshot(event.timestamp_us)
            self._handle_mediator(self.mediator.handle_event(event, snapshot))
            return
        node = self.participants[name]
        if not node.running:
            node.backlog.append(event)
            return
        self._participant_handles(node, event)

    def _participant_handles(self, node: SimParticipant, event: SequencedEvent) -> None:
        """The participant shell's pump: prepare, load states, process, persist, send."""
        effects = participant_step(node.machine, node.store, event,
                                   self.domain.snapshot(event.timestamp_us))
        self._handle_effects(node.name, effects)

    def _handle_effects(self, name: str, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendBatch):
                self._enqueue(name, effect)
            elif isinstance(effect, RequestTimeProof):
                self._time_proof(name)
            elif isinstance(effect, RaiseAlarm):
                self.alarms.append((name, effect))

    def _handle_mediator(self, effects: Iterable[med.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, med.PersistRequest):
                self.mediator_requests[effect.request_ts_us] = effect.decision_time_us
            elif isinstance(effect, med.SendVerdict):
                # each recipient its own copy, as the mediator process sends it: the full
                # verdict only to the submitter
                self._enqueue("mediator", SendBatch(effect.message_id, effect.batch(),
                                                    effect.max_sequencing_time_us))
            elif isinstance(effect, med.RequestTimeProof):
                self._time_proof("mediator")
            elif isinstance(effect, med.RaiseAlarm):
                self.alarms.append(("mediator", effect))

    def _time_proof(self, name: str) -> None:
        self._ticks += 1
        batch = Batch((Envelope((MemberRecipient(self._member_id(name)),), b""),))
        self._enqueue(name, SendBatch(f"tick-{self._ticks}", batch, self.clock_us + MINUTE_US))

    # --- running --------------------------------------------------------------------------

    def run(self, *, advance_time: bool = False, max_steps: int = 10_000) -> int:
        """Sequence until nothing is pending (and, with `advance_time`, no deadline is left
        that a time proof would pass). Returns the number of steps."""
        steps = 0
        while steps < max_steps:
            if self.step():
                steps += 1
            elif not (advance_time and self._advance_time()):
                return steps
        raise AssertionError(f"no quiescence after {max_steps} steps (seed {self.seed})")

    def _advance_time(self) -> bool:
        deadlines = [n.machine.next_deadline_us() for n in self.participants.values()
                     if n.running]
        deadlines.append(self.mediator.next_deadline_us())
        due = [d for d in deadlines if d is not None]
        if not due:
            return False
        self.clock_us = max(self.clock_us, min(due) + 1)
        for node in self.participants.values():
            if node.running:
                self._handle_effects(node.name, node.machine.handle_timer(self.clock_us))
        self._handle_mediator(self.mediator.handle_timer(self.clock_us))
        return bool(self.outbox)

    def advance_clock(self, delta_us: int) -> None:
        self.clock_us += delta_us

    # --- failures -------------------------------------------------------------------------

    def stop(self, name: str) -> None:
        self.participants[name].running = False

    def start(self, name: str) -> None:
        node = self.participants[name]
        node.running = True
        backlog, node.backlog = node.backlog, []
        for event in backlog:
            self._participant_handles(node, event)

    def restart(self, name: str) -> None:
        """Crash and restart: a fresh machine rebuilt from the store only."""
        old = self.participants[name]
        node = self._new_participant(name, old.store)
        node.entropy, node.backlog = old.entropy, old.backlog
        self.participants[name] = node
        recent: list[tuple[str, int]] = []
        if old.store.clean_ts_us is not None:
            since_us = remembered_since_us(old.store.clean_ts_us,
                                           parameters_ever(self.domain.state))
            recent = old.store.recent_transactions(since_us)
        effects = node.machine.restore(
            list(old.store.in_flight.values()), list(old.store.pending.values()),
            self.domain.snapshot, recent_transactions=recent,
        )
        self._handle_effects(name, effects)
        self.start(name)

    def restart_mediator(self) -> None:
        """Crash and restart the mediator as its node does: a fresh machine fed the stored
        events from `replay_start_us` (the oldest undecided request, or the oldest whose root
        hash must still be remembered), with the effects discarded."""
        mediator = med.Mediator(self.domain.mediator.id, self.domain.mediator.key)
        events = self.delivered["mediator"]
        if events:
            clean_us = events[-1].timestamp_us
            undecided = [ts for ts, decided_us in self.mediator_requests.items()
                         if decided_us > clean_us]
            start_us = replay_start_us(clean_us, min(undecided, default=None),
                                       parameters_ever(self.domain.state))
            for event in events:
                if event.timestamp_us >= start_us:
                    mediator.handle_event(event, self.domain.snapshot(event.timestamp_us))
            mediator.skip_to(clean_us)
        self.mediator = mediator


def participant_step(machine: ParticipantMachine, store: SimParticipantStore,
                     event: SequencedEvent, snapshot: TopologySnapshot) -> list[Effect]:
    """One event through a participant machine as its shell does it: prepare, load the
    states it needs from the store, process, persist. Returns the effects (to send)."""
    prepared = machine.prepare_event(event, snapshot)
    wanted = machine.states_to_fetch(prepared)
    if not wanted.is_empty:
        machine.provide_states(*store.load_states(wanted))
    effects = machine.process(prepared)
    store.apply(effects, event.timestamp_us)
    machine.conflict_detector.evict_idle()
    return effects


def _size(request: SubmissionRequest) -> int:
    return 1024 + sum(len(e.content) for e in request.batch.envelopes)


def party_ids(network: SimNetwork, hints: Iterable[str]) -> frozenset[PartyId]:
    return frozenset(network.domain.party(h) for h in hints)



