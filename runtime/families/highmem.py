"""Family ``highmem``: page-cache folios in highmem (no permanent kernel
address; the kernel fills them through kmap_local, whose fixmap slot has
its own D-cache colour) mapped by set_ptes, flushed by flush_dcache_folio,
read or executed, rewritten by write(2) and copied on write ->
``highmem_kaddr`` (arch code used a highmem page's linear address),
``stale_data`` / ``stale_insn``, ``user_view``, the oracle.

Place in the flow: registered in runtime/conformance.py.  The folios sit
at ``HIGHMEM_PFN``: highmem on an arch with ``highmem`` (runtime/memory.py
HIGHMEM_START_PFN), ordinary memory elsewhere, so the family runs on every
arch.  Per (order, colour offset) one machine: the kernel fills a file
folio (kmap_local writes, flush_dcache_folio), one mm maps it at that
colour (``vm_flags``: ``r`` or ``rx``), the user touches every page; the
mapping goes (zap: flush_cache_page, TLB flush; an exec mapping would give
ETXTBSY, and write(2) under a live mapping is the aliasing family's
subject), the kernel writes each page with write(2) (``r``; for ``rx`` it
replaces the folio by a new one it fills), the user maps and
touches the pages again; with ``cow`` a private
writable mapping writes each page (wp_page_copy into a highmem page:
copy_user_highpage) and reads it back.
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_WRITE
from runtime.families.base import Family, Run, access, file_with, region
from runtime.families.exec_after_kernel_write import replace_folio
from runtime.scenarios import Scenario, parse_vm_flags
from runtime.trace import hx
from runtime.families.base import USER_VIEW

# first pfn of the family's folios: aligned for every folio order up to 18,
# above runtime.memory.HIGHMEM_START_PFN (0x30000)
HIGHMEM_PFN = 0x40000


def highmem(run: Run, sc: Scenario) -> None:
    a = run.arch
    colours = max(a.dcache_colours(run.cpu), 1)
    flags = parse_vm_flags(sc.get_str("vm_flags", "r"))
    cow = sc.get_bool("cow", False)
    for order in sc.orders(a, default=[0, 2]):
        for off in sc.get_ints("colour_offsets", [0, 1]):
            k = run.kernel()
            m, folios, pages = file_with(k, [order], first_pfn=HIGHMEM_PFN)
            mm = k.new_mm()
            start = region(k, 1, pages + 4 * colours) + (off << k.page_shift)
            vma = k.mmap(mm, start, pages << k.page_shift, flags, m)
            every = list(range(pages))
            access(run, k, vma, every, vma.exec)
            k.zap_range(mm, start, pages)
            if vma.exec:
                # new text in a new (highmem) folio: an in-place rewrite
                # of executed pages needs flush_cache_range on munmap
                # (the aliasing family's subject)
                replace_folio(k, m, folios[0])
            else:
                for i in every:
                    k.file_write(m, i)
            access(run, k, vma, every, vma.exec)
            if not cow:
                continue
            priv = k.mmap(mm, start + (pages << k.page_shift) + (8 * colours << k.page_shift),
                          pages << k.page_shift, VM_READ | VM_WRITE, m)
            for i in every:
                addr = priv.start + (i << k.page_shift)
                if k.user_write(mm, addr) < 0 or k.user_read(mm, addr) < 0:
                    run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                "the access succeeds", "SIGSEGV", addr)


class Highmem(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        highmem(run, sc)


FAMILY: Family = Highmem("highmem")
