"""Mediator active-passive failover under load, with real processes (DESIGN.md §4 "Mediator
active-passive", §7 "HA"): two instances of one mediator share its database, Iou creates
stream through Bank's Ledger API, and the active instance is

* killed with SIGKILL mid-load: the passive takes the lease and carries on;
* stopped with SIGSTOP past its lease TTL, then continued: by then the other instance holds
  the lease, and the old one must stop (exit 3) without sending a single verdict. The
  mediator logs as it hands verdicts to its sequencer client, once it knows the lease is
  still its own: each rejection and timeout ("verdict on request"), and a summary of all
  verdicts ("... verdicts to the sequencer") at the first one handed over after a second or
  more since the last summary, so at the first one after a pause past the TTL; the woken
  instance's log must show neither;
* paused together with the passive one for longer than the decision time: requests
  submitted meanwhile time out, with a reason, alike on both participants; then either
  instance leads (a lease that lapsed while nobody took it is still its holder's);
* left alone (the passive one stopped) and paused past its TTL: it wakes and carries on.

Each case asserts that every submitted command was answered exactly once — committed, and then
in the submitter's ledger exactly once, or rejected with a clear reason and in no ledger —
that Bank's and Alice's participants hold the same transactions, that the lease moved within
its TTL plus a generous margin, and that for every request the sequencer sequenced at most one
verdict, exactly what the mediator stored. Waits are generous and nothing asserts a rate or a
latency: the machine running this is small and shared.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tests.system.mediator.failover import (
    LEASE_TTL_MS,
    FailoverDomain,
    IouLoad,
    lease,
    ledger_findings,
    log_since,
    log_size,
    summary,
    until_lease_moves,
    verdict_findings,
    wait_for_log,
)
from tests.system.participant.harness import LedgerClient
from tests.system.protocol.network import DVP

from minicanton.mediator.verdict_log import SUMMARY_TEXT
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
TAKEOVER_MARGIN_S = 20.0  # activation on a loaded 2-core machine: domain lookup, replay, TOFU
COMMITS_BEFORE = 15
COMMITS_AFTER = 15
EXIT_LEASE_LOST = 3
DECISION_TIME_S = 10  # the harness's response timeout (5 s) + mediator reaction timeout (5 s)


@pytest_asyncio.fixture(scope="module")
async def failover(postgres_cluster: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory,
                   ) -> AsyncIterator[tuple[FailoverDomain, LedgerClient, LedgerClient]]:
    domain = FailoverDomain(postgres_cluster, Path(tmp_path_factory.mktemp("failover")),
                            sequencer_instances=1)
    clients: list[LedgerClient] = []
    try:
        await domain.start()
        for name in ("bank", "alice"):
            clients.append(LedgerClient(await domain.add_participant(name)))
            await clients[-1].upload(DVP)
        yield domain, clients[0], clients[1]
    finally:
        for client in clients:
            await client.close()
        for node in domain.nodes:  # a test that failed may leave one SIGSTOPped
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGCONT)
        await domain.stop()


async def _start_load(bank: LedgerClient, alice: LedgerClient, label: str) -> IouLoad:
    issuer = await bank.allocate(f"issuer-{label}")
    owner = await alice.allocate(f"owner-{label}")
    load = IouLoad(bank, issuer, owner, label)
    load.start()
    await load.until_committed(COMMITS_BEFORE)
    return load


async def _check(domain: FailoverDomain, load: IouLoad, bank: LedgerClient,
                 alice: LedgerClient) -> None:
    await load.finish()
    ledgers = await ledger_findings(load, bank, alice)
    outcomes = [o for o in load.outcomes.values() if o is not None]
    rejected = [o for o in outcomes if o[0] == "rejected"]
    context = summary(submitted=len(load.outcomes), committed=load.committed(),
                      rejected=rejected[:5])
    assert not ledgers.unanswered, context
    assert not ledgers.unclear, ledgers.unclear
    assert not ledgers.lost, (ledgers.lost, context)
    assert not ledgers.twice, ledgers.twice
    assert not ledgers.rejected_but_committed, ledgers.rejected_but_committed
    assert not ledgers.unknown, ledgers.unknown
    assert not ledgers.submitter_only and not ledgers.observer_only, (
        ledgers.submitter_only, ledgers.observer_only)
    mediator_id = str(domain.mediators["mediator-a"].ready["member"])
    verdicts = await verdict_findings(domain, mediator_id)
    assert verdicts.requests >= load.committed()
    assert not verdicts.undecided, verdicts
    assert not verdicts.sequenced_twice, verdicts
    assert not verdicts.differing, verdicts


async def test_the_passive_mediator_takes_over_when_the_active_one_is_killed(
    failover: tuple[FailoverDomain, LedgerClient, LedgerClient],
) -> None:
    domain, bank, alice = failover
    load = await _start_load(bank, alice, "kill")
    holder, epoch = await lease(domain.mediator_dsn)
    domain.mediators[holder].kill()  # SIGKILL: no goodbye, the lease runs out
    new_holder, took_s = await until_lease_moves(domain.mediator_dsn, epoch)
    assert new_holder != holder
    assert took_s < LEASE_TTL_MS / 1_000 + TAKEOVER_MARGIN_S
    await load.until_committed(load.committed() + COMMITS_AFTER)  # decided by the new one
    await _check(domain, load, bank, alice)
    since = log_size(domain.mediators[holder])
    domain.spawn_mediator(holder)  # back as the passive one, for the next case
    await wait_for_log(domain.mediators[holder], "serving the auditor API", since)


async def test_a_paused_active_mediator_is_fenced_and_sends_nothing_when_it_wakes(
    failover: tuple[FailoverDomain, LedgerClient, LedgerClient],
) -> None:
    domain, bank, alice = failover
    load = await _start_load(bank, alice, "pause")
    holder, epoch = await lease(domain.mediator_dsn)
    paused = domain.mediators[holder]
    assert paused.process is not None
    logs_before = {name: log_size(node) for name, node in domain.mediators.items()}
    paused.process.send_signal(signal.SIGSTOP)
    since = log_size(paused)
    new_holder, took_s = await until_lease_moves(domain.mediator_dsn, epoch)
    assert new_holder != holder
    assert took_s < LEASE_TTL_MS / 1_000 + TAKEOVER_MARGIN_S
    await load.until_committed(load.committed() + COMMITS_AFTER)
    # the summary shows up in an instance that does send (the check below is not vacuous)
    await wait_for_log(domain.mediators[new_holder], SUMMARY_TEXT, logs_before[new_holder])
    paused.process.send_signal(signal.SIGCONT)
    code = await asyncio.to_thread(paused.process.wait, 60)
    woken = log_since(paused, since)
    assert code == EXIT_LEASE_LOST, woken
    assert "verdict on request" not in woken, woken  # not one verdict handed to a sequencer
    assert SUMMARY_TEXT not in woken, woken
    await _check(domain, load, bank, alice)
    since = log_size(paused)
    domain.spawn_mediator(holder)  # back as the passive one, for the next case
    await wait_for_log(paused, "serving the auditor API", since)


async def test_a_mediator_outage_past_the_decision_time_times_requests_out_on_every_side(
    failover: tuple[FailoverDomain, LedgerClient, LedgerClient],
) -> None:
    """Both instances paused for longer than a request's decision time: what was submitted
    meanwhile is rejected with a reason, on both participants alike, and once the mediator
    is back commands commit again. Which instance leads then is a race: the lapsed lease is
    still the active one's unless the passive one took it first (then the former stops)."""
    domain, bank, alice = failover
    load = await _start_load(bank, alice, "outage")
    running = [m for m in domain.mediators.values()
               if m.process is not None and m.process.poll() is None]
    for mediator in running:
        assert mediator.process is not None
        mediator.process.send_signal(signal.SIGSTOP)
    await asyncio.sleep(DECISION_TIME_S + 3)
    for mediator in running:
        assert mediator.process is not None
        mediator.process.send_signal(signal.SIGCONT)
    await load.until_committed(load.committed() + COMMITS_AFTER)
    await _check(domain, load, bank, alice)
    reasons = [o for o in load.outcomes.values() if o is not None and o[0] == "rejected"]
    assert reasons, "nothing submitted during the outage was rejected"


async def test_a_lone_mediator_paused_past_its_lease_ttl_carries_on(
    failover: tuple[FailoverDomain, LedgerClient, LedgerClient],
) -> None:
    """With no passive instance to take over, a lapsed lease is still its holder's: the
    paused instance wakes, renews and goes on deciding, instead of stopping the domain's
    only mediator."""
    domain, bank, alice = failover
    holder, epoch = await lease(domain.mediator_dsn)
    for name, mediator in domain.mediators.items():
        if name != holder:
            mediator.terminate()
    load = await _start_load(bank, alice, "lone")
    active = domain.mediators[holder]
    assert active.process is not None
    active.process.send_signal(signal.SIGSTOP)
    await asyncio.sleep(LEASE_TTL_MS / 1_000 + 1)
    active.process.send_signal(signal.SIGCONT)
    await load.until_committed(load.committed() + COMMITS_AFTER)
    assert active.process.poll() is None, active.log_tail()
    assert await lease(domain.mediator_dsn) == (holder, epoch)
    await _check(domain, load, bank, alice)
