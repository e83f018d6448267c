"""`minicanton topology`: run the topology manager and administer the domain topology.

Every admin command talks to a running manager over its gRPC API (`--endpoint`, default
$MINICANTON_TOPOLOGY_ENDPOINT) with the admin token (`--admin-token`, default
$MINICANTON_TOPOLOGY_ADMIN_TOKEN). Listings print a table, or JSON with `--json`; a change
prints when it was sequenced and when it takes effect. Errors print one line (the server's
error id and reason) and exit 1; no stack trace.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from google.protobuf.descriptor import FieldDescriptor
from rich.console import Console
from rich.table import Table

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.core.topology.mappings import ParticipantPermission, TrustLevel
from minicanton.core.topology.transactions import SignedTopologyTransaction
from minicanton.runtime.topology_admin_client import TopologyAdminClient
from minicanton.topology.changes import initial_key_mapping

app = typer.Typer(no_args_is_help=True)
onboarding = typer.Typer(no_args_is_help=True, help="Participants' onboarding requests.")
app.add_typer(onboarding, name="onboarding")
T = TypeVar("T")

ENDPOINT = typer.Option("127.0.0.1:5020", "--endpoint", envvar="MINICANTON_TOPOLOGY_ENDPOINT",
                        help="the topology manager's gRPC endpoint")
TOKEN = typer.Option(..., "--admin-token", envvar="MINICANTON_TOPOLOGY_ADMIN_TOKEN",
                     help="the admin token of the manager's config")
AS_OF = typer.Option(0, "--as-of-us", help="topology as of this time (µs); 0: everything "
                     "accepted, pending changes included")
FILTER = typer.Option("", "--filter", help="only ids containing this text")
JSON = typer.Option(False, "--json", help="print JSON for scripts")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _run(endpoint: str, token: str | None, work: Callable[[TopologyAdminClient],
                                                          Awaitable[T]]) -> T:
    async def main() -> T:
        async with TopologyAdminClient(endpoint, admin_token=token, timeout_s=30) as client:
            return await work(client)
    try:
        return asyncio.run(main())
    except MinicantonError as error:
        if error.error_id == "UNAVAILABLE":
            raise _fail(f"cannot reach the topology manager at {endpoint}: "
                        f"{error.message}") from None
        raise _fail(f"{error.error_id}: {error.message}") from None


def _as_dict(message: Any) -> dict[str, Any]:
    """Every field, with numbers as JSON numbers (protobuf's JSON quotes 64-bit ones)."""
    return {field.name: _value(field, getattr(message, field.name))
            for field in message.DESCRIPTOR.fields}


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return [_single(field, item) for item in value]
    return _single(field, value)


def _single(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _as_dict(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values_by_number[value].name
    if field.type == FieldDescriptor.TYPE_BYTES:
        return value.hex()
    return value


def _print_rows(title: str, columns: list[str], rows: list[list[str]], data: Any,
                as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _print_change(change: pb.TopologyChange, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_as_dict(change), indent=2, sort_keys=True))
    elif change.unchanged:
        typer.echo("unchanged: the requested state was already accepted")
    else:
        for tx in change.transactions:
            typer.echo(f"{tx.operation} {tx.mapping} serial {tx.serial} ({tx.hash[:16]}…)")
        typer.echo(f"sequenced at {change.sequenced_us}, effective at {change.effective_us}")


def _short(name: str) -> str:
    return name.split("_", 2)[-1] if name.count("_") >= 2 else name


# --- running ---------------------------------------------------------------------------


@app.command("run")
def run(config: Path = typer.Option(..., "--config", help="the manager's .json or .toml")) -> None:
    """Run the topology manager until SIGTERM."""
    from minicanton.topology.__main__ import run as run_manager

    raise typer.Exit(run_manager(str(config)))


@app.command("key-mapping")
def key_mapping(
    kind: str = typer.Option(..., "--kind", help="participant | mediator | sequencer"),
    name: str = typer.Option(..., "--name", help="the member's hint, e.g. mediator1"),
    key_seed_hex: str = typer.Option(..., "--key-seed-hex", envvar="MINICANTON_KEY_SEED_HEX",
                                     help="the member's 32-byte Ed25519 seed, hex"),
    encryption_seed_hex: str = typer.Option("", "--encryption-seed-hex",
                                            help="a 32-byte X25519 seed, hex (participants)"),
) -> None:
    """Print a member's self-signed key mapping (hex), for `initial_members` or onboarding."""
    kinds = {"participant": MemberKind.PARTICIPANT, "mediator": MemberKind.MEDIATOR,
             "sequencer": MemberKind.SEQUENCER}
    try:
        key = SigningKeyPair.from_private(bytes.fromhex(key_seed_hex))
        encryption = ([EncryptionKeyPair.from_private(bytes.fromhex(encryption_seed_hex)).public]
                      if encryption_seed_hex else [])
        member = MemberId(member_id(kinds[kind], name, key.fingerprint))
        signed = initial_key_mapping(member, [key], encryption)
    except KeyError:
        raise _fail(f"--kind must be one of {', '.join(kinds)}") from None
    except (ValueError, MinicantonError) as error:
        raise _fail(getattr(error, "message", str(error))) from None
    typer.echo(json.dumps({"member": member, "key_mapping": signed.to_bytes().hex()}))


# --- listings --------------------------------------------------------------------------


def _list(method: str, endpoint: str, token: str, as_of_us: int, needle: str) -> Any:
    return _run(endpoint, token, lambda c: c.call(method, pb.ListRequest(
        as_of_us=as_of_us, filter=needle)))


@app.command("info")
def info(endpoint: str = ENDPOINT, as_json: bool = JSON) -> None:
    """The domain's identity and genesis parameters (no token needed)."""
    answer = _run(endpoint, None, lambda c: c.domain_info())
    data = _as_dict(answer)
    data.pop("namespace_public_key", None)
    _print_rows("domain", ["field", "value"], [[k, str(v)] for k, v in data.items()
                                                if k != "genesis_parameters"], data, as_json)


@app.command("participants")
def participants(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
                 needle: str = FILTER, as_json: bool = JSON) -> None:
    """Admitted participants with their permission and trust level."""
    answer = _list("ListParticipants", endpoint, admin_token, as_of_us, needle)
    rows = [[p.participant, _short(pb.ParticipantPermission.Name(p.permission)),
             _short(pb.TrustLevel.Name(p.trust_level))] for p in answer.participants]
    _print_rows("participants", ["participant", "permission", "trust"], rows,
                _as_dict(answer)["participants"], as_json)


@app.command("parties")
def parties(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
            needle: str = FILTER, as_json: bool = JSON) -> None:
    """Parties and the participants hosting them."""
    answer = _list("ListParties", endpoint, admin_token, as_of_us, needle)
    rows = [[p.party, "\n".join(
        f"{h.participant} ({_short(pb.ParticipantPermission.Name(h.permission))})"
        for h in p.hosts)] for p in answer.parties]
    _print_rows("parties", ["party", "hosted by"], rows, _as_dict(answer)["parties"], as_json)


@app.command("keys")
def keys(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
         needle: str = FILTER, as_json: bool = JSON) -> None:
    """Every member's signing and encryption keys (the last one is current)."""
    answer = _list("ListKeys", endpoint, admin_token, as_of_us, needle)
    rows = [[m.member, "\n".join(k.fingerprint for k in m.signing_keys),
             "\n".join(k.fingerprint for k in m.encryption_keys)] for m in answer.members]
    data = [{"member": m.member, "signing_keys": [k.fingerprint for k in m.signing_keys],
             "encryption_keys": [k.fingerprint for k in m.encryption_keys]}
            for m in answer.members]
    _print_rows("keys", ["member", "signing", "encryption"], rows, data, as_json)


def _members(method: str, title: str, endpoint: str, token: str, as_of_us: int,
             needle: str, as_json: bool) -> None:
    answer = _list(method, endpoint, token, as_of_us, needle)
    _print_rows(title, [title[:-1]], [[m] for m in answer.members], list(answer.members),
                as_json)


@app.command("mediators")
def mediators(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
              needle: str = FILTER, as_json: bool = JSON) -> None:
    """The domain's active mediators."""
    _members("ListMediators", "mediators", endpoint, admin_token, as_of_us, needle, as_json)


@app.command("sequencers")
def sequencers(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
               needle: str = FILTER, as_json: bool = JSON) -> None:
    """The domain's active sequencers."""
    _members("ListSequencers", "sequencers", endpoint, admin_token, as_of_us, needle, as_json)


@app.command("packages")
def packages(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
             needle: str = FILTER, as_json: bool = JSON) -> None:
    """Packages vetted by each participant."""
    answer = _list("ListVettedPackages", endpoint, admin_token, as_of_us, needle)
    rows = [[p.participant, "\n".join(p.package_ids)] for p in answer.participants]
    _print_rows("vetted packages", ["participant", "packages"], rows,
                _as_dict(answer)["participants"], as_json)


@app.command("parameters")
def parameters(endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_of_us: int = AS_OF,
               as_json: bool = JSON) -> None:
    """The domain parameters."""
    answer = _list("GetDomainParameters", endpoint, admin_token, as_of_us, "")
    data = _as_dict(answer.parameters)
    _print_rows("domain parameters", ["parameter", "value"],
                [[k, str(v)] for k, v in sorted(data.items())], data, as_json)


# --- onboarding ------------------------------------------------------------------------


@onboarding.command("list")
def onboarding_list(endpoint: str = ENDPOINT, admin_token: str = TOKEN,
                    pending: bool = typer.Option(False, "--pending", help="pending only"),
                    as_json: bool = JSON) -> None:
    """Onboarding requests (pending and decided)."""
    answer = _run(endpoint, admin_token, lambda c: c.call(
        "ListOnboardingRequests", pb.ListOnboardingRequestsRequest(pending_only=pending)))
    rows = [[r.participant, _short(pb.OnboardingStatus.Name(r.status)), str(r.requested_at_us),
             r.reason] for r in answer.requests]
    _print_rows("onboarding requests", ["participant", "status", "requested at", "reason"],
                rows, _as_dict(answer)["requests"], as_json)


@onboarding.command("approve")
def onboarding_approve(participant: str, endpoint: str = ENDPOINT, admin_token: str = TOKEN,
                       vip: bool = typer.Option(False, "--vip", help="admit as VIP"),
                       as_json: bool = JSON) -> None:
    """Admit a pending participant (registers it with the sequencers, broadcasts its keys)."""
    level = TrustLevel.VIP if vip else TrustLevel.ORDINARY
    _print_change(_run(endpoint, admin_token, lambda c: c.approve(participant, level)), as_json)


@onboarding.command("reject")
def onboarding_reject(participant: str, endpoint: str = ENDPOINT, admin_token: str = TOKEN,
                      reason: str = typer.Option("", "--reason")) -> None:
    """Reject a pending participant."""
    _run(endpoint, admin_token, lambda c: c.call("RejectOnboarding", pb.RejectOnboardingRequest(
        participant=participant, reason=reason)))
    typer.echo(f"rejected {participant}")


# --- changes ---------------------------------------------------------------------------


@app.command("set-trust")
def set_trust(participant: str, level: str = typer.Argument(..., help="ordinary | vip"),
              endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_json: bool = JSON) -> None:
    """Set a participant's trust level."""
    try:
        trust = TrustLevel[level.upper()]
    except KeyError:
        raise _fail("the trust level is 'ordinary' or 'vip'") from None
    _print_change(_run(endpoint, admin_token, lambda c: c.set_trust_level(participant, trust)),
                  as_json)


@app.command("offboard")
def offboard(participant: str, endpoint: str = ENDPOINT, admin_token: str = TOKEN,
             as_json: bool = JSON) -> None:
    """Remove a participant from the domain (final at the sequencers)."""
    answer = _run(endpoint, admin_token, lambda c: c.call(
        "OffboardParticipant", pb.OffboardParticipantRequest(participant=participant)))
    _print_change(answer.change, as_json)


@app.command("add-member")
def add_member(key_mapping_hex: str = typer.Argument(..., help="the member-signed key mapping "
                                                     "(`key-mapping` prints it)"),
               endpoint: str = ENDPOINT, admin_token: str = TOKEN,
               as_json: bool = JSON) -> None:
    """Make a mediator or sequencer active in the domain."""
    try:
        signed = SignedTopologyTransaction.from_bytes(bytes.fromhex(key_mapping_hex))
    except (ValueError, MinicantonError) as error:
        raise _fail(f"bad key mapping: {getattr(error, 'message', error)}") from None
    _print_change(_run(endpoint, admin_token, lambda c: c.add_domain_member(signed)), as_json)


@app.command("remove-member")
def remove_member(member: str, endpoint: str = ENDPOINT, admin_token: str = TOKEN,
                  as_json: bool = JSON) -> None:
    """Remove a mediator or sequencer from the domain's active set."""
    _print_change(_run(endpoint, admin_token, lambda c: c.remove_domain_member(member)),
                  as_json)


@app.command("allocate-party")
def allocate_party(
    party: str, host: list[str] = typer.Option(..., "--host",
                                                help="PARTICIPANT[=submission|confirmation|"
                                                "observation], repeatable"),
    endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_json: bool = JSON,
) -> None:
    """Host a party (hint::namespace) on one or more participants."""
    hosts = []
    for spec in host:
        participant, _, permission = spec.partition("=")
        try:
            hosts.append((participant, ParticipantPermission[(permission or "submission")
                                                             .upper()]))
        except KeyError:
            raise _fail(f"unknown permission in {spec!r}") from None
    _print_change(_run(endpoint, admin_token, lambda c: c.allocate_party(party, hosts)), as_json)


@app.command("vet")
def vet(participant: str, package_id: list[str] = typer.Argument(..., help="package ids"),
        replace: bool = typer.Option(False, "--replace", help="the vetted set becomes this"),
        endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_json: bool = JSON) -> None:
    """Vet packages for a participant."""
    _print_change(_run(endpoint, admin_token, lambda c: c.vet_packages(
        participant, package_id, replace)), as_json)


@app.command("rotate-key")
def rotate_key(member: str, new_key_seed_hex: str = typer.Option(
        ..., "--new-key-seed-hex", envvar="MINICANTON_NEW_KEY_SEED_HEX",
        help="the new 32-byte Ed25519 seed, hex (it signs its own proof of possession)"),
        endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_json: bool = JSON) -> None:
    """Add a new current signing key to a member (revoke the old one with revoke-key)."""
    try:
        key = SigningKeyPair.from_private(bytes.fromhex(new_key_seed_hex))
    except (ValueError, MinicantonError) as error:
        raise _fail(f"bad key seed: {getattr(error, 'message', error)}") from None
    _print_change(_run(endpoint, admin_token, lambda c: c.rotate_key(member, key)), as_json)


@app.command("revoke-key")
def revoke_key(member: str, fingerprint: str, endpoint: str = ENDPOINT,
               admin_token: str = TOKEN, as_json: bool = JSON) -> None:
    """Revoke one of a member's keys (its last signing key: removes its keys altogether)."""
    _print_change(_run(endpoint, admin_token, lambda c: c.revoke_key(member, fingerprint)),
                  as_json)


_PARAMETER_OPTIONS = {
    "confirmation_response_timeout_ms": "confirmation_response_timeout_us",
    "mediator_reaction_timeout_ms": "mediator_reaction_timeout_us",
    "ledger_time_record_time_tolerance_ms": "ledger_time_record_time_tolerance_us",
    "topology_change_delay_ms": "topology_change_delay_us",
}


@app.command("set-parameters")
def set_parameters(
    confirmation_response_timeout_ms: int = typer.Option(None),
    mediator_reaction_timeout_ms: int = typer.Option(None),
    ledger_time_record_time_tolerance_ms: int = typer.Option(None),
    topology_change_delay_ms: int = typer.Option(None),
    max_request_size_bytes: int = typer.Option(None),
    confirmation_policy: str = typer.Option(None, help="signatory | vip | full"),
    endpoint: str = ENDPOINT, admin_token: str = TOKEN, as_json: bool = JSON,
) -> None:
    """Change domain parameters (unset ones keep their value)."""
    given = locals()
    request = pb.SetDomainParametersRequest()
    for option, field in _PARAMETER_OPTIONS.items():
        if given[option] is not None:
            setattr(request, field, given[option] * 1_000)
    if max_request_size_bytes is not None:
        request.max_request_size_bytes = max_request_size_bytes
    if confirmation_policy is not None:
        name = f"CONFIRMATION_POLICY_{confirmation_policy.upper()}"
        if name not in pb.ConfirmationPolicy.keys():  # noqa: SIM118 (an enum wrapper)
            raise _fail("the confirmation policy is signatory, vip or full")
        request.default_confirmation_policy = pb.ConfirmationPolicy.Value(name)
    answer = _run(endpoint, admin_token, lambda c: c.call("SetDomainParameters", request))
    _print_change(answer.change, as_json)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
