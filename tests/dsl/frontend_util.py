"""Shared helpers for the front-end tests (tests/dsl): the project root,
the two `ptdl` runners and the shipped-archdef parse memo.  (A uniquely
named module, not conftest, so that other test directories' conftest.py
files cannot shadow it.)

- `run_ptdl` (in-process) and `run_ptdl_process` (the console script in a
  subprocess) are tests/ptdl_runner.py's, the one runner every test
  directory uses; re-exported here for the tests of this directory.
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
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

from tests.ptdl_runner import (PTDL, ROOT, TIMEOUT, no_traceback, ptdl_argv, run_ptdl,
                               run_ptdl_process)

if TYPE_CHECKING:
    from dsl.parse import ArchDecl
    from dsl.source import Diagnostic

__all__ = ["FIXTURES", "PTDL", "ROOT", "TIMEOUT", "memo_changed", "no_traceback", "ptdl_argv",
           "run_ptdl", "run_ptdl_process", "shipped_parse_memo"]

FIXTURES = ROOT / "tests" / "fixtures" / "check"
T = TypeVar("T")
assert ROOT == Path(__file__).resolve().parents[2]


# -- the shipped-archdef parse memo ------------------------------------------------
SHIPPED_TEXTS: frozenset[str] = frozenset(
    p.read_text(encoding="utf-8") for p in (ROOT / "archdefs").glob("*.arch"))
SHIPPED_BYTES: frozenset[bytes] = frozenset(
    p.read_bytes() for p in (ROOT / "archdefs").glob("*.arch"))
# key -> (the pickled result as parsed, the result handed out); keys:
# ("text", path, text) for parse_text, ("file", shown name, bytes) for parse_file
_MEMO: dict[tuple[str, str, str | bytes], tuple[bytes, object]] = {}


def _memo(key: tuple[str, str, str | bytes], make: Callable[[], T]) -> T:
    hit = _MEMO.get(key)
    if hit is None:
        result = make()
        hit = _MEMO[key] = (pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), result)
    return hit[1]  # type: ignore[return-value]


@contextlib.contextmanager
def shipped_parse_memo() -> Iterator[None]:
    """While active, a shipped archdef's text is parsed once per process and
    every later parse of it returns the same objects (load() and what runs
    after it only read them: memo_changed() checks that at the end of the
    session).  Both entry points: parse_text, and parse_file, which
    project.load calls and which would otherwise unpickle each shipped
    archdef from the disk cache (dsl/diskcache.py) on every load, ~60 ms of
    CPU per CLI run; a file is the same when its name and bytes are."""
    import dsl.parse
    real = dsl.parse.parse_text
    real_file = dsl.parse.parse_file
    if getattr(real, "_ptdl_memo", False):          # already active (nested)
        yield
        return

    def parse_text(path: str, text: str) -> tuple[list[ArchDecl], list[Diagnostic]]:
        if text not in SHIPPED_TEXTS:
            return real(path, text)
        return _memo(("text", path, text), lambda: real(path, text))

    def parse_file(path: str, shown: str | None = None
                   ) -> tuple[list[ArchDecl], list[Diagnostic], str | None]:
        try:
            data = Path(path).read_bytes()
        except OSError:
            return real_file(path, shown)
        if data not in SHIPPED_BYTES:
            return real_file(path, shown)
        name = shown if shown is not None else path
        return _memo(("file", name, data), lambda: real_file(path, shown))

    parse_text._ptdl_memo = True  # type: ignore[attr-defined]
    dsl.parse.parse_text = parse_text
    dsl.parse.parse_file = parse_file
    try:
        yield
    finally:
        dsl.parse.parse_text = real
        dsl.parse.parse_file = real_file


def memo_changed() -> list[str]:
    """The memo entries whose shared result was changed after parsing (by
    anything that used it): each must be empty for the session to count.
    Each path once (a file entry parsed on a disk-cache miss shares its
    objects with the text entry its parse_text call made)."""
    return sorted({path for (_, path, _), (blob, result) in _MEMO.items()
                   if pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL) != blob})
