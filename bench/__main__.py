"""`make bench`: every section in one run, figures printed and written to bench/results.json.

Sections run in order; later ones compute their ratio to the crypto floor measured first in
the same run, so a figure is always compared with this machine as it is right now.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

from bench.common import BenchContext
from minicanton import _native

SECTIONS = [
    "bench.crypto_floor",
    "bench.core_bench",
    "bench.sequencer_bench",
    "bench.end_to_end_bench",
    "bench.json_api_bench",
]
RESULTS = Path(__file__).resolve().parent / "results.json"


def main() -> int:
    parser = argparse.ArgumentParser(description="minicanton benchmarks")
    parser.add_argument("--only", action="append", help="run only sections whose module "
                        "name contains this text (repeatable)")
    options = parser.parse_args()
    context = BenchContext()
    failures = 0
    # The localnet's nodes decide the same way (same tree and environment) and log it.
    print(f"core: {_native.STATE.describe()}", flush=True)
    try:
        for module_name in SECTIONS:
            if options.only and not any(text in module_name for text in options.only):
                continue
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as missing:
                if missing.name == module_name:
                    continue  # section not written yet
                raise
            print(f"\n== {module_name.removeprefix('bench.')} ==", flush=True)
            try:
                module.run(context)
            except Exception as error:  # a failing section must not hide the others' figures
                failures += 1
                print(f"  section failed: {type(error).__name__}: {error}", flush=True)
    finally:
        context.close()
    RESULTS.write_text(json.dumps({
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "core": _native.STATE.describe()},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "figures": [figure.as_dict() for figure in context.figures],
    }, indent=2))
    print(f"\nwrote {RESULTS}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
