"""Where the keys that verify Ledger API tokens come from, and which algorithm each allows.

Every key source pins the algorithm(s) from configuration (RFC 8725 §3.1): a token header can
only pick among them, and each key is used with the one algorithm its type allows, so an RSA
public key can never be used as an HMAC secret ("key confusion") and ``alg: none`` never
verifies anything.

- `SharedSecretKeys`: HS256 with a shared secret (development, `minicanton token`).
- `PublicKeyKeys`: RS256 or ES256 with a PEM public key or X.509 certificate.
- `JwksKeys`: RS256/ES256 keys from a JWKS URL, fetched with httpx and cached. A token whose
  ``kid`` is not in the cache triggers a refetch (key rotation), at most once per
  `min_refresh_interval_s` so garbage tokens cannot make us hammer the identity provider; a
  failed refresh (unreachable, not JSON, no key list) keeps the keys we had, is throttled
  the same way, and with no keys at all every token is UNAUTHENTICATED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from minicanton.core.errors import InvalidArgument, MinicantonError

RSA_MIN_BITS = 2048
HMAC_MIN_SECRET_BYTES = 32
JWKS_MAX_BYTES = 1 << 20


class AuthError(MinicantonError):
    """Base of the auth errors; `grpc_status` is the status code name shells map it to."""

    grpc_status = "UNAUTHENTICATED"


class Unauthenticated(AuthError):
    """No token, or a token we cannot trust: shells answer UNAUTHENTICATED."""

    error_id = "UNAUTHENTICATED"


class AccessTokenExpired(Unauthenticated):
    error_id = "ACCESS_TOKEN_EXPIRED"


class PermissionDenied(AuthError):
    """A valid token that does not carry the right asked for: PERMISSION_DENIED."""

    error_id = "PERMISSION_DENIED"
    grpc_status = "PERMISSION_DENIED"


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A key and the single algorithm it may verify."""

    key: Any = field(repr=False)  # an HS256 key is the shared secret itself
    algorithm: str


class KeySource(Protocol):
    """Finds the key for a token from its (unverified) header."""

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey: ...


def _require_algorithm(header: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    algorithm = header.get("alg")
    if algorithm not in allowed:
        raise Unauthenticated(
            f"token algorithm {algorithm!r} is not accepted here (accepted: {', '.join(allowed)})"
        )
    return str(algorithm)


@dataclass(frozen=True, slots=True)
class SharedSecretKeys:
    """HS256 with a shared secret: for development networks only."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < HMAC_MIN_SECRET_BYTES:
            raise InvalidArgument(
                f"an HS256 secret needs at least {HMAC_MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)"
            )
        if b"-----BEGIN" in self.secret:
            raise InvalidArgument("an HS256 secret must not be a PEM key or certificate")

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        return VerificationKey(self.secret, _require_algorithm(header, ("HS256",)))


@dataclass(frozen=True, slots=True)
class PublicKeyKeys:
    """RS256 or ES256 with one configured public key (PEM key or X.509 certificate)."""

    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    algorithm: str

    @classmethod
    def from_pem(cls, pem: bytes, algorithm: str) -> PublicKeyKeys:
        loaded: object
        try:
            if b"BEGIN CERTIFICATE" in pem:
                loaded = x509.load_pem_x509_certificate(pem).public_key()
            else:
                loaded = load_pem_public_key(pem)
        except ValueError as error:
            raise InvalidArgument(f"not a PEM public key or certificate: {error}") from None
        if not isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise InvalidArgument(f"unsupported key type {type(loaded).__name__}")
        _check_key_fits(loaded, algorithm)
        return cls(loaded, algorithm)

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        return VerificationKey(self.public_key, _require_algorithm(header, (self.algorithm,)))


def _check_key_fits(key: object, algorithm: str) -> None:
    if algorithm == "RS256" and isinstance(key, rsa.RSAPublicKey):
        if key.key_size < RSA_MIN_BITS:
            raise InvalidArgument(f"RSA keys need at least {RSA_MIN_BITS} bits")
        return
    if (algorithm == "ES256" and isinstance(key, ec.EllipticCurvePublicKey)
            and isinstance(key.curve, ec.SECP256R1)):
        return
    raise InvalidArgument(f"a {type(key).__name__} cannot verify {algorithm} tokens")


_ALGORITHM_OF_KEY_TYPE = {"RSA": "RS256", "EC": "ES256"}


@dataclass(slots=True)
class JwksKeys:
    """RS256/ES256 keys published at a JWKS URL, cached by key id."""

    url: str = field(repr=False)  # may carry credentials
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    cache_ttl_s: float = 300.0
    min_refresh_interval_s: float = 10.0
    timeout_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, VerificationKey] = field(default_factory=dict)
    _fetched_at: float | None = None
    _failure: str | None = None  # why the last refresh failed, for the refusals until the next
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        unsupported = set(self.algorithms) - set(_ALGORITHM_OF_KEY_TYPE.values())
        if unsupported or not self.algorithms:
            raise InvalidArgument(f"JWKS keys support RS256 and ES256, not {sorted(unsupported)}")

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        algorithm = _require_algorithm(header, self.algorithms)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token has no key id (kid), which a JWKS lookup needs")
        key = await self._lookup(kid)
        if key.algorithm != algorithm:
            raise Unauthenticated(f"key {kid!r} is for {key.algorithm}, the token says {algorithm}")
        return key

    async def _lookup(self, kid: str) -> VerificationKey:
        async with self._lock:
            now = self.clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.cache_ttl_s
            may_refresh = (self._fetched_at is None
                           or now - self._fetched_at >= self.min_refresh_interval_s)
            if stale or (kid not in self._keys and may_refresh):
                await self._refresh(now)
            key = self._keys.get(kid)
        if key is None and not self._keys and self._failure is not None:
            raise Unauthenticated(f"could not fetch the JWKS: {self._failure}")
        if key is None:
            raise Unauthenticated(f"no key {kid!r} at the configured JWKS URL")
        return key

    async def _refresh(self, now: float) -> None:
        """A failed refresh (unreachable, not JSON, no key list) keeps the keys we had, and
        counts as a fetch: the next one waits `min_refresh_interval_s` like any other."""
        self._fetched_at = now
        try:
            self._keys = _parse_jwks(await self._fetch(), self.algorithms)
        except httpx.HTTPStatusError as error:  # its text repeats the URL, credentials too
            self._failure = f"the JWKS URL answered HTTP {error.response.status_code}"
        except (httpx.HTTPError, ValueError) as error:
            self._failure = str(error)
        else:
            self._failure = None

    async def _fetch(self) -> object:
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
            response = await client.get(self.url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > JWKS_MAX_BYTES:
            raise ValueError("JWKS document is too large")
        return response.json()


def _parse_jwks(document: object, algorithms: tuple[str, ...]) -> dict[str, VerificationKey]:
    """The usable signing keys of a JWKS: RSA/EC with a kid, an allowed algorithm, and no
    contradiction between the key type and its declared ``alg``. Symmetric keys are ignored."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    keys: dict[str, VerificationKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        algorithm = _ALGORITHM_OF_KEY_TYPE.get(str(jwk.get("kty")))
        kid = jwk.get("kid")
        if algorithm not in algorithms or not isinstance(kid, str) or not kid:
            continue
        if jwk.get("alg", algorithm) != algorithm:
            continue
        try:
            key = PyJWK(jwk, algorithm).key
            _check_key_fits(key, algorithm)
        except (PyJWKError, InvalidArgument, ValueError, TypeError):
            continue
        keys[kid] = VerificationKey(key, algorithm)
    return keys
