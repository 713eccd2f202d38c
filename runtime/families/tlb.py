"""Family ``tlb``: software TLB preload and invalid-entry fencing
(``tlb_preload_missing``, ``spurious_fault``, ``tlb_stale``, reported by
the Kernel's TLB walk and the oracle; ``user_view`` here).

Place in the flow: registered in runtime/conformance.py.  ``pattern``
picks the fixture: ``anon_pairs`` (anonymous writes to even/odd buddies),
``file_range`` (a first read in the middle of a large folio, then the
rest), ``remap`` (map, unmap, map another page at the same address).
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_WRITE
from runtime.families.base import USER_VIEW, Family, Run, file_with, region, touch
from runtime.scenarios import Scenario, parse_vm_flags
from runtime.trace import hx


def tlb(run: Run, sc: Scenario) -> None:
    a = run.arch
    kind = sc.get_str("pattern", "anon_pairs")
    if kind == "anon_pairs":
        # Write the even page, then its odd buddy: the refill loaded both
        # halves, the odd one invalid; the fault must preload it.
        k = run.kernel()
        mm = k.new_mm()
        start = region(k, 1, 8)
        k.mmap(mm, start, 8 << k.page_shift, VM_READ | VM_WRITE, None)
        for i in sc.get_ints("pages", [0, 1, 2, 3, 5, 4]):
            addr = start + (i << k.page_shift)
            if k.user_write(mm, addr) < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)
            k.user_read(mm, addr)
        return
    if kind == "file_range":
        # A fault in the middle of a large folio: the TLB may hold an
        # invalid entry for the faulting address (RISC-V, MIPS pairs);
        # fault-around maps the range; every page of it must then work.
        for order in sc.orders(a, default=[0, 2, 4]):
            k = run.kernel()
            mm = k.new_mm()
            m, folios, pages = file_with(k, [order])
            start = region(k, 1, pages)
            k.mmap(mm, start, pages << k.page_shift, parse_vm_flags(sc.get_str("vm_flags", "r")), m)
            first = min(sc.get_int("first_touch", 5), pages - 1)
            seq = [first] + [i for i in range(pages) if i != first]
            for i in touch(pages, 16) if pages > 16 else seq:
                addr = start + (i << k.page_shift)
                if k.user_read(mm, addr) < 0:
                    run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                "the access succeeds", "SIGSEGV", addr)
        return
    if kind == "remap":
        # Map, unmap (with the TLB flush) and map another page at the same
        # address: the TLB must not keep the old translation.
        k = run.kernel()
        mm = k.new_mm()
        m, folios, pages = file_with(k, [0, 0])
        start = region(k, 1, 2)
        vma = k.mmap(mm, start, 1 << k.page_shift, VM_READ, m)
        k.user_read(mm, start)
        k.zap_range(mm, start, 1)
        vma.pgoff = 1
        k.user_read(mm, start)
        return
    raise ValueError("%s: unknown tlb pattern %r" % (sc.name, kind))



class TlbFamily(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        tlb(run, sc)


FAMILY: Family = TlbFamily("tlb")
