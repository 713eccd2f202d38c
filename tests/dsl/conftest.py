"""pytest fixtures for the front-end tests: `ptdl` runs the real console
script from an empty temporary directory with -C ROOT."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from frontend_util import run_ptdl


@pytest.fixture
def ptdl(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ptdl(*args, cwd=tmp_path)
    return run
