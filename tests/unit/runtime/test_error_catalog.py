"""Every error id the code base can raise has an explicit gRPC status, and INTERNAL is kept
for our own faults. The catalogue is read from the code itself: every `MinicantonError`
subclass of every module, the ids given to errors as literals (``error_id="..."``,
``LedgerApiError("...")``) and the codes a rejection carries (``LOCAL_VERDICT_*``,
``MEDIATOR_*`` and the timeouts), so a new error cannot silently fall through to INTERNAL
(PACKAGE_NOT_VETTED_BY_RECIPIENTS once did). Then the four submission errors a client meets
are sent through the real gRPC boundary, in both renderings, and the JSON API answers each
id with the HTTP status Daml's JSON API gives its gRPC code."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from tests.unit.runtime.test_grpc_errors import _unary_failure

import minicanton
from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.protocol import participant_effects
from minicanton.core.protocol.participant_effects import REJECTION_STATUS_BY_CODE
from minicanton.core.protocol.response_aggregation import MediatorRejectCode
from minicanton.core.protocol.submission import (
    InformeesNotActive,
    NoMediatorAvailable,
    PackageNotVettedByRecipients,
    SubmittingPartyNotHosted,
)
from minicanton.core.sequencing.submission import SEQUENCING_TIME_EXCEEDED
from minicanton.json_api.envelope import HTTP_STATUS_OF_GRPC, error_body
from minicanton.json_api.ledger_client import LedgerError
from minicanton.participant.ledger_api.errors import abort_with_error
from minicanton.runtime.grpc_errors import STATUS_BY_ERROR_ID, abort_with, status_of

SOURCES = Path(minicanton.__file__).parent
# Our own faults: a broken invariant, a store that does not decode, a failed migration, a
# ledger answer we cannot read. Nothing a caller did.
SERVER_FAULTS = {"INTERNAL_ERROR", "CONFLICT_DETECTION_STATE", "PARTICIPANT_STORE_ROW_INVALID",
                 "MIGRATION_ERROR", "LEDGER_ANSWER_UNREADABLE"}
# Classes whose id is given per instance (a server's answer, a completion's code) or that
# are only bases: they keep MinicantonError's INTERNAL_ERROR as a class attribute.
PER_INSTANCE_IDS = {"MinicantonError", "UnexpectedError", "AuthError", "LedgerError",
                    "LedgerApiError", "CommandRejected", "TopologyCallFailed"}
_REJECTION_CODE = re.compile(r"(LOCAL_VERDICT|MEDIATOR)_[A-Z0-9_]+")


def _all_error_classes() -> list[type[MinicantonError]]:
    for module in pkgutil.walk_packages(minicanton.__path__, "minicanton."):
        if ".codec.gen." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, pending = set(), [MinicantonError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _trees(under: Path = SOURCES) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(under.rglob("*.py")):
        if "gen" not in path.relative_to(SOURCES).parts:
            yield path, ast.parse(path.read_text(), str(path))


def _literal_ids() -> set[str]:
    """Ids given to errors as string literals: ``error_id="X"`` and ``LedgerApiError("X")``."""
    found = set()
    for _, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:  # also `error_id=given or "DEFAULT"`
                if keyword.arg == "error_id":
                    found |= {c.value for c in ast.walk(keyword.value)
                              if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name == "LedgerApiError" and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def _alarm_codes(tree: ast.Module) -> set[str]:
    return {arg.value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RaiseAlarm"
            for arg in node.args if isinstance(arg, ast.Constant)}


def _rejection_codes() -> set[str]:
    """Every code a rejection of the protocol can carry, read from core/protocol's literals
    (less the alarms' codes and the error classes' ids)."""
    class_ids = {c.error_id for c in _all_error_classes()}
    found = {code.value for code in MediatorRejectCode} | {
        participant_effects.MEDIATOR_TIMEOUT, participant_effects.NOT_SEQUENCED,
        participant_effects.LOCAL_TIMEOUT, SEQUENCING_TIME_EXCEEDED}
    for _, tree in _trees(SOURCES / "core" / "protocol"):
        alarms = _alarm_codes(tree)
        found |= {node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and _REJECTION_CODE.fullmatch(node.value) and node.value not in alarms}
    return found - class_ids


def _status_name(error_class: type[MinicantonError]) -> str | None:
    name = getattr(error_class, "grpc_status", None)
    return name if isinstance(name, str) and hasattr(grpc.StatusCode, name) else None


def test_every_error_class_has_an_explicit_status_and_internal_only_for_our_faults() -> None:
    classes = _all_error_classes()
    assert len(classes) > 100  # the walk really reached the whole code base
    implicit, internal = [], []
    for error_class in classes:
        name, error_id = error_class.__qualname__, error_class.error_id
        if error_id == MinicantonError.error_id and name in PER_INSTANCE_IDS:
            continue
        own = _status_name(error_class)
        if own is None and error_id not in STATUS_BY_ERROR_ID:
            implicit.append(f"{error_class.__module__}.{name} ({error_id})")
        code = grpc.StatusCode[own] if own else STATUS_BY_ERROR_ID.get(error_id)
        if code is grpc.StatusCode.INTERNAL and error_id not in SERVER_FAULTS:
            internal.append(error_id)
    assert implicit == [], "give these a grpc_status or a STATUS_BY_ERROR_ID entry"
    assert internal == [], "INTERNAL is for our own faults"


def test_the_table_agrees_with_the_classes_that_name_their_own_status() -> None:
    disagreeing = [f"{c.__qualname__}: {c.error_id}" for c in _all_error_classes()
                   if _status_name(c) and c.__qualname__ not in PER_INSTANCE_IDS
                   and c.error_id in STATUS_BY_ERROR_ID
                   and STATUS_BY_ERROR_ID[c.error_id].name != _status_name(c)]
    assert disagreeing == []  # an entry the class overrides would be dead and misleading


def test_every_literal_error_id_is_mapped_and_none_of_a_callers_is_internal() -> None:
    literal = _literal_ids()
    assert {"MISSING_FIELD", "TRANSACTION_NOT_FOUND", "COMMAND_REJECTED"} <= literal
    assert sorted(literal - set(STATUS_BY_ERROR_ID)) == []
    internal = {i for i in STATUS_BY_ERROR_ID if STATUS_BY_ERROR_ID[i] is grpc.StatusCode.INTERNAL}
    assert internal == SERVER_FAULTS


def test_every_rejection_code_has_its_own_completion_status() -> None:
    codes = _rejection_codes()
    assert {"LOCAL_VERDICT_LOCKED_CONTRACTS", "LOCAL_VERDICT_MODEL_CONFORMANCE",
            "MEDIATOR_QUORUM_UNREACHABLE", "MEDIATOR_SAYS_TX_TIMED_OUT"} <= codes
    assert sorted(codes - set(REJECTION_STATUS_BY_CODE)) == []  # none left to the default
    for code in codes:  # the gRPC side says what the completion says
        assert STATUS_BY_ERROR_ID[code].value[0] == participant_effects.status_of(code), code


@pytest.mark.parametrize(("error", "code"), [
    (PackageNotVettedByRecipients("participant P has not vetted packages ['abc']"),
     grpc.StatusCode.FAILED_PRECONDITION),
    (InformeesNotActive("informees ['Bob::1220'] are hosted by no participant"),
     grpc.StatusCode.FAILED_PRECONDITION),
    (NoMediatorAvailable("the domain has no active mediator at 5"),
     grpc.StatusCode.FAILED_PRECONDITION),
    (SubmittingPartyNotHosted("Alice::1220 is not hosted here"), grpc.StatusCode.NOT_FOUND),
])
async def test_submission_errors_reach_the_client_with_canton_s_category(
        error: MinicantonError, code: grpc.StatusCode) -> None:
    assert status_of(error) is code and not isinstance(error, InvalidArgument)
    for abort in (abort_with, abort_with_error):
        failed = await _unary_failure(abort, error)
        assert failed.code() is code, (abort, failed.details())
        assert error.error_id in (failed.details() or "")


def test_every_grpc_code_has_daml_s_http_status() -> None:
    assert set(HTTP_STATUS_OF_GRPC) == set(grpc.StatusCode) - {grpc.StatusCode.OK}


@pytest.mark.parametrize("error_id", sorted(STATUS_BY_ERROR_ID))
def test_the_json_api_answers_a_typed_error_with_the_http_status_of_its_grpc_code(
        error_id: str) -> None:
    code = STATUS_BY_ERROR_ID[error_id]
    typed = error_body(MinicantonError("the reason", error_id=error_id))
    from_ledger = error_body(LedgerError(code, "the reason", error_id, []))
    assert typed["status"] == from_ledger["status"] == HTTP_STATUS_OF_GRPC[code]
    if typed["status"] == 500:  # a fault: only an incident id, never the reason
        assert "the reason" not in str(typed) and "incident" in typed["errors"][0]
    else:
        assert typed["errors"] == ["the reason"]
