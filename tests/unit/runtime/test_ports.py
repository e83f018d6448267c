"""Ports chosen for servers started later: free, below the ephemeral range, never twice."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from minicanton.runtime import ports


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    chosen = [ports.free_port() for _ in range(50)]
    assert len(set(chosen)) == 50
    low = ports.ephemeral_range_low()
    for port in chosen:
        assert ports.LOWEST_PORT <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # nothing holds it


def test_a_port_someone_listens_on_is_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.LOWEST_PORT))
        taken.listen()
        # the range holds exactly that one port and the next: only the next may come out
        monkeypatch.setattr(ports, "ephemeral_range_low", lambda: ports.LOWEST_PORT + 1002)
        candidates = iter([ports.LOWEST_PORT] * 5 + [ports.LOWEST_PORT + 1])
        monkeypatch.setattr(ports.random, "randint", lambda a, b: next(candidates))
        monkeypatch.setattr(ports, "_handed_out", set())
        assert ports.free_port() == ports.LOWEST_PORT + 1


def test_a_low_ephemeral_range_falls_back_to_a_kernel_port(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text("10000\t60999\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", range_file)
    assert ports.ephemeral_range_low() == 10000
    port = ports.free_port()
    assert port > 0
    assert ports.free_port() != port


def test_an_unreadable_range_file_means_linux_default(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", tmp_path / "missing")
    assert ports.ephemeral_range_low() == ports.DEFAULT_EPHEMERAL_LOW
