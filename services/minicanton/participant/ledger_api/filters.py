"""Request parsing shared by the read services: transaction filters and ledger offsets.

A `TransactionFilter` maps each requesting party to the templates it wants; a party with no
template filter wants every template (Daml's wildcard). Template ids are matched exactly; as a
convenience a template filter with an empty package id matches that ``module:Entity`` in any
package. Interface filters are refused (minicanton has no interfaces).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    ledger_offset_pb2,
    transaction_filter_pb2,
    value_pb2,
)
from minicanton.codec.ledger_api_values import identifier_from_proto
from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.identifier import Identifier, TemplateReference
from minicanton.core.memo import BoundedMemo
from minicanton.core.protocol.offsets import LedgerBoundary, Offset, parse_offset
from minicanton.participant.ledger_api.errors import invalid_field, missing_field

_ANY_PACKAGE = "any"  # stands in for an absent package id while the names are checked
TEMPLATE_REFERENCE_MEMO_ENTRIES = 1_024
# longer names are checked every call instead: the memo is bounded in bytes, not only entries
TEMPLATE_REFERENCE_MEMO_MAX_CHARS = 512
_TEMPLATE_REFERENCES: BoundedMemo[tuple[str, str, str], TemplateReference] = BoundedMemo(
    TEMPLATE_REFERENCE_MEMO_ENTRIES)


def template_reference_from_proto(pb: value_pb2.Identifier, path: str) -> TemplateReference:
    """A template id from a request; the package id may be empty (resolved by name).

    A well-formed reference is remembered under its exact three strings: a client names the
    same few templates in every command, and checking the names and building the reference
    (a protobuf message when the package id is empty) cost a tenth of SubmitAndWait's shell.
    The reference is a pure function of those strings and immutable; a malformed id is
    checked, and refused, every time (its error names the request's field)."""
    parts = (pb.package_id, pb.module_name, pb.entity_name)
    known = _TEMPLATE_REFERENCES.get(parts)
    if known is None:
        known = _checked_template_reference(pb, path)
        if sum(map(len, parts)) <= TEMPLATE_REFERENCE_MEMO_MAX_CHARS:
            _TEMPLATE_REFERENCES.put(parts, known)
    return known


def _checked_template_reference(pb: value_pb2.Identifier, path: str) -> TemplateReference:
    if pb.package_id:
        identifier = identifier_from_proto(pb, path)
        return TemplateReference(identifier.package_id, identifier.module_name,
                                 identifier.entity_name)
    named = value_pb2.Identifier(package_id=_ANY_PACKAGE, module_name=pb.module_name,
                                 entity_name=pb.entity_name)
    identifier = identifier_from_proto(named, path)
    return TemplateReference(None, identifier.module_name, identifier.entity_name)


def matches(reference: TemplateReference, template_id: Identifier) -> bool:
    return (reference.module_name == template_id.module_name
            and reference.entity_name == template_id.entity_name
            and reference.package_id in (None, template_id.package_id))


@dataclass(frozen=True, slots=True)
class PartyFilters:
    """Per requesting party, the templates it wants (None: all of them)."""

    by_party: Mapping[str, frozenset[TemplateReference] | None]

    @property
    def parties(self) -> frozenset[str]:
        return frozenset(self.by_party)

    @property
    def is_wildcard(self) -> bool:
        return all(templates is None for templates in self.by_party.values())

    def exact_templates(self) -> frozenset[Identifier] | None:
        """The templates to push down to the store, or None if it must return them all."""
        wanted: set[Identifier] = set()
        for templates in self.by_party.values():
            if templates is None or any(t.package_id is None for t in templates):
                return None
            wanted |= {Identifier(t.package_id or "", t.module_name, t.entity_name)
                       for t in templates}
        return frozenset(wanted)

    def witnesses(self, candidates: Iterable[str], template_id: Identifier) -> list[str]:
        """The requesting parties among `candidates` whose filter admits the template."""
        found = []
        for party in candidates:
            templates = self.by_party.get(party, frozenset())
            if templates is None or any(matches(t, template_id) for t in templates):
                found.append(party)
        return sorted(found)


def wildcard(parties: Iterable[str]) -> PartyFilters:
    return PartyFilters(dict.fromkeys(parties))


def party_filters(pb: transaction_filter_pb2.TransactionFilter, has_filter: bool
                  ) -> PartyFilters:
    if not has_filter or not pb.filters_by_party:
        raise missing_field("filter.filters_by_party")
    by_party: dict[str, frozenset[TemplateReference] | None] = {}
    for party, filters in pb.filters_by_party.items():
        if not party:
            raise invalid_field("filter.filters_by_party", "a party id is empty")
        by_party[party] = _templates(filters, f"filter.filters_by_party[{party!r}]")
    return PartyFilters(by_party)


def _templates(filters: transaction_filter_pb2.Filters, path: str
               ) -> frozenset[TemplateReference] | None:
    inclusive = filters.inclusive
    if inclusive.interface_filters:
        raise invalid_field(f"{path}.inclusive.interface_filters",
                            "interface filters are not supported: minicanton has no interfaces")
    ids = [*inclusive.template_ids, *(f.template_id for f in inclusive.template_filters)]
    if not ids:
        return None
    return frozenset(
        template_reference_from_proto(pb, f"{path}.inclusive.template_filters[{i}]")
        for i, pb in enumerate(ids)
    )


def offset_from_proto(pb: ledger_offset_pb2.LedgerOffset, name: str
                      ) -> Offset | LedgerBoundary:
    which = pb.WhichOneof("value")
    if which == "boundary":
        try:
            return LedgerBoundary(pb.boundary)
        except ValueError:
            raise invalid_field(name, f"unknown ledger boundary {pb.boundary}") from None
    if which == "absolute":
        try:
            return parse_offset(pb.absolute)
        except InvalidArgument as error:
            raise invalid_field(name, error.message) from None
    raise missing_field(name)


def offset_to_proto(offset: Offset) -> ledger_offset_pb2.LedgerOffset:
    return ledger_offset_pb2.LedgerOffset(absolute=offset)
