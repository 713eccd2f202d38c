"""Family ``cache_calls``: the cache calls around the range API --
flush_cache_range on munmap, flush_cache_page on COW, flush_cache_mm on
exit -- checked by what Documentation/core-api/cachetlb.rst promises
after each (``user_line_after_unmap``) and by the data a later kernel read
sees (``stale_data``: a dirty user line left behind is data lost).

Place in the flow: registered in runtime/conformance.py.  The callers are
the model's (runtime/mmcallers.py ``munmap`` -> ``zap_range``:
tlb_start_vma's flush_cache_range; ``do_wp_page`` -> ``ptep_clear``:
wp_page_copy's flush_cache_page; ``exit_mmap``: flush_cache_mm), the
expectations the documented post-conditions, never the archdef's:

* flush_cache_range(vma, start, end): "there will be no entries in the
  cache for vma->vm_mm for virtual addresses in the range";
* flush_cache_page(vma, addr, pfn): none "for virtual address addr which
  translates to pfn";
* flush_cache_mm(mm): "no cache lines associated with mm".

On a VIVT cache a user line belongs to one (mm, address), so a line left
for the old mapping is reported as ``user_line_after_unmap``; on every
cache a dirty user line not written back before the mapping goes leaves
RAM stale, which the kernel's read of the page (read(2) through the
kernel alias) reports as ``stale_data``.

``pattern``: ``munmap`` (a shared writable file mapping written by the
user, then munmap), ``cow`` (a private writable file mapping read, then
written: COW), ``exit`` (as munmap, by exit_mmap), for folio ``orders``.
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_SHARED, VM_WRITE
from runtime.families.base import Family, Run, USER_VIEW, file_with, region
from runtime.kernel import Kernel
from runtime.mm import Mm
from runtime.primitives import DCACHE_VIVT
from runtime.scenarios import Scenario
from runtime.trace import hx
from runtime.violation import STALE_DATA

USER_LINE_AFTER_UNMAP = "user_line_after_unmap"
PATTERNS: tuple[str, ...] = ("munmap", "cow", "exit")


def user_lines(k: Kernel, mm: Mm, start: int, end: int, pfn: int = -1) -> list[tuple[int, int]]:
    """VIVT lines of mm for addresses in [start, end) (of one pfn if
    given): (pfn, address) pairs, dirty or clean."""
    dc = k.dcache
    if dc.kind != DCACHE_VIVT:
        return []
    lo = dc.alias(mm.id, start)
    hi = dc.alias(mm.id, end)
    out: list[tuple[int, int]] = []
    for p, alias in dc.lines():
        if lo <= alias < hi and (pfn < 0 or p == pfn):
            out.append((p, start + ((alias - lo) << k.page_shift)))
    return out


def no_lines_left(run: Run, k: Kernel, mm: Mm, start: int, end: int, after: str,
                  pfn: int = -1) -> None:
    for p, a in user_lines(k, mm, start, end, pfn):
        dirty = k.dcache.is_dirty(p, k.dcache.alias(mm.id, a))
        run.violate(USER_LINE_AFTER_UNMAP, "mm=%d addr=%s pfn=%s after %s"
                    % (mm.id, hx(a), hx(p), after),
                    "no D-cache line of the old mapping (cachetlb.rst)",
                    "a %s line" % ("dirty" if dirty else "clean"), a, p)


def kernel_reads(run: Run, k: Kernel, pfns: list[int], after: str) -> None:
    """read(2) of the pages through the kernel alias: the latest data."""
    for pfn in pfns:
        f = k.pfn_folio(pfn)
        v = k.kernel_read_page(pfn)
        want = f.latest[pfn - f.pfn]
        if v != want:
            run.violate(STALE_DATA, "kernel read pfn=%s after %s" % (hx(pfn), after),
                        "version %d" % want, "version %d" % v, pfn=pfn)


class CacheCalls(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        orders = sc.orders(a, default=[0, 2])
        pattern = sc.get_str("pattern", "munmap")
        if pattern not in PATTERNS:
            raise ValueError("%s: pattern must be one of %s" % (sc.name, ", ".join(PATTERNS)))
        colours = max(a.dcache_colours(run.cpu), 1)
        offsets = [o for o in sc.get_ints("colour_offsets", [0, 1]) if o < colours or o == 0]
        for order in orders:
            for off in offsets:
                one(run, order, off, colours, pattern)


def one(run: Run, order: int, off: int, colours: int, pattern: str) -> None:
    """One machine: a file folio of ``order`` mapped at colour offset
    ``off`` from a PMD-aligned address, then the pattern."""
    k = run.kernel()
    m, folios, _ = file_with(k, [order])
    f = folios[0]
    n = f.nr_pages
    mm = k.new_mm()
    start = region(k, 1, n + colours) + (off << k.page_shift)
    length = n << k.page_shift
    if pattern == "cow":
        vma = k.mmap(mm, start, length, VM_READ | VM_WRITE, m)
        for i in range(n):
            addr = start + (i << k.page_shift)
            if k.user_read(mm, addr) < 0 or k.user_write(mm, addr) < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)
            # the file page's line at this address went with the COW
            no_lines_left(run, k, mm, addr, addr + k.page_size, "COW", f.pfn + i)
            if k.user_read(mm, addr) < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)
        k.munmap(mm, vma)
        return
    vma = k.mmap(mm, start, length, VM_READ | VM_WRITE | VM_SHARED, m)
    for i in range(n):
        addr = start + (i << k.page_shift)
        if k.user_write(mm, addr) < 0:
            run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                        "the access succeeds", "SIGSEGV", addr)
    if pattern == "munmap":
        k.munmap(mm, vma)
    else:
        k.exit_mmap(mm)
    no_lines_left(run, k, mm, start, start + length, pattern)
    kernel_reads(run, k, [f.pfn + i for i in range(n)], pattern)


FAMILY: Family = CacheCalls("cache_calls")
