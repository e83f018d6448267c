"""A node started with MINICANTON_CPROFILE_DIR runs under cProfile and leaves its profile
when it stops cleanly (docs/performance.md): a sequencer here, the same code path as every
node's main."""

from __future__ import annotations

import pstats
import uuid
from pathlib import Path

import pytest
from tests.integration.sequencer.harness import Recorder, SequencerCluster

from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.runtime.embedded_postgres import EmbeddedPostgres


@pytest.mark.parametrize("timer", ["wall", "cpu"])
async def test_a_profiled_node_writes_its_profile_on_stop(
        postgres_cluster: EmbeddedPostgres, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, timer: str) -> None:
    """With the CPU timer the folder is left for the node to create."""
    profiles = tmp_path / "profiles"
    if timer == "wall":
        profiles.mkdir()
    monkeypatch.setenv("MINICANTON_CPROFILE_DIR", str(profiles))
    monkeypatch.setenv("MINICANTON_CPROFILE_TIMER", timer)
    dsn = postgres_cluster.create_database(f"seq_{uuid.uuid4().hex[:16]}")
    cluster = await SequencerCluster(dsn, tmp_path).start()
    try:
        alice, bob = [await cluster.register(h) for h in ("prof-alice", "prof-bob")]
        client = cluster.client(alice)
        await client.start(Recorder())
        await client.send(Batch((Envelope((MemberRecipient(bob.member),), b"profiled"),)))
    finally:
        await cluster.stop()
    (written,) = profiles.glob("sequencer-*.prof")
    functions = {name for _, _, name in pstats.Stats(str(written)).stats}  # type: ignore[attr-defined]
    # A compiled core function shows as a built-in ("<built-in method validate_submission>"),
    # and only where interpreted code calls it (ADR 16).
    assert "serve" in functions and any("validate_submission" in f for f in functions)
