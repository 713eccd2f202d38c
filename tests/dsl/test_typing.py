"""The front end and the CLI are `mypy --strict` clean (issue 8 item 7 for
the files of issue 16: parse, resolve, check, the CLI and its commands)."""

from __future__ import annotations

import subprocess
import sys

from frontend_util import ROOT

MODULES = ["dsl/parse.py", "dsl/resolve.py", "dsl/check.py", "dsl/check_base.py", "dsl/check_layout.py",
           "dsl/check_behaviour.py", "dsl/cli.py", "dsl/command.py",
           "dsl/project.py", "dsl/source.py", "dsl/suggest.py", "dsl/uptodate.py",
           "dsl/testcmd.py", "dsl/doccmd.py", "dsl/diffcmd.py", "dsl/svg.py", "dsl/lexer.py",
           "dsl/palette.py", "dsl/show.py", "dsl/export.py", "dsl/build.py",
           "dsl/generate/report.py", "dsl/generate/charness.py", "dsl/generate/cli.py"]


def test_mypy_strict() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                        "--no-error-summary", *MODULES], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
