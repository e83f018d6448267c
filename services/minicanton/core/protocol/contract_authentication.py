"""Authenticating the contracts a view discloses (Canton's `SerializableContractAuthenticator`).

Theory of operation
-------------------
A view carries the instances of the contracts it uses (`InputContract`) and creates
(`CreatedContract`); re-interpretation runs against exactly those instances, and an approval
stores them. Activeness checks ids only, so without this check a submitter could pair the id
of a real contract with forged contents (the Bank's Iou of 100 as an Iou of a million) and
have honest validators re-interpret, approve and store the forgery. Every contract a view
discloses must therefore be authentic:

- its id is the one its salt, creation time, template and argument give
  (`contract_id.authenticate_contract`: the id commits to them, and the salt travels with
  the contract);
- its signatories, observers and key (with maintainers) are what its template gives for its
  argument: they are a function of the two (the template id names its package by the hash
  of the source), so they are recomputed by re-running the contract's creation on its own —
  and a contract the template's `ensure` refuses was never created;
- a contract the view creates is, besides, exactly the instance of a create node of the
  view's core, created at the transaction's ledger time, and every such node has one: that
  instance (with its salt) is what an approval stores.

Failures are `ContractAuthenticationFailed` with the contract named. The checks are pure and
deterministic; a `ContractCheck` remembers the contracts it has passed, so a contract that
several held views disclose is checked once per request.
"""

from __future__ import annotations

from minicanton.core.errors import MinicantonError
from minicanton.core.lf.contract_id import ContractAuthenticationFailed, authenticate_contract
from minicanton.core.lf.engine import reinterpret
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.lf.transaction import ContractInstance, CreateNode
from minicanton.core.lf.value import Value
from minicanton.core.protocol.validation_views import OpenView

__all__ = ["ContractAuthenticationFailed", "ContractCheck"]


class _NoContracts:
    """The empty ledger a contract's creation is re-run against (its key is then free)."""

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        return None

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return None


class ContractCheck:
    """The contract checks of one request at one participant."""

    def __init__(self, registry: PackageRegistry, ledger_time_us: int) -> None:
        self._registry = registry
        self._ledger_time_us = ledger_time_us
        self._passed: set[ContractInstance] = set()

    def check_view(self, view: OpenView) -> None:
        """Raise `ContractAuthenticationFailed` unless every contract `view` and its
        subviews disclose is authentic (see the module docstring)."""
        for held in view.walk():
            for used in held.data.core_inputs:
                self.check_contract(used.contract)
            self._check_created(held)

    def check_contract(self, contract: ContractInstance) -> None:
        if contract in self._passed:
            return
        authenticate_contract(contract)
        self._check_metadata(contract)
        self._passed.add(contract)

    def _check_metadata(self, contract: ContractInstance) -> None:
        claimed = CreateNode(contract.contract_id, contract.template_id, contract.argument,
                             contract.signatories, contract.observers, contract.key)
        try:
            again = reinterpret(claimed, contract.salt or b"", contract.created_at_us,
                                _NoContracts(), self._registry)
        except MinicantonError as err:
            raise ContractAuthenticationFailed(
                f"contract {contract.contract_id} cannot be re-created: {err.message}"
            ) from None
        except (ValueError, KeyError, IndexError, TypeError, RecursionError) as err:
            # hostile contents must not crash us (as in validation's re-interpretation)
            raise ContractAuthenticationFailed(
                f"contract {contract.contract_id} cannot be re-created: {type(err).__name__}"
            ) from None
        created = again.transaction.nodes[0]
        assert isinstance(created, CreateNode)  # re-running a create gives a create
        if (created.signatories, created.observers, created.key) != (
            contract.signatories, contract.observers, contract.key
        ):
            raise ContractAuthenticationFailed(
                f"contract {contract.contract_id} claims signatories, observers or a key "
                "its template does not give it"
            )

    def _check_created(self, view: OpenView) -> None:
        creates = {node.contract_id: node for _, node in view.data.core_nodes
                   if isinstance(node, CreateNode)}
        disclosed = [c.contract for c in view.data.created_core]
        if sorted(creates) != sorted(c.contract_id for c in disclosed):
            raise ContractAuthenticationFailed(
                f"the view at {view.position} does not disclose exactly the contracts its "
                "core creates"
            )
        for contract in disclosed:
            node = creates[contract.contract_id]
            expected = ContractInstance(
                node.contract_id, node.template_id, node.argument, node.signatories,
                node.observers, node.key, self._ledger_time_us, contract.salt,
            )
            if contract != expected:
                raise ContractAuthenticationFailed(
                    f"contract {contract.contract_id} is not the one its create node makes"
                )
            authenticate_contract(contract)
