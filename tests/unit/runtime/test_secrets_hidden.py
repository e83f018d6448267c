"""Secrets stay out of reprs, logs and error messages (follow-up of shells review #14).

The HS256 secret and a JWKS URL's credentials are hidden from a loaded config's repr and
str, from the key sources and `AuthConfig` built from it, and from a JWKS refusal a Ledger API
caller reads; private key seeds from key pairs; bearer tokens from the JSON API's callers and
services; localnet's secrets and DSNs from its layout and node specs. The hidden values are
still used: a token signed with the secret verifies. Every config is a real file read by the
real loader, and the JWKS endpoint a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel
from tests.local_http import QuietHandler, local_http_server

from minicanton.cli.localnet.layout import LocalnetLayout, load_or_create_state
from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.json_api.caller import Authenticator
from minicanton.json_api.config import JsonApiConfig
from minicanton.json_api.ledger_client import LedgerClient
from minicanton.json_api.services import JsonApiServices
from minicanton.json_api.type_cache import TypeCache
from minicanton.mediator.config import MediatorConfig
from minicanton.participant.config import ParticipantConfig
from minicanton.runtime.auth import LedgerApiAuthenticator, Unauthenticated, mint_dev_token
from minicanton.runtime.config import ConfigError, load_config
from minicanton.sequencer.config import SequencerConfig

SECRET = "hs256-dev-secret-0123456789abcdef-XYZ"
PASSWORD = "jwks-pa55word"
QUERY_TOKEN = "jwks-query-token-4242"
SEED = "5e" * 32
PARTICIPANT = "bank::1220ab"
PARTY = "Alice::1220ab"


def _load(tmp_path: Path, model: type[BaseModel], data: dict[str, Any]) -> Any:
    path = tmp_path / f"{model.__name__}.json"
    path.write_text(json.dumps(data))
    return load_config(path, model)


def _configs(tmp_path: Path, auth: dict[str, Any]) -> list[Any]:
    participant = {"name": "bank", "database_dsn": "postgresql://mc:pw@127.0.0.1:5432/db",
                   "key_file": str(tmp_path / "bank.json"), "sequencers": ["127.0.0.1:5001"],
                   "topology_manager": "tm:5020", "auth": auth}
    json_api = {"ledger_api": "bank:6865", "participant_id": PARTICIPANT, "auth": auth}
    return [_load(tmp_path, ParticipantConfig, participant),
            _load(tmp_path, JsonApiConfig, json_api)]


def _shown(config: Any) -> list[str]:
    """Every rendering of a config and of what is built from it that could reach a log."""
    auth = config.auth
    return [repr(config), str(config), repr(auth), str(auth), f"{config!s} {config!r}",
            repr(auth.key_source()), repr(auth.auth_config(PARTICIPANT))]


async def test_the_hs256_secret_is_in_no_repr_but_still_verifies_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    for config in _configs(tmp_path, {"hs256_secret": SECRET}):
        for text in _shown(config):
            assert SECRET not in text and SECRET.encode().hex() not in text
        with caplog.at_level(logging.INFO):
            logging.getLogger("test").info("loaded %s (%r)", config, config)
        assert SECRET not in caplog.text
        verifier = LedgerApiAuthenticator(config.auth.auth_config(PARTICIPANT))
        claims = await verifier.authenticate(f"Bearer {mint_dev_token(SECRET, [PARTY])}")
        assert claims.act_as == {PARTY}


def test_a_refused_hs256_secret_is_not_repeated(tmp_path: Path) -> None:
    for bad in ("short-secret-42", "-----BEGIN PUBLIC KEY-----" + "A" * 40):
        with pytest.raises(ConfigError) as refused:
            _configs(tmp_path, {"hs256_secret": bad})
        assert "auth" in refused.value.message and bad not in refused.value.message


@pytest.fixture
def refusing_jwks() -> Iterator[str]:
    """A JWKS endpoint that answers 401 to everything (a credential it does not accept)."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with local_http_server(Handler) as address:
        yield address


