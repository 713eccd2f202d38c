"""Every conformance check can fail: each broken archdef under
tests/fixtures/broken/ is generated into a temporary project copy, and the
conformance runner (and, end to end, `ptdl test`) must report the named
violation for it -- while the scenario passes on the correct parent arch.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "fixtures" / "broken"
PTDL = [sys.executable, "-m", "dsl.cli"]

# (broken arch, scenario, cpu features, violation that must be reported,
#  correct arch on which the same run is clean)
CASES = [
    ("arm64_no_icache_sync", "exec_direct_order4", (), "stale_insn", "arm64"),
    ("arm64_no_icache_sync", "exec_many_mms", ("hw_af",), "stale_insn", "arm64"),
    ("mips_deferred_flush_never_done", "read_direct_order2", ("dc_aliases",), "stale_data", "mips"),
    ("mips_deferred_flush_never_done", "pg_arch_1_life", ("dc_aliases",), "pg_arch_1_state", "mips"),
    ("s390_secure_per_folio", "pg_arch_1_secure_pages", (), "pg_arch_1_state", "s390"),
    ("mips_no_tlb_preload", "tlb_anon_pairs", (), "tlb_preload_missing", "mips"),
    ("riscvish_no_fence", "tlb_file_range_fence", (), "spurious_fault", "riscvish_fenced"),
    ("x86_mkdirty_no_dirty", "props_basic", (), "pte_property", "x86"),
    ("x86_late_page_table_check", "ptc_mixed_mappings", (), "page_table_check", "x86"),
    ("openrisc_dc_clean_without_sync", "read_direct_order2", (), "pg_arch_1_state", "openrisc"),
    ("openrisc_itlb_exec_everything", "props_basic", (), "pte_property", "openrisc"),
    ("openrisc_kernel_protection_map", "props_basic", (), "pte_property", "openrisc"),
]


def _ptdl(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ)
    e.update(env or {})
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([*PTDL, "-C", str(root), *args], capture_output=True, text=True,
                          env=e, timeout=600, cwd=str(root))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy: the real archdefs plus every broken fixture,
    generated (runtime modules, headers, conformance tests)."""
    root = tmp_path_factory.mktemp("broken-project")
    (root / "archdefs").mkdir()
    for f in sorted((ROOT / "archdefs").glob("*.arch")):
        shutil.copy(f, root / "archdefs" / f.name)
    for f in sorted(BROKEN.glob("*.arch")):
        shutil.copy(f, root / "archdefs" / f.name)
    (root / "runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    r = _ptdl(root, "generate", "-q")
    assert r.returncode == 0, r.stderr
    return root


def _load(root: Path, arch: str) -> Any:
    """The generated arch module, interpreted, under a private name."""
    path = root / "generated" / "runtime" / f"{arch}.py"
    name = f"ptdl_broken_{arch}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod.ARCH


def _run(root: Path, arch: str, scenario: str, cpu: tuple[str, ...]) -> Any:
    conf = importlib.import_module("runtime.conformance")
    return conf.run_named(_load(root, arch), cpu, scenario)


@pytest.mark.parametrize("broken,scenario,cpu,check,good", CASES,
                         ids=[f"{b}-{s}" for b, s, _, _, _ in CASES])
def test_broken_fixture_reports_named_violation(project: Path, broken: str, scenario: str,
                                                cpu: tuple[str, ...], check: str,
                                                good: str) -> None:
    bad = _run(project, broken, scenario, cpu)
    assert check in bad.checks(), (
        f"{broken} / {scenario}: expected a {check} violation, got {bad.checks()[:5]}")
    ok = _run(project, good, scenario, cpu)
    assert ok.ok, f"control {good} / {scenario}: {ok.first_violation()}"


def test_expected_events_catch_a_missing_sync(project: Path) -> None:
    """The generator's event expectation (from the correct arm64 archdef)
    differs from what the broken arch traces: no icache_sync."""
    from dsl.generate import expect
    from dsl.generate.ctests import Support
    from dsl.project import load
    a = load(ROOT).archs["arm64"]
    want = expect.summarize(expect.direct_events(a, frozenset(), 4, 1, 5))
    assert want["counts"]["icache_sync pfn=0x10000 nr=16"] == 1
    assert want["counts"]["pg_arch_1 set folio=0x10000"] == 1
    got = _run(project, "arm64_no_icache_sync", "exec_direct_order4", ())
    assert expect.summarize(got.trace()) != want
    assert "icache_sync pfn=0x10000 nr=16" in Support.diff_events(got.trace(), want)


def test_pte_expectations_catch_a_wrong_layout(project: Path) -> None:
    """The boundary PTE and prot values of one arch do not fit another's
    module: the literal checks are not vacuous."""
    from dsl.generate import expect
    from dsl.project import load
    a = load(ROOT).archs["arm64_64k"]
    arm64 = _load(project, "arm64")
    rows = expect.boundary_ptes(a)
    assert any(arm64.pfn_pte(p, expect.prot_table(a)[f]) != v for p, f, v in rows)


@pytest.mark.parametrize("broken,scenario,check", [
    ("x86_mkdirty_no_dirty", "props_basic", "pte_property"),
    ("arm64_no_icache_sync", "exec_direct_order4", "stale_insn"),
])
def test_ptdl_test_reports_it(project: Path, broken: str, scenario: str, check: str) -> None:
    """End to end: `ptdl -C copy test --arch A` fails and names the violation."""
    r = _ptdl(project, "test", "--arch", broken, "--", "-k", f"{scenario} and model",
              env={"PTDL_INTERPRETED": "1"})
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
    assert "ptdl test: conformance summary" in r.stdout
    table = r.stdout.split("ptdl test: conformance summary", 1)[1]
    assert broken in table and check in table, table


def _hand_written(name: str) -> Any:
    """A hand-written broken test arch of tests/runtime/archs.py (for
    breakages the checker refuses to generate, e.g. a wrong advance)."""
    sys.path.insert(0, str(ROOT / "tests" / "runtime"))
    try:
        archs = importlib.import_module("archs")
    finally:
        sys.path.pop(0)
    return getattr(archs, name)()


@pytest.mark.parametrize("scenario,check", [
    ("advance_boundaries", "pte_value"),
    ("equiv_small_folios", "set_ptes_equivalence"),
])
def test_wrong_advance_is_caught(scenario: str, check: str) -> None:
    """`ptdl check` rejects an unsafe advance, so a hand-written arch that
    advances two pages per entry stands in for one."""
    conf = importlib.import_module("runtime.conformance")
    r = conf.run_named(_hand_written("X86BadAdvance"), (), scenario)
    assert check in r.checks(), r.checks()[:5]
    assert conf.run_named(_hand_written("X86"), (), scenario).ok


def test_v66_prefault_inversion_is_caught(project: Path) -> None:
    """With v6.6.0's inverted prefault test, arm64 (hw_af) gets an old
    faulting PTE and young prefaulted ones."""
    conf = importlib.import_module("runtime.conformance")
    sc = conf.scenario_named("prefault_old_young")
    bug = conf.Scenario(sc.name, sc.family, sc.description, dict(sc.params, v66_prefault=True))
    arm64 = _load(project, "arm64")
    r = conf.run(arm64, frozenset({"hw_af"}), bug)
    assert {"prefault_young", "prefault_old"} <= set(r.checks()), r.checks()[:5]
    assert conf.run(arm64, frozenset({"hw_af"}), sc).ok
