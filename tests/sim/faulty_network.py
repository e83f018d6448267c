"""The simulated network with faults: slow readers, unresponsive and crashing participants,
a crashing mediator, and a hook through which a Byzantine member rewrites its own sends.

Theory of operation
-------------------
`SimNetwork` delivers each sequenced event to all its recipients in one step. Here the
sequencer still gives one total order (events are appended to each recipient's stream in
timestamp order), but every member reads its stream at its own pace: `_deliver` only
appends to the member's inbox, and a step either sequences one pending send (chosen at
random: sends race to the sequencer) or lets one member read the next event of its inbox.
A *slow* member is picked rarely for a while; a *stopped* or *crashed* participant and a
crashed mediator read nothing, and the sequencer keeps their events, as the real one does.

A crash loses the member's sends that the sequencer has not yet sequenced (each with
probability one half: some were on the wire). What a restart does is what the nodes do:

* participant (`ParticipantNode.start`): a fresh machine from its store (clean position,
  in-flight submissions, pending requests with their locks, the transactions committed
  inside the replay-protection window) via the real `ParticipantMachine.restore`; it sends
  again the responses `restore` returns and the requests of in-flight submissions not yet
  sequenced and still in time (`submitter.unsequenced_sends`, same message ids, so the
  sequencer deduplicates a copy that did get through);
* mediator (`MediatorNode`): a fresh machine fed its stored events from `replay_start_us`
  (effects dropped), then the verdicts whose receipt it has not processed are sent again
  (`_resend_unsent`), while still in time.

Time moves on a sequenced send (a millisecond or two), on an explicit `advance_clock` (the
seed's "time passes"), and when nothing is pending and some running member has a deadline
(`run(advance_time=True)`, as `SimNetwork`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from tests.sim.harness import QueuedSend, SimNetwork
from tests.sim.sim_domain import SimDomain

from minicanton.core.protocol import mediator as med
from minicanton.core.protocol.participant_effects import Effect, SendBatch
from minicanton.core.protocol.replay_protection import (
    parameters_ever,
    remembered_since_us,
    replay_start_us,
)
from minicanton.core.protocol.submission import PreparedSubmission
from minicanton.core.sequencing.events import Deliver, SequencedEvent

SendFilter = Callable[[str, SendBatch], list[SendBatch]]
SLOW_WEIGHT = 0.05


class FaultyNetwork(SimNetwork):
    def __init__(self, domain: SimDomain, *, seed: int) -> None:
        super().__init__(domain, seed=seed, random_order=True)
        names = self._names()
        self.inbox: dict[str, deque[SequencedEvent]] = {n: deque() for n in names}
        self.processed: dict[str, list[SequencedEvent]] = {n: [] for n in names}
        self.slow_steps: dict[str, int] = {}  # member -> steps it stays slow
        self.mediator_up = True
        self.request_sends: dict[str, SendBatch] = {}  # the store's request payloads
        self.unsent_verdicts: dict[str, med.SendVerdict] = {}
        self.verdicts: dict[int, list[med.PersistVerdict]] = {}  # every decision taken
        self.send_filter: SendFilter | None = None  # a Byzantine member's rewriting
        self.byzantine: str | None = None  # its name: no invariant holds for its store
        self.local_checks: list[Callable[[FaultyNetwork], None]] = []
        self.lost: list[QueuedSend] = []

    # --- the sequencer's streams ----------------------------------------------------------

    def _deliver(self, name: str, event: SequencedEvent) -> None:
        self.delivered[name].append(event)
        self.inbox[name].append(event)

    def _readable(self, name: str) -> bool:
        if not self.inbox[name]:
            return False
        if name == "mediator":
            return self.mediator_up
        return self.participants[name].running

    def read(self, name: str) -> None:
        """`name` reads and handles the next event of its stream."""
        event = self.inbox[name].popleft()
        self.processed[name].append(event)
        if name == "mediator":
            if isinstance(event.content, Deliver) and event.content.message_id:
                self.unsent_verdicts.pop(event.content.message_id, None)
            snapshot = self.domain.snapshot(event.timestamp_us)
            self._handle_mediator(self.mediator.handle_event(event, snapshot))
        else:
            self._participant_handles(self.participants[name], event)

    def step(self) -> bool:
        readers = [n for n in self._names() if self._readable(n)]
        weights = [SLOW_WEIGHT if self.slow_steps.get(n, 0) > 0 else 1.0 for n in readers]
        choices: list[str | None] = [*readers]
        if self.outbox:
            choices.append(None)
            weights.append(max(1.0, len(readers) / 2))
        if not choices:
            return False
        picked = self.rng.choices(choices, weights)[0]
        for name in list(self.slow_steps):
            self.slow_steps[name] -= 1
        if picked is None:
            super().step()  # sequences one random send (its invariants run there)
            return True
        self.read(picked)
        for check in self.local_checks:
            check(self)
        return True

    def _advance_time(self) -> bool:
        if not self.mediator_up:
            return self._advance_participants_only()
        return super()._advance_time()

    def _advance_participants_only(self) -> bool:
        deadlines = [n.machine.next_deadline_us() for n in self.participants.values()
                     if n.running]
        due = [d for d in deadlines if d is not None]
        if not due:
            return False
        self.clock_us = max(self.clock_us, min(due) + 1)
        for node in self.participants.values():
            if node.running:
                self._handle_effects(node.name, node.machine.handle_timer(self.clock_us))
        return bool(self.outbox)

    # --- what members send ----------------------------------------------------------------

    def _enqueue(self, name: str, send: SendBatch) -> None:
        sends = [send]
        if self.send_filter is not None:
            sends = self.send_filter(name, send)
        for one in sends:
            super()._enqueue(name, one)

    def submit_prepared(self, name: str, prepared: PreparedSubmission) -> PreparedSubmission:
        self.request_sends[prepared.message_id] = SendBatch(
            prepared.message_id, prepared.batch, prepared.max_sequencing_time_us)
        return super().submit_prepared(name, prepared)

    def _handle_mediator(self, effects: Iterable[med.Effect]) -> None:
        effects = list(effects)
        for effect in effects:
            if isinstance(effect, med.PersistVerdict):
                self.verdicts.setdefault(effect.request_ts_us, []).append(effect)
            elif isinstance(effect, med.SendVerdict):
                self.unsent_verdicts[effect.message_id] = effect
        super()._handle_mediator(effects)

    # --- faults ---------------------------------------------------------------------------

    def slow(self, name: str, steps: int) -> None:
        self.slow_steps[name] = steps

    def start(self, name: str) -> None:
        self.participants[name].running = True  # its inbox is read by later steps

    def _lose_sends(self, name: str) -> None:
        kept = []
        for send in self.outbox:
            if send.sender == name and self.rng.random() < 0.5:
                self.lost.append(send)
            else:
                kept.append(send)
        self.outbox = kept

    def crash(self, name: str) -> None:
        self.participants[name].running = False
        self._lose_sends(name)

    def restart(self, name: str) -> None:
        """A fresh machine from the store alone, as `ParticipantNode.start` builds it."""
        old = self.participants[name]
        node = self._new_participant(name, old.store)
        node.entropy = old.entropy
        self.participants[name] = node
        recent: list[tuple[str, int]] = []
        if old.store.clean_ts_us is not None:
            since_us = remembered_since_us(old.store.clean_ts_us,
                                           parameters_ever(self.domain.state))
            recent = old.store.recent_transactions(since_us)
        effects: list[Effect] = list(node.machine.restore(
            list(old.store.in_flight.values()), list(old.store.pending.values()),
            self.domain.snapshot, recent_transactions=recent))
        for tracked in old.store.in_flight.values():
            if tracked.request_ts_us is None and tracked.max_sequencing_time_us > self.clock_us:
                effects.append(self.request_sends[tracked.message_id])
        self._handle_effects(name, effects)

    def crash_mediator(self) -> None:
        self.mediator_up = False
        self._lose_sends("mediator")

    def restart_mediator(self) -> None:
        mediator = med.Mediator(self.domain.mediator.id, self.domain.mediator.key)
        events = self.processed["mediator"]
        if events:
            clean_us = events[-1].timestamp_us
            undecided = [ts for ts, decided_us in self.mediator_requests.items()
                         if decided_us > clean_us and ts not in self.verdicts]
            start_us = replay_start_us(clean_us, min(undecided, default=None),
                                       parameters_ever(self.domain.state))
            for event in events:
                if event.timestamp_us >= start_us:
                    mediator.handle_event(event, self.domain.snapshot(event.timestamp_us))
            mediator.skip_to(clean_us)
        self.mediator = mediator
        self.mediator_up = True
        for verdict in list(self.unsent_verdicts.values()):
            if verdict.max_sequencing_time_us > self.clock_us:
                super()._handle_mediator([verdict])
