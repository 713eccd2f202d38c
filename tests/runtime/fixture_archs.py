"""The arches the runtime tests run on: the generated modules, and
test-only fixture archdefs generated in the test session.

* ``generated(name)`` -- a fresh instance of ``generated.runtime.<name>``'s
  arch class (compiled, unless PTDL_INTERPRETED=1): the real thing;
* ``generated_class(name)`` -- the same module's class loaded from its
  ``.py`` source under a private name, for tests that subclass it with one
  breakage the archdef language cannot express (a compiled class cannot be
  subclassed by interpreted code);
* ``fixture(name)`` -- an arch of tests/fixtures/runtime/*.arch or
  tests/fixtures/broken/*.arch, generated once per process by
  ``ptdl generate`` in a temporary project copy and loaded interpreted.

Nothing here describes an arch by hand: layouts and behaviour come from
archdefs through the generator.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Callable, cast

from runtime.arch import Arch

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIRS = (ROOT / "tests" / "fixtures" / "runtime", ROOT / "tests" / "fixtures" / "broken")

_project: Path | None = None
_modules: dict[str, ModuleType] = {}


def generated(name: str) -> Arch:
    mod = importlib.import_module("generated.runtime." + name)
    arch: Arch = type(mod.ARCH)()
    return arch


def _load_source(path: Path, modname: str) -> ModuleType:
    got = _modules.get(modname)
    if got is not None:
        return got
    spec = importlib.util.spec_from_file_location(modname, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    _modules[modname] = mod
    return mod


def generated_class(name: str) -> type[Arch]:
    mod = _load_source(ROOT / "generated" / "runtime" / f"{name}.py", f"ptdl_rt_src_{name}")
    cls: type[Arch] = type(mod.ARCH)
    return cls


def fixture_project() -> Path:
    """A project copy with the real archdefs and the fixture ones, generated."""
    global _project
    if _project is not None:
        return _project
    root = Path(tempfile.mkdtemp(prefix="ptdl-rt-fixtures-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "archdefs").mkdir()
    for d in (ROOT / "archdefs",) + FIXTURE_DIRS:
        for f in sorted(d.glob("*.arch")):
            shutil.copy(f, root / "archdefs" / f.name)
    (root / "runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-m", "dsl.cli", "-C", str(root), "generate", "-q"],
                       capture_output=True, text=True, env=env, cwd=str(root), timeout=600)
    if r.returncode != 0:
        raise RuntimeError("ptdl generate of the test fixtures failed:\n" + r.stdout + r.stderr)
    _project = root
    return root


def fixture_class(name: str) -> type[Arch]:
    path = fixture_project() / "generated" / "runtime" / f"{name}.py"
    mod = _load_source(path, f"ptdl_rt_fixture_{name}")
    cls: type[Arch] = type(mod.ARCH)
    return cls


def fixture(name: str) -> Arch:
    # a generated arch class takes no constructor arguments
    make = cast(Callable[[], Arch], fixture_class(name))
    return make()
