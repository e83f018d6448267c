"""Ledger API JWT auth against real signed tokens: Daml's formats and the usual attacks.

Keys are real `cryptography` keys; JWKS is served by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tests.local_http import QuietHandler, local_http_server
from tests.unit.runtime.token_forgery import (
    b64url,
    certificate_pem,
    handmade_token,
    jwk_of,
    public_pem,
)

from minicanton.core.errors import InvalidArgument
from minicanton.runtime.auth import (
    AccessTokenExpired,
    AuthConfig,
    AuthorizedClaims,
    JwksKeys,
    KeySource,
    LedgerApiAuthenticator,
    PermissionDenied,
    PublicKeyKeys,
    SharedSecretKeys,
    Unauthenticated,
    UserRights,
    bearer_token,
    mint_dev_token,
    mint_dev_user_token,
)

SECRET = b"0123456789abcdef0123456789abcdef-dev"
PARTICIPANT = "PAR::p1::1220abcd"
LEDGER = "minicanton-ledger"
CLAIMS = "https://daml.com/ledger-api"
AUD_PREFIX = "https://daml.com/jwt/aud/participant/"

# ------------------------------------------------------------------------------ key material


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _sign(payload: dict[str, Any], key: object, algorithm: str, **headers: Any) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers or None)  # type: ignore[arg-type]


def _custom(act_as: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    claims = {"actAs": act_as if act_as is not None else ["alice"], "readAs": ["bob"],
              "admin": False, "applicationId": "app", **extra}
    return {CLAIMS: claims, "exp": int(time.time()) + 600}


def _user(sub: str = "alice-user", **extra: Any) -> dict[str, Any]:
    return {"sub": sub, "scope": "daml_ledger_api", "exp": int(time.time()) + 600, **extra}


USERS = {
    "alice-user": UserRights("alice-user", "alice", False, frozenset({"alice"}),
                             frozenset({"public"}), participant_admin=False),
    "operator": UserRights("operator", None, False, frozenset(), frozenset(),
                           participant_admin=True),
    "gone": UserRights("gone", None, True, frozenset({"alice"}), frozenset(), False),
}


async def _lookup(user_id: str) -> UserRights | None:
    return USERS.get(user_id)


def _auth(keys: KeySource, **config: Any) -> LedgerApiAuthenticator:
    return LedgerApiAuthenticator(
        AuthConfig(keys=keys, participant_id=PARTICIPANT, ledger_id=LEDGER, **config), _lookup)


async def _claims(auth: LedgerApiAuthenticator, token: str) -> AuthorizedClaims:
    return await auth.authenticate(f"Bearer {token}")


# ------------------------------------------------------------------------------ JWKS server


class _Jwks:
    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.requests = 0
        self.lock = threading.Lock()


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, _Jwks]]:
    state = _Jwks()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.requests += 1
                body = json.dumps(state.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with local_http_server(Handler) as address:
        yield f"http://{address}/jwks.json", state


# ------------------------------------------------------------------------------ happy paths


async def test_dev_token_gives_its_custom_claims() -> None:
    token = mint_dev_token(SECRET, ["alice"], ["bob"], False, "app", PARTICIPANT, 60,
                           ledger_id=LEDGER)
    claims = await _claims(_auth(SharedSecretKeys(SECRET)), token)
    assert claims.act_as == {"alice"} and claims.read_as == {"bob"} and not claims.admin
    assert claims.application_id == "app" and claims.user_id is None
    assert claims.expires_at_s is not None and claims.expires_at_s > time.time()


async def test_rs256_token_verifies_with_a_pem_public_key_and_with_a_certificate(
        rsa_key: rsa.RSAPrivateKey) -> None:
    token = _sign(_custom(), rsa_key, "RS256")
    for keys in (PublicKeyKeys.from_pem(public_pem(rsa_key), "RS256"),
                 PublicKeyKeys.from_pem(certificate_pem(rsa_key), "RS256")):
        assert (await _claims(_auth(keys), token)).act_as == {"alice"}


async def test_es256_token_verifies_with_a_pem_public_key(ec_key: ec.EllipticCurvePrivateKey
                                                          ) -> None:
    keys = PublicKeyKeys.from_pem(public_pem(ec_key), "ES256")
    claims = await _claims(_auth(keys), _sign(_custom(admin=True), ec_key, "ES256"))
    assert claims.admin


async def test_scope_user_token_takes_rights_from_user_management() -> None:
    auth = _auth(SharedSecretKeys(SECRET))
    claims = await _claims(auth, _sign(_user(), SECRET, "HS256"))
    assert claims.user_id == claims.application_id == "alice-user"
    assert claims.act_as == {"alice"} and claims.read_as == {"public"}
    assert claims.primary_party == "alice"
    assert (await _claims(auth, _sign(_user(aud=PARTICIPANT), SECRET, "HS256"))).act_as
    assert (await _claims(auth, mint_dev_user_token(SECRET, "operator", PARTICIPANT))).admin


async def test_audience_user_token_for_this_participant_is_accepted() -> None:
    payload = {"sub": "alice-user", "aud": [AUD_PREFIX + PARTICIPANT, "other-api"],
               "exp": int(time.time()) + 60}
    claims = await _claims(_auth(SharedSecretKeys(SECRET)), _sign(payload, SECRET, "HS256"))
    assert claims.user_id == "alice-user"


async def test_leeway_tolerates_small_clock_skew() -> None:
    now = int(time.time())
    payload = {**_custom(), "exp": now - 2, "nbf": now + 2}
    assert (await _claims(_auth(SharedSecretKeys(SECRET)), _sign(payload, SECRET, "HS256"))
            ).act_as == {"alice"}


# ------------------------------------------------------------------------------ attacks


async def test_missing_or_malformed_credentials_are_unauthenticated() -> None:
    auth = _auth(SharedSecretKeys(SECRET))
    for header in (None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwdw==", "Bearer a.b",
                   "Bearer not-a-jwt", "Bearer " + "x" * 20_000):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(header)


async def test_alg_none_is_refused_whatever_the_configuration(
        rsa_key: rsa.RSAPrivateKey, jwks_server: tuple[str, _Jwks]) -> None:
    url, jwks = jwks_server
    jwks.document = {"keys": [jwk_of(rsa_key, "k1")]}
    token = handmade_token({"alg": "none", "typ": "JWT", "kid": "k1"}, _custom(admin=True), None)
    for keys in (SharedSecretKeys(SECRET), PublicKeyKeys.from_pem(public_pem(rsa_key), "RS256"),
                 JwksKeys(url)):
        with pytest.raises(Unauthenticated, match="algorithm 'none'"):
            await _claims(_auth(keys), token)


async def test_hs256_signed_with_the_rsa_public_key_is_refused(
        rsa_key: rsa.RSAPrivateKey, jwks_server: tuple[str, _Jwks]) -> None:
    url, jwks = jwks_server
    jwks.document = {"keys": [jwk_of(rsa_key, "k1")]}
    rsa_public_pem = public_pem(rsa_key)
    forged = handmade_token({"alg": "HS256", "typ": "JWT", "kid": "k1"}, _custom(admin=True),
                            rsa_public_pem)
    for keys in (PublicKeyKeys.from_pem(rsa_public_pem, "RS256"), JwksKeys(url)):
        with pytest.raises(Unauthenticated, match="algorithm 'HS256' is not accepted"):
            await _claims(_auth(keys), forged)


async def test_tokens_of_another_algorithm_or_key_are_refused(
        rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey,
        ec_key: ec.EllipticCurvePrivateKey) -> None:
    rs_auth = _auth(PublicKeyKeys.from_pem(public_pem(rsa_key), "RS256"))
    with pytest.raises(Unauthenticated, match="ES256"):
        await _claims(rs_auth, _sign(_custom(), ec_key, "ES256"))
    with pytest.raises(Unauthenticated, match="does not verify"):
        await _claims(rs_auth, _sign(_custom(), other_rsa_key, "RS256"))
    with pytest.raises(Unauthenticated, match="RS256"):
        await _claims(_auth(SharedSecretKeys(SECRET)), _sign(_custom(), rsa_key, "RS256"))
    with pytest.raises(Unauthenticated, match="does not verify"):
        await _claims(_auth(SharedSecretKeys(SECRET)),
                      _sign(_custom(), SECRET + b"-other", "HS256"))


async def test_a_tampered_payload_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = _sign(_custom(["alice"]), rsa_key, "RS256").split(".")
    forged_payload = b64url(json.dumps(_custom(["alice", "bank"], admin=True)).encode())
    auth = _auth(PublicKeyKeys.from_pem(public_pem(rsa_key), "RS256"))
    with pytest.raises(Unauthenticated, match="does not verify"):
        await _claims(auth, f"{header}.{forged_payload}.{signature}")


async def test_expired_token_is_refused_beyond_the_leeway() -> None:
    payload = {**_custom(), "exp": int(time.time()) - 60}
    with pytest.raises(AccessTokenExpired) as caught:
        await _claims(_auth(SharedSecretKeys(SECRET)), _sign(payload, SECRET, "HS256"))
    assert caught.value.error_id == "ACCESS_TOKEN_EXPIRED"
    assert isinstance(caught.value, Unauthenticated)
    assert caught.value.grpc_status == "UNAUTHENTICATED"


async def test_a_cached_token_is_refused_once_it_expires() -> None:
    """Verified tokens are cached by token string; the cache honours the token's own exp."""
    auth = _auth(SharedSecretKeys(SECRET), leeway_s=0)
    token = _sign({**_custom(), "exp": int(time.time()) + 1}, SECRET, "HS256")
    assert (await _claims(auth, token)).act_as == {"alice"}
    assert (await _claims(auth, token)).act_as == {"alice"}  # from the cache
    time.sleep(max(0.0, int(time.time()) + 1.05 - time.time()))
    with pytest.raises(AccessTokenExpired):
        await _claims(auth, token)


