"""Family ``fault_around``: user reads over file VMAs with folios of orders
0..PMD order (filemap_map_pages / filemap_map_folio_range) -> every PTE maps
its file page (``pte_value``), every access succeeds (``user_view``), plus
the oracle.

Place in the flow: registered in runtime/conformance.py.  Per group of
orders (each alone, or all together with ``mixed``) the fixture is one
machine with a file of those folios mapped by one VMA; the accesses run
the fault path, then ``check_file_ptes`` scans the VMA.
"""

from __future__ import annotations

from runtime.arch import VM_EXEC
from runtime.families.base import Family, Run, access, file_with, region, touch
from runtime.kernel import Kernel
from runtime.mm import Vma
from runtime.scenarios import Scenario, parse_vm_flags
from runtime.trace import hx
from runtime.violation import PTE_VALUE


def check_file_ptes(run: Run, k: Kernel, vma: Vma, pages: int) -> None:
    """Every present PTE of the file VMA maps its page-cache page."""
    a = run.arch
    m = vma.mapping
    assert m is not None
    for i in range(pages):
        addr = vma.start + (i << k.page_shift)
        pte = k.pte_at(vma.mm, addr)
        if a.pte_none(pte) or not a.pte_present(pte):
            continue
        f = m.folio_at(vma.pgoff + i)
        if f is None:
            continue
        want = f.pfn + vma.pgoff + i - f.index
        if a.pte_pfn(pte) != want:
            run.violate(PTE_VALUE, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                        "pfn %s" % hx(want), "pfn %s (pte %s)" % (hx(a.pte_pfn(pte)), hx(pte)),
                        addr, want)


class FaultAround(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        orders = sc.orders(a, default=[0, 1, 2, 3, 4, -1])
        flags = parse_vm_flags(sc.get_str("vm_flags", "r"))
        limit = sc.get_int("touch_all_up_to", 16)
        stride = sc.get_int("stride", 1)
        if sc.get_bool("mixed", False):
            groups = [orders]
        else:
            groups = [[o] for o in orders]
        for g in groups:
            k = run.kernel()
            mm = k.new_mm()
            m, folios, pages = file_with(k, g)
            start = region(k, 1, pages) + (sc.get_int("colour_offset", 0) << k.page_shift)
            vma = k.mmap(mm, start, pages << k.page_shift, flags, m)
            idxs: list[int] = []
            for f in folios:
                for j in touch(f.nr_pages, limit):
                    if j % stride == 0 or j == f.nr_pages - 1:
                        idxs.append(f.index + j)
            access(run, k, vma, idxs, bool(flags & VM_EXEC))
            check_file_ptes(run, k, vma, pages)


FAMILY: Family = FaultAround("fault_around")
