"""Ledger API authentication and authorization with JWT bearer tokens, as Daml does it.

Theory of operation
-------------------
`LedgerApiAuthenticator.authenticate(authorization_header)` turns the ``Authorization`` header
of a request into `AuthorizedClaims`, or raises `Unauthenticated` (shells answer
UNAUTHENTICATED). It

1. takes the token from ``Bearer <token>``; a missing or empty token is refused;
2. asks the configured `KeySource` (auth_keys.py) for the key: the accepted algorithms come
   from configuration only, so ``alg: none`` and HS256-signed-with-the-RSA-public-key are
   refused before any signature is checked;
3. verifies signature, ``exp`` and ``nbf`` (with `leeway_s`), and ``iss`` if configured;
4. reads the payload in one of Daml's formats:
   - audience-based user token: ``aud`` holds ``https://daml.com/jwt/aud/participant/<id>``;
   - scope-based user token: ``scope`` contains ``daml_ledger_api``, ``aud`` is absent or
     one participant id;
   - custom claims: ``https://daml.com/ledger-api`` = {ledgerId?, participantId?,
     applicationId?, actAs, readAs, admin};
5. checks that a participant id / ledger id named by the token is ours, and that
   ``target_audience``, when configured, is among the token's audiences;
6. for user tokens, loads the user's rights through the `UserRightsLookup` callback (the user
   management store): an unknown or deactivated user is refused.

A verified token is cached by the exact token string (`VerifiedTokenCache`): a client sends
the same token with every call, and verifying it (base64, JSON, HMAC or a public-key
signature) cost a few per cent of a participant's CPU per command. An entry is used only
until the token's own ``exp`` (with the leeway), at most `TOKEN_CACHE_TTL_S` after it was
verified, and only while the key source still gives the key that verified it (asked every
call, so a key rotated out of a JWKS is refused at once); everything after the signature
check (audiences, participant, ledger id, user rights) runs every call. Only what a custom
claims token grants (its actAs, readAs, admin and applicationId, read and type-checked into
`AuthorizedClaims`) is kept with the entry once built: a pure function of the verified
payload, and a token whose claims are malformed is refused every time, since nothing is kept
for it.

Each RPC then asks the claims for what it needs (`check_act_as`, `check_read_as`,
`check_admin`, `check_application_id`), which raise `PermissionDenied` (PERMISSION_DENIED).
Streams call `check_not_expired(now_s)` as they go, since a token may expire mid-stream.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from minicanton.runtime.auth_keys import (
    AccessTokenExpired,
    AuthError,
    JwksKeys,
    KeySource,
    PermissionDenied,
    PublicKeyKeys,
    SharedSecretKeys,
    Unauthenticated,
    VerificationKey,
)

__all__ = [
    "AccessTokenExpired",
    "AuthConfig",
    "AuthError",
    "AuthorizedClaims",
    "JwksKeys",
    "KeySource",
    "LedgerApiAuthenticator",
    "PermissionDenied",
    "PublicKeyKeys",
    "SharedSecretKeys",
    "Unauthenticated",
    "UserRights",
    "UserRightsLookup",
    "bearer_token",
    "mint_dev_token",
    "mint_dev_user_token",
]

DAML_CLAIMS = "https://daml.com/ledger-api"
LEDGER_API_SCOPE = "daml_ledger_api"
PARTICIPANT_AUDIENCE_PREFIX = "https://daml.com/jwt/aud/participant/"
MAX_TOKEN_CHARS = 16_384
TOKEN_CACHE_TTL_S = 60.0
TOKEN_CACHE_ENTRIES = 1_024
_USER_ID = re.compile(r"[A-Za-z0-9@^$.!`\-#+'~_|:]{1,128}")


@dataclass(frozen=True, slots=True)
class UserRights:
    """What the user management store knows of a user, as auth needs it."""

    user_id: str
    primary_party: str | None
    is_deactivated: bool
    act_as: frozenset[str]
    read_as: frozenset[str]
    participant_admin: bool
    identity_provider_admin: bool = False


UserRightsLookup = Callable[[str], Awaitable[UserRights | None]]


@dataclass(frozen=True, slots=True)
class AuthorizedClaims:
    """What a verified token allows; the checks raise `PermissionDenied`."""

    act_as: frozenset[str]
    read_as: frozenset[str]
    admin: bool
    application_id: str | None
    user_id: str | None = None
    primary_party: str | None = None
    identity_provider_admin: bool = False
    expires_at_s: int | None = None

    def check_act_as(self, parties: Iterable[str]) -> None:
        wanted = set(parties)
        missing = sorted(wanted - self.act_as)
        if not wanted or missing:
            raise PermissionDenied(f"the token may not act as {missing or 'no party at all'}")

    def check_read_as(self, parties: Iterable[str]) -> None:
        """Reading is allowed for parties the token reads *or* acts as."""
        wanted = set(parties)
        missing = sorted(wanted - self.read_as - self.act_as)
        if not wanted or missing:
            raise PermissionDenied(f"the token may not read as {missing or 'no party at all'}")

    def check_admin(self) -> None:
        if not self.admin:
            raise PermissionDenied("the token does not carry participant admin rights")

    def check_application_id(self, requested: str) -> str:
        """The application id to use: the request's, which must match the token's if both
        name one; the token's fills an empty request field."""
        if self.application_id and requested and requested != self.application_id:
            raise PermissionDenied(
                f"application id {requested!r} does not match the token's "
                f"{self.application_id!r}"
            )
        return requested or self.application_id or ""

    def check_not_expired(self, now_s: float) -> None:
        if self.expires_at_s is not None and now_s >= self.expires_at_s:
            raise AccessTokenExpired("the access token has expired")


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How this participant verifies tokens. `keys` fixes the accepted algorithms."""

    keys: KeySource
    participant_id: str
    ledger_id: str | None = None
    leeway_s: float = 5.0
    target_audience: str | None = None
    issuer: str | None = None
    require_expiry: bool = False


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise Unauthenticated("the request carries no access token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("the access token is too long")
    return token


class VerifiedTokenCache:
    """Tokens whose signature, ``exp``, ``nbf`` and ``iss`` verified: by token, the header,
    the key that verified it and the payload, until when they may be used."""

    def __init__(self, leeway_s: float, clock_s: Callable[[], float] = time.time,
                 ttl_s: float = TOKEN_CACHE_TTL_S, entries: int = TOKEN_CACHE_ENTRIES) -> None:
        self._leeway_s, self._clock_s, self._ttl_s, self._entries = (
            leeway_s, clock_s, ttl_s, entries)
        self._verified: dict[str, _Verified] = {}

    def get(self, token: str) -> _Verified | None:
        cached = self._verified.get(token)
        if cached is not None and self._clock_s() >= cached.until_s:
            del self._verified[token]
            return None
        return cached

    def put(self, token: str, header: dict[str, Any], key: VerificationKey,
            payload: dict[str, Any]) -> _Verified:
        """The entry for a token just verified; remembered unless already unusable."""
        now_s = self._clock_s()
        until_s = now_s + self._ttl_s
        expiry = _expiry(payload)
        if expiry is not None:
            until_s = min(until_s, expiry + self._leeway_s)
        verified = _Verified(until_s, header, key, payload)
        if until_s <= now_s:
            return verified
        if len(self._verified) >= self._entries:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = verified
        return verified


class _Verified:
    """A verified token; `claims`, once built, what its custom claims grant (a pure function
    of the payload, which the checks against this participant do not change)."""

    __slots__ = ("claims", "header", "key", "payload", "until_s")

    def __init__(self, until_s: float, header: dict[str, Any], key: VerificationKey,
                 payload: dict[str, Any]) -> None:
        self.until_s, self.header, self.key, self.payload = until_s, header, key, payload
        self.claims: AuthorizedClaims | None = None


class LedgerApiAuthenticator:
    def __init__(self, config: AuthConfig, user_rights: UserRightsLookup | None = None,
                 clock_s: Callable[[], float] = time.time) -> None:
        self._config = config
        self._user_rights = user_rights
        self._verified = VerifiedTokenCache(config.leeway_s, clock_s)

    async def authenticate(self, authorization: str | None) -> AuthorizedClaims:
        token = bearer_token(authorization)
        verified = await self._verified_token(token)
        payload = verified.payload
        audiences = _audiences(payload)
        self._check_target_audience(audiences)
        participant_audiences = [a for a in audiences if a.startswith(PARTICIPANT_AUDIENCE_PREFIX)]
        expires_at_s = _expiry(payload)
        if participant_audiences:
            bound = _single_participant(participant_audiences)
            return await self._user_claims(payload, bound, expires_at_s)
        if LEDGER_API_SCOPE in _scopes(payload):
            if len(audiences) > 1:
                raise Unauthenticated("a user token's aud must be empty or one participant id")
            return await self._user_claims(payload, next(iter(audiences), None), expires_at_s)
        if DAML_CLAIMS in payload:
            return self._custom_claims(verified, expires_at_s)
        raise Unauthenticated(
            f"the token is neither a user token (scope {LEDGER_API_SCOPE!r}) nor carries "
            f"Daml's {DAML_CLAIMS!r} claims"
        )

    async def _verified_token(self, token: str) -> _Verified:
        cached = self._verified.get(token)
        if cached is not None and await self._config.keys.key_for(cached.header) == cached.key:
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is not a well-formed JWT") from None
        key = await self._config.keys.key_for(header)
        payload = self._decode(token, key)
        return self._verified.put(token, header, key, payload)

    def _decode(self, token: str, key: VerificationKey) -> dict[str, Any]:
        required = ["exp"] if self._config.require_expiry else []
        try:
            payload = jwt.decode(
                token, key.key, algorithms=[key.algorithm], leeway=self._config.leeway_s,
                issuer=self._config.issuer,
                options={"verify_aud": False, "require": required},
            )
        except jwt.ExpiredSignatureError:
            raise AccessTokenExpired("the access token has expired") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the access token does not verify: {error}") from None
        if not isinstance(payload, dict):
            raise Unauthenticated("the access token's payload is not a JSON object")
        return payload

    def _check_target_audience(self, audiences: list[str]) -> None:
        target = self._config.target_audience
        if target is not None and target not in audiences:
            raise Unauthenticated(f"the token is not meant for audience {target!r}")

    def _check_participant(self, participant: str | None) -> None:
        if participant is not None and participant != self._config.participant_id:
            raise Unauthenticated(f"the token is for participant {participant!r}, not this one")

    async def _user_claims(self, payload: Mapping[str, Any], participant: str | None,
                           expires_at_s: int | None) -> AuthorizedClaims:
        self._check_participant(participant)
        user_id = payload.get("sub")
        if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            raise Unauthenticated("a user token needs a valid user id in 'sub'")
        if self._user_rights is None:
            raise Unauthenticated("user based authentication is disabled on this participant")
        rights = await self._user_rights(user_id)
        if rights is None:
            raise PermissionDenied(f"user {user_id!r} does not exist")
        if rights.is_deactivated:
            raise PermissionDenied(f"user {user_id!r} is deactivated")
        return AuthorizedClaims(
            act_as=rights.act_as, read_as=rights.read_as, admin=rights.participant_admin,
            application_id=user_id, user_id=user_id, primary_party=rights.primary_party,
            identity_provider_admin=rights.identity_provider_admin, expires_at_s=expires_at_s,
        )

    def _custom_claims(self, verified: _Verified, expires_at_s: int | None
                       ) -> AuthorizedClaims:
        """The token's claims once this participant and ledger are checked (every call); what
        they grant is read from the payload once per verified token."""
        claims = verified.payload[DAML_CLAIMS]
        if not isinstance(claims, dict):
            raise Unauthenticated(f"{DAML_CLAIMS!r} must be a JSON object")
        self._check_participant(_optional_text(claims, "participantId"))
        ledger_id = _optional_text(claims, "ledgerId")
        if ledger_id is not None and ledger_id != self._config.ledger_id:
            raise Unauthenticated(f"the token is for ledger {ledger_id!r}, not this one")
        if verified.claims is None:
            verified.claims = _granted(claims, expires_at_s)
        return verified.claims


def _granted(claims: Mapping[str, Any], expires_at_s: int | None) -> AuthorizedClaims:
    """What Daml's custom claims grant."""
    admin = claims.get("admin", False)
    if not isinstance(admin, bool):
        raise Unauthenticated("'admin' must be true or false")
    return AuthorizedClaims(
        act_as=_party_list(claims, "actAs"), read_as=_party_list(claims, "readAs"),
        admin=admin, application_id=_optional_text(claims, "applicationId"),
        expires_at_s=expires_at_s,
    )


