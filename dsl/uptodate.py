"""Never stale: bring generated/ and the compiled modules up to date.

Place in the flow: called by `ptdl test` (dsl/testcmd.py) and `ptdl
verify` before they run anything, as `make` would: load and check the
archdefs, regenerate the files of the archs about to run (writing only
what changed, atomically), then `ptdl build` (mypyc; a no-op when its
stamp matches).  With PTDL_INTERPRETED=1 the tests load the .py sources,
so nothing is compiled.  Every step it took is printed and returned.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .command import shown
from .project import load
from .source import render


@dataclass
class UpToDate:
    """What ensure_up_to_date() did."""

    ok: bool = True
    regenerated: list[str] = field(default_factory=list)   # paths, relative to the root
    removed: list[str] = field(default_factory=list)
    rebuilt: bool = False          # mypyc ran
    build_skipped: str = ""        # why nothing was compiled ('' = build ran or was current)
    error: str = ""                # diagnostics or the build failure, as printed

    def summary(self) -> str:
        gen = (f"regenerated {len(self.regenerated)} file"
               f"{'s' if len(self.regenerated) != 1 else ''}" if self.regenerated
               else "generated/ up to date")
        if self.build_skipped:
            built = f"not compiled ({self.build_skipped})"
        else:
            built = "rebuilt the compiled modules" if self.rebuilt else "compiled modules up to date"
        return f"{gen}; {built}"


def _stamp_state(root: Path) -> tuple[int, str]:
    from .build import STAMP
    p = root / STAMP
    if not p.exists():
        return (0, "")
    return (p.stat().st_mtime_ns, p.read_text(encoding="utf-8", errors="replace"))


def ensure_up_to_date(root: Path, archs: list[str] | None = None,
                      out: TextIO | None = None, prefix: str = "ptdl") -> UpToDate:
    """Regenerate generated/ for `archs` (None: all) and rebuild; report it.

    Prints one line per file written and the build's progress to `out`
    (default stdout).  On failure (archdef errors, unknown arch, mypyc
    error) returns ok=False with the reason in `error`; nothing is written
    when the archdefs have errors.
    """
    from .generate import writer
    stream = out if out is not None else sys.stdout
    rep = UpToDate()
    p = load(root)
    if not p.ok:
        rep.ok = False
        rep.error = (render(p.diags, p.sources)
                     + f"{prefix}: errors in the archdefs; generated/ left as it was\n")
        return rep
    wanted = sorted(p.archs) if archs is None else list(archs)
    for a in wanted:
        if a not in p.archs:
            from .suggest import did_you_mean
            rep.ok = False
            rep.error = (f"{prefix}: error: no arch '{a}'{did_you_mean(a, p.archs)} "
                         f"(known: {', '.join(sorted(p.archs))})\n")
            return rep
    from .generate.scenarios import ScenarioError
    outs = []
    try:
        for a in wanted:
            outs += writer.render_all(p.archs, p.decl_files, a)
    except ScenarioError as e:      # a malformed scenario file: located, nothing written
        rep.ok = False
        rep.error = e.render() + f"{prefix}: errors in the scenario files; generated/ left as it was\n"
        return rep
    seen: set[str] = set()
    unique = []
    for o in outs:
        if o.path not in seen:
            seen.add(o.path)
            unique.append(o)
    for path in writer.write_all(root, unique):     # all or nothing
        rep.regenerated.append(path)
        stream.write(f"{prefix}: regenerated {shown(path, root)}\n")
    if archs is None:
        rep.removed = writer.remove_stale(root, p.archs)
        for r in rep.removed:
            stream.write(f"{prefix}: removed stale {shown(r, root)}\n")
    if os.environ.get("PTDL_INTERPRETED") == "1":
        rep.build_skipped = "PTDL_INTERPRETED=1: the tests load the .py sources"
    else:
        from .build import build
        before = _stamp_state(root)
        stream.flush()
        rc = build(root, quiet=False)
        rep.rebuilt = _stamp_state(root) != before
        if rc != 0:
            rep.ok = False
            rep.error = f"{prefix}: the mypyc build failed; not running stale modules\n"
    stream.write(f"{prefix}: {rep.summary()}\n")
    stream.flush()
    return rep
