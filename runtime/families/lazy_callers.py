"""Family ``lazy_callers``: the generic callers that open their own lazy
MMU region around set_pte_at -- fork's copy_pte_range, mremap's move_ptes,
apply_to_page_range -- and zap_pte_range, on every arch with the rules of
its own ``lazy_mmu`` kind (runtime/lazy.py, runtime/mmcallers.py).

Place in the flow: registered in runtime/conformance.py.  ``pattern``
picks the caller: ``fork`` (a private writable file VMA read, then written
on its first and last page -- COW, anonymous pages -- and an anonymous VMA
written; fork; the child reads everything; the parent writes again),
``mremap`` (read every page of an order-N file folio, move the VMA),
``apply`` (apply_to_page_range maps a folio's pfns, read, zap).

Checks (expected behaviour from the kernel, not from the archdef):
``lazy_mmu_nesting`` -- an arch's own region (its set_ptes entering the
mode) inside the caller's where the arch's mode does not nest (reported
by the Kernel); ``tlb_batch_pending`` -- a queued flush left after leave;
``tlb_stale`` -- after the caller's documented flushes (dup_mmap's
flush_tlb_mm after the write-protect, move_ptes' flush_tlb_range, the
zap's range flush; on hash / TSB kinds the PTE update's own batched
flush) no translation maps another pfn than its PTE, grants write its PTE
does not (``check_tlb_rights``), or still serves a moved-away address;
``user_view`` -- after fork the child reads what the parent had before
it, also once the parent wrote again (copy-on-write held).  The work of
each lazy region (stores deferred, flushes batched and done at leave,
nested enters) goes into the result's notes.
"""

from __future__ import annotations

from runtime.arch import VM_READ, VM_WRITE
from runtime.families.base import USER_VIEW, Family, Run, file_with, region
from runtime.kernel import Kernel
from runtime.scenarios import Scenario
from runtime.trace import hx
from runtime.violation import TLB_STALE, Violation


def check_tlb_rights(k: Kernel) -> list[Violation]:
    """No valid translation grants write where its PTE does not (a stale
    writable entry after a write-protect lets a store bypass COW)."""
    out: list[Violation] = []
    arch = k.arch
    for (mm_id, vpage), val in k.tlb.items():
        mm = k.mms.get(mm_id)
        if mm is None or not arch.pte_present(val) or not arch.pte_write(val):
            continue
        addr = vpage << k.page_shift
        cur = k.pte_at(mm, addr)
        if not arch.pte_present(cur) or not arch.pte_write(cur):
            out.append(Violation(TLB_STALE, arch.name, "mm=%d addr=%s" % (mm_id, hx(addr)),
                                 "no writable translation (PTE %s)" % hx(cur),
                                 "writable TLB entry %s" % hx(val), addr, arch.pte_pfn(val)))
    return out


def region_notes(k: Kernel, what: str) -> str:
    """One line of per-region work for the result's notes."""
    rs = k.lazy.regions
    return "%s: lazy_mmu %s, %d region(s): %s" % (
        what, k.lazy.kind, len(rs), "; ".join(r.text() for r in rs) if rs else "-")


def _seen(run: Run, k: Kernel, mm_id: int, addr: int, v: int, want: int, why: str) -> None:
    if v != want:
        run.violate(USER_VIEW, "mm=%d addr=%s" % (mm_id, hx(addr)),
                    "version %d (%s)" % (want, why),
                    "SIGSEGV" if v < 0 else "version %d" % v, addr)


def _fork(run: Run, sc: Scenario) -> None:
    for order in sc.orders(run.arch, default=[0, 2]):
        k = run.kernel()
        ps = k.page_size
        parent = k.new_mm()
        m, folios, pages = file_with(k, [order])
        fstart = region(k, 1, pages)
        fv = k.mmap(parent, fstart, pages * ps, VM_READ | VM_WRITE, m)
        astart = region(k, 3, 4)
        av = k.mmap(parent, astart, 4 * ps, VM_READ | VM_WRITE, None)
        before: dict[int, int] = {}
        for i in range(pages):
            before[fstart + i * ps] = k.user_read(parent, fstart + i * ps)
        for a in sorted({fstart, fstart + (pages - 1) * ps, astart, astart + ps}):
            before[a] = k.user_write(parent, a)
            k.user_read(parent, a)
        child = k.fork_mm(parent)
        run.result.violations.extend(check_tlb_rights(k))
        for a, want in sorted(before.items()):
            _seen(run, k, child.id, a, k.user_read(child, a), want, "the parent's data at fork")
        for a in (fstart, astart):
            k.user_write(parent, a)
            _seen(run, k, child.id, a, k.user_read(child, a), before[a],
                  "copy-on-write: the parent's later store is its own")
        k.zap_pte_range(parent, fstart, pages)
        k.zap_pte_range(child, fstart, pages)
        run.result.notes.append(region_notes(k, "%s order %d" % (sc.name, order)))
        del fv, av


def _mremap(run: Run, sc: Scenario) -> None:
    for order in sc.orders(run.arch, default=[0, 2, 4]):
        k = run.kernel()
        ps = k.page_size
        mm = k.new_mm()
        m, folios, pages = file_with(k, [order])
        old = region(k, 1, pages)
        vma = k.mmap(mm, old, pages * ps, VM_READ, m)
        seen = [k.user_read(mm, old + i * ps) for i in range(pages)]
        new = region(k, 3, pages)
        nv = k.mremap_move(vma, new)
        for i in range(pages):
            _seen(run, k, mm.id, new + i * ps, k.user_read(mm, new + i * ps), seen[i],
                  "the moved mapping")
            v = k.user_read(mm, old + i * ps)
            if v >= 0:
                run.violate(TLB_STALE, "mm=%d addr=%s" % (mm.id, hx(old + i * ps)),
                            "SIGSEGV: the old range is unmapped after mremap",
                            "a translation still serves it (version %d)" % v, old + i * ps)
        run.result.notes.append(region_notes(k, "%s order %d" % (sc.name, order)))
        del nv


def _apply(run: Run, sc: Scenario) -> None:
    for order in sc.orders(run.arch, default=[0, 2]):
        k = run.kernel()
        ps = k.page_size
        mm = k.new_mm()
        m, folios, pages = file_with(k, [order])
        start = region(k, 1, pages)
        vma = k.mmap(mm, start, pages * ps, VM_READ | VM_WRITE, None)
        k.apply_to_page_range(vma, start, pages, folios[0].pfn)
        for i in range(pages):
            _seen(run, k, mm.id, start + i * ps, k.user_read(mm, start + i * ps),
                  folios[0].latest[i], "the page apply_to_page_range mapped")
        k.zap_pte_range(mm, start, pages)
        run.result.notes.append(region_notes(k, "%s order %d" % (sc.name, order)))


class LazyCallersFamily(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        kind = sc.get_str("pattern", "fork")
        if kind == "fork":
            _fork(run, sc)
        elif kind == "mremap":
            _mremap(run, sc)
        elif kind == "apply":
            _apply(run, sc)
        else:
            raise ValueError("%s: unknown lazy_callers pattern %r" % (sc.name, kind))


FAMILY: Family = LazyCallersFamily("lazy_callers")
