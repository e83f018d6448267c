"""Configuration of one participant node (a JSON or TOML file, see runtime.config).

Minimal file::

    name = "bank"                                    # the participant id's hint
    database_dsn = "postgresql://.../bank"           # its own database; migrated at start
    key_file = "/var/lib/minicanton/bank/keys.json"  # created at first start, mode 0600
    sequencers = ["127.0.0.1:5001", "127.0.0.1:5002"]
    topology_manager = "127.0.0.1:5010"

    [ledger_api]                                     # gRPC Ledger API (+ gRPC health)
    port = 6865
    [auth]
    hs256_secret = "${LEDGER_API_SECRET}"            # or public_key_file / jwks_url

Every port may be 0 (the OS picks one); the bound ports are written to `ready_file` once the
node is ready. `domain_namespace` pins the domain's trust anchor (the fingerprint of its root
key); left empty, the participant trusts what the topology manager announces at its FIRST
start and remembers it in the key file (trust on first use, fine on one machine).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from minicanton.runtime.auth_settings import AuthSettings
from minicanton.runtime.config import Ed25519PublicKeyHex, LogLevel

HINT_PATTERN = r"^[A-Za-z0-9_\-.]{1,64}$"
ENDPOINT_PATTERN = r"^[^\s:]+:[0-9]{1,5}$"


class ListenSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class ParticipantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=HINT_PATTERN)
    database_dsn: str = Field(min_length=1)
    pool_size: int = Field(8, ge=2, le=64)
    key_file: Path
    sequencers: list[str] = Field(min_length=1)
    topology_manager: str = Field(pattern=ENDPOINT_PATTERN)
    # Raw Ed25519 public keys (hex) of the sequencers; empty: trust what they announce at
    # start (development only).
    trusted_sequencer_keys_hex: list[Ed25519PublicKeyHex] = []
    domain_namespace: str | None = Field(None, pattern=r"^1220[0-9a-f]{64}$")
    ledger_api: ListenSettings = ListenSettings(port=6865)
    health_port: int | None = Field(0, ge=0, le=65535)
    auth: AuthSettings
    ledger_id: str = "minicanton"
    # Submissions not sequenced by now + this are completed as not sequenced.
    max_sequencing_time_ms: int = Field(30_000, ge=100)
    max_deduplication_duration_ms: int = Field(24 * 3_600_000, ge=0)
    onboarding_timeout_ms: int = Field(60_000, ge=100)
    topology_wait_timeout_ms: int = Field(30_000, ge=100)
    ready_file: Path | None = None
    log_level: LogLevel = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _endpoints(self) -> ParticipantConfig:
        bad = [s for s in self.sequencers if not re.match(ENDPOINT_PATTERN, s)]
        if bad:
            raise ValueError(f"sequencer endpoints must be host:port, got {bad}")
        return self
