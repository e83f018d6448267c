"""Configuration of one sequencer instance (a JSON or TOML file, see runtime.config).

All instances of a domain share `database_dsn`, `domain_id` and `total_nodes` (the database
refuses a mismatch). The sequencer signing key: the simple setup gives every instance the same
`signing_key_seed_hex`, so members trust one key; instances may also each have their own key,
and then members list every instance's public key as trusted. Either way a member verifies the
signature of whichever instance serves it.
"""

from __future__ import annotations

from pydantic import Field

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.runtime.config_fields import (
    AdminToken,
    DurationMs,
    DurationOrZeroMs,
    Ed25519SeedHex,
    Host,
    NodeName,
    NodeSettings,
    PoolSize,
    Port,
    PostgresDsn,
)


class SequencerConfig(NodeSettings):
    domain_id: str = Field(min_length=1)
    node_name: NodeName = "sequencer"
    database_dsn: PostgresDsn
    pool_size: PoolSize = 8
    total_nodes: int = Field(1, ge=1, le=64)
    signing_key_seed_hex: Ed25519SeedHex
    host: Host = "127.0.0.1"
    port: Port = 0
    health_port: Port | None = 0
    keepalive_interval_ms: DurationMs = 50
    # an idle instance's heartbeat write; default min(250, offline_timeout_ms / 8)
    heartbeat_interval_ms: DurationMs | None = None
    offline_timeout_ms: DurationMs = Field(3_000, ge=100)
    # a ceiling: the domain parameter (set by the topology manager) applies up to it; the
    # gRPC message limits are sized from it
    max_request_size_bytes: int = Field(10 << 20, ge=1024, le=1 << 30)
    max_sequencing_time_horizon_ms: DurationMs = Field(300_000, ge=1_000)
    max_write_batch: int = Field(500, ge=1)
    # memory bounds: sends admitted but not yet written (past either, a send is refused as
    # unavailable and the client retries elsewhere), and recent events kept for subscribers
    max_queued_sends: int = Field(10_000, ge=1)
    max_queued_send_bytes: int = Field(64 << 20, ge=1 << 20)
    feed_cache_bytes: int = Field(64 << 20, ge=1 << 20)
    token_ttl_ms: DurationMs = Field(3_600_000, ge=1_000)
    challenge_ttl_ms: DurationMs = Field(60_000, ge=1_000)
    # Required: the admin API re-keys and disables members, and it shares the public port.
    admin_token: AdminToken
    retention_ms: DurationOrZeroMs | None = None
    pruning_interval_ms: DurationMs = Field(60_000, ge=100)

    @property
    def signing_key(self) -> SigningKeyPair:
        return SigningKeyPair.from_private(bytes.fromhex(self.signing_key_seed_hex))

    @property
    def sequencer_id(self) -> str:
        return member_id(MemberKind.SEQUENCER, self.node_name, self.signing_key.fingerprint)
