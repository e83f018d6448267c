"""The sequencer's registered members, as an immutable snapshot.

Members get a small number at registration (dense integers are what the event store keeps in
its recipient arrays). A snapshot resolves recipient groups to enabled members; disabled
members stay in it so old events can still name them as sender.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.ids import MemberId, MemberKind, parse_member_id
from minicanton.core.sequencing.batch import (
    GroupRecipient,
    MemberRecipient,
    Recipient,
    RecipientGroup,
)
from minicanton.core.sequencing.errors import UnknownRecipient

_GROUP_KINDS: dict[RecipientGroup, frozenset[MemberKind] | None] = {
    RecipientGroup.ALL_MEMBERS: None,
    RecipientGroup.ALL_PARTICIPANTS: frozenset({MemberKind.PARTICIPANT}),
    RecipientGroup.MEDIATOR_GROUP: frozenset({MemberKind.MEDIATOR}),
}


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member: MemberId
    number: int
    public_key: SigningPublicKey
    enabled: bool
    acknowledged_us: int = 0

    @property
    def kind(self) -> MemberKind:
        return parse_member_id(self.member)[0]


@dataclass(frozen=True, slots=True)
class MemberDirectory:
    by_id: Mapping[MemberId, MemberRecord]
    by_number: Mapping[int, MemberRecord] = field(default_factory=dict)
    groups: Mapping[RecipientGroup, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[MemberRecord]) -> MemberDirectory:
        by_id = {r.member: r for r in records}
        by_number = {r.number: r for r in by_id.values()}
        groups = {
            group: frozenset(
                r.number for r in by_id.values()
                if r.enabled and (kinds is None or r.kind in kinds)
            )
            for group, kinds in _GROUP_KINDS.items()
        }
        return cls(by_id, by_number, groups)

    def with_record(self, record: MemberRecord) -> MemberDirectory:
        return MemberDirectory.of([*[r for r in self.by_id.values()
                                     if r.member != record.member], record])

    def get(self, member: MemberId) -> MemberRecord | None:
        return self.by_id.get(member)

    def enabled(self, member: MemberId) -> MemberRecord | None:
        record = self.by_id.get(member)
        return record if record is not None and record.enabled else None

    def resolve(self, recipient: Recipient) -> frozenset[int]:
        """Member numbers a recipient names; `UnknownRecipient` for a member not enabled."""
        if isinstance(recipient, GroupRecipient):
            return self.groups.get(recipient.group, frozenset())
        assert isinstance(recipient, MemberRecipient)
        record = self.enabled(recipient.member)
        if record is None:
            raise UnknownRecipient(f"recipient {recipient.member} is not an enabled member")
        return frozenset({record.number})
