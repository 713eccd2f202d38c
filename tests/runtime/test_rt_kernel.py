"""page_table_check rules, fault path pieces, caches, call script."""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_WRITE
from runtime.cache import DCache, ICache
from runtime.kernel import Kernel
from runtime.memory import PhysMem
from runtime.oracle import check_all
from runtime.script import ScriptWriter, parse_script

from fixture_archs import generated

BASE = 0x400000


def test_ptc_anon_mapped_twice_writable() -> None:
    k = Kernel(generated("x86"))
    mm1, mm2 = k.new_mm(), k.new_mm()
    f = k.alloc_folio(0, anon=True)
    for mm in (mm1, mm2):
        k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE)
    rw = k.arch.pte_mkwrite(k.arch.pfn_pte(f.pfn, 0x25))
    for mm in (mm1, mm2):
        ptep = k.pte_ref(mm, BASE, True)
        assert ptep is not None
        k.set_pte_at(mm, BASE, ptep, rw)
    v = [x for x in k.violations if x.check == "page_table_check"]
    assert [(x.where, x.expected, x.seen) for x in v] == [
        ("pfn=0x1000", "anon page mapped more than once is read-only",
         "anon_map_count=2 writable")]


def test_ptc_anon_twice_readonly_ok_and_init_mm_skipped() -> None:
    k = Kernel(generated("x86"))
    f = k.alloc_folio(0, anon=True)
    ro = k.arch.pfn_pte(f.pfn, 0x25)
    for _ in range(2):
        mm = k.new_mm()
        k.mmap(mm, BASE, 4096, VM_READ)
        p = k.pte_ref(mm, BASE, True)
        assert p is not None
        k.set_pte_at(mm, BASE, p, ro)
    p0 = k.pte_ref(k.init_mm, BASE, True)
    assert p0 is not None
    k.set_pte_at(k.init_mm, BASE, p0, ro)
    assert f.ptc_anon == [2]
    assert check_all(k) == []


def test_ptc_overwrite_clears_old_first() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    k.mmap(mm, BASE, 4096, VM_READ)
    a, b = k.alloc_folio(0), k.alloc_folio(0)
    p = k.pte_ref(mm, BASE, True)
    assert p is not None
    k.set_pte_at(mm, BASE, p, k.arch.pfn_pte(a.pfn, 0x25))
    k.set_pte_at(mm, BASE, p, k.arch.pfn_pte(b.pfn, 0x25))
    assert (a.ptc_file, b.ptc_file) == ([0], [1])
    # the store replaced a present entry with no flush: TLB empty, so fine
    assert check_all(k) == []


def test_ptc_file_page_then_anon_is_violation() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    k.mmap(mm, BASE, 2 * 4096, VM_READ)
    f = k.alloc_folio(0)
    p = k.pte_ref(mm, BASE, True)
    assert p is not None
    k.set_pte_at(mm, BASE, p, k.arch.pfn_pte(f.pfn, 0x25))
    f.anon = True                     # the page changes type while mapped
    k.set_pte_at(mm, BASE + 4096, p.offset(1), k.arch.pfn_pte(f.pfn, 0x25))
    assert [x.seen for x in k.violations] == ["file_map_count=1"]


def test_fault_around_skips_populated_and_counts() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 4)
    k.mmap(mm, BASE, 16 * 4096, VM_READ, f)
    k.user_read(mm, BASE + 5 * 4096)          # maps all 16
    k.zap_range(mm, BASE + 3 * 4096, 2)       # unmap 3, 4
    k.zap_range(mm, BASE + 8 * 4096, 1)       # unmap 8
    mark = k.trace.mark()
    k.user_read(mm, BASE + 8 * 4096)
    ptc = [x for x in k.trace.since(mark) if x.startswith("ptc_set")]
    assert ptc == ["ptc_set pt=1 idx=3 val=0x8000000001003025 nr=2",
                   "ptc_set pt=1 idx=8 val=0x8000000001008025 nr=1"]
    folio = k.pfn_folio(0x1000)
    assert folio.mapcount == [1] * 16
    assert mm.file_pages == 16
    assert check_all(k) == []


def test_fault_around_clamped_to_vma_and_pmd() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    f = k.new_file()
    for i in range(0, 32, 16):
        k.add_to_page_cache(f, i, 4)
    # VMA starts 3 pages into the file and just before a PMD boundary
    start = 0x200000 - 6 * 4096
    k.mmap(mm, start, 20 * 4096, VM_READ, f, pgoff=3)
    k.user_read(mm, start + 4096)
    mapped = [a for a in range(start, start + 20 * 4096, 4096)
              if k.arch.pte_present(k.pte_at(mm, a))]
    # window: PTE-aligned 16 (idx 496..511) clamped to the VMA start (idx 506)
    assert mapped == [start + i * 4096 for i in range(6)]
    assert check_all(k) == []


def test_do_set_pmd_maps_pmd_folio() -> None:
    # arm64 (thp 1): one PMD leaf through set_pmd_at, which syncs the
    # I-cache of the exec folio first (6.12 arch/arm64 pgtable.h L646-652)
    k = Kernel(generated("arm64"))
    mm = k.new_mm()
    f = k.new_file()
    big = k.add_to_page_cache(f, 0, 9)
    k.mmap(mm, 0x200000, 2 << 20, VM_READ | VM_EXEC, f)
    v = k.user_exec(mm, 0x200000 + 0x5000)
    assert v == 6
    assert mm.pmd_leaves == {0x200000: big.pfn}
    assert big.entire_mapcount == 1 and mm.file_pages == 512
    lines = k.trace.lines
    i = lines.index("set_pmd mm=1 addr=0x200000 pfn=0x1000")
    assert lines[i - 3:i] == ["pg_arch_1 test folio=0x1000 -> 0",
                              "icache_sync pfn=0x1000 nr=512",
                              "pg_arch_1 set folio=0x1000"]
    assert check_all(k) == []


