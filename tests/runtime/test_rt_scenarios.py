"""One scenario per cache / TLB kind: the oracle reports the violation when
a required flush is left out and passes when it is done."""

from __future__ import annotations

from runtime.arch import Arch, VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel
from runtime.memory import Folio, Mapping
from runtime.mm import Mm, Vma, Vmf
from runtime.oracle import Violation, check_all
from runtime.pagetable import PteRef

from fixture_archs import fixture, fixture_class, generated, generated_class

BASE = 0x400000


# Breakages the archdef language cannot express (one page of a folio
# singled out, a per-page flag on a per-folio arch or the reverse -- the
# checker refuses both --, the kmap_local_folio byte-offset bug): the
# generated arch with one step changed in front of its own set_ptes, which
# then finds PG_arch_1 already settled.

def arm64_sync_one_page() -> Arch:
    """Syncs only the page being mapped, yet marks the folio clean."""
    class Arm64SyncOnePage(generated_class("arm64")):  # type: ignore[misc]
        def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                     nr: int) -> None:
            if self.pte_present(pte) and self.pte_exec(pte) and not self.pte_special(pte):
                folio = k.pfn_folio(self.pte_pfn(pte))
                if not k.folio_test_arch1(folio):
                    k.icache_sync(self.pte_pfn(pte), 1)
                    k.folio_set_arch1(folio)
            super().set_ptes(k, mm, addr, ptep, pte, nr)
    return Arm64SyncOnePage()


def arm64_tail_flag() -> Arch:
    """Keeps PG_dcache_clean on each page it maps (tail pages too)."""
    class Arm64TailFlag(generated_class("arm64")):  # type: ignore[misc]
        def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                     nr: int) -> None:
            if self.pte_present(pte) and self.pte_exec(pte) and not self.pte_special(pte):
                for i in range(nr):
                    page = k.pfn_page(self.pte_pfn(pte) + i)
                    if not k.page_test_arch1(page):
                        k.icache_sync(page.pfn, 1)
                        k.page_set_arch1(page)
            super().set_ptes(k, mm, addr, ptep, pte, nr)
    return Arm64TailFlag()


def mips_kmap_bytes() -> Arch:
    """The 6.6 __update_cache text: kmap_local_folio(folio, i) takes a BYTE
    offset, so every iteration flushes page 0 (archdefs/mips.arch)."""
    class MipsKmapBytes(generated_class("mips")):  # type: ignore[misc]
        def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                     nr: int) -> None:
            pfn = self.pte_pfn(pte)
            if self.pte_present(pte) and any(
                    not (self.pte_present(k.read_pte(ptep.offset(i)))
                         and self.pte_pfn(k.read_pte(ptep.offset(i))) == pfn)
                    for i in range(nr)):
                folio = k.pfn_folio(pfn)
                if k.folio_test_arch1(folio):
                    for j in range(folio.nr_pages):
                        p = folio.pfn + j
                        if (self.pte_exec(pte) and not k.cpu_has("ic_fills_f_dc")) or \
                                k.pages_do_alias(k.kaddr(p), addr + (p - pfn) * 4096):
                            k.dcache_flush(folio.pfn, 1)          # page 0, every time
                    k.folio_clear_arch1(folio)
            super().set_ptes(k, mm, addr, ptep, pte, nr)
    return MipsKmapBytes()


def riscvish_fence_first() -> Arch:
    """Fences only the first page of the range."""
    class RiscvFenceFirst(fixture_class("riscvish")):  # type: ignore[misc]
        def update_mmu_cache_range(self, k: Kernel, vmf: Vmf | None, vma: Vma,
                                   addr: int, ptep: PteRef, nr: int) -> None:
            k.tlb_flush_page(vma.mm, addr)
    return RiscvFenceFirst()


def s390_folio_flag() -> Arch:
    """Treats 'secure' as a per-folio flag: tests and clears it on the folio
    before mapping into a KVM mm."""
    class S390FolioFlag(generated_class("s390")):  # type: ignore[misc]
        def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                     nr: int) -> None:
            if mm.has_pgste:
                folio: Folio = k.pfn_folio(self.pte_pfn(pte))
                if k.folio_test_arch1(folio):
                    k.folio_clear_arch1(folio)
            super().set_ptes(k, mm, addr, ptep, pte, nr)
    return S390FolioFlag()


