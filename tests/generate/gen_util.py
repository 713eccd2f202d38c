"""Shared by the tests of tests/generate: the project loaded once per
process (per set of extra fixture files) and the whole tree rendered once.

Loading and rendering are pure (a Project's archs are frozen models; the
tests only read them), so the tests that only read share one copy; a test
about loading or the CLI still runs its own.
"""

from __future__ import annotations

import functools
from pathlib import Path

from dsl.generate import writer
from dsl.project import Project, load

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def project(*files: str) -> Project:
    """load(ROOT) with these extra files (none: the shipped archdefs)."""
    return load(ROOT, list(files) if files else None)


@functools.cache
def rendered() -> tuple[writer.Output, ...]:
    """Every file `ptdl generate` would write for the shipped archdefs."""
    p = project()
    assert p.ok
    return tuple(writer.render_all(p.archs, p.decl_files))
