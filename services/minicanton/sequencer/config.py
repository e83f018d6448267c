"""Configuration of one sequencer instance (a JSON or TOML file, see runtime.config).

All instances of a domain share `database_dsn`, `domain_id` and `total_nodes` (the database
refuses a mismatch). The sequencer signing key: the simple setup gives every instance the same
`signing_key_seed_hex`, so members trust one key; instances may also each have their own key,
and then members list every instance's public key as trusted. Either way a member verifies the
signature of whichever instance serves it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.runtime.config import LogLevel


class SequencerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    domain_id: str = Field(min_length=1)
    node_name: str = "sequencer"
    database_dsn: str
    pool_size: int = Field(8, ge=2, le=64)
    total_nodes: int = Field(1, ge=1, le=64)
    signing_key_seed_hex: str = Field(min_length=64, max_length=64)
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    health_port: int | None = Field(0, ge=0, le=65535)
    keepalive_interval_ms: int = Field(50, ge=1)
    # an idle instance's heartbeat write; default min(250, offline_timeout_ms / 8)
    heartbeat_interval_ms: int | None = Field(None, ge=1)
    offline_timeout_ms: int = Field(3_000, ge=100)
    # a ceiling: the domain parameter (set by the topology manager) applies up to it; the
    # gRPC message limits are sized from it
    max_request_size_bytes: int = Field(10 << 20, ge=1024, le=1 << 30)
    max_sequencing_time_horizon_ms: int = Field(300_000, ge=1_000)
    max_write_batch: int = Field(500, ge=1)
    # memory bounds: sends admitted but not yet written (past either, a send is refused as
    # unavailable and the client retries elsewhere), and recent events kept for subscribers
    max_queued_sends: int = Field(10_000, ge=1)
    max_queued_send_bytes: int = Field(64 << 20, ge=1 << 20)
    feed_cache_bytes: int = Field(64 << 20, ge=1 << 20)
    token_ttl_ms: int = Field(3_600_000, ge=1_000)
    challenge_ttl_ms: int = Field(60_000, ge=1_000)
    # Required: the admin API re-keys and disables members, and it shares the public port.
    admin_token: str = Field(min_length=8)
    retention_ms: int | None = Field(None, ge=0)
    pruning_interval_ms: int = Field(60_000, ge=100)
    ready_file: str | None = None
    log_level: LogLevel = "INFO"
    log_json: bool = True

    @field_validator("signing_key_seed_hex")
    @classmethod
    def _hex(cls, value: str) -> str:
        bytes.fromhex(value)
        return value

    @property
    def signing_key(self) -> SigningKeyPair:
        return SigningKeyPair.from_private(bytes.fromhex(self.signing_key_seed_hex))

    @property
    def sequencer_id(self) -> str:
        return member_id(MemberKind.SEQUENCER, self.node_name, self.signing_key.fingerprint)