def file_mm(arch: Arch, orders: list[int], flags: int, cpu: frozenset[str] | None = None,
            pgste: bool = False) -> tuple[Kernel, Mm, Mapping]:
    k = Kernel(arch, cpu)
    mm = k.new_mm(pgste)
    f = k.new_file()
    idx = 0
    for o in orders:
        k.add_to_page_cache(f, idx, o)          # kernel copies data in, then flush_dcache_folio
        idx += 1 << o
    k.mmap(mm, BASE, idx * 4096, flags, f)
    return k, mm, f


def checks(v: list[Violation]) -> list[str]:
    return [x.check for x in v]


# --- I-cache needs sync (arm64-like) -------------------------------------

def test_arm64_exec_correct() -> None:
    k, mm, _ = file_mm(generated("arm64"), [4], VM_READ | VM_EXEC, frozenset({"hw_af"}))
    for i in range(16):
        assert k.user_exec(mm, BASE + i * 4096) == i + 1
    assert check_all(k) == []
    assert k.trace.lines.count("icache_sync pfn=0x1000 nr=16") == 1
    assert k.pfn_folio(0x1000).arch1


def test_arm64_missing_sync_stale_insn() -> None:
    k, mm, _ = file_mm(fixture("arm64_no_icache_sync"), [4], VM_READ | VM_EXEC)
    k.user_exec(mm, BASE + 0x3000)
    v = check_all(k)
    assert checks(v)[0] == "stale_insn"
    assert (v[0].where, v[0].expected, v[0].seen) == (
        "mm=1 addr=0x403000 pfn=0x1003", "version 4", "version 0")
    assert "pg_arch_1_state" in checks(v)


def test_arm64_sync_one_page_stale_tail() -> None:
    k, mm, _ = file_mm(arm64_sync_one_page(), [4], VM_READ | VM_EXEC)
    assert k.user_exec(mm, BASE) == 1               # head was synced
    k.user_exec(mm, BASE + 0x5000)
    stale = [x for x in check_all(k) if x.check == "stale_insn"]
    assert [(x.addr, x.pfn) for x in stale] == [(0x405000, 0x1005)]


def test_arm64_rewrite_clears_flag_and_resyncs() -> None:
    k, mm, f = file_mm(generated("arm64"), [0], VM_READ | VM_EXEC)
    k.user_exec(mm, BASE)
    v2 = k.file_write(f, 0)                       # flush_dcache_folio clears PG_dcache_clean
    assert not k.pfn_folio(0x1000).arch1
    mm2 = k.new_mm()
    k.mmap(mm2, BASE, 4096, VM_READ | VM_EXEC, f)
    assert k.user_exec(mm2, BASE) == v2           # set_ptes synced again
    assert check_all(k) == []


def test_arm64_tail_flag_is_granularity_violation() -> None:
    k, mm, _ = file_mm(arm64_tail_flag(), [2], VM_READ | VM_EXEC)
    k.user_exec(mm, BASE)
    g = [x for x in check_all(k) if x.check == "pg_arch_1_granularity"]
    assert [x.where for x in g] == ["page=0x1001", "page=0x1001", "page=0x1002",
                                    "page=0x1002", "page=0x1003", "page=0x1003"]


def test_arm64_prefault_old_fixed_vs_v66() -> None:
    from runtime.oracle import check_prefault_young
    for v66, want_young_fault in ((False, True), (True, False)):
        k = Kernel(generated("arm64"), frozenset({"hw_af"}), v66_prefault=v66)
        mm = k.new_mm()
        f = k.new_file()
        for i in range(4):
            k.add_to_page_cache(f, i * 4, 2)        # four order-2 folios
        k.mmap(mm, BASE, 16 * 4096, VM_READ, f)
        k.user_read(mm, BASE + 0x5000)
        young = [k.arch.pte_young(k.pte_at(mm, BASE + i * 4096)) for i in range(16)]
        batch = [4, 5, 6, 7]
        assert all(young[i] == want_young_fault for i in batch)
        assert all(young[i] != want_young_fault for i in range(16) if i not in batch)
        got = check_prefault_young(k, mm, BASE + 0x5000)
        assert checks(got) == ([] if not v66 else ["prefault_young"])


# --- VIPT aliasing D (mips-like), software TLB with pairs ----------------

