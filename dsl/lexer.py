"""A Pygments lexer for `.arch` files, and the colours of `ptdl show`.

Place in the flow: registered as the `pygments.lexers` entry point `ptdl`
(pyproject.toml), so `pygmentize -l ptdl`, docutils' `code` directive in
the pages `ptdl doc` writes, and `ptdl show` on a terminal all use it.  The
token rules follow dsl/grammar.lark: keywords of the grammar, the setting
and call names of dsl/catalog.py, numbers, strings, comments; anything
else is an Error token (tests/dsl/test_lexer.py requires none in any
archdef).
"""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, words
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator,
                            Punctuation, String, Whitespace)

from . import catalog

KEYWORDS = ("arch", "extends", "pte", "prot", "cache", "tlb", "lazy_mmu", "advance", "pg_arch_1",
            "per", "cpu", "prefault_old", "primitives", "empty_pte", "sw_mkyoung", "highmem",
            "source", "seed", "config", "generic", "when", "else", "each", "of", "reverse",
            "set", "clear", "invert", "drop", "overlaps", "inverted", "dcache", "icache")
OPERATORS = ("and", "or", "not", "any")


class ArchLexer(RegexLexer):
    """ptdl archdefs (dsl/grammar.lark)."""

    name = "ptdl archdef"
    aliases = ["ptdl", "arch"]
    filenames = ["*.arch"]
    mimetypes = ["text/x-ptdl-arch"]
    flags = re.MULTILINE

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"[^"\\\n]*"', String.Double),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(OPERATORS, suffix=r"\b"), Operator.Word),
            (words(tuple(catalog.SETTINGS), suffix=r"\b"), Keyword.Pseudo),
            (words(catalog.CALLS, suffix=r"\b"), Name.Function),
            (words(tuple(catalog.EFFECTS), suffix=r"\b"), Name.Builtin),
            (r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*", Number),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r"\.\.|==|!=|[=|:@.,]", Operator),
            (r"[{}()]", Punctuation),
            (r".", Error),
        ],
    }


def highlight(text: str) -> str:
    """Archdef text with ANSI colours (the terminal formatter)."""
    from pygments import highlight as _hl
    from pygments.formatters import TerminalFormatter
    out: str = _hl(text, ArchLexer(), TerminalFormatter())
    return out


_DERIVED = re.compile(r"^(\s+(?:derived|transform)\s+\S+ (?:= |stored inverted when ))(.*)$")


def highlight_show(text: str, a: object) -> str:
    """`ptdl show` output for a terminal: diagram cells in their role's
    colour (as in the SVG), expressions through the archdef lexer."""
    from .model import Arch
    from .palette import ansi
    from .show import field_keys
    assert isinstance(a, Arch)
    keys = field_keys(a)
    colour = {k: ansi(f.role) for f in a.fields for k in [keys[f.name]]}
    out: list[str] = []
    for line in text.splitlines():
        m = _DERIVED.match(line)
        if m:
            out.append(m.group(1) + highlight(m.group(2)).rstrip("\n"))
        elif line.startswith("  ") and line.strip() and set(line.strip()) <= set(colour) | {".", "*", " "} \
                and len(line.strip().replace(" ", "")) == 32:
            out.append("".join(f"\x1b[{colour[c]}m{c}\x1b[0m" if c in colour and colour[c] != "0"
                               else c for c in line))
        else:
            out.append(line)
    return "\n".join(out) + "\n"