def test_do_set_pmd_falls_back_without_thp() -> None:
    # x86_64_defconfig has no CONFIG_TRANSPARENT_HUGEPAGE: VM_FAULT_FALLBACK
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 9)
    k.mmap(mm, 0x200000, 2 << 20, VM_READ | VM_EXEC, f)
    assert k.user_exec(mm, 0x200000 + 0x5000) == 6
    assert mm.pmd_leaves == {}
    assert not any(x.startswith("set_pmd") for x in k.trace.lines)
    assert check_all(k) == []


def test_anon_fault_and_cow() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE, f)           # private file
    assert k.user_read(mm, BASE) == 1
    assert not k.arch.pte_write(k.pte_at(mm, BASE))
    w = k.user_write(mm, BASE)                               # COW
    new = k.arch.pte_pfn(k.pte_at(mm, BASE))
    assert new != 0x1000 and k.pfn_folio(new).anon
    assert k.user_read(mm, BASE) == w
    assert mm.anon_pages == 1 and mm.file_pages == 0
    assert check_all(k) == []


def test_user_segv() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    k.mmap(mm, BASE, 4096, VM_READ)
    assert k.user_read(mm, BASE + 4096) == -1
    assert k.user_write(mm, BASE) == -1
    assert k.user_exec(mm, BASE) == -1


def test_vivt_alias_invisible_until_written_back() -> None:
    mem = PhysMem(0)
    f = mem.alloc(0, False)
    d = DCache("vivt", 4, 12)
    ka = d.alias(0, 0xFFFF800001000000)
    ua = d.alias(1, 0x400000)
    ub = d.alias(2, 0x400000)              # same VA, other mm: other line
    assert len({ka, ua, ub}) == 3
    d.write(f, 0, ka, 7)
    assert d.read(f, 0, ua) == 0
    d.writeback(f, 0, ka)
    assert d.read(f, 0, ua) == 0            # ua still holds its stale line
    d.invalidate(f.pfn, ua)
    assert d.read(f, 0, ua) == 7


def test_icache_needs_sync_fills_from_pou() -> None:
    mem = PhysMem(0)
    f = mem.alloc(0, False)
    d = DCache("pipt", 1, 12)
    i = ICache("needs_sync")
    d.write(f, 0, 0, 3)
    assert i.fetch(f, 0, d, 0) == 0
    d.writeback(f, 0, 0)
    assert i.fetch(f, 0, d, 0) == 0         # still the old I line
    i.invalidate(f.pfn)
    assert i.fetch(f, 0, d, 0) == 3


def test_call_script_records_state_and_expectations() -> None:
    k = Kernel(generated("arm64"), frozenset({"hw_af"}))
    k.script = ScriptWriter(k)
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 2)
    k.mmap(mm, BASE, 4 * 4096, VM_READ | VM_EXEC, f)
    k.user_exec(mm, BASE)
    text = k.script.text()
    lines = text.splitlines()
    assert lines[:3] == ["ptdl-script 1", "arch arm64", "cpu hw_af"]
    # arm64.arch PAGE_READONLY_EXEC: valid|pagetype (0x3) | user 0x40 |
    # rdonly 0x80 | sh=3 0x300 | af 0x400 | ng 0x800 | pxn bit 53, pfn << 12
    pte = 0x3 | 0x40 | 0x80 | 0x300 | 0x400 | 0x800 | (1 << 53) | (0x1000 << 12)
    assert pte == 0x20000001000fc3
    i = lines.index("call set_ptes mm=1 addr=0x400000 pt=1 idx=0 pte=0x20000001000fc3 nr=4 current=1")
    assert lines[i - 3:i] == [
        "vma id=1 mm=1 start=0x400000 end=0x404000 flags=0x5 pgoff=0x0 file=1 mapped=1",
        # set_pte_range adds the rmap before set_ptes: folio_mapped() is true
        "folio pfn=0x1000 order=2 anon=0 mapping=1 mapped=1 arch1=0 index=0x0 user_mapped=1",
        "table pt=1 mm=1 base=0x400000 empty=0x0"]
    assert lines[i + 1:i + 4] == [
        "expect ptc_set pt=1 idx=0 val=0x20000001000fc3 nr=4",
        "expect pg_arch_1 test folio=0x1000 -> 0",
        "expect icache_sync pfn=0x1000 nr=4"]
    recs = parse_script(text)
    calls = [r for r in recs if r.kind == "call"]
    assert [r.words[0] for r in calls] == ["flush_dcache_folio", "flush_icache_pages",
                                           "set_ptes", "update_mmu_cache_range"]
    sp = calls[2]
    assert (sp.num("addr"), sp.num("nr"), sp.num("pte")) == (BASE, 4, pte)
    assert recs[-1].kind == "end"
    exp = [r.words[0] for r in recs if r.kind == "expect"]
    assert exp == [x for x in k.trace.lines if not x.startswith("set_pmd")]
