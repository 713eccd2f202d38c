"""pytest fixtures for the front-end tests: `ptdl` runs the CLI in this
process (frontend_util.run_ptdl) from an empty temporary directory with
-C ROOT; every test here runs with the shipped-archdef parse memo
(frontend_util.shipped_parse_memo: each shipped archdef is parsed once per
process, every other text every time; the session fails if anything
changed a shared parse result)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from frontend_util import memo_changed, run_ptdl, shipped_parse_memo


@pytest.fixture(scope="session", autouse=True)
def _memo_left_unchanged() -> Iterator[None]:
    """Nothing changed a shared parse result (else this session is void)."""
    yield
    changed = memo_changed()
    assert changed == [], f"parsed archdefs changed after parsing: {changed}"


@pytest.fixture(autouse=True)
def _shipped_parse_memo(_memo_left_unchanged: None) -> Iterator[None]:
    with shipped_parse_memo():
        yield


@pytest.fixture
def ptdl(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ptdl(*args, cwd=tmp_path)
    return run
