"""Who is calling the topology manager: the domain admin, a member for itself, or nobody.

The admin presents the static token of the manager's config (compared in constant time). A
member signs the call with one of its signing keys in the head topology (so a key whose
revocation is accepted can no longer call, and a newly onboarded participant can at once); the
signature covers the domain, the method, the member, a timestamp within `MAX_SKEW_US` of our
clock and the request's deterministic serialization, so it cannot be moved to another call.
A replay within the window repeats a request whose effect is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from google.protobuf.message import Message

from minicanton.codec.topology import (
    MEMBER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    member_request_hash,
    signature_from_header,
)
from minicanton.core.crypto.signing import SigningPublicKey, verify_signature
from minicanton.core.errors import CryptoError, InvalidArgument
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import MemberId
from minicanton.runtime.clock import Clock
from minicanton.runtime.grpc_errors import bearer_matches
from minicanton.topology.errors import PermissionDenied, Unauthenticated

MAX_SKEW_US = 60_000_000


@dataclass(frozen=True, slots=True)
class Caller:
    member: MemberId | None  # None: the domain admin

    @property
    def is_admin(self) -> bool:
        return self.member is None


ADMIN = Caller(None)


class RequestAuthenticator:
    def __init__(self, admin_token: str, domain_id: str,
                 keys_of: Callable[[MemberId], Iterable[SigningPublicKey]],
                 clock: Clock) -> None:
        self._admin_token = admin_token
        self._domain_id = domain_id
        self._keys_of = keys_of
        self._clock = clock

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]], method: str,
                     request: Message, *, members: bool) -> Caller:
        """The caller, or `Unauthenticated`; `members`: whether a member may call at all."""
        headers = {key: value for key, value in metadata if isinstance(value, str)}
        if "authorization" in headers:
            if bearer_matches(metadata, self._admin_token):
                return ADMIN
            raise Unauthenticated("the admin token is not valid")
        if MEMBER_HEADER in headers:
            if not members:
                raise PermissionDenied(f"{method} is for the domain admin only")
            return Caller(self._member(headers, method, request))
        raise Unauthenticated(
            "call with 'authorization: Bearer <admin token>'" + (
                " or as a member with a signed request" if members else ""))

    def _member(self, headers: dict[str, str], method: str, request: Message) -> MemberId:
        member = MemberId(headers[MEMBER_HEADER])
        try:
            timestamp_us = int(headers.get(TIMESTAMP_HEADER, ""))
        except ValueError:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} must be an integer") from None
        if abs(timestamp_us - self._clock()) > MAX_SKEW_US:
            raise Unauthenticated("the request's timestamp is too far from the manager's clock")
        try:
            signature = signature_from_header(headers.get(SIGNATURE_HEADER, ""))
        except InvalidArgument as error:
            raise Unauthenticated(error.message) from None
        key = next((k for k in self._keys_of(member) if k.fingerprint == signature.signed_by),
                   None)
        if key is None:
            raise Unauthenticated(f"{signature.signed_by} is not a signing key of {member}")
        digest = member_request_hash(self._domain_id, method, member, timestamp_us,
                                     request.SerializeToString(deterministic=True))
        try:
            verify_signature(key, digest, HashPurpose.AUTH_CHALLENGE, signature)
        except CryptoError:
            raise Unauthenticated(f"the request signature of {member} does not verify") from None
        return member
