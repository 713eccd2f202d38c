"""Source locations and diagnostics.

Place in the flow: every stage (parse, resolve, check, generate) reports
problems as Diagnostic values carrying a Loc; the CLI sorts them and prints
them as `path:line:col: error: message`, the source line and a caret, with
notes (for instance "inherited from arm64 here") underneath.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Loc:
    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    @staticmethod
    def of_byte(path: str, data: bytes, offset: int) -> Loc:
        """The line and column (from 1) of byte ``offset`` of ``data``."""
        line = data.count(b"\n", 0, offset) + 1
        return Loc(path, line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1)


NOWHERE = Loc("<builtin>", 0, 0)


@dataclass(frozen=True)
class Note:
    loc: Loc
    message: str


@dataclass(frozen=True)
class Diagnostic:
    loc: Loc
    message: str
    severity: str = "error"
    notes: tuple[Note, ...] = field(default=())

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.loc.path, self.loc.line, self.loc.col, self.message)


class SourceCache:
    """Remembers file texts so diagnostics can quote the offending line."""

    def __init__(self) -> None:
        self._texts: dict[str, list[str]] = {}

    def add(self, path: str, text: str) -> None:
        self._texts[path] = text.splitlines()

    def line(self, path: str, line: int) -> str | None:
        lines = self._texts.get(path)
        if lines is None or line < 1 or line > len(lines):
            return None
        return lines[line - 1]


def _quote(cache: SourceCache, loc: Loc) -> list[str]:
    text = cache.line(loc.path, loc.line)
    if text is None:
        return []
    text = text.replace("\t", " ")
    if len(text) > 200:
        start = max(0, loc.col - 100)
        text = text[start:start + 200]
        col = loc.col - start
    else:
        col = loc.col
    return [" " + text, " " + " " * max(0, col - 1) + "^"]


def render(diags: list[Diagnostic], cache: SourceCache) -> str:
    """All diagnostics, sorted and de-duplicated, as the CLI prints them."""
    out: list[str] = []
    for d in unique_sorted(diags):
        out.append(f"{d.loc}: {d.severity}: {d.message}")
        out.extend(_quote(cache, d.loc))
        for n in d.notes:
            out.append(f"{n.loc}: note: {n.message}")
            out.extend(_quote(cache, n.loc))
    return "\n".join(out) + ("\n" if out else "")


def unique_sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, int, int, str]] = set()
    result: list[Diagnostic] = []
    for d in sorted(diags, key=Diagnostic.sort_key):
        k = d.sort_key()
        if k in seen:
            continue
        seen.add(k)
        result.append(d)
    return result
