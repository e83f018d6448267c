"""Canonical bytes: every transaction round-trips, one transaction has one encoding, and no
change of a single byte of a signed transaction gets past decoding plus validation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from topology_helpers import T0_US, Domain

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import MemberId, MemberKind, PackageId, ParticipantId, PartyId, member_id
from minicanton.core.topology.errors import TopologyDecodeError, TopologyError
from minicanton.core.topology.mappings import (
    DomainParametersState,
    HostingParticipant,
    MediatorDomainState,
    NamespaceDelegation,
    OwnerToKeyMapping,
    ParticipantPermission,
    ParticipantState,
    PartyToParticipant,
    SequencerDomainState,
    TopologyMapping,
    TrustLevel,
    VettedPackages,
)
from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters
from minicanton.core.topology.transactions import (
    BROADCAST_MAGIC,
    SignedTopologyTransaction,
    TopologyBroadcast,
    TopologyChangeOp,
    TopologyTransaction,
)

_entropy = SeededEntropy(99)
SIGNING = [SigningKeyPair.generate(_entropy) for _ in range(5)]
ENCRYPTION = [EncryptionKeyPair.generate(_entropy).public for _ in range(3)]
NAMESPACES = [k.fingerprint for k in SIGNING]

hints = st.from_regex(r"[A-Za-z0-9_\-.]{1,12}", fullmatch=True)
namespaces = st.sampled_from(NAMESPACES)


def members(kind: MemberKind) -> st.SearchStrategy[MemberId]:
    return st.builds(lambda h, n: member_id(kind, h, n), hints, namespaces)


participants = members(MemberKind.PARTICIPANT).map(ParticipantId)
permissions = st.sampled_from(list(ParticipantPermission))
signing_keys = st.lists(st.sampled_from(SIGNING), min_size=1, max_size=4, unique=True).map(
    lambda ks: tuple(k.public for k in ks)
)
encryption_keys = st.lists(st.sampled_from(ENCRYPTION), min_size=1, max_size=3, unique=True)
parameters = st.builds(
    DomainParameters,
    confirmation_response_timeout_us=st.integers(1_000, 86_400_000_000),
    mediator_reaction_timeout_us=st.integers(1_000, 86_400_000_000),
    ledger_time_record_time_tolerance_us=st.integers(1_000, 86_400_000_000),
    topology_change_delay_us=st.integers(1, 3_600_000_000),
    max_request_size_bytes=st.integers(1024, 1 << 30),
    default_confirmation_policy=st.sampled_from(list(ConfirmationPolicy)),
)

mappings: st.SearchStrategy[TopologyMapping] = st.one_of(
    st.builds(lambda k, n: NamespaceDelegation(n, k.public, True),
              st.sampled_from(SIGNING), namespaces),
    st.builds(OwnerToKeyMapping, participants.map(MemberId), signing_keys,
              encryption_keys.map(tuple)),
    st.builds(ParticipantState, participants, permissions, st.sampled_from(list(TrustLevel))),
    st.builds(
        PartyToParticipant,
        st.builds(lambda h, n: PartyId(f"{h}::{n}"), hints, namespaces),
        st.dictionaries(participants, permissions, min_size=1, max_size=4).map(
            lambda d: tuple(HostingParticipant(p, perm) for p, perm in d.items())
        ),
    ),
    st.builds(MediatorDomainState, st.frozensets(members(MemberKind.MEDIATOR), min_size=1,
                                                 max_size=3)),
    st.builds(SequencerDomainState, st.frozensets(members(MemberKind.SEQUENCER), min_size=1,
                                                  max_size=3)),
    st.builds(VettedPackages, participants,
              st.frozensets(st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(PackageId),
                            max_size=4)),
    st.builds(DomainParametersState, parameters),
)
transactions = st.builds(
    TopologyTransaction, st.sampled_from(list(TopologyChangeOp)),
    st.integers(1, (1 << 32) - 1), mappings,
)
signers = st.lists(st.sampled_from(SIGNING), max_size=3, unique=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transactions, signers)
def test_signed_transactions_round_trip(
    tx: TopologyTransaction, keys: list[SigningKeyPair]
) -> None:
    signed = tx.sign(*keys)
    data = signed.to_bytes()
    decoded = SignedTopologyTransaction.from_bytes(data)
    assert decoded == signed
    assert decoded.to_bytes() == data
    assert TopologyTransaction.from_bytes(tx.to_bytes()) == tx
    assert decoded.hash == hash_of(HashPurpose.TOPOLOGY_TRANSACTION, tx.to_bytes())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_only_if_canonical(data: bytes) -> None:
    try:
        decoded = SignedTopologyTransaction.from_bytes(data)
    except TopologyDecodeError as err:
        assert err.error_id == "TOPOLOGY_TRANSACTION_DECODE_ERROR"
    else:
        assert decoded.to_bytes() == data


def _valid_onboarding() -> tuple[Domain, SignedTopologyTransaction]:
    domain = Domain(seed=11)
    domain.bootstrap(T0_US)
    participant = domain.member(MemberKind.PARTICIPANT, "p1")
    return domain, domain.signed(domain.key_mapping(participant), participant.key)


_ONBOARDING = _valid_onboarding()


def test_every_single_byte_change_is_rejected() -> None:
    domain, signed = _valid_onboarding()
    data = signed.to_bytes()
    domain.state.check(signed, T0_US + 1)  # the untampered one is fine
    for position in range(len(data)):
        for flip in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= flip
            try:
                decoded = SignedTopologyTransaction.from_bytes(bytes(tampered))
            except TopologyDecodeError:
                continue
            with pytest.raises(TopologyError):
                domain.state.check(decoded, T0_US + 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_random_edits_are_rejected_or_change_nothing(edits: list[tuple[int, int]]) -> None:
    domain, signed = _ONBOARDING
    data = bytearray(signed.to_bytes())
    for position, value in edits:
        data[position % len(data)] = value
    try:
        decoded = SignedTopologyTransaction.from_bytes(bytes(data))
    except TopologyDecodeError:
        return
    if decoded == signed:
        assert bytes(data) == signed.to_bytes()
        return
    with pytest.raises(TopologyError):
        domain.state.check(decoded, T0_US + 1)


def test_truncation_and_trailing_bytes_are_decode_errors() -> None:
    _, signed = _valid_onboarding()
    data = signed.to_bytes()
    for length in range(len(data)):
        with pytest.raises(TopologyDecodeError):
            SignedTopologyTransaction.from_bytes(data[:length])
    with pytest.raises(TopologyDecodeError):
        SignedTopologyTransaction.from_bytes(data + b"\x00")


def test_non_canonical_set_order_is_a_decode_error() -> None:
    sequencers = frozenset({member_id(MemberKind.SEQUENCER, h, NAMESPACES[0]) for h in "ab"})
    tx = TopologyTransaction(TopologyChangeOp.REPLACE, 1, SequencerDomainState(sequencers))
    data = tx.to_bytes()
    first, second = sorted(sequencers)
    swapped = data.replace(first.encode(), b"\x00" * len(first)).replace(
        second.encode(), first.encode()).replace(b"\x00" * len(first), second.encode())
    assert swapped != data
    with pytest.raises(TopologyDecodeError, match="canonical"):
        TopologyTransaction.from_bytes(swapped)


def test_unknown_mapping_code_and_version_are_decode_errors() -> None:
    tx = TopologyTransaction(TopologyChangeOp.REPLACE, 1,
                             MediatorDomainState(frozenset({member_id(MemberKind.MEDIATOR, "m",
                                                                      NAMESPACES[0])})))
    data = bytearray(tx.to_bytes())
    data[6] = 200  # the mapping code follows version, op and serial
    with pytest.raises(TopologyDecodeError, match="unknown topology mapping code"):
        TopologyTransaction.from_bytes(bytes(data))
    data = bytearray(tx.to_bytes())
    data[0] = 9
    with pytest.raises(TopologyDecodeError, match="format"):
        TopologyTransaction.from_bytes(bytes(data))


def test_broadcasts_round_trip_and_are_recognised_by_their_prefix() -> None:
    domain, signed = _ONBOARDING
    root = domain.state.transactions()[0].signed
    broadcast = TopologyBroadcast((root, signed))
    data = broadcast.to_bytes()
    assert data.startswith(BROADCAST_MAGIC)
    assert TopologyBroadcast.from_bytes(data) == broadcast
    for bad in (data[:-1], data + b"\x00", b"MCPM" + data[4:], data[:9] + b"\x00" * 4):
        with pytest.raises(TopologyDecodeError):
            TopologyBroadcast.from_bytes(bad)
