"""Family ``special_pages``: pages the range API maps that are not ordinary
folio pages -- the shared zero page (anonymous read faults) and pfns with
no struct page (``remap_pfn_range`` of device memory) -- and the arch code
that must leave their folio alone (``no_struct_page``, ``user_view``, the
oracle).

Place in the flow: registered in runtime/conformance.py.  ``pattern``:
``zero_page`` (an anonymous private VMA is read, executed when ``x``, then
written and read again: do_anonymous_page maps the zero page special,
do_wp_page copies it; 6.12 mm/memory.c L4756-4776, wp_page_copy) or
``remap`` (remap_pfn_range of ``pages`` pfns that have no struct page into
a shared VMA, then user reads, and writes when ``w``: the fault path's
access-flag update runs set_pte_at / update_mmu_cache_range on special
entries; mm/memory.c remap_pte_range L2544-2568).  ``lazy``: the caller's
own lazy MMU region around remap_pte_range's loop (default true, as in
the kernel: 6.12 mm/memory.c L2555/L2565; the arch's own region nests
inside it by its lazy-mode rule, runtime/lazy.py).
"""

from __future__ import annotations

from runtime.families.base import USER_VIEW, Family, Run, region
from runtime.scenarios import Scenario, parse_vm_flags
from runtime.trace import hx

# pfns with no struct page: far above every folio a scenario allocates
DEVICE_PFN = 0x7F000


def _fail(run: Run, mm_id: int, addr: int) -> None:
    run.violate(USER_VIEW, "mm=%d addr=%s" % (mm_id, hx(addr)),
                "the access succeeds", "SIGSEGV", addr)


def zero_page(run: Run, sc: Scenario) -> None:
    pages = sc.get_int("pages", 4)
    for flags in sc.vm_flags("vm_flags", [parse_vm_flags("rw"), parse_vm_flags("rx")]):
        k = run.kernel()
        mm = k.new_mm()
        start = region(k, 1, pages)
        vma = k.mmap(mm, start, pages << k.page_shift, flags)
        for i in range(pages):
            a = start + (i << k.page_shift)
            v = k.user_exec(mm, a) if vma.exec else k.user_read(mm, a)
            if v != 0:                      # the zero page holds zeroes: version 0
                _fail(run, mm.id, a)
        if vma.write:
            for i in (0, pages - 1):
                a = start + (i << k.page_shift)
                if k.user_write(mm, a) < 0:
                    _fail(run, mm.id, a)
                if k.user_read(mm, a) < 0:
                    _fail(run, mm.id, a)


def remap(run: Run, sc: Scenario) -> None:
    pages = sc.get_int("pages", 4)
    lazy = sc.get_bool("lazy", True)      # remap_pte_range's own region (mm/memory.c)
    for flags in sc.vm_flags("vm_flags", [parse_vm_flags("rs"), parse_vm_flags("rws")]):
        k = run.kernel()
        mm = k.new_mm()
        start = region(k, 1, pages)
        vma = k.mmap(mm, start, pages << k.page_shift, flags)
        k.remap_pfn_range(vma, start, DEVICE_PFN, pages, lazy)
        for i in range(pages):
            a = start + (i << k.page_shift)
            if k.user_access(mm, a, False, vma.exec) != DEVICE_PFN + i:
                _fail(run, mm.id, a)
            if vma.write and k.user_access(mm, a, True, False) != DEVICE_PFN + i:
                _fail(run, mm.id, a)


class SpecialPages(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        kind = sc.get_str("pattern", "zero_page")
        if kind == "zero_page":
            zero_page(run, sc)
        elif kind == "remap":
            remap(run, sc)
        else:
            raise ValueError("%s: unknown special_pages pattern %r" % (sc.name, kind))


FAMILY: Family = SpecialPages("special_pages")
