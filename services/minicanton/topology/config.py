"""Configuration of the topology manager (a JSON or TOML file, see runtime.config).

The domain's identity (its namespace key and the manager's member key) is created at the first
start and kept in the manager's database, not here. `initial_members` lists the domain's first
mediators (and optionally sequencers), each as the hex of its member-signed key mapping
(`minicanton topology key-mapping` prints one): the manager cannot sign for a key it does not
hold, so each member proves possession of its key up front. `parameters` are the domain
parameters of the genesis broadcast; unset fields keep Canton's defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from minicanton.runtime.config import ParametersConfig
from minicanton.runtime.config_fields import (
    AdminToken,
    DurationMs,
    Ed25519PublicKeyHex,
    Endpoint,
    HexBytes,
    Host,
    NodeName,
    NodeSettings,
    OptionalAdminToken,
    PoolSize,
    Port,
    PostgresDsn,
)

__all__ = ["ParametersConfig", "TopologyManagerConfig"]


class TopologyManagerConfig(NodeSettings):
    node_name: NodeName = "topology-manager"
    database_dsn: PostgresDsn
    pool_size: PoolSize = Field(4, le=32)
    host: Host = "127.0.0.1"
    port: Port = 0
    health_port: Port | None = 0
    admin_token: AdminToken
    admission: Literal["open", "permissioned"] = "permissioned"
    sequencer_endpoints: list[Endpoint] = Field(min_length=1)
    # the sequencers' admin_token (registering members); checked as theirs is
    sequencer_admin_token: OptionalAdminToken = None
    # Raw Ed25519 public keys (hex) of the sequencers; empty: trust what they announce
    # (GetInfo) at start, which is for development only.
    trusted_sequencer_keys_hex: list[Ed25519PublicKeyHex] = []
    initial_members: list[HexBytes] = []
    parameters: ParametersConfig = ParametersConfig()
    change_timeout_ms: DurationMs = Field(30_000, ge=1_000)
