"""Family ``flush_preload``: remaps where an older translation exists for
every page of a range, so that an arch which flushes, fences or preloads
only the first page of what set_ptes / update_mmu_cache_range cover is
caught (issue 10 item 10).

Place in the flow: registered in runtime/conformance.py.  For each folio
order: an order-N file folio A is mapped by fault-around and every page is
touched (each TLB kind now holds a translation for every page: loaded,
refilled, preloaded, inserted into the hash table / TSB); the range is
zapped (runtime.mmcallers.zap_pte_range: the clears in a lazy region, the
range flush after it -- on hash / TSB kinds the PTE update's own batched
flush); the VMA is pointed at another folio B of the same order (other
pfns) and, with ``reprotect``, made read-only; then the first access is
at page ``first_touch`` (not the first page: fault-around maps the whole
folio with one set_ptes from page 0) and every page is touched again.

Checks (from cachetlb.rst / the TLB kinds, never from the archdef):
``tlb_stale`` (an access or the end scan sees A's pfn, or a write succeeds
through a stale writable translation after the reprotect),
``tlb_preload_missing`` (software TLB: the faulting page was not loaded by
update_mmu_cache_range), ``spurious_fault`` (a TLB caching invalid entries
kept one for a page the new range maps), ``user_view`` (an access the VMA
allows failed), ``tlb_batch_pending``.
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_SHARED, VM_WRITE
from runtime.families.base import USER_VIEW, Family, Run, file_with, region
from runtime.scenarios import Scenario, parse_vm_flags
from runtime.trace import hx
from runtime.violation import TLB_STALE


def _touch_all(k_first: int, pages: int) -> list[int]:
    first = min(k_first, pages - 1)
    return [first] + [i for i in range(pages) if i != first]


def remap_range(run: Run, sc: Scenario) -> None:
    reprotect = sc.get_bool("reprotect", False)
    flags = parse_vm_flags(sc.get_str("vm_flags", "rws" if reprotect else "r"))
    for order in sc.orders(run.arch, default=[2, 4]):
        k = run.kernel()
        ps = k.page_size
        mm = k.new_mm()
        m, folios, pages = file_with(k, [order, order])
        n = folios[0].nr_pages
        start = region(k, 1, n)
        vma = k.mmap(mm, start, n * ps, flags, m, 0)
        order_seen = _touch_all(sc.get_int("first_touch", 2), n)
        for i in order_seen:
            a = start + i * ps
            v = k.user_write(mm, a) if flags & VM_WRITE else k.user_read(mm, a)
            if v < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(a)),
                            "the access succeeds", "SIGSEGV", a)
        k.zap_pte_range(mm, start, n)
        vma.pgoff = folios[1].index                      # the other folio, other pfns
        if reprotect:
            vma.flags = VM_READ | VM_SHARED
            vma.page_prot = k.arch.vm_get_page_prot(vma.flags)
        for i in order_seen:
            a = start + i * ps
            if k.user_read(mm, a) < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(a)),
                            "the access succeeds", "SIGSEGV", a)
            if reprotect and k.user_write(mm, a) >= 0:
                run.violate(TLB_STALE, "mm=%d addr=%s" % (mm.id, hx(a)),
                            "SIGSEGV: the new mapping is read-only",
                            "a store through a stale writable translation", a)


class FlushPreloadFamily(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        kind = sc.get_str("pattern", "remap_range")
        if kind != "remap_range":
            raise ValueError("%s: unknown flush_preload pattern %r" % (sc.name, kind))
        remap_range(run, sc)


FAMILY: Family = FlushPreloadFamily("flush_preload")
