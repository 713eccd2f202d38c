"""`ptdl explore`: the search is deterministic, shrinks to small sequences,
is green on every landed archdef (known findings and model gaps aside),
and finds the named violation of broken fixtures without being told the
scenario -- and the written scenario reproduces it while the correct
parent arch passes it."""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dsl.explore import known, scenario
from dsl.explore.search import Explorer, run_steps
from dsl.explore.shrink import Shrinker
from dsl.explore.world import Step
from runtime.conformance import cpu_combinations
from tests.ptdl_runner import run_ptdl_checked

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "fixtures" / "broken"
PTDL = [sys.executable, "-m", "dsl.cli"]


def _root_archs() -> list[str]:
    """Every landed arch that extends no other (a file may hold several)."""
    from dsl.project import load
    p = load(ROOT)
    return sorted(n for n, a in p.archs.items() if a.parent is None)


LANDED = _root_archs()
DOCS = known.documented()

# broken fixture, the violation it must produce, its correct parent, runs
# (sequences; fixed, so the test is deterministic)
BROKEN_CASES = [
    ("x86_mkdirty_no_dirty", "pte_property", "x86", 30),
    ("x86_late_page_table_check", "page_table_check", "x86", 30),
    ("mips_no_tlb_preload", "tlb_preload_missing", "mips", 30),
    ("riscvish_no_fence", "spurious_fault", "riscvish_fenced", 30),
    ("arm64_no_icache_sync", "stale_insn", "arm64", 120),
    # no named scenario reuses a freed pfn for new code: explored (sequence 196)
    ("microblaze_no_icache_inval", "stale_insn", "microblaze", 200),
]


def _classify(w: Any, v: Any) -> str:
    return known.classify(w, v, DOCS)


def _cpus(arch: Any) -> list[frozenset[str]]:
    return [frozenset(c) for c in cpu_combinations(arch.cpu_features)]


def _arch(name: str) -> Any:
    return importlib.import_module("generated.runtime." + name).ARCH


# ---------------------------------------------------------------------------
# Pieces


def test_step_text_round_trips() -> None:
    s = Step("mmap", {"mm": 1, "slot": 2, "flags": 0})
    assert s.text() == "mmap mm=1 slot=2 flags=0"
    assert Step.parse(s.text()) == s
    for bad in ("", "mmap mm", "mmap mm=x"):
        with pytest.raises(ValueError):
            Step.parse(bad)


def test_shrinker_finds_the_minimal_pair() -> None:
    """ddmin + one-by-one removal: a failure needing 'b' before 'd' in a
    20-step sequence shrinks to exactly those two steps."""
    steps = [Step(c, {"i": i}) for i, c in enumerate("abcdefghijklmnopqrst")]

    def fails(seq: list[Step], colour: int) -> bool:
        ops = [s.op for s in seq]
        return "b" in ops and "d" in ops and ops.index("b") < ops.index("d")

    out, col = Shrinker(fails).shrink(steps, 3)
    assert [s.op for s in out] == ["b", "d"]
    assert all(s.args == {"i": 0} for s in out)      # arguments shrink too
    assert col == 0


def test_search_is_deterministic() -> None:
    a = _arch("mips")
    runs = []
    for _ in range(2):
        ex = Explorer(a, _cpus(a), seed=7, runs=25, out=io.StringIO(), known=_classify)
        fs = ex.explore()
        runs.append(([(f.check, f.cpu, [s.text() for s in f.steps]) for f in fs],
                     ex.stats.steps, sorted(ex.stats.coverage.items())))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", LANDED)
def test_landed_arch_is_green(name: str) -> None:
    """A fixed number of sequences on every landed archdef: every distinct
    violation is a documented finding or a named model gap."""
    a = _arch(name)
    out = io.StringIO()
    ex = Explorer(a, _cpus(a), seed=0, runs=60, out=out, known=_classify)
    new = [f for f in ex.explore() if not f.known]
    assert not new, "\n".join("%s %s: %s %s" % (f.check, f.cpu, f.violation.where,
                                                [s.text() for s in f.steps]) for f in new)
    assert ex.stats.sequences == 60
    assert "coverage" in out.getvalue()
    assert ex.stats.cells() >= 10                 # actions reach the arch calls


# ---------------------------------------------------------------------------
# Broken fixtures