async def test_a_jwks_url_with_credentials_is_in_no_repr_and_no_refusal(
    tmp_path: Path, refusing_jwks: str,
) -> None:
    url = f"http://idp:{PASSWORD}@{refusing_jwks}/jwks.json?access_token={QUERY_TOKEN}"
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode({"https://daml.com/ledger-api": {"actAs": [PARTY]}}, key, "ES256",
                       headers={"kid": "k1"})
    for config in _configs(tmp_path, {"jwks_url": url, "algorithm": "ES256"}):
        for text in _shown(config):
            assert PASSWORD not in text and QUERY_TOKEN not in text
        verifier = LedgerApiAuthenticator(config.auth.auth_config(PARTICIPANT))
        with pytest.raises(Unauthenticated) as refused:
            await verifier.authenticate(f"Bearer {token}")
        message = refused.value.message  # what a Ledger API caller reads
        assert "HTTP 401" in message
        assert PASSWORD not in message and QUERY_TOKEN not in message


def test_key_seeds_of_loaded_configs_are_in_no_key_pair_repr(tmp_path: Path) -> None:
    dsn = "postgresql://mc:pw@127.0.0.1:5432/db"
    configs = [
        _load(tmp_path, SequencerConfig, {"domain_id": "d", "database_dsn": dsn,
                                          "signing_key_seed_hex": SEED,
                                          "admin_token": "admin-token-0123456789"}),
        _load(tmp_path, MediatorConfig, {"database_dsn": dsn, "signing_key_seed_hex": SEED,
                                         "domain_id": "d", "domain_namespace": "1220" + "ab" * 32,
                                         "sequencers": ["127.0.0.1:5001"],
                                         "admin_token": "admin-token-0123456789"})]
    for config in configs:
        seed = bytes.fromhex(config.signing_key_seed_hex)
        pairs = [SigningKeyPair.from_private(seed), EncryptionKeyPair.from_private(seed)]
        for pair in pairs:
            text = f"{pair!r} {pair!s} {config!r}"
            assert SEED not in text and repr(seed) not in text
            assert pair.private_raw == seed


def test_localnet_secrets_and_dsns_are_in_no_layout_or_node_spec_repr(tmp_path: Path) -> None:
    ready_dir = tmp_path / "run"
    ready_dir.mkdir()
    state = load_or_create_state(tmp_path)
    secrets = [value for value in state.values() if isinstance(value, str)]
    assert len(secrets) == 6  # the HS256 secret, two seeds, three admin tokens
    names = LocalnetLayout(tmp_path, {}, {}, ready_dir).database_names()
    dsns = {name: f"postgresql://mc:{PASSWORD}@127.0.0.1:5432/{name}" for name in names}
    layout = LocalnetLayout(tmp_path, state, dsns, ready_dir)
    specs = [*layout.sequencers(), layout.topology_manager(["ab" * 40]), layout.mediator(),
             *(layout.participant(name) for name in layout.participants),
             *(layout.json_api(name, f"{name}::1220ab") for name in layout.participants)]
    for text in [repr(layout), str(layout), *map(repr, specs)]:
        assert PASSWORD not in text
        for secret in secrets:
            assert secret not in text
    assert any(secret in json.dumps(spec.config) for spec in specs for secret in secrets)


async def test_json_api_callers_and_services_show_no_token(tmp_path: Path) -> None:
    config = _configs(tmp_path, {"hs256_secret": SECRET})[1]
    ledger = LedgerClient(config.ledger_api)  # not dialled: nothing here calls the ledger
    try:
        authenticator = Authenticator(config.auth.auth_config(PARTICIPANT, config.ledger_id),
                                      ledger)
        token = mint_dev_token(SECRET, [PARTY])
        caller = await authenticator.caller(f"Bearer {token}")
        assert caller.token == token and caller.claims.act_as == {PARTY}
        services = JsonApiServices(config=config, ledger=ledger, types=TypeCache(), store=None,
                                   authenticator=authenticator, internal_token=token)
        for text in (repr(caller), str(caller), repr(services), str(services)):
            assert token not in text and SECRET not in text
    finally:
        await ledger.close()
