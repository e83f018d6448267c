"""A captured confirmation request, replayed: the sequencer deduplicates a resend of the same
send; a (faulty) sequencer that lets the same batch through twice gets the replay rejected by
the participants and the mediator. Either way the submission completes exactly once.

Its sender may also send it again under a fresh message id, after the original's decision
time: as long as the replay could pass the ledger time check (up to twice the tolerance after
the original) mediator and participants still remember its root hash, restarted or not, and
after that the ledger time check refuses it; a transaction that creates and archives nothing
(which activeness cannot object to) is never committed twice."""

from __future__ import annotations

from tests.sim.dvp_flow import create, created_id, exercise, iou
from tests.sim.harness import STEP_US, QueuedSend, SimNetwork
from tests.sim.ledger_checks import check_invariants, completions_per_command
from tests.sim.sim_domain import PROBE_PACKAGE, TOLERANCE_US, SimDomain

from minicanton.core.lf.value import Int64Value, PartyValue
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    MAGIC,
    ConfirmationResponse,
    LocalReject,
    MediatorResult,
    ProtocolMessage,
    Reject,
)
from minicanton.core.protocol.participant_outcomes import DUPLICATE_REQUEST
from minicanton.core.protocol.response_aggregation import MediatorRejectCode
from minicanton.core.protocol.validation import LEDGER_TIME
from minicanton.core.sequencing.events import Deliver


def captured(net: SimNetwork, message_id: str) -> QueuedSend:
    (send,) = [s for s in net.sequenced if s.message_id == message_id]
    return send


def issue(net: SimNetwork) -> str:
    return net.submit("bank", iou(net), act_as=["Bank"], command_id="issue").message_id


def test_resending_the_same_request_is_deduplicated_by_the_sequencer() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    message_id = issue(net)
    net.run()
    events = len(net.delivered["bank"])
    net.outbox.append(captured(net, message_id))
    net.run(advance_time=True)
    assert len([s for s in net.sequenced if s.message_id == message_id]) == 1
    assert len(net.delivered["bank"]) == events
    assert list(completions_per_command(net).values()) == [1]


def test_a_request_sequenced_twice_completes_once_and_the_replay_is_rejected() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    message_id = issue(net)
    net.run()
    first_ts = net.sequenced_at[message_id]
    replay_ts = net.sequence(captured(net, message_id), deduplicate=False)
    assert replay_ts is not None and replay_ts > first_ts
    net.run(advance_time=True)

    (completion,) = net.store("bank").completion_of("issue")
    assert completion.accepted
    assert list(completions_per_command(net).values()) == [1]
    for name in ("bank", "alice"):
        assert len(net.store(name).transactions) == 1
        assert len(net.store(name).active) == 1
        assert net.machine(name).pending_requests() == ()
    (replay_verdict,) = [e for n, e in net.alarms if n == "mediator"] or [None]
    assert replay_verdict is None  # the replay is rejected, not an alarm
    assert MediatorRejectCode.DUPLICATE_REQUEST.value in _replay_reject_codes(net, replay_ts)
    # the participants, too, recognise the replay
    assert _response_codes(net, replay_ts) == {DUPLICATE_REQUEST}


def test_a_replay_while_the_original_is_in_flight_is_rejected_and_the_original_commits() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    message_id = issue(net)
    original = net.submitted[-1]
    net.hold_responses(original)
    net.run()
    replay_ts = net.sequence(captured(net, message_id), deduplicate=False)
    net.run()
    net.release(original)
    net.run(advance_time=True)
    (completion,) = net.store("bank").completion_of("issue")
    assert completion.accepted
    assert len(net.store("alice").transactions) == 1
    assert replay_ts is not None
    assert MediatorRejectCode.DUPLICATE_REQUEST.value in _replay_reject_codes(net, replay_ts)


def _messages(net: SimNetwork, member: str) -> list[ProtocolMessage]:
    found = []
    for event in net.delivered[member]:
        if isinstance(event.content, Deliver):
            for envelope in event.content.batch.envelopes:
                if envelope.content.startswith(MAGIC):
                    found.append(decode_protocol_message(envelope.content))
    return found


def _replay_reject_codes(net: SimNetwork, replay_ts: int, submitter: str = "bank") -> set[str]:
    """Reject codes of the mediator's verdict on the request sequenced at `replay_ts`."""
    codes: set[str] = set()
    for message in _messages(net, submitter):
        if isinstance(message, MediatorResult) and message.request_ts_us == replay_ts:
            assert isinstance(message.verdict, Reject)
            codes |= {r.code for r in message.verdict.reasons}
    return codes


