"""Authorization of topology transactions.

The domain's namespace is the single authority: its root certificate (a self-signed
`NamespaceDelegation` whose target key's fingerprint is the namespace) and the keys it
delegates to sign every topology transaction. Only root delegations may change delegations.
Where a member speaks for itself, it signs too: an `OwnerToKeyMapping` that adds a signing key
must carry a signature by that key (proof of possession), at onboarding and at every rotation.
A removal needs no signature from the member, so a lost or stolen key can always be revoked.
(X25519 encryption keys cannot sign; their possession is the member's own concern, as a member
that registers a key it does not hold only stops receiving its own views.)

Every signature present must come from a key the rules allow and must verify: an unknown
signer or a bad signature is a forgery or a tampering, never ignored. All failures raise
`TopologyAuthorizationError`, which members turn into an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.crypto.signing import SigningPublicKey, verify_signature
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import Fingerprint
from minicanton.core.topology.errors import TopologyAuthorizationError, TopologyMappingNotFound
from minicanton.core.topology.mappings import NamespaceDelegation, OwnerToKeyMapping
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.transactions import SignedTopologyTransaction, TopologyChangeOp


@dataclass(frozen=True, slots=True)
class RequiredSignatures:
    """At least one signature by a key of `one_of` (when not empty), one by each of `all_of`;
    keys in `may_sign` (a member's own keys in force, on its key mapping) may add theirs."""

    one_of: dict[Fingerprint, SigningPublicKey]
    all_of: dict[Fingerprint, SigningPublicKey]
    may_sign: dict[Fingerprint, SigningPublicKey]

    @property
    def allowed(self) -> dict[Fingerprint, SigningPublicKey]:
        return {**self.may_sign, **self.one_of, **self.all_of}


def validate(signed: SignedTopologyTransaction, snapshot: TopologySnapshot) -> None:
    """Check `signed` against the keys in force in `snapshot`; raise a typed error if it is not
    authorised, forged or tampered, or removes a mapping that is not there."""
    tx = signed.transaction
    if tx.operation is TopologyChangeOp.REMOVE and snapshot.mapping(tx.key) is None:
        raise TopologyMappingNotFound(f"nothing to remove for {tx.key}")
    required = required_signatures(signed, snapshot)
    _check_every_signature(signed, required.allowed)
    signers = signed.signers
    if required.one_of and signers.isdisjoint(required.one_of):
        raise TopologyAuthorizationError(
            f"{tx.key} needs a signature by a key of the domain namespace "
            f"{snapshot.domain_namespace}"
        )
    missing = sorted(required.all_of.keys() - signers)
    if missing:
        raise TopologyAuthorizationError(f"{tx.key} is missing signatures by {missing}")


def required_signatures(
    signed: SignedTopologyTransaction, snapshot: TopologySnapshot
) -> RequiredSignatures:
    tx = signed.transaction
    delegations = snapshot.namespace_delegations()
    namespace_keys = {fp: d.target_key for fp, d in delegations.items()}
    mapping = tx.mapping
    if isinstance(mapping, NamespaceDelegation):
        if mapping.namespace != snapshot.domain_namespace:
            raise TopologyAuthorizationError(
                f"namespace {mapping.namespace} is not this domain's ({snapshot.domain_namespace})"
            )
        if mapping.is_root_certificate:
            return RequiredSignatures({}, {mapping.namespace: mapping.target_key}, {})
        roots = {fp: d.target_key for fp, d in delegations.items() if d.is_root_delegation}
        return RequiredSignatures(_non_empty(roots, snapshot), {}, {})
    one_of = _non_empty(namespace_keys, snapshot)
    if not isinstance(mapping, OwnerToKeyMapping):
        return RequiredSignatures(one_of, {}, {})
    own_keys = {k.fingerprint: k for k in snapshot.signing_keys(mapping.member)}
    if tx.operation is TopologyChangeOp.REMOVE:
        return RequiredSignatures(one_of, {}, own_keys)
    added = {k.fingerprint: k for k in mapping.signing_keys if k.fingerprint not in own_keys}
    return RequiredSignatures(one_of, added, own_keys)


def _non_empty(
    keys: dict[Fingerprint, SigningPublicKey], snapshot: TopologySnapshot
) -> dict[Fingerprint, SigningPublicKey]:
    if not keys:
        raise TopologyAuthorizationError(
            f"the domain namespace {snapshot.domain_namespace} has no root certificate in force"
        )
    return keys


def _check_every_signature(
    signed: SignedTopologyTransaction, allowed: dict[Fingerprint, SigningPublicKey]
) -> None:
    tx_hash = signed.hash
    for signature in signed.signatures:
        key = allowed.get(signature.signed_by)
        if key is None:
            raise TopologyAuthorizationError(
                f"{signed.transaction.key} is signed by {signature.signed_by}, "
                "a key with no authority over it"
            )
        try:
            verify_signature(key, tx_hash, HashPurpose.TOPOLOGY_TRANSACTION, signature)
        except CryptoError as err:
            raise TopologyAuthorizationError(
                f"{signed.transaction.key}: bad signature by {signature.signed_by}: "
                f"{err.message}"
            ) from None
