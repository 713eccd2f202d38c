"""set_ptes and its checked wrapper: values, trace, preconditions,
set_ptes(nr) == nr x set_pte_at, broken arches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from runtime.arch import VM_READ, VM_WRITE, VM_SHARED, VM_EXEC, Arch
from runtime.kernel import Kernel
from runtime.mm import Mm
from runtime.oracle import RangeError, check_all
from runtime.pagetable import PteRef
from runtime.pteval import u64

from fixture_archs import fixture, generated, generated_class

BASE = 0x400000


# Breakages the archdef language cannot express (the checker refuses an
# unsafe advance; there is no statement for a store outside the range or
# for leaving lazy MMU mode on): the generated x86 with one method changed.

def x86_bad_advance() -> Arch:
    """Advances the PFN by two pages per entry."""
    class X86BadAdvance(generated_class("x86")):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.name = "x86_bad_advance"

        def pte_advance(self, pte: int, pages: int) -> int:
            return pte + (pages << 13)
    return X86BadAdvance()


def x86_overrun() -> Arch:
    """Writes one entry past the range."""
    class X86Overrun(generated_class("x86")):  # type: ignore[misc]
        def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                     nr: int) -> None:
            super().set_ptes(k, mm, addr, ptep, pte, nr)
            if ptep.idx + nr < k.arch.ptrs_per_pte:
                k.set_pte(ptep.offset(nr), 0)
    return X86Overrun()


def x86_lazy_leak() -> Arch:
    """Enters lazy MMU mode and never leaves it."""
    class X86LazyLeak(generated_class("x86")):  # type: ignore[misc]
        def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                     nr: int) -> None:
            k.page_table_check_ptes_set(mm, ptep, pte, nr)
            k.lazy_mmu_enter()
            for i in range(nr):
                k.set_pte(ptep.offset(i), self.pte_advance(pte, i))
    return X86LazyLeak()


def arch_named(name: str) -> Arch:
    """A landed arch, or the riscv-like test fixture."""
    return fixture(name) if name == "riscvish" else generated(name)


def setup(arch: Arch, order: int = 4) -> tuple[Kernel, Mm, int, PteRef]:
    k = Kernel(arch)
    mm = k.new_mm()
    f = k.alloc_folio(order)
    k.mmap(mm, BASE, 2 << 20, VM_READ | VM_WRITE | VM_SHARED)
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    return k, mm, f.pfn, ptep


def test_generic_set_ptes_values_and_trace() -> None:
    k, mm, pfn, ptep = setup(generated("x86"))
    pte = k.arch.pfn_pte(pfn, k.arch.vm_get_page_prot(VM_READ | VM_WRITE | VM_SHARED))
    # the entry is the i64 pattern of the u64 word (runtime/pteval.py)
    assert u64(pte) == 0x8000000001000027 and pte == 0x8000000001000027 - (1 << 64)
    k.set_ptes(mm, BASE, ptep, pte, 3)
    assert [u64(e) for e in ptep.table.entries[:4]] == [
        0x8000000001000027, 0x8000000001001027, 0x8000000001002027, 0]
    assert k.trace.lines == [
        "ptc_set pt=1 idx=0 val=0x8000000001000027 nr=3",
        "lazy_mmu enter",
        "set_pte pt=1 idx=0 val=0x8000000001000027",
        "set_pte pt=1 idx=1 val=0x8000000001001027",
        "set_pte pt=1 idx=2 val=0x8000000001002027",
        "lazy_mmu leave",
    ]
    assert check_all(k) == []
    # page_table_check counted three file pages
    f = k.pfn_folio(pfn)
    assert f.ptc_file[:4] == [1, 1, 1, 0]


@pytest.mark.parametrize("what,idx,nr,addr_off", [
    ("nr", 0, 0, 0),
    ("pmd", 510, 4, 510 * 4096),
    ("addr", 0, 1, 4096),
    ("folio", 0, 17, 0),
])
def test_range_preconditions(what: str, idx: int, nr: int, addr_off: int) -> None:
    k, mm, pfn, ptep = setup(generated("x86"))
    pte = k.arch.pfn_pte(pfn, k.arch.vm_get_page_prot(VM_READ))
    with pytest.raises(RangeError) as ei:
        k.set_ptes(mm, BASE + addr_off, ptep.offset(idx), pte, nr)
    assert ei.value.what == what


def test_range_precondition_vma() -> None:
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    f = k.alloc_folio(4)
    k.mmap(mm, BASE, 8 * 4096, VM_READ)
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    with pytest.raises(RangeError) as ei:
        k.set_ptes(mm, BASE, ptep, k.arch.pfn_pte(f.pfn, 0x25), 9)
    assert ei.value.what == "vma"


def test_bad_advance_reports_pte_value() -> None:
    k, mm, pfn, ptep = setup(x86_bad_advance())
    pte = k.arch.pfn_pte(pfn, 0x25)
    k.set_ptes(mm, BASE, ptep, pte, 3)
    v = [x for x in check_all(k) if x.check == "pte_value"]
    assert [(x.where, x.expected, x.seen) for x in v] == [
        ("pt=1 idx=1 addr=0x401000", "0x1001025", "0x1002025"),
        ("pt=1 idx=2 addr=0x402000", "0x1002025", "0x1004025"),
    ]
    assert v[0].arch == "x86_bad_advance" and v[0].pfn == pfn + 1


def test_overrun_reports_outside_range() -> None:
    k, mm, pfn, ptep = setup(x86_overrun())
    k.set_ptes(mm, BASE, ptep, k.arch.pfn_pte(pfn, 0x25), 2)
    v = [x for x in check_all(k) if x.check == "pte_outside_range"]
    assert [(x.where, x.expected) for x in v] == [("pt=1 idx=2", "pt=1 idx=0..1")]


def test_lazy_leak_reported_and_repaired() -> None:
    k, mm, pfn, ptep = setup(x86_lazy_leak())
    k.set_ptes(mm, BASE, ptep, k.arch.pfn_pte(pfn, 0x25), 2)
    v = check_all(k)
    assert [x.check for x in v] == ["lazy_mmu"]
    assert v[0].seen == "returned in lazy MMU mode"
    assert list(ptep.table.entries[:2]) == [0x1000025, 0x1001025]   # applied at forced leave


def test_lazy_read_of_deferred_entry_and_nesting() -> None:
    k, mm, pfn, ptep = setup(generated("x86"))
    k.lazy_mmu_enter()
    k.set_pte(ptep, 0x1000025)
    assert ptep.table.entries[0] == 0                 # deferred
    assert k.read_pte(ptep) == 0                      # raw read: stale
    k.lazy_mmu_enter()              # x86 is `lazy_mmu defer`: nesting counts
    k.lazy_mmu_leave()
    assert ptep.table.entries[0] == 0                 # still deferred: inner leave
    k.lazy_mmu_leave()
    assert ptep.table.entries[0] == 0x1000025
    k.lazy_mmu_leave()
    assert [(x.check, x.seen) for x in k.violations] == [
        ("lazy_mmu", "read of a deferred entry"),
        ("lazy_mmu", "leave without enter"),
    ]


@pytest.mark.parametrize("arch", ["x86", "arm64", "mips", "riscvish", "s390"])
@settings(max_examples=25, deadline=None)
@given(nr=st.integers(1, 16), start=st.integers(0, 15), flags=st.sampled_from(
    [VM_READ, VM_READ | VM_EXEC, VM_READ | VM_WRITE | VM_SHARED]))
def test_set_ptes_equals_nr_set_pte_at(arch: str, nr: int, start: int,
                                       flags: int) -> None:
    """set_ptes(nr) leaves the same table, counters and user view as nr
    calls of set_pte_at, one page each."""
    nr = min(nr, 16 - start)
    results = []
    for batched in (True, False):
        k = Kernel(arch_named(arch))
        mm = k.new_mm()
        f = k.alloc_folio(4)
        for i in range(16):
            k.kernel_write_page(f.pfn + i)
        k.mmap(mm, BASE, 2 << 20, flags)
        ptep = k.pte_ref(mm, BASE, True)
        assert ptep is not None
        pte = k.arch.pfn_pte(f.pfn + start, k.arch.vm_get_page_prot(flags))
        a = BASE + start * 4096
        if batched:
            k.set_ptes(mm, a, ptep.offset(start), pte, nr)
        else:
            for i in range(nr):
                k.set_pte_at(mm, a + i * 4096, ptep.offset(start + i),
                             k.arch.pte_advance(pte, i))
        seen = [k.user_read(mm, a + i * 4096) for i in range(nr)]
        results.append((list(ptep.table.entries), list(f.ptc_file), seen,
                        [x.check for x in check_all(k)]))
    assert results[0] == results[1]
    assert results[0][3] == []
