"""`hides_nothing` agrees with `informee_verdict`: the mediator skips working out a recipient's
sight exactly for the verdicts `informee_verdict` would hand every recipient unchanged."""

from __future__ import annotations

from mediator_fixtures import DvpDomain

from minicanton.core.protocol.messages import Approve, Reject, RejectReason, Timeout
from minicanton.core.protocol.verdict_disclosure import Sight, hides_nothing, informee_verdict

DOMAIN = DvpDomain()
NO_SIGHT = Sight(frozenset(), frozenset())
VERDICTS = (
    Approve(),
    Reject((RejectReason("LOCKED_CONTRACTS", "iou1 is locked", DOMAIN.p("bank")),)),
    Reject((RejectReason("MEDIATOR_ROOT_HASH_MISMATCH", "a recipient got another root hash"),)),
    Timeout(()),
)


def test_a_verdict_hides_nothing_exactly_when_every_recipient_gets_it_as_it_is() -> None:
    for verdict in VERDICTS:
        unchanged = informee_verdict(verdict, DOMAIN.p("alice"), NO_SIGHT) is verdict
        assert hides_nothing(verdict) is unchanged, verdict


def test_only_an_approval_hides_nothing() -> None:
    assert [hides_nothing(v) for v in VERDICTS] == [True, False, False, False]
