"""Pages that are not ordinary folio pages, highmem, and two fault-path
fixes of the model (issue 10 items 4 and 9).

Expected values come from the kernel (6.12 mm/memory.c, the arch headers
cited per test), not from the code under test.
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel
from runtime.memory import HIGHMEM_START_PFN, ZERO_PFN
from runtime.oracle import check_all

from fixture_archs import generated

BASE = 0x400000
DEV_PFN = 0x7F000          # no struct page: nothing is ever allocated there


def _checks(k: Kernel) -> list[str]:
    return [v.check for v in check_all(k)]


# --- pte_sw_mkyoung in do_anonymous_page and wp_page_copy ------------------

def test_anonymous_write_fault_entry_is_sw_young() -> None:
    # 6.12 mm/memory.c L4802: entry = pte_sw_mkyoung(mk_pte(...)); mips
    # defines pte_sw_mkyoung as pte_mkyoung (arch/mips/include/asm/pgtable.h),
    # which sets _PAGE_ACCESSED (0x4) and, readable, _PAGE_VALID (0x100).
    k = Kernel(generated("mips"))
    mm = k.new_mm()
    k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE)
    assert k.user_write(mm, BASE) > 0
    pte = k.pte_at(mm, BASE)
    assert pte & 0x4 and pte & 0x100
    assert _checks(k) == []


def test_cow_copy_entry_is_sw_young() -> None:
    # 6.12 mm/memory.c wp_page_copy L3403: entry = pte_sw_mkyoung(entry)
    # (ic_fills_f_dc: keeps the documented __update_cache finding out)
    k = Kernel(generated("mips"), frozenset({"ic_fills_f_dc"}))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE, f)
    assert k.user_read(mm, BASE) == 1
    first = k.pte_at(mm, BASE)
    # age the entry as reclaim would (the COW copy must not inherit it)
    ptep = k.pte_ref(mm, BASE)
    assert ptep is not None
    ptep.table.entries[ptep.idx] = k.arch.pte_mkold(first)
    k.tlb_flush_page(mm, BASE)
    assert k.user_write(mm, BASE) > 0
    pte = k.pte_at(mm, BASE)
    assert k.arch.pte_pfn(pte) != k.arch.pte_pfn(first)      # a copy
    assert pte & 0x4 and pte & 0x100
    assert _checks(k) == []


# --- Kernel._allowed: the hardware valid bit and the read bit --------------

def _prot_none_entry(arch: str) -> tuple[Kernel, int]:
    """A file page mapped readable, then made PROT_NONE in place (the
    mprotect path: get-and-clear, set_pte_at(pte_modify(PAGE_NONE)))."""
    k = Kernel(generated(arch))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    vma = k.mmap(mm, BASE, 4096, VM_READ, f)
    assert k.user_read(mm, BASE) == 1
    old = k.ptep_clear(mm, BASE)
    vma.flags = 0
    vma.page_prot = k.arch.vm_get_page_prot(0)
    ptep = k.pte_ref(mm, BASE)
    assert ptep is not None
    entry = k.arch.pfn_pte(k.arch.pte_pfn(old), vma.page_prot)
    assert k.arch.pte_present(entry)              # PROT_NONE counts as present
    k.set_pte_at(mm, BASE, ptep, entry)
    return k, mm.id


def test_present_prot_none_entry_cannot_be_read() -> None:
    # mips PAGE_NONE is _PAGE_PRESENT|_PAGE_NO_EXEC|_PAGE_NO_READ without
    # _PAGE_VALID (mm/cache.c setup_protection_map); s390 PAGE_NONE is
    # _PAGE_PRESENT|_PAGE_INVALID|_PAGE_PROTECT without _PAGE_READ;
    # hexagon PAGE_NONE has no __HVM_PTE_R.  None of them is readable.
    for arch in ("mips", "s390", "hexagon"):
        k, mm_id = _prot_none_entry(arch)
        assert k.user_read(k.mms[mm_id], BASE) == -1, arch


def test_valid_entry_still_readable_after_fix() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.mmap(mm, BASE, 4096, VM_READ, f)
    assert k.user_read(mm, BASE) == 1


# --- the zero page ------------------------------------------------------------

def test_anonymous_read_maps_the_zero_page_special() -> None:
    # 6.12 mm/memory.c L4756-4776: pte_mkspecial(pfn_pte(my_zero_pfn(addr),
    # vma->vm_page_prot)); a later write copies it (wp_page_copy).
    for arch in ("x86", "arm64", "riscv", "mips"):
        k = Kernel(generated(arch))
        mm = k.new_mm()
        k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE)
        assert k.user_read(mm, BASE) == 0, arch
        pte = k.pte_at(mm, BASE)
        assert k.arch.pte_pfn(pte) == ZERO_PFN, arch
        assert k.arch.pte_special(pte), arch
        assert not k.arch.pte_write(pte), arch
        assert k.user_write(mm, BASE) > 0, arch
        assert k.arch.pte_pfn(k.pte_at(mm, BASE)) != ZERO_PFN, arch
        assert k.user_read(mm, BASE) > 0, arch
        assert _checks(k) == [], arch


def test_pgste_mm_forbids_the_zero_page() -> None:
    # arch/s390/include/asm/pgtable.h L593-601 mm_forbids_zeropage
    k = Kernel(generated("s390"))
    mm = k.new_mm(has_pgste=True)
    k.mmap(mm, BASE, 4096, VM_READ | VM_WRITE)
    assert k.user_read(mm, BASE) >= 0
    assert k.arch.pte_pfn(k.pte_at(mm, BASE)) != ZERO_PFN


# --- pfns with no struct page (remap_pfn_range) -------------------------------

def test_remap_pfn_range_maps_special_entries_without_folios() -> None:
    for arch in ("x86", "arm64", "s390"):
        k = Kernel(generated(arch))
        mm = k.new_mm()
        vma = k.mmap(mm, BASE, 4 * 4096, VM_READ | VM_WRITE | VM_SHARED)
        k.remap_pfn_range(vma, BASE, DEV_PFN, 4, lazy=False)
        for i in range(4):
            pte = k.pte_at(mm, BASE + i * 4096)
            assert k.arch.pte_pfn(pte) == DEV_PFN + i, arch
            assert k.arch.pte_special(pte), arch
            assert k.user_access(mm, BASE + i * 4096, False, False) == DEV_PFN + i, arch
        assert not k.pfn_valid(DEV_PFN)
        assert _checks(k) == [], arch


def test_folio_of_a_pfn_without_struct_page_is_a_violation() -> None:
    k = Kernel(generated("x86"))
    f = k.pfn_folio(DEV_PFN)
    assert f.phantom and f.pfn == DEV_PFN
    assert k.pfn_folio(DEV_PFN) is f                 # one stand-in per pfn
    assert [v.check for v in k.violations] == ["no_struct_page"] * 2


def test_riscv_exec_special_entry_takes_the_folio() -> None:
    # arch/riscv/include/asm/pgtable.h __set_pte_at: flush_icache_pte() for
    # every present exec entry, special or not; arch/riscv/mm/cacheflush.c
    # flush_icache_pte takes page_folio(pte_page(pte)): for a remapped pfn
    # with no struct page that is garbage (the documented finding).
    k = Kernel(generated("riscv"))
    mm = k.new_mm()
    vma = k.mmap(mm, BASE, 4096, VM_READ | VM_EXEC | VM_SHARED)
    k.remap_pfn_range(vma, BASE, DEV_PFN, 1, lazy=False)
    assert "no_struct_page" in _checks(k)
    # arm64 tests !pte_special first (arch/arm64/include/asm/pgtable.h
    # __sync_cache_and_tags): nothing to report
    k = Kernel(generated("arm64"), frozenset())
    mm = k.new_mm()
    vma = k.mmap(mm, BASE, 4096, VM_READ | VM_EXEC | VM_SHARED)
    k.remap_pfn_range(vma, BASE, DEV_PFN, 1, lazy=False)
    assert _checks(k) == []


# --- highmem -----------------------------------------------------------------

def test_highmem_allocations_and_kmap_alias() -> None:
    from runtime.arch import Arch
    from fixture_archs import generated_class

    class HighArm(generated_class("x86")):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.highmem = True
    a: Arch = HighArm()
    k = Kernel(a)
    f = k.new_file()
    folio = k.add_to_page_cache(f, 0, 0)           # GFP_HIGHUSER_MOVABLE
    assert folio.highmem and folio.pfn >= HIGHMEM_START_PFN
    low = k.alloc_folio(0)                         # a kernel allocation
    assert not low.highmem and low.pfn < HIGHMEM_START_PFN
    assert k.kaddr(low.pfn) == k.linear_addr(low.pfn)
    assert k.violations == []
    assert k.kaddr(folio.pfn) == 0                 # page_address(): NULL
    assert [v.check for v in k.violations] == ["highmem_kaddr"]
    assert k.kmap_local_addr(folio.pfn) != k.linear_addr(folio.pfn)
    assert k.kmap_local_addr(low.pfn) == k.linear_addr(low.pfn)

