"""Configuration of one mediator instance (a JSON or TOML file, see runtime.config).

Minimal file::

    node_name = "mediator"
    database_dsn = "postgresql://.../mediator"   # shared by the mediator's instances
    signing_key_seed_hex = "…64 hex…"            # the mediator's Ed25519 key (its identity)
    sequencers = ["127.0.0.1:5001", "127.0.0.1:5002"]
    topology_manager = "127.0.0.1:5010"          # tells the domain id, namespace, parameters
    admin_token = "${MEDIATOR_ADMIN_TOKEN}"      # for the auditor API

The member id is ``MED::<node_name>::<fingerprint of the key>``; the topology manager must
list the mediator's key mapping among its initial members (or add it later). Without a
`topology_manager`, `domain_id`, `domain_namespace` and `parameters` (which must equal the
manager's genesis parameters) come from this file; with one, a `domain_namespace` set here
pins the trust anchor. Instances of one mediator share the key, the
database and the name; each gets a distinct `instance_name` for the lease (default: the host
name and process id).
"""

from __future__ import annotations

import os
import socket

from pydantic import Field, model_validator

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.runtime.config import ParametersConfig
from minicanton.runtime.config_fields import (
    AdminToken,
    DomainNamespace,
    DurationMs,
    Ed25519PublicKeyHex,
    Ed25519SeedHex,
    Endpoint,
    Host,
    NodeName,
    NodeSettings,
    PoolSize,
    Port,
    PostgresDsn,
)


class MediatorConfig(NodeSettings):
    node_name: NodeName = "mediator"
    instance_name: str | None = None
    database_dsn: PostgresDsn
    pool_size: PoolSize = Field(4, le=32)
    signing_key_seed_hex: Ed25519SeedHex
    # The topology manager tells the domain's id, namespace and genesis parameters (and the
    # topology before our first event, if we join late). Without it, all three come from here.
    topology_manager: Endpoint | None = None
    domain_id: str | None = Field(None, min_length=1)
    domain_namespace: DomainNamespace | None = None
    parameters: ParametersConfig = ParametersConfig()
    sequencers: list[Endpoint] = Field(min_length=1)
    # Raw Ed25519 public keys (hex) of the sequencers; empty: trust what they announce at start
    # (GetInfo), for development only.
    trusted_sequencer_keys_hex: list[Ed25519PublicKeyHex] = []
    host: Host = "127.0.0.1"
    port: Port = 0  # the auditor API
    health_port: Port | None = 0
    admin_token: AdminToken
    lease_ttl_ms: DurationMs = Field(5_000, ge=200)
    lease_renew_interval_ms: DurationMs = Field(1_000, ge=50)
    max_batch_events: int = Field(256, ge=1)
    time_proof_retry_ms: DurationMs = Field(200, ge=10)

    @model_validator(mode="after")
    def _check(self) -> MediatorConfig:
        if self.topology_manager is None and (self.domain_id is None
                                              or self.domain_namespace is None):
            raise ValueError("set topology_manager, or domain_id and domain_namespace")
        if self.lease_renew_interval_ms * 2 > self.lease_ttl_ms:
            raise ValueError("lease_renew_interval_ms must be at most half of lease_ttl_ms")
        return self

    @property
    def signing_key(self) -> SigningKeyPair:
        return SigningKeyPair.from_private(bytes.fromhex(self.signing_key_seed_hex))

    @property
    def mediator_id(self) -> MemberId:
        return member_id(MemberKind.MEDIATOR, self.node_name, self.signing_key.fingerprint)

    @property
    def holder(self) -> str:
        return self.instance_name or f"{socket.gethostname()}:{os.getpid()}"
