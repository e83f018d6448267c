"""Who is calling: the bearer token, verified here, and the parties it may act and read as.

The token is verified with the same keys and rules as the participant's Ledger API
(`runtime.auth`), then forwarded unchanged on every ledger call, where the participant checks
it again. A user token's rights are read from the participant's user management with that
same token (a user may read its own rights). Requests then choose their parties within the
token's: `act_as` for commands, `readers` for queries, each refusing (403) a party the token
does not carry, as Daml's JSON API does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc

from minicanton.json_api.ledger_client import BoundLedger, LedgerClient, LedgerError
from minicanton.runtime.auth import (
    AuthConfig,
    AuthorizedClaims,
    LedgerApiAuthenticator,
    PermissionDenied,
    UserRights,
)

JWT_SUBPROTOCOL_PREFIX = "jwt.token."
DAML_WS_SUBPROTOCOL = "daml.ws.auth"


@dataclass(frozen=True, slots=True)
class Caller:
    token: str = field(repr=False)  # a bearer credential: never in a repr or log
    claims: AuthorizedClaims

    def act_as(self, requested: Iterable[str] | None) -> list[str]:
        """The submitting parties: those asked for (all within the token's) or the token's."""
        parties = sorted(set(requested)) if requested else sorted(self.claims.act_as)
        self.claims.check_act_as(parties)
        return parties

    def read_as(self, requested: Iterable[str] | None) -> list[str]:
        if requested is None:
            return sorted(self.claims.read_as)
        parties = sorted(set(requested))
        if parties:
            self.claims.check_read_as(parties)
        return parties

    def readers(self, requested: Iterable[str] | None) -> frozenset[str]:
        """The parties a query reads as: those asked for (within the token's) or all the
        token's (act-as and read-as)."""
        parties = set(requested) if requested else self.claims.act_as | self.claims.read_as
        self.claims.check_read_as(parties)
        return frozenset(parties)

    def application_id(self, default: str) -> str:
        return self.claims.application_id or default


def _rights_lookup(ledger: BoundLedger):  # type: ignore[no-untyped-def]
    async def lookup(user_id: str) -> UserRights | None:
        try:
            user = await ledger.user(user_id)
            rights = await ledger.user_rights(user_id)
        except LedgerError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                return None
            if error.code in (grpc.StatusCode.PERMISSION_DENIED,
                              grpc.StatusCode.UNAUTHENTICATED):
                raise PermissionDenied(error.message) from None
            raise
        kinds = [right.WhichOneof("kind") for right in rights]
        return UserRights(
            user_id=user_id, primary_party=user.primary_party or None,
            is_deactivated=user.is_deactivated,
            act_as=frozenset(r.can_act_as.party for r in rights if r.HasField("can_act_as")),
            read_as=frozenset(r.can_read_as.party for r in rights if r.HasField("can_read_as")),
            participant_admin="participant_admin" in kinds,
        )

    return lookup


class Authenticator:
    """Turns an ``Authorization`` header (or a WebSocket subprotocol) into a `Caller`."""

    def __init__(self, config: AuthConfig, ledger: LedgerClient) -> None:
        self._config = config
        self._ledger = ledger

    async def caller(self, authorization: str | None) -> Caller:
        token = (authorization or "").strip().partition(" ")[2].strip()
        lookup = _rights_lookup(self._ledger.bound(token))
        claims = await LedgerApiAuthenticator(self._config, lookup).authenticate(authorization)
        return Caller(token, claims)

    async def websocket_caller(self, subprotocols: Iterable[str]) -> Caller:
        offered = list(subprotocols)
        tokens = [p[len(JWT_SUBPROTOCOL_PREFIX):] for p in offered
                  if p.startswith(JWT_SUBPROTOCOL_PREFIX)]
        if DAML_WS_SUBPROTOCOL not in offered or len(tokens) != 1:
            return await self.caller(None)  # refused the same way as a missing header
        return await self.caller(f"Bearer {tokens[0]}")
