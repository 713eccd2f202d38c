"""pytest fixtures for the front-end tests: `ptdl` runs the CLI in this
process (frontend_util.run_ptdl) from an empty temporary directory with
-C ROOT; every test here runs with the shipped-archdef parse memo
(frontend_util.shipped_parse_memo: each shipped archdef is parsed once per
process, every other text every time)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from frontend_util import run_ptdl, shipped_parse_memo


@pytest.fixture(autouse=True)
def _shipped_parse_memo() -> Iterator[None]:
    with shipped_parse_memo():
        yield


@pytest.fixture
def ptdl(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ptdl(*args, cwd=tmp_path)
    return run
