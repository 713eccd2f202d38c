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
    ("xtensa_flag_never_cleared", "pg_arch_1_life", (), "stale_insn", "xtensa"),
    ("vivtish_head_only", "alias_write_mapped_folio", (), "stale_data", "vivtish"),
    ("viptish_current_only", "alias_write_mapped_folio", (), "stale_data", "viptish"),
    ("vivtish_no_flush_cache_range", "cache_munmap_shared_written", (), "user_line_after_unmap",
     "vivtish"),
    ("vivtish_no_flush_cache_range", "cache_munmap_shared_written", (), "stale_data", "vivtish"),
    ("vivtish_no_flush_cache_page", "cache_cow_private", (), "user_line_after_unmap", "vivtish"),
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


def _x86_bad_advance(root: Path) -> Any:
    """The generated x86 with one breakage the checker refuses to generate
    (an unsafe advance): two pages per entry."""
    base: Any = type(_load(root, "x86"))

    class X86BadAdvance(base):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.name = "x86_bad_advance"

        def pte_advance(self, pte: int, pages: int) -> int:
            return int(pte + (pages << 13))
    return X86BadAdvance()


@pytest.mark.parametrize("scenario,check", [
    ("advance_boundaries", "pte_value"),
    ("equiv_small_folios", "set_ptes_equivalence"),
])
def test_wrong_advance_is_caught(project: Path, scenario: str, check: str) -> None:
    """`ptdl check` rejects an unsafe advance, so the generated x86 with
    pte_advance stepping two pages per entry stands in for one."""
    conf = importlib.import_module("runtime.conformance")
    r = conf.run_named(_x86_bad_advance(project), (), scenario)
    assert check in r.checks(), r.checks()[:5]
    assert conf.run_named(_load(project, "x86"), (), scenario).ok


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


def _um_612_set_ptes(project: Path) -> Any:
    """um as Linux 6.12 shipped it: arch/um/include/asm/pgtable.h (Debian
    linux-source-6.12, 6.12.117) overrides set_ptes with a loop that, after
    `--nr`, steps the entry by `nr << PFN_PTE_SHIFT` -- the number of
    entries still to go -- instead of by one page.  The language has no
    such advance (and ptdl check would refuse it), so this hand-written
    subclass of the generated um module stands in for the broken archdef.
    Compiled against the real 6.12 headers, set_ptes(pfn 0x10000, nr 4)
    stores pfns 0x10000, 0x10003, 0x10005, 0x10006."""
    um = _load(project, "um")

    class Um612(type(um)):  # type: ignore[misc]
        def set_ptes(self, k: Any, mm: Any, addr: int, ptep: Any, pte: int,
                     nr: int) -> None:
            i = 0
            while True:
                k.set_pte(ptep.offset(i), pte)
                nr -= 1
                if nr == 0:
                    break
                i += 1
                pte = (pte + (nr << 12)) & 0xffffffffffffffff

    return Um612()


@pytest.mark.parametrize("scenario,check", [
    ("advance_largest_folio", "pte_value"),
    ("equiv_small_folios", "set_ptes_equivalence"),
])
def test_um_612_set_ptes_advances_by_remaining_count(project: Path, scenario: str,
                                                     check: str) -> None:
    """The 6.12 um set_ptes maps the wrong pages for nr >= 3; the 6.6
    (generic) loop the um archdef describes is clean on the same runs."""
    conf = importlib.import_module("runtime.conformance")
    bad = conf.run_named(_um_612_set_ptes(project), (), scenario)
    assert check in bad.checks(), bad.checks()[:5]
    assert conf.run_named(_load(project, "um"), (), scenario).ok


def _prot_none_read(arch: Any) -> int:
    """Map one file page readable, read it, then do what mprotect(PROT_NONE)
    does to a populated range (mm/mprotect.c change_pte_range: the entry
    stays, re-encoded with PAGE_NONE by pte_modify; the TLB entry is
    flushed; the VMA loses VM_READ) and read again.  Returns what the
    second read sees (-1: SIGSEGV)."""
    from runtime.arch import VM_READ
    from runtime.kernel import Kernel
    k = Kernel(arch, frozenset())
    mm = k.new_mm()
    f = k.new_file("guard")
    k.add_to_page_cache(f, 0, 0)
    base = 0x400000
    vma = k.mmap(mm, base, k.page_size, VM_READ, f, 0)
    assert k.user_read(mm, base) >= 0
    ptep = k.pte_ref(mm, base)
    assert ptep is not None
    pte = k.pte_at(mm, base)
    vma.flags = 0
    vma.page_prot = arch.vm_get_page_prot(0)
    k.set_pte_at(mm, base, ptep, arch.pfn_pte(arch.pte_pfn(pte), vma.page_prot))
    k.tlb_flush_page(mm, base)
    return int(k.user_read(mm, base))


