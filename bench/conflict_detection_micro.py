"""One participant's conflict-detection work per Iou create, in process (performance.md).

What the participant machine does with its detector for each request of benchmark (a):
`states_to_fetch` twice, `provide_states`, the two deadlines of the domain parameters,
`check_and_lock`, `locks_of`, `finalize` with the created contract, and `evict_idle` every 64
requests. Prints CPU µs per request, min of the rounds. Compare trees or cores by alternating:
`PYTHONPATH=TREE/services python -m bench.conflict_detection_micro` (`MINICANTON_NATIVE=0`
for the pure core).
"""

from __future__ import annotations

import time

from minicanton import _native
from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.lf.value import RecordValue
from minicanton.core.protocol.activeness import ActivenessSet
from minicanton.core.protocol.commit_set import CommitSet, CreatedContract, ProjectedTransaction
from minicanton.core.protocol.conflict_detection import ConflictDetector
from minicanton.core.topology.parameters import DomainParameters

REQUESTS = 2000
ROUNDS = 9
TEMPLATE = Identifier("a" * 64, "Iou", "Iou")


def _requests() -> list[tuple[ActivenessSet, CommitSet]]:
    made = []
    for i in range(REQUESTS):
        contract_id = f"00{i:064x}"
        contract = ContractInstance(contract_id, TEMPLATE, RecordValue(TEMPLATE, ()),
                                    frozenset({"Bank"}), frozenset({"Alice"}))
        made.append((ActivenessSet(created=frozenset({contract_id})),
                     CommitSet(frozenset(), (CreatedContract(contract),), (),
                               ProjectedTransaction((), ()))))
    return made


def _round(requests: list[tuple[ActivenessSet, CommitSet]], params: DomainParameters) -> float:
    detector = ConflictDetector()
    start = time.process_time()
    for i, (activeness, commit_set) in enumerate(requests):
        ts_us = 1_000 + i
        missing = detector.states_to_fetch(activeness)
        detector.provide_states(dict.fromkeys(missing.contract_ids), {})
        detector.states_to_fetch(activeness)
        params.participant_response_deadline_us(ts_us)
        request_id = RequestId(f"request-{i}")
        detector.check_and_lock(request_id, ts_us, activeness, params.decision_deadline_us(ts_us))
        detector.locks_of(request_id)
        detector.finalize(request_id, approved=True, commit_set=commit_set)
        if i % 64 == 63:
            detector.evict_idle()
    return (time.process_time() - start) / len(requests) * 1e6


def main() -> None:
    requests, params = _requests(), DomainParameters()
    best = min(_round(requests, params) for _ in range(ROUNDS))
    print(f"core: {_native.STATE.describe()}; conflict detection {best:.1f} µs CPU per request")


if __name__ == "__main__":
    main()