class _RotatingSecret:
    """A key source whose secret an operator replaces."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    async def key_for(self, header: Any) -> Any:
        return await SharedSecretKeys(self.secret).key_for(header)


async def test_a_cached_token_is_refused_once_its_key_is_rotated_out() -> None:
    keys = _RotatingSecret(SECRET)
    auth = _auth(keys)
    token = _sign(_custom(), SECRET, "HS256")
    assert (await _claims(auth, token)).act_as == {"alice"}
    keys.secret = SECRET + b"-rotated"
    with pytest.raises(Unauthenticated, match="does not verify"):
        await _claims(auth, token)
    keys.secret = SECRET
    assert (await _claims(auth, token)).act_as == {"alice"}


async def test_not_yet_valid_token_is_refused() -> None:
    payload = {**_custom(), "nbf": int(time.time()) + 120}
    with pytest.raises(Unauthenticated, match="not yet valid"):
        await _claims(_auth(SharedSecretKeys(SECRET)), _sign(payload, SECRET, "HS256"))


async def test_token_without_expiry_is_refused_when_expiry_is_required() -> None:
    payload = {CLAIMS: {"actAs": ["alice"]}}
    token = _sign(payload, SECRET, "HS256")
    assert (await _claims(_auth(SharedSecretKeys(SECRET)), token)).expires_at_s is None
    with pytest.raises(Unauthenticated, match="exp"):
        await _claims(_auth(SharedSecretKeys(SECRET), require_expiry=True), token)


WRONG_TARGET = {
    "custom claims for another participant": _custom(participantId="PAR::p2::1220abcd"),
    "custom claims for another ledger": _custom(ledgerId="other-ledger"),
    "user token for another participant": _user(aud="PAR::p2::1220abcd"),
    "user token with two audiences": _user(aud=[PARTICIPANT, "PAR::p2::1220abcd"]),
    "audience token for another participant": {"sub": "alice-user",
                                               "aud": AUD_PREFIX + "PAR::p2::1220abcd"},
    "audience token naming two participants": {
        "sub": "alice-user", "aud": [AUD_PREFIX + PARTICIPANT, AUD_PREFIX + "PAR::p2::12"]},
    "audience token naming none": {"sub": "alice-user", "aud": AUD_PREFIX},
    "neither format": {"sub": "alice-user", "exp": int(time.time()) + 60},
    "unknown scope only": {"sub": "alice-user", "scope": "openid profile"},
    "claims not an object": {CLAIMS: ["alice"]},
    "actAs not a list": {CLAIMS: {"actAs": "alice"}},
    "admin not a boolean": {CLAIMS: {"actAs": [], "admin": "yes"}},
    "aud not text": {**_custom(), "aud": 7},
    "user token with a bad user id": _user(sub="alice user!"),
    "user token without sub": {"scope": "daml_ledger_api"},
}


@pytest.mark.parametrize("case", WRONG_TARGET, ids=list(WRONG_TARGET))
async def test_tokens_for_someone_else_or_malformed_are_unauthenticated(case: str) -> None:
    with pytest.raises(Unauthenticated):
        await _claims(_auth(SharedSecretKeys(SECRET)), _sign(WRONG_TARGET[case], SECRET, "HS256"))


async def test_configured_audience_and_issuer_must_be_present() -> None:
    auth = _auth(SharedSecretKeys(SECRET), target_audience="https://ledger.example",
                 issuer="https://idp.example")
    good = {**_custom(), "aud": "https://ledger.example", "iss": "https://idp.example"}
    assert (await _claims(auth, _sign(good, SECRET, "HS256"))).act_as == {"alice"}
    for bad in ({**good, "aud": "https://elsewhere"}, {**good, "iss": "https://evil"},
                {k: v for k, v in good.items() if k != "aud"}):
        with pytest.raises(Unauthenticated):
            await _claims(auth, _sign(bad, SECRET, "HS256"))


async def test_unknown_or_deactivated_users_are_denied() -> None:
    auth = _auth(SharedSecretKeys(SECRET))
    for user in ("nobody", "gone"):
        with pytest.raises(PermissionDenied, match=user):
            await _claims(auth, _sign(_user(user), SECRET, "HS256"))


async def test_user_tokens_are_refused_without_user_management() -> None:
    auth = LedgerApiAuthenticator(AuthConfig(SharedSecretKeys(SECRET), PARTICIPANT))
    with pytest.raises(Unauthenticated, match="disabled"):
        await _claims(auth, _sign(_user(), SECRET, "HS256"))


# ------------------------------------------------------------------------------ JWKS


async def test_jwks_keys_are_fetched_once_and_cached(
        rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey,
        jwks_server: tuple[str, _Jwks]) -> None:
    url, jwks = jwks_server
    jwks.document = {"keys": [jwk_of(rsa_key, "rsa-1"), jwk_of(ec_key, "ec-1")]}
    auth = _auth(JwksKeys(url))
    for _ in range(3):
        assert (await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid="rsa-1"))).act_as
        assert (await _claims(auth, _sign(_custom(), ec_key, "ES256", kid="ec-1"))).act_as
    assert jwks.requests == 1


async def test_jwks_rotation_is_picked_up_but_refetches_are_rate_limited(
        rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey,
        jwks_server: tuple[str, _Jwks]) -> None:
    url, jwks = jwks_server
    jwks.document = {"keys": [jwk_of(rsa_key, "old")]}
    now = [1000.0]
    keys = JwksKeys(url, min_refresh_interval_s=10, clock=lambda: now[0])
    auth = _auth(keys)
    await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid="old"))
    jwks.document = {"keys": [jwk_of(other_rsa_key, "new")]}
    rotated = _sign(_custom(), other_rsa_key, "RS256", kid="new")
    with pytest.raises(Unauthenticated, match="no key 'new'"):
        await _claims(auth, rotated)  # within the refresh interval: no refetch
    assert jwks.requests == 1
    now[0] += 11
    assert (await _claims(auth, rotated)).act_as == {"alice"}
    assert jwks.requests == 2
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid=f"junk-{_}"))
    assert jwks.requests == 2


async def test_jwks_refuses_symmetric_keys_missing_kids_and_alg_mismatches(
        rsa_key: rsa.RSAPrivateKey, jwks_server: tuple[str, _Jwks]) -> None:
    url, jwks = jwks_server
    oct_key = {"kty": "oct", "kid": "shared", "k": b64url(SECRET), "alg": "HS256"}
    jwks.document = {"keys": [oct_key, jwk_of(rsa_key, "rsa-1"),
                              {**jwk_of(rsa_key, "lying"), "alg": "ES256"}]}
    auth = _auth(JwksKeys(url))
    with pytest.raises(Unauthenticated, match="HS256"):
        await _claims(auth, _sign(_custom(), SECRET, "HS256", kid="shared"))
    with pytest.raises(Unauthenticated, match="kid"):
        await _claims(auth, _sign(_custom(), rsa_key, "RS256"))
    with pytest.raises(Unauthenticated, match="no key 'lying'"):
        await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid="lying"))
    forged_header = handmade_token({"alg": "ES256", "kid": "rsa-1"}, _custom(), None)
    with pytest.raises(Unauthenticated, match="is for RS256"):
        await _claims(auth, forged_header)


async def test_unreachable_jwks_is_unauthenticated(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = _auth(JwksKeys("http://127.0.0.1:9/jwks.json", timeout_s=1))
    with pytest.raises(Unauthenticated, match="could not fetch"):
        await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid="k"))


async def test_a_jwks_answer_without_keys_is_unauthenticated_and_refetch_throttled(
        rsa_key: rsa.RSAPrivateKey, jwks_server: tuple[str, _Jwks]) -> None:
    """An identity provider in trouble answering 200 with no key list (shells review #9):
    UNAUTHENTICATED, not an untyped error, and `min_refresh_interval_s` still holds."""
    url, jwks = jwks_server
    jwks.document = {"error": "maintenance"}  # type: ignore[dict-item]
    now = [1000.0]
    auth = _auth(JwksKeys(url, min_refresh_interval_s=10, clock=lambda: now[0]))
    for index in range(5):
        with pytest.raises(Unauthenticated, match=r"could not fetch the JWKS: .*no 'keys' list"):
            await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid=f"k{index}"))
    assert jwks.requests == 1
    jwks.document = {"keys": [jwk_of(rsa_key, "k")]}
    now[0] += 11
    assert (await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid="k"))).act_as
    assert jwks.requests == 2
    jwks.document = {"error": "maintenance again"}  # type: ignore[dict-item]
    now[0] += 400  # past the cache TTL: refetched, the bad answer ignored, the keys kept
    assert (await _claims(auth, _sign(_custom(), rsa_key, "RS256", kid="k"))).act_as
    assert jwks.requests == 3


# ------------------------------------------------------------------------------ authorization


async def test_claims_checks_deny_what_the_token_does_not_carry() -> None:
    claims = await _claims(_auth(SharedSecretKeys(SECRET)),
                           mint_dev_token(SECRET, ["alice"], ["bob"], False, "app"))
    claims.check_act_as(["alice"])
    claims.check_read_as(["alice", "bob"])  # acting implies reading
    for check, parties in ((claims.check_act_as, ["bob"]), (claims.check_act_as, ["alice", "x"]),
                           (claims.check_read_as, ["carol"]), (claims.check_act_as, [])):
        with pytest.raises(PermissionDenied) as caught:
            check(parties)
        assert caught.value.grpc_status == "PERMISSION_DENIED"
    with pytest.raises(PermissionDenied, match="admin"):
        claims.check_admin()
    assert claims.check_application_id("") == "app"
    assert claims.check_application_id("app") == "app"
    with pytest.raises(PermissionDenied, match="application id"):
        claims.check_application_id("other-app")


def test_admin_and_expiry_checks() -> None:
    claims = AuthorizedClaims(frozenset(), frozenset(), admin=True, application_id=None,
                              expires_at_s=1000)
    claims.check_admin()
    assert claims.check_application_id("any") == "any"
    claims.check_not_expired(999.0)
    with pytest.raises(AccessTokenExpired):
        claims.check_not_expired(1000.0)


# ------------------------------------------------------------------------------ configuration


def test_weak_or_confused_key_configuration_is_rejected(
        rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(InvalidArgument, match="32 bytes"):
        SharedSecretKeys(b"short")
    with pytest.raises(InvalidArgument, match="PEM"):
        SharedSecretKeys(public_pem(rsa_key))
    with pytest.raises(InvalidArgument, match="cannot verify ES256"):
        PublicKeyKeys.from_pem(public_pem(rsa_key), "ES256")
    with pytest.raises(InvalidArgument, match="cannot verify RS256"):
        PublicKeyKeys.from_pem(public_pem(ec_key), "RS256")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(InvalidArgument, match="2048"):
        PublicKeyKeys.from_pem(public_pem(small), "RS256")
    with pytest.raises(InvalidArgument, match="PEM"):
        PublicKeyKeys.from_pem(b"not a key", "RS256")
    with pytest.raises(InvalidArgument):
        JwksKeys("http://127.0.0.1/jwks", algorithms=("HS256",))


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  abc.def.ghi ") == "abc.def.ghi"
    with pytest.raises(Unauthenticated, match="no access token"):
        bearer_token(None)
