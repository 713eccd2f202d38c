"""The whole tree is `mypy --strict` clean (issue 8 item 7; the front end
and CLI files of issue 16 among it: parse, resolve, check, the CLI and its
commands), checked by the very command `make test` runs first.

The same command, not a narrower one, so that both share mypy's cache
(.mypy_cache/): mypy records per module the options it was checked with,
and a run with another per-module option (e.g. --follow-imports=silent)
re-checks and rewrites every module it reaches, after which the other run
re-checks them again -- 3-4 s of CPU each way (16 s of wall under load).
With the cache warm from `make test`'s run this takes ~0.2 s."""

from __future__ import annotations

import subprocess
import sys

from frontend_util import ROOT

# `make test`'s mypy line (Makefile, target test), argument for argument
MAKE_TEST_MYPY = ["--strict", "dsl", "runtime", "generated/runtime", "tests/runtime"]
# the issue 16 front-end modules: all inside the checked tree
FRONT_END = ["dsl/parse.py", "dsl/resolve.py", "dsl/check.py", "dsl/check_base.py",
             "dsl/check_layout.py", "dsl/check_behaviour.py", "dsl/cli.py", "dsl/command.py",
             "dsl/project.py", "dsl/source.py", "dsl/suggest.py", "dsl/uptodate.py",
             "dsl/testcmd.py", "dsl/doccmd.py", "dsl/diffcmd.py", "dsl/svg.py", "dsl/lexer.py",
             "dsl/palette.py", "dsl/show.py", "dsl/export.py", "dsl/build.py",
             "dsl/generate/report.py", "dsl/generate/charness.py", "dsl/generate/cli.py"]


def test_make_test_runs_this_mypy_command() -> None:
    """Every mypy line of the Makefile is this test's command (else the two
    part the cache again)."""
    lines = [ln.split("-m mypy", 1)[1].split() for ln in
             (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
             if "-m mypy " in ln and not ln.lstrip().startswith("#")]
    assert lines and all(args == MAKE_TEST_MYPY for args in lines), lines


def test_front_end_is_in_the_checked_tree() -> None:
    for m in FRONT_END:
        assert (ROOT / m).is_file(), m
        assert m.startswith(tuple(d + "/" for d in MAKE_TEST_MYPY[1:])), m


def test_mypy_strict() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", *MAKE_TEST_MYPY], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
