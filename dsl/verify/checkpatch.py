"""The tree's scripts/checkpatch.pl over a generated header (--no-tree -f).

Place in the flow: called by dropin.py; returns report lines (each
checkpatch ERROR/WARNING/CHECK with its line), never fails the run: the
issue asks for the warnings to be listed with their reasons.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def checkpatch(tree: Path, header: Path, root: Path) -> list[str]:
    script = tree / "scripts" / "checkpatch.pl"
    rel = header.relative_to(root)
    if not script.is_file():
        return [f"checkpatch: {script} not found"]
    r = subprocess.run(["perl", str(script), "--no-tree", "--no-summary", "--terse",
                        "--show-types", "-f", str(header)],
                       capture_output=True, text=True, cwd=root)
    found = [line.replace(str(header), str(rel)) for line in r.stdout.splitlines()
             if re.search(r":\s*(ERROR|WARNING|CHECK):", line)]
    if not found:
        return [f"checkpatch: {rel}: clean"]
    return [f"checkpatch: {line}" for line in found]
