"""The compiled core (ADR 16): used only when built from exactly the sources next to it.

The first test checks this process: the loader's state says what was really imported (and
under `make test`, `MINICANTON_NATIVE=1`, that it is the compiled core). The others copy the
sources a build was compiled from next to the loader in a temporary tree, check that the copy
imports the compiled group, then change one source and check that the whole group falls back
to the edited `.py` files with one warning: a stale extension never shadows an edit.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minicanton import _native

PROBE = """
import json, sys
from minicanton import _native
import minicanton.core.hashing as hashing
import minicanton.core.protocol.merkle as merkle
print(json.dumps({"compiled": _native.STATE.compiled, "modules": len(_native.STATE.modules),
                  "reason": _native.STATE.reason, "hashing": hashing.__file__,
                  "merkle": merkle.__file__, "edited": getattr(hashing, "EDITED", False)}))
"""


def test_the_loader_state_is_what_was_imported() -> None:
    import minicanton.core.hashing
    import minicanton.core.protocol.merkle  # a compiled module

    state = _native.STATE
    setting = os.environ.get(_native.ENV, "")
    if setting == "1":
        assert state.compiled, state.reason
    if setting == "0":
        assert not state.compiled and state.reason == f"{_native.ENV}=0"
    suffix = _native.runtime_tag()["extension_suffix"]
    if state.compiled:
        assert state.build_dir is not None
        assert len(state.modules) > 70
        for name in state.modules:
            module = sys.modules.get(name) or __import__(name, fromlist=["_"])
            assert module.__file__ is not None and module.__file__.endswith(suffix), name
            assert Path(module.__file__).is_relative_to(state.build_dir), name
        assert state.describe() == f"compiled ({len(state.modules)} modules)"
    else:
        assert minicanton.core.hashing.__file__.endswith("hashing.py")
        assert state.describe().startswith("pure Python (")


@pytest.fixture
def build_dir() -> Path:
    current = _native.NATIVE_DIR / "current"
    assert current.exists(), "no compiled core to test against: run `make install`"
    return current.resolve()


@pytest.fixture
def tree(tmp_path: Path, build_dir: Path) -> Path:
    """A tree whose core is the exact source of the current build, with today's loader."""
    services = tmp_path / "services"
    shutil.copytree(build_dir / "src" / "minicanton" / "core", services / "minicanton" / "core")
    for name in ("__init__.py", "_native.py"):
        shutil.copyfile(Path(_native.__file__).parent / name, services / "minicanton" / name)
    (tmp_path / ".build" / "native").mkdir(parents=True)
    (tmp_path / ".build" / "native" / "current").symlink_to(build_dir)
    return tmp_path


def probe(tree: Path, setting: str | None = None) -> tuple[dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if k not in (_native.ENV, "PYTHONPATH")}
    env["PYTHONPATH"] = str(tree / "services")
    if setting is not None:
        env[_native.ENV] = setting
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tree)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_an_unchanged_copy_imports_the_compiled_group(tree: Path, build_dir: Path) -> None:
    found, stderr = probe(tree)
    assert found["compiled"] is True and found["reason"] == ""
    assert Path(str(found["hashing"])).is_relative_to(build_dir)
    assert Path(str(found["merkle"])).is_relative_to(build_dir)
    assert stderr == ""
    forced, _ = probe(tree, "0")
    assert forced["compiled"] is False and str(forced["hashing"]).endswith("hashing.py")


def test_an_edited_source_is_imported_instead_of_the_stale_group(tree: Path) -> None:
    source = tree / "services" / "minicanton" / "core" / "hashing.py"
    source.write_text(source.read_text() + "\nEDITED = True\n")
    found, stderr = probe(tree)
    assert found["compiled"] is False
    assert found["hashing"] == str(source) and found["edited"] is True
    # One stale module makes the whole group pure: merkle.py did not change, yet is pure too.
    assert str(found["merkle"]).endswith("merkle.py")
    assert "minicanton/core/hashing.py changed since the build" in str(found["reason"])
    assert stderr.count("using the pure Python core") == 1, stderr


@pytest.mark.parametrize("change", ["excluded module edited", "module added", "module removed"])
def test_any_change_to_the_core_makes_the_build_stale(tree: Path, change: str) -> None:
    core = tree / "services" / "minicanton" / "core"
    if change == "excluded module edited":  # mypyc compiled against its types
        (core / "lf" / "dsl.py").write_text((core / "lf" / "dsl.py").read_text() + "\n")
        expected = "minicanton/core/lf/dsl.py changed"
    elif change == "module added":
        (core / "extra.py").write_text("X = 1\n")
        expected = "minicanton/core/extra.py is new"
    else:
        (core / "memo.py").unlink()
        expected = "minicanton/core/memo.py was removed"
    found, _ = probe(tree)
    assert found["compiled"] is False and expected in str(found["reason"])


def test_a_required_build_that_is_stale_fails_the_import(tree: Path) -> None:
    source = tree / "services" / "minicanton" / "core" / "ids.py"
    source.write_text(source.read_text() + "\n# edited\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", "import minicanton"], capture_output=True,
                          text=True, timeout=60, cwd=tree,
                          env={**env, "PYTHONPATH": str(tree / "services"), _native.ENV: "1"})
    assert done.returncode != 0
    assert "MINICANTON_NATIVE=1 but the compiled core cannot be used" in done.stderr
    assert "minicanton/core/ids.py changed since the build" in done.stderr


def _compiled_module_names() -> set[str]:
    """The modules `scripts/build_native.py` compiles (its exclusions taken from it)."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_native.py"
    spec = importlib.util.spec_from_file_location("build_native", script)
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    sources = _native.core_sources(_native.SERVICES_DIR)
    return {name.removesuffix(".py").replace("/", ".") for name in sources
            if name not in builder.EXCLUDED and not name.endswith("__init__.py")}


def test_no_interpreted_class_subclasses_a_compiled_one() -> None:
    """An interpreted subclass of a compiled class fails when it calls the compiled
    `__init__` (and cannot subclass a native class at all): the shells and tests subclass
    only the error modules and the DSL, which stay interpreted. Checked on everything
    importable under minicanton (not the generated protobuf code) and the simulation."""
    for package in ("minicanton", "tests.sim"):
        root = importlib.import_module(package)
        for found in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".codec.gen" not in found.name and not found.name.endswith("__main__"):
                importlib.import_module(found.name)
    compiled = _compiled_module_names()
    offences = []
    for name in sorted(compiled):
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and value.__module__ == name:
                offences += [f"{sub.__module__}.{sub.__qualname__}({value.__qualname__})"
                             for sub in value.__subclasses__() if sub.__module__ not in compiled]
    assert not offences, offences


@pytest.mark.parametrize("damage", ["not json", "no sources", "another python"])
def test_a_damaged_manifest_means_pure_python(tree: Path, build_dir: Path, damage: str) -> None:
    own = tree / ".build" / "native" / "own"
    own.mkdir()
    (own / "lib").symlink_to(build_dir / "lib")
    manifest = json.loads((build_dir / "manifest.json").read_text())
    if damage == "no sources":
        del manifest["sources"]
    elif damage == "another python":
        manifest["runtime"]["python"] = "3.11.0a0"
    text = "{" if damage == "not json" else json.dumps(manifest)
    (own / "manifest.json").write_text(text)
    current = tree / ".build" / "native" / "current"
    current.unlink()
    current.symlink_to("own")
    found, stderr = probe(tree)
    assert found["compiled"] is False and str(found["hashing"]).endswith("hashing.py")
    assert stderr.count("using the pure Python core") == 1, stderr
