"""Family ``pmd_map``: a PMD-order file folio mapped by do_set_pmd through
the arch's hook pair ``set_pmd_at`` / ``update_mmu_cache_pmd`` (on an arch
with ``thp 1``; elsewhere do_set_pmd falls back and the folio is mapped by
PTEs), executed or read from a first touch inside the folio, then
unmapped (zap_huge_pmd), replaced by new content and mapped again ->
``stale_insn`` (a PMD-mapped exec folio must be I-cache coherent),
``tlb_preload_missing`` / ``spurious_fault`` / ``tlb_stale`` (a software
or invalid-caching TLB has a usable and no stale entry after the PMD
(re)map), ``user_view``, the oracle.

Place in the flow: registered in runtime/conformance.py.  Parameters:
``vm_flags`` (``rx`` or ``r``), ``first_touch`` (the page of the folio the
first access hits: the fault address is not the PMD's base), ``rounds``
(map, touch, unmap, replace: how many times).
"""

from __future__ import annotations

from runtime.families.base import Family, Run, access, file_with, region, touch
from runtime.families.exec_after_kernel_write import replace_folio
from runtime.scenarios import Scenario, parse_vm_flags


def pmd_map(run: Run, sc: Scenario) -> None:
    a = run.arch
    flags = parse_vm_flags(sc.get_str("vm_flags", "rx"))
    pmd_order = a.ptrs_per_pte.bit_length() - 1
    order = min(pmd_order, a.max_folio_order)
    k = run.kernel()
    mm = k.new_mm()
    m, folios, pages = file_with(k, [order])
    start = region(k, 1, pages)                 # PMD aligned
    vma = k.mmap(mm, start, pages << k.page_shift, flags, m)
    first = min(sc.get_int("first_touch", 5), pages - 1)
    seq = [first] + [i for i in touch(pages, 16) if i != first]
    f = folios[0]
    for r in range(sc.get_int("rounds", 2)):
        access(run, k, vma, seq, vma.exec)
        if start in mm.pmd_leaves:
            k.zap_pmd(mm, start)
        else:
            k.zap_range(mm, start, pages)
        f = replace_folio(k, m, f)


class PmdMap(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        pmd_map(run, sc)


FAMILY: Family = PmdMap("pmd_map")
