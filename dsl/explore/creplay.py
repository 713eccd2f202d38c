"""Replay an explored sequence's arch calls on the generated C header.

Place in the flow: ``cli`` calls ``replay`` for each reported finding: the
sequence is re-run on the Python module with the whole call script kept,
the script goes to the C harness (dsl/generate/charness.py, as the
generated conformance tests do) and the C trace must equal the Python
trace line for line -- then the violation holds for the header too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from typing import TYPE_CHECKING

from runtime.arch import Arch

from .search import run_steps
from .world import Step


if TYPE_CHECKING:
    from dsl.project import Project


def replay(root: Path, arch: Arch, cpu: frozenset[str], colour: int,
           steps: list[Step], project: Project | None = None) -> str:
    """A one-line verdict: ``C trace equal (N lines)``, ``C trace differs
    at line N: ...`` or ``skipped: reason``.  ``project`` is root's, if
    the caller has loaded it already."""
    from dsl.generate import charness
    from dsl.project import load
    if shutil.which(charness.GCC) is None:
        return "skipped: no %s" % charness.GCC
    hdr = root / "generated" / "kernel" / "arch" / arch.name / "include" / "asm" / "pgtable-range.h"
    if not hdr.exists():
        return "skipped: %s not generated" % hdr
    p = load(root) if project is None else project
    model = p.archs.get(arch.name)
    if model is None:
        return "skipped: no archdef for %s" % arch.name
    o = run_steps(arch, cpu, colour, steps, record=True)
    s = o.world.k.script
    if s is None:
        return "skipped: no call script"
    text = s.text()
    want = charness.expected(text)
    if not want:
        return "C trace equal (no arch calls)"
    try:
        got = charness.replay(model, hdr.read_text(encoding="utf-8"), text)
    except charness.HarnessError as e:
        return "C harness failed: %s" % str(e).splitlines()[0]
    if got == want:
        return "C trace equal (%d lines)" % len(want)
    for i in range(max(len(got), len(want))):
        a = want[i] if i < len(want) else "<end>"
        b = got[i] if i < len(got) else "<end>"
        if a != b:
            return "C trace differs at line %d: python %r, C %r" % (i + 1, a, b)
    return "C trace differs"