def test_mips_deferred_flush_correct() -> None:
    k = Kernel(generated("mips"), frozenset({"dc_aliases"}))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    assert k.pfn_folio(0x1000).arch1                # deferred: no VMA maps the file
    assert k.trace.lines[-1] == "pg_arch_1 set folio=0x1000"
    k.mmap(mm, BASE + 0x1000, 4096, VM_READ, f)     # user colour 1, kernel colour 0
    assert k.user_read(mm, BASE + 0x1000) == 1
    assert check_all(k) == []
    assert "dcache_flush pfn=0x1000 nr=1" in k.trace.lines
    assert not k.pfn_folio(0x1000).arch1
    # mips.arch: pfn << 13; PROT_TABLE[VM_READ] = present 0x1 | noexec 0x20;
    # pte_sw_mkyoung (set_pte_range) = mkyoung: accessed 0x4, valid 0x100
    val = (0x1000 << 13) | 0x1 | 0x20 | 0x4 | 0x100
    assert "tlb_preload mm=1 addr=0x401000 val=%s" % hex(val) in k.trace.lines


def test_mips_unmapped_dirty_without_flag_is_state_violation() -> None:
    k = Kernel(fixture("mips_no_flush"), frozenset({"dc_aliases"}))
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    v = check_all(k)
    assert [(x.check, x.pfn) for x in v] == [("pg_arch_1_state", 0x1000)]


def test_mips_missing_flush_stale_data() -> None:
    k = Kernel(fixture("mips_no_flush"), frozenset({"dc_aliases"}))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.mmap(mm, BASE + 0x1000, 4096, VM_READ, f)     # colour 1, kernel alias colour 0
    assert k.user_read(mm, BASE + 0x1000) == 0
    v = check_all(k)
    assert checks(v) == ["stale_data"]
    assert (v[0].where, v[0].expected, v[0].seen) == (
        "mm=1 addr=0x401000 pfn=0x1000", "version 1", "version 0")


def test_mips_same_colour_needs_no_flush() -> None:
    k = Kernel(fixture("mips_no_flush"), frozenset({"dc_aliases"}))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.mmap(mm, BASE, 4096, VM_READ, f)              # same colour as the kernel alias
    assert k.user_read(mm, BASE) == 1
    assert check_all(k) == []


def test_mips_without_dc_aliases_is_coherent() -> None:
    k = Kernel(fixture("mips_no_flush"), frozenset())
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.mmap(mm, BASE + 0x1000, 4096, VM_READ, f)
    assert k.user_read(mm, BASE + 0x1000) == 1
    assert check_all(k) == []


def test_mips_mapped_file_write_flushes_now() -> None:
    k, mm, f = file_mm(generated("mips"), [0, 0], VM_READ | VM_SHARED, frozenset({"dc_aliases"}))
    k.user_read(mm, BASE)
    v = k.file_write(f, 0)
    assert k.trace.lines[-1] == "dcache_flush pfn=0x1000 nr=1"   # mapped: no deferral
    assert k.user_read(mm, BASE) == v
    assert check_all(k) == []


def test_mips_kmap_bytes_bug_leaves_tails_stale() -> None:
    k = Kernel(mips_kmap_bytes(), frozenset({"dc_aliases"}))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 2)
    k.mmap(mm, BASE + 0x1000, 4 * 4096, VM_READ, f, pgoff=0)
    # user colour of page i is (i + 1) % 4, kernel colour i % 4: all alias
    seen = [k.user_read(mm, BASE + 0x1000 + i * 4096) for i in range(4)]
    assert seen == [1, 0, 0, 0]
    assert [x.pfn for x in check_all(k) if x.check == "stale_data"] == [0x1001, 0x1002, 0x1003]


def test_mips_pairs_preload() -> None:
    for arch, want in ((generated("mips"), []), (fixture("mips_no_tlb_preload"), ["tlb_preload_missing"] * 2)):
        k = Kernel(arch, frozenset({"dc_aliases"}))
        mm = k.new_mm()
        k.mmap(mm, BASE, 2 * 4096, VM_READ | VM_WRITE)
        k.user_write(mm, BASE)                     # refill loads the pair, odd half invalid
        k.user_write(mm, BASE + 0x1000)            # TLB-invalid on the odd half
        assert checks(check_all(k)) == want, arch.name
        preloads = [x for x in k.trace.lines if x.startswith("tlb_preload")]
        # mips.arch: pfn << 13; PROT_TABLE[VM_READ|VM_WRITE] (private: COW)
        # = present 0x1 | noexec 0x20; do_anonymous_page: mkdirty (modified
        # 0x8), mkwrite (write 0x2, and hwdirty 0x200 as modified is set),
        # and pte_sw_mkyoung (6.12 mm/memory.c L4802; mips: pte_mkyoung):
        # accessed 0x4, valid 0x100 (not noread).
        bits = 0x1 | 0x20 | 0x8 | 0x2 | 0x200 | 0x4 | 0x100
        assert preloads == ([] if want else [
            "tlb_preload mm=1 addr=0x400000 val=%s" % hex((0x1000 << 13) | bits),
            "tlb_preload mm=1 addr=0x401000 val=%s" % hex((0x1001 << 13) | bits)])


