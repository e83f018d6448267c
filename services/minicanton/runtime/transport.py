"""Transport security: what a node says when it serves plaintext beyond this machine.

Every minicanton server speaks plaintext gRPC or HTTP (ADR 14): member tokens, admin tokens
and Ledger API JWTs cross the wire unencrypted. That is fine on the loopback interface, where
`minicanton localnet` binds everything, and inside a network where TLS is terminated in front
of the nodes (a service mesh with mTLS, or a TLS proxy); anywhere else it is a leak. A node
that binds another address says so once, loudly, at start.
"""

from __future__ import annotations

import ipaddress
import logging

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def warn_if_exposed(host: str, what: str) -> bool:
    """Log a WARNING when `what` serves plaintext on a non-loopback `host`; True if it did."""
    if is_loopback(host):
        return False
    log.warning("%s serves plaintext (no TLS) on %s: tokens and payloads cross the network "
                "unencrypted; terminate TLS in front of it (service mesh or proxy), see "
                "docs/adr/0014-transport-security.md", what, host)
    return True
