"""The field types of every node config, each defined once with its validation.

Every process config (sequencer, mediator, topology manager, participant, JSON API) builds on
`NodeSettings` and the annotated types below, so one kind of value is checked one way
everywhere, as strictly as the strictest node checked it before, and a bad value fails at load
(`runtime.config.load_config`: a `ConfigError` naming the file and the field, exit 2, one line)
instead of as a traceback or once the node has acted on it.

Shared types check a value's kind; a field that needs more (a larger minimum duration, a
smaller pool) adds it with ``Field(default, ge=...)`` at the field. The checks are validator
functions, not ``Field`` constraints, so that a field's own bounds add to them instead of
replacing them. Messages never repeat a secret's value (tokens, seeds, a DSN's password), and
secrets are left out of a config's repr.

Numbers come from JSON, TOML or a ``${VARIABLE}``, so a number given as a string is accepted;
``true``/``false`` are not numbers, and an infinite or NaN duration is refused.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Longer than any timeout or retention we mean (ten years), short enough that a duration
# never overflows asyncio's clock or an int64 of microseconds.
MAX_DURATION_MS = 10 * 365 * 24 * 3_600_000
MAX_POOL_SIZE = 64
_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_\-.]*[A-Za-z0-9_])?$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_NAMESPACE = re.compile(r"^1220[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[\x21-\x7e]{8,4096}$")  # printable ASCII: it travels in a header
_DSN_SCHEMES = ("postgresql", "postgres")


# --- checks ------------------------------------------------------------------------------

def _log_level(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)} (any case), "
                         f"not {value!r}")
    return value.upper()


def _not_bool(value: object) -> object:
    if isinstance(value, bool):  # pydantic would read true as 1
        raise ValueError("a number, not true/false")
    return value


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"a name is 1-64 letters, digits, '_', '-' or '.', not {value!r}")
    return value


def _host(value: str) -> str:
    if ":" in value:
        raise ValueError(f"a host is a name or an IPv4 address, not {value!r} (for IPv6 use "
                         f"a host name that resolves to the address)")
    if not _HOST.match(value):
        raise ValueError(f"{value!r} is not a host name or an IPv4 address")
    return value


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise ValueError(f"a port is 0-65535 (0: the OS picks one), not {value}")
    return value


def _endpoint(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"an endpoint is host:port with a port 1-65535, not {value!r}")
    _host(host)
    return value


def _postgres_dsn(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in _DSN_SCHEMES or not rest or value != value.strip():
        raise ValueError("a PostgreSQL DSN is postgresql://user:password@host:port/database "
                         "(the value is not repeated here: it may hold a password)")
    return value


def _pool_size(value: int) -> int:
    if not 2 <= value <= MAX_POOL_SIZE:
        raise ValueError(f"a pool has 2-{MAX_POOL_SIZE} connections, not {value}")
    return value


def _duration_ms(value: int) -> int:
    if not 1 <= value <= MAX_DURATION_MS:
        raise ValueError(f"a duration in ms is 1-{MAX_DURATION_MS}, not {value}")
    return value


def _duration_or_zero_ms(value: int) -> int:
    if not 0 <= value <= MAX_DURATION_MS:
        raise ValueError(f"a duration in ms is 0-{MAX_DURATION_MS}, not {value}")
    return value


def _duration_s(value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= MAX_DURATION_MS / 1_000:
        raise ValueError(f"a duration in seconds is 0-{MAX_DURATION_MS // 1_000}, not {value}")
    return value


def _file_path(value: object) -> object:
    if isinstance(value, str) and (not value.strip() or "\x00" in value):
        raise ValueError("a file path must not be empty")  # Path("") would be "."
    return value


def _not_a_directory(value: Path) -> Path:
    if value.is_dir():
        raise ValueError(f"{value} is a directory, not a file")
    return value


def _in_existing_directory(value: Path) -> Path:
    if not value.parent.is_dir():
        raise ValueError(f"the directory of {value} does not exist")
    return value


def _admin_token(value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError("a token is 8-4096 printable ASCII characters without spaces "
                         "(the value is not repeated here)")
    return value


def _seed_hex(value: str) -> str:
    if len(value) != 64 or not _HEX.match(value):
        raise ValueError("an Ed25519 private key seed is 64 hex digits (32 bytes); the value "
                         "is not repeated here")
    return value


def _public_key_hex(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError(f"{value!r} is not hex")
    if len(value) != 64:
        raise ValueError(f"a raw Ed25519 public key has 32 bytes (64 hex digits), this one "
                         f"{len(value) // 2}")
    return value.lower()


def _namespace(value: str) -> str:
    if not _NAMESPACE.match(value):
        raise ValueError(f"a namespace is the fingerprint '1220' + 64 lower-case hex digits, "
                         f"not {value!r}")
    return value


def _hex_bytes(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError(f"not hex: {value[:16]!r}{'...' if len(value) > 16 else ''}")
    return value


# --- types -------------------------------------------------------------------------------

# `log_level` of every node, upper-cased: a typo is a config error, not a traceback from
# `logging` once the node runs.
LogLevel = Annotated[str, BeforeValidator(_log_level)]
# A node's or participant's name as it appears in member ids (``MED::<name>::...``).
NodeName = Annotated[str, AfterValidator(_name)]
# Where a server binds: a host name or an IPv4 address (0.0.0.0: every interface).
Host = Annotated[str, AfterValidator(_host)]
Port = Annotated[int, BeforeValidator(_not_bool), AfterValidator(_port)]
# Another node's gRPC address, ``host:port``.
Endpoint = Annotated[str, AfterValidator(_endpoint)]
# Hidden from the config's repr: it usually holds a password.
PostgresDsn = Annotated[str, AfterValidator(_postgres_dsn), Field(repr=False)]
PoolSize = Annotated[int, BeforeValidator(_not_bool), AfterValidator(_pool_size)]
# A timeout, interval or TTL in ms; 1 ms to ten years (a field adds its own minimum).
DurationMs = Annotated[int, BeforeValidator(_not_bool), AfterValidator(_duration_ms)]
# The same where 0 means something (a retention of 0: keep nothing acknowledged).
DurationOrZeroMs = Annotated[int, BeforeValidator(_not_bool),
                             AfterValidator(_duration_or_zero_ms)]
# JSON API settings kept in seconds for compatibility; finite (a field adds its minimum).
DurationS = Annotated[float, BeforeValidator(_not_bool), AfterValidator(_duration_s)]
# A file the node reads or creates (its directory may be created by the node).
FilePath = Annotated[Path, BeforeValidator(_file_path), AfterValidator(_not_a_directory)]
# A file the node writes once ready, where nothing creates its directory.
ReadyFilePath = Annotated[Path, BeforeValidator(_file_path), AfterValidator(_not_a_directory),
                          AfterValidator(_in_existing_directory)]
_AdminTokenValue = Annotated[str, AfterValidator(_admin_token)]
# A bearer token an admin API requires (and a client sends): hidden from the config's repr.
AdminToken = Annotated[_AdminTokenValue, Field(repr=False)]
OptionalAdminToken = Annotated[_AdminTokenValue | None, Field(repr=False)]
# A member's Ed25519 private key seed, hex: its identity, hidden from the config's repr.
Ed25519SeedHex = Annotated[str, AfterValidator(_seed_hex), Field(repr=False)]
# A sequencer's raw Ed25519 public key, hex (`trusted_sequencer_keys_hex` of every member).
Ed25519PublicKeyHex = Annotated[str, AfterValidator(_public_key_hex)]
# A pinned trust anchor: the fingerprint of the domain's root key.
DomainNamespace = Annotated[str, AfterValidator(_namespace)]
# Opaque bytes as hex (e.g. a member-signed key mapping).
HexBytes = Annotated[str, AfterValidator(_hex_bytes)]


class NodeSettings(BaseModel):
    """What every process config has: strict keys, frozen, the ready file and logging."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ready_file: ReadyFilePath | None = None
    log_level: LogLevel = "INFO"
    log_json: bool = True


class ListenAddress(BaseModel):
    """Where a server listens; port 0 lets the OS pick (the ready file tells which)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: Host = "127.0.0.1"
    port: Port = 0
