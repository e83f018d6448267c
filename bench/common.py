"""Shared benchmark plumbing: timing loops, figures, and the run context."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minicanton.runtime.embedded_postgres import EmbeddedPostgres


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "name": self.name, "value": round(self.value, 3),
                "unit": self.unit, "note": self.note}


@dataclass
class BenchContext:
    """What sections share: figures so far (later sections compute ratios against the
    crypto floor) and one PostgreSQL cluster, started on first use."""

    figures: list[Figure] = field(default_factory=list)
    _postgres: EmbeddedPostgres | None = None
    _pg_root: Path | None = None

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(f"  {figure.name:<58} {figure.value:>12,.1f} {figure.unit:<10} {figure.note}",
              flush=True)
        return figure

    def value_of(self, name: str) -> float | None:
        for figure in self.figures:
            if figure.name == name:
                return figure.value
        return None

    def postgres(self) -> EmbeddedPostgres:
        if self._postgres is None:
            self._pg_root = Path(tempfile.mkdtemp(prefix="minicanton-bench-pg-"))
            self._postgres = EmbeddedPostgres(self._pg_root / "data", durable=True)
            self._postgres.start()
        return self._postgres

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
        if self._pg_root is not None:
            shutil.rmtree(self._pg_root, ignore_errors=True)


def rate_per_second(operation: Callable[[], object], min_seconds: float = 0.5) -> float:
    """Calls per second of `operation`, measured over at least `min_seconds`."""
    operation()  # warm up caches and lazy imports
    count = 0
    start = time.perf_counter()
    elapsed = 0.0
    batch = 1
    while elapsed < min_seconds:
        for _ in range(batch):
            operation()
        count += batch
        batch = min(batch * 2, 4096)
        elapsed = time.perf_counter() - start
    return count / elapsed


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def process_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes used so far, from /proc (Linux); the
    difference over a run is what the measured processes cost, whatever else loads the
    machine, where rates and latencies are only what they got."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total
