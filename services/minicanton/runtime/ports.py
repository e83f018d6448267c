"""Ports for servers that another process binds later (the localnet's nodes, test servers).

A port is chosen here and bound seconds later by a node being started. Binding port 0 would
return a port from the kernel's ephemeral range, and in the meantime any outgoing connection
on the machine (a pool connecting to PostgreSQL, a gRPC channel) may be given that same port
as its local end: the node's bind then fails with "address already in use" (it happened to a
participant of `make bench`). Ports below the ephemeral range are never handed out that way,
only to listeners that ask for them by number, so they are chosen from there, checked free
by binding them, and never handed out twice by one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL_LOW = 32768  # Linux's default lower bound
LOWEST_PORT = 20000
ATTEMPTS = 200

_handed_out: set[int] = set()


def ephemeral_range_low() -> int:
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_EPHEMERAL_LOW


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, below the ephemeral range if it can."""
    highest = ephemeral_range_low() - 1
    if highest - LOWEST_PORT >= 1000:
        for _ in range(ATTEMPTS):
            port = random.randint(LOWEST_PORT, highest)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    return _any_port()  # a machine configured with a low ephemeral range: the old way


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_port() -> int:
    for _ in range(ATTEMPTS):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise OSError("no free port on 127.0.0.1 that this process has not handed out already")