def test_mips_global_buddy() -> None:
    k = Kernel(generated("mips"))
    mm = k.init_mm
    k.mmap(mm, BASE, 2 << 20, VM_READ)
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    f = k.alloc_folio(0)
    # mips.arch: present 0x1, global 0x80, pfn << 13
    k.set_pte(ptep.offset(2), k.arch.pfn_pte(f.pfn, 0x81))
    assert k.trace.lines == ["set_pte pt=1 idx=2 val=%s" % hex((0x1000 << 13) | 0x81),
                             "set_pte_buddy pt=1 idx=3 val=0x80"]
    assert k.arch.pte_none(ptep.table.entries[3])


# --- TLB caches invalid entries (riscv-like) -----------------------------

def test_riscv_fence() -> None:
    for arch, want in ((fixture("riscvish"), []), (fixture("riscvish_nofence"), ["spurious_fault"]),
                       (riscvish_fence_first(), ["spurious_fault"])):
        k, mm, _ = file_mm(arch, [4], VM_READ)
        assert k.user_read(mm, BASE + 0x3000) == 4
        v = check_all(k)
        assert checks(v) == want, arch.name
        if want:
            assert (v[0].addr, v[0].pfn) == (0x403000, 0x1003)


def test_riscv_fence_first_passes_at_range_start() -> None:
    k, mm, _ = file_mm(riscvish_fence_first(), [4], VM_READ)
    k.user_read(mm, BASE)
    assert check_all(k) == []


def test_riscv_pfn_pte_shift_10() -> None:
    k, mm, _ = file_mm(fixture("riscvish"), [4], VM_READ)
    k.user_read(mm, BASE)
    assert k.pte_at(mm, BASE + 0x1000) - k.pte_at(mm, BASE) == 1 << 10


# --- hardware walker (x86-like): TLB shootdown ---------------------------

def test_x86_tlb_flush_required_on_unmap() -> None:
    for flush, want in ((True, []), (False, ["tlb_stale"])):
        k = Kernel(generated("x86"))
        mm = k.new_mm()
        k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE)
        k.user_write(mm, BASE)
        k.zap_range(mm, BASE, 1, flush=flush)
        k.user_read(mm, BASE)
        v = check_all(k)
        assert checks(v)[:1] == want
        if want:
            assert (v[0].expected, v[0].seen) == ("pfn=none", "pfn=0x1000")


def test_x86_fault_around_exact_trace_counts() -> None:
    k, mm, _ = file_mm(generated("x86"), [4, 4, 4, 4], VM_READ)
    k.user_read(mm, BASE + 0x11000)
    t = k.trace.lines
    assert t.count("lazy_mmu enter") == 1
    assert t[0] == "ptc_set pt=1 idx=16 val=0x8000000001010025 nr=16"
    assert sum(1 for x in t if x.startswith("set_pte ")) == 16
    assert check_all(k) == []


# --- per-page PG_arch_1 (s390-like) --------------------------------------

def test_s390_per_page_secure() -> None:
    # s390.arch (6.6): the range calls leave the secure bits alone (uv.c
    # tracks them per page); the broken arch's folio test is a
    # granularity violation on a per-page arch.
    for arch, want_g, left in ((generated("s390"), [], [False, True, True, False]),
                               (s390_folio_flag(), ["folio=0x1000"],
                                [False, True, True, False])):
        k, mm, _ = file_mm(arch, [2], VM_READ, pgste=True)
        f = k.pfn_folio(0x1000)
        k.page_set_arch1(f.page(1))
        k.page_set_arch1(f.page(2))
        k.user_read(mm, BASE)
        g = [x.where for x in check_all(k) if x.check == "pg_arch_1_granularity"]
        assert g == want_g, arch.name
        assert f.page_arch1 == left
        assert sum(1 for x in k.trace.lines if x.startswith("pgste_set_pte")) == 4
