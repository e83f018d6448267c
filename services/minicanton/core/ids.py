"""Identifiers, with one codec each.

Canton's unique identifiers are ``hint::namespace`` where the namespace is the fingerprint of
the key that owns it. Parties follow that shape (``alice::1220ab…``); members carry a
two-letter kind prefix as in Canton (``PAR::bank::1220…``, ``MED::…``, ``SEQ::…``, ``TOP::…``)
so a member id alone says what kind of node it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import NewType

from minicanton.core.errors import InvalidArgument

PartyId = NewType("PartyId", str)
ParticipantId = NewType("ParticipantId", str)
MemberId = NewType("MemberId", str)
RequestId = NewType("RequestId", str)
ContractIdStr = NewType("ContractIdStr", str)
TransactionId = NewType("TransactionId", str)
PackageId = NewType("PackageId", str)
Fingerprint = NewType("Fingerprint", str)

_HINT = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")
_NAMESPACE = re.compile(r"^[0-9a-f]{8,68}$")


class MemberKind(Enum):
    PARTICIPANT = "PAR"
    MEDIATOR = "MED"
    SEQUENCER = "SEQ"
    TOPOLOGY_MANAGER = "TOP"


@dataclass(frozen=True, slots=True)
class UniqueIdentifier:
    hint: str
    namespace: str

    def __post_init__(self) -> None:
        if not _HINT.match(self.hint):
            raise InvalidArgument(
                f"identifier hint {self.hint!r} must be 1-64 of [A-Za-z0-9_-.]"
            )
        if not _NAMESPACE.match(self.namespace):
            raise InvalidArgument(f"namespace {self.namespace!r} must be a hex fingerprint")

    def __str__(self) -> str:
        return f"{self.hint}::{self.namespace}"

    @classmethod
    def parse(cls, text: str) -> UniqueIdentifier:
        return _parse_unique_identifier(text)


@lru_cache(maxsize=4096)
def _parse_unique_identifier(text: str) -> UniqueIdentifier:
    """Memoised: every event and message names its members and parties again, and a parse
    validates both halves with regular expressions. A refusal raises, so it is not kept."""
    hint, sep, namespace = text.partition("::")
    if not sep:
        raise InvalidArgument(f"{text!r} is not of the form hint::namespace")
    return UniqueIdentifier(hint, namespace)


def party_id(hint: str, namespace: Fingerprint | str) -> PartyId:
    return PartyId(str(UniqueIdentifier(hint, namespace)))


def parse_party_id(text: str) -> PartyId:
    UniqueIdentifier.parse(text)
    return PartyId(text)


def member_id(kind: MemberKind, hint: str, namespace: Fingerprint | str) -> MemberId:
    return MemberId(f"{kind.value}::{UniqueIdentifier(hint, namespace)}")


@lru_cache(maxsize=4096)
def parse_member_id(text: str) -> tuple[MemberKind, UniqueIdentifier]:
    prefix, sep, rest = text.partition("::")
    if not sep:
        raise InvalidArgument(f"{text!r} is not a member id (KIND::hint::namespace)")
    try:
        kind = MemberKind(prefix)
    except ValueError:
        raise InvalidArgument(f"unknown member kind {prefix!r} in {text!r}") from None
    return kind, UniqueIdentifier.parse(rest)


def participant_id(hint: str, namespace: Fingerprint | str) -> ParticipantId:
    return ParticipantId(member_id(MemberKind.PARTICIPANT, hint, namespace))
