"""What must hold after an explorer run, Byzantine member and faults notwithstanding.

The *virtual ledger* is the sequence, in the order their verdicts were sequenced (which is
when participants commit), of the full transactions of the requests whose verdict, as
sequenced, is an approval (a verdict the sequencer never
sequenced reached nobody, so nobody commits it). The full transaction is the one its
submitter built: the honest submission's, or the Byzantine member's altered one (a replay
carries the original's). Then, for the honest participants:

1. each one's ledger is exactly its parties' projection of the virtual ledger, in order;
2. the virtual ledger, in request-time order, consumes no contract twice and uses only
   contracts it created and has not consumed (for contracts with an honest signatory: the
   Byzantine member's own parties may double-spend what only they sign, Daml's integrity
   guarantee does not cover it);
3. every honest submission has exactly one completion, accepted iff it is in the virtual
   ledger;
4. no transaction in it was rejected by an honest informee participant;
5. every confirming party (signatory or actor) of every node hosted only on honest
   participants was approved for by one of them;
6. the mediator never sent two different verdicts for one request; nothing is left pending
   or locked; honest participants never refused a commit; with no Byzantine member nobody
   raised an alarm.

`local_checks` run after every step: what one participant's store can show on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

from tests.sim.byzantine import Byzantine
from tests.sim.faulty_network import FaultyNetwork
from tests.sim.network_workload import Scenario

from minicanton.core.lf.transaction import ExerciseNode, Transaction
from minicanton.core.protocol.commit_set import project
from minicanton.core.protocol.ledger_model import (
    acting_parties,
    preorder,
    signatories_or_maintainers,
)
from minicanton.core.protocol.mediator import verdict_message_id
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    MAGIC,
    Approve,
    ConfirmationResponse,
    LocalApprove,
    MediatorResult,
    ProtocolMessage,
)
from minicanton.core.protocol.submission import PreparedSubmission


class InvariantViolation(AssertionError):
    pass


class KnownGap(InvariantViolation):
    """A violation in a run that hit a gap already reported and not yet closed: `gap` names
    it, the message is the violation's. The explorer counts these apart (`--strict` fails
    them)."""

    def __init__(self, gap: str, message: str) -> None:
        super().__init__(f"[known gap: {gap}] {message}")
        self.gap = gap


# Open gaps: (name, recognises its signature in a run). None open now; the stale lock
# (tests/sim/test_sim_stale_lock.py) and the transparency gap
# (tests/sim/test_sim_transparency.py) that the explorer found are fixed.
KNOWN_GAPS: tuple[tuple[str, Callable[[RunView], bool]], ...] = ()


def check(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)


def local_checks(net: FaultyNetwork) -> None:
    for name, node in net.participants.items():
        if name == net.byzantine:
            continue
        store = node.store
        check(not store.active.keys() & store.archived.keys(), f"{name}: active and archived")
        check(not store.duplicates, f"{name} was to commit {store.duplicates} again")
        check(not store.unknown_archivals,
              f"{name} archived contracts it did not have: {store.unknown_archivals}")
        done = Counter((c.change_id.key, c.submission_id) for _, c in store.completions)
        check(max(done.values(), default=1) == 1, f"{name} completed a submission twice")


def sent_messages(net: FaultyNetwork, sender: str) -> Iterable[tuple[str, ProtocolMessage]]:
    """(message id, message) of what `sender` had sequenced."""
    for send in net.sequenced:
        if send.sender != sender:
            continue
        for envelope in send.signed.request.batch.envelopes:
            if envelope.content.startswith(MAGIC):
                yield send.message_id, decode_protocol_message(envelope.content)


class RunView:
    """The run's history, sorted out once."""

    def __init__(self, net: FaultyNetwork, scenario: Scenario, byz: Byzantine | None) -> None:
        self.net, self.scenario, self.byz = net, scenario, byz
        by_message = {p.message_id: p for p in net.submitted}
        if byz is not None:
            by_message.update(byz.replays)
        self.requests: dict[int, PreparedSubmission] = {
            ts: by_message[mid] for mid, ts in net.sequenced_at.items() if mid in by_message}
        verdicts: dict[int, set[bool]] = {}
        for _, message in sent_messages(net, "mediator"):
            if isinstance(message, MediatorResult):
                verdicts.setdefault(message.request_ts_us, set()).add(
                    isinstance(message.verdict, Approve))
        for ts, kinds in verdicts.items():
            check(len(kinds) == 1, f"the mediator sent both verdicts on request {ts}")
        # participants commit when the verdict comes: the verdicts' order is the ledger's
        self.approved = sorted((ts for ts, kinds in verdicts.items() if kinds == {True}),
                               key=lambda ts: net.sequenced_at[verdict_message_id(ts)])
        self.responses: dict[int, list[tuple[str, ConfirmationResponse]]] = {}
        for name in scenario.honest:
            for _, message in sent_messages(net, name):
                if isinstance(message, ConfirmationResponse):
                    self.responses.setdefault(message.request_ts_us, []).append((name, message))

    def ledger(self) -> list[tuple[int, PreparedSubmission]]:
        return [(ts, self.requests[ts]) for ts in self.approved]

    def honest_party(self, party: str) -> bool:
        return party not in self.byzantine_parties

    @property
    def byzantine_parties(self) -> frozenset[str]:
        byz = self.scenario.byzantine
        return frozenset(str(self.net.domain.party(h)) for h, on in self.scenario.hosts.items()
                         if byz in on)


def check_run(net: FaultyNetwork, scenario: Scenario, byz: Byzantine | None,
              honest_submissions: list[PreparedSubmission]) -> None:
    view = RunView(net, scenario, byz)
    try:
        for ts in view.approved:
            check(ts in view.requests, f"approved request {ts} was never sent as a request")
        ledger = view.ledger()
        _consumed_once(view, ledger)
        _completions(view, honest_submissions)
        _authorized(view, ledger)
        _quiescent(view)
        _honest_rejections(view, ledger)
        _projections(view, ledger)
    except InvariantViolation as violation:
        raise classified(view, violation) from violation


