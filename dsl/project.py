"""Load a ptdl project: find archdefs, parse, resolve, check.

Place in the flow: the front end's entry point.  The CLI and the tests call
`load()`; it returns the models and every diagnostic, and never raises on
bad input.  A project is a directory with `archdefs/*.arch`; paths in
diagnostics are relative to the project root (the effective current
directory: `ptdl -C DIR` acts like `cd DIR`); files outside it are shown
by their absolute path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from .source import Diagnostic, SourceCache, unique_sorted

if TYPE_CHECKING:
    from .model import Arch
    from .decls import ArchDecl


@dataclass
class Project:
    root: Path
    archs: dict[str, Arch]
    diags: list[Diagnostic]
    sources: SourceCache
    files: list[str] = field(default_factory=list)
    decl_files: dict[str, str] = field(default_factory=dict)   # arch -> file

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diags)

    def archs_in(self, path: str) -> list[str]:
        return sorted(n for n, p in self.decl_files.items() if p == path)


def project_problem(root: Path) -> str | None:
    """Why root is not a ptdl project, or None if it is one."""
    if not (root / "archdefs").is_dir():
        return "no archdefs/ directory"
    return None


def archdefs_in(d: Path) -> list[str]:
    """The *.arch files of directory d (absolute paths, sorted)."""
    return sorted(str(p) for p in d.glob("*.arch") if p.is_file())


def archdef_files(root: Path) -> list[str]:
    d = root / "archdefs"
    if not d.is_dir():
        return []
    return sorted(os.path.relpath(p, root) for p in d.glob("*.arch"))


def load(root: Path, files: list[str] | None = None) -> Project:
    """Parse and check `files` (default: every archdefs/*.arch) under root.

    Extra files given explicitly are loaded together with the shipped
    archdefs so that `extends` can reach a shipped parent.
    """
    # The front end is imported on first use: `ptdl --help` and the commands
    # that never load archdefs do not pay for Lark and the checker.
    from .check import check
    from .decls import parse_file
    from .resolve import resolve
    shipped = archdef_files(root)
    wanted = shipped if files is None else list(files)
    # One entry per file, however it is spelt (relative, absolute, ./x):
    # `ptdl check archdefs/x86.arch` must not load x86.arch twice.
    all_files: list[str] = []
    seen: set[str] = set()
    for f in wanted + shipped:
        key = os.path.realpath(f if os.path.isabs(f) else str(root / f))
        if key not in seen:
            seen.add(key)
            all_files.append(f)
    cache = SourceCache()
    decls: list[ArchDecl] = []
    diags: list[Diagnostic] = []
    decl_files: dict[str, str] = {}
    for rel in all_files:
        path = rel if os.path.isabs(rel) else str(root / rel)
        shown = _rel(path, root)
        if shown.startswith(".."):     # outside the project: absolute
            shown = os.path.normpath(path)
        ds, pd, text = parse_file(path, shown)
        if text is not None:
            cache.add(shown, text)
        for d in ds:
            decl_files.setdefault(d.name, shown)
        decls += ds
        diags += pd
    res = resolve(decls)
    diags += check(res)
    proj = Project(root, res.archs, unique_sorted(diags), cache, all_files, decl_files)
    if files is not None:
        keep = {_rel(f if os.path.isabs(f) else str(root / f), root) for f in files}
        keep |= {f for f in files}
        proj.diags = [d for d in proj.diags if d.loc.path in keep]
    return proj


def _rel(p: str, root: Path) -> str:
    try:
        return os.path.relpath(p, root)
    except ValueError:
        return p
