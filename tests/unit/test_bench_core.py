"""The core benchmark runs what it measures (so API drift breaks a test, not `make bench`)."""

from bench.core_bench import ALICE, LEDGER_TIME_US, REGISTRY, _prepare_swap, _seal_for_recipients

from minicanton.core.entropy import SeededEntropy
from minicanton.core.lf.engine import interpret


def test_a_swap_is_sealed_for_exactly_the_entitled_participants() -> None:
    ledger, swap = _prepare_swap()
    result = interpret([swap], frozenset({ALICE}), frozenset(), LEDGER_TIME_US, b"swap" * 8,
                       ledger, REGISTRY)
    # five views; Alice's and Bob's participants are entitled to all five, Bank's and SR's
    # to their own leg's two: 5 + 5 + 2 + 2 key wraps
    assert _seal_for_recipients(result, SeededEntropy(b"t")) == 14
