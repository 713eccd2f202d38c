"""`ptdl generate` writes all or nothing: a backend failing on some arch in
the middle of the run, or a write failing after others succeeded, leaves
generated/ byte for byte as it was, with no temp file behind and a clear
one-line error (no traceback)  (dsl/generate/writer.py write_all,
render_arch; dsl/generate/cli.py)."""

from __future__ import annotations

import contextlib
import errno
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from dsl.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / "generated").rglob("*")) if p.is_file()}


@pytest.fixture
def stale_copy(tmp_path: Path) -> Path:
    """A project copy in which every generated file is out of date (one
    line more), so that `generate` must rewrite all of them."""
    root = tmp_path / "proj"
    shutil.copytree(ROOT / "archdefs", root / "archdefs")
    shutil.copytree(ROOT / "generated", root / "generated",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    for p in (root / "generated").rglob("*"):
        if p.is_file() and p.suffix in (".py", ".h"):
            p.write_text(p.read_text(encoding="utf-8") + "# stale\n", encoding="utf-8")
    return root


def _generate(root: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--color", "never", "-C", str(root), "generate", "-j", "1"])
    return rc, out.getvalue(), err.getvalue()


def test_a_write_failing_midway_changes_nothing(stale_copy: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = _tree(stale_copy)
    real = tempfile.mkstemp
    calls: list[str] = []

    def failing(*args: Any, **kwargs: Any) -> tuple[int, str]:
        calls.append(str(kwargs.get("dir")))
        if len(calls) == 60:           # half-way through the 120 files
            raise OSError(errno.ENOSPC, "No space left on device", "generated/x")
        return real(*args, **kwargs)
    monkeypatch.setattr(tempfile, "mkstemp", failing)
    rc, out, err = _generate(stale_copy)
    assert len(calls) == 60
    assert rc == 1, err
    assert err == ("ptdl generate: error: cannot write generated/x: No space left on device\n"
                   "ptdl generate: nothing written; generated/ left as it was\n")
    assert _tree(stale_copy) == before, "files were written before the failure"


def test_a_backend_failing_on_a_later_arch_changes_nothing(
        stale_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dsl.generate import cheader
    before = _tree(stale_copy)
    real = cheader.render

    def broken(a: Any, source: str) -> str:
        if a.name == "sh":              # far down the arch list
            raise ZeroDivisionError("the header backend broke on sh")
        return real(a, source)
    monkeypatch.setattr(cheader, "render", broken)
    rc, out, err = _generate(stale_copy)
    assert rc == 1
    assert "backend 'kernel-header' (dsl.generate.cheader) failed on arch 'sh' at " in err
    assert "ZeroDivisionError: the header backend broke on sh\n" in err
    assert err.endswith("ptdl generate: nothing written or checked\n")
    assert "Traceback" not in err and out == ""
    assert _tree(stale_copy) == before


def test_directories_made_for_a_failed_write_are_removed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from dsl.generate import writer
    outs = [writer.Output("generated/a/one.py", "1\n"), writer.Output("generated/b/c/two.py", "2\n")]
    real = tempfile.mkstemp
    n = [0]

    def failing(*args: Any, **kwargs: Any) -> tuple[int, str]:
        n[0] += 1
        if n[0] == 2:
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)
    monkeypatch.setattr(tempfile, "mkstemp", failing)
    with pytest.raises(OSError):
        writer.write_all(tmp_path, outs)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(tempfile, "mkstemp", real)
    assert writer.write_all(tmp_path, outs) == ["generated/a/one.py", "generated/b/c/two.py"]
    assert writer.write_all(tmp_path, outs) == []
    assert (tmp_path / "generated/b/c/two.py").read_text() == "2\n"


def test_a_damaged_non_utf8_generated_file_is_rewritten(tmp_path: Path) -> None:
    from dsl.generate import writer
    dest = tmp_path / "generated" / "x.py"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"x = 1\n\xff\n")
    assert writer.write_all(tmp_path, [writer.Output("generated/x.py", "x = 1\n")]) == \
        ["generated/x.py"]
    assert dest.read_bytes() == b"x = 1\n"
