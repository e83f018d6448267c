"""How a node verifies Ledger API tokens: one settings model for the participant and the
JSON API, so both accept exactly the same tokens. The accepted algorithm comes from here,
never from a token's header (RFC 8725); the key source is built at load, so a short secret
or an unreadable key file is a config error, not a failure after start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.runtime.auth import AuthConfig
from minicanton.runtime.auth_keys import JwksKeys, KeySource, PublicKeyKeys, SharedSecretKeys


class AuthSettings(BaseModel):
    """How Ledger API tokens are verified: exactly one of `hs256_secret` (development),
    `public_key_file` (RS256/ES256 PEM key or certificate) or `jwks_url`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Hidden from the config's repr (and so from logs of it), like every secret in a config.
    hs256_secret: str | None = Field(None, repr=False)
    public_key_file: Path | None = None
    # May carry credentials (user:password@ or a token in the query): hidden as well.
    jwks_url: str | None = Field(None, repr=False)
    algorithm: Literal["RS256", "ES256"] = "RS256"
    ledger_id: str | None = None
    target_audience: str | None = None
    issuer: str | None = None
    leeway_s: float = Field(5.0, ge=0)
    require_expiry: bool = False

    @model_validator(mode="after")
    def _one_key_source(self) -> AuthSettings:
        chosen = [self.hs256_secret, self.public_key_file, self.jwks_url]
        if sum(c is not None for c in chosen) != 1:
            raise ValueError("set exactly one of hs256_secret, public_key_file, jwks_url")
        try:  # a short secret or a bad key file fails at load, not after onboarding
            self.key_source()
        except MinicantonError as error:
            raise ValueError(error.message) from None
        return self

    def key_source(self) -> KeySource:
        if self.hs256_secret is not None:
            return SharedSecretKeys(self.hs256_secret.encode())
        if self.public_key_file is not None:
            try:
                pem = self.public_key_file.read_bytes()
            except OSError as error:
                raise InvalidArgument(
                    f"cannot read public_key_file {self.public_key_file}: {error.strerror}"
                ) from None
            return PublicKeyKeys.from_pem(pem, self.algorithm)
        assert self.jwks_url is not None
        return JwksKeys(self.jwks_url, (self.algorithm,))

    def auth_config(self, participant_id: str, ledger_id: str | None = None) -> AuthConfig:
        """`ledger_id` (the JSON API passes the ledger it serves) overrides the field."""
        return AuthConfig(
            keys=self.key_source(), participant_id=participant_id,
            ledger_id=ledger_id if ledger_id is not None else self.ledger_id,
            leeway_s=self.leeway_s, target_audience=self.target_audience, issuer=self.issuer,
            require_expiry=self.require_expiry,
        )
