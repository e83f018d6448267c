"""The mediator integration tests reuse the unit tests' real-domain builder."""

from __future__ import annotations

import sys
from pathlib import Path

_FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "protocol"
if str(_FIXTURES) not in sys.path:
    sys.path.insert(0, str(_FIXTURES))
