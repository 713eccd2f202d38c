"""`ptdl generate`: up to date, deterministic, atomic, and hand edits caught.

These run the real CLI on the project and on throw-away copies of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dsl.generate import common, writer
from dsl.project import load

ROOT = Path(__file__).resolve().parents[2]


def ptdl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dsl.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(ROOT / "archdefs", dest / "archdefs")
    shutil.copytree(ROOT / "generated", dest / "generated",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    return dest


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / "generated").rglob("*"))
            if p.is_file() and p.suffix in (".py", ".h")}


def test_committed_generated_tree_is_up_to_date() -> None:
    r = ptdl("generate", "--check")
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout


def test_generation_is_deterministic(copy: Path) -> None:
    before = tree(copy)
    assert ptdl("-C", str(copy), "generate", "-q").returncode == 0
    first = tree(copy)
    assert ptdl("-C", str(copy), "generate", "-q").returncode == 0
    assert tree(copy) == first
    assert first == before  # the committed tree is what the archdefs produce


@pytest.mark.parametrize("kind", ["runtime", "kernel", "tests"])
def test_hand_edit_of_any_generated_file_fails_check(copy: Path, kind: str) -> None:
    files = [p for p in tree(copy) if p.startswith(f"generated/{kind}/")
             and not p.endswith("__init__.py")]
    assert files, f"no generated/{kind} files"
    victim = copy / files[0]
    victim.write_text(victim.read_text() + "\n", encoding="utf-8")
    r = ptdl("-C", str(copy), "generate", "--check")
    assert r.returncode == 1
    assert files[0] in r.stderr


def test_header_checksum_detects_edit_that_keeps_layout(copy: Path) -> None:
    headers = [p for p in tree(copy) if p.endswith(".h")]
    assert headers, "no headers generated"
    h = copy / headers[0]
    text = h.read_text()
    assert common.verify_checksum(text)
    h.write_text(text.replace("static inline", "static  inline", 1))
    r = ptdl("-C", str(copy), "generate", "--check")
    assert r.returncode == 1
    assert "checksum does not match" in r.stderr


def test_failing_archdef_leaves_generated_untouched(copy: Path) -> None:
    before = tree(copy)
    (copy / "archdefs" / "x86.arch").write_text(
        (copy / "archdefs" / "x86.arch").read_text().replace("pfn  12..51 : pfn", "pfn 52..12 : pfn"))
    r = ptdl("-C", str(copy), "generate")
    assert r.returncode == 1
    assert "archdefs/x86.arch:" in r.stderr and "is reversed" in r.stderr
    assert "generated/ left as it was" in r.stderr
    assert tree(copy) == before
    assert not list((copy / "generated").rglob("*.tmp"))


def test_stale_files_of_a_removed_arch_are_reported_then_removed(copy: Path) -> None:
    (copy / "archdefs" / "s390.arch").unlink()
    r = ptdl("-C", str(copy), "generate", "--check")
    assert r.returncode == 1
    assert "generated/runtime/s390.py: stale" in r.stderr
    r = ptdl("-C", str(copy), "generate")
    assert r.returncode == 0
    assert "removed stale generated/runtime/s390.py" in r.stdout
    assert not (copy / "generated" / "runtime" / "s390.py").exists()


def test_checksum_helpers() -> None:
    body = "/* x */\nint a;\n"
    text = common.with_checksum(body)
    assert text.splitlines()[-1] == common.CHECKSUM_PREFIX + common.checksum(body)
    assert common.verify_checksum(text)
    assert not common.verify_checksum(text.replace("int a", "int b"))
    assert not common.verify_checksum(body)


def test_identifiers_are_guarded() -> None:
    assert common.ident("arm64_64k") == "arm64_64k"
    for bad in ("x; import os", "a-b", "", "1x", "a\nb"):
        with pytest.raises(ValueError):
            common.ident(bad)
    assert "*/" not in common.c_comment("evil */ code /* here")
    assert "\n" not in common.py_comment("line\nbreak")


def test_every_arch_renders_all_contract_paths() -> None:
    p = load(ROOT)
    assert p.ok
    outs = writer.render_all(p.archs, p.decl_files)
    paths = {o.path for o in outs}
    for name in p.archs:
        assert f"generated/runtime/{name}.py" in paths


def test_generated_modules_are_compiled() -> None:
    if os.environ.get("PTDL_INTERPRETED") == "1":
        pytest.skip("interpreted run requested")
    import importlib
    p = load(ROOT)
    for name in sorted(p.archs):
        mod = importlib.import_module(f"generated.runtime.{name}")
        assert mod.__file__ is not None and mod.__file__.endswith(".so"), mod.__file__
