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

from pydantic import BaseModel, ConfigDict, Field, field_validator

from minicanton.runtime.config import Ed25519PublicKeyHex, LogLevel, ParametersConfig

__all__ = ["ParametersConfig", "TopologyManagerConfig"]


class TopologyManagerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    node_name: str = Field("topology-manager", pattern=r"^[A-Za-z0-9_\-.]{1,64}$")
    database_dsn: str
    pool_size: int = Field(4, ge=2, le=32)
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    health_port: int | None = Field(0, ge=0, le=65535)
    admin_token: str = Field(min_length=8)
    admission: Literal["open", "permissioned"] = "permissioned"
    sequencer_endpoints: list[str] = Field(min_length=1)
    sequencer_admin_token: str | None = None
    # Raw Ed25519 public keys (hex) of the sequencers; empty: trust what they announce
    # (GetInfo) at start, which is for development only.
    trusted_sequencer_keys_hex: list[Ed25519PublicKeyHex] = []
    initial_members: list[str] = []
    parameters: ParametersConfig = ParametersConfig()
    change_timeout_ms: int = Field(30_000, ge=1_000)
    ready_file: str | None = None
    log_level: LogLevel = "INFO"
    log_json: bool = True

    @field_validator("initial_members")
    @classmethod
    def _hex(cls, values: list[str]) -> list[str]:
        for value in values:
            bytes.fromhex(value)
        return values
