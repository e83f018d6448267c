"""Seeded simulation of N sequencer writers and several readers on one shared store.

It drives the pure rules of `core.sequencing.ordering` the way the Postgres store applies them,
including the failure cases the single-transaction store never shows but Canton's split writes
do: a crash between inserting events and moving the watermark, an instance marked offline while
it is still alive (a long pause), a node index taken over. After every step: each reader's
stream strictly increases, all readers agree (one stream is a prefix of the other), and no event
ever shows up at or below a position a reader already passed. A failing seed is printed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import pytest

from minicanton.core.sequencing.ordering import (
    InstanceWatermark,
    TimestampAllocator,
    is_readable,
    rejoin_timestamp,
    safe_watermark,
)

NODES = 3


@dataclass
class Store:
    events: dict[int, int] = field(default_factory=dict)  # ts -> writer
    rows: dict[int, InstanceWatermark] = field(default_factory=dict)
    sessions: dict[int, int] = field(default_factory=dict)


@dataclass
class Writer:
    index: int
    skew_us: int
    session: int = 0
    allocator: TimestampAllocator | None = None
    pending: list[int] = field(default_factory=list)
    alive: bool = False


@dataclass
class Reader:
    cursor: int = -1
    delivered: list[int] = field(default_factory=list)


class Simulation:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.store = Store()
        self.now_us = 1_000
        self.sessions = 0
        self.writers = [Writer(i, self.rng.randint(-500, 500)) for i in range(NODES)]
        self.readers = [Reader() for _ in range(3)]
        for writer in self.writers:
            self.start(writer)

    def start(self, writer: Writer) -> None:
        """Claim the index with a new session, drop events past our watermark, rejoin."""
        self.sessions += 1
        writer.session = self.sessions
        writer.pending.clear()
        row = self.store.rows.get(writer.index, InstanceWatermark(writer.index, 0, False))
        for ts in [t for t, w in self.store.events.items()
                   if w == writer.index and t > row.watermark_us]:
            del self.store.events[ts]
        rejoin = rejoin_timestamp(self.store.rows.values(), self.now_us + writer.skew_us)
        writer.allocator = TimestampAllocator(NODES, writer.index)
        writer.allocator.advance_past(rejoin)
        self.store.rows[writer.index] = InstanceWatermark(writer.index, rejoin, True)
        self.store.sessions[writer.index] = writer.session
        writer.alive = True

    def fenced(self, writer: Writer) -> bool:
        row = self.store.rows[writer.index]
        return not row.online or self.store.sessions[writer.index] != writer.session

    def insert(self, writer: Writer) -> None:
        assert writer.allocator is not None
        for _ in range(self.rng.randint(1, 3)):
            ts = writer.allocator.allocate(self.now_us + writer.skew_us)
            self.store.events[ts] = writer.index
            writer.pending.append(ts)

    def commit_watermark(self, writer: Writer) -> None:
        assert writer.allocator is not None
        if self.fenced(writer):
            self.start(writer)  # recovery: our uncommitted events are deleted
            return
        mark = writer.allocator.allocate(self.now_us + writer.skew_us)
        self.store.rows[writer.index] = InstanceWatermark(writer.index, mark, True)
        writer.pending.clear()

    def read(self, reader: Reader) -> None:
        safe = safe_watermark(self.store.rows.values())
        if safe is None or safe <= reader.cursor:
            return
        fresh = sorted(ts for ts, w in self.store.events.items()
                       if reader.cursor < ts and is_readable(ts, self.store.rows[w], safe))
        reader.delivered += fresh
        reader.cursor = safe

    def step(self) -> None:
        self.now_us += self.rng.randint(0, 40)
        writer = self.rng.choice(self.writers)
        action = self.rng.random()
        if not writer.alive:
            if action < 0.3:
                self.start(writer)
        elif action < 0.35:
            self.insert(writer)
        elif action < 0.65:
            self.commit_watermark(writer)
        elif action < 0.70:
            writer.alive = False  # kill -9, possibly between insert and watermark
        elif action < 0.75:
            row = self.store.rows[writer.index]  # marked offline by another instance
            self.store.rows[writer.index] = InstanceWatermark(row.node_index,
                                                              row.watermark_us, False)
        else:
            self.read(self.rng.choice(self.readers))

    def check(self) -> None:
        streams = [r.delivered for r in self.readers]
        for stream in streams:
            assert all(a < b for a, b in itertools.pairwise(stream))
        longest = max(streams, key=len)
        for stream in streams:
            assert longest[: len(stream)] == stream, "readers disagree on the order"
        for reader in self.readers:
            below = sorted(ts for ts, w in self.store.events.items()
                           if ts <= reader.cursor and ts <= self.store.rows[w].watermark_us)
            assert below == [ts for ts in reader.delivered if ts <= reader.cursor]


@pytest.mark.parametrize("seed", range(60))
def test_readers_agree_and_nothing_appears_behind_them(seed: int) -> None:
    simulation = Simulation(seed)
    for step in range(400):
        simulation.step()
        try:
            simulation.check()
        except AssertionError as error:
            raise AssertionError(f"seed {seed}, step {step}: {error}") from error
    assert any(r.delivered for r in simulation.readers)
