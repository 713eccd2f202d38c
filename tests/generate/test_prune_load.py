"""dsl/generate/prune.load reads the pruning data once per process (`ptdl
generate` asks once per arch) and again only when the file changes; a
caller's changes to what it got never reach the next caller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsl.generate import prune


def _write(root: Path, archs: dict[str, Any]) -> None:
    p = root / prune.PRUNING_FILE
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"rule": prune.RULE, "archs": archs}), encoding="utf-8")


def test_read_once_then_again_after_an_edit(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = json.loads

    def counting(text: str) -> Any:
        reads.append(text)
        return real(text)
    monkeypatch.setattr(json, "loads", counting)
    _write(tmp_path, {"x86": {"key": "k1", "scenarios": {}}})
    first = prune.load(tmp_path)
    assert prune.load(tmp_path) == first == {"x86": {"key": "k1", "scenarios": {}}}
    assert len(reads) == 1, "the second load must not read the file again"
    first["arm"] = {}                      # the caller's copy only
    assert "arm" not in prune.load(tmp_path)
    _write(tmp_path, {"x86": {"key": "k22", "scenarios": {}}})     # another size
    assert prune.load(tmp_path)["x86"]["key"] == "k22" and len(reads) == 2
    (tmp_path / prune.PRUNING_FILE).unlink()
    assert prune.load(tmp_path) == {}


def test_shipped_data_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    got = prune.load(root)
    assert got and all(isinstance(v, dict) and "key" in v for v in got.values())
