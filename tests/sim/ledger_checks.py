"""Checks the simulation tests share: the ledger model against each participant's store, what
each participant was delivered, and the invariants checked after every step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from tests.sim.harness import SimNetwork

from minicanton.core.crypto.encryption import decrypt_view
from minicanton.core.protocol.commit_set import project
from minicanton.core.protocol.merkle import decode_tree
from minicanton.core.protocol.request_envelopes import sort_envelopes
from minicanton.core.protocol.submission import PreparedSubmission
from minicanton.core.protocol.validation import (
    ValidatedRequest,
    validate_payload,
)
from minicanton.core.protocol.validation_views import OpenView, open_views
from minicanton.core.protocol.view_message import (
    EncryptedViewMessage,
    decode_view_message,
    is_view_message,
)
from minicanton.core.sequencing.events import Deliver


def hosted_parties(net: SimNetwork, name: str) -> frozenset[str]:
    snapshot = net.domain.snapshot(net.clock_us)
    return frozenset(snapshot.parties_hosted_by(net.domain.participant_of(name)))


def assert_ledgers_follow_the_ledger_model(net: SimNetwork,
                                           accepted: list[PreparedSubmission]) -> None:
    """Each participant's ledger holds exactly its parties' projection of every accepted
    transaction, in order, with the transaction's own node ids."""
    for name in net.participants:
        hosted = hosted_parties(net, name)
        expected = [
            (p.transaction_id, project(p.result.transaction, hosted)) for p in accepted
            if project(p.result.transaction, hosted).nodes
        ]
        actual = [(e.transaction_id, e.commit.commit_set.projection)
                  for e in net.store(name).transactions]
        assert actual == expected, f"{name}'s ledger is not its parties' projection"


def view_messages_delivered(net: SimNetwork, name: str,
                            message_id: str | None = None) -> Iterator[EncryptedViewMessage]:
    """View messages delivered to `name` (in the event of request `message_id`, if given)."""
    request_ts = None
    if message_id is not None:
        request_ts = request_timestamp(net, message_id)
    for event in net.delivered[name]:
        if request_ts is not None and event.timestamp_us != request_ts:
            continue
        if isinstance(event.content, Deliver):
            for envelope in event.content.batch.envelopes:
                if is_view_message(envelope.content):
                    yield decode_view_message(envelope.content)


def request_timestamp(net: SimNetwork, message_id: str) -> int:
    """The sequencing time of a send, from its sender's receipt."""
    for sender_events in net.delivered.values():
        for event in sender_events:
            if isinstance(event.content, Deliver) and event.content.message_id == message_id:
                return event.timestamp_us
    raise AssertionError(f"request {message_id} was never sequenced")


def validated_at(net: SimNetwork, name: str, request: PreparedSubmission) -> ValidatedRequest:
    """What `name`'s validation makes of `request`, on the bytes it was delivered."""
    ts_us = net.request_ts(request)
    (event,) = [e for e in net.delivered[name] if e.timestamp_us == ts_us]
    assert isinstance(event.content, Deliver)
    arrived = sort_envelopes(ts_us, event.content.batch.envelopes)
    validated = validate_payload(ts_us, arrived.view_messages, arrived.root_hash_messages,
                                 net.machine(name).config.identity, net.domain.registry,
                                 net.domain.snapshot(ts_us))
    assert isinstance(validated, ValidatedRequest)
    return validated


def view_rejections(request: ValidatedRequest) -> list[str | None]:
    """Each held view's own rejection code (None: it passed), in position order."""
    return [None if v.rejection is None else v.rejection.code for v in request.views]


def opened_as(net: SimNetwork, name: str, message: EncryptedViewMessage) -> tuple[bytes, OpenView]:
    node = net.domain.participants[name]
    plaintext = decrypt_view(message.encrypted, node.participant, node.encryption)
    return plaintext, open_views(decode_tree(plaintext), message.view_position)


def completions_per_command(net: SimNetwork) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for name in net.participants:
        for _, completion in net.store(name).completions:
            counts[(completion.change_id.key, completion.submission_id)] += 1
    return counts


def check_invariants(net: SimNetwork) -> None:
    """After every step: no contract both active and archived; participants that host a
    stakeholder of a contract agree on its state; no submission completed twice; no
    transaction committed twice by a participant."""
    states: dict[str, dict[str, str]] = {}
    for name, node in net.participants.items():
        store = node.store
        assert not store.active.keys() & store.archived.keys(), f"{name}: active and archived"
        if not node.running:
            continue
        for contract_id in [*store.active, *store.archived]:
            status = "active" if contract_id in store.active else "archived"
            states.setdefault(contract_id, {})[name] = status
    for contract_id, seen in states.items():
        assert len(set(seen.values())) == 1, f"participants disagree on {contract_id}: {seen}"
    for key, count in completions_per_command(net).items():
        assert count == 1, f"submission {key} completed {count} times"
    for name, node in net.participants.items():
        ids = Counter(e.transaction_id for e in node.store.transactions)
        assert max(ids.values(), default=1) == 1, f"{name} committed a transaction twice: {ids}"
        # the store's defence in depth refused it: replay protection should have
        assert not node.store.duplicates, f"{name} was to commit {node.store.duplicates} again"
        assert not node.store.unknown_archivals, (
            f"{name} archived contracts it did not have: {node.store.unknown_archivals}")
    _check_shared_commits(net)


def _check_shared_commits(net: SimNetwork) -> None:
    """A transaction that archives or creates a contract is committed at every running
    participant hosting a stakeholder of that contract."""
    committed = {name: {e.transaction_id for e in node.store.transactions}
                 for name, node in net.participants.items() if node.running}
    for name in committed:
        for entry in net.store(name).transactions:
            commit_set = entry.commit.commit_set
            touched = [c.contract for c in commit_set.created]
            touched += [net.store(name).archived[c] for c in commit_set.archived]
            for contract in touched:
                for other, ids in committed.items():
                    if contract.stakeholders & net.store(other).parties:
                        assert entry.transaction_id in ids, (
                            f"{other} misses {entry.transaction_id}, committed at {name}")
