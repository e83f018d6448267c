"""The compiled core: used when, and only when, it was built from exactly these sources.

Theory of operation
-------------------
`scripts/build_native.py` (run by `make install`) compiles most of `minicanton.core` with
mypyc into one group: a shared library `minicanton_core__mypyc` and, per module, a small
extension that initialises that module from the library. The build lives outside the source
packages, in `.build/native/<build id>/`, with `.build/native/current` a symlink to the
latest complete build, and a `manifest.json` written last: the sha256 of every `.py` file
under `core/` as it was compiled (excluded modules too, since mypyc compiled against their
types), the Python version and extension suffix, mypy's version and the extension files.

Compiled modules call each other directly in C, not through `sys.modules`, so a stale module
cannot be swapped for its source alone: either the whole group is current or none of it is
used. `install()` (called once by `minicanton/__init__.py`, before any core module can be
imported) reads the manifest and hashes today's sources. If every file matches and the set of
files is the same, it puts a finder first on `sys.meta_path` that serves exactly the group's
modules from the build; otherwise it logs one warning naming the first difference and the
whole core is imported from its `.py` files as if no build existed. Nothing is ever placed
next to the sources, so an edited `.py` is always what an import without a current build
gets.

`MINICANTON_NATIVE=0` forces pure Python; `MINICANTON_NATIVE=1` makes a missing or stale
build an `ImportError` (the test target uses it, so the suite cannot silently run pure);
unset, the compiled group is used when current.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

MANIFEST_FORMAT = 1
GROUP = "minicanton_core"
LIBRARY = f"{GROUP}__mypyc"  # mypyc's name for the group's shared library
ENV = "MINICANTON_NATIVE"
SERVICES_DIR = Path(__file__).resolve().parent.parent
CORE_DIR = SERVICES_DIR / "minicanton" / "core"
NATIVE_DIR = SERVICES_DIR.parent / ".build" / "native"

_log = logging.getLogger("minicanton.native")


@dataclass(frozen=True, slots=True)
class NativeState:
    """What this process imports the core from, and why."""

    compiled: bool
    modules: tuple[str, ...]  # the compiled modules served from `build_dir` (empty if pure)
    reason: str  # why the core is pure Python; empty when compiled
    build_dir: Path | None = None

    def describe(self) -> str:
        if self.compiled:
            return f"compiled ({len(self.modules)} modules)"
        return f"pure Python ({self.reason})"


STATE = NativeState(compiled=False, modules=(), reason="loader not installed")


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def core_sources(services_dir: Path) -> dict[str, Path]:
    """Every `.py` file under `core/`, keyed by its path relative to `services_dir`."""
    core = services_dir / "minicanton" / "core"
    return {p.relative_to(services_dir).as_posix(): p for p in sorted(core.rglob("*.py"))}


def runtime_tag() -> dict[str, str]:
    """What an extension built here is tied to (the manifest records it; both must match)."""
    return {"python": platform.python_version(),
            "extension_suffix": importlib.machinery.EXTENSION_SUFFIXES[0]}


class StaleBuild(Exception):
    """The build does not match the sources or this interpreter (the message says how)."""


def check_build(build_dir: Path, services_dir: Path) -> dict[str, Path]:
    """The group's module files (module name -> extension path) if the build in `build_dir`
    was made from exactly the sources under `services_dir` by this Python; else `StaleBuild`."""
    manifest = _read_manifest(build_dir / "manifest.json")
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("group") != GROUP:
        raise StaleBuild("its manifest has another format")
    built_for = manifest.get("runtime")
    if built_for != runtime_tag():
        raise StaleBuild(f"it was built for {built_for}, this is {runtime_tag()}")
    recorded, modules, library = (manifest.get(k) for k in ("sources", "modules", "library"))
    if not (isinstance(recorded, dict) and isinstance(modules, dict)
            and isinstance(library, str)):
        raise StaleBuild("its manifest is incomplete")
    present = core_sources(services_dir)
    for relative, path in present.items():
        if relative not in recorded:
            raise StaleBuild(f"{relative} is new since the build")
        if source_digest(path) != recorded[relative]:
            raise StaleBuild(f"{relative} changed since the build")
    for relative in recorded:
        if relative not in present:
            raise StaleBuild(f"{relative} was removed since the build")
    files = {name: build_dir / str(relative) for name, relative in modules.items()}
    files[LIBRARY] = build_dir / library
    for path in files.values():
        if not path.is_file():
            raise StaleBuild(f"{path} is missing")
    return files


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise StaleBuild(f"its manifest cannot be read ({error})") from None
    if not isinstance(manifest, dict):
        raise StaleBuild("its manifest is not an object")
    return manifest


class NativeFinder(importlib.abc.MetaPathFinder):
    """Serves exactly the compiled group's modules from the build; nothing else."""

    def __init__(self, files: dict[str, Path]) -> None:
        self._files = files

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        extension = self._files.get(fullname)
        if extension is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(extension))
        return importlib.util.spec_from_file_location(fullname, extension, loader=loader)


def install() -> NativeState:
    """Decide once per process and, if the build is current, put its finder first."""
    global STATE
    if any(isinstance(f, NativeFinder) for f in sys.meta_path):
        return STATE
    STATE, files = _decide(os.environ.get(ENV, ""), NATIVE_DIR, SERVICES_DIR)
    if files:
        sys.meta_path.insert(0, NativeFinder(files))
    return STATE


def _decide(setting: str, native_dir: Path,
            services_dir: Path) -> tuple[NativeState, dict[str, Path]]:
    if setting == "0":
        return NativeState(False, (), f"{ENV}=0"), {}
    current = native_dir / "current"
    if not current.exists():
        return _pure(setting, f"no build in {native_dir}; `make install` makes one",
                     warn=False), {}
    build_dir = current.resolve()  # pinned: a rebuild flips `current`, never this directory
    try:
        files = check_build(build_dir, services_dir)
    except StaleBuild as stale:
        return _pure(setting, f"the build in {build_dir} is stale: {stale}", warn=True), {}
    modules = tuple(sorted(name for name in files if name != LIBRARY))
    return NativeState(True, modules, "", build_dir), files


def _pure(setting: str, reason: str, *, warn: bool) -> NativeState:
    if setting == "1":
        raise ImportError(f"{ENV}=1 but the compiled core cannot be used: {reason}")
    if warn:
        _log.warning("using the pure Python core for the whole group: %s; run `make install` "
                     "to rebuild", reason)
    return NativeState(False, (), reason)
