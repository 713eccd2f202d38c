"""The `model_gap` kind (``params.model_gaps`` of a scenario), end to end
on a fixture project: a documented model gap that reproduces is an
expected failure "model gap: ..." that `ptdl test` lists apart from kernel
findings; one that no longer reproduces fails by name, as a stale finding
does; explore's classification calls both kinds apart.

The fixture project holds x86 and the broken x86_mkdirty_no_dirty
(tests/fixtures/broken/: props_basic reports pte_property) and a copy of
runtime/ whose pgtable_props.yaml documents the same props_basic
pte_property run as a model gap on both archs: real on the broken one,
stale on x86.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GAPS = """      model_gaps:
        - arch: x86_mkdirty_no_dirty
          check: pte_property
          why: >
            fixture gap that reproduces (tests/conformance/test_model_gaps.py)
        - arch: x86
          check: pte_property
          why: >
            fixture gap that no longer reproduces
"""


def _env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["PTDL_INTERPRETED"] = "1"
    return e


def _ptdl_test(root: Path, arch: str, *pytest_args: str) -> subprocess.CompletedProcess[str]:
    """`ptdl test --arch A -- ARGS` without its regenerate step (which would
    put back the real scenario files' model gaps): the same run_conformance."""
    code = ("import sys; from pathlib import Path; from dsl.generate.report import "
            "run_conformance; sys.exit(run_conformance(Path(sys.argv[1]), sys.argv[2], "
            "sys.argv[3:]))")
    return subprocess.run([sys.executable, "-c", code, str(root), arch, *pytest_args],
                          capture_output=True, text=True, env=_env(), timeout=600,
                          cwd=str(root))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x86 and the broken x86_mkdirty_no_dirty generated; their test
    modules rendered again with the model gaps of a scenario directory
    whose pgtable_props.yaml documents them."""
    from dsl.generate import ctests, expect
    from dsl.project import load
    root = tmp_path_factory.mktemp("model-gap-project")
    (root / "archdefs").mkdir()
    shutil.copy(ROOT / "archdefs" / "x86.arch", root / "archdefs" / "x86.arch")
    shutil.copy(ROOT / "tests" / "fixtures" / "broken" / "x86_mkdirty_no_dirty.arch",
                root / "archdefs" / "x86_mkdirty_no_dirty.arch")
    (root / "runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    from dsl.generate import writer
    p = load(root)
    assert p.ok
    for o in writer.render_all(p.archs, p.decl_files):   # what `ptdl generate` writes
        writer.write_atomic(root, o)
    scen = root / "scenarios"
    shutil.copytree(expect.SCENARIO_DIR, scen)
    text = (scen / "pgtable_props.yaml").read_text(encoding="utf-8")
    anchor = "      pfns: [1, 0x1234, 0x7ffff]\n"
    assert anchor in text
    (scen / "pgtable_props.yaml").write_text(text.replace(anchor, anchor + GAPS, 1),
                                             encoding="utf-8")
    mp = pytest.MonkeyPatch()
    real = expect.load_model_gaps
    mp.setattr(expect, "load_model_gaps", lambda arch, d=None: real(arch, scen))
    try:
        for name in ("x86", "x86_mkdirty_no_dirty"):
            out = root / "generated" / "tests" / f"test_{name}_conformance.py"
            old = out.read_text(encoding="utf-8")
            new = ctests.render(p.archs[name], _source(old))
            assert new != old
            out.write_text(new, encoding="utf-8")
    finally:
        mp.undo()
    return root


def _source(generated: str) -> str:
    """The archdef path a generated test module names (its docstring)."""
    line = next(ln for ln in generated.splitlines() if ln.startswith('"""Conformance tests for'))
    return line.split(", generated from ", 1)[1].rstrip(".")


def test_generated_module_spells_the_gaps_out(project: Path) -> None:
    text = (project / "generated" / "tests" /
            "test_x86_mkdirty_no_dirty_conformance.py").read_text(encoding="utf-8")
    gaps = text.split("MODEL_GAPS", 1)[1].split("}", 1)[0]
    assert "('props_basic', ()): ('pte_property'" in gaps
    findings = text.split("FINDINGS", 1)[1].split("}", 1)[0]
    assert "props_basic" not in findings


def test_reproducing_gap_is_an_expected_failure(project: Path) -> None:
    r = _ptdl_test(project, "x86_mkdirty_no_dirty", "-k", "test_scenario and props_basic", "-rx")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "XFAIL" in r.stdout and "model gap: fixture gap that reproduces" in r.stdout
    table = r.stdout.split("ptdl test: conformance summary", 1)[1]
    assert "model gaps (not kernel findings; params.model_gaps), 1 runs:" in table
    assert "x86_mkdirty_no_dirty: props_basic (cpu: nocpu): fixture gap" in table


def test_stale_gap_fails_by_name(project: Path) -> None:
    r = _ptdl_test(project, "x86", "-k", "test_scenario and props_basic")
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
    table = r.stdout.split("ptdl test: conformance summary", 1)[1]
    assert "props_basic" in table
    assert "model gap no longer reproduces" in r.stdout


def test_explore_classifies_documented_gaps_apart(project: Path) -> None:
    from dsl.explore import known
    docs = known.documented(str(project / "scenarios"))
    gap = docs[("x86_mkdirty_no_dirty", (), "pte_property")]
    assert known.is_model_gap(gap) and "fixture gap that reproduces" in gap
    real = known.documented()
    kinds = {known.is_model_gap(t) for k, t in real.items() if k[0] == "sparc64"}
    assert True in kinds            # the migrated sparc64 model gaps
    assert not any(known.is_model_gap(t) for k, t in real.items() if k[0] == "mips")
