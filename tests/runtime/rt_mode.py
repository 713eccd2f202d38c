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

# every module `ptdl build` compiles (runtime/*.py and runtime/families/*.py;
# package __init__ files stay interpreted), as dotted names under runtime.
RUNTIME_MODULES: tuple[str, ...] = tuple(sorted(
    os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "runtime"))[:-3].replace(os.sep, ".")
    for d in (os.path.join(ROOT, "runtime"), os.path.join(ROOT, "runtime", "families"))
    for f in os.listdir(d) if f.endswith(".py") and f != "__init__.py"))


def runtime_files() -> dict[str, str]:
    return {m: str(importlib.import_module("runtime." + m).__file__)
            for m in RUNTIME_MODULES}


