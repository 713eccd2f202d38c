"""Shared helpers for the front-end tests (tests/dsl): the project root and
a runner for the real `ptdl` console script, always started from another
directory with -C ROOT.  (A uniquely named module, not conftest, so that
other test directories' conftest.py files cannot shadow it.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "check"
PTDL = ROOT / ".venv" / "bin" / "ptdl"
TIMEOUT = 120   # a hang guard, not a timing check (a loaded 2-core machine took >20 s)


def ptdl_argv() -> list[str]:
    """The installed console script if present, else `python -m dsl.cli`."""
    if PTDL.exists():
        return [str(PTDL)]
    return [sys.executable, "-m", "dsl.cli"]


def run_ptdl(*args: str, cwd: Path | str, root: Path | str | None = ROOT
             ) -> subprocess.CompletedProcess[str]:
    """Run `ptdl [-C root] args...` in cwd; fail the test on a hang."""
    env = dict(os.environ)
    env.pop("PTDL_UPDATE_GOLDEN", None)
    pre = ["-C", str(root)] if root is not None else []
    return subprocess.run(ptdl_argv() + pre + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)
