"""C-side test set-up: the project and this directory on sys.path, the
interpreted runtime when PTDL_INTERPRETED=1, and a skip without gcc.
Helpers live in c_util.py (not here: `conftest` names collide across test
directories).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
if os.environ.get("PTDL_INTERPRETED", "") == "1":
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "ptdl_c_interp", ROOT / "tests" / "runtime" / "interp.py")
    assert spec is not None and spec.loader is not None
    _interp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_interp)
    _interp.install(str(ROOT))


@pytest.fixture(scope="session", autouse=True)
def need_gcc() -> None:
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("gcc not available")
