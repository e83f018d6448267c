"""The pure core's throughput: DvP Swap interpretation, and a Swap's views made ready to send
(decomposition, Merkle tree, per-view encryption for the four DvP participants), each with its
ratio to the raw crypto floor measured in the same run; and the CPU of benchmark (a)'s Iou
create through every core machine (submitter, observer, mediator and an in-memory sequencer,
the seeded network harness of tests/sim) in one process: what the protocol itself costs,
to hold against the end-to-end bench's CPU per transaction, which adds the processes'
gRPC, PostgreSQL and asyncio work."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from tests.sim.dvp_flow import iou
from tests.sim.harness import SimNetwork

from bench.common import BenchContext, Figure, rate_per_second
from minicanton.core.crypto import encryption, signing
from minicanton.core.crypto.encryption import EncryptionKeyPair, encrypt_view
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, ParticipantId
from minicanton.core.lf.commands import CreateCommand, ExerciseCommand, template_reference
from minicanton.core.lf.engine import SubmissionResult, interpret
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    Value,
)
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.merkle import (
    build_tree,
    encode_tree,
    entitled_parties,
    root_hash,
    view_hash,
    view_tree,
    views_with_paths,
)
from minicanton.core.protocol.views import (
    CommonMetadata,
    ParticipantMetadata,
    SubmitterMetadata,
    decompose,
)

SECTION = "core"
SOURCE = (Path(__file__).resolve().parents[1] / "examples" / "dvp.py").read_text()
REGISTRY = PackageRegistry([load_package(SOURCE)])
LEDGER_TIME_US = 1_700_000_000_000_000
ALICE, BOB, BANK, SR = "Alice::1220aa", "Bob::1220bb", "Bank::1220cc", "SR::1220dd"
HOSTED_ON = {p: ParticipantId(f"PAR::{p.split(':')[0].lower()}::1220ee")
             for p in (ALICE, BOB, BANK, SR)}
KEYS = {pid: EncryptionKeyPair.generate(SeededEntropy(pid.encode())) for pid in HOSTED_ON.values()}


class _Contracts:
    """Every contract visible to everyone: the bench measures interpretation, not privacy."""

    def __init__(self) -> None:
        self.active: dict[str, ContractInstance] = {}

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        return self.active.get(contract_id)

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return None

    def run(self, party: str, command: CreateCommand | ExerciseCommand,
            seed: bytes) -> SubmissionResult:
        result = interpret([command], frozenset({party}), frozenset(), LEDGER_TIME_US, seed,
                           self, REGISTRY)
        for contract_id in result.consumed_contracts:
            self.active.pop(contract_id, None)
        self.active.update((c.contract_id, c) for c in result.active_created)
        return result


def _record(**fields: Value) -> RecordValue:
    return RecordValue(None, tuple(fields.items()))


def _prepare_swap() -> tuple[_Contracts, ExerciseCommand]:
    ledger = _Contracts()
    iou = ledger.run(BANK, CreateCommand(template_reference("dvp:Iou"), _record(
        issuer=PartyValue(BANK), owner=PartyValue(ALICE), amount=NumericValue(Decimal(100)),
        currency=TextValue("USD"))), b"s1" * 16)
    share = ledger.run(SR, CreateCommand(template_reference("dvp:Share"), _record(
        registry=PartyValue(SR), owner=PartyValue(BOB), company=TextValue("ACME"),
        quantity=Int64Value(10))), b"s2" * 16)
    proposal = ledger.run(ALICE, CreateCommand(template_reference("dvp:DvpProposal"), _record(
        buyer=PartyValue(ALICE), seller=PartyValue(BOB),
        iou=ContractIdValue(next(iter(iou.created_contracts))), company=TextValue("ACME"),
        quantity=Int64Value(10))), b"s3" * 16)
    accept = ledger.run(BOB, ExerciseCommand(
        template_reference("dvp:DvpProposal"), next(iter(proposal.created_contracts)), "Accept",
        _record(share=ContractIdValue(next(iter(share.created_contracts))))), b"s4" * 16)
    swap = ExerciseCommand(template_reference("dvp:DvP"), next(iter(accept.created_contracts)),
                           "Swap", _record())
    return ledger, swap


def _seal_for_recipients(result: SubmissionResult, entropy: SeededEntropy) -> int:
    """What a submitter does with an interpreted Swap before sending; returns wraps made."""
    submitter = SubmitterMetadata(frozenset({ALICE}), "bench", "swap",
                                  HOSTED_ON[ALICE], "sub", LEDGER_TIME_US + 60_000_000)
    common = CommonMetadata(ConfirmationPolicy.SIGNATORY, "domain::1220ff",
                            MemberId("MED::mediator::1220ff"))
    participant = ParticipantMetadata(LEDGER_TIME_US, LEDGER_TIME_US, "")
    views = decompose(result.transaction, result.node_seeds, result.input_contracts,
                      ConfirmationPolicy.SIGNATORY, LEDGER_TIME_US)
    tree = build_tree(submitter, common, participant, views, entropy.random_bytes(32))
    root_hash(tree)
    entitled = entitled_parties(tree)
    wraps = 0
    for path, view in views_with_paths(tree):
        recipients = {HOSTED_ON[party] for party in entitled[path]}
        encrypt_view(encode_tree(view_tree(tree, path)), view_hash(view),
                     {pid: KEYS[pid].public for pid in recipients}, entropy)
        wraps += len(recipients)
    return wraps


def _core_iou_creates_ms(rounds: int = 5, per_round: int = 96,
                         in_flight: int = 16) -> tuple[float, float, float]:
    """CPU ms per Iou create (median, min, max of `rounds`), Bank's participant submitting
    `in_flight` at a time (the machines batch what is ready together, as under the
    end-to-end load). The memories of what a node made itself (core/memo.py) are off: here
    every machine shares one process, so one machine would find another's signatures and
    sealed views. The rounds' spread is this virtual machine's noise, not the code's."""
    for memo in (signing._VERIFIED, encryption._SEALED_HERE):
        memo.capacity = 0
    net = SimNetwork()

    def creates(first: int, count: int) -> float:
        started_s = time.process_time()
        for start in range(first, first + count, in_flight):
            for n in range(start, start + in_flight):
                net.submit("bank", iou(net), act_as=["Bank"], command_id=f"iou-{n}")
            net.run()
        return (time.process_time() - started_s) * 1000 / count

    creates(0, 2 * in_flight)  # warm: packages loaded, keys cached
    samples = sorted(creates(10_000 * (r + 1), per_round) for r in range(rounds))
    return samples[len(samples) // 2], samples[0], samples[-1]


def run(context: BenchContext) -> None:
    median_ms, low_ms, high_ms = _core_iou_creates_ms()
    context.add(Figure(SECTION, "(a) Iou create, every core machine in one process",
                       median_ms, "ms CPU/tx",
                       f"median of 5 rounds ({low_ms:.1f}-{high_ms:.1f}); submitter, observer, "
                       "mediator, in-memory sequencer; 16 in flight"))
    ledger, swap = _prepare_swap()
    swap_rate = rate_per_second(lambda: interpret(
        [swap], frozenset({ALICE}), frozenset(), LEDGER_TIME_US, b"swap" * 8, ledger, REGISTRY))
    context.add(Figure(SECTION, "DvP Swap interpretations", swap_rate, "ops/s"))
    result = interpret([swap], frozenset({ALICE}), frozenset(), LEDGER_TIME_US, b"swap" * 8,
                       ledger, REGISTRY)
    entropy = SeededEntropy(b"bench")
    wraps = _seal_for_recipients(result, entropy)
    seal_rate = rate_per_second(lambda: _seal_for_recipients(result, entropy))
    wrap_floor = context.value_of("raw X25519 ephemeral + HKDF (one key wrap)")
    note = ""
    if wrap_floor:
        floor_rate = wrap_floor / wraps  # the key wraps alone, no hashing or AES
        note = f"{wraps} key wraps/Swap; {seal_rate / floor_rate:.0%} of the key-wrap floor"
    context.add(Figure(SECTION, "Swap views: decompose + Merkle + encrypt (4 participants)",
                       seal_rate, "ops/s", note))
    sign_floor = context.value_of("raw Ed25519 sign 1 KiB")
    if sign_floor:
        context.add(Figure(SECTION, "Swap interpretation vs one raw Ed25519 sign",
                           swap_rate / sign_floor, "ratio"))
