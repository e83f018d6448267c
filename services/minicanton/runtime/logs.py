"""Structured logging for every process: one JSON object per line on stderr (or plain text).

Each line carries the service and node name given at setup, so the logs of several instances
interleaved in one terminal or collector stay attributable. Extra fields passed with
`log.info(..., extra={"fields": {...}})` are merged into the object.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, node: str | None) -> None:
        super().__init__()
        self._static = {"service": service, **({"node": node} if node else {})}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **self._static,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(
    service: str, *, level: str = "INFO", json_format: bool = True, node: str | None = None
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(JsonFormatter(service, node))
    else:
        label = f"{service}/{node}" if node else service
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s {label} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
