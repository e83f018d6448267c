"""Every typed engine error: its error id, its message and, for type errors, its path."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from engine_helpers import (
    ALICE,
    BANK,
    BANK_SOURCE,
    BOB,
    DVP_SOURCE,
    LEDGER_TIME_US,
    SR,
    InMemoryLedger,
    cid,
    int64,
    numeric,
    party,
    record,
    ref,
    text,
)

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.lf.commands import (
    Command,
    CreateCommand,
    ExerciseByKeyCommand,
    ExerciseCommand,
)
from minicanton.core.lf.engine import interpret
from minicanton.core.lf.engine_errors import (
    AssertionFailed,
    ChoiceNotFound,
    ContractKeyNotFound,
    ContractNotActive,
    ContractNotFound,
    DuplicateContractKey,
    FailedAuthorization,
    TemplateHasNoKey,
    TemplateNotFound,
    TemplatePreconditionViolated,
    UnhandledException,
    ValueTypeError,
    WronglyTypedContract,
)
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import CreateNode
from minicanton.core.lf.value import ListValue, RecordValue


@pytest.fixture()
def registry() -> PackageRegistry:
    return PackageRegistry([load_package(BANK_SOURCE), load_package(DVP_SOURCE)])


def _fails(
    ledger: InMemoryLedger,
    registry: PackageRegistry,
    commands: list[Command],
    act_as: Iterable[str],
    error: type[MinicantonError],
    error_id: str,
) -> MinicantonError:
    transactions = ledger.transactions
    with pytest.raises(error) as caught:
        ledger.submit(registry, commands, act_as)
    assert caught.value.error_id == error_id
    assert ledger.transactions == transactions  # nothing was committed
    return caught.value


def _iou(issuer: str = BANK, owner: str = ALICE, amount: str = "100") -> CreateCommand:
    return CreateCommand(
        ref("dvp:Iou"),
        record(
            issuer=party(issuer), owner=party(owner), amount=numeric(amount), currency=text("USD")
        ),
    )


def _create(
    ledger: InMemoryLedger, registry: PackageRegistry, command: CreateCommand, act_as: str
) -> str:
    node = ledger.submit(registry, [command], [act_as]).transaction.nodes[0]
    assert isinstance(node, CreateNode)
    return node.contract_id


def _teller(ledger: InMemoryLedger, registry: PackageRegistry) -> str:
    return _create(
        ledger, registry, CreateCommand(ref("bank:Teller"), record(bank=party(BANK))), BANK
    )


def _call(teller: str, choice: str, **args) -> ExerciseCommand:  # type: ignore[no-untyped-def]
    return ExerciseCommand(ref("bank:Teller"), teller, choice, record(**args))


# ------------------------------------------------------------------ names and shapes


def test_unknown_template(registry: PackageRegistry) -> None:
    command = CreateCommand(ref("dvp:Bond"), record())
    error = _fails(
        InMemoryLedger(), registry, [command], [BANK], TemplateNotFound, "TEMPLATE_NOT_FOUND"
    )
    assert "dvp:Bond" in error.message


def test_unknown_choice(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    iou = _create(ledger, registry, _iou(), BANK)
    command = ExerciseCommand(ref("dvp:Iou"), iou, "Split", record())
    error = _fails(ledger, registry, [command], [ALICE], ChoiceNotFound, "CHOICE_NOT_FOUND")
    assert "dvp:Iou has no choice 'Split'" in error.message
    assert "Archive, Transfer" in error.message


def test_submission_needs_an_acting_party_and_a_command(registry: PackageRegistry) -> None:
    view = InMemoryLedger().view([])
    with pytest.raises(InvalidArgument, match="acting party"):
        interpret([_iou()], frozenset(), frozenset(), 0, b"s", view, registry)
    with pytest.raises(InvalidArgument, match="at least one command"):
        interpret([], frozenset({BANK}), frozenset(), 0, b"s", view, registry)


# --------------------------------------------------------------------- type mismatches


@pytest.mark.parametrize(
    "argument, path, complaint",
    [
        (
            record(
                issuer=party(BANK), owner=party(ALICE), amount=text("100"), currency=text("USD")
            ),
            "argument.amount",
            "expected Numeric, got Text",
        ),
        (
            record(issuer=party(BANK), owner=party(ALICE), amount=numeric("1")),
            "argument.currency",
            "missing field of type Text",
        ),
        (
            record(
                issuer=party(BANK),
                owner=party(ALICE),
                amount=numeric("1"),
                currency=text("USD"),
                colour=text("red"),
            ),
            "argument.colour",
            "unknown field",
        ),
        (
            record(
                issuer=text(BANK), owner=party(ALICE), amount=numeric("1"), currency=text("USD")
            ),
            "argument.issuer",
            "expected Party, got Text",
        ),
        (text("not a record"), "argument", "expected dvp:Iou, got Text"),
    ],
)
def test_create_argument_type_errors_carry_the_path(
    registry: PackageRegistry, argument: RecordValue, path: str, complaint: str
) -> None:
    command = CreateCommand(ref("dvp:Iou"), argument)
    error = _fails(
        InMemoryLedger(), registry, [command], [BANK], ValueTypeError, "INVALID_ARGUMENT"
    )
    assert isinstance(error, ValueTypeError) and error.path == path
    assert error.message == f"{path}: {complaint}"


def test_choice_argument_type_error(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    iou = _create(ledger, registry, _iou(), BANK)
    command = ExerciseCommand(ref("dvp:Iou"), iou, "Transfer", record(recipient=int64(3)))
    error = _fails(ledger, registry, [command], [ALICE], ValueTypeError, "INVALID_ARGUMENT")
    assert error.message == "choice_argument.recipient: expected Party, got Int64"


def test_nested_type_error_path(registry: PackageRegistry) -> None:
    profile = record(tags=ListValue((text("a"), int64(1))))
    command = CreateCommand(ref("bank:Holder"), record(owner=party(ALICE), profile=profile))
    error = _fails(
        InMemoryLedger(), registry, [command], [ALICE], ValueTypeError, "INVALID_ARGUMENT"
    )
    assert isinstance(error, ValueTypeError)
    assert error.path == "argument.profile.vip"  # fields are checked in declared order
    fields = dict(_full_profile().fields)
    fields["tags"] = ListValue((text("a"), int64(1)))
    full = record(**fields)
    command = CreateCommand(ref("bank:Holder"), record(owner=party(ALICE), profile=full))
    error = _fails(
        InMemoryLedger(), registry, [command], [ALICE], ValueTypeError, "INVALID_ARGUMENT"
    )
    assert error.message == "argument.profile.tags[1]: expected Text, got Int64"


def _full_profile() -> RecordValue:
    from minicanton.core.lf.value import (
        BoolValue,
        DateValue,
        EnumValue,
        TextMapValue,
        TimestampValue,
        UnitValue,
        VariantValue,
    )

    return record(
        vip=BoolValue(False),
        born=DateValue(0),
        seen=TimestampValue(0),
        tags=ListValue(()),
        scores=TextMapValue(()),
        limit=VariantValue(None, "Unlimited", UnitValue()),
        status=EnumValue(None, "Open"),
        friends=ListValue(()),
    )


def test_a_body_returning_the_wrong_type(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    error = _fails(
        ledger, registry, [_call(teller, "Wrong")], [BANK], ValueTypeError, "INVALID_ARGUMENT"
    )
    assert error.message == "exercise of bank:Teller.Wrong result: expected Numeric, got str 'ten'"


# ----------------------------------------------------------------------- authorization


def test_create_without_the_signatory(registry: PackageRegistry) -> None:
    error = _fails(
        InMemoryLedger(), registry, [_iou()], [ALICE], FailedAuthorization, "FAILED_AUTHORIZATION"
    )
    assert isinstance(error, FailedAuthorization) and error.missing == {BANK}
    assert f"create of dvp:Iou requires authorization of {{{BANK}}}; missing {{{BANK}}}" in (
        error.message
    )


def test_exercise_without_the_controller(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    iou = _create(ledger, registry, _iou(), BANK)
    command = ExerciseCommand(ref("dvp:Iou"), iou, "Transfer", record(recipient=party(BOB)))
    error = _fails(ledger, registry, [command], [BANK], FailedAuthorization, "FAILED_AUTHORIZATION")
    assert isinstance(error, FailedAuthorization) and error.missing == {ALICE}
    assert "exercise of dvp:Iou.Transfer" in error.message


def test_read_as_does_not_authorize(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    with pytest.raises(FailedAuthorization):
        interpret(
            [_iou()],
            frozenset({ALICE}),
            frozenset({BANK}),
            LEDGER_TIME_US,
            b"s",
            ledger.view([ALICE, BANK]),
            registry,
        )


def test_a_body_creating_for_another_signatory(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    command = _call(teller, "OpenFor", other=party(SR), number=text("1"))
    error = _fails(ledger, registry, [command], [BANK], FailedAuthorization, "FAILED_AUTHORIZATION")
    assert isinstance(error, FailedAuthorization) and error.missing == {SR}
    assert f"(authorizers: {{{BANK}}})" in error.message


def test_fetch_needs_a_stakeholder_among_the_authorizers(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    bank_of_sr = _create(
        ledger, registry, CreateCommand(ref("bank:Teller"), record(bank=party(SR))), SR
    )
    account = ledger.submit(
        registry,
        [
            ExerciseCommand(
                ref("bank:Teller"),
                bank_of_sr,
                "Open",
                record(holder=party(ALICE), number=text("9")),
            )
        ],
        [SR],
    ).transaction.nodes[1]
    assert isinstance(account, CreateNode)
    ledger.seen_by.setdefault(account.contract_id, set()).add(BANK)  # divulged to the bank
    command = _call(teller, "FetchAny", target=cid(account.contract_id))
    error = _fails(ledger, registry, [command], [BANK], FailedAuthorization, "FAILED_AUTHORIZATION")
    assert "needs one of its stakeholders" in error.message


def test_lookup_by_key_needs_the_maintainers(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    command = _call(teller, "FindAt", other=party(SR), number=text("1"))
    error = _fails(ledger, registry, [command], [BANK], FailedAuthorization, "FAILED_AUTHORIZATION")
    assert isinstance(error, FailedAuthorization) and error.missing == {SR}
    assert "lookup by key of bank:Account" in error.message


def test_key_maintainers_must_be_signatories() -> None:
    source = BANK_SOURCE.replace('maintainers=("bank",)', 'maintainers=lambda key: [key.bank, "x"]')
    registry = PackageRegistry([load_package(source)])
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    command = _call(teller, "Open", holder=party(ALICE), number=text("1"))
    error = _fails(ledger, registry, [command], [BANK], FailedAuthorization, "FAILED_AUTHORIZATION")
    assert "key maintainers {x} are not signatories" in error.message


# --------------------------------------------------------------- assertions and bodies


def test_failed_assertion_carries_its_message(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    opened = ledger.submit(
        registry, [_call(teller, "Open", holder=party(ALICE), number=text("1"))], [BANK]
    )
    account = opened.transaction.nodes[1].contract_id  # type: ignore[union-attr]
    command = ExerciseCommand(
        ref("bank:Account"), account, "Withdraw", record(amount=numeric("-5"))
    )
    error = _fails(ledger, registry, [command], [ALICE], AssertionFailed, "UNHANDLED_EXCEPTION")
    assert isinstance(error, AssertionFailed)
    assert error.assertion_message == "amount must be positive"
    assert error.message == "AssertionFailed: amount must be positive"


def test_a_python_error_in_a_body_names_the_package_line(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    error = _fails(
        ledger,
        registry,
        [_call(teller, "Divide", by=int64(0))],
        [BANK],
        UnhandledException,
        "UNHANDLED_EXCEPTION",
    )
    line = next(
        i
        for i, text_line in enumerate(BANK_SOURCE.splitlines(), 1)
        if "return 10 // by" in text_line
    )
    assert isinstance(error, UnhandledException) and error.line == line
    assert error.message.startswith("ZeroDivisionError: ")


def test_ensure_failure(registry: PackageRegistry) -> None:
    error = _fails(
        InMemoryLedger(),
        registry,
        [_iou(amount="0")],
        [BANK],
        TemplatePreconditionViolated,
        "TEMPLATE_PRECONDITION_VIOLATED",
    )
    assert error.message == "create of dvp:Iou: the template's ensure clause failed"


def test_ensure_failure_inside_a_body(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    opened = ledger.submit(
        registry, [_call(teller, "Open", holder=party(ALICE), number=text("1"))], [BANK]
    )
    account = opened.transaction.nodes[1].contract_id  # type: ignore[union-attr]
    command = ExerciseCommand(ref("bank:Account"), account, "Withdraw", record(amount=numeric("1")))
    _fails(
        ledger,
        registry,
        [command],
        [ALICE],
        TemplatePreconditionViolated,
        "TEMPLATE_PRECONDITION_VIOLATED",
    )


# ------------------------------------------------------------------ contracts and keys


def test_unknown_contract(registry: PackageRegistry) -> None:
    command = ExerciseCommand(
        ref("dvp:Iou"), "00" + "ab" * 32, "Transfer", record(recipient=party(BOB))
    )
    error = _fails(
        InMemoryLedger(), registry, [command], [ALICE], ContractNotFound, "CONTRACT_NOT_FOUND"
    )
    assert "not found, or not visible" in error.message


def test_invisible_contract(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    iou = _create(ledger, registry, _iou(), BANK)
    command = ExerciseCommand(ref("dvp:Iou"), iou, "Transfer", record(recipient=party(BOB)))
    error = _fails(ledger, registry, [command], [BOB], ContractNotFound, "CONTRACT_NOT_FOUND")
    assert isinstance(error, ContractNotFound) and error.contract_id == iou


def test_a_contract_archived_earlier_in_the_transaction(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    iou = _create(ledger, registry, _iou(), BANK)
    transfer = ExerciseCommand(ref("dvp:Iou"), iou, "Transfer", record(recipient=party(BOB)))
    error = _fails(
        ledger, registry, [transfer, transfer], [ALICE], ContractNotActive, "CONTRACT_NOT_ACTIVE"
    )
    assert iou in error.message


def test_a_body_using_a_contract_it_archived(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    opened = ledger.submit(
        registry, [_call(teller, "Open", holder=party(ALICE), number=text("1"))], [BANK]
    )
    account = opened.transaction.nodes[1].contract_id  # type: ignore[union-attr]
    _fails(
        ledger,
        registry,
        [_call(teller, "CloseAndPeek", account=cid(account))],
        [BANK],
        ContractNotActive,
        "CONTRACT_NOT_ACTIVE",
    )


def test_key_not_found(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    key = record(bank=party(BANK), number=text("none"))
    command = ExerciseByKeyCommand(ref("bank:Account"), key, "Freeze", record())
    error = _fails(
        ledger, registry, [command], [BANK], ContractKeyNotFound, "CONTRACT_KEY_NOT_FOUND"
    )
    assert "no active bank:Account with key" in error.message
    _fails(
        ledger,
        registry,
        [_call(teller, "Peek", number=text("none"))],
        [BANK],
        ContractKeyNotFound,
        "CONTRACT_KEY_NOT_FOUND",
    )


def test_a_template_without_a_key(registry: PackageRegistry) -> None:
    command = ExerciseByKeyCommand(
        ref("dvp:Iou"), text("k"), "Transfer", record(recipient=party(BOB))
    )
    error = _fails(
        InMemoryLedger(), registry, [command], [ALICE], TemplateHasNoKey, "INVALID_ARGUMENT"
    )
    assert "dvp:Iou has no key" in error.message


def test_duplicate_key_in_one_transaction(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    command = _call(teller, "OpenTwice", holder=party(ALICE), number=text("1"))
    error = _fails(
        ledger, registry, [command], [BANK], DuplicateContractKey, "DUPLICATE_CONTRACT_KEY"
    )
    assert "create of bank:Account: an active contract already has key" in error.message


def test_duplicate_key_against_the_ledger(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    teller = _teller(ledger, registry)
    open_one = _call(teller, "Open", holder=party(ALICE), number=text("1"))
    ledger.submit(registry, [open_one], [BANK])
    _fails(ledger, registry, [open_one], [BANK], DuplicateContractKey, "DUPLICATE_CONTRACT_KEY")


def test_wrong_template_for_a_contract_id(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    share = CreateCommand(
        ref("dvp:Share"),
        record(registry=party(SR), owner=party(ALICE), company=text("ACME"), quantity=int64(1)),
    )
    share_id = _create(ledger, registry, share, SR)
    command = ExerciseCommand(ref("dvp:Iou"), share_id, "Transfer", record(recipient=party(BOB)))
    error = _fails(
        ledger, registry, [command], [ALICE], WronglyTypedContract, "WRONGLY_TYPED_CONTRACT"
    )
    assert error.message == f"contract {share_id} is a dvp:Share, not a dvp:Iou"
    teller = _teller(ledger, registry)
    ledger.seen_by.setdefault(share_id, set()).add(BANK)
    _fails(
        ledger,
        registry,
        [_call(teller, "FetchAny", target=cid(share_id))],
        [BANK],
        WronglyTypedContract,
        "WRONGLY_TYPED_CONTRACT",
    )
