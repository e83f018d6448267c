"""Replay protection: how long the mediator and the participants remember a request.

Theory of operation
-------------------
Anyone who has seen a confirmation request's batch (its sender, or whoever captured it) can
have it sequenced again under a fresh message id: the sequencer deduplicates only (sender,
message id). Such a replay carries the same root hash, so the mediator and the participants
reject a request whose root hash they saw recently (`MEDIATOR_DUPLICATE_REQUEST`,
`LOCAL_VERDICT_DUPLICATE_REQUEST`). What makes "recently" finite is the participants' ledger
time check: a request passes it only if its ledger time `lt` is within ± tolerance of its own
record time (its sequencing timestamp). The original, sequenced at `t0`, passed it, so
`lt <= t0 + tolerance`; a replay sequenced at `t1` passes it only if `t1 <= lt + tolerance`,
hence only if `t1 <= t0 + 2 * tolerance`. A root hash remembered until then (inclusive) and
never less than the request's decision time (until which the request may still be in flight)
leaves no gap: a replay inside the window is a known duplicate, one after it fails the ledger
time check. Forgetting at the decision time alone (what minicanton did first) let a replay of
a transaction that creates and archives nothing, which activeness cannot object to, be
approved and committed a second time.

This is Canton's rule: its mediator keeps a request's UUID for `mediatorDeduplicationTimeout`,
which Canton's `DynamicDomainParameters` requires to be at least twice
`ledgerTimeRecordTimeTolerance` ("the time for how long a request will be stored at the
mediator for deduplication purposes. This must be at least twice the
ledgerTimeRecordTimeTolerance"). The tolerance used is the one in force at the request's
timestamp. Raising the tolerance widens the ledger time check for requests sequenced later
(a replay may then pass it up to `t0 + old + new`): Canton refuses such an increase unless
`old + new <= mediatorDeduplicationTimeout`, or until twice the new value has passed; here it
is the operator's duty (docs/adr/0005).

A restarted member rebuilds this memory: the mediator replays its stored events from
`replay_start_us`, the participant restores it from its pending requests and the transactions
it committed since `remembered_since_us` (a participant persists nothing about a request it
did not commit, so after a restart only the mediator still rejects the replay of a rejected
request; nothing can commit twice either way).
"""

from __future__ import annotations

from collections.abc import Iterable

from minicanton.core.topology.mappings import DomainParametersState, MappingCode, MappingKey
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.state import TopologyState

_PARAMETERS_KEY = MappingKey(MappingCode.DOMAIN_PARAMETERS_STATE, "domain")


def remember_span_us(parameters: DomainParameters) -> int:
    """How long after its sequencing a request's root hash must be remembered."""
    decision_span_us = parameters.decision_deadline_us(0)
    return max(decision_span_us, 2 * parameters.ledger_time_record_time_tolerance_us)


def remember_until_us(parameters: DomainParameters, request_ts_us: int) -> int:
    """The last timestamp at which a replay of the request sequenced at `request_ts_us` could
    pass the ledger time check or still be in flight (`parameters`: in force at it)."""
    return request_ts_us + remember_span_us(parameters)


def remembered_since_us(clean_ts_us: int, parameters: Iterable[DomainParameters]) -> int:
    """Every request a member must still remember once it processed up to `clean_ts_us` was
    sequenced at or after the returned time, whichever of `parameters` (every set ever in
    force) applied to it."""
    return clean_ts_us - max(remember_span_us(p) for p in parameters)


def replay_start_us(
    clean_ts_us: int, undecided_start_us: int | None, parameters: Iterable[DomainParameters]
) -> int:
    """Where a restarted mediator replays its stored events from: the oldest request still
    undecided at `clean_ts_us` (`undecided_start_us`, from its store), or earlier if a request
    sequenced before it must still be remembered."""
    since_us = remembered_since_us(clean_ts_us, parameters)
    return since_us if undecided_start_us is None else min(since_us, undecided_start_us)


def parameters_ever(state: TopologyState) -> tuple[DomainParameters, ...]:
    """The genesis parameters and every domain parameters change accepted since."""
    changes = tuple(
        stored.transaction.mapping.parameters
        for stored in state.history(_PARAMETERS_KEY)
        if isinstance(stored.transaction.mapping, DomainParametersState)
    )
    return (state.genesis_parameters, *changes)
