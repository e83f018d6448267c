"""A node serving plaintext beyond loopback says so at start (ADR 14)."""

from __future__ import annotations

import logging

import pytest

from minicanton.runtime.transport import is_loopback, warn_if_exposed


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_quiet(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert is_loopback(host)
        assert not warn_if_exposed(host, "the sequencer API")
    assert caplog.records == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "sequencer.example.org"])
def test_any_other_host_gets_one_warning_naming_the_api_and_the_adr(
        host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert warn_if_exposed(host, "the Ledger API")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "the Ledger API" in record.getMessage() and host in record.getMessage()
    assert "0014-transport-security" in record.getMessage()
