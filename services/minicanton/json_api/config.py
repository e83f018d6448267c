"""Configuration of one HTTP JSON API process (a JSON or TOML file, see runtime.config).

Minimal file::

    ledger_api = "127.0.0.1:6865"        # the ONE participant this instance serves
    participant_id = "bank::1220..."      # or access_token_file (an admin token) to ask it
    [http]
    port = 7575
    [auth]                                # verify tokens as the participant does
    hs256_secret = "${LEDGER_API_SECRET}" # or public_key_file / jwks_url
    [query_store]                         # optional: without it queries read the ACS
    dsn = "postgresql://.../bank_json_api"

Tokens are checked here with the same keys as the participant's (and again by the
participant, which receives every caller's token): a forged or expired token never reaches
the query store. ``port = 0`` lets the OS choose; the bound port goes to `ready_file`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from minicanton.runtime.auth_settings import AuthSettings
from minicanton.runtime.config_fields import (
    DurationS,
    Endpoint,
    FilePath,
    ListenAddress,
    NodeName,
    NodeSettings,
    PoolSize,
    Port,
    PostgresDsn,
)


class HttpSettings(ListenAddress):
    port: Port = 7575


class QueryStoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dsn: PostgresDsn
    pool_size: PoolSize = 8


class TypeCacheSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_capacity_bytes: int = Field(1_000_000, ge=10_000)
    resolution_ttl_s: DurationS = 300.0
    max_resolutions: int = Field(10_000, ge=1)


class JsonApiConfig(NodeSettings):
    name: NodeName = "json-api"
    ledger_api: Endpoint
    ledger_id: str = Field("minicanton", min_length=1)
    participant_id: str | None = None
    access_token_file: FilePath | None = None
    http: HttpSettings = HttpSettings()
    auth: AuthSettings
    query_store: QueryStoreSettings | None = None
    type_cache: TypeCacheSettings = TypeCacheSettings()
    application_id: str = "HTTP-JSON-API-Gateway"
    command_timeout_s: DurationS = Field(60.0, gt=0)
    ledger_timeout_s: DurationS = Field(30.0, gt=0)
    max_request_bytes: int = Field(4 << 20, ge=1024)
    websocket_heartbeat_s: DurationS = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _participant_known(self) -> JsonApiConfig:
        if self.participant_id is None and self.access_token_file is None:
            raise ValueError("set participant_id, or access_token_file (a participant admin "
                             "token) so the JSON API can ask the participant for its id")
        return self

    def access_token(self) -> str | None:
        if self.access_token_file is None:
            return None
        return self.access_token_file.read_text().strip() or None
