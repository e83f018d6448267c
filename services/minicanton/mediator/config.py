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
import re
import socket

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.runtime.config import Ed25519PublicKeyHex, LogLevel, ParametersConfig

ENDPOINT_PATTERN = r"^[^\s:]+:[0-9]{1,5}$"


class MediatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    node_name: str = Field("mediator", pattern=r"^[A-Za-z0-9_\-.]{1,64}$")
    instance_name: str | None = None
    database_dsn: str = Field(min_length=1)
    pool_size: int = Field(4, ge=2, le=32)
    signing_key_seed_hex: str = Field(min_length=64, max_length=64)
    # The topology manager tells the domain's id, namespace and genesis parameters (and the
    # topology before our first event, if we join late). Without it, all three come from here.
    topology_manager: str | None = Field(None, pattern=ENDPOINT_PATTERN)
    domain_id: str | None = Field(None, min_length=1)
    domain_namespace: str | None = Field(None, pattern=r"^1220[0-9a-f]{64}$")
    parameters: ParametersConfig = ParametersConfig()
    sequencers: list[str] = Field(min_length=1)
    # Raw Ed25519 public keys (hex) of the sequencers; empty: trust what they announce at start
    # (GetInfo), for development only.
    trusted_sequencer_keys_hex: list[Ed25519PublicKeyHex] = []
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)  # the auditor API
    health_port: int | None = Field(0, ge=0, le=65535)
    admin_token: str = Field(min_length=8)
    lease_ttl_ms: int = Field(5_000, ge=200)
    lease_renew_interval_ms: int = Field(1_000, ge=50)
    max_batch_events: int = Field(256, ge=1)
    time_proof_retry_ms: int = Field(200, ge=10)
    ready_file: str | None = None
    log_level: LogLevel = "INFO"
    log_json: bool = True

    @field_validator("signing_key_seed_hex")
    @classmethod
    def _seed(cls, value: str) -> str:
        bytes.fromhex(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> MediatorConfig:
        bad = [s for s in self.sequencers if not re.match(ENDPOINT_PATTERN, s)]
        if bad:
            raise ValueError(f"sequencer endpoints must be host:port, got {bad}")
        if self.topology_manager is None and (self.domain_id is None
                                              or self.domain_namespace is None):
            raise ValueError("set topology_manager, or domain_id and domain_namespace")
        if self.lease_renew_interval_ms * 2 > self.lease_ttl_ms:
            raise ValueError("lease_renew_interval_ms must be at most half of lease_ttl_ms")
        try:
            self.parameters.to_parameters()  # out-of-range values fail here, not at first use
        except InvalidArgument as error:
            raise ValueError(error.message) from None
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
