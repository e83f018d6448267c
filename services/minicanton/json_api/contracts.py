"""What the JSON API says about contracts: active contracts, archivals and ledger updates, in
Daml's JSON shapes (``{"contractId", "templateId", "payload", "key"?, "signatories",
"observers", "agreementText"}``, ``{"archived": {"contractId", "templateId"}}``).

Payloads and keys are already in the Daml-LF JSON encoding here (the ledger client converts
protobuf values with the template's types); the query store keeps exactly these forms.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.offsets import Offset

NO_KEY = object()  # a template without a key: the JSON has no "key" at all


@dataclass(frozen=True, slots=True)
class ActiveContract:
    contract_id: str
    template_id: Identifier
    payload: object
    key: object  # the key's JSON, or NO_KEY
    signatories: tuple[str, ...]
    observers: tuple[str, ...]
    agreement_text: str = ""

    @property
    def stakeholders(self) -> frozenset[str]:
        return frozenset(self.signatories) | frozenset(self.observers)

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "contractId": self.contract_id,
            "templateId": str(self.template_id),
            "payload": self.payload,
            "signatories": list(self.signatories),
            "observers": list(self.observers),
            "agreementText": self.agreement_text,
        }
        if self.key is not NO_KEY:
            body["key"] = self.key
        return body


@dataclass(frozen=True, slots=True)
class ArchivedContract:
    contract_id: str
    template_id: Identifier

    def to_json(self) -> dict[str, object]:
        return {"contractId": self.contract_id, "templateId": str(self.template_id)}


ContractEvent = ActiveContract | ArchivedContract


def event_json(event: ContractEvent) -> dict[str, object]:
    """One element of an ``events`` array: ``{"created": …}`` or ``{"archived": …}``."""
    if isinstance(event, ActiveContract):
        return {"created": event.to_json()}
    return {"archived": event.to_json()}


@dataclass(frozen=True, slots=True)
class LedgerUpdate:
    """One flat transaction as a party set sees it: creates and archives, in ledger order."""

    offset: Offset
    events: tuple[ContractEvent, ...]


@dataclass(frozen=True, slots=True)
class ActiveContractSet:
    """The active contracts a filter selects, as of `offset`."""

    offset: Offset
    contracts: tuple[ActiveContract, ...]
