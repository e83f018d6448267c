"""Forged, tampered and wrongly signed topology transactions are rejected with
`TopologyAuthorizationError` (the alarm), and delegations grant and lose authority in time."""

from __future__ import annotations

import dataclasses

import pytest
from topology_helpers import DELAY_US, T0_US, Domain

from minicanton.core.crypto.signing import Signature
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import MemberKind
from minicanton.core.topology.errors import TopologyAuthorizationError
from minicanton.core.topology.mappings import (
    MediatorDomainState,
    NamespaceDelegation,
    SequencerDomainState,
)
from minicanton.core.topology.transactions import (
    SignedTopologyTransaction,
    TopologyChangeOp,
)


def _domain() -> tuple[Domain, MediatorDomainState]:
    domain = Domain()
    domain.bootstrap(T0_US)
    return domain, MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "m").id}))


def _rejected(domain: Domain, signed: SignedTopologyTransaction, at_us: int = T0_US + 1) -> str:
    count = len(domain.state)
    with pytest.raises(TopologyAuthorizationError) as caught:
        domain.state.accept(signed, at_us)
    assert caught.value.error_id == "TOPOLOGY_UNAUTHORIZED"
    assert len(domain.state) == count
    return caught.value.message


def test_signed_by_an_unknown_key_is_rejected() -> None:
    domain, mediators = _domain()
    _rejected(domain, domain.signed(mediators, domain.new_key(), by_root=False))


def test_an_extra_signature_by_an_unrelated_key_is_rejected_too() -> None:
    domain, mediators = _domain()
    message = _rejected(domain, domain.signed(mediators, domain.new_key()))
    assert "no authority" in message


def test_a_forged_signature_claiming_the_root_key_is_rejected() -> None:
    domain, mediators = _domain()
    forger = domain.new_key()
    genuine = domain.tx(mediators).sign(forger)
    forged = SignedTopologyTransaction(genuine.transaction, (
        Signature(domain.root.fingerprint, HashPurpose.TOPOLOGY_TRANSACTION,
                  genuine.signatures[0].raw),
    ))
    assert "bad signature" in _rejected(domain, forged)


def test_a_signature_for_another_purpose_is_rejected() -> None:
    domain, mediators = _domain()
    tx = domain.tx(mediators)
    wrong = domain.root.sign(tx.hash, HashPurpose.CONFIRMATION_RESPONSE)
    _rejected(domain, SignedTopologyTransaction(tx, (wrong,)))


def test_a_tampered_mapping_under_genuine_signatures_is_rejected() -> None:
    domain, mediators = _domain()
    genuine = domain.signed(mediators)
    evil = MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "evil").id}))
    tampered = SignedTopologyTransaction(
        dataclasses.replace(genuine.transaction, mapping=evil), genuine.signatures
    )
    _rejected(domain, tampered)
    reserialed = SignedTopologyTransaction(
        dataclasses.replace(genuine.transaction, serial=7), genuine.signatures
    )
    domain.state.accept(domain.tx(evil).sign(domain.root), T0_US + 1)
    with pytest.raises(TopologyAuthorizationError):
        # serial 2 is next for this key now; 7 would fail the serial check first
        domain.state.accept(dataclasses.replace(
            reserialed, transaction=dataclasses.replace(reserialed.transaction, serial=2)),
            T0_US + 2)


def test_nothing_is_authorised_before_the_root_certificate() -> None:
    domain = Domain()
    mediators = MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "m").id}))
    assert "no root certificate" in _rejected(domain, domain.signed(mediators))


def test_a_root_certificate_of_another_namespace_is_rejected() -> None:
    domain = Domain()
    other = domain.new_key()
    cert = NamespaceDelegation(other.fingerprint, other.public, True)
    assert "not this domain's" in _rejected(domain, domain.tx(cert).sign(other))


def test_a_delegated_key_signs_until_its_delegation_is_revoked() -> None:
    domain, mediators = _domain()
    operational = domain.new_key()
    delegation = NamespaceDelegation(domain.namespace, operational.public, False)
    domain.submit(delegation, T0_US + 1)
    sequencers = SequencerDomainState(frozenset({domain.member(MemberKind.SEQUENCER, "s").id}))
    assert domain.state.accept(domain.tx(sequencers).sign(operational), T0_US + 2).newly_accepted
    # A plain delegation cannot delegate further: only root delegations can.
    another = NamespaceDelegation(domain.namespace, domain.new_key().public, False)
    _rejected(domain, domain.tx(another).sign(operational), T0_US + 3)
    revoke_us = T0_US + 1_000_000
    domain.submit(delegation, revoke_us, op=TopologyChangeOp.REMOVE)
    # Sequenced before the revocation is effective, but it would itself become effective after
    # it: authority is judged at the transaction's own effective time, so it is refused.
    assert revoke_us + 1 < revoke_us + DELAY_US
    _rejected(domain, domain.tx(mediators).sign(operational), revoke_us + 1)
