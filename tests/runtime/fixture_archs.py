"""The arches the runtime tests run on: the generated modules, and
test-only fixture archdefs generated in the test session.

* ``generated(name)`` -- a fresh instance of ``generated.runtime.<name>``'s
  arch class (compiled, unless PTDL_INTERPRETED=1): the real thing;
* ``generated_class(name)`` -- the same module's class loaded from its
  ``.py`` source under a private name, for tests that subclass it with one
  breakage the archdef language cannot express (a compiled class cannot be
  subclassed by interpreted code);
* ``fixture(name)`` -- an arch of tests/fixtures/runtime/*.arch or
  tests/fixtures/broken/*.arch, generated in a temporary project copy
  (the real archdefs and the fixtures, loaded and checked once per
  process) by the writer ``ptdl generate`` uses, for that arch only, and
  loaded interpreted.

Nothing here describes an arch by hand: layouts and behaviour come from
archdefs through the generator.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Callable, cast

from dsl.generate import backends, writer
from dsl.project import Project, load
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


_loaded: Project | None = None


def fixture_project() -> Path:
    """A project copy with the real archdefs and the fixture ones, loaded
    and checked (generated/ is written per arch by fixture_class)."""
    global _project, _loaded
    if _project is not None:
        return _project
    root = Path(tempfile.mkdtemp(prefix="ptdl-rt-fixtures-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "archdefs").mkdir()
    for d in (ROOT / "archdefs",) + FIXTURE_DIRS:
        for f in sorted(d.glob("*.arch")):
            shutil.copy(f, root / "archdefs" / f.name)
    (root / "runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    p = load(root)
    if not p.ok:
        raise RuntimeError("the test fixtures do not check clean:\n"
                           + "\n".join(str(d) for d in p.diags))
    _project, _loaded = root, p
    return root


def _generate(root: Path, name: str) -> Path:
    """generated/runtime/<name>.py of the fixture project, as `ptdl
    generate` writes it (dsl/generate/writer.py)."""
    assert _loaded is not None
    rel = writer.RUNTIME_MODULE.format(arch=name)
    if name not in _loaded.archs:
        raise RuntimeError(f"no arch {name!r} in the fixture project")
    b = backends.backend("runtime-module")     # writer.render_arch's, this backend only
    assert b.output_path(name) == rel and not b.checksummed
    text = b.load()(_loaded.archs[name], _loaded.decl_files[name])
    writer.write_atomic(root, writer.Output(rel, text))
    return root / rel


def fixture_class(name: str) -> type[Arch]:
    root = fixture_project()
    path = root / "generated" / "runtime" / f"{name}.py"
    if not path.exists():
        path = _generate(root, name)
    mod = _load_source(path, f"ptdl_rt_fixture_{name}")
    cls: type[Arch] = type(mod.ARCH)
    return cls


def fixture(name: str) -> Arch:
    # a generated arch class takes no constructor arguments
    make = cast(Callable[[], Arch], fixture_class(name))
    return make()
