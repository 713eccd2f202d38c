"""``ArchCalls``: the checked wrappers around the four arch calls, and the
kernel's own actions on page-cache data (which call flush_dcache_folio).

Place in the flow: the third class of ``Kernel``'s chain (see
runtime/machine.py).  ``set_ptes`` / ``update_mmu_cache_range`` /
``flush_dcache_folio`` / ``flush_icache_pages`` check the range
preconditions (raising ``RangeError``), record the call in the script for
the C replay, call the arch, then check what it wrote (``pte_value``,
``pte_outside_range``, ``lazy_mmu``).
"""

from __future__ import annotations

from librt.vecs import append, vec
from mypy_extensions import i64

from runtime.effects import Effects
from runtime.memory import Folio, Mapping, Page
from runtime.mm import Mm, Vma, Vmf
from runtime.pagetable import PteRef, PteTable
from runtime.trace import hx
from runtime.violation import LAZY_MMU, PTE_OUTSIDE_RANGE, PTE_VALUE, RangeError

class ArchCalls(Effects):
    """Checked arch calls and kernel actions.  Only ever instantiated as
    ``runtime.kernel.Kernel``; the arch calls receive it typed as
    ``runtime.primitives.Primitives``."""

    def _begin(self, name: str) -> int:
        self.call = name
        if self.touched:            # (an empty list is reused)
            self.touched = []
        self.win_table = None       # no write allowed unless _window widens it
        if self.buddies:
            self.buddies = []
        self.call_lazy_depth = self.lazy.depth
        return self.trace.mark()

    def _returned(self) -> None:
        """An arch call returned: it must have left lazy MMU mode (the
        deferred stores are then applied so the run can go on)."""
        # a caller's own region (fork, mremap, ...) may be open around the
        # call: the arch must restore the depth it found (runtime/lazy.py)
        if self.lazy.depth > self.call_lazy_depth:
            self.violate(LAZY_MMU, self.call, "lazy MMU mode left before return",
                         "returned in lazy MMU mode")
            while self.lazy.depth > self.call_lazy_depth:
                self.lazy.leave()
            if self.lazy.depth == 0:
                self.lazy.leave_all()
            self._flush_batch()

    def _end(self, mark: int) -> None:
        self._returned()
        if self.script is not None:
            self.script.expect(self.trace.since(mark))
        self.call = ""

    def _vma_of(self, mm: Mm, addr: int) -> Vma | None:
        return mm.find_vma(addr)

    def set_ptes(self, mm: Mm, addr: int, ptep: PteRef, pte: i64,
                 nr: int) -> None:
        """Call the arch's set_ptes after checking the range preconditions
        (include/linux/pgtable.h: one folio, one PMD; and one VMA), then
        check the entries written (pte_value, pte_outside_range)."""
        ps = self.page_size
        if nr < 1:
            raise RangeError("nr", "nr=%d" % nr)
        t = ptep.table
        if ptep.idx + nr > len(t.entries):
            raise RangeError("pmd", "pt=%d idx=%d nr=%d crosses the PMD (%d entries)"
                             % (t.pt, ptep.idx, nr, len(t.entries)))
        if t.addr_of(ptep.idx) != addr:
            raise RangeError("addr", "addr=%s but pt=%d idx=%d maps %s"
                             % (hx(addr), t.pt, ptep.idx, hx(t.addr_of(ptep.idx))))
        # The range invariant is the kernel's own definition: entry i equals
        # pfn_pte(pte_pfn(pte) + i, pte_pgprot(pte)) with the arch's encoders
        # (they know transforms such as x86's PROT_NONE PFN inversion, and
        # derived roles such as present = valid or protnone).  Whether those
        # encoders are right is checked separately against the independent
        # layout codec by the pgtable property scenarios.
        arch = self.arch
        pfn = arch.pte_pfn(pte)
        present = arch.pte_present(pte)
        if present and nr > 1:
            f = self.mem.folio_of(pfn)
            if f is not None and not f.contains(pfn + nr - 1):
                raise RangeError("folio", "pfn=%s nr=%d crosses folio pfn=%s order=%d"
                                 % (hx(pfn), nr, hx(f.pfn), f.order))
        if not mm.is_init:
            vma = mm.find_vma(addr)
            if vma is None or addr + (nr - 1) * ps >= vma.end:
                raise RangeError("vma", "addr=%s nr=%d outside one VMA"
                                 % (hx(addr), nr))
        if self.script is not None:
            self.script.call_set_ptes(self, mm, addr, ptep, pte, nr)
        mark = self._begin("set_ptes")
        self._window(t, ptep.idx, nr)
        if self.generic_set_ptes:
            self._generic_set_ptes(mm, ptep, pte, nr)
        else:
            self.arch.set_ptes(self, mm, addr, ptep, pte, nr)
        self._returned()
        if self.checking:
            self._check_touched(t, ptep.idx, nr)
            prot = arch.pte_pgprot(pte)
            # what the entry holds beyond pfn_pte(pfn, prot): 0 unless
            # pfn_pte() itself adds bits (s390's mk_pte_phys makes the
            # entry young, so an old entry set_ptes is given, e.g. fork's
            # copy, differs); entry i keeps the same difference
            extra = pte ^ arch.pfn_pte(pfn, prot)
            n = nr if present else 1
            lazy = self.lazy
            deferred = lazy.has_pending()
            ents = t.entries
            base = ptep.idx
            for i in range(n):
                exp = arch.pfn_pte(pfn + i, prot)
                if extra != 0:
                    exp ^= extra
                # a store deferred in a caller's lazy region counts as done
                got = lazy.value_at(t, base + i) if deferred else ents[base + i]
                if got != exp:
                    self.violate(PTE_VALUE, "pt=%d idx=%d addr=%s"
                                 % (t.pt, ptep.idx + i, hx(addr + i * ps)),
                                 hx(exp), hx(got), addr + i * ps, pfn + i)
        self._end(mark)

    def _generic_set_ptes(self, mm: Mm, ptep: PteRef, pte: i64, nr: int) -> None:
        """``Arch.set_ptes`` (asm-generic: page_table_check, lazy MMU
        enter, one set_pte per entry advancing by pte_advance, leave) for an
        arch that does not override it, run on table indices instead of
        through the Primitives protocol and a pointer object per entry.
        Same calls in the same order, so the same trace; the range checks
        of set_ptes above already keep idx + nr inside the table."""
        self.page_table_check_ptes_set(mm, ptep, pte, nr)
        self.lazy_mmu_enter()
        arch = self.arch
        t = ptep.table
        idx = ptep.idx
        if self.tlb.pairs:
            # a pair TLB's store has a side effect on the buddy entry
            # (_store_pte): one entry at a time
            i = 0
            while True:
                self._store_pte(t, idx + i, pte)
                i += 1
                if i == nr:
                    break
                pte = arch.pte_advance(pte, 1)
        else:
            # the same stores as _store_pte one by one: every index is in
            # the call's write window (set_ptes' range), so none is
            # recorded in ``touched``; one trace line each, in order
            vals = vec[i64](capacity=nr)
            vals = append(vals, pte)
            for _ in range(1, nr):
                pte = arch.pte_advance(pte, 1)
                vals = append(vals, pte)
            self.trace.set_pte_run(t.pt, idx, vals)
            lazy = self.lazy
            if lazy.active and lazy.defers_stores():
                lazy.defer_run(t, idx, vals)
            else:
                ents = t.entries
                for i in range(nr):
                    ents[idx + i] = vals[i]
        self.lazy_mmu_leave()

    def _window(self, t: PteTable, idx: int, nr: int) -> None:
        """The entries the call in progress may write: stores there are
        not recorded in ``touched`` (what _check_touched(t, idx, nr) would
        pass anyway)."""
        self.win_table = t
        self.win_lo = idx
        self.win_hi = idx + nr

    def _check_touched(self, t: PteTable, idx: int, nr: int) -> None:
        for tt, j in self.touched:
            if tt is not t or j < idx or j >= idx + nr:
                self.violate(PTE_OUTSIDE_RANGE, "pt=%d idx=%d" % (tt.pt, j),
                             "pt=%d idx=%d..%d" % (t.pt, idx, idx + nr - 1),
                             "write to pt=%d idx=%d" % (tt.pt, j))

    def set_pte_at(self, mm: Mm, addr: int, ptep: PteRef, pte: i64) -> None:
        """include/linux/pgtable.h: set_pte_at is set_ptes(..., 1)."""
        self.set_ptes(mm, addr, ptep, pte, 1)

    def update_mmu_cache_range(self, vmf: Vmf | None, vma: Vma, addr: int,
                               ptep: PteRef, nr: int) -> None:
        if self.script is not None:
            self.script.call_update(self, vmf, vma, addr, ptep, nr)
        mark = self._begin("update_mmu_cache_range")
        self._window(ptep.table, ptep.idx, nr)
        self.arch.update_mmu_cache_range(self, vmf, vma, addr, ptep, nr)
        if self.checking:
            self._check_touched(ptep.table, ptep.idx, nr)
        self._end(mark)

    def update_mmu_cache(self, vma: Vma, addr: int, ptep: PteRef) -> None:
        """include/linux/pgtable.h: update_mmu_cache(vma, addr, ptep) is
        update_mmu_cache_range(NULL, vma, addr, ptep, 1)."""
        self.update_mmu_cache_range(None, vma, addr, ptep, 1)

    def flush_dcache_folio(self, folio: Folio) -> None:
        if self.script is not None:
            self.script.call_flush_dcache_folio(self, folio)
        mark = self._begin("flush_dcache_folio")
        self.arch.flush_dcache_folio(self, folio)
        if self.checking and self.touched:
            t, j = self.touched[0]
            self._check_touched(t, j, 0)
        self._end(mark)

    def flush_icache_pages(self, vma: Vma, page: Page, nr: int) -> None:
        if not page.folio.contains(page.pfn + nr - 1):
            raise RangeError("folio", "flush_icache_pages page=%s nr=%d"
                             % (hx(page.pfn), nr))
        if self.script is not None:
            self.script.call_flush_icache_pages(self, vma, page, nr)
        mark = self._begin("flush_icache_pages")
        self.arch.flush_icache_pages(self, vma, page, nr)
        if self.checking and self.touched:
            t, j = self.touched[0]
            self._check_touched(t, j, 0)
        self._end(mark)

    def set_pmd_at(self, mm: Mm, addr: int, pmdp: PteRef, pmd: i64) -> None:
        """The arch's set_pmd_at (do_set_pmd): it must store the leaf
        (pte_value on the PMD entry) and touch no PTE (pte_outside_range)."""
        if self.script is not None:
            self.script.call_set_pmd_at(self, mm, addr, pmdp, pmd)
        mark = self._begin("set_pmd_at")
        self.arch.set_pmd_at(self, mm, addr, pmdp, pmd)
        if self.checking:
            self._check_touched(pmdp.table, pmdp.idx, 0)
            got = pmdp.table.entries[pmdp.idx]
            if got != pmd:
                self.violate(PTE_VALUE, "pmd mm=%d addr=%s" % (mm.id, hx(addr)),
                             hx(pmd), hx(got), addr, self.arch.pte_pfn(pmd))
        self._end(mark)

    def update_mmu_cache_pmd(self, vma: Vma, addr: int, pmdp: PteRef) -> None:
        if self.script is not None:
            self.script.call_update_pmd(self, vma, addr, pmdp)
        mark = self._begin("update_mmu_cache_pmd")
        self.arch.update_mmu_cache_pmd(self, vma, addr, pmdp)
        if self.checking:
            self._check_touched(pmdp.table, pmdp.idx, 0)
        self._end(mark)

    # ------------------------------------------------------------------
    # The cache calls around the range API (cachetlb.rst order: flush the
    # cache, change the page tables, flush the TLB)
    def flush_cache_mm(self, mm: Mm) -> None:
        if self.script is not None:
            self.script.call_flush_cache_mm(self, mm)
        mark = self._begin("flush_cache_mm")
        self.arch.flush_cache_mm(self, mm)
        self._end(mark)

    def flush_cache_dup_mm(self, mm: Mm) -> None:
        """fork's dup_mmap: flush_cache_dup_mm(oldmm) before copying."""
        if self.script is not None:
            self.script.call_flush_cache_mm(self, mm, "flush_cache_dup_mm")
        mark = self._begin("flush_cache_dup_mm")
        self.arch.flush_cache_dup_mm(self, mm)
        self._end(mark)

    def flush_cache_range(self, vma: Vma, start: int, end: int) -> None:
        if self.script is not None:
            self.script.call_flush_cache_range(self, vma, start, end)
        mark = self._begin("flush_cache_range")
        self.arch.flush_cache_range(self, vma, start, end)
        self._end(mark)

    def flush_cache_page(self, vma: Vma, addr: int, pfn: int) -> None:
        if self.script is not None:
            self.script.call_flush_cache_page(self, vma, addr, pfn)
        mark = self._begin("flush_cache_page")
        self.arch.flush_cache_page(self, vma, addr, pfn)
        self._end(mark)

    # ------------------------------------------------------------------
    # The user-page hooks (issue 10 item 2): the arch's copy / clear of a
    # page for a user address; it must copy (clear) exactly once.
    def copy_user_highpage(self, to: Page, src: Page, vaddr: int, vma: Vma) -> None:
        if self.script is not None:
            self.script.call_copy_user_highpage(self, to, src, vaddr, vma)
        mark = self._begin("copy_user_highpage")
        ops = self.user_page_ops
        self.arch.copy_user_highpage(self, to, src, vaddr, vma)
        if self.user_page_ops != ops + 1:
            raise RangeError("copy_user_highpage", "ran %d copies, not one"
                             % (self.user_page_ops - ops))
        self._end(mark)

    def clear_user_highpage(self, page: Page, vaddr: int) -> None:
        if self.script is not None:
            self.script.call_clear_user_highpage(self, page, vaddr)
        mark = self._begin("clear_user_highpage")
        ops = self.user_page_ops
        self.arch.clear_user_highpage(self, page, vaddr)
        if self.user_page_ops != ops + 1:
            raise RangeError("clear_user_highpage", "ran %d clears, not one"
                             % (self.user_page_ops - ops))
        self._end(mark)

    # ------------------------------------------------------------------
    # Kernel actions
    def add_to_page_cache(self, mapping: Mapping, index: int, order: int = 0,
                          pfn: int = -1, fill: bool = True,
                          flush: bool = True) -> Folio:
        """A folio of the file at ``index`` (aligned to its size).  With
        ``fill`` the kernel writes its contents through the kernel alias
        (a CPU copy into the page cache) and, with ``flush``, then calls
        flush_dcache_folio as cachetlb.rst requires."""
        if index & ((1 << order) - 1):
            raise ValueError("page cache folio index not aligned")
        f = self.alloc_folio(order, False, pfn, highmem=True)   # GFP_HIGHUSER_MOVABLE
        f.mapping = mapping
        f.index = index
        mapping.add(f)
        if fill:
            self.kernel_write_folio(f, flush)
        return f

    def kernel_write_page(self, pfn: int) -> int:
        """The kernel stores new data through the direct map (kaddr)."""
        f = self.pfn_folio(pfn)
        v = self.mem.new_version()
        self.dcache.write(f, pfn - f.pfn, self.kernel_alias(pfn), v)
        f.latest[pfn - f.pfn] = v
        return v

    def kernel_read_page(self, pfn: int) -> int:
        f = self.pfn_folio(pfn)
        return self.dcache.read(f, pfn - f.pfn, self.kernel_alias(pfn))

    def kernel_write_folio(self, folio: Folio, flush: bool = True) -> None:
        """Write every page of a (page-cache) folio through the kernel
        alias, then flush_dcache_folio (cachetlb.rst: "Any time the kernel
        writes to a page cache page ... this routine is called")."""
        for i in range(folio.nr_pages):
            self.kernel_write_page(folio.pfn + i)
        if flush:
            self.flush_dcache_folio(folio)

    def file_write(self, mapping: Mapping, index: int, flush: bool = True,
                   writer: Mm | None = None) -> int:
        """write(2) into the page cache (generic_perform_write: copy, then
        flush_dcache_folio), by a task of ``writer`` (default: whatever
        runs: current->active_mm)."""
        if writer is not None:
            self.switch_to(writer)
        f = mapping.folio_at(index)
        if f is None:
            f = self.add_to_page_cache(mapping, index, 0, fill=False)
        v = self.kernel_write_page(f.pfn + index - f.index)
        if flush:
            self.flush_dcache_folio(f)
        return v
