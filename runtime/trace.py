"""Event trace: every primitive appends one line (docs/runtime-interface.md).

Place in the flow: the lowest layer; ``Kernel`` primitives call
``Trace.emit``; tests and the C-vs-Python differential compare the lines.
Numbers: lower-case hex with ``0x`` for values/addresses/pfns (``hx``),
decimal for ids, indices and counts.
"""

from __future__ import annotations


def hx(v: int) -> str:
    """Render a value, address or pfn the way every trace line does."""
    return hex(v)


class Trace:
    """An append-only list of trace lines; ``enabled=False`` drops them."""

    lines: list[str]
    enabled: bool

    def __init__(self, enabled: bool = True) -> None:
        self.lines = []
        self.enabled = enabled

    def emit(self, line: str) -> None:
        if self.enabled:
            self.lines.append(line)

    def mark(self) -> int:
        """Position to slice from later (``since``)."""
        return len(self.lines)

    def since(self, mark: int) -> list[str]:
        return self.lines[mark:]

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def clear(self) -> None:
        self.lines = []
