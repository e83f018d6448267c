"""A Ledger API `Commands` message as a `SubmissionRequest`, checked against the token.

The submitters are ``act_as`` together with the legacy ``party`` field; each must be in the
token's actAs, each ``read_as`` party in its actAs or readAs; the application id must be the
token's when the token names one (a user token names its user). Values are decoded with the
Ledger API value codec, so a malformed argument is refused here with the path of the bad
field (``commands[0].create.create_arguments.amount: ...``); whether it has the right type is
for the engine to say, against the template. An empty submission id is filled in.
"""

from __future__ import annotations

import os

from google.protobuf import duration_pb2, timestamp_pb2

from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2
from minicanton.codec.ledger_api_values import record_from_proto, value_from_proto
from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.commands import (
    Command,
    CreateAndExerciseCommand,
    CreateCommand,
    ExerciseByKeyCommand,
    ExerciseCommand,
)
from minicanton.core.lf.identifier import TemplateReference
from minicanton.core.lf.value import RecordValue, Value
from minicanton.core.protocol.deduplication import (
    DeduplicationDuration,
    DeduplicationOffset,
    DeduplicationPeriod,
)
from minicanton.core.protocol.offsets import parse_offset
from minicanton.participant.ledger_api.backend import SubmissionRequest
from minicanton.participant.ledger_api.errors import invalid_field, missing_field
from minicanton.participant.ledger_api.filters import template_reference_from_proto
from minicanton.runtime.auth import AuthorizedClaims


def submission_context(commands: commands_pb2.Commands) -> dict[str, str]:
    """What error details name about the submission (Daml's commandId, submissionId...)."""
    context = {"command_id": commands.command_id, "application_id": commands.application_id}
    if commands.submission_id:
        context["submission_id"] = commands.submission_id
    return {name: value for name, value in context.items() if value}


def submission_request(pb: commands_pb2.Commands, claims: AuthorizedClaims
                       ) -> SubmissionRequest:
    if not pb.command_id:
        raise missing_field("commands.command_id")
    act_as = frozenset(pb.act_as)
    if pb.party:
        act_as |= {pb.party}
    if not act_as:
        raise missing_field("commands.act_as")
    claims.check_act_as(act_as)
    read_as = frozenset(pb.read_as) - act_as
    if read_as:
        claims.check_read_as(read_as)
    application_id = claims.check_application_id(pb.application_id)
    if not application_id:
        raise missing_field("commands.application_id")
    if not pb.commands:
        raise missing_field("commands.commands")
    if pb.disclosed_contracts:
        raise invalid_field("commands.disclosed_contracts",
                            "explicit disclosure is not supported")
    return SubmissionRequest(
        application_id=application_id,
        command_id=pb.command_id,
        submission_id=pb.submission_id or random_uuid4(),
        workflow_id=pb.workflow_id,
        act_as=act_as,
        read_as=read_as,
        commands=tuple([_command(c, f"commands.commands[{i}]")
                        for i, c in enumerate(pb.commands)]),
        deduplication_period=_deduplication_period(pb),
        min_ledger_time_abs_us=(_timestamp_us(pb.min_ledger_time_abs)
                                if pb.HasField("min_ledger_time_abs") else None),
        min_ledger_time_rel_us=(_duration_us(pb.min_ledger_time_rel, "min_ledger_time_rel")
                                if pb.HasField("min_ledger_time_rel") else None),
    )


def random_uuid4() -> str:
    """A random (version 4) UUID's text, as ``str(uuid.uuid4())`` gives it: the same 122
    random bits from the OS, without building a `uuid.UUID` (that was a sixth of
    `submission_request`, about 4 µs, for each command that leaves its submission id empty,
    which clients usually do; this costs about 1 µs)."""
    digits = os.urandom(16).hex()
    variant = _VARIANT_DIGITS[int(digits[16], 16) & 3]  # the RFC 4122 variant: 10xx
    return (f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-"
            f"{digits[20:]}")


_VARIANT_DIGITS = "89ab"


def _command(pb: commands_pb2.Command, path: str) -> Command:
    which = pb.WhichOneof("command")
    if which == "create":
        create = pb.create
        return CreateCommand(_template(create, f"{path}.create"),
                             _record(create, f"{path}.create"))
    if which == "exercise":
        exercise = pb.exercise
        at = f"{path}.exercise"
        if not exercise.contract_id:
            raise missing_field(f"{at}.contract_id")
        return ExerciseCommand(_template(exercise, at), exercise.contract_id,
                               _choice(exercise, at), _argument(exercise, at))
    if which == "exerciseByKey":
        by_key = pb.exerciseByKey
        at = f"{path}.exerciseByKey"
        if not by_key.HasField("contract_key"):
            raise missing_field(f"{at}.contract_key")
        key = value_from_proto(by_key.contract_key, f"{at}.contract_key")
        return ExerciseByKeyCommand(_template(by_key, at), key, _choice(by_key, at),
                                    _argument(by_key, at))
    if which == "createAndExercise":
        both = pb.createAndExercise
        at = f"{path}.createAndExercise"
        return CreateAndExerciseCommand(_template(both, at), _record(both, at),
                                        _choice(both, at), _argument(both, at))
    raise missing_field(f"{path}.command")


def _template(pb: commands_pb2.CreateCommand | commands_pb2.ExerciseCommand
              | commands_pb2.ExerciseByKeyCommand | commands_pb2.CreateAndExerciseCommand,
              path: str) -> TemplateReference:
    if not pb.HasField("template_id"):
        raise missing_field(f"{path}.template_id")
    return template_reference_from_proto(pb.template_id, f"{path}.template_id")


def _record(pb: commands_pb2.CreateCommand | commands_pb2.CreateAndExerciseCommand,
            path: str) -> RecordValue:
    if not pb.HasField("create_arguments"):
        raise missing_field(f"{path}.create_arguments")
    return record_from_proto(pb.create_arguments, f"{path}.create_arguments")


def _choice(pb: commands_pb2.ExerciseCommand | commands_pb2.ExerciseByKeyCommand
            | commands_pb2.CreateAndExerciseCommand, path: str) -> str:
    if not pb.choice:
        raise missing_field(f"{path}.choice")
    return pb.choice


def _argument(pb: commands_pb2.ExerciseCommand | commands_pb2.ExerciseByKeyCommand
              | commands_pb2.CreateAndExerciseCommand, path: str) -> Value:
    if not pb.HasField("choice_argument"):
        raise missing_field(f"{path}.choice_argument")
    return value_from_proto(pb.choice_argument, f"{path}.choice_argument")


def _deduplication_period(pb: commands_pb2.Commands) -> DeduplicationPeriod | None:
    which = pb.WhichOneof("deduplication_period")
    if which in ("deduplication_time", "deduplication_duration"):
        return DeduplicationDuration(_duration_us(getattr(pb, which), f"commands.{which}"))
    if which == "deduplication_offset":
        try:
            return DeduplicationOffset(parse_offset(pb.deduplication_offset))
        except InvalidArgument as error:
            raise invalid_field("commands.deduplication_offset", error.message) from None
    return None


def _duration_us(pb: duration_pb2.Duration, name: str) -> int:
    if pb.seconds < 0 or pb.nanos < 0:
        raise invalid_field(name, "a duration must not be negative")
    return int(pb.seconds) * 1_000_000 + int(pb.nanos) // 1_000


def _timestamp_us(pb: timestamp_pb2.Timestamp) -> int:
    return int(pb.seconds) * 1_000_000 + int(pb.nanos) // 1_000
