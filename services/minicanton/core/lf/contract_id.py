"""Node seeds and authenticated contract ids, derived hierarchically from the transaction seed.

Theory of operation
-------------------
The submitter draws one random `transaction_seed` per submission. Every action node gets a
seed that depends only on its parent's seed and its position under that parent:

- root action ``i``: ``hash_of(SUBMISSION_SEED, transaction_seed, i)``
- the ``j``-th child action of an exercise whose seed is ``s``: ``hash_of(SUBMISSION_SEED, s, j)``
  (``j`` counts every child action: creates, exercises, fetches and key lookups)

A create's *contract salt* is ``hash_of(CONTRACT_SALT, node_seed)`` and its contract id is
``"01" + hash_of(CONTRACT_ID, salt, ledger_time, template id, canonical argument bytes)`` in
hex. So ids are unique (distinct seeds) and unguessable (the seed, hence the salt, is secret
until the contract is disclosed), any subtree can be re-run on its own from its root's seed
producing the same ids (what Canton's per-view model-conformance check relies on), and — the
salt travelling with the contract (`ContractInstance.salt`) — anyone holding a contract can
check that its id commits to its contents (`authenticate_contract`), as Canton's
authenticated contract ids do (the id suffix, its `Unicum`, commits to the contract salt,
ledger time and contents). Revealing the salt reveals nothing else: it is a hash of the node
seed, and a create's seed seeds nothing below it. The rest of a contract's metadata
(signatories, observers, key and maintainers) is not hashed in: the template id names the
package by the hash of its source, so it is a function of the template and argument, which a
validator recomputes (`protocol.contract_authentication`). Indices are 4-byte and times 8-byte
big-endian. The version prefix "00" was the unauthenticated scheme (id = hash over the node
seed itself); such ids no longer authenticate.
"""

from __future__ import annotations

from minicanton.core.errors import MinicantonError
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.lf.binary_codec import encode_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.lf.value import RecordValue

CONTRACT_ID_VERSION_PREFIX = "01"
CONTRACT_SALT_BYTES = 32


class ContractAuthenticationFailed(MinicantonError):
    """A contract's id is not the one its salt, creation time and contents give."""

    error_id = "CONTRACT_AUTHENTICATION_FAILED"


def root_node_seed(transaction_seed: bytes, index: int) -> bytes:
    """The seed of the `index`-th root action of a transaction."""
    return hash_of(HashPurpose.SUBMISSION_SEED, transaction_seed, _u32(index)).digest


def child_node_seed(parent_seed: bytes, index: int) -> bytes:
    """The seed of the `index`-th child action of the exercise seeded with `parent_seed`."""
    return hash_of(HashPurpose.SUBMISSION_SEED, parent_seed, _u32(index)).digest


def contract_salt(node_seed: bytes) -> bytes:
    """The salt of the contract created by the node seeded with `node_seed`."""
    return hash_of(HashPurpose.CONTRACT_SALT, node_seed).digest


def contract_id_of(
    salt: bytes, ledger_time_us: int, template_id: Identifier, argument: RecordValue
) -> str:
    """The contract id that `salt`, the creation's ledger time and the contents give."""
    digest = hash_of(
        HashPurpose.CONTRACT_ID,
        salt,
        ledger_time_us.to_bytes(8, "big", signed=True),
        str(template_id),
        encode_value(argument),
    )
    return CONTRACT_ID_VERSION_PREFIX + digest.hex


def derive_contract_id(
    node_seed: bytes, ledger_time_us: int, template_id: Identifier, argument: RecordValue
) -> str:
    """The id of the contract created by the node seeded with `node_seed`."""
    return contract_id_of(contract_salt(node_seed), ledger_time_us, template_id, argument)


def authenticate_contract(contract: ContractInstance) -> None:
    """Raise `ContractAuthenticationFailed` unless `contract.contract_id` is the id its salt,
    creation time, template and argument give (a contract without its salt cannot be
    authenticated: whoever discloses a contract must disclose its salt)."""
    salt = contract.salt
    if salt is None or len(salt) != CONTRACT_SALT_BYTES:
        raise ContractAuthenticationFailed(
            f"contract {contract.contract_id} comes without its {CONTRACT_SALT_BYTES}-byte salt"
        )
    try:
        expected = contract_id_of(salt, contract.created_at_us, contract.template_id,
                                  contract.argument)
    except (OverflowError, ValueError) as err:  # a creation time beyond 64 bits, a bad value
        raise ContractAuthenticationFailed(
            f"contract {contract.contract_id} cannot be authenticated: {err}"
        ) from None
    if expected != contract.contract_id:
        raise ContractAuthenticationFailed(
            f"contract {contract.contract_id} does not match its contents: they give "
            f"{expected}"
        )


def _u32(index: int) -> bytes:
    return index.to_bytes(4, "big")
