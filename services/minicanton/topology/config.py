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

from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters


class ParametersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    confirmation_response_timeout_ms: int | None = None
    mediator_reaction_timeout_ms: int | None = None
    ledger_time_record_time_tolerance_ms: int | None = None
    topology_change_delay_ms: int | None = None
    max_request_size_bytes: int | None = None
    default_confirmation_policy: Literal["Signatory", "Vip", "Full"] | None = None

    def to_parameters(self) -> DomainParameters:
        """Raises `InvalidDomainParameters` for a value out of range."""
        base = DomainParameters()
        def us(value: int | None, default: int) -> int:
            return default if value is None else value * 1_000
        return DomainParameters(
            confirmation_response_timeout_us=us(self.confirmation_response_timeout_ms,
                                                base.confirmation_response_timeout_us),
            mediator_reaction_timeout_us=us(self.mediator_reaction_timeout_ms,
                                            base.mediator_reaction_timeout_us),
            ledger_time_record_time_tolerance_us=us(self.ledger_time_record_time_tolerance_ms,
                                                    base.ledger_time_record_time_tolerance_us),
            topology_change_delay_us=us(self.topology_change_delay_ms,
                                        base.topology_change_delay_us),
            max_request_size_bytes=self.max_request_size_bytes or base.max_request_size_bytes,
            default_confirmation_policy=ConfirmationPolicy(
                self.default_confirmation_policy or base.default_confirmation_policy.value),
        )


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
    trusted_sequencer_keys_hex: list[str] = []
    initial_members: list[str] = []
    parameters: ParametersConfig = ParametersConfig()
    change_timeout_ms: int = Field(30_000, ge=1_000)
    ready_file: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("trusted_sequencer_keys_hex", "initial_members")
    @classmethod
    def _hex(cls, values: list[str]) -> list[str]:
        for value in values:
            bytes.fromhex(value)
        return values
