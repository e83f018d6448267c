"""A captured confirmation request, replayed: the sequencer deduplicates a resend of the same
send; a (faulty) sequencer that lets the same batch through twice gets the replay rejected by
the participants and the mediator. Either way the submission completes exactly once."""

from __future__ import annotations

from tests.sim.dvp_flow import iou
from tests.sim.harness import QueuedSend, SimNetwork
from tests.sim.ledger_checks import check_invariants, completions_per_command

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


def _replay_reject_codes(net: SimNetwork, replay_ts: int) -> set[str]:
    """Reject codes of the mediator's verdict on the request sequenced at `replay_ts`."""
    codes: set[str] = set()
    for message in _messages(net, "bank"):
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
