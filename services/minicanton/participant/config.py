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
node is ready. Every participant's database comes with the Ledger API user
`participant_admin` (participant admin, as in Daml); `additional_admin_user_id` names one
more, created at start if absent.
`domain_namespace` pins the domain's trust anchor (the fingerprint of its root
key); left empty, the participant trusts what the topology manager announces at its FIRST
start and remembers it in the key file (trust on first use, fine on one machine).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from minicanton.participant.ledger_api.users import USER_ID
from minicanton.runtime.auth_settings import AuthSettings
from minicanton.runtime.config_fields import (
    DomainNamespace,
    DurationMs,
    DurationOrZeroMs,
    Ed25519PublicKeyHex,
    Endpoint,
    FilePath,
    ListenAddress,
    NodeName,
    NodeSettings,
    PoolSize,
    Port,
    PostgresDsn,
)


class ParticipantConfig(NodeSettings):
    name: NodeName
    database_dsn: PostgresDsn
    pool_size: PoolSize = 8
    key_file: FilePath
    sequencers: list[Endpoint] = Field(min_length=1)
    topology_manager: Endpoint
    # Raw Ed25519 public keys (hex) of the sequencers; empty: trust what they announce at
    # start (development only).
    trusted_sequencer_keys_hex: list[Ed25519PublicKeyHex] = []
    domain_namespace: DomainNamespace | None = None
    ledger_api: ListenAddress = ListenAddress(port=6865)
    health_port: Port | None = 0
    auth: AuthSettings
    # Created at start with the participant admin right if absent, besides Daml's
    # `participant_admin` (Canton's user-management-service.additional-admin-user-id).
    additional_admin_user_id: str | None = None
    ledger_id: str = Field("minicanton", min_length=1)
    # Submissions not sequenced by now + this are completed as not sequenced.
    max_sequencing_time_ms: DurationMs = Field(30_000, ge=100)
    max_deduplication_duration_ms: DurationOrZeroMs = 24 * 3_600_000
    onboarding_timeout_ms: DurationMs = Field(60_000, ge=100)
    topology_wait_timeout_ms: DurationMs = Field(30_000, ge=100)

    @field_validator("additional_admin_user_id")
    @classmethod
    def _valid_user_id(cls, user_id: str | None) -> str | None:
        if user_id is not None and not USER_ID.fullmatch(user_id):
            raise ValueError(f"{user_id[:140]!r} is not a valid Ledger API user id")
        return user_id
