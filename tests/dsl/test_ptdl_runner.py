"""tests/ptdl_runner.py, the in-process `ptdl` runner every test directory
uses (tests/dsl via frontend_util, tests/generate, tests/explore): it gives
the console script's status, stdout and stderr for each kind of exit (0
clean, 1 diagnostics, 2 usage), an escaping exception is a traceback with
status 1, and the traceback checks built on it can fail."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ptdl_runner import (ROOT, no_traceback, run_ptdl, run_ptdl_checked,
                               run_ptdl_process)


@pytest.mark.parametrize("args,status", [
    (["check"], 0),
    (["check", "tests/fixtures/check/overlap.arch"], 1),       # diagnostics
    (["frobnicate"], 2),                                       # usage
])
def test_in_process_runner_matches_the_console_script(tmp_path: Path, args: list[str],
                                                      status: int) -> None:
    """The installed entry point in its own process and run_ptdl agree."""
    real = run_ptdl_process(*args, cwd=tmp_path)
    no_traceback(real)
    assert real.returncode == status, real.stderr
    here = run_ptdl(*args, cwd=tmp_path)
    assert (here.returncode, here.stdout, here.stderr) == \
        (real.returncode, real.stdout, real.stderr)
    assert run_ptdl_checked(*args, cwd=tmp_path)[0] == status


def _boom(monkeypatch: pytest.MonkeyPatch) -> None:
    import dsl.describe

    def boom(arch: object) -> str:
        raise KeyError("boom")

    monkeypatch.setattr(dsl.describe, "one_line", boom)


def test_in_process_runner_reports_a_traceback(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception escaping main() is what the interpreter prints: exit 1
    and a traceback on stderr, so `no_traceback` can fail in-process too."""
    _boom(monkeypatch)
    r = run_ptdl("list", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("Traceback (most recent call last):\n")
    assert r.stderr.endswith("KeyError: 'boom'\n")
    with pytest.raises(AssertionError):
        no_traceback(r)


def test_checked_runner_fails_on_a_traceback(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """run_ptdl_checked (tests/generate, tests/explore) refuses a run that
    printed a traceback, with root=None (-C in the arguments) as well."""
    assert run_ptdl_checked("-C", str(ROOT), "list", cwd=tmp_path, root=None)[0] == 0
    _boom(monkeypatch)
    with pytest.raises(AssertionError, match="KeyError"):
        run_ptdl_checked("list", cwd=tmp_path)
    with pytest.raises(AssertionError, match="KeyError"):
        run_ptdl_checked("-C", str(ROOT), "list", cwd=tmp_path, root=None)


def test_runner_restores_the_process_state(tmp_path: Path) -> None:
    """cwd, sys.stdout/stderr and the environment are as they were after a
    run, even one that exits through argparse."""
    import os
    import sys
    before = (os.getcwd(), sys.stdout, sys.stderr, dict(os.environ))
    r = run_ptdl("frobnicate", cwd=tmp_path, env={"PTDL_RUNNER_TEST": "1"})
    assert r.returncode == 2
    assert (os.getcwd(), sys.stdout, sys.stderr, dict(os.environ)) == before
    assert isinstance(r, subprocess.CompletedProcess)
