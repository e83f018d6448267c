"""What the mediator logs about the verdicts it hands to its sequencer client.

Theory of operation
-------------------
A rejection or a timeout is news: each gets its own INFO line ("verdict on request N:
reject"), as before. An approval is the normal case, one per transaction; formatting one JSON
line for each cost the mediator about 3 % of its CPU per transaction under load, so each
approval is a DEBUG line and an INFO summary counts all verdicts handed over in a window of
at least `interval_s` ("handed 150 verdicts to the sequencer in 1.0 s: 148 approvals, 2
rejections, 0 timeouts").

The summary is written at the first verdict handed over once the window has lasted
`interval_s`, before that verdict, so a line after a silence of `interval_s` or more always
means a verdict is being handed over right then: an instance paused past its lease TTL (longer
than the interval) and woken writes no summary unless it sends (the failover test reads its log
for that). A window's count left when the instance stops is not written: the store holds every
verdict and its receipt, the log line is only a rate.
"""

from __future__ import annotations

import logging

from minicanton.core.protocol.mediator import SendVerdict
from minicanton.core.protocol.messages import Approve, Reject

SUMMARY_TEXT = "verdicts to the sequencer"


class VerdictLog:
    def __init__(self, log: logging.Logger, interval_s: float = 1.0) -> None:
        self._log = log
        self._interval_s = interval_s
        self._window_start_s: float | None = None
        self._counts = [0, 0, 0]  # approvals, rejections, timeouts

    def handing_over(self, send: SendVerdict, now_s: float) -> None:
        """Log `send`, which is about to be handed to the sequencer client at `now_s`
        (monotonic seconds)."""
        start_s = self._window_start_s
        if start_s is None:
            self._window_start_s = now_s
        elif now_s - start_s >= self._interval_s:
            self._summarise(now_s - start_s)
            self._window_start_s = now_s
        result = send.result
        verdict = result.verdict
        if isinstance(verdict, Approve):
            self._counts[0] += 1
            if self._log.isEnabledFor(logging.DEBUG):
                self._line(logging.DEBUG, send)
            return
        self._counts[1 if isinstance(verdict, Reject) else 2] += 1
        self._line(logging.INFO, send)

    def _line(self, level: int, send: SendVerdict) -> None:
        request_ts_us = send.result.request_ts_us
        self._log.log(level, "verdict on request %d: %s", request_ts_us,
                      type(send.result.verdict).__name__.lower(),
                      extra={"fields": {"request_ts_us": request_ts_us,
                                        "message_id": send.message_id}})

    def _summarise(self, window_s: float) -> None:
        approvals, rejections, timeouts = self._counts
        total = approvals + rejections + timeouts
        if total:
            self._log.info(
                "handed %d %s in %.1f s: %d approvals, %d rejections, %d timeouts", total,
                SUMMARY_TEXT, window_s, approvals, rejections, timeouts,
                extra={"fields": {"verdicts": total, "approvals": approvals,
                                  "rejections": rejections, "timeouts": timeouts,
                                  "window_s": round(window_s, 3)}})
        self._counts = [0, 0, 0]
