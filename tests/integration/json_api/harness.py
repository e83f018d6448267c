"""Running a JSON API in the test's event loop, and the tokens the tests present to it."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from minicanton.json_api.config import JsonApiConfig
from minicanton.json_api.server import JsonApiServer
from minicanton.runtime.auth import DAML_CLAIMS, mint_dev_token
from minicanton.runtime.ports import free_port

SECRET = "json-api-test-secret-0123456789abcdef"
PARTICIPANT_ID = "participant::1220" + "ab" * 32
APPLICATION_ID = "json-api-tests"


def token(*act_as: str, read_as: tuple[str, ...] = (), admin: bool = False,
          secret: str = SECRET, expires_in_s: int = 3600, **extra: Any) -> str:
    return mint_dev_token(secret, act_as, read_as, admin=admin, application_id=APPLICATION_ID,
                          expires_in_s=expires_in_s, **extra)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(*act_as: str) -> str:
    """``alg: none``: claims anyone could write."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({DAML_CLAIMS: {"actAs": list(act_as)},
                               "exp": int(time.time()) + 3600}).encode())
    return f"{header}.{payload}."


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def hs256_signed_with(secret: bytes, *act_as: str) -> str:
    """An HS256 token whose "secret" is the given bytes (key confusion: an RSA public key)."""
    import hashlib
    import hmac

    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({DAML_CLAIMS: {"actAs": list(act_as)},
                               "exp": int(time.time()) + 3600}).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def rs256_token(key: rsa.RSAPrivateKey, *act_as: str, **claims: Any) -> str:
    payload = {DAML_CLAIMS: {"actAs": list(act_as), "applicationId": APPLICATION_ID},
               "exp": int(time.time()) + 3600, **claims}
    return jwt.encode(payload, key, algorithm="RS256")


def config(ledger_api: str, *, participant_id: str = PARTICIPANT_ID,
           store_dsn: str | None = None, auth: dict[str, Any] | None = None,
           **overrides: Any) -> JsonApiConfig:
    data: dict[str, Any] = {
        "ledger_api": ledger_api, "participant_id": participant_id,
        "http": {"port": 0}, "auth": auth or {"hs256_secret": SECRET},
        "log_json": False, "websocket_heartbeat_s": 0.5, **overrides,
    }
    if store_dsn is not None:
        data["query_store"] = {"dsn": store_dsn, "pool_size": 4}
    return JsonApiConfig.model_validate(data)


@contextlib.asynccontextmanager
async def running(json_api_config: JsonApiConfig) -> AsyncIterator[JsonApiServer]:
    server = JsonApiServer(json_api_config)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def client(server: JsonApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}",
                                 timeout=60) as http:
        yield http


def unused_endpoint() -> str:
    return f"127.0.0.1:{free_port()}"


def write_pem(directory: Path, key: rsa.RSAPrivateKey) -> Path:
    path = directory / "public.pem"
    path.write_bytes(public_pem(key))
    return path
