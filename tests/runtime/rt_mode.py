"""Which runtime the tests run: compiled (default) or interpreted.

A module of its own (not conftest.py) so tests can import it: several
test directories have a conftest.py, and `import conftest` would pick any.
"""

from __future__ import annotations

import importlib
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

INTERPRETED = os.environ.get("PTDL_INTERPRETED", "") == "1"
if INTERPRETED:
    import interp
    interp.install(ROOT)

RUNTIME_MODULES = ("arch", "cache", "kernel", "layout", "lazy", "memory", "mm",
                   "oracle", "pagetable", "ptcheck", "script", "tlb", "trace",
                   "violation")


def runtime_files() -> dict[str, str]:
    return {m: str(importlib.import_module("runtime." + m).__file__)
            for m in RUNTIME_MODULES}


