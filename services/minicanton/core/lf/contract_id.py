"""Node seeds and contract ids, derived hierarchically from the transaction seed.

Theory of operation
-------------------
The submitter draws one random `transaction_seed` per submission. Every action node gets a
seed that depends only on its parent's seed and its position under that parent:

- root action ``i``: ``hash_of(SUBMISSION_SEED, transaction_seed, i)``
- the ``j``-th child action of an exercise whose seed is ``s``: ``hash_of(SUBMISSION_SEED, s, j)``
  (``j`` counts every child action: creates, exercises, fetches and key lookups)

and a create's contract id is ``"00" + hash_of(CONTRACT_ID, node_seed, ledger_time, template
id, canonical argument bytes)`` in hex. So ids are unique (distinct seeds) and unguessable
(the seed is secret until the transaction is disclosed), and any subtree can be re-run on its
own from its root's seed, producing the same ids: what Canton's per-view model-conformance
check relies on. Indices are 4-byte and times 8-byte big-endian.
"""

from __future__ import annotations

from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.lf.binary_codec import encode_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.value import RecordValue

CONTRACT_ID_VERSION_PREFIX = "00"


def root_node_seed(transaction_seed: bytes, index: int) -> bytes:
    """The seed of the `index`-th root action of a transaction."""
    return hash_of(HashPurpose.SUBMISSION_SEED, transaction_seed, _u32(index)).digest


def child_node_seed(parent_seed: bytes, index: int) -> bytes:
    """The seed of the `index`-th child action of the exercise seeded with `parent_seed`."""
    return hash_of(HashPurpose.SUBMISSION_SEED, parent_seed, _u32(index)).digest


def derive_contract_id(
    node_seed: bytes, ledger_time_us: int, template_id: Identifier, argument: RecordValue
) -> str:
    """The id of the contract created by the node seeded with `node_seed`."""
    digest = hash_of(
        HashPurpose.CONTRACT_ID,
        node_seed,
        ledger_time_us.to_bytes(8, "big", signed=True),
        str(template_id),
        encode_value(argument),
    )
    return CONTRACT_ID_VERSION_PREFIX + digest.hex


def _u32(index: int) -> bytes:
    return index.to_bytes(4, "big")
