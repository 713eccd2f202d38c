"""``Effects``: the primitives -- what an arch's effects do to the
machine, each appending one trace line (runtime.primitives.TRACE_FORMATS
via runtime.trace's emitters).

Place in the flow: the second class of ``Kernel``'s chain (see
runtime/machine.py); ``runtime.primitives.Primitives`` lists these (with
``Machine``'s queries) as the whole surface generated arch modules may use.
TLB-kind specifics (MIPS pair buddies, pair preloads) are the TLB model's
(runtime/tlb.py), reached through ``self.tlb``.
"""

from __future__ import annotations

from librt.vecs import vec
from mypy_extensions import i64

from runtime.cache import AliasingICache
from runtime.machine import Machine
from runtime.memory import Folio, Page
from runtime.mm import Mm
from runtime.pagetable import PteRef, PteTable
from runtime.primitives import (
    DCACHE_VIVT, GRANULARITY_FOLIO, GRANULARITY_NONE, GRANULARITY_PAGE,
)
from runtime.trace import hx
from runtime.violation import LAZY_MMU, LAZY_MMU_NESTING, PG_ARCH_1_GRANULARITY, TLB_BATCH_PENDING


class Effects(Machine):
    """The primitives (one trace line each)."""

    def set_pte(self, ptep: PteRef, val: i64) -> None:
        self._store_pte(ptep.table, ptep.idx, val)

    def _store_pte(self, t: PteTable, idx: int, val: i64) -> None:
        """set_pte on entry ``idx`` of ``t`` (no pointer object: the
        generic set_ptes loop of runtime/archcalls.py stores by index)."""
        self.trace.set_pte(t.pt, idx, val)
        if self.call != "" and (t is not self.win_table or idx < self.win_lo
                                or idx >= self.win_hi):
            self.touched.append((t, idx))
        lazy = self.lazy
        if lazy.active and lazy.defers_stores():
            lazy.defer_at(t, idx, val)
        else:
            t.entries[idx] = val
        # the TLB kind's side effect of the store (MIPS: the buddy of a
        # global entry gets the global bit; runtime/tlb.py PairsTlb.buddy;
        # only pair TLBs have one)
        if not self.tlb.pairs:
            return
        bidx = self.tlb.buddy(self.arch, t.entries, idx, val)
        if bidx >= 0:
            gval = self.tlb.buddy_value(self.arch)
            self.trace.set_pte_buddy(t.pt, bidx, gval)
            self.buddies.append((t, bidx))
            t.entries[bidx] = gval

    def pgste_set_pte(self, mm: Mm, addr: int, ptep: PteRef, val: i64) -> None:
        t = ptep.table
        self.trace.pgste_set_pte(t.pt, ptep.idx, val)
        if not mm.has_pgste:
            self.violate("pgste", "mm=%d addr=%s" % (mm.id, hx(addr)),
                         "mm with PGSTEs", "mm without PGSTEs", addr)
        if self.call != "" and (t is not self.win_table or ptep.idx < self.win_lo
                                or ptep.idx >= self.win_hi):
            self.touched.append((t, ptep.idx))
        if self.lazy.defers_stores():
            self.lazy.defer(ptep, val)
        else:
            t.entries[ptep.idx] = val

    def read_pte(self, ptep: PteRef) -> i64:
        if self.lazy.active and self.lazy.is_pending(ptep):
            self.violate(LAZY_MMU, "pt=%d idx=%d" % (ptep.table.pt, ptep.idx),
                         "no raw read of an entry deferred in lazy MMU mode",
                         "read of a deferred entry")
        return ptep.table.entries[ptep.idx]

    def page_table_check_ptes_set(self, mm: Mm, ptep: PteRef, pte: i64,
                                  nr: int) -> None:
        self.trace.ptc_set(ptep.table.pt, ptep.idx, pte, nr)
        if not self.ptc.enabled or mm.is_init:
            return
        arch = self.arch
        ents = ptep.table.entries
        base = ptep.idx
        # an empty entry is never a user page on an arch whose empty_pte
        # is not (Machine.__init__ asks once): no call for it
        empty = arch.empty_pte
        skip_empty = not self.empty_is_user_page
        for i in range(nr):
            old = ents[base + i]
            if skip_empty and old == empty:
                continue
            if arch.pte_user_accessible_page(old):
                self.ptc.clear(arch.pte_pfn(old), 1)
        if arch.pte_user_accessible_page(pte):
            self.ptc.set(arch.pte_pfn(pte), nr, arch.pte_write(pte))

    def lazy_mmu_enter(self) -> None:
        self.trace.lazy_mmu_enter()
        if not self.lazy.enter():
            self.violate(LAZY_MMU_NESTING, self.call if self.call else "lazy_mmu",
                         "no lazy MMU region inside another (lazy_mmu %s does not nest)"
                         % self.lazy.kind,
                         "nested enter at depth %d" % self.lazy.depth)

    def lazy_mmu_leave(self) -> None:
        self.trace.lazy_mmu_leave()
        if not self.lazy.leave():
            self.violate(LAZY_MMU, "lazy_mmu", "leave inside lazy MMU mode",
                         "leave without enter")
        self._flush_batch()
        self._check_batch_done()

    def _flush_batch(self) -> None:
        """Do the TLB flushes the lazy state handed over (flush_tlb_pending
        / __flush_tlb_pending; no trace line: the C shim's leave prints
        none either)."""
        for mm_id, vpage in self.lazy.take_flush():
            self.tlb.drop(mm_id, vpage)

    def _check_batch_done(self) -> None:
        """After leaving the mode nothing may stay queued."""
        lz = self.lazy
        if not lz.active and lz.batch:
            mm_id, vpage = lz.batch[0]
            self.violate(TLB_BATCH_PENDING, "mm=%d addr=%s" % (mm_id, hx(vpage << self.page_shift)),
                         "the batch flushed when lazy MMU mode ends (lazy_mmu batch)",
                         "%d TLB flush(es) still queued after leave (lazy_mmu %s)"
                         % (len(lz.batch), lz.kind), vpage << self.page_shift)
            # the run goes on as if the CPU flushed later (once reported)
            for mm_id2, vpage2 in lz.batch:
                self.tlb.drop(mm_id2, vpage2)
            lz.batch = []

    def _kalias(self, pfn: int) -> int:
        """The alias of page_address(pfn): the primitives below work on the
        linear map (a highmem page has none: kaddr reports it)."""
        if self.mem.is_highmem(pfn):
            self.kaddr(pfn)
            return self.kernel_alias(pfn)
        return self.dcache.alias(0, self.kaddr(pfn))

    def dcache_flush_kmap(self, pfn: int, nr: int) -> None:
        """kmap_local_page() each page, write back and invalidate the lines
        of that address, kunmap_local() (lowmem: the linear address)."""
        for p in range(pfn, pfn + nr):
            self.trace.dcache_flush_kmap(p, 1)     # one kmap per page
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.flush(f, p - f.pfn, self.kernel_alias(p))

    def dcache_flush(self, pfn: int, nr: int) -> None:
        self.trace.dcache_flush(pfn, nr)
        for p in range(pfn, pfn + nr):
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.flush(f, p - f.pfn, self._kalias(p))

    def dcache_flush_phys(self, pfn: int, nr: int) -> None:
        """Write back and invalidate every line of each page at every
        colour, found by physical tag (sparc64 spitfire __flush_dcache_page
        walks the D-cache tags, cheetah invalidates by physical address:
        arch/sparc/mm/ultra.S); one trace line per page."""
        for p in range(pfn, pfn + nr):
            self.trace.dcache_flush_phys(p, 1)
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.flush_every_alias(f, p - f.pfn)

    def dcache_flush_user(self, mm: Mm, addr: int, pfn: int, nr: int) -> None:
        self.trace.dcache_flush_user(mm.id, addr, pfn, nr)
        self.dcache.flush_user_pages(self.mem, mm.id, addr, pfn, nr)

    def dcache_clean(self, pfn: int, nr: int) -> None:
        self.trace.dcache_clean(pfn, nr)
        if not self.mem.is_highmem(pfn + nr - 1):     # lowmem: no page_address() report
            self.dcache.writeback_linear(self.mem, pfn, nr, self.arch.kernel_base)
            return
        for p in range(pfn, pfn + nr):
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.writeback(f, p - f.pfn, self._kalias(p))

    def icache_sync(self, pfn: int, nr: int) -> None:
        self.trace.icache_sync(pfn, nr)
        if not self.mem.is_highmem(pfn + nr - 1):     # lowmem: no page_address() report
            self.dcache.writeback_linear(self.mem, pfn, nr, self.arch.kernel_base)
            for p in range(pfn, pfn + nr):
                self.icache.invalidate(p)
            return
        for p in range(pfn, pfn + nr):
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.writeback(f, p - f.pfn, self._kalias(p))
            self.icache.invalidate(p)

    def icache_inval(self, pfn: int, nr: int) -> None:
        self.trace.icache_inval(pfn, nr)
        for p in range(pfn, pfn + nr):
            self.icache.invalidate(p)

    def _icache_all(self) -> None:
        """Every page's kernel-alias D lines reach the point of unification
        and the whole I-cache is invalidated (one CPU in the model).  No
        page_address() is taken: a highmem page's lines are those of its
        kmap_local alias.  Only a dirty line can be written back, so the
        walk is over the dirty lines (of a page in a folio, at the page's
        kernel alias: the linear map's, or the kmap_local slot's), not over
        every page."""
        mem = self.mem
        for p, a in self.dcache.dirty_lines():
            f = mem.folio_of(p)
            if f is not None and a == self.kernel_alias(p):
                self.dcache.writeback(f, p - f.pfn, a)
        self.icache.lines.clear()

    def icache_flush_all(self) -> None:
        self.trace.icache_flush_all()
        self._icache_all()

    def icache_flush_local(self) -> None:
        self.trace.icache_flush_local()
        self._icache_all()

    def icache_inval_mm(self, mm: Mm) -> None:
        self.trace.icache_inval_mm(mm.id)
        self.icache.invalidate_space(mm.id)

    def _granularity(self, want: str, what: str, pfn: int) -> None:
        self.violate(PG_ARCH_1_GRANULARITY, "%s=%s" % (what, hx(pfn)),
                     "PG_arch_1 per %s" % self.arch.pg_arch_1_granularity,
                     "%s primitive on %s" % (want, what), pfn=pfn)

    def _folio_gran(self, folio: Folio) -> None:
        g = self.arch.pg_arch_1_granularity
        if g == GRANULARITY_NONE or (g == GRANULARITY_PAGE and folio.nr_pages > 1):
            self._granularity("folio", "folio", folio.pfn)

    def _page_gran(self, page: Page) -> None:
        g = self.arch.pg_arch_1_granularity
        if g == GRANULARITY_NONE or (g == GRANULARITY_FOLIO and not page.is_head):
            self._granularity("page", "page", page.pfn)

    def folio_test_arch1(self, folio: Folio) -> bool:
        v = folio.page_arch1[0]
        self.trace.folio_test_arch1(folio.pfn, v)
        self._folio_gran(folio)
        return v

    def folio_set_arch1(self, folio: Folio) -> None:
        self.trace.folio_set_arch1(folio.pfn)
        self._folio_gran(folio)
        folio.page_arch1[0] = True

    def folio_clear_arch1(self, folio: Folio) -> None:
        self.trace.folio_clear_arch1(folio.pfn)
        self._folio_gran(folio)
        folio.page_arch1[0] = False

    def page_test_arch1(self, page: Page) -> bool:
        v = page.folio.page_arch1[page.i]
        self.trace.page_test_arch1(page.pfn, v)
        self._page_gran(page)
        return v

    def page_set_arch1(self, page: Page) -> None:
        self.trace.page_set_arch1(page.pfn)
        self._page_gran(page)
        page.folio.page_arch1[page.i] = True

    def page_clear_arch1(self, page: Page) -> None:
        self.trace.page_clear_arch1(page.pfn)
        self._page_gran(page)
        page.folio.page_arch1[page.i] = False

    def tlb_preload(self, mm: Mm, addr: int, ptep: PteRef) -> None:
        t = ptep.table
        self.trace.tlb_preload(mm.id, addr, t.entries[ptep.idx])
        vpage = addr >> self.page_shift
        if t.pt in self.pmd_pts:
            # a PMD leaf (update_mmu_cache_pmd): one huge TLB entry, which
            # the model keeps as the 4 KiB translations of every page of it
            arch = self.arch
            leaf = t.entries[ptep.idx]
            head = arch.pte_pfn(leaf)
            prot = arch.pte_pgprot(leaf)
            first = (ptep.table.addr_of(ptep.idx)) >> self.page_shift
            for j in range(0, arch.ptrs_per_pte, 2):
                sub = vec[i64]([arch.pfn_pte(head + j, prot), arch.pfn_pte(head + j + 1, prot)])
                self.tlb.preload(mm.id, first + j, sub, 0)
                self.tlb.preload(mm.id, first + j + 1, sub, 1)
            return
        self.tlb.preload(mm.id, vpage, t.entries, ptep.idx)

    def set_pmd(self, mm: Mm, addr: int, pmdp: PteRef, val: i64) -> None:
        """set_pmd(pmdp, pmd): store the PMD leaf (one trace line)."""
        arch = self.arch
        pfn = arch.pte_pfn(val)
        self.trace.set_pmd(mm.id, addr, pfn)
        pmdp.table.entries[pmdp.idx] = val
        haddr = (addr >> self.pmd_shift) << self.pmd_shift
        if arch.pte_present(val):
            mm.pmd_leaves[haddr] = pfn
        else:
            mm.pmd_leaves.pop(haddr, None)

    def tlb_flush_all(self) -> None:
        """flush_tlb_all(): every entry of every mm goes."""
        self.trace.tlb_flush_all()
        self.tlb.clear()

    def dcache_flush_user_range(self, mm: Mm, addr: int, nr: int) -> None:
        """Write back and invalidate mm's user lines for the nr pages from
        addr (flush_cache_range / flush_cache_page: cachetlb.rst).  A VIVT
        line needs no translation (keyed by address space and address);
        an aliasing VIPT line is found through the page the entry maps."""
        self.trace.dcache_flush_user_range(mm.id, addr, nr)
        dc = self.dcache
        if dc.coherent:
            return
        if dc.kind == DCACHE_VIVT:
            lo = dc.alias(mm.id, addr)
            hi = lo + nr
            for pfn, a in dc.lines():
                if lo <= a < hi:
                    self._flush_line(pfn, a)
            return
        for i in range(nr):
            a = addr + i * self.page_size
            pte = self.pte_at(mm, a)
            if self.arch.pte_present(pte):
                pfn = self.arch.pte_pfn(pte)
                self._flush_line(pfn, dc.alias(mm.id, a))

    def dcache_flush_user_mm(self, mm: Mm) -> None:
        """flush_cache_mm: every user line of mm."""
        self.trace.dcache_flush_user_mm(mm.id)
        dc = self.dcache
        if dc.coherent:
            return
        if dc.kind == DCACHE_VIVT:
            self.dcache_drop_user_lines(mm.id)
            return
        for v in mm.vmas:
            for a in range(v.start, v.end, self.page_size):
                pte = self.pte_at(mm, a)
                if self.arch.pte_present(pte):
                    self._flush_line(self.arch.pte_pfn(pte), dc.alias(mm.id, a))

    def cache_flush_all(self) -> None:
        """Every D-cache line written back and invalidated, the I-cache
        invalidated (mips __flush_cache_all / r4k_blast_dcache)."""
        self.trace.cache_flush_all()
        for pfn, a in self.dcache.lines():
            self._flush_line(pfn, a)
        self.icache.lines.clear()

    def dcache_flush_all(self) -> None:
        """Every D-cache line written back and invalidated, the I-cache
        left alone (csky abiv1 dcache_wbinv_all)."""
        self.trace.dcache_flush_all()
        for pfn, a in self.dcache.lines():
            self._flush_line(pfn, a)

    def _flush_line(self, pfn: int, alias: int) -> None:
        f = self.mem.folio_of(pfn)
        if f is not None:
            self.dcache.flush(f, pfn - f.pfn, alias)
        else:
            self.dcache.invalidate(pfn, alias)

    def tlb_flush_page(self, mm: Mm, addr: int) -> None:
        self.trace.tlb_flush_page(mm.id, addr)
        haddr = (addr >> self.pmd_shift) << self.pmd_shift
        if haddr in mm.pmd_leaves:
            # a PMD leaf is one (super)page: the fence covers all of it
            first = haddr >> self.page_shift
            for j in range(1 << (self.pmd_shift - self.page_shift)):
                self.tlb.drop(mm.id, first + j)
            return
        self.tlb.drop(mm.id, addr >> self.page_shift)

    def _insert(self, mm: Mm, addr: int, ptep: PteRef) -> None:
        val = ptep.table.entries[ptep.idx]
        if self.arch.pte_present(val):
            self.tlb.load(mm.id, addr >> self.page_shift, val)

    def hpte_insert(self, mm: Mm, addr: int, ptep: PteRef) -> None:
        """hash_preload: insert the HPTE for addr from a present *ptep."""
        self.trace.hpte_insert(mm.id, addr, ptep.table.entries[ptep.idx])
        self._insert(mm, addr, ptep)

    def tsb_insert(self, mm: Mm, addr: int, ptep: PteRef) -> None:
        """__update_mmu_tsb_insert: put the TTE for addr into the TSB."""
        self.trace.tsb_insert(mm.id, addr, ptep.table.entries[ptep.idx])
        self._insert(mm, addr, ptep)

    def tlb_batch_add(self, mm: Mm, addr: int) -> None:
        """tlb_batch_add / hpte_need_flush: queue the flush of addr's
        translation while lazy MMU mode is on (flushing a full batch), else
        flush it at once."""
        self.trace.tlb_batch_add(mm.id, addr)
        self._batch_add(mm.id, addr >> self.page_shift)

    def _batch_add(self, mm_id: int, vpage: int) -> None:
        if self.lazy.active:
            self.lazy.queue(mm_id, vpage)
            self._flush_batch()
        else:
            self.tlb.drop(mm_id, vpage)

    # -- the user-page hooks (issue 10 item 2) -----------------------------
    # The data the caller (runtime/mmcallers.py: do_anonymous_page,
    # wp_page_copy, do_cow_fault) wants a clear to write, and how many
    # copies / clears the arch's hook ran (it must run one).
    zero_version: int = 0
    user_page_ops: int = 0

    def user_colour_alias(self, vaddr: int) -> int:
        """The D-cache alias of a kernel mapping at vaddr's colour
        (kmap_coherent / TLBTEMP): on an aliasing VIPT cache the user
        mapping's own lines; on VIVT another virtual address (its own
        lines); on a coherent cache the one alias."""
        return self.dcache.alias(0, USER_COLOUR_BASE
                                 + ((self.dcache.colour(vaddr)) << self.page_shift))

    def copy_page(self, to: Page, src: Page, mm: Mm, vaddr: int, mode: int) -> None:
        """Copy src to ``to``: read through the kernel address (kmap_local)
        or, with mode bit 0, a kernel mapping at vaddr's colour; write
        likewise (bit 1).  What is read is what the chosen alias holds (a
        line dirty at another alias is not seen)."""
        self.trace.copy_page(src.pfn, to.pfn, vaddr, mode)
        self.user_page_ops += 1
        ra = self.user_colour_alias(vaddr) if mode & 1 else self.kernel_alias(src.pfn)
        wa = self.user_colour_alias(vaddr) if mode & 2 else self.kernel_alias(to.pfn)
        v = self.dcache.read(src.folio, src.i, ra)
        self.dcache.write(to.folio, to.i, wa, v)

    def clear_page(self, page: Page, vaddr: int, mode: int) -> None:
        """Zero the page (the caller's zero version) through the kernel
        address or, with mode bit 1, a kernel mapping at vaddr's colour."""
        self.trace.clear_page(page.pfn, vaddr, mode)
        self.user_page_ops += 1
        wa = self.user_colour_alias(vaddr) if mode & 2 else self.kernel_alias(page.pfn)
        self.dcache.write(page.folio, page.i, wa, self.zero_version)

    def icache_inval_user(self, mm: Mm, addr: int, pfn: int, nr: int) -> None:
        """Invalidate the I-cache lines of nr pages at their user addresses'
        colour (an aliasing I-cache); elsewhere as icache_inval."""
        self.trace.icache_inval_user(mm.id, addr, pfn, nr)
        ic = self.icache
        for i in range(nr):
            if isinstance(ic, AliasingICache):
                ic.invalidate_user(pfn + i, addr + i * self.page_size)
            else:
                ic.invalidate(pfn + i)


# kernel mappings at a user colour (kmap_coherent, TLBTEMP): a window
# aligned far beyond any cache's colour count
USER_COLOUR_BASE = 0x3f000000
