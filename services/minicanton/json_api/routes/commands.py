"""``/v1/create``, ``/v1/exercise`` and ``/v1/create-and-exercise``: one command each, submitted
and awaited through the participant's CommandService with the caller's token.

Everything a caller can get wrong (template, choice, value types with their path, parties
outside the token) is refused before anything is submitted."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2
from minicanton.json_api.caller import Caller
from minicanton.json_api.contracts import event_json
from minicanton.json_api.envelope import ok
from minicanton.json_api.ledger_client import Submitted, deduplication_duration
from minicanton.json_api.requests import (
    CommandMeta,
    CreateAndExerciseRequest,
    CreateRequest,
    DurationPeriod,
    ExerciseRequest,
)
from minicanton.json_api.routes.common import (
    Authenticated,
    Services,
    new_router,
    template_types,
)
from minicanton.json_api.services import JsonApiServices
from minicanton.json_api.translate import (
    Translator,
    create_and_exercise_command,
    create_command,
    exercise_by_key_command,
    exercise_command,
)

router = new_router("commands")


def submission_of(services: JsonApiServices, caller: Caller,
                  meta: CommandMeta | None) -> commands_pb2.Commands:
    """Everything but the command; the parties are checked against the token first, so a
    request acting as someone else is refused before its payload is even read."""
    meta = meta or CommandMeta.model_validate({})
    commands = commands_pb2.Commands(
        act_as=caller.act_as(meta.actAs), read_as=caller.read_as(meta.readAs),
        application_id=caller.application_id(services.config.application_id),
        command_id=meta.commandId or uuid.uuid4().hex,
        submission_id=meta.submissionId or uuid.uuid4().hex,
        workflow_id=meta.workflowId or "")
    period = meta.deduplicationPeriod
    if isinstance(period, DurationPeriod):
        commands.deduplication_duration.CopyFrom(deduplication_duration(period.durationInMillis))
    elif period is not None:
        commands.deduplication_offset = period.offset
    return commands


async def _exercise_result(translator: Translator, submitted: Submitted) -> dict[str, Any]:
    events = await translator.tree_events(submitted.transaction)
    return {
        "exerciseResult": await translator.exercise_result(submitted.transaction),
        "events": [event_json(event) for event in events],
        "completionOffset": submitted.completion_offset,
    }


@router.post("/v1/create", summary="Create a contract")
async def create(body: CreateRequest, caller: Caller = Authenticated,
                 services: JsonApiServices = Services) -> JSONResponse:
    commands = submission_of(services, caller, body.meta)
    translator = services.translator(caller)
    types = await template_types(translator, body.templateId)
    commands.commands.append(create_command(types, body.payload))
    submitted = await services.bound(caller).submit(commands)
    contract = await translator.created_root(submitted.transaction)
    return ok({**contract.to_json(), "completionOffset": submitted.completion_offset})


@router.post("/v1/exercise", summary="Exercise a choice by contract id or by key")
async def exercise(body: ExerciseRequest, caller: Caller = Authenticated,
                   services: JsonApiServices = Services) -> JSONResponse:
    commands = submission_of(services, caller, body.meta)
    translator = services.translator(caller)
    types = await template_types(translator, body.templateId)
    if body.contractId is not None:
        command = exercise_command(types, body.contractId, body.choice, body.argument)
    else:
        command = exercise_by_key_command(types, body.key, body.choice, body.argument)
    commands.commands.append(command)
    submitted = await services.bound(caller).submit(commands)
    return ok(await _exercise_result(translator, submitted))


@router.post("/v1/create-and-exercise", summary="Create a contract and exercise a choice on it")
async def create_and_exercise(body: CreateAndExerciseRequest, caller: Caller = Authenticated,
                              services: JsonApiServices = Services) -> JSONResponse:
    commands = submission_of(services, caller, body.meta)
    translator = services.translator(caller)
    types = await template_types(translator, body.templateId)
    commands.commands.append(
        create_and_exercise_command(types, body.payload, body.choice, body.argument))
    submitted = await services.bound(caller).submit(commands)
    return ok(await _exercise_result(translator, submitted))
