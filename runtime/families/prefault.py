"""Family ``prefault``: set_pte_range with the FIXED prefault test (the
faulting batch young, prefaulted batches old where
``arch_wants_old_prefaulted_pte``) -> ``prefault_young`` / ``prefault_old``.

Place in the flow: registered in runtime/conformance.py.  v6.6.0 had the
test inverted (mm/memory.c ``prefault = in_range(...)``, fixed in 2024 to
``!in_range(...)``); ``Kernel(v66_prefault=True)`` models the bug, the
scenarios the fix.  Per faulting folio the fixture is one machine with a
file of ``folios`` folios mapped by one VMA and one read fault in the
middle of that folio; the checks read every PTE's young bit.
"""

from __future__ import annotations

from runtime.arch import VM_READ
from runtime.families.base import PREFAULT_OLD, Family, Run, file_with, region
from runtime.oracle import check_prefault_young
from runtime.scenarios import Scenario
from runtime.trace import hx
from runtime.violation import PREFAULT_YOUNG


def prefault(run: Run, sc: Scenario) -> None:
    a = run.arch
    order = min(sc.get_int("order", 2), a.max_folio_order)
    count = sc.get_int("folios", 4)
    for fault_folio in sc.get_ints("fault_folios", [0, 1, 3]):
        if fault_folio >= count:
            continue
        k = run.kernel()
        m, folios, pages = file_with(k, [order] * count)
        mm = k.new_mm()
        start = region(k, 1, pages)
        k.mmap(mm, start, pages << k.page_shift, VM_READ, m)
        f = folios[fault_folio]
        fpage = f.index + (f.nr_pages // 2)
        faddr = start + (fpage << k.page_shift)
        k.user_read(mm, faddr)
        run.result.violations.extend(check_prefault_young(k, mm, faddr))
        if not a.wants_old_prefaulted_pte(run.cpu):
            continue
        for i in range(pages):
            addr = start + (i << k.page_shift)
            pte = k.pte_at(mm, addr)
            if not a.pte_present(pte):
                continue
            if f.contains(a.pte_pfn(pte)):
                if not a.pte_young(pte):
                    run.violate(PREFAULT_YOUNG, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                "young (in the faulting batch %s)" % hx(faddr), "old", addr)
            elif a.pte_young(pte):
                run.violate(PREFAULT_OLD, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "old (prefaulted around %s; arch_wants_old_prefaulted_pte)" % hx(faddr),
                            "young", addr)



class Prefault(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        prefault(run, sc)


FAMILY: Family = Prefault("prefault")
