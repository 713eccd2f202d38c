"""Family ``alias_mappings``: one file folio mapped many ways -- several
VMAs in several mms, some covering only the head, only the tail or only
the middle of a large folio (a pgoff that is not folio aligned) -- then
write(2) into it while it is mapped, and every mapped page read again
through every VMA -> ``stale_data`` (and ``user_view``).

Place in the flow: registered in runtime/conformance.py.  The expectation
is the arch-independent one of Documentation/core-api/cachetlb.rst
(flush_dcache_folio: the kernel's stores must become visible to the user
mappings of the page): after write(2) (copy through the kernel alias,
then flush_dcache_folio) every user mapping reads the latest data.  The
arch's `flush_dcache_folio` sees the mappings through the i_mmap walk
(`each mapping of folio`, ``Kernel.folio_mappings``).

Geometry, per (folio order, colour offset, writer) one machine: the folio
sits at file index ``n`` (so every pgoff is non-zero), shared VMAs are
placed colour-congruent with their pgoff plus the offset (as
arch_get_unmapped_area keeps shared file mappings on aliasing caches:
arch/arm/mm/mmap.c, arch/mips/mm/mmap.c, arch/parisc/kernel/sys_parisc.c):

* mm A: the whole folio;
* mm B: the head half (pgoff = index) and the tail half (pgoff = index +
  n/2) in two VMAs;
* mm C (order >= 2): the middle, pages 1 .. n-2.

Every VMA reads every page it maps (B last, so on a VIVT cache B's lines
are the live ones: a switch to another mm writes back and invalidates the
user lines, runtime/machine.py ``switch_to``); ``writer`` says who then
write(2)s every page of the folio: ``mapped`` (a task of mm B),
``other`` (a task of an mm with no mapping of the file) or ``kernel``
(a kernel thread: current->active_mm stays B's).  Then B reads again
first, A and C after.
"""

from __future__ import annotations

from runtime.families.base import Family, Run, access, file_with, region
from runtime.arch import VM_READ, VM_SHARED
from runtime.kernel import Kernel
from runtime.memory import Mapping
from runtime.mm import Mm, Vma
from runtime.scenarios import Scenario

WRITERS: tuple[str, ...] = ("mapped", "other", "kernel")


def place(k: Kernel, r: int, pgoff: int, pages: int, off: int, colours: int) -> int:
    """Start of region r for a VMA of ``pages`` at file page ``pgoff``: its
    user page number is congruent to pgoff + off modulo the colours."""
    return region(k, r, pages + colours) + (((pgoff + off) % colours) << k.page_shift)


def map_shared(k: Kernel, mm: Mm, m: Mapping, r: int, pgoff: int, pages: int,
               off: int, colours: int, flags: int) -> Vma:
    start = place(k, r, pgoff, pages, off, colours)
    return k.mmap(mm, start, pages << k.page_shift, flags, m, pgoff)


def layout(k: Kernel, m: Mapping, index: int, n: int, off: int, colours: int,
           flags: int) -> tuple[list[Vma], list[Vma], list[Vma]]:
    """(A's, B's, C's VMAs) over the folio at ``index`` of ``n`` pages."""
    a, b, c = k.new_mm(), k.new_mm(), k.new_mm()
    va = [map_shared(k, a, m, 1, index, n, off, colours, flags)]
    if n == 1:
        vb = [map_shared(k, b, m, 2, index, 1, off, colours, flags)]
        return va, vb, []
    h = n // 2
    vb = [map_shared(k, b, m, 2, index, h, off, colours, flags),
          map_shared(k, b, m, 3, index + h, n - h, off, colours, flags)]
    vc: list[Vma] = []
    if n >= 4:
        vc = [map_shared(k, c, m, 4, index + 1, n - 2, off, colours, flags)]
    return va, vb, vc


def read_all(run: Run, k: Kernel, vmas: list[Vma]) -> None:
    for v in vmas:
        access(run, k, v, list(range((v.end - v.start) >> k.page_shift)), False)


class AliasMappings(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        orders = sc.orders(a, default=[0, 2, 4])
        offsets = sc.get_ints("colour_offsets", [0, 1, 2, 3])
        writers = [w.strip() for w in sc.get_str("writers", ",".join(WRITERS)).split(",")]
        for w in writers:
            if w not in WRITERS:
                raise ValueError("%s: writer %r is not one of %s" % (sc.name, w,
                                                                     ", ".join(WRITERS)))
        colours = max(a.dcache_colours(run.cpu), 1)
        flags = VM_READ | VM_SHARED
        for order in orders:
            n = 1 << order
            for off in offsets:
                if off >= colours and off > 0:
                    continue        # the same colours as off % colours
                for writer in writers:
                    k = run.kernel()
                    m, folios, _ = file_with(k, [order, order])
                    f = folios[1]                   # at index n: pgoff != 0
                    va, vb, vc = layout(k, m, f.index, n, off, colours, flags)
                    read_all(run, k, va + vc + vb)
                    who = vb[0].mm if writer == "mapped" else \
                        k.new_mm() if writer == "other" else None
                    for i in range(n):
                        k.file_write(m, f.index + i, writer=who)
                    read_all(run, k, vb + va + vc)


FAMILY: Family = AliasMappings("alias_mappings")
