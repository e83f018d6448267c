"""Compile the pure core with mypyc into `.build/native/` (run by `make install`).

Theory of operation
-------------------
The build's identity is a fingerprint: the sha256 of every `.py` file under `core/`, the
Python version and extension suffix, mypy's version, the options and exclusions below and
this script's own hash. If `.build/native/current` already points at the build of that
fingerprint, nothing is done (a second or so: hashing the sources). If a build of it exists
(the tree went back to an earlier state), `current` is pointed at it again. Otherwise:

1. The sources are copied into `.build/native/<build id>/src/` and compiled from that copy,
   so the manifest's hashes are those of exactly the bytes mypyc read, even if a file is
   edited during the build (the loader then sees the edit and refuses the build); compiled
   code's tracebacks name these copies.
2. mypyc compiles the group; setuptools links one shared library and one small extension per
   module into `<build id>/lib/` — never next to the sources.
3. `manifest.json` is written last (a directory without one is an unfinished build, removed
   by the next), then `current` is replaced atomically (a symlink renamed over the old one).
   A process that already chose a build keeps its directory: older builds are pruned only
   beyond `KEEP`.

A lock file serialises concurrent builds. `minicanton/_native.py` is the loader's side.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "services"))

# Run as the build, it never uses the build it replaces: else importing the package would warn
# that the build is stale, telling the user to run what is running. (Only when run: a test
# that imports this file must not change its own process's environment.)
if __name__ == "__main__":
    os.environ["MINICANTON_NATIVE"] = "0"
from minicanton import _native  # noqa: E402  (the loader's constants and checks)

KEEP = 4
# MINICANTON_NATIVE_OPT_LEVEL=0 builds in about a third of the time, for trying a change.
OPT_LEVEL = os.environ.get("MINICANTON_NATIVE_OPT_LEVEL", "3")
# Left interpreted, with why (docs/adr/0016-compiled-core.md):
EXCLUDED = {
    # Package authors subclass its Record/Template/Variant and it builds classes at run time
    # (`__init_subclass__`, `inspect`); mypyc also rejects `cls.__module__` on a class object.
    "minicanton/core/lf/dsl.py",
    # The error hierarchies, subclassed by the shells (and by each other with two bases,
    # which mypyc cannot compile): an interpreted subclass of a compiled class cannot call its
    # compiled `__init__`. Only raised, never hot. (Errors defined in compiled modules stay
    # regular classes through `errors._ErrorType`.)
    "minicanton/core/errors.py",
    "minicanton/core/lf/engine_errors.py",
    "minicanton/core/sequencing/errors.py",
    "minicanton/core/topology/errors.py",
}


def fingerprint(sources: dict[str, Path]) -> dict[str, object]:
    import mypy.version

    return {
        "runtime": _native.runtime_tag(),
        "mypy": mypy.version.__version__,
        "opt_level": OPT_LEVEL,
        "excluded": sorted(EXCLUDED),
        "builder": _native.source_digest(Path(__file__)),
        "sources": {name: _native.source_digest(path) for name, path in sources.items()},
    }


def build_id(print_: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(print_, sort_keys=True).encode()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    options = parser.parse_args()
    native_dir = _native.NATIVE_DIR
    native_dir.mkdir(parents=True, exist_ok=True)
    with open(native_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sources = _native.core_sources(_native.SERVICES_DIR)
        wanted = fingerprint(sources)
        ident = build_id(wanted)
        target = native_dir / ident
        if (target / "manifest.json").is_file() and not options.force:
            _point_current_at(native_dir, ident)
            print(f"compiled core up to date: {target}")
            return 0
        started = time.monotonic()
        _build(native_dir, ident, sources, wanted)
        _point_current_at(native_dir, ident)
        _prune(native_dir, keep=ident)
        print(f"compiled core built in {time.monotonic() - started:.0f} s: {target}")
    return 0


def _build(native_dir: Path, ident: str, sources: dict[str, Path],
           wanted: dict[str, object]) -> None:
    build_dir = native_dir / ident
    shutil.rmtree(build_dir, ignore_errors=True)  # an unfinished build (no manifest)
    source_copy = build_dir / "src"
    for relative, path in sources.items():
        (source_copy / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, source_copy / relative)
    # mypy needs `minicanton` to be a package; its real __init__ (the loader) is no input.
    (source_copy / "minicanton" / "__init__.py").write_text("")
    copied = _native.core_sources(source_copy)
    digests = {name: _native.source_digest(path) for name, path in copied.items()}
    if digests != wanted["sources"]:
        raise SystemExit("a core source changed while it was copied: run the build again")
    compiled = [name for name in copied if name not in EXCLUDED
                and not name.endswith("__init__.py")]
    started = time.monotonic()
    modules = _compile(build_dir, source_copy, compiled)
    library = next((build_dir / "lib").glob(f"{_native.LIBRARY}.*"))
    manifest = {
        "format": _native.MANIFEST_FORMAT,
        "group": _native.GROUP,
        "runtime": wanted["runtime"],
        "mypy": wanted["mypy"],
        "opt_level": OPT_LEVEL,
        "excluded": sorted(EXCLUDED),
        "sources": digests,
        "modules": modules,
        "library": library.relative_to(build_dir).as_posix(),
        "build_seconds": round(time.monotonic() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    shutil.rmtree(build_dir / "c", ignore_errors=True)  # generated C and objects: ~40 MB
    shutil.rmtree(build_dir / "tmp", ignore_errors=True)
    written = build_dir / "manifest.json.partial"
    written.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(written, build_dir / "manifest.json")


def _compile(build_dir: Path, source_copy: Path, compiled: list[str]) -> dict[str, str]:
    """mypyc over `compiled` (paths relative to `source_copy`); module name -> extension."""
    from mypyc.build import mypycify
    from setuptools import setup

    paths = [str(source_copy / name) for name in compiled]
    # In the build directory, so neither mypy nor setuptools reads the project's own
    # configuration (pyproject.toml) or writes caches into the tree.
    previous = Path.cwd()
    os.chdir(build_dir)
    try:
        extensions = mypycify(
            ["--config-file=", "--python-version=3.11", "--ignore-missing-imports",
             "--cache-dir=" + str(build_dir / "tmp" / "mypy"), *paths],
            opt_level=OPT_LEVEL, group_name=_native.GROUP, target_dir=str(build_dir / "c"))
        setup(name="minicanton-native", ext_modules=extensions, script_args=[
            "--quiet", "build_ext", "--build-lib", str(build_dir / "lib"),
            "--build-temp", str(build_dir / "tmp")])
    finally:
        os.chdir(previous)
    suffix = _native.runtime_tag()["extension_suffix"]
    modules = {}
    for name in compiled:
        module = name.removesuffix(".py").replace("/", ".")
        extension = build_dir / "lib" / (name.removesuffix(".py") + suffix)
        if not extension.is_file():
            raise SystemExit(f"mypyc produced no extension for {module}")
        modules[module] = extension.relative_to(build_dir).as_posix()
    return modules


def _point_current_at(native_dir: Path, ident: str) -> None:
    link = native_dir / f"current.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(ident)
    os.replace(link, native_dir / "current")


def _prune(native_dir: Path, keep: str) -> None:
    builds = sorted((d for d in native_dir.iterdir()
                     if d.is_dir() and not d.is_symlink() and (d / "manifest.json").is_file()),
                    key=lambda d: d.stat().st_mtime, reverse=True)
    for old in builds[KEEP:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for unfinished in native_dir.iterdir():  # we hold the lock: no build is under way
        if unfinished.is_dir() and not (unfinished / "manifest.json").is_file():
            shutil.rmtree(unfinished, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
