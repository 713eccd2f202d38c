"""The runtime under test is the compiled one (unless PTDL_INTERPRETED=1)."""

from __future__ import annotations

import rt_mode as conftest


def test_build_kind_matches_env(runtime_build_kind: str) -> None:
    files = conftest.runtime_files()
    suffix = ".py" if conftest.INTERPRETED else ".so"
    assert all(f.endswith(suffix) for f in files.values()), files
    assert runtime_build_kind == ("interpreted" if conftest.INTERPRETED else "compiled")