def classified(view: RunView, violation: InvariantViolation) -> InvariantViolation:
    """`violation` as a `KnownGap` when the run shows an open gap's signature."""
    if isinstance(violation, KnownGap):
        return violation
    for gap, shows in KNOWN_GAPS:
        if shows(view):
            return KnownGap(gap, str(violation))
    return violation


def _projections(view: RunView, ledger: list[tuple[int, PreparedSubmission]]) -> None:
    ids = Counter(p.transaction_id for _, p in ledger)
    check(max(ids.values(), default=1) == 1, f"a transaction is twice in the ledger: {ids}")
    for name in view.scenario.honest:
        hosted = frozenset(view.net.store(name).parties)
        expected = []
        for ts, prepared in ledger:
            projection = project(prepared.result.transaction, hosted)
            if projection.nodes:
                expected.append((ts, prepared.transaction_id, projection))
        actual = [(e.commit.record_time_us, e.transaction_id, e.commit.commit_set.projection)
                  for e in view.net.store(name).transactions]
        for want, got in zip(expected, actual, strict=False):
            check(want == got, f"{name}'s ledger differs from its projection of the virtual "
                               f"ledger at request {want[0]} (it has {got[0]})")
        check(len(expected) == len(actual),
              f"{name} has {len(actual)} transactions, its projection {len(expected)}")


def _consumed_once(view: RunView, ledger: list[tuple[int, PreparedSubmission]]) -> None:
    """In request-time order: conflict detection decides at a request's timestamp, so a
    request that only fetches a contract may commit after a later one consuming it."""
    created: dict[str, object] = {}
    consumed: dict[str, int] = {}
    for ts, prepared in sorted(ledger, key=lambda item: item[0]):
        result = prepared.result
        for contract_id, instance in result.input_contracts.items():
            if not any(view.honest_party(p) for p in instance.signatories):
                continue
            check(contract_id not in consumed, f"request {ts} uses {contract_id}, consumed "
                                               f"by request {consumed.get(contract_id)}")
            # the submitter learnt the contract with its salt (the proof of its id)
            check(created.get(contract_id) == replace(instance, salt=None),
                  f"request {ts} uses {contract_id}, never created as such")
        for node in result.transaction.nodes:
            if isinstance(node, ExerciseNode) and node.consuming:
                if node.contract_id in consumed and any(
                        view.honest_party(p) for p in node.signatories):
                    check(False, f"request {ts} consumes {node.contract_id} again")
                consumed.setdefault(node.contract_id, ts)
        created.update(result.created_contracts)


def _completions(view: RunView, honest_submissions: list[PreparedSubmission]) -> None:
    completions = {}
    for name in view.scenario.honest:
        for _, completion in view.net.store(name).completions:
            key = (completion.change_id.key, completion.submission_id)
            check(key not in completions, f"submission {key} completed twice")
            completions[key] = completion
    approved = {view.requests[ts].message_id for ts in view.approved}
    for prepared in honest_submissions:
        key = (prepared.change_id.key, prepared.submission.submission_id)
        check(key in completions, f"command {prepared.submission.command_id} never completed")
        accepted = completions[key].accepted
        check(accepted == (prepared.message_id in approved),
              f"command {prepared.submission.command_id} completed as accepted={accepted}, "
              f"its verdict disagrees")
    wanted = {(p.change_id.key, p.submission.submission_id) for p in honest_submissions}
    check(set(completions) <= wanted, "a completion for a command nobody submitted")


def _honest_rejections(view: RunView, ledger: list[tuple[int, PreparedSubmission]]) -> None:
    for ts, _ in ledger:
        for name, response in view.responses.get(ts, []):
            check(isinstance(response.local_verdict, LocalApprove),
                  f"request {ts} committed though honest {name} rejected it: "
                  f"{response.local_verdict}")


def _authorized(view: RunView, ledger: list[tuple[int, PreparedSubmission]]) -> None:
    for ts, prepared in ledger:
        approvals = {(name, party) for name, r in view.responses.get(ts, [])
                     if isinstance(r.local_verdict, LocalApprove) for party in r.confirming_parties}
        for party in sorted(_confirming(prepared.result.transaction)):
            if not view.honest_party(party):
                continue
            hosts = [n for n in view.scenario.honest
                     if party in view.net.store(n).parties]
            check(any((n, party) in approvals for n in hosts),
                  f"request {ts} commits on behalf of {party} with no approval from {hosts}")


def _confirming(transaction: Transaction) -> set[str]:
    parties: set[str] = set()
    for node_id in preorder(transaction):
        node = transaction.node(node_id)
        parties |= signatories_or_maintainers(node) | acting_parties(node)
    return parties


def _quiescent(view: RunView) -> None:
    net = view.net
    check(not net.mediator.pending_requests, "the mediator left requests undecided")
    for name in view.scenario.honest:
        machine = net.machine(name)
        check(machine.pending_requests() == (), f"{name} left requests pending")
        check(machine.conflict_detector.in_flight() == (), f"{name} left contracts locked")
        check(not net.store(name).in_flight, f"{name} left submissions in flight")
        refused = [a for n, a in net.alarms if n == name
                   and a.code == "PARTICIPANT_COMMIT_REFUSED"]
        check(not refused, f"{name} refused a commit: {refused[:1]}")
    if view.scenario.byzantine is None:  # alarms are evidence of misbehaviour, and none was
        check(not net.alarms, f"alarms with no Byzantine member: {net.alarms[:2]}")
