"""Seed 003's DvP across four participants (Bank, SR, Alice, Bob each on their own), through
the real participant and mediator machines and an in-memory sequencer."""

from __future__ import annotations

from decimal import Decimal

from tests.sim.dvp_flow import DvpContracts, create, setup_until_dvp, swap
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import (
    assert_ledgers_follow_the_ledger_model,
    check_invariants,
    completions_per_command,
    opened_as,
    request_timestamp,
    validated_at,
    view_messages_delivered,
)

from minicanton.codec.sequencer import event_to_proto
from minicanton.core.ids import MemberId
from minicanton.core.lf.value import NumericValue, PartyValue, TextValue
from minicanton.core.protocol.messages import RootHashMessage, encode_protocol_message
from minicanton.core.protocol.view_message import is_view_message
from minicanton.core.sequencing.batch import MemberRecipient
from minicanton.core.sequencing.events import Deliver


def run_dvp() -> tuple[SimNetwork, DvpContracts]:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    contracts = setup_until_dvp(net)
    swap(net, contracts)
    net.run()
    return net, contracts


NET, CONTRACTS = run_dvp()


def entities(net: SimNetwork, name: str, party: str) -> dict[str, str]:
    """Active contracts a party is a stakeholder of at a participant: entity -> owner hint."""
    found = {}
    for instance in net.store(name).active_for(net.domain.party(party)).values():
        owner = dict(instance.argument.fields).get("owner")
        found[instance.template_id.entity_name] = getattr(owner, "value", "").split("::")[0]
    return found


def test_the_swap_moves_the_iou_to_bob_and_the_share_to_alice() -> None:
    assert entities(NET, "alice", "Alice") == {"Share": "Alice"}
    assert entities(NET, "bob", "Bob") == {"Iou": "Bob"}
    assert entities(NET, "bank", "Bank") == {"Iou": "Bob"}
    assert entities(NET, "sr", "SR") == {"Share": "Alice"}
    for name in NET.participants:
        archived = NET.store(name).archived.keys()
        mine = {CONTRACTS.iou, CONTRACTS.share, CONTRACTS.proposal, CONTRACTS.dvp}
        assert not mine & NET.store(name).active.keys()
        assert archived <= mine


def test_every_ledger_holds_exactly_its_parties_projection() -> None:
    assert all(not c.rejection for n in NET.participants for _, c in NET.store(n).completions)
    assert_ledgers_follow_the_ledger_model(NET, NET.submitted)


def test_every_submission_completes_once_at_its_submitter() -> None:
    assert len(completions_per_command(NET)) == len(NET.submitted) == 5
    assert set(completions_per_command(NET).values()) == {1}
    swap_tx = CONTRACTS.swap
    assert swap_tx is not None
    (completion,) = NET.store("alice").completion_of("swap")
    assert completion.transaction_id == swap_tx.transaction_id


def test_the_buyer_keeps_the_divulged_share_until_the_swap_archives_it() -> None:
    accept_id = NET.submitted[3].transaction_id
    (accept,) = [e.commit.commit_set for e in NET.store("alice").transactions
                 if e.transaction_id == accept_id]
    assert [c.contract_id for c in accept.divulged] == [CONTRACTS.share]
    assert CONTRACTS.share not in NET.store("alice").divulged


def _swap_views(name: str) -> list[tuple[bytes, set[str]]]:
    swap_tx = CONTRACTS.swap
    assert swap_tx is not None
    opened = []
    for message in view_messages_delivered(NET, name, swap_tx.message_id):
        plaintext, view = opened_as(NET, name, message)
        kinds = {node.template_id.entity_name for node in view.subtree_nodes().values()}
        opened.append((plaintext, kinds))
    return opened


