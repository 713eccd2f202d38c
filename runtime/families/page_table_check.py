"""Family ``page_table_check``: file, anon, COW and shared mappings and
zaps; mm/page_table_check.c's counts (checked by the oracle:
``page_table_check``) and every final access succeeding (``user_view``).

Place in the flow: registered in runtime/conformance.py.  The fixture is
one machine with two mms sharing a file read-only, shared-writable and
private-writable (COW), plus an anonymous VMA; the accesses and zaps below
drive page_table_check_ptes_set and the clears.
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_SHARED, VM_WRITE
from runtime.families.base import USER_VIEW, Family, Run, file_with, region
from runtime.scenarios import Scenario
from runtime.trace import hx


def page_table_check(run: Run, sc: Scenario) -> None:
    a = run.arch
    order = min(sc.get_int("order", 2), a.max_folio_order)
    k = run.kernel()
    m, folios, pages = file_with(k, [order, 0])
    n = pages
    mm1 = k.new_mm()
    mm2 = k.new_mm()
    ro1 = k.mmap(mm1, region(k, 1, n), n << k.page_shift, VM_READ, m)
    ro2 = k.mmap(mm2, region(k, 1, n), n << k.page_shift, VM_READ, m)
    sh = k.mmap(mm1, region(k, 2, n), n << k.page_shift, VM_READ | VM_WRITE | VM_SHARED, m)
    pv = k.mmap(mm2, region(k, 2, n), n << k.page_shift, VM_READ | VM_WRITE, m)
    an = k.mmap(mm1, region(k, 3, 4), 4 << k.page_shift, VM_READ | VM_WRITE, None)
    for vma in (ro1, ro2, sh, pv):
        for i in range(n):
            k.user_read(vma.mm, vma.start + (i << k.page_shift))
    for i in range(n):
        k.user_write(sh.mm, sh.start + (i << k.page_shift))          # shared: in place
    for i in range(0, n, 2):
        k.user_write(pv.mm, pv.start + (i << k.page_shift))          # private: COW to anon
    for i in range(4):
        k.user_write(an.mm, an.start + (i << k.page_shift))          # anon faults
        k.user_read(an.mm, an.start + (i << k.page_shift))
    for vma in (ro1, pv, an):
        k.zap_range(vma.mm, vma.start, (vma.end - vma.start) >> k.page_shift)
    for i in range(n):
        k.user_read(ro1.mm, ro1.start + (i << k.page_shift))
    for vma in (ro1, ro2, sh):
        for i in range(n):
            addr = vma.start + (i << k.page_shift)
            v = k.user_read(vma.mm, addr)
            if v < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)



class PageTableCheck(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        page_table_check(run, sc)


FAMILY: Family = PageTableCheck("page_table_check")
