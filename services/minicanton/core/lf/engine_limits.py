"""The engine's counted limits on one interpretation, the same on every participant.

Theory of operation
-------------------
Contract logic may nest package calls (a body calling helpers, a helper recursing) at most
`MAX_CALL_DEPTH` deep, and exercises (a body exercising a choice whose body exercises ...)
at most `MAX_EXERCISE_DEPTH` deep; going further is `InterpretationDepthExceeded`
(``INTERPRETATION_DEPTH_LIMIT``), never Python's ``RecursionError``, whose depth depends on
the caller's stack and the Python version (review finding #17). Values a body produces may
nest at most Daml-LF's 100 levels (`typecheck.from_python`). All package calls and loop
iterations of one interpretation together may take at most `MAX_STEPS` steps; one more is
`InterpretationStepLimitExceeded` (``INTERPRETATION_STEP_LIMIT``), so a body that loops
forever fails instead of hanging its participant.

The figures keep the engine's own Python stack use well inside Python's default recursion
limit (1000 frames): an exercise level costs about six frames, a package call one, and
converting a 100-deep value about three hundred, so even at every limit at once the engine
uses under 650 frames and a caller may be ~300 frames deep. A validator re-running one
view's action starts at depth 0 and step 0, never deeper and never further than the
submitter was at that action, so an action the submitter could run passes the validator's
limits too.
"""

from __future__ import annotations

from minicanton.core.lf.engine_errors import (
    InterpretationDepthExceeded,
    InterpretationStepLimitExceeded,
)

__all__ = ["MAX_CALL_DEPTH", "MAX_EXERCISE_DEPTH", "MAX_STEPS", "InterpretationMeter"]

MAX_CALL_DEPTH = 150
MAX_EXERCISE_DEPTH = 30
MAX_STEPS = 1_000_000  # package calls + loop iterations (a trivial loop spends them in 0.1 s)


class InterpretationMeter:
    """Counts one interpretation (implements `metering.Meter`)."""

    __slots__ = ("call_depth", "exercise_depth", "steps")

    def __init__(self) -> None:
        self.call_depth = 0
        self.exercise_depth = 0
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise InterpretationStepLimitExceeded(
                f"contract logic ran more than {MAX_STEPS} steps (package calls and loop "
                "iterations): a loop that never ends?"
            )

    def enter(self) -> None:
        self.tick()
        if self.call_depth >= MAX_CALL_DEPTH:
            raise InterpretationDepthExceeded(
                f"contract logic nested package calls more than {MAX_CALL_DEPTH} deep"
            )
        self.call_depth += 1

    def leave(self) -> None:
        self.call_depth -= 1

    def enter_exercise(self) -> None:
        if self.exercise_depth >= MAX_EXERCISE_DEPTH:
            raise InterpretationDepthExceeded(
                f"exercises nested more than {MAX_EXERCISE_DEPTH} deep"
            )
        self.exercise_depth += 1

    def leave_exercise(self) -> None:
        self.exercise_depth -= 1