def test_bank_is_delivered_no_byte_of_any_share_view_and_sr_none_of_the_iou() -> None:
    swap_tx = CONTRACTS.swap
    assert swap_tx is not None
    share_ids = {CONTRACTS.share} | {
        cid for cid, c in swap_tx.result.created_contracts.items()
        if c.template_id.entity_name == "Share"}
    iou_ids = {CONTRACTS.iou} | {
        cid for cid, c in swap_tx.result.created_contracts.items()
        if c.template_id.entity_name == "Iou"}
    alice_views = {kinds_key for _, kinds_key in
                   ((p, frozenset(k)) for p, k in _swap_views("alice"))}
    assert frozenset({"Share"}) in alice_views and frozenset({"Iou"}) in alice_views
    for name, hidden_ids, hidden_party in (("bank", share_ids, "SR"), ("sr", iou_ids, "Bank")):
        views = _swap_views(name)
        assert len(views) == 2  # its leg's transfer and the create it causes
        for plaintext, kinds in views:
            assert kinds == ({"Iou"} if name == "bank" else {"Share"})
            assert not any(cid.encode() in plaintext for cid in hidden_ids)
            assert NET.domain.party(hidden_party).encode() not in plaintext
            assert (b"Share" if name == "bank" else b"Iou") not in plaintext


def test_no_envelope_of_the_swap_reaches_a_participant_it_is_not_addressed_to() -> None:
    swap_tx = CONTRACTS.swap
    assert swap_tx is not None
    ts = request_timestamp(NET, swap_tx.message_id)
    for name in NET.participants:
        me = MemberRecipient(MemberId(NET.domain.participants[name].id))
        (event,) = [e for e in NET.delivered[name] if e.timestamp_us == ts]
        assert isinstance(event.content, Deliver)
        for envelope in event.content.batch.envelopes:
            assert me in envelope.recipients
    bank_wrapped = {w.recipient for m in view_messages_delivered(NET, "bank", swap_tx.message_id)
                    for w in m.encrypted.wrapped_keys}
    assert NET.domain.participant_of("sr") not in bank_wrapped


def test_bank_is_not_told_that_alice_submitted_the_swap() -> None:
    """Seed 003 sender privacy (core review #2), on the bytes Bank's participant is delivered
    for the swap: the event names no sender, the root-hash message carries the root hash
    only, and Bank's views (it holds no root view) carry no submitter signature, so no
    signature by Alice's key either. Alice's participant is named only as a co-recipient of
    the views she is entitled to with Bank (as in Canton, whose recipients of a view are its
    informees' participants: Alice is an informee of the Iou transfer), never as submitter."""
    swap_tx = CONTRACTS.swap
    assert swap_tx is not None
    ts = request_timestamp(NET, swap_tx.message_id)
    (event,) = [e for e in NET.delivered["bank"] if e.timestamp_us == ts]
    assert isinstance(event.content, Deliver) and event.content.sender is None
    raw = event_to_proto(event).SerializeToString()
    alice = NET.domain.participants["alice"]
    envelopes = event.content.batch.envelopes
    views = list(view_messages_delivered(NET, "bank", swap_tx.message_id))
    as_co_recipient = sum(MemberRecipient(alice.id) in e.recipients for e in envelopes) + sum(
        w.recipient == alice.participant for m in views for w in m.encrypted.wrapped_keys)
    assert raw.count(alice.id.encode()) == as_co_recipient
    assert raw.count(alice.key.fingerprint.encode()) == as_co_recipient  # her id's namespace
    assert all(m.submitter_signature is None for m in views)
    roots = [e.content for e in envelopes if not is_view_message(e.content)]
    assert roots == [encode_protocol_message(RootHashMessage(swap_tx.root_hash))]
    assert NET.domain.participant_of("sr").encode() not in raw


def test_the_read_as_parties_of_a_submission_reach_no_informee() -> None:
    """Read-as only widens what the submitter's own lookup sees; Canton's submitter metadata
    has no read-as, so a root view's informees never learn them (review #12)."""
    net = SimNetwork()
    alice, bob = (PartyValue(net.domain.party(p)) for p in ("Alice", "Bob"))
    command = create("dvp:Iou", issuer=alice, owner=bob, amount=NumericValue(Decimal("1")),
                     currency=TextValue("USD"))
    prepared = net.submit("alice", command, act_as=["Alice"], read_as=["SR"],
                          command_id="read-as")
    net.run()
    assert validated_at(net, "bob", prepared).submitter is not None  # Bob holds the root view
    messages = list(view_messages_delivered(net, "bob", prepared.message_id))
    assert messages
    for message in messages:
        plaintext, _ = opened_as(net, "bob", message)
        assert net.domain.party("SR").encode() not in plaintext
    (completion,) = net.store("alice").completion_of("read-as")
    assert completion.accepted