def _audiences(payload: Mapping[str, Any]) -> list[str]:
    audience = payload.get("aud")
    if audience is None:
        return []
    if isinstance(audience, str):
        return [audience]
    if isinstance(audience, list) and all(isinstance(item, str) for item in audience):
        return list(audience)
    raise Unauthenticated("'aud' must be a string or a list of strings")


def _single_participant(audiences: list[str]) -> str:
    participants = {a.removeprefix(PARTICIPANT_AUDIENCE_PREFIX) for a in audiences} - {""}
    if len(participants) != 1:
        raise Unauthenticated("an audience-based token must name exactly one participant")
    return participants.pop()


def _scopes(payload: Mapping[str, Any]) -> list[str]:
    scope = payload.get("scope")
    return scope.split() if isinstance(scope, str) else []


def _expiry(payload: Mapping[str, Any]) -> int | None:
    expiry = payload.get("exp")
    return int(expiry) if isinstance(expiry, int | float) else None


def _optional_text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Unauthenticated(f"{name!r} must be a string")
    return value


def _party_list(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name, [])
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise Unauthenticated(f"{name!r} must be a list of party ids")
    return frozenset(value)


# ------------------------------------------------------------------------------ dev tokens


def mint_dev_token(secret: bytes | str, act_as: Iterable[str], read_as: Iterable[str] = (),
                   admin: bool = False, application_id: str | None = None,
                   participant_id: str | None = None, expires_in_s: int = 24 * 3600,
                   *, ledger_id: str | None = None, now_s: float | None = None) -> str:
    """An HS256 custom-claims token, for development networks (`minicanton token`)."""
    claims: dict[str, Any] = {"actAs": sorted(act_as), "readAs": sorted(read_as),
                              "admin": admin}
    for name, value in (("applicationId", application_id), ("participantId", participant_id),
                        ("ledgerId", ledger_id)):
        if value is not None:
            claims[name] = value
    return _sign_hs256(secret, {DAML_CLAIMS: claims}, expires_in_s, now_s)


def mint_dev_user_token(secret: bytes | str, user_id: str, participant_id: str | None = None,
                        expires_in_s: int = 24 * 3600, *, now_s: float | None = None) -> str:
    """An HS256 scope-based user token; the user's rights come from user management."""
    payload: dict[str, Any] = {"sub": user_id, "scope": LEDGER_API_SCOPE}
    if participant_id is not None:
        payload["aud"] = participant_id
    return _sign_hs256(secret, payload, expires_in_s, now_s)


def _sign_hs256(secret: bytes | str, payload: dict[str, Any], expires_in_s: int,
                now_s: float | None) -> str:
    key = SharedSecretKeys(secret.encode() if isinstance(secret, str) else secret).secret
    issued_at = int(time.time() if now_s is None else now_s)
    claims = {**payload, "iat": issued_at, "exp": issued_at + expires_in_s}
    return jwt.encode(claims, key, algorithm="HS256")

