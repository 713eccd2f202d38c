"""Helpers of the C tests: models, headers, the Python model of an arch.

The Python side of the differential is the arch module `ptdl generate`
writes (dsl/generate/pymod.py), rendered in memory from the current model
and executed as an interpreted subclass of runtime.arch.Arch, so it always
matches the header under test (no stale generated/ file or compiled .so).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from dsl.generate import cheader, common  # noqa: E402
from dsl.model import Arch  # noqa: E402
from dsl.project import Project, load  # noqa: E402

_PROJECT: Project | None = None


# synthetic archdefs of the C tests (every statement shape the header renders)
FIXTURES = ["tests/c/fixtures/kitchen.arch", "tests/c/fixtures/shapes.arch",
            "tests/c/fixtures/highmem.arch"]


def project() -> Project:
    """The shipped archdefs plus the C tests' fixtures."""
    global _PROJECT
    if _PROJECT is None:
        _PROJECT = load(ROOT, [*FIXTURES])
        assert _PROJECT.ok, [str(d) for d in _PROJECT.diags]
    return _PROJECT


def arch_names() -> list[str]:
    """Every arch: shipped ones and the fixtures'."""
    return sorted(project().archs)


def shipped(name: str) -> bool:
    return project().decl_files[name].startswith("archdefs/")


def model(name: str) -> Arch:
    return project().archs[name]


def source(name: str) -> str:
    return project().decl_files[name]


_HEADERS: dict[tuple[str, str], tuple[Arch, str]] = {}


def header(a: Arch, src: str | None = None) -> str:
    """The header as the writer writes it (with its checksum line);
    rendered once per model object and source (the models are frozen)."""
    key = (a.name, src or source(a.name))
    got = _HEADERS.get(key)
    if got is None or got[0] is not a:
        got = (a, common.with_checksum(cheader.render(a, key[1])))
        _HEADERS[key] = got
    return got[1]


def python_arch(a: Arch, src: str | None = None) -> object:
    """The generated runtime module's ARCH, rendered from model a."""
    from dsl.generate import pymod
    text = pymod.render(a, src or source(a.name))
    mod = types.ModuleType(f"ptdl_test_gen_{a.name}")
    mod.__file__ = f"<generated {a.name}>"
    sys.modules[mod.__name__] = mod
    exec(compile(text, mod.__file__, "exec"), mod.__dict__)
    return mod.ARCH


