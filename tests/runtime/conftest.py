"""Runtime test set-up: project root on sys.path, compiled-ness check.

By default the tests must run the mypyc-compiled ``runtime`` (each
``runtime.<mod>.__file__`` ends with ``.so``).  ``PTDL_INTERPRETED=1``
loads the ``.py`` sources instead (tests/runtime/interp.py) and asserts
that they are interpreted.
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from rt_mode import INTERPRETED, RUNTIME_MODULES, runtime_files  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def runtime_build_kind() -> str:
    files = runtime_files()
    if INTERPRETED:
        bad = {m: f for m, f in files.items() if not f.endswith(".py")}
        assert not bad, "PTDL_INTERPRETED=1 but compiled modules loaded: %r" % bad
        return "interpreted"
    bad = {m: f for m, f in files.items() if not f.endswith(".so")}
    assert not bad, ("runtime not compiled (run `.venv/bin/mypyc runtime/*.py`"
                     " or set PTDL_INTERPRETED=1): %r" % bad)
    return "compiled"
