"""The Jinja2 environment every backend renders through.

Place in the flow: used by the backends (pymod.py, cheader.py, ctests.py).
Templates live in dsl/templates/: one top-level template per kind of
generated file (py/module.py.j2, c/header.h.j2, tests/conformance.py.j2),
one shared banner/marker macro file (common.j2), and per-language macro
files with one macro per catalog construct (py/effects.j2, c/effects.j2,
py/predicates.j2, ...).  The environment is strict (StrictUndefined: a
missing attribute is an error, never an empty string), trims block lines
and keeps the trailing newline, so a template's text is the file's text.

The filters are the only code-shaping helpers: C and Python identifiers
(refusing anything that is not one), hex literals, comment-safe text, and
kernel-style wrapping of long conditions and comments.
"""

from __future__ import annotations

import functools
import re
import textwrap
from pathlib import Path
from typing import Any, Callable

import jinja2
import jinja2.bccache

from .. import diskcache
from .pteword import pte_literal

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
MAX_COLS = 100
TAB = 8
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """An archdef name used as a C or Python identifier; refuse anything else.

    The checker already rejects such names; this is the backends' own guard
    so nothing in an archdef can inject code into a generated file."""
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    return name


def c_comment(text: str) -> str:
    """Text safe inside a /* ... */ comment (no terminator, printable)."""
    return py_comment(text.replace("*/", "* /").replace("/*", "/ *"))


def py_comment(text: str) -> str:
    """Text safe inside a # comment (one line, printable)."""
    if text.isascii() and text.isprintable():    # printable ASCII: 32..126
        return text
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)


def hexlit(v: int) -> str:
    """A Python hex literal (also valid C): 0x1f, -0x1."""
    return hex(v)


def c_upper_ident(name: str) -> str:
    return ident(name).upper()


# -- C expression shape ------------------------------------------------------


def atomic(s: str) -> bool:
    """Is s one primary C expression (a name, a call, or fully parenthesised)?"""
    s = s.lstrip("!")
    m = re.match(r"^[A-Za-z_][\w]*", s)
    rest = s[m.end():] if m else s
    if rest == "":
        return True
    if not rest.startswith("("):
        return False
    depth = 0
    for k, ch in enumerate(rest):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return k == len(rest) - 1
    return False


def c_unparen(s: str) -> str:
    """s without its outer parentheses when they enclose all of it."""
    while s.startswith("(") and atomic(s):
        s = s[1:-1]
    return s


def c_paren(s: str) -> str:
    """s parenthesised unless it is already one primary expression."""
    return s if atomic(s) else f"({s})"


def split_top(s: str) -> list[str]:
    """Split after top-level ' && ' / ' || ' (operators stay on the left)."""
    parts: list[str] = []
    depth = 0
    last = 0
    k = 0
    while k < len(s):
        ch = s[k]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and s.startswith((" && ", " || "), k):
            parts.append(s[last:k + 3])
            last = k + 4
            k += 4
            continue
        k += 1
    parts.append(s[last:])
    return parts


def kwrap(expr: str, head: str, tail: str, depth: int) -> list[str]:
    """Kernel-style line wrapping: head + expr + tail on one line when it
    fits in MAX_COLS at `depth` tabs, else broken after top-level && / ||
    with continuation lines indented one more tab."""
    one = head + expr + tail
    if len(one) + depth * TAB <= MAX_COLS:
        return [one]
    parts = split_top(expr)
    if len(parts) == 1:
        return [one]
    lines = [head + parts[0]]
    lines += ["\t" + p for p in parts[1:-1]]
    lines.append("\t" + parts[-1] + tail)
    return lines


def comment_wrap(text: str, width: int, break_long: bool = False) -> list[str]:
    """Comment text wrapped to `width` columns (kernel block comments)."""
    return textwrap.wrap(c_comment(text), width, break_long_words=True,
                         break_on_hyphens=not break_long) if break_long else \
        textwrap.wrap(c_comment(text), width)


def wrap_items(items: list[str], indent: str, width: int = 88) -> list[str]:
    """Python list items ("x, " each) filled into lines of at most width."""
    out: list[str] = []
    line = indent
    for it in items:
        piece = it + ", "
        if len(line) + len(piece) > width and line.strip():
            out.append(line.rstrip())
            line = indent
        line += piece
    if line.strip():
        out.append(line.rstrip())
    return out


def indent_lines(text: str, prefix: str) -> str:
    """Every non-empty line of text prefixed (empty lines stay empty)."""
    return "\n".join(prefix + x if x else "" for x in text.split("\n"))


class Lazy:
    """A piece of code text handed to a macro unwritten: it is produced
    (and whatever locals it reads recorded by the code writer) only if the
    macro's text uses it -- so the writer needs no per-construct knowledge
    of which arguments a catalog entry's macro reads."""

    def __init__(self, make: Callable[[], str]) -> None:
        self.make = make
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self.make()
        return self._text

    def __bool__(self) -> bool:
        return bool(str(self))


class _DiskBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in the ptdl cache (dsl/diskcache.py), so
    each process does not compile them again.  Jinja itself checks each
    entry against its template's source (a checksum) and its own bytecode
    format; the entry's name also covers this module (the environment's
    options and filters) and Jinja's version, so an edit to either is a
    fresh compile."""

    def __init__(self) -> None:
        self.code = diskcache.fingerprint((str(Path(__file__).resolve()),),
                                          ("jinja2", jinja2.__version__))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = diskcache.get("jinja", diskcache.key_of(self.code, bucket.key))
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        diskcache.put("jinja", diskcache.key_of(self.code, bucket.key),
                      bucket.bytecode_to_string())


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        bytecode_cache=_DiskBytecode(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update({
        "ident": ident,
        "c_ident": ident,
        "py_ident": ident,
        "upper_ident": c_upper_ident,
        "hex": hexlit,
        "pte": pte_literal,
        "c_comment": c_comment,
        "py_comment": py_comment,
        "c_paren": c_paren,
        "c_unparen": c_unparen,
        "kwrap": kwrap,
        "comment_wrap": comment_wrap,
        "indent_lines": indent_lines,
        "pyrepr": repr,
        "wrap_items": wrap_items,
        "tuple": tuple,
    })
    return env


def render(template: str, **context: Any) -> str:
    """Render one top-level template."""
    return environment().get_template(template).render(**context)


class Macros:
    """The macros of one macro file, callable from a backend's code writer.

    ``Macros("py/effects.j2").call("icache_sync", x)`` renders the macro
    and returns its text; a macro that does not exist is an error naming
    the file, so a catalog entry without its rendering fails loudly."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.module = environment().get_template(path).module

    def has(self, name: str) -> bool:
        return callable(getattr(self.module, name, None))

    def call(self, name: str, *args: Any, **kwargs: Any) -> str:
        m = getattr(self.module, name, None)
        if not callable(m):
            raise LookupError(f"{self.path}: no macro '{name}'")
        return str(m(*args, **kwargs))

    def line(self, name: str, *args: Any, **kwargs: Any) -> str:
        """A macro that renders one line (no newline inside)."""
        text = self.call(name, *args, **kwargs)
        if "\n" in text:
            raise ValueError(f"{self.path}: macro '{name}' rendered more than one line: {text!r}")
        return text

    def lines(self, name: str, *args: Any, **kwargs: Any) -> list[str]:
        """A macro that renders several lines."""
        text = self.call(name, *args, **kwargs).rstrip("\n")
        return text.split("\n") if text else []


@functools.lru_cache(maxsize=None)
def macros(path: str) -> Macros:
    return Macros(path)
