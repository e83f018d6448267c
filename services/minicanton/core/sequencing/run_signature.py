"""One signature for a run of events (or of submission requests), each still verifiable alone.

Theory of operation. A serving sequencer that has several events ready for one member signs
the root of a Merkle tree over their event hashes (HashPurpose.SEQUENCED_EVENT_RUN) instead of
signing each event; each event travels with the signature and its inclusion proof (the
sibling hashes from its leaf to the root). Whoever holds one event, its proof and the signature
can check that the sequencer signed exactly that event — the same evidence a per-event
signature gives, so a member can still store or show a single event — while the sequencer signs
once per run and a member verifies once per run (`RunSignatureCache` remembers the last root it
verified). The events of one run share most of their paths: folding each proof alone hashes
n·log2 n inner nodes, so the cache also remembers, for the run it is verifying (the same
signature), each inner node it hashed, keyed by the exact pair of digests it is the hash of:
a run's events received together cost n-1 inner hashes and one signature check, and each
event is still checked against the root its own proof leads to. A run of one event is signed
as before, over the event hash with HashPurpose.SEQUENCED_EVENT, with an empty proof. A
member's client signs the submission requests it has queued the same way
(HashPurpose.SUBMISSION_REQUEST_RUN), and the sequencer verifies once per run and sender.

Leaves are event hashes (purpose SEQUENCED_EVENT) and inner nodes hash with purpose
SEQUENCED_EVENT_RUN (for requests: SUBMISSION_REQUEST and SUBMISSION_REQUEST_RUN), so a leaf can
never pass for an inner node or the other way round. A level
of odd length carries its last node up unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from minicanton.core.crypto.signing import (
    Signature,
    SigningKeyPair,
    SigningPublicKey,
    verify_signature,
)
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import Fingerprint

MAX_PROOF_STEPS = 32  # 2**32 events in one run: anything longer is not ours


class ProofStep(NamedTuple):
    """A sibling digest on the path from a leaf to the root, and on which side it sits (a
    named tuple, not a dataclass: a member decodes one per event and tree level)."""

    sibling: bytes
    sibling_is_left: bool


RunProof = tuple[ProofStep, ...]


_NEW_TUPLE = tuple.__new__


def proof_step(sibling: bytes, sibling_is_left: bool) -> ProofStep:
    """A step built by the tuple constructor itself: the `__new__` a named tuple generates runs
    interpreted even here, and a run makes one step per event and tree level (ADR 17)."""
    return _NEW_TUPLE(ProofStep, (sibling, sibling_is_left))


def _node(purpose: HashPurpose, left: bytes, right: bytes) -> bytes:
    return hash_of(purpose, left, right).digest


def run_tree(leaves: Sequence[Hash], purpose: HashPurpose = HashPurpose.SEQUENCED_EVENT_RUN
             ) -> tuple[Hash, list[RunProof]]:
    """The root over `leaves` (at least one) and each leaf's inclusion proof."""
    if not leaves:
        raise ValueError("a run has at least one event")
    proofs: list[list[ProofStep]] = [[] for _ in leaves]
    members: list[list[int]] = [[index] for index in range(len(leaves))]
    level = [leaf.digest for leaf in leaves]
    while len(level) > 1:
        next_level: list[bytes] = []
        next_members: list[list[int]] = []
        for start in range(0, len(level) - 1, 2):
            left, right = level[start], level[start + 1]
            for index in members[start]:
                proofs[index].append(proof_step(right, False))
            for index in members[start + 1]:
                proofs[index].append(proof_step(left, True))
            next_level.append(_node(purpose, left, right))
            next_members.append(members[start] + members[start + 1])
        if len(level) % 2:
            next_level.append(level[-1])
            next_members.append(members[-1])
        level, members = next_level, next_members
    return Hash(level[0]), [tuple(proof) for proof in proofs]