# the archs the project copy below is generated for: the broken fixtures,
# their correct parents, and the arch the CLI test runs clean
NEEDED = sorted({c[0] for c in BROKEN_CASES} | {c[2] for c in BROKEN_CASES} | {"x86"})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy: the real archdefs plus every broken fixture, all
    checked, and generated/ written for the archs the tests run (NEEDED):
    their runtime modules and kernel headers, by the backends and writer
    `ptdl generate` uses (dsl/generate/backends.py, writer.py)."""
    root = tmp_path_factory.mktemp("explore-project")
    (root / "archdefs").mkdir()
    for f in sorted((ROOT / "archdefs").glob("*.arch")) + sorted(BROKEN.glob("*.arch")):
        shutil.copy(f, root / "archdefs" / f.name)
    (root / "runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    from dsl.generate import backends, common, writer
    from dsl.project import load
    p = load(root)
    assert p.ok, [str(d) for d in p.diags]
    for name in NEEDED:             # writer.render_arch's files but the conformance tests
        for b in backends.BACKENDS:
            if b.name == "conformance-tests":
                continue
            text = b.load()(p.archs[name], p.decl_files[name])
            if b.checksummed:
                text = common.with_checksum(text)
            writer.write_atomic(root, writer.Output(b.output_path(name), text, b.checksummed))
    return root


def _ptdl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `ptdl` process."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([*PTDL, "-C", str(root), *args], capture_output=True, text=True,
                          env=e, timeout=600, cwd=str(root))


def _ptdl_in(root: Path, *args: str) -> tuple[int, str, str]:
    """`ptdl -C root ARGS` in this process by the shared runner
    (tests/ptdl_runner.py: no colour, no traceback): status, stdout, stderr."""
    return run_ptdl_checked(*args, cwd=root, root=root)


def _load(root: Path, arch: str) -> Any:
    path = root / "generated" / "runtime" / f"{arch}.py"
    name = f"ptdl_explore_test_{arch}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod.ARCH


@pytest.mark.parametrize("broken,check,good,runs", BROKEN_CASES,
                         ids=[c[0] for c in BROKEN_CASES])
def test_finds_broken_fixture(project: Path, tmp_path: Path, broken: str, check: str,
                              good: str, runs: int) -> None:
    bad = _load(project, broken)
    ex = Explorer(bad, _cpus(bad), seed=0, runs=runs, out=io.StringIO(), known=_classify)
    hits = [f for f in ex.explore() if f.check == check and not f.known]
    assert hits, f"{broken}: no {check} in {runs} sequences"
    f = hits[0]
    assert len(f.steps) <= 8, [s.text() for s in f.steps]
    # written out, read back, run by the family runner: same violation
    path = scenario.write(f, str(tmp_path), bad)
    assert Path(path.replace(".yaml", ".trace")).exists()
    assert Path(path.replace(".yaml", ".script")).read_text().startswith("ptdl-script 1")
    (sc,) = scenario.load(path)
    assert sc.family == "explored" and sc.description
    r = scenario.run_family(bad, frozenset(f.cpu), sc)
    assert check in r.checks()
    # the control: the correct parent runs the same steps cleanly
    ok = run_steps(_load(project, good), frozenset(f.cpu), f.colour, f.steps)
    assert not ok.violations, ok.violations


def test_cli_search_and_replay(project: Path, tmp_path: Path) -> None:
    """End to end in the project copy (the shared in-process runner):
    progress on stderr, a report and a summary, exit 1 on a broken arch,
    0 on its parent; --replay reruns the written scenario (exit 1) and the
    C header replays the same calls."""
    out = tmp_path / "out"
    rc, stdout, stderr = _ptdl_in(project, "explore", "--arch", "x86_mkdirty_no_dirty",
                                  "--runs", "10", "--out", str(out))
    assert rc == 1, stdout + stderr
    assert "explore x86_mkdirty_no_dirty:" in stderr and "coverage" in stderr
    assert "NEW      pte_property" in stdout
    summary = json.loads((out / "explore-summary.json").read_text())
    (f,) = [x for x in summary["findings"] if x["check"] == "pte_property"]
    assert f["c_replay"].startswith("C trace equal") or f["c_replay"].startswith("skipped")
    rc, stdout, stderr = _ptdl_in(project, "explore", "--replay",
                                  str(project / f["scenario"])
                                  if not os.path.isabs(f["scenario"]) else f["scenario"])
    assert rc == 1, stdout + stderr
    assert "VIOLATION pte_property" in stdout
    rc, stdout, stderr = _ptdl_in(project, "explore", "--arch", "x86", "--runs", "10",
                                  "--out", str(out))
    assert rc == 0, stdout + stderr


USAGE_ERRORS = [
    ["--arch", "nope"], ["--arch", "x86", "--cpu", "bogus"], ["--runs", "0"],
    ["--budget", "1", "--runs", "3"], ["--replay", "/nonexistent.yaml"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS)
def test_cli_usage_errors(args: list[str]) -> None:
    """Exit 2 with a message, no traceback (the shared runner turns an
    argparse exit into its status and fails on a traceback)."""
    rc, stdout, stderr = _ptdl_in(ROOT, "explore", *args)
    assert rc == 2, stdout + stderr
    assert "error" in stderr and "Traceback" not in stderr


def test_cli_usage_error_from_the_process() -> None:
    """The same exit status from the real process (one case: a usage
    error found after the arguments parse)."""
    r = _ptdl(ROOT, "explore", "--runs", "0")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ptdl explore: error: --runs must be at least 1" in r.stderr
    assert "Traceback" not in r.stderr


FINDINGS_DIR = Path(__file__).resolve().parent / "findings"


@pytest.mark.parametrize("path", sorted(FINDINGS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_documented_findings_reproduce(path: Path) -> None:
    """The explored scenarios behind the documented mips findings: they
    reproduce their check on mips (classified as known), and every other
    landed arch runs them cleanly under every CPU combination."""
    (sc,) = scenario.load(str(path))
    found = scenario.found(sc)
    mips = _arch(str(found["arch"]))
    cpu = sc.params["cpu"]
    assert isinstance(cpu, list)
    o = scenario.run_scenario(mips, frozenset(str(c) for c in cpu), sc)
    assert [v.check for v in o.violations][:1] == [found["check"]]
    assert known.classify(o.world, o.violations[0], DOCS)
    for name in LANDED:
        if name == found["arch"]:
            continue
        a = _arch(name)
        for cpu in _cpus(a):
            r = scenario.run_family(a, cpu, sc)
            if not r.ok:
                # another arch's own documented finding (e.g. sh flushes the
                # kernel colour only, as mips does) is not a regression
                o2 = scenario.run_scenario(a, cpu, sc)
                assert o2.violations and known.classify(o2.world, o2.violations[0], DOCS), \
                    (name, cpu, r.first_violation())
