"""Colours of PTE roles, shared by the SVG diagram and the terminal.

Place in the flow: dsl/svg.py fills each field with its role's colour;
dsl/lexer.py colours `ptdl show`'s diagram with the matching ANSI colour.
"""

from __future__ import annotations

# role -> (SVG fill, ANSI SGR foreground code)
ROLE_COLOURS: dict[str, tuple[str, str]] = {
    "present": ("#4caf50", "32"),
    "valid": ("#81c784", "92"),
    "write": ("#e53935", "31"),
    "dirty": ("#fb8c00", "33"),
    "young": ("#fdd835", "93"),
    "exec": ("#8e24aa", "35"),
    "user": ("#1e88e5", "34"),
    "global": ("#00acc1", "36"),
    "special": ("#6d4c41", "33"),
    "protnone": ("#ad1457", "95"),
    "pfn": ("#90caf9", "94"),
    "read": ("#43a047", "32"),
    "huge": ("#5e35b1", "35"),
    "unused": ("#bdbdbd", "37"),
    "softdirty": ("#ffb74d", "33"),
    "uffd_wp": ("#f06292", "95"),
    "cache": ("#26a69a", "96"),
    "type": ("#78909c", "37"),
}
NO_ROLE = ("#e0e0e0", "0")
EMPTY_BIT = "#ffffff"


def fill(role: str | None) -> str:
    return ROLE_COLOURS.get(role or "", NO_ROLE)[0]


def ansi(role: str | None) -> str:
    return ROLE_COLOURS.get(role or "", NO_ROLE)[1]
