"""Family ``pfn_advance``: set_ptes of folios at PFN-field boundaries (and
the largest folio), PROT_NONE included; every entry i must be
``pfn_pte(pfn + i, prot)`` -> ``pte_value``.

Place in the flow: registered in runtime/conformance.py.  Per folio order
the fixture is one machine holding an order-``order`` folio at each carry
boundary of the PFN field(s) (``boundary_pfns``); each (pfn, VM flags)
then gets one set_ptes and the entry check ``check_entries``.
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, Arch
from runtime.families.base import Family, Run, region
from runtime.pagetable import PteRef
from runtime.scenarios import Scenario
from runtime.trace import hx
from runtime.violation import PTE_VALUE


def boundary_pfns(a: Arch, order: int, extra: list[int]) -> list[int]:
    """First pfns of order-``order`` folios just below and at every carry
    boundary of the PFN field(s): the top of each part of a split field,
    bits 8/16/31/32 of the PFN, and the highest physical frame."""
    n = 1 << order
    lay = a.layout
    top = min(lay.pfn_width, a.phys_bits - a.page_shift)
    bounds: list[int] = []
    for lo, width, off in lay.pfn_parts:
        bounds.append(off + width)
        bounds.append(off)
    bounds += [8, 16, 31, 32] + extra + [top]
    out: list[int] = []
    for b in sorted(set(bounds)):
        if b <= order or b > top:
            continue
        for pfn in ((1 << b) - n, 1 << b):
            if pfn >= 0x1000 and pfn + n <= (1 << top) and pfn not in out:
                out.append(pfn)
    return out



def check_entries(run: Run, order: int, flags: int, pfn: int, start: int,
                  page_shift: int, ptep: PteRef, entry: int) -> None:
    """Entry i of the range is pfn_pte(pfn + i, prot) and maps pfn + i."""
    a = run.arch
    n = 1 << order
    prot = a.pte_pgprot(entry)
    t = ptep.table
    for i in range(n):
        got = t.entries[ptep.idx + i]
        exp = a.pfn_pte(pfn + i, prot)
        if got != exp or a.pte_pfn(got) != pfn + i:
            run.violate(PTE_VALUE, "order=%d vm_flags=%s pfn=%s + %d"
                        % (order, hx(flags), hx(pfn), i),
                        "%s (pfn %s)" % (hx(exp), hx(pfn + i)),
                        "%s (pfn %s)" % (hx(got), hx(a.pte_pfn(got))),
                        start + (i << page_shift), pfn + i)
            break


class PfnAdvance(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        flag_sets = sc.vm_flags("vm_flags", [0, VM_READ, VM_READ | VM_WRITE | VM_SHARED,
                                             VM_READ | VM_EXEC])
        for order in sc.orders(a, default=[0, 1, 4, -1]):
            n = 1 << order
            k = run.kernel()            # one machine per order: folios never overlap
            mm = k.new_mm()
            rg = 0
            for pfn in boundary_pfns(a, order, sc.get_ints("extra_bits", [])):
                k.alloc_folio(order, False, pfn)
                for flags in flag_sets:
                    start = region(k, rg, n)
                    rg += 1
                    vma = k.mmap(mm, start, n << k.page_shift, flags, None)
                    ptep = k.pte_ref(mm, start, True)
                    assert ptep is not None
                    entry = a.pfn_pte(pfn, vma.page_prot)
                    k.set_ptes(mm, start, ptep, entry, n)
                    check_entries(run, order, flags, pfn, start, k.page_shift, ptep, entry)
                    # unmap again so page_table_check and the TLB stay simple
                    t = ptep.table
                    for i in range(n):
                        t.entries[ptep.idx + i] = 0
                    if k.ptc.enabled and a.pte_user_accessible_page(entry):
                        k.ptc.clear(pfn, n)


FAMILY: Family = PfnAdvance("pfn_advance")