def test_sun3_prot_none_stays_readable(project: Path) -> None:
    """Finding (archdefs/m68k.arch): on the Sun-3 PAGE_NONE is VALID |
    ACCESSED | NOCACHE, equal to PAGE_READONLY, and mmu_emu_handle_fault()
    loads any VALID entry before do_page_fault() looks at the VMA, so a
    populated page mprotect()ed to PROT_NONE stays readable.  The model
    (a refill that loads present entries, as mmu_emu does) reproduces it;
    on um and x86, whose PAGE_NONE is not user-accessible, the same read
    faults."""
    assert _prot_none_read(_load(project, "m68k_sun3")) >= 0
    assert _prot_none_read(_load(project, "um")) == -1
    assert _prot_none_read(_load(project, "x86")) == -1


def _coldfire(private_writable: bool) -> Any:
    """A hand-written ColdFire (V4e MMU, 8 KiB pages) model: the layout of
    arch/m68k/include/asm/mcf_pgtable.h and the protection_map of
    arch/m68k/mm/mcfmmu.c (6.1.192 = 6.12.117; values measured on the 6.12
    headers, /work/notes/arch-m68k.md).  Its protections cannot be written
    in the archdef language yet (READABLE follows VM_READ alone, WRITABLE
    goes to private writable entries), hence a runtime subclass.
    `private_writable=True` is what the kernel ships; False drops
    CF_PAGE_WRITABLE from the four private writable entries (the fix)."""
    from runtime.arch import Arch, Field
    valid, acc, rd, wr, ex, sh = 0x400, 0x1000, 0x10, 0x8, 0x4, 0x800
    w = wr if private_writable else 0
    table = [valid | acc, valid | acc | rd, valid | acc | w, valid | acc | rd | w,
             valid | acc | ex, valid | acc | rd | ex, valid | acc | w | ex,
             valid | acc | rd | w | ex,
             valid | acc, valid | acc | rd, valid | acc | sh, valid | acc | rd | sh,
             valid | acc | ex, valid | acc | rd | ex, valid | acc | sh | ex,
             valid | acc | rd | sh | ex]

    class ColdFire(Arch):
        def __init__(self) -> None:
            super().__init__(
                "m68k_coldfire" if private_writable else "m68k_coldfire_fixed",
                32, 13, 512, 32, 13, 9,
                (Field("dirty", 0, 0, "dirty"), Field("locked", 1, 1, ""),
                 Field("exec", 2, 2, "exec"), Field("writable", 3, 3, "write"),
                 Field("readable", 4, 4, "read"), Field("system", 5, 5, "user", inverted=True),
                 Field("cmode", 6, 7, "cache"), Field("valid", 10, 10, "present"),
                 Field("shared", 11, 11, ""), Field("accessed", 12, 12, "young"),
                 Field("pfn", 13, 31, "pfn")),
                supports_page_table_check=False)

        def vm_get_page_prot(self, vm_flags: int) -> int:
            return table[vm_flags & 15]

    return ColdFire()


@pytest.mark.parametrize("shipped", [True, False], ids=["shipped", "fixed"])
def test_coldfire_private_write_bypasses_cow(shipped: bool) -> None:
    """Finding (/work/notes/arch-m68k.md): a read fault in a MAP_PRIVATE
    PROT_READ|PROT_WRITE file mapping maps the fault-around neighbours with
    vma->vm_page_prot (mm/memory.c set_pte_range), which on ColdFire
    carries CF_PAGE_WRITABLE; the first access to a neighbour being a
    store, cf_tlb_miss() finds pte_write() true and maps the page-cache
    page writable (its write-protect-if-clean only runs on entries it
    loads, and it loads this one for the store).  The store lands in the
    file's page cache: no COW.  With the private entries read-only, the
    same store takes do_wp_page() and gets a private copy."""
    from runtime.arch import VM_READ, VM_WRITE
    from runtime.kernel import Kernel
    k = Kernel(_coldfire(shipped), frozenset())
    ps = k.page_size
    mm = k.new_mm()
    f = k.new_file("readonly-file")
    folios = [k.add_to_page_cache(f, i, 0) for i in range(8)]
    base = 0x400000
    k.mmap(mm, base, 8 * ps, VM_READ | VM_WRITE, f, 0)      # MAP_PRIVATE
    assert k.user_read(mm, base) >= 0                        # fault-around maps 0..7
    neighbour = folios[3]
    before = neighbour.latest[0]
    assert k.arch.pte_pfn(k.pte_at(mm, base + 3 * ps)) == neighbour.pfn
    k.user_write(mm, base + 3 * ps)
    mapped = k.arch.pte_pfn(k.pte_at(mm, base + 3 * ps))
    if shipped:
        assert mapped == neighbour.pfn and neighbour.latest[0] != before, \
            "the private store should have hit the page-cache folio"
    else:
        assert mapped != neighbour.pfn and neighbour.latest[0] == before, \
            "COW should have given the store a private page"
