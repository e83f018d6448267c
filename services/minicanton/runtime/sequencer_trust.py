"""Which sequencer keys a member trusts to sign the events it receives: one way for every
member (participant, mediator, topology manager).

Theory of operation. Pinned keys (`trusted_sequencer_keys_hex` in the member's config) are
the production way and are used as they are. Without them the member trusts on first use what
the sequencers announce (`GetInfo`), which is for development: every configured endpoint is
asked, concurrently, and asked again (with the one backoff policy) until each has answered —
or, once at least one has, until `all_within_s` has passed, so one instance down does not
block the start. Each instance's key is trusted, not only the first to answer: ADR 7 lets
every instance sign with its own key, and a member that trusted one instance only would
refuse the events of the next after a failover. Each instance must serve the member's
domain. A WARNING names the keys trusted unpinned, and another the endpoints that never
answered: the events they sign will be refused until the member restarts or pins their keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from google.protobuf.message import DecodeError

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.topology import signing_key_from_bytes
from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.errors import MinicantonError
from minicanton.runtime.retry import Backoff

log = logging.getLogger(__name__)
GET_INFO = "/minicanton.sequencer.v1.SequencerService/GetInfo"


class SequencerTrustFailed(MinicantonError):
    """No sequencer announced its key in time, or one serves another domain."""

    error_id = "SEQUENCER_TRUST_FAILED"


async def trusted_sequencer_keys(
    endpoints: Sequence[str], configured_hex: Sequence[str], domain_id: str, timeout_s: float,
    *, all_within_s: float = 5.0, rpc_timeout_s: float = 2.0,
) -> list[SigningPublicKey]:
    """The configured keys, else every key the sequencers at `endpoints` announce."""
    if configured_hex:
        return [signing_key_from_bytes(bytes.fromhex(k)) for k in configured_hex]
    announced = await _ask_until_answered(endpoints, domain_id, timeout_s, all_within_s,
                                          rpc_timeout_s)
    silent = [e for e in endpoints if e not in announced]
    log.warning("trusting the sequencer keys announced by %s (%s), unpinned: for development "
                "only, set trusted_sequencer_keys_hex", ", ".join(announced),
                ", ".join(sorted({k.fingerprint for k in announced.values()})))
    if silent:
        log.warning("sequencer(s) %s did not announce their key: events they sign are refused "
                    "until this member restarts or pins their keys", ", ".join(silent))
    unique = {key.raw: key for key in announced.values()}
    return list(unique.values())


async def _ask_until_answered(
    endpoints: Sequence[str], domain_id: str, timeout_s: float, all_within_s: float,
    rpc_timeout_s: float,
) -> dict[str, SigningPublicKey]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    backoff = Backoff(initial_ms=100, max_ms=1_000)
    announced: dict[str, SigningPublicKey] = {}
    attempt = 0
    while True:
        pending = [e for e in endpoints if e not in announced]
        answers = await asyncio.gather(*(_announced_key(e, rpc_timeout_s) for e in pending))
        for endpoint, answer in zip(pending, answers, strict=True):
            if answer is not None:
                announced[endpoint] = _check_domain(endpoint, answer, domain_id)
        elapsed_s = loop.time() - started
        if len(announced) == len(endpoints) or (announced and elapsed_s >= all_within_s):
            return announced
        if elapsed_s >= timeout_s:
            raise SequencerTrustFailed(
                f"no sequencer of {', '.join(endpoints)} announced its key within "
                f"{timeout_s:g} s; is one running?")
        await backoff.sleep(attempt)
        attempt += 1


def _check_domain(endpoint: str, info: pb.SequencerInfo, domain_id: str) -> SigningPublicKey:
    if info.domain_id != domain_id:
        raise SequencerTrustFailed(f"sequencer {endpoint} serves domain {info.domain_id!r}, "
                                   f"this member belongs to {domain_id!r}")
    return signing_key_from_bytes(info.sequencer_public_key)


async def _announced_key(endpoint: str, rpc_timeout_s: float) -> pb.SequencerInfo | None:
    """`GetInfo` of one sequencer (unauthenticated); None while it does not answer."""
    async with grpc.aio.insecure_channel(endpoint) as channel:
        try:
            raw = await channel.unary_unary(GET_INFO)(pb.InfoRequest().SerializeToString(),
                                                      timeout=rpc_timeout_s)
        except grpc.aio.AioRpcError as error:
            log.info("sequencer %s does not answer yet: %s", endpoint, error.code().name)
            return None
    try:
        info: pb.SequencerInfo = pb.SequencerInfo.FromString(raw)
    except DecodeError:
        raise SequencerTrustFailed(f"sequencer {endpoint} answered GetInfo with bytes that "
                                   "are not a SequencerInfo") from None
    return info
