"""The engine's behaviour: trees, keys, seeds and contract ids, determinism, re-interpretation."""

from __future__ import annotations

from decimal import Context, localcontext

import pytest
from engine_helpers import (
    ALICE,
    BANK,
    BANK_SOURCE,
    BOB,
    LEDGER_TIME_US,
    InMemoryLedger,
    cid,
    int64,
    numeric,
    party,
    record,
    ref,
    text,
)

from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.lf.binary_codec import encode_value
from minicanton.core.lf.commands import (
    CreateAndExerciseCommand,
    CreateCommand,
    ExerciseByKeyCommand,
    ExerciseCommand,
)
from minicanton.core.lf.contract_id import child_node_seed, root_node_seed
from minicanton.core.lf.engine import SubmissionResult, interpret, reinterpret
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import (
    CreateNode,
    ExerciseNode,
    FetchNode,
    LookupByKeyNode,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import (
    BoolValue,
    DateValue,
    EnumValue,
    ListValue,
    OptionalValue,
    RecordValue,
    TextMapValue,
    TimestampValue,
    UnitValue,
    VariantValue,
)

OPEN = "bank:Teller"


@pytest.fixture()
def registry() -> PackageRegistry:
    return PackageRegistry([load_package(BANK_SOURCE)])


@pytest.fixture()
def ledger(registry: PackageRegistry) -> InMemoryLedger:
    ledger = InMemoryLedger()
    ledger.submit(registry, [CreateCommand(ref(OPEN), record(bank=party(BANK)))], [BANK])
    return ledger


def _teller(ledger: InMemoryLedger) -> str:
    return next(
        c.contract_id for c in ledger.active.values() if c.template_id.entity_name == "Teller"
    )


def _teller_call(ledger: InMemoryLedger, registry: PackageRegistry, choice: str, **args):  # type: ignore[no-untyped-def]
    command = ExerciseCommand(ref(OPEN), _teller(ledger), choice, record(**args))
    return ledger.submit(registry, [command], [BANK])


def _open_account(ledger: InMemoryLedger, registry: PackageRegistry, number: str) -> str:
    result = _teller_call(ledger, registry, "Open", holder=party(ALICE), number=text(number))
    root = result.transaction.node(result.transaction.roots[0])
    assert isinstance(root, ExerciseNode) and root.exercise_result is not None
    return root.exercise_result.value  # type: ignore[union-attr]


def _key(number: str) -> RecordValue:
    return record(bank=party(BANK), number=text(number))


# ------------------------------------------------------------------------------- creates


def test_a_create_command_yields_one_create_node(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    result = ledger.submit(registry, [CreateCommand(ref(OPEN), record(bank=party(BANK)))], [BANK])
    (node,) = result.transaction.nodes
    assert isinstance(node, CreateNode)
    assert node.signatories == {BANK} and node.observers == frozenset()
    assert node.argument.type_id == registry.resolve(OPEN)
    assert result.transaction.roots == (0,)
    assert result.ledger_time_us == LEDGER_TIME_US
    assert list(result.created_contracts) == [node.contract_id]
    assert result.created_contracts[node.contract_id].created_at_us == LEDGER_TIME_US


def test_contract_id_and_seed_follow_the_documented_derivation(registry: PackageRegistry) -> None:
    command = CreateCommand(ref(OPEN), record(bank=party(BANK)))
    result = interpret(
        [command],
        frozenset({BANK}),
        frozenset(),
        LEDGER_TIME_US,
        b"tx-seed",
        InMemoryLedger().view([BANK]),
        registry,
    )
    node = result.transaction.nodes[0]
    assert isinstance(node, CreateNode)
    seed = hash_of(HashPurpose.SUBMISSION_SEED, b"tx-seed", (0).to_bytes(4, "big")).digest
    assert result.node_seeds == {0: seed} and root_node_seed(b"tx-seed", 0) == seed
    salt = hash_of(HashPurpose.CONTRACT_SALT, seed).digest
    expected = hash_of(
        HashPurpose.CONTRACT_ID,
        salt,
        LEDGER_TIME_US.to_bytes(8, "big", signed=True),
        str(node.template_id),
        encode_value(node.argument),
    )
    assert node.contract_id == "01" + expected.hex


# -------------------------------------------------------------------- choices and keys


def test_a_body_creating_a_keyed_contract(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    result = _teller_call(ledger, registry, "Open", holder=party(ALICE), number=text("A-1"))
    exercise, create = result.transaction.nodes
    assert isinstance(exercise, ExerciseNode) and isinstance(create, CreateNode)
    assert exercise.children == (1,) and not exercise.consuming
    assert exercise.acting_parties == {BANK}
    assert create.signatories == {BANK} and create.observers == {ALICE}
    assert create.key is not None and create.key.maintainers == {BANK}
    assert create.key.key == RecordValue(
        registry.type_environment() and create.key.key.type_id,  # typed as AccountKey
        (("bank", party(BANK)), ("number", text("A-1"))),
    )
    assert create.key.key.type_id is not None and create.key.key.type_id.entity_name == "AccountKey"
    assert exercise.exercise_result == cid(create.contract_id)
    assert create.argument.field("status") == EnumValue(
        create.argument.field("status").type_id,
        "Open",  # type: ignore[union-attr]
    )


def test_lookup_fetch_and_exercise_by_key(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    account = _open_account(ledger, registry, "A-1")
    found = _teller_call(ledger, registry, "Find", number=text("A-1"))
    lookup = found.transaction.nodes[1]
    assert isinstance(lookup, LookupByKeyNode) and lookup.result == account
    assert lookup.key.maintainers == {BANK}
    assert found.transaction.nodes[0].exercise_result == OptionalValue(cid(account))  # type: ignore[union-attr]
    missing = _teller_call(ledger, registry, "Find", number=text("B-2"))
    assert missing.transaction.nodes[1].result is None  # type: ignore[union-attr]
    assert missing.transaction.nodes[0].exercise_result == OptionalValue(None)  # type: ignore[union-attr]

    peek = _teller_call(ledger, registry, "Peek", number=text("A-1"))
    fetch = peek.transaction.nodes[1]
    assert isinstance(fetch, FetchNode) and fetch.by_key and fetch.contract_id == account
    assert fetch.acting_parties == {BANK} and fetch.key is not None

    frozen = _teller_call(ledger, registry, "FreezeByKey", number=text("A-1"))
    by_key = frozen.transaction.nodes[1]
    assert isinstance(by_key, ExerciseNode) and by_key.by_key and by_key.consuming
    assert by_key.contract_id == account and frozen.consumed_contracts == (account,)
    new_account = frozen.transaction.nodes[2]
    assert isinstance(new_account, CreateNode)
    assert new_account.argument.field("status").constructor == "Frozen"  # type: ignore[union-attr]


def test_exercise_by_key_command(registry: PackageRegistry, ledger: InMemoryLedger) -> None:
    account = _open_account(ledger, registry, "A-1")
    command = ExerciseByKeyCommand(ref("bank:Account"), _key("A-1"), "Freeze", record())
    result = ledger.submit(registry, [command], [BANK])
    root = result.transaction.nodes[0]
    assert isinstance(root, ExerciseNode) and root.by_key and root.contract_id == account
    assert result.resolved_keys == {
        (registry.resolve("bank:Account"), _key_typed(registry)): account
    }


def _key_typed(registry: PackageRegistry) -> RecordValue:
    key_type = registry.template_info(registry.resolve("bank:Account")).key_type
    return RecordValue(key_type.identifier, _key("A-1").fields)  # type: ignore[union-attr]


def test_archiving_frees_the_key_for_a_new_contract(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    account = _open_account(ledger, registry, "A-1")
    result = _teller_call(ledger, registry, "Reopen", account=cid(account))
    kinds = [type(n).__name__ for n in result.transaction.nodes]
    assert kinds == ["ExerciseNode", "FetchNode", "ExerciseNode", "CreateNode"]
    archive = result.transaction.nodes[2]
    assert isinstance(archive, ExerciseNode) and archive.choice == "Archive" and archive.consuming
    assert archive.acting_parties == {BANK} and archive.exercise_result == UnitValue()
    assert account not in ledger.active and len(result.active_created) == 1


def test_non_consuming_choices_leave_the_contract_active(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    account = _open_account(ledger, registry, "A-1")
    balance = ExerciseCommand(ref("bank:Account"), account, "Balance", record())
    result = ledger.submit(registry, [balance, balance], [ALICE])
    assert result.transaction.roots == (0, 1) and result.consumed_contracts == ()
    assert result.transaction.nodes[0].exercise_result == numeric("0")  # type: ignore[union-attr]
    assert list(result.input_contracts) == [account]


def test_choice_observers_and_ledger_time(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    account = _open_account(ledger, registry, "A-1")
    command = ExerciseCommand(ref("bank:Account"), account, "Report", record(auditor=party(BOB)))
    node = ledger.submit(registry, [command], [ALICE]).transaction.nodes[0]
    assert isinstance(node, ExerciseNode) and node.choice_observers == {BOB}
    assert node.exercise_result == TimestampValue(LEDGER_TIME_US)


def test_controllers_may_come_from_a_function_of_the_arguments(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    account = _open_account(ledger, registry, "A-1")
    command = ExerciseCommand(
        ref("bank:Account"), account, "CloseJointly", record(cosigner=party(BOB))
    )
    node = ledger.submit(registry, [command], [ALICE, BOB]).transaction.nodes[0]
    assert isinstance(node, ExerciseNode) and node.acting_parties == {ALICE, BOB}


def test_create_and_exercise_gives_two_roots(registry: PackageRegistry) -> None:
    command = CreateAndExerciseCommand(
        ref(OPEN), record(bank=party(BANK)), "Open", record(holder=party(ALICE), number=text("X"))
    )
    result = InMemoryLedger().submit(registry, [command], [BANK])
    tx = result.transaction
    assert tx.roots == (0, 1)
    create, exercise = tx.node(NodeId(0)), tx.node(NodeId(1))
    assert isinstance(create, CreateNode) and isinstance(exercise, ExerciseNode)
    assert exercise.contract_id == create.contract_id and exercise.children == (2,)
    assert set(result.node_seeds) == {0, 1, 2}


def test_every_value_kind_round_trips_through_a_body(registry: PackageRegistry) -> None:
    env = registry.type_environment()
    pid = registry.resolve("bank:Holder").package_id
    profile = record(
        vip=BoolValue(True),
        born=DateValue(-3),
        seen=TimestampValue(123),
        tags=ListValue((text("a"), text("b"))),
        nickname=OptionalValue(text("al")),
        scores=TextMapValue((("z", int64(2)), ("a", int64(1)))),
        limit=VariantValue(None, "Daily", numeric("12.5")),
        status=EnumValue(None, "Frozen"),
        friends=ListValue((party(BOB),)),
    )
    ledger = InMemoryLedger()
    holder = ledger.submit(
        registry,
        [CreateCommand(ref("bank:Holder"), record(owner=party(ALICE), profile=profile))],
        [ALICE],
    ).transaction.nodes[0]
    assert isinstance(holder, CreateNode)
    echo = ExerciseCommand(ref("bank:Holder"), holder.contract_id, "Echo", record(profile=profile))
    result = ledger.submit(registry, [echo], [ALICE]).transaction.nodes[0]
    assert isinstance(result, ExerciseNode)
    assert result.exercise_result == holder.argument.field("profile")
    typed = result.exercise_result
    assert isinstance(typed, RecordValue) and typed.type_id is not None
    assert typed.type_id.entity_name == "Profile" and typed.type_id.package_id == pid
    assert env[typed.type_id] is not None
    assert typed.field("limit") == VariantValue(
        typed.field("limit").type_id,
        "Daily",
        numeric("12.5"),  # type: ignore[union-attr]
    )


def test_dates_and_numeric_rounding_in_bodies(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    holder_create = CreateCommand(
        ref("bank:Holder"), record(owner=party(ALICE), profile=_minimal_profile())
    )
    holder = ledger.submit(registry, [holder_create], [ALICE]).transaction.nodes[0]
    assert isinstance(holder, CreateNode)
    next_day = ExerciseCommand(
        ref("bank:Holder"), holder.contract_id, "NextDay", record(day=DateValue(59))
    )
    node = ledger.submit(registry, [next_day], [ALICE]).transaction.nodes[0]
    assert node.exercise_result == DateValue(60)  # type: ignore[union-attr]
    third = _teller_call(ledger, registry, "Third", amount=numeric("1"))
    assert third.transaction.nodes[0].exercise_result == numeric("0.3333333333")  # type: ignore[union-attr]


def _minimal_profile() -> RecordValue:
    return record(
        vip=BoolValue(False),
        born=DateValue(0),
        seen=TimestampValue(0),
        tags=ListValue(()),
        scores=TextMapValue(()),
        limit=VariantValue(None, "Unlimited", UnitValue()),
        status=EnumValue(None, "Open"),
        friends=ListValue(()),
    )  # nickname omitted: an Optional field may be left out


def test_omitted_optional_fields_and_positional_records(registry: PackageRegistry) -> None:
    ledger = InMemoryLedger()
    create = CreateCommand(
        ref("bank:Holder"), record(owner=party(ALICE), profile=_minimal_profile())
    )
    node = ledger.submit(registry, [create], [ALICE]).transaction.nodes[0]
    assert isinstance(node, CreateNode)
    profile = node.argument.field("profile")
    assert isinstance(profile, RecordValue) and profile.field("nickname") == OptionalValue(None)
    assert [name for name, _ in profile.fields][4] == "nickname"
    positional = RecordValue(None, (("", party(BANK)),))
    created = ledger.submit(registry, [CreateCommand(ref(OPEN), positional)], [BANK])
    assert created.transaction.nodes[0].argument.fields == (("bank", party(BANK)),)  # type: ignore[union-attr]


# ------------------------------------------------------------------------ determinism


def _run(registry: PackageRegistry, ledger: InMemoryLedger, seed: bytes) -> SubmissionResult:
    account = next(c for c in ledger.active.values() if c.template_id.entity_name == "Account")
    commands = [
        ExerciseCommand(
            ref(OPEN), _teller(ledger), "Reopen", record(account=cid(account.contract_id))
        ),
        ExerciseCommand(
            ref(OPEN), _teller(ledger), "Open", record(holder=party(BOB), number=text("B"))
        ),
    ]
    return interpret(
        commands,
        frozenset({BANK}),
        frozenset(),
        LEDGER_TIME_US,
        seed,
        ledger.view([BANK]),
        registry,
    )


def test_interpretation_is_deterministic(registry: PackageRegistry, ledger: InMemoryLedger) -> None:
    _open_account(ledger, registry, "A-1")
    first = _run(registry, ledger, b"s1")
    assert _run(registry, ledger, b"s1") == first
    with localcontext(Context(prec=3)):  # the caller's decimal settings do not leak in
        assert _run(registry, ledger, b"s1") == first
    other = _run(registry, ledger, b"s2")
    assert set(other.created_contracts).isdisjoint(first.created_contracts)
    assert [type(n) for n in other.transaction.nodes] == [type(n) for n in first.transaction.nodes]


def test_child_seeds_derive_from_the_parent_seed(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    _open_account(ledger, registry, "A-1")
    result = _run(registry, ledger, b"s1")
    tx = result.transaction
    assert result.node_seeds[NodeId(0)] == root_node_seed(b"s1", 0)
    assert result.node_seeds[tx.roots[1]] == root_node_seed(b"s1", 1)
    for node_id, node in enumerate(tx.nodes):
        for position, child in enumerate(tx.children(NodeId(node_id))):
            if isinstance(tx.node(child), CreateNode | ExerciseNode):
                expected = child_node_seed(result.node_seeds[NodeId(node_id)], position)
                assert result.node_seeds[child] == expected
        assert (NodeId(node_id) in result.node_seeds) == isinstance(node, CreateNode | ExerciseNode)


def _subtree(tx: Transaction, root: NodeId) -> tuple[Node, ...]:
    """The nodes under `root` (pre-order is contiguous), renumbered from 0."""
    end = root + 1
    stack = [root]
    while stack:
        children = tx.children(stack.pop())
        end = max([end, *(c + 1 for c in children)])
        stack.extend(children)
    nodes: list[Node] = []
    for node in tx.nodes[root:end]:
        if isinstance(node, ExerciseNode):
            node = _renumber(node, root)
        nodes.append(node)
    return tuple(nodes)


def _renumber(node: ExerciseNode, offset: int) -> ExerciseNode:
    from dataclasses import replace

    return replace(node, children=tuple(NodeId(c - offset) for c in node.children))


def test_reinterpreting_any_action_reproduces_its_subtree(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    _open_account(ledger, registry, "A-1")
    view = ledger.view([BANK])
    result = _run(registry, ledger, b"s1")
    tx = result.transaction
    # Each root, and a child that depends on nothing earlier in the transaction (the
    # re-created account's key is only free after its archive sibling, so not that one).
    fetch = NodeId(1)
    independent = [*tx.roots, fetch, tx.children(tx.roots[1])[0]]
    for node_id in independent:
        node = tx.node(node_id)
        seed = result.node_seeds.get(node_id, b"")
        again = reinterpret(node, seed, LEDGER_TIME_US, view, registry)
        assert again.transaction.nodes == _subtree(tx, node_id), node_id
        assert again.transaction.roots == (0,)


def test_reinterpretation_checks_the_authorizers_it_is_given(
    registry: PackageRegistry, ledger: InMemoryLedger
) -> None:
    from minicanton.core.lf.engine_errors import FailedAuthorization

    _open_account(ledger, registry, "A-1")
    result = _run(registry, ledger, b"s1")
    root = result.transaction.nodes[0]
    with pytest.raises(FailedAuthorization) as caught:
        reinterpret(
            root,
            result.node_seeds[NodeId(0)],
            LEDGER_TIME_US,
            ledger.view([BANK]),
            registry,
            authorizers=frozenset({ALICE}),
        )
    assert caught.value.missing == {BANK}


def test_numeric_values_keep_38_digits(registry: PackageRegistry, ledger: InMemoryLedger) -> None:
    big = numeric("3000000000000000000000000000.0000000003")
    third = _teller_call(ledger, registry, "Third", amount=big)
    assert third.transaction.nodes[0].exercise_result == numeric(  # type: ignore[union-attr]
        "1000000000000000000000000000.0000000001"
    )
