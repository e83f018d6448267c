"""Dynamic domain parameters, changed only through a signed topology transaction.

Every member reads them from the topology snapshot at a request's timestamp, so all evaluate
timeouts and tolerances alike. The bounds below keep a typo (seconds for microseconds, a
negative value) from reaching a running domain.

Compiled with mypyc (ADR 16), a native class would check each field's Python type on
assignment and answer a float with a TypeError (and take a bool as the int it equals) before
`__post_init__` runs. `DomainParameters` is therefore a regular Python class
(`native_class=False`, its methods still compiled), and `__post_init__` reads every field as
it was passed, untyped, so a wrong type is an `InvalidDomainParameters` in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mypy_extensions import mypyc_attr

# One policy enum for the whole code base: the protocol's, which evaluates it.
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.topology.errors import InvalidDomainParameters

__all__ = ["MILLISECOND_US", "SECOND_US", "ConfirmationPolicy", "DomainParameters"]

SECOND_US = 1_000_000
MILLISECOND_US = 1_000
_DAY_US = 86_400 * SECOND_US


@mypyc_attr(native_class=False)  # the checks must see what was passed (module doc)
@dataclass(frozen=True, slots=True)
class DomainParameters:
    """Canton's dynamic domain parameters that minicanton uses, with Canton's defaults.

    `topology_change_delay_us` must be positive: then every change is effective strictly after
    its sequencing time, so the snapshot at an event's timestamp depends only on events sequenced
    before it and a member processing events in order always has it complete.
    """

    confirmation_response_timeout_us: int = 30 * SECOND_US
    mediator_reaction_timeout_us: int = 30 * SECOND_US
    ledger_time_record_time_tolerance_us: int = 60 * SECOND_US
    topology_change_delay_us: int = 250 * MILLISECOND_US
    max_request_size_bytes: int = 10 * 1024 * 1024
    default_confirmation_policy: ConfirmationPolicy = ConfirmationPolicy.SIGNATORY

    def __post_init__(self) -> None:
        for name, low, high in _RANGES:
            _check_range(name, _as_passed(self, name), low, high)
        policy = _as_passed(self, "default_confirmation_policy")
        if not isinstance(policy, ConfirmationPolicy):
            raise InvalidDomainParameters(
                f"default_confirmation_policy must be a ConfirmationPolicy, got {policy!r}"
            )

    def participant_response_deadline_us(self, request_ts_us: int) -> int:
        """Confirmations for a request sequenced at `request_ts_us` must be sequenced by this."""
        return request_ts_us + self.confirmation_response_timeout_us

    def decision_deadline_us(self, request_ts_us: int) -> int:
        """The mediator's verdict must be sequenced by this (Canton's decision time)."""
        return self.participant_response_deadline_us(request_ts_us) + (
            self.mediator_reaction_timeout_us
        )


_RANGES: tuple[tuple[str, int, int], ...] = (
    ("confirmation_response_timeout_us", MILLISECOND_US, _DAY_US),
    ("mediator_reaction_timeout_us", MILLISECOND_US, _DAY_US),
    ("ledger_time_record_time_tolerance_us", MILLISECOND_US, _DAY_US),
    ("topology_change_delay_us", 1, 3600 * SECOND_US),
    ("max_request_size_bytes", 1024, 1 << 30),
)


def _as_passed(instance: object, field: str) -> object:
    """A field as it was passed, before compiled code would coerce it to its declared type."""
    return getattr(instance, field)


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDomainParameters(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise InvalidDomainParameters(f"{name} must be in [{low}, {high}], got {value}")
