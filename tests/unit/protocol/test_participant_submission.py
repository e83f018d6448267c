"""Building a confirmation request: who gets which envelope, the wire form of a view message,
and determinism (the same entropy gives the same batch, bit for bit)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.sim.dvp_flow import DvpContracts, exercise, setup_until_dvp
from tests.sim.harness import SimNetwork

from minicanton.core.entropy import SeededEntropy
from minicanton.core.errors import InvalidArgument
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import MemberId
from minicanton.core.protocol.merkle import entitled_parties
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    InformeeMessage,
    RootHashMessage,
    encode_protocol_message,
)
from minicanton.core.protocol.participant_effects import EmitCompletion, SendBatch
from minicanton.core.protocol.submission import (
    CommandSubmission,
    PreparedSubmission,
    build_request_tree,
    check_request_size,
    hosting_participants,
    interpret_submission,
    prepare_submission,
    request_message_id,
)
from minicanton.core.protocol.view_message import (
    EncryptedViewMessage,
    ViewMessageDecodeError,
    decode_view_message,
    encode_view_message,
    is_view_message,
)
from minicanton.core.sequencing.batch import MemberRecipient
from minicanton.core.sequencing.errors import RequestTooLarge

NOW_US_OFFSET = 10_000


@pytest.fixture(scope="module")
def dvp() -> tuple[SimNetwork, DvpContracts]:
    net = SimNetwork()
    return net, setup_until_dvp(net)


def prepare_swap(net: SimNetwork, contracts: DvpContracts, seed: bytes) -> PreparedSubmission:
    node = net.participants["alice"]
    submission = CommandSubmission((exercise("dvp:DvP", contracts.dvp, "Swap"),),
                                   frozenset({net.domain.party("Alice")}), "app", "swap", "s1")
    return prepare_submission(
        submission, identity=node.machine.config.identity,
        contracts=node.store.lookup([net.domain.party("Alice")]),
        registry=net.domain.registry, snapshot=net.domain.snapshot(net.clock_us),
        now_us=net.clock_us, max_sequencing_time_us=net.clock_us + 60_000_000,
        entropy=SeededEntropy(seed),
    )


def test_each_view_goes_to_exactly_the_participants_hosting_its_entitled_parties(dvp) -> None:
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    node = net.participants["alice"]
    snapshot = net.domain.snapshot(net.clock_us)
    tree = build_request_tree(
        prepared.submission, prepared.result, node.machine.config.identity, snapshot,
        net.clock_us, prepared.max_sequencing_time_us, SeededEntropy(b"one"))
    entitled = entitled_parties(tree)
    views = [e for e in prepared.batch.envelopes if is_view_message(e.content)]
    assert len(views) == len(entitled) == 5
    for envelope in views:
        message = decode_view_message(envelope.content)
        expected = hosting_participants(entitled[message.view_position], snapshot)
        assert {r.member for r in envelope.recipients if isinstance(r, MemberRecipient)} == (
            expected)
        assert message.recipients == expected  # keys are wrapped for those and no one else


def test_the_mediator_gets_the_informee_tree_and_each_informee_participant_a_root_hash(
        dvp) -> None:
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    mediator = MemberRecipient(net.domain.mediator.id)
    others = [e for e in prepared.batch.envelopes if not is_view_message(e.content)]
    informee = [e for e in others
                if isinstance(decode_protocol_message(e.content), InformeeMessage)]
    assert [e.recipients for e in informee] == [(mediator,)]
    root_hash_recipients = []
    for envelope in others:
        message = decode_protocol_message(envelope.content)
        if isinstance(message, RootHashMessage):
            assert message.root_hash == prepared.root_hash
            (participant, also) = envelope.recipients
            assert also == mediator
            root_hash_recipients.append(participant)
    assert {r.member for r in root_hash_recipients if isinstance(r, MemberRecipient)} == {
        MemberId(net.domain.participant_of(n)) for n in ("alice", "bob", "bank", "sr")}


def test_the_request_is_a_function_of_its_inputs_and_its_entropy(dvp) -> None:
    net, contracts = dvp
    first, again = prepare_swap(net, contracts, b"one"), prepare_swap(net, contracts, b"one")
    other = prepare_swap(net, contracts, b"two")
    assert first.batch == again.batch and first.message_id == again.message_id
    assert other.root_hash != first.root_hash
    assert first.message_id == request_message_id(first.root_hash)


def test_the_submitter_signs_the_root_hash_in_the_root_views_messages_only(dvp) -> None:
    """A subview's recipients are not told who submitted, not even by the signing key's
    fingerprint (seed 003 sender privacy, core review #2; Canton signs top-level views only)."""
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    snapshot = net.domain.snapshot(net.clock_us)
    alice = net.domain.participants["alice"]
    messages = [decode_view_message(e.content) for e in prepared.batch.envelopes
                if is_view_message(e.content)]
    roots = [m for m in messages if len(m.view_position) == 1]
    assert roots and len(roots) < len(messages)
    for message in messages:
        signature = message.submitter_signature
        if len(message.view_position) > 1:
            assert signature is None
            # her key's fingerprint is her id's namespace: it shows only inside her id, as
            # the recipient of her own key slot (she is entitled to every view)
            raw = encode_view_message(message)
            assert raw.count(alice.key.fingerprint.encode()) == raw.count(alice.id.encode()) == 1
            continue
        assert signature is not None
        snapshot.verify_member_signature(alice.id, prepared.root_hash,
                                         HashPurpose.ROOT_HASH_MESSAGE, signature)


def test_the_root_hash_messages_name_no_participant(dvp) -> None:
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    roots = [e for e in prepared.batch.envelopes if not is_view_message(e.content)
             and isinstance(decode_protocol_message(e.content), RootHashMessage)]
    assert len(roots) == 4
    assert all(encode_protocol_message(RootHashMessage(prepared.root_hash)) == e.content
               for e in roots)


def test_view_messages_have_exactly_one_encoding(dvp) -> None:
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    raw = next(e.content for e in prepared.batch.envelopes if is_view_message(e.content))
    message = decode_view_message(raw)
    assert encode_view_message(message) == raw
    for bad in (raw + b"\x00", raw[:-1], b"XXXX" + raw[4:], raw[:4] + b"\x09" + raw[5:]):
        with pytest.raises(ViewMessageDecodeError):
            decode_view_message(bad)
    with pytest.raises(InvalidArgument):
        replace(message, view_position=())
    assert isinstance(message, EncryptedViewMessage)


def test_a_version_1_view_message_signed_on_every_view_is_still_read(dvp) -> None:
    """Pending payloads kept from before review #2 hold version-1 view messages (a signature
    on every view, no presence byte): they decode, canonically, to the same message."""
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    raw = next(e.content for e in prepared.batch.envelopes if is_view_message(e.content)
               and len(decode_view_message(e.content).view_position) == 1)
    message = decode_view_message(raw)
    presence_at = len(b"MCEV") + 1 + 4 + 4 * len(message.view_position)
    assert raw[len(b"MCEV")] == 2 and raw[presence_at] == 1
    legacy = b"MCEV\x01" + raw[len(b"MCEV") + 1:presence_at] + raw[presence_at + 1:]
    assert decode_view_message(legacy) == message
    unsigned = encode_view_message(replace(message, submitter_signature=None))
    assert decode_view_message(unsigned).submitter_signature is None
    for bad in (legacy + b"\x00", unsigned[:presence_at] + b"\x02" + unsigned[presence_at + 1:]):
        with pytest.raises(ViewMessageDecodeError):
            decode_view_message(bad)


def test_interpretation_uses_the_given_ledger_time(dvp) -> None:
    net, contracts = dvp
    node = net.participants["alice"]
    submission = CommandSubmission((exercise("dvp:DvP", contracts.dvp, "Swap"),),
                                   frozenset({net.domain.party("Alice")}), "app", "swap", "s1",
                                   ledger_time_us=net.clock_us - NOW_US_OFFSET)
    result = interpret_submission(submission, node.store.lookup([net.domain.party("Alice")]),
                                  net.domain.registry, net.clock_us, SeededEntropy(b"x"))
    assert result.ledger_time_us == net.clock_us - NOW_US_OFFSET


def test_a_request_larger_than_the_domain_allows_is_refused_before_it_is_sent(dvp) -> None:
    """Shells review #6: the submitter checks the size against the domain parameter."""
    net, contracts = dvp
    prepared = prepare_swap(net, contracts, b"one")
    size = sum(len(e.content) for e in prepared.batch.envelopes)
    check_request_size(prepared.batch, size)  # at the limit: fine
    with pytest.raises(RequestTooLarge) as refused:
        check_request_size(prepared.batch, size - 1)
    assert refused.value.error_id == "SEQUENCER_REQUEST_TOO_LARGE"
    snapshot = net.domain.snapshot(net.clock_us)
    small = replace(snapshot, genesis_parameters=replace(snapshot.genesis_parameters,
                                                         max_request_size_bytes=1024))
    assert small.parameters.max_request_size_bytes == 1024
    node = net.participants["alice"]
    submission = CommandSubmission((exercise("dvp:DvP", contracts.dvp, "Swap"),),
                                   frozenset({net.domain.party("Alice")}), "app", "swap", "s1")
    with pytest.raises(RequestTooLarge):
        node.machine.prepare_submission(
            submission, node.store.lookup([net.domain.party("Alice")]), small, net.clock_us,
            SeededEntropy(b"one"))


def test_a_request_the_sequencer_refuses_completes_at_once_with_its_error(dvp) -> None:
    """Shells review #6: not a NOT_SEQUENCED_TIMEOUT at the max sequencing time."""
    net, contracts = dvp
    node = net.participants["alice"]
    prepared = prepare_swap(net, contracts, b"refused")
    assert [type(e) for e in node.machine.submit(prepared)] == [SendBatch]
    (effect,) = node.machine.send_refused(prepared.message_id, "SEQUENCER_REQUEST_TOO_LARGE",
                                          "request of 2097152 bytes exceeds 1048576")
    assert isinstance(effect, EmitCompletion)
    completion = effect.completion
    assert completion.change_id == prepared.change_id and completion.rejection is not None
    assert completion.rejection.error_id == "SEQUENCER_REQUEST_TOO_LARGE"
    assert "exceeds 1048576" in completion.rejection.message
    assert prepared.change_id.key not in {t.change_id.key
                                          for t in node.machine.tracked_submissions()}
    assert node.machine.send_refused(prepared.message_id, "X", "again") == []  # once only
    assert node.machine.send_refused("not-ours", "X", "a response of ours") == []
