"""Issue 16, item 1: `ptdl test` never runs a stale generated/ or stale
compiled modules.  An edited archdef is regenerated (and, compiled, rebuilt)
before anything runs; `--no-build` runs as-is and says so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dsl import uptodate
from frontend_util import ROOT, ptdl_argv, run_ptdl

SUFFIXES = (".py", ".yaml", ".c", ".h", ".arch")


def _copy_project(dst: Path) -> Path:
    """archdefs/, runtime/ and generated/ sources (no .so: nothing compiled)."""
    for d in ("archdefs", "runtime", "generated"):
        for p in (ROOT / d).rglob("*"):
            if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts:
                q = dst / p.relative_to(ROOT)
                q.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, q)
    return dst


def _edit_x86(root: Path, old: str, new: str) -> None:
    p = root / "archdefs" / "x86.arch"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def _ptdl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ptdl test` in its own process: it runs pytest in-process on the
    copy's generated/ (imports that must not meet this session's)."""
    env = dict(os.environ, PTDL_INTERPRETED="1")
    return subprocess.run(ptdl_argv() + ["-C", str(root), *args], capture_output=True,
                          text=True, timeout=600, env=env)


def _ptdl_here(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The same in this process, for runs that stop before pytest starts."""
    return run_ptdl(*args, cwd=root, root=root, env={"PTDL_INTERPRETED": "1"})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _copy_project(tmp_path / "proj")


def test_edited_archdef_is_never_tested_stale(project: Path) -> None:
    gen = project / "generated" / "runtime" / "x86.py"
    before = gen.read_text(encoding="utf-8")
    _edit_x86(project, "phys_bits 52", "phys_bits 46")
    r = _ptdl(project, "test", "--arch", "x86", "--", "-k", "vm_get_page_prot or compiled")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ptdl test: regenerated generated/runtime/x86.py\n" in r.stdout
    assert "ptdl test: regenerated generated/tests/test_x86_conformance.py\n" in r.stdout
    assert "not compiled (PTDL_INTERPRETED=1" in r.stdout
    assert gen.read_text(encoding="utf-8") != before
    # what ran is exactly what the edited archdef generates
    c = _ptdl_here(project, "generate", "--check", "--arch", "x86")
    assert c.returncode == 0, c.stderr
    # the summary table shows the run
    assert "ptdl test: conformance summary" in r.stdout


def test_no_build_runs_as_is_and_says_so(project: Path) -> None:
    gen = project / "generated" / "runtime" / "x86.py"
    before = gen.read_text(encoding="utf-8")
    _edit_x86(project, "phys_bits 52", "phys_bits 46")
    r = _ptdl(project, "test", "--no-build", "--arch", "x86", "--", "-k", "compiled")
    assert r.stdout.startswith("ptdl test: --no-build: running generated/ and the compiled "
                               "modules as they are (they may be stale)\n"), r.stdout
    assert "regenerated" not in r.stdout
    assert gen.read_text(encoding="utf-8") == before


def test_archdef_errors_stop_the_run(project: Path) -> None:
    _edit_x86(project, "phys_bits 52", "phys_bits 52 pagee_shift 12")
    r = _ptdl_here(project, "test", "--arch", "x86")
    assert r.returncode == 1
    assert "archdefs/x86.arch:" in r.stderr and "did you mean 'page_shift'" in r.stderr
    assert "generated/ left as it was" in r.stderr
    assert "conformance summary" not in r.stdout


def test_regenerated_modules_are_rebuilt(project: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Compiled mode: after regenerating, the mypyc build runs (here a stub
    that records the call and writes the stamp, as the real one does)."""
    import dsl.build
    calls: list[Path] = []

    def fake_build(root: Path, force: bool = False, quiet: bool = False) -> int:
        calls.append(root)
        (root / dsl.build.STAMP).write_text("new")
        return 0

    monkeypatch.delenv("PTDL_INTERPRETED", raising=False)
    monkeypatch.setattr(dsl.build, "build", fake_build)
    _edit_x86(project, "phys_bits 52", "phys_bits 46")
    rep = uptodate.ensure_up_to_date(project, ["x86"])
    out = capsys.readouterr().out
    assert rep.ok and rep.rebuilt and calls == [project]
    assert "generated/runtime/x86.py" in rep.regenerated
    assert out.index("regenerated generated/runtime/x86.py") < out.index("rebuilt")
    assert out.rstrip().endswith("rebuilt the compiled modules")


def test_up_to_date_project_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """The worktree itself (as `make` left it): nothing to regenerate."""
    env_interp = os.environ.get("PTDL_INTERPRETED") == "1"
    rep = uptodate.ensure_up_to_date(ROOT, ["x86"])
    assert rep.ok and rep.regenerated == [] and not rep.rebuilt
    out = capsys.readouterr().out
    assert "generated/ up to date" in out
    if not env_interp:
        assert "compiled modules up to date" in out


def test_unknown_arch_is_usage_error(project: Path) -> None:
    r = _ptdl_here(project, "test", "--arch", "x68")
    assert r.returncode == 2
    assert "no arch 'x68' (did you mean 'x86'?)" in r.stderr
