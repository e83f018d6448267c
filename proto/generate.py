"""Generate Python from the versioned .proto sources under proto/ (`make proto`).

Output goes to services/minicanton/codec/gen/ and is committed. protoc writes imports that
follow the proto package path (``from com.daml.ledger.api.v1 import value_pb2``); we rewrite
those to live under ``minicanton.codec.gen`` so generated code never claims a top-level
package. ``--check`` regenerates into a temp dir and fails if the committed code is stale.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
REPO = PROTO_ROOT.parent
GEN_DIR = REPO / "services" / "minicanton" / "codec" / "gen"
GEN_PACKAGE = "minicanton.codec.gen"


def proto_sources() -> list[Path]:
    return sorted(p for p in PROTO_ROOT.rglob("*.proto"))


def include_paths() -> list[str]:
    import grpc_tools

    paths = [str(PROTO_ROOT), str(Path(grpc_tools.__file__).parent / "_proto")]
    try:
        import google.rpc.status_pb2 as status  # from googleapis-common-protos

        site = Path(status.__file__).resolve().parents[2]
        if (site / "google" / "rpc" / "status.proto").exists():
            paths.append(str(site))
    except ImportError:
        pass
    return paths


def _top_level_packages() -> set[str]:
    return {p.relative_to(PROTO_ROOT).parts[0] for p in proto_sources()}


def _rewrite_imports(path: Path, tops: set[str]) -> None:
    names = "|".join(re.escape(t) for t in sorted(tops))
    text = path.read_text()
    text = re.sub(rf"^from ({names})(\.| )", rf"from {GEN_PACKAGE}.\1\2", text, flags=re.M)
    text = re.sub(rf"^import ({names})\.", rf"import {GEN_PACKAGE}.\1.", text, flags=re.M)
    path.write_text(text)


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc

    sources = proto_sources()
    if not sources:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["protoc", *(f"-I{p}" for p in include_paths()), f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}",
            *(str(s.relative_to(PROTO_ROOT)) for s in sources)]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    tops = _top_level_packages()
    for folder in [out_dir, *(d for d in out_dir.rglob("*") if d.is_dir())]:
        (folder / "__init__.py").touch()
    for generated in out_dir.rglob("*.py*"):
        if generated.name != "__init__.py":
            _rewrite_imports(generated, tops)


def _differences(left: Path, right: Path) -> list[str]:
    compare = filecmp.dircmp(left, right, ignore=["__pycache__"])
    diffs = [*compare.left_only, *compare.right_only, *compare.diff_files]
    for sub in compare.common_dirs:
        diffs += [f"{sub}/{d}" for d in _differences(left / sub, right / sub)]
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    options = parser.parse_args()
    if options.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "gen"
            generate(fresh)
            if not fresh.exists() and not GEN_DIR.exists():
                return 0  # no protos yet, nothing generated: consistent
            if not fresh.exists() or not GEN_DIR.exists():
                stale = ["gen/ present without protos, or protos without gen/"]
            else:
                stale = _differences(fresh, GEN_DIR)
            if stale:
                print("generated code is stale, run `make proto`:", *stale, sep="\n  ")
                return 1
        return 0
    if GEN_DIR.exists():
        shutil.rmtree(GEN_DIR)
    generate(GEN_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
