"""Request bodies of the JSON API (Daml's v1 shapes), validated strictly.

Unknown keys are refused (a misspelt ``actsAs`` must not silently submit as every party of
the token). Values (payloads, arguments, keys, queries) stay as parsed JSON — numbers as
`Decimal`, never float — for the type-directed codec to read against the template.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
# Daml's lexical rules: the ledger would refuse anything else, so it is refused here first
# (and a NUL byte or a lone surrogate never travels further).
TemplateIdText = Annotated[str, Field(
    min_length=3, max_length=1024, pattern=r"^(?:[0-9A-Za-z]+:)?[\w$.]+:[\w$.]+$",
    examples=["Iou:Iou", "<package id>:Iou:Iou"])]
PartyText = Annotated[str, Field(pattern=r"^[A-Za-z0-9:\-_ ]{1,255}$",
                                 examples=["Alice::1220..."])]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9#:\-_/ .]{1,255}$")]
ChoiceName = Annotated[str, Field(pattern=r"^[A-Za-z_$][A-Za-z0-9_$]{0,999}$")]
UserId = Annotated[str, Field(pattern=r"^[A-Za-z0-9@^$.!`\-#+'~_|:]{1,128}$")]


class DurationPeriod(BaseModel):
    model_config = _STRICT
    type: Literal["Duration"]
    durationInMillis: int = Field(ge=0, le=315_576_000_000_000)


class OffsetPeriod(BaseModel):
    model_config = _STRICT
    type: Literal["Offset"]
    offset: str = Field(max_length=64)


class CommandMeta(BaseModel):
    model_config = _STRICT
    commandId: Identifier | None = None
    actAs: list[PartyText] | None = Field(None, min_length=1, max_length=100)
    readAs: list[PartyText] | None = Field(None, max_length=100)
    submissionId: Identifier | None = None
    deduplicationPeriod: DurationPeriod | OffsetPeriod | None = Field(
        None, discriminator="type")
    workflowId: Identifier | None = None


class CreateRequest(BaseModel):
    model_config = _STRICT
    templateId: TemplateIdText
    payload: Any
    meta: CommandMeta | None = None


class ExerciseRequest(BaseModel):
    """By contract id (`contractId`) or by key (`key`), never both."""

    model_config = _STRICT
    templateId: TemplateIdText
    contractId: Identifier | None = None
    key: Any = None
    choice: ChoiceName
    argument: Any
    meta: CommandMeta | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ExerciseRequest:
        if (self.contractId is None) == (self.key is None):
            raise ValueError("give exactly one of contractId and key")
        return self


class CreateAndExerciseRequest(BaseModel):
    model_config = _STRICT
    templateId: TemplateIdText
    payload: Any
    choice: ChoiceName
    argument: Any
    meta: CommandMeta | None = None


class FetchRequest(BaseModel):
    """By `contractId` (`templateId` optional) or by `templateId` and `key`."""

    model_config = _STRICT
    contractId: Identifier | None = None
    templateId: TemplateIdText | None = None
    key: Any = None
    readers: list[PartyText] | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_target(self) -> FetchRequest:
        if (self.contractId is None) == (self.key is None):
            raise ValueError("give exactly one of contractId and key")
        if self.key is not None and self.templateId is None:
            raise ValueError("a fetch by key needs templateId")
        return self


class QueryRequest(BaseModel):
    model_config = _STRICT
    templateIds: list[TemplateIdText] = Field(min_length=1, max_length=100)
    query: dict[str, Any] = Field(default_factory=dict)
    readers: list[PartyText] | None = Field(None, min_length=1, max_length=100)


class AllocatePartyRequest(BaseModel):
    model_config = _STRICT
    identifierHint: Annotated[str, Field(pattern=r"^[A-Za-z0-9:\-_ ]{0,255}$")] | None = None
    displayName: Annotated[str, Field(max_length=255, pattern=r"^[^\x00]*$")] | None = None


class Right(BaseModel):
    model_config = _STRICT
    type: Literal["CanActAs", "CanReadAs", "ParticipantAdmin", "IdentityProviderAdmin"]
    party: PartyText | None = None

    @model_validator(mode="after")
    def _party_when_needed(self) -> Right:
        needs_party = self.type in ("CanActAs", "CanReadAs")
        if needs_party != (self.party is not None):
            raise ValueError(f"a {self.type} right {'needs' if needs_party else 'has no'} party")
        return self


class CreateUserRequest(BaseModel):
    model_config = _STRICT
    userId: UserId
    primaryParty: PartyText | None = None
    rights: list[Right] = Field(default_factory=list, max_length=1000)


class UserIdRequest(BaseModel):
    model_config = _STRICT
    userId: UserId


class UserRightsRequest(BaseModel):
    model_config = _STRICT
    userId: UserId
    rights: list[Right] = Field(min_length=1, max_length=1000)
