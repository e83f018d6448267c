"""What a verified-token cache hit still checks on every call, with real HS256 tokens.

A verified token keeps its payload and, once built, what its custom claims grant; the checks
against this participant (audience, participant id, ledger id), the key and algorithm, and
the expiry run on every call, and a token refused once is refused every time.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from minicanton.runtime.auth import (
    AccessTokenExpired,
    AuthConfig,
    AuthorizedClaims,
    LedgerApiAuthenticator,
    PublicKeyKeys,
    SharedSecretKeys,
    Unauthenticated,
)

SECRET = b"0123456789abcdef0123456789abcdef-dev"
PARTICIPANT = "PAR::p1::1220abcd"
LEDGER = "minicanton-ledger"
CLAIMS = "https://daml.com/ledger-api"


def _token(claims: dict[str, Any], *, secret: bytes = SECRET, algorithm: str = "HS256",
           **payload: Any) -> str:
    body = {CLAIMS: claims, "exp": int(time.time()) + 600, **payload}
    return jwt.encode(body, secret, algorithm=algorithm)


def _auth(**config: Any) -> LedgerApiAuthenticator:
    settings = {"participant_id": PARTICIPANT, "ledger_id": LEDGER, **config}
    return LedgerApiAuthenticator(AuthConfig(keys=SharedSecretKeys(SECRET), **settings))


async def _claims(auth: LedgerApiAuthenticator, token: str) -> AuthorizedClaims:
    return await auth.authenticate(f"Bearer {token}")


GOOD = {"actAs": ["alice"], "readAs": ["bob"], "admin": False, "applicationId": "app",
        "participantId": PARTICIPANT, "ledgerId": LEDGER}


async def test_a_cache_hit_grants_exactly_what_a_fresh_verification_grants() -> None:
    token = _token(GOOD)
    auth = _auth()
    first, second, third = [await _claims(auth, token) for _ in range(3)]
    fresh = await _claims(_auth(), token)
    assert first == second == third == fresh
    assert fresh == AuthorizedClaims(frozenset({"alice"}), frozenset({"bob"}), False, "app",
                                     expires_at_s=fresh.expires_at_s)


MALFORMED = {
    "actAs not a list": {"actAs": "alice"},
    "actAs with an empty party": {"actAs": ["alice", ""]},
    "readAs not a list": {"actAs": ["alice"], "readAs": 7},
    "admin not a boolean": {"actAs": [], "admin": "yes"},
    "applicationId not text": {"actAs": ["alice"], "applicationId": 3},
    "participantId not text": {"actAs": ["alice"], "participantId": ["p"]},
    "another participant": {"actAs": ["alice"], "participantId": "PAR::p2::1220abcd"},
    "another ledger": {"actAs": ["alice"], "ledgerId": "other-ledger"},
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
async def test_a_token_refused_once_is_refused_on_every_call(case: str) -> None:
    auth = _auth()
    token = _token(MALFORMED[case])
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await _claims(auth, token)


async def test_participant_ledger_and_audience_are_checked_on_every_cache_hit() -> None:
    """An authenticator whose configuration changed under a cached token (as it would if the
    checks were remembered with the claims) refuses it at once."""
    auth = _auth(target_audience="https://ledger.example")
    token = _token(GOOD, aud="https://ledger.example")
    assert (await _claims(auth, token)).act_as == {"alice"}
    original = auth._config
    for changed, complaint in (
        (dataclasses.replace(original, participant_id="PAR::p2::1220abcd"), "participant"),
        (dataclasses.replace(original, ledger_id="other-ledger"), "ledger"),
        (dataclasses.replace(original, target_audience="https://other.example"), "audience"),
    ):
        auth._config = changed
        with pytest.raises(Unauthenticated, match=complaint):
            await _claims(auth, token)
        auth._config = original
        assert (await _claims(auth, token)).act_as == {"alice"}


async def test_the_configured_algorithm_is_checked_on_every_cache_hit() -> None:
    """A cached HS256 token is refused once the key source accepts RS256 only."""
    auth = _auth()
    token = _token(GOOD)
    assert (await _claims(auth, token)).admin is False
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(
        ).public_bytes(serialization.Encoding.PEM,
                       serialization.PublicFormat.SubjectPublicKeyInfo)
    original = auth._config
    auth._config = dataclasses.replace(original, keys=PublicKeyKeys.from_pem(pem, "RS256"))
    with pytest.raises(Unauthenticated, match="not accepted"):
        await _claims(auth, token)
    auth._config = original
    assert (await _claims(auth, token)).admin is False


async def test_claims_built_from_the_cache_still_expire() -> None:
    auth = _auth(leeway_s=0)
    token = _token(GOOD, exp=int(time.time()) + 1)
    for _ in range(3):
        claims = await _claims(auth, token)
    assert claims.expires_at_s is not None
    time.sleep(max(0.0, claims.expires_at_s + 0.05 - time.time()))
    with pytest.raises(AccessTokenExpired):
        await _claims(auth, token)
    with pytest.raises(AccessTokenExpired):
        claims.check_not_expired(time.time())


async def test_a_token_with_a_forged_signature_is_refused_even_after_the_real_one() -> None:
    auth = _auth()
    token = _token(GOOD)
    assert (await _claims(auth, token)).act_as == {"alice"}
    header, payload, signature = token.split(".")
    forged = _token({**GOOD, "actAs": ["alice", "bank"]}, secret=SECRET + b"-guess")
    _, forged_payload, forged_signature = forged.split(".")
    for attempt in (f"{header}.{forged_payload}.{signature}",
                    f"{header}.{forged_payload}.{forged_signature}",
                    f"{header}.{payload}.{forged_signature}"):
        with pytest.raises(Unauthenticated):
            await _claims(auth, attempt)
    assert (await _claims(auth, token)).act_as == {"alice"}
