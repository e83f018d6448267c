"""Key rotation, revocation and proof of possession; trust level changes."""

from __future__ import annotations

import pytest
from topology_helpers import DELAY_US, T0_US, Domain, Member

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import MemberKind, ParticipantId
from minicanton.core.topology.errors import MemberKeyNotValid, TopologyAuthorizationError
from minicanton.core.topology.mappings import OwnerToKeyMapping, ParticipantState, TrustLevel
from minicanton.core.topology.transactions import TopologyChangeOp

MESSAGE = hash_of(HashPurpose.SUBMISSION_REQUEST, b"a submission")
PURPOSE = HashPurpose.SUBMISSION_REQUEST


def _onboarded() -> tuple[Domain, Member]:
    domain = Domain()
    domain.bootstrap(T0_US)
    return domain, domain.onboard("p1", T0_US + 1)


def test_rotation_then_revocation_of_the_old_key() -> None:
    domain, p1 = _onboarded()
    old, new = p1.key, domain.new_key()
    new_encryption = EncryptionKeyPair.generate(domain.entropy).public
    both = OwnerToKeyMapping(p1.id, (old.public, new.public),
                             (p1.encryption.public, new_encryption))
    added = domain.submit(both, T0_US + 1_000_000, new)
    only_new = OwnerToKeyMapping(p1.id, (new.public,), (new_encryption,))
    revoked = domain.submit(only_new, T0_US + 2_000_000)  # revocation needs no member signature

    old_sig = old.sign(MESSAGE, PURPOSE)
    new_sig = new.sign(MESSAGE, PURPOSE)
    snap = domain.state.snapshot
    before_add = snap(added.valid_from_us - 1)
    assert before_add.current_signing_key(p1.id) == old.public
    with pytest.raises(MemberKeyNotValid):
        before_add.verify_member_signature(p1.id, MESSAGE, PURPOSE, new_sig)
    during = snap(added.valid_from_us)
    during.verify_member_signature(p1.id, MESSAGE, PURPOSE, old_sig)
    during.verify_member_signature(p1.id, MESSAGE, PURPOSE, new_sig)
    assert during.current_signing_key(p1.id) == new.public
    assert during.current_encryption_key(p1.id) == new_encryption
    snap(revoked.valid_from_us - 1).verify_member_signature(p1.id, MESSAGE, PURPOSE, old_sig)
    after = snap(revoked.valid_from_us)
    assert not after.is_signing_key_valid(p1.id, old.fingerprint)
    with pytest.raises(MemberKeyNotValid):
        after.verify_member_signature(p1.id, MESSAGE, PURPOSE, old_sig)
    after.verify_member_signature(p1.id, MESSAGE, PURPOSE, new_sig)
    assert after.encryption_keys(p1.id) == (new_encryption,)


def test_removing_the_key_mapping_revokes_every_key() -> None:
    domain, p1 = _onboarded()
    removal = domain.submit(domain.key_mapping(p1), T0_US + 1_000_000,
                            op=TopologyChangeOp.REMOVE)
    signature = p1.key.sign(MESSAGE, PURPOSE)
    domain.state.snapshot(removal.valid_from_us - 1).verify_member_signature(
        p1.id, MESSAGE, PURPOSE, signature)
    gone = domain.state.snapshot(removal.valid_from_us)
    assert p1.id not in gone.members()
    with pytest.raises(MemberKeyNotValid):
        gone.verify_member_signature(p1.id, MESSAGE, PURPOSE, signature)


def test_a_valid_key_with_a_bad_signature_is_a_crypto_error() -> None:
    domain, p1 = _onboarded()
    snap = domain.state.snapshot(T0_US + 1 + DELAY_US)
    signature = p1.key.sign(MESSAGE, PURPOSE)
    other = hash_of(HashPurpose.SUBMISSION_REQUEST, b"another submission")
    with pytest.raises(CryptoError):
        snap.verify_member_signature(p1.id, other, PURPOSE, signature)


def test_adding_a_key_needs_proof_of_possession() -> None:
    domain, p1 = _onboarded()
    stranger = domain.new_key()
    mapping = OwnerToKeyMapping(p1.id, (p1.key.public, stranger.public), (p1.encryption.public,))
    without = domain.signed(mapping, p1.key)  # the old key cannot vouch for the new one
    with pytest.raises(TopologyAuthorizationError, match="missing signatures"):
        domain.state.accept(without, T0_US + 2)
    assert domain.state.accept(domain.signed(mapping, stranger, p1.key), T0_US + 2).newly_accepted


def test_onboarding_without_the_participants_signature_is_refused() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    p1 = domain.member(MemberKind.PARTICIPANT, "p1")
    with pytest.raises(TopologyAuthorizationError):
        domain.state.accept(domain.signed(domain.key_mapping(p1)), T0_US + 1)
    with pytest.raises(TopologyAuthorizationError, match="domain namespace"):
        domain.state.accept(domain.signed(domain.key_mapping(p1), p1.key, by_root=False),
                            T0_US + 1)


def test_vip_trust_level_takes_effect_at_its_effective_time() -> None:
    domain, p1 = _onboarded()
    participant = ParticipantId(p1.id)
    change = domain.submit(ParticipantState(participant, trust_level=TrustLevel.VIP),
                           T0_US + 1_000_000)
    assert not domain.state.snapshot(change.valid_from_us - 1).is_vip(participant)
    assert domain.state.snapshot(change.valid_from_us).is_vip(participant)
    attributes = domain.state.snapshot(change.valid_from_us).participant_attributes(participant)
    assert attributes is not None and attributes.trust_level is TrustLevel.VIP