def _response_codes(net: SimNetwork, replay_ts: int) -> set[str]:
    """The local verdicts the participants sent the mediator for the replay."""
    return {
        m.local_verdict.code if isinstance(m.local_verdict, LocalReject) else "APPROVE"
        for m in _messages(net, "mediator")
        if isinstance(m, ConfirmationResponse) and m.request_ts_us == replay_ts
    }


# --- late replays: after the original's decision time ---------------------------------------

PROBE_HOSTING = {"bank": ("Bank",), "alice": ("Alice",)}
DUPLICATE = MediatorRejectCode.DUPLICATE_REQUEST.value
MARGIN_US = 10 * STEP_US


def gauge_network() -> tuple[SimNetwork, str]:
    """Bank's Gauge, observed by Alice (each on their own participant)."""
    net = SimNetwork(SimDomain(PROBE_HOSTING, (PROBE_PACKAGE,)))
    net.invariants.append(check_invariants)
    made = net.submit("bank", create("probe:Gauge", owner=PartyValue(net.domain.party("Bank")),
                                     reader=PartyValue(net.domain.party("Alice")),
                                     value=Int64Value(7)), act_as=["Bank"], command_id="gauge")
    net.run(advance_time=True)
    return net, created_id(made, "Gauge")


def read(net: SimNetwork, gauge: str, ledger_time_us: int | None = None) -> str:
    """Alice exercises the non-consuming Read (it creates and archives nothing); run it to
    the end."""
    prepared = net.submit("alice", exercise("probe:Gauge", gauge, "Read"), act_as=["Alice"],
                          command_id="read", ledger_time_us=ledger_time_us)
    net.run(advance_time=True)
    assert net.store("alice").completion_of("read")[0].accepted
    return prepared.message_id


def replay_at(net: SimNetwork, message_id: str, ts_us: int) -> int:
    """The captured request, sent again by its sender under a fresh message id so that it is
    sequenced at `ts_us`; the network then runs to quiescence. Returns its timestamp."""
    request = captured(net, message_id).signed.request
    assert net.clock_us < ts_us <= request.max_sequencing_time_us
    net.clock_us = ts_us - STEP_US
    net.send_raw("alice", request.batch, f"late-{ts_us}", request.max_sequencing_time_us)
    net.run(advance_time=True)
    return net.sequenced_at[f"late-{ts_us}"]


def _once_everywhere(net: SimNetwork) -> None:
    for name in PROBE_HOSTING:
        commands = [e.commit.transaction_id for e in net.store(name).transactions]
        assert len(commands) == len(set(commands)) == 2, name  # the create and the read


def test_a_late_replay_of_a_request_that_creates_and_archives_nothing_is_a_duplicate() -> None:
    """The worst case: the read's ledger time is a whole tolerance ahead of its record time,
    and the replay is sequenced a tolerance after that, long past the decision time; it
    still passes the ledger time check, so only the remembered root hash refuses it."""
    net, gauge = gauge_network()
    message_id = read(net, gauge, ledger_time_us=net.clock_us + TOLERANCE_US - MARGIN_US)
    first_ts = net.sequenced_at[message_id]
    late_ts = replay_at(net, message_id, first_ts + 2 * TOLERANCE_US - 2 * MARGIN_US)
    assert late_ts > net.domain.snapshot(first_ts).parameters.decision_deadline_us(first_ts)
    assert _replay_reject_codes(net, late_ts, "alice") == {DUPLICATE}
    assert _response_codes(net, late_ts) == {DUPLICATE_REQUEST}
    _once_everywhere(net)


def test_a_replay_past_twice_the_tolerance_fails_the_ledger_time_check() -> None:
    net, gauge = gauge_network()
    message_id = read(net, gauge)
    first_ts = net.sequenced_at[message_id]
    late_ts = replay_at(net, message_id, first_ts + 2 * TOLERANCE_US + 1)
    assert _replay_reject_codes(net, late_ts, "alice") == {LEDGER_TIME}
    assert _response_codes(net, late_ts) == {LEDGER_TIME}
    _once_everywhere(net)


def test_restarted_participants_and_mediator_still_refuse_a_late_replay() -> None:
    """Each rebuilds its memory: the participants from the transactions they committed in
    the window, the mediator by replaying its stored events from `replay_start_us`."""
    net, gauge = gauge_network()
    message_id = read(net, gauge, ledger_time_us=net.clock_us + TOLERANCE_US - MARGIN_US)
    first_ts = net.sequenced_at[message_id]
    net.run(advance_time=True)
    for name in PROBE_HOSTING:
        net.restart(name)
    net.restart_mediator()
    late_ts = replay_at(net, message_id, first_ts + 2 * TOLERANCE_US - 2 * MARGIN_US)
    assert _replay_reject_codes(net, late_ts, "alice") == {DUPLICATE}
    assert _response_codes(net, late_ts) == {DUPLICATE_REQUEST}
    _once_everywhere(net)
