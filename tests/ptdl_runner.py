"""The one in-process `ptdl` runner of the test suite, shared by every test
directory (tests/dsl through frontend_util, tests/generate, tests/explore):
`from tests.ptdl_runner import run_ptdl` (the project root is on sys.path:
pyproject.toml's pytest `pythonpath`).

Place in the flow: tests only.  `run_ptdl` runs the CLI through
`dsl.cli.main(argv)` in this process, from `cwd` (chdir) with `-C root`
first unless root is None, and returns what the real console script would
have: exit status, stdout and stderr as text (UTF-8 with this interpreter's
error handlers, universal newlines), an uncaught exception as its traceback
on stderr with status 1, an argparse `SystemExit` as its status.  A hang
guard (SIGALRM) fails the run instead of waiting for ever.  It saves a
Python start-up and the imports per call (~0.5-1 s each).
`run_ptdl_process` runs the installed console script in a subprocess: kept
for what only a process shows (the entry point, the interpreter's own
traceback and exit status); tests/dsl/test_ptdl_runner.py checks the two agree
for exit statuses 0, 1 and 2 and that `no_traceback` fails on a traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
PTDL = ROOT / ".venv" / "bin" / "ptdl"
TIMEOUT = 120   # a hang guard, not a timing check (a loaded 2-core machine took >20 s)


def ptdl_argv() -> list[str]:
    """The installed console script if present, else `python -m dsl.cli`."""
    if PTDL.exists():
        return [str(PTDL)]
    return [sys.executable, "-m", "dsl.cli"]


def _argv(args: tuple[str, ...], root: Path | str | None) -> list[str]:
    pre = ["-C", str(root)] if root is not None else []
    return pre + list(args)


def run_ptdl_process(*args: str, cwd: Path | str, root: Path | str | None = ROOT
                     ) -> subprocess.CompletedProcess[str]:
    """Run the real console script `ptdl [-C root] args...` in cwd."""
    env = dict(os.environ)
    env.pop("PTDL_UPDATE_GOLDEN", None)
    return subprocess.run(ptdl_argv() + _argv(args, root), cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    """Fail if a run printed a Python traceback (ptdl reports bad input as
    file:line:col diagnostics, never a traceback)."""
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr


class Hang(BaseException):
    """Raised by the hang guard (a BaseException: `except Exception` in the
    code under test must not swallow it)."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"ptdl did not finish within {TIMEOUT} s")


@contextlib.contextmanager
def _hang_guard() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _stream(errors: str) -> io.TextIOWrapper:
    """A captured stream like the subprocess's pipe: UTF-8 bytes, not a tty."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors=errors,
                            newline="\n", write_through=True)


def _text(s: io.TextIOWrapper) -> str:
    s.flush()
    buf = s.buffer
    assert isinstance(buf, io.BytesIO)
    # what subprocess.run(text=True) reads: decoded, universal newlines
    raw = buf.getvalue().decode("utf-8", errors="strict")
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def run_ptdl(*args: str, cwd: Path | str, root: Path | str | None = ROOT,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`ptdl [-C root] args...` run in cwd, in this process (see the module
    docstring), with `env` added to the environment for the run; the result
    has the shape of subprocess.run's."""
    from dsl import cli, command
    argv = _argv(args, root)
    real = sys.__stdout__
    out = _stream(real.errors if real is not None and real.errors else "strict")
    err = _stream("backslashreplace")
    env_before = dict(os.environ)
    os.environ.pop("PTDL_UPDATE_GOLDEN", None)
    os.environ.update(env or {})
    if "COLUMNS" not in os.environ:          # a pipe: argparse wraps at 80 columns
        os.environ["COLUMNS"] = "80"
    old_cwd = os.getcwd()
    old_out, old_err = sys.stdout, sys.stderr
    # use_color's default stream is the process's stdout, bound at import
    old_defaults = command.use_color.__defaults__
    command.use_color.__defaults__ = (out,)
    rc: int
    try:
        os.chdir(cwd)
        sys.stdout, sys.stderr = out, err
        with _hang_guard():
            try:
                rc = cli.main(argv)
            except SystemExit as e:
                if e.code is None:
                    rc = 0
                elif isinstance(e.code, int):
                    rc = e.code
                else:
                    err.write(f"{e.code}\n")
                    rc = 1
            except Exception:  # noqa: BLE001 - what the interpreter prints, exit 1
                err.write(traceback.format_exc())
                rc = 1
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        command.use_color.__defaults__ = old_defaults
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(env_before)
    return subprocess.CompletedProcess(["ptdl", *argv], rc, _text(out), _text(err))


def run_ptdl_checked(*args: str, cwd: Path | str, root: Path | str | None = ROOT,
                     env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """run_ptdl with `--color never` (colour is not under test) and no
    traceback allowed (no_traceback), as (status, stdout, stderr)."""
    r = run_ptdl("--color", "never", *args, cwd=cwd, root=root, env=env)
    no_traceback(r)
    return r.returncode, r.stdout, r.stderr
