"""Shared helpers for the front-end tests (tests/dsl): the project root,
two runners for `ptdl` and the shipped-archdef parse memo.  (A uniquely
named module, not conftest, so that other test directories' conftest.py
files cannot shadow it.)

- `run_ptdl` runs the CLI in this process through `dsl.cli.main(argv)`,
  from another directory (chdir) with -C ROOT, and returns what the real
  console script would have: exit status, stdout and stderr as text
  (UTF-8 with this interpreter's error handlers, universal newlines), an
  uncaught exception as its traceback on stderr with status 1, an
  argparse `SystemExit` as its status.  A hang guard (SIGALRM) fails the
  run instead of waiting for ever.  It saves a Python start-up and the
  imports per call (~0.5-1 s each).
- `run_ptdl_process` runs the installed console script in a subprocess:
  kept for what only a process shows (the entry point, the interpreter's
  own traceback and exit status) and checked against `run_ptdl` by
  tests/dsl/test_cli.py::test_in_process_runner_matches_the_console_script.
- `shipped_parse_memo()`: while active, `dsl.parse.parse_text` on the text
  of a shipped archdef (archdefs/*.arch as it is on disk) parses it once
  per process and hands out that result again; any other text (fixtures,
  mutants, edits) is parsed every time.  Parsing the ~30 shipped archdefs
  is 95 % of a project load (~0.4 s CPU), and every CLI command loads them.
  The parser is a pure function of (path, text)
  (tests/dsl/test_model.py::test_parse_is_a_pure_function), and nothing
  may change a parsed result: tests/dsl/conftest.py fails the session if a
  memo entry differs at the end from its pickle taken when it was parsed."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from dsl.parse import ArchDecl
    from dsl.source import Diagnostic

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "check"
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


# -- the shipped-archdef parse memo ------------------------------------------------
SHIPPED_TEXTS: frozenset[str] = frozenset(
    p.read_text(encoding="utf-8") for p in (ROOT / "archdefs").glob("*.arch"))
# (path, text) -> (the pickled result as parsed, the result handed out)
_MEMO: dict[tuple[str, str], tuple[bytes, "tuple[list[ArchDecl], list[Diagnostic]]"]] = {}


@contextlib.contextmanager
def shipped_parse_memo() -> Iterator[None]:
    """While active, a shipped archdef's text is parsed once per process and
    every later parse of it returns the same objects (load() and what runs
    after it only read them: memo_unchanged() checks that at the end of the
    session)."""
    import dsl.parse
    real = dsl.parse.parse_text
    if getattr(real, "_ptdl_memo", False):          # already active (nested)
        yield
        return

    def parse_text(path: str, text: str) -> tuple[list[ArchDecl], list[Diagnostic]]:
        if text not in SHIPPED_TEXTS:
            return real(path, text)
        key = (path, text)
        hit = _MEMO.get(key)
        if hit is None:
            result = real(path, text)
            hit = _MEMO[key] = (pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), result)
        return hit[1]

    parse_text._ptdl_memo = True  # type: ignore[attr-defined]
    dsl.parse.parse_text = parse_text
    try:
        yield
    finally:
        dsl.parse.parse_text = real


def memo_changed() -> list[str]:
    """The memo entries whose shared result was changed after parsing (by
    anything that used it): each must be empty for the session to count."""
    return [path for (path, _), (blob, result) in _MEMO.items()
            if pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL) != blob]
