"""The backend registry: every backend runs, and one that cannot be loaded
fails `ptdl generate` and `ptdl generate --check` loudly (no fallback that
quietly writes or checks fewer files)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from dsl.cli import main
from dsl.generate import backends, writer
from gen_util import project, rendered

ROOT = Path(__file__).resolve().parents[2]


def test_registry_lists_the_three_contract_paths() -> None:
    assert [b.output_path("x") for b in backends.BACKENDS] == [
        "generated/runtime/x.py",
        "generated/kernel/arch/x/include/asm/pgtable-range.h",
        "generated/tests/test_x_conformance.py",
    ]
    for b in backends.BACKENDS:
        assert callable(b.load())


def test_every_backend_renders_every_arch() -> None:
    p = project()
    paths = {o.path for o in rendered()}
    for name in p.archs:
        for b in backends.BACKENDS:
            assert b.output_path(name) in paths


def _break(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make `module` fail to import, as a syntax or import error would
    (a None entry in sys.modules makes `import` raise ImportError)."""
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize("module", [b.module for b in backends.BACKENDS])
def test_failing_backend_fails_generate_check(monkeypatch: pytest.MonkeyPatch, module: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _break(monkeypatch, module)
    with pytest.raises(backends.BackendError, match=module):
        writer.render_all(*_project())
    rc = main(["-C", str(ROOT), "generate", "--check"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert f"({module}) failed to load" in err
    assert "up to date" not in err


def test_failing_backend_writes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil
    shutil.copytree(ROOT / "archdefs", tmp_path / "archdefs")
    _break(monkeypatch, "dsl.generate.ctests")
    rc = main(["-C", str(tmp_path), "generate"])
    assert rc == 1
    assert "failed to load" in capsys.readouterr().err
    assert not (tmp_path / "generated").exists()


def test_backend_without_render_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dsl.generate.ctests", types.ModuleType("dsl.generate.ctests"))
    with pytest.raises(backends.BackendError, match="has no render"):
        writer.render_all(*_project())


def test_no_import_error_fallbacks_in_generators() -> None:
    for p in (ROOT / "dsl" / "generate").glob("*.py"):
        if p.name in ("report.py", "charness.py"):
            continue
        assert "except ImportError" not in p.read_text(encoding="utf-8"), p


def _project() -> tuple[dict, dict]:  # type: ignore[type-arg]
    p = project()
    return p.archs, p.decl_files
