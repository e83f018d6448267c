"""One config loader for every process: a JSON or TOML file validated by a pydantic model.

`${NAME}` and `${NAME:-default}` inside string values are replaced from the environment, so a
container can keep secrets and DSNs out of the file. Errors are `ConfigError` with the file and
the offending field, never a stack trace.

The field types every node config shares are defined once, with their validation, in
runtime/config_fields.py (and `ParametersConfig` here), so bad input fails at load (exit 2, one
line) and never later, after a node has acted on it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters
from minicanton.runtime.config_fields import DurationOrZeroMs

M = TypeVar("M", bound=BaseModel)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(MinicantonError):
    error_id = "CONFIG_INVALID"


def _expand(value: Any, path: Path) -> Any:
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = os.environ.get(name, default)
            if found is None:
                raise ConfigError(f"{path}: environment variable {name} is not set")
            return found
        return _VARIABLE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: _expand(v, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path) for v in value]
    return value


def _parse(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix == ".json":
            return json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path} is not valid {path.suffix[1:].upper()}: {error}") from None
    raise ConfigError(f"{path}: config files are .json or .toml")


def load_config(path: str | Path, model: type[M]) -> M:
    path = Path(path)
    data = _expand(_parse(path), path)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


# --- domain parameters in a node config -------------------------------------------------

class ParametersConfig(BaseModel):
    """Domain parameters in a node's config (the topology manager's genesis, a mediator that
    runs without a manager), in milliseconds; unset fields keep Canton's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confirmation_response_timeout_ms: DurationOrZeroMs | None = None
    mediator_reaction_timeout_ms: DurationOrZeroMs | None = None
    ledger_time_record_time_tolerance_ms: DurationOrZeroMs | None = None
    topology_change_delay_ms: DurationOrZeroMs | None = None
    max_request_size_bytes: int | None = None
    default_confirmation_policy: Literal["Signatory", "Vip", "Full"] | None = None

    @model_validator(mode="after")
    def _in_range(self) -> ParametersConfig:
        try:  # out-of-range values fail at load, not at genesis or first use
            self.to_parameters()
        except InvalidArgument as error:
            raise ValueError(error.message) from None
        return self

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