def run_root(leaf: Hash, proof: RunProof,
             purpose: HashPurpose = HashPurpose.SEQUENCED_EVENT_RUN,
             nodes: dict[tuple[bytes, bytes], bytes] | None = None) -> Hash:
    """The root `proof` leads to from `leaf`. `nodes`: inner nodes hashed before under
    `purpose`, by the (left, right) pair each is the hash of; read and extended."""
    if len(proof) > MAX_PROOF_STEPS:
        raise ValueError(f"a run proof has at most {MAX_PROOF_STEPS} steps")
    node = leaf.digest
    for sibling, sibling_is_left in proof:
        if len(sibling) != len(node):
            raise ValueError("a run proof step's sibling is not a 32-byte hash")
        pair = (sibling, node) if sibling_is_left else (node, sibling)
        if nodes is None:
            node = _node(purpose, pair[0], pair[1])
            continue
        known = nodes.get(pair)
        if known is None:
            known = nodes[pair] = _node(purpose, pair[0], pair[1])
        node = known
    return Hash(node)


def sign_run(leaves: Sequence[Hash], key: SigningKeyPair, leaf_purpose: HashPurpose,
             run_purpose: HashPurpose) -> list[tuple[Signature, RunProof]]:
    """Each leaf's signature and proof: one leaf signed alone under `leaf_purpose`, several
    under one signature over their root (`run_purpose`)."""
    if len(leaves) == 1:
        return [(key.sign(leaves[0], leaf_purpose), ())]
    root, proofs = run_tree(leaves, run_purpose)
    signature = key.sign(root, run_purpose)
    return [(signature, proof) for proof in proofs]


def verify_in_run(key: SigningPublicKey, leaf: Hash, proof: RunProof, signature: Signature,
                  leaf_purpose: HashPurpose, run_purpose: HashPurpose,
                  cache: RunSignatureCache | None = None) -> None:
    """Raise `CryptoError` unless `key` signed `leaf` (empty proof) or the root `proof` leads
    to (`ValueError` for a malformed proof); with a `cache`, a root this key verified just
    before is not verified again."""
    if not proof:
        verify_signature(key, leaf, leaf_purpose, signature)
        return
    nodes = None if cache is None else cache.nodes_for(run_purpose, signature.raw)
    root = run_root(leaf, proof, run_purpose, nodes)
    if (cache is not None and signature.signed_by == key.fingerprint
            and cache.known(root, signature.raw, signature.signed_by)):
        return
    verify_signature(key, root, run_purpose, signature)
    if cache is not None:
        cache.remember(root, signature.raw, signature.signed_by)


MAX_REMEMBERED_NODES = 4096  # a run's inner nodes; more (never ours) starts the memory afresh


class RunSignatureCache:
    """The last run root whose signature a member verified: later events of the same run
    fold to the same root under the same signature, and need no second verification. And the
    inner nodes hashed for the run being verified (`nodes_for`): each is a pure function of
    the pair it is keyed by, so remembering it is exact; it is dropped when a run with another
    signature begins, which bounds it to one run."""

    def __init__(self) -> None:
        self._verified: tuple[Hash, bytes, Fingerprint] | None = None
        self._run: tuple[HashPurpose, bytes] | None = None
        self._nodes: dict[tuple[bytes, bytes], bytes] = {}

    def nodes_for(self, purpose: HashPurpose,
                  signature_raw: bytes) -> dict[tuple[bytes, bytes], bytes]:
        """The inner nodes (hashed under `purpose`) remembered for the run signed with
        `signature_raw`; a new, empty memory for any other run."""
        run = (purpose, signature_raw)
        if self._run != run or len(self._nodes) > MAX_REMEMBERED_NODES:
            self._run = run
            self._nodes = {}
        return self._nodes

    def known(self, root: Hash, signature_raw: bytes, signed_by: Fingerprint) -> bool:
        return self._verified == (root, signature_raw, signed_by)

    def remember(self, root: Hash, signature_raw: bytes, signed_by: Fingerprint) -> None:
        self._verified = (root, signature_raw, signed_by)
