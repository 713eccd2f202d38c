"""The subcommand registry's types: what one `ptdl` subcommand is.

Place in the flow: dsl/cli.py holds the table (`COMMANDS`) of `Command`
values; each subcommand's module builds its own `Command` and needs
nothing from dsl/cli.py (so there is no import circle).  `main()` computes
and validates the project root once and hands it to every command as
`args.root` (an absolute `Path`); `args.color` says whether output to a
terminal may use colour (NO_COLOR / --color).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

if TYPE_CHECKING:
    from .project import Project

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


def _no_args(_: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Command:
    """One subcommand.

    name:          the word after `ptdl` (`ptdl kernel setup`: name "kernel",
                   with its own sub-parsers added by `configure`)
    help:          one line for `ptdl --help`
    description:   a paragraph for `ptdl NAME --help`
    run:           args -> exit status (0 ok, 1 diagnostics/failures, 2 usage)
    configure:     adds the arguments (give every option a help text; the
                   default is appended automatically)
    needs_project: the root must hold archdefs/ (else exit 2, nothing done)
    """

    name: str
    help: str
    description: str
    run: Run
    configure: Configure = _no_args
    needs_project: bool = True


def root_of(args: argparse.Namespace) -> Path:
    """The validated project root main() put on args."""
    root = getattr(args, "root", None)
    assert isinstance(root, Path), "args.root is set by dsl.cli.main()"
    return root


def shown(path: str | os.PathLike[str], root: Path) -> str:
    """A path as messages print it: relative to the (effective) current
    directory, which is the project root (`-C DIR` acts like `cd DIR`);
    absolute for a path outside it."""
    p = os.fspath(path)
    full = p if os.path.isabs(p) else os.path.join(root, p)
    try:
        rel = os.path.relpath(full, root)
    except ValueError:
        return p
    return os.path.normpath(full) if rel.startswith("..") else rel


def use_color(choice: str, stream: TextIO = sys.stdout) -> bool:
    """--color=auto|always|never with NO_COLOR (https://no-color.org)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR", "") != "":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def report(p: "Project") -> None:
    """Print p's diagnostics and their count to stderr."""
    from .source import render
    text = render(p.diags, p.sources)
    if text:
        sys.stderr.write(text)
        n = len([d for d in p.diags if d.severity == "error"])
        w = len(p.diags) - n
        parts = [f"{n} error{'s' if n != 1 else ''}"] if n or not w else []
        parts += [f"{w} warning{'s' if w != 1 else ''}"] if w else []
        sys.stderr.write(", ".join(parts) + "\n")


def load_ok(root: Path, files: list[str] | None = None) -> "Project | None":
    """The loaded project, or None after printing its errors."""
    from .project import load
    p = load(root, files)
    if not p.ok:
        report(p)
        return None
    return p


def need_arch(p: "Project", name: str) -> bool:
    """True if p has arch `name`; else print why not (the caller exits 2)."""
    if name not in p.archs:
        from .suggest import did_you_mean
        known = ", ".join(sorted(p.archs)) or "none"
        sys.stderr.write(f"ptdl: error: no arch '{name}'{did_you_mean(name, p.archs)} "
                         f"(known: {known})\n")
        return False
    return True
