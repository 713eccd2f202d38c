"""tests/explore set-up: project root on sys.path; with PTDL_INTERPRETED=1
the runtime and generated modules load from their .py sources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("PTDL_INTERPRETED") == "1":
    from dsl.generate.suite import install_interpreted
    install_interpreted(ROOT)
