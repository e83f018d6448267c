"""Domain parameters: the issue's defaults, range checks with typed errors, deadlines."""

from __future__ import annotations

from dataclasses import replace

import pytest

from minicanton.core.topology.errors import InvalidDomainParameters
from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters


def test_defaults_are_cantons() -> None:
    p = DomainParameters()
    assert p.confirmation_response_timeout_us == 30_000_000
    assert p.mediator_reaction_timeout_us == 30_000_000
    assert p.ledger_time_record_time_tolerance_us == 60_000_000
    assert p.topology_change_delay_us == 250_000
    assert p.max_request_size_bytes == 10 * 1024 * 1024
    assert p.default_confirmation_policy is ConfirmationPolicy.SIGNATORY


def test_deadlines_follow_the_timeouts() -> None:
    p = DomainParameters(confirmation_response_timeout_us=2_000, mediator_reaction_timeout_us=3_000)
    assert p.participant_response_deadline_us(10_000) == 12_000
    assert p.decision_deadline_us(10_000) == 15_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("confirmation_response_timeout_us", 0),
        ("confirmation_response_timeout_us", -5),
        ("mediator_reaction_timeout_us", 999),
        ("ledger_time_record_time_tolerance_us", 86_400_000_001),
        ("topology_change_delay_us", 0),
        ("topology_change_delay_us", 3_600_000_001),
        ("max_request_size_bytes", 1023),
        ("max_request_size_bytes", True),
        ("topology_change_delay_us", 1.5),
        ("default_confirmation_policy", "SIGNATORY"),
    ],
)
def test_out_of_range_values_are_refused_with_a_typed_error(field: str, value: object) -> None:
    with pytest.raises(InvalidDomainParameters) as caught:
        replace(DomainParameters(), **{field: value})
    assert caught.value.error_id == "INVALID_DOMAIN_PARAMETERS"
    assert field in caught.value.message


def test_bounds_themselves_are_allowed() -> None:
    p = DomainParameters(topology_change_delay_us=1, max_request_size_bytes=1024,
                         confirmation_response_timeout_us=1_000)
    assert p.topology_change_delay_us == 1
