"""dsl/diskcache.py evicts the least recently used entries: a hit marks
its entry used (its mtime, at most once per REFRESH_S), so entries that
several checkouts keep reading survive the writes of others."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dsl import diskcache


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PTDL_CACHE", str(d))
    monkeypatch.delenv("PTDL_NO_CACHE", raising=False)
    return d


def _age(p: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(p, (t, t))


def test_a_hit_marks_an_old_entry_used(_own_cache: Path) -> None:
    k = diskcache.key_of("code", "x")
    diskcache.put("t", k, b"v")
    p = _own_cache / "derived" / "t" / k
    _age(p, 2 * diskcache.REFRESH_S)
    assert diskcache.get("t", k) == b"v"
    assert time.time() - p.stat().st_mtime < 60
    _age(p, 10)                                   # recently marked: left alone
    before = p.stat().st_mtime
    assert diskcache.get("t", k) == b"v"
    assert p.stat().st_mtime == before


def test_eviction_keeps_the_entries_in_use(_own_cache: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diskcache, "MAX_ENTRIES", 10)
    d = _own_cache / "derived" / "t"
    live = [diskcache.key_of("code", f"live{i}") for i in range(3)]
    for k in live:
        diskcache.put("t", k, b"live")
        _age(d / k, 3 * diskcache.REFRESH_S)      # written long ago ...
    for i in range(7):
        k = diskcache.key_of("code", f"idle{i}")
        diskcache.put("t", k, b"idle")
        _age(d / k, 2 * diskcache.REFRESH_S)      # ... these more recently
    for k in live:
        assert diskcache.get("t", k) == b"live"   # ... but these are read
    diskcache.put("t", diskcache.key_of("code", "new"), b"new")    # 11 > 10: evict
    left = {p.name for p in d.iterdir()}
    assert len(left) == 5
    assert set(live) <= left, "entries in use were evicted before idle ones"
