"""Lazy MMU mode as arch behaviour (runtime/lazy.py) and the hash / TSB
TLB kinds (runtime/tlb.py): each kind's rules, checked on machines built
from archdefs (x86 = `lazy_mmu defer`, loongarch = `none`, the fixtures
tests/fixtures/broken/tsb_lazy.arch and x86_xen_lazy_strict.arch).

Expected behaviour is the kernel's, written out by hand: Xen PV counts a
nested enter (arch/x86/include/asm/xen/hypervisor.h:77-99, 6.12) and BUGs
on it without 49147beb0ccb; powerpc hash / sparc64 leave flushes the
per-CPU batch and clears `active` (tlbflush-hash.h:44-56, sparc tlb.c:62-69),
a batch of TLB_BATCH_NR (192) is flushed when full (sparc tlb.c
tlb_batch_add_one), a batch add outside the mode flushes at once.
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel
from runtime.lazy import LazyMmu
from runtime.mm import Mm
from runtime.oracle import check_all
from runtime.pagetable import PteRef, PteTable
from runtime.primitives import TLB_BATCH_NR

from fixture_archs import fixture, generated

BASE = 0x400000


def setup(k: Kernel) -> tuple[Mm, int, PteRef]:
    mm = k.new_mm()
    f = k.alloc_folio(4)
    k.mmap(mm, BASE, 2 << 20, VM_READ | VM_WRITE | VM_SHARED)
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    return mm, f.pfn, ptep


def checks(k: Kernel) -> list[str]:
    return [v.check for v in check_all(k)]


def test_defer_counts_nesting_and_applies_at_the_outermost_leave() -> None:
    k = Kernel(generated("x86"))
    mm, pfn, ptep = setup(k)
    pte = k.arch.pfn_pte(pfn, k.arch.vm_get_page_prot(VM_READ))
    k.lazy_mmu_enter()                                # the caller's region (fork)
    k.set_pte_at(mm, BASE, ptep, pte)                 # generic set_ptes nests
    assert ptep.table.entries[0] == 0                 # still deferred
    k.lazy_mmu_leave()
    assert ptep.table.entries[0] == pte
    assert checks(k) == []
    assert [r.nested for r in k.lazy.regions] == [1]
    assert [r.stores for r in k.lazy.regions] == [1]


def test_strict_reports_the_nested_enter() -> None:
    k = Kernel(fixture("x86_xen_lazy_strict"))
    mm, pfn, ptep = setup(k)
    k.lazy_mmu_enter()
    k.set_pte_at(mm, BASE, ptep, k.arch.pfn_pte(pfn, k.arch.vm_get_page_prot(VM_READ)))
    k.lazy_mmu_leave()
    assert checks(k) == ["lazy_mmu_nesting"]


def test_none_defers_nothing_and_nests() -> None:
    k = Kernel(generated("loongarch"))
    mm, pfn, ptep = setup(k)
    pte = k.arch.pfn_pte(pfn, k.arch.vm_get_page_prot(VM_READ))
    k.lazy_mmu_enter()
    k.lazy_mmu_enter()
    k.set_pte_at(mm, BASE, ptep, pte)                 # set_ptes nests a third level
    assert ptep.table.entries[ptep.idx] == pte        # the empty generic macros
    k.lazy_mmu_leave()
    k.lazy_mmu_leave()
    assert checks(k) == []


def test_batch_flushes_at_leave_and_a_nested_leave_ends_the_mode() -> None:
    k = Kernel(fixture("tsbish_batched"))
    mm, pfn, ptep = setup(k)
    k.tlb.load(mm.id, BASE >> 12, 1)
    k.tlb.load(mm.id, (BASE >> 12) + 1, 1)
    k.lazy_mmu_enter()
    k.tlb_batch_add(mm, BASE)
    assert k.tlb.lookup(mm.id, BASE >> 12) == 1       # queued, not yet flushed
    k.lazy_mmu_enter()                                # nested: does not nest
    k.lazy_mmu_leave()                                # flushes and ends the mode
    assert k.tlb.lookup(mm.id, BASE >> 12) is None
    assert not k.lazy.active and k.lazy.depth == 1
    k.tlb_batch_add(mm, BASE + 4096)                  # mode off: flushed at once
    assert k.tlb.lookup(mm.id, (BASE >> 12) + 1) is None
    k.lazy_mmu_leave()
    assert checks(k) == ["lazy_mmu_nesting"]


def test_a_full_batch_is_flushed() -> None:
    k = Kernel(fixture("tsbish_batched"))
    mm, _, _ = setup(k)
    for i in range(TLB_BATCH_NR + 1):
        k.tlb.load(mm.id, i, 1)
    k.lazy_mmu_enter()
    for i in range(TLB_BATCH_NR + 1):
        k.tlb_batch_add(mm, i << 12)
    assert all(k.tlb.lookup(mm.id, i) is None for i in range(TLB_BATCH_NR))
    assert k.tlb.lookup(mm.id, TLB_BATCH_NR) == 1
    k.lazy_mmu_leave()
    assert k.tlb.lookup(mm.id, TLB_BATCH_NR) is None
    assert checks(k) == []


def test_a_leave_that_does_not_flush_leaves_the_batch_pending() -> None:
    k = Kernel(fixture("tsbish_leave_no_flush"))
    mm, _, _ = setup(k)
    k.lazy_mmu_enter()
    k.tlb_batch_add(mm, BASE)
    k.lazy_mmu_leave()
    assert checks(k) == ["tlb_batch_pending"]


def test_generic_flush_is_empty_on_tsb_but_the_clear_flushes() -> None:
    """zap without a lazy region on a TSB kind: flush_tlb_page does nothing,
    the PTE clear's tlb_batch_add flushes at once."""
    for name in ("tsbish_batched", "hashish"):
        k = Kernel(fixture(name))
        mm, pfn, ptep = setup(k)
        k.set_pte_at(mm, BASE, ptep, k.arch.pfn_pte(pfn, k.arch.vm_get_page_prot(VM_READ)))
        assert k.user_read(mm, BASE) >= 0
        assert k.tlb.lookup(mm.id, BASE >> 12) is not None
        before = len(k.trace.lines)
        k.zap_range(mm, BASE, 1)
        assert "tlb_flush_page" not in " ".join(k.trace.lines[before:])
        assert k.tlb.lookup(mm.id, BASE >> 12) is None


def test_lazy_model_value_at_sees_deferred_stores() -> None:
    t = PteTable(1, 1, 0, 8, 12)
    lz = LazyMmu("defer")
    assert lz.enter()
    lz.defer(t.ref(3), 0x55)
    assert t.entries[3] == 0 and lz.value_at(t, 3) == 0x55
    assert lz.leave()
    assert t.entries[3] == 0x55 and not lz.leave()
