"""``MmCallers``: the generic mm code that calls the range API --
set_pte_range, fault-around (filemap_map_pages and friends), do_set_pmd,
the page-fault path, unmapping.

Place in the flow: the fourth class of ``Kernel``'s chain (see
runtime/machine.py).  Linux 6.6, own Python written from the sources'
behaviour:
* include/linux/minmax.h ``in_range`` (unsigned, wraps at the word size);
* mm/memory.c ``set_pte_range`` (flush_icache_pages, prefault/old PTE with
  ``arch_wants_old_prefaulted_pte``, ``pte_sw_mkyoung``, write/COW,
  rmap and mm counters, set_ptes, update_mmu_cache_range),
  ``do_fault_around`` (fault_around_bytes = 64 KiB), ``do_read_fault``,
  ``do_cow_fault``, ``do_shared_fault``, ``finish_fault``, ``do_set_pmd``,
  ``do_anonymous_page``, ``handle_pte_fault``'s present-PTE tail and
  ``do_wp_page``;
* mm/filemap.c ``filemap_map_pages``, ``filemap_map_folio_range`` (batches
  of none PTEs in one folio), ``filemap_map_order0_folio``,
  ``filemap_map_pmd``;
* the callers that open their own lazy MMU region around set_pte_at (the
  "lazy-MMU callers" block at the end): kernel/fork.c ``dup_mmap`` with
  mm/memory.c ``copy_pte_range`` / ``copy_present_pte``, mm/mremap.c
  ``move_ptes``, mm/memory.c ``apply_to_pte_range`` and ``zap_pte_range``;
  and, for TLB kinds whose PTE update flushes (hash, tsb:
  runtime/tlb.py), that flush and the empty generic flush_tlb_*.
Simplifications (documented, deliberate): an anonymous write fault
allocates a fresh order-0 page (no mTHP), mapped writable+dirty when the
VMA is writable; a read fault maps the one shared zero page (no
per-colour zero pages as mips/s390 have); COW copies and zeroed anonymous
pages go through the arch's copy_user_highpage / clear_user_highpage
(runtime/archcalls.py), whose data moves through the D-cache aliases it
names (runtime/effects.py copy_page / clear_page); HWPoison, uffd and mlock are
not modelled; fault-around only needs a file VMA.
"""

from __future__ import annotations

from typing import Final

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.archcalls import ArchCalls
from runtime.memory import Folio, Page
from runtime.mm import Mm, Vma, Vmf
from runtime.pagetable import PteRef
from runtime.primitives import ICACHE_ASN_TAGGED
from runtime.pteval import s64
from runtime.violation import RangeError

# VM_READ | VM_WRITE | VM_EXEC, once (a Final is a C static when compiled;
# an imported name is a module-dict lookup per use)
_VM_ACCESS: Final = VM_READ | VM_WRITE | VM_EXEC


def in_range(val: int, start: int, length: int, bits: int = 64) -> bool:
    """include/linux/minmax.h in_range(): (val - start) < len, unsigned,
    wrapping at ``bits`` (32 when all three are 32-bit, else 64)."""
    if (val >= 0 and start >= 0 and length >= 0 and val >> bits == 0
            and start >> bits == 0 and length >> bits == 0):
        # every operand already a word: no (1 << 64) - 1 mask (a boxed
        # int); below start the difference wraps to 2**bits - (start - val)
        if val >= start:
            return val - start < length
        return (start - val + length - 1) >> bits != 0
    mask = (1 << bits) - 1
    return ((val - start) & mask) < (length & mask)



class MmCallers(ArchCalls):
    """Generic callers of the range API and the fault path."""

    def set_pte_range(self, vmf: Vmf, folio: Folio, page: Page, nr: int,
                      addr: int, ptep: PteRef) -> None:
        """mm/memory.c set_pte_range (v6.6).  ``ptep`` is vmf->pte."""
        arch = self.arch
        vma = vmf.vma
        write = vmf.write
        hit = in_range(vmf.address, addr, nr * self.page_size, arch.word_bits)
        # v6.6 text: prefault = in_range(...); later kernels test the
        # negation (the faulting page is the one NOT prefaulted).
        prefault = hit if self.v66_prefault else not hit
        self.flush_icache_pages(vma, page, nr)
        entry = arch.pfn_pte(page.pfn, vma.page_prot)          # mk_pte
        if prefault and arch.wants_old_prefaulted_pte(self.cpu):
            entry = arch.pte_mkold(entry)
        else:
            entry = arch.pte_sw_mkyoung(entry)
        if write:
            entry = arch.pte_mkdirty(entry)
            if vma.write:                                      # maybe_mkwrite
                entry = arch.pte_mkwrite(entry)
        mm = vma.mm
        if write and not vma.shared:
            if nr != 1:
                raise RangeError("nr", "VM_BUG_ON_FOLIO(nr != 1): COW set_pte_range nr=%d" % nr)
            mm.anon_pages += nr
            folio.anon = True                                  # folio_add_new_anon_rmap
            folio.mapcount[page.i] += 1
        else:
            if folio.anon:
                mm.anon_pages += nr
            else:
                mm.file_pages += nr
            mc = folio.mapcount
            for i in range(page.i, page.i + nr):               # folio_add_file_rmap_range
                mc[i] = mc[i] + 1          # (not mc[i] += 1: a generic boxed add)
        self.set_ptes(mm, addr, ptep, entry, nr)
        self.update_mmu_cache_range(vmf, vma, addr, ptep, nr)

    def filemap_map_folio_range(self, vmf: Vmf, folio: Folio, start: int,
                                addr: int, nr_pages: int, ptep: PteRef) -> bool:
        """mm/filemap.c filemap_map_folio_range (v6.6): map runs of none
        PTEs of one folio with one set_pte_range each.  Returns whether the
        faulting address was mapped (VM_FAULT_NOPAGE)."""
        arch = self.arch
        ps = self.page_size
        ents = ptep.table.entries
        idx = ptep.idx
        pi = start
        count = 0
        ret = False
        while nr_pages > 0:
            if not arch.pte_none(ents[idx + count]):
                if count:
                    self.set_pte_range(vmf, folio, folio.page(pi), count, addr,
                                       PteRef(ptep.table, idx))
                    folio.refcount += count
                    if in_range(vmf.address, addr, count * ps, arch.word_bits):
                        ret = True
                count += 1
                pi += count
                idx += count
                addr += count * ps
                count = 0
            else:
                count += 1
            nr_pages -= 1
        if count:
            self.set_pte_range(vmf, folio, folio.page(pi), count, addr,
                               ptep if idx == ptep.idx else PteRef(ptep.table, idx))
            folio.refcount += count
            if in_range(vmf.address, addr, count * ps, arch.word_bits):
                ret = True
        return ret

    def filemap_map_order0_folio(self, vmf: Vmf, folio: Folio, addr: int,
                                 ptep: PteRef) -> bool:
        if not self.arch.pte_none(ptep.table.entries[ptep.idx]):
            return False
        ret = vmf.address == addr
        self.set_pte_range(vmf, folio, folio.page(0), 1, addr, ptep)
        folio.refcount += 1
        return ret

    def filemap_map_pages(self, vmf: Vmf, start_pgoff: int, end_pgoff: int) -> bool:
        """mm/filemap.c filemap_map_pages (v6.6): walk the page-cache
        folios of [start_pgoff, end_pgoff] and map what is there."""
        vma = vmf.vma
        mapping = vma.mapping
        if mapping is None:
            return False
        pos = start_pgoff
        folio: Folio | None = None
        while pos <= end_pgoff:
            folio = mapping.folio_at(pos)
            if folio is not None:
                break
            pos += 1
        if folio is None:
            return False
        if self.filemap_map_pmd(vmf, folio, pos):
            return True
        addr = vma.start + ((pos - vma.pgoff) << self.page_shift)
        table = self.pte_table(vma.mm, addr, True)
        assert table is not None
        ret = False
        while folio is not None:
            xa_index = pos
            end = folio.index + folio.nr_pages - 1
            nr_pages = min(end, end_pgoff) - xa_index + 1
            a = vma.start + ((xa_index - vma.pgoff) << self.page_shift)
            ptep = PteRef(table, (a >> self.page_shift) & (self.arch.ptrs_per_pte - 1))
            if not folio.large:
                ret = self.filemap_map_order0_folio(vmf, folio, a, ptep) or ret
            else:
                ret = self.filemap_map_folio_range(vmf, folio, xa_index - folio.index,
                                                   a, nr_pages, ptep) or ret
            pos = folio.index + folio.nr_pages
            folio = None
            while pos <= end_pgoff:
                folio = mapping.folio_at(pos)
                if folio is not None:
                    break
                pos += 1
        return ret

    def filemap_map_pmd(self, vmf: Vmf, folio: Folio, start: int) -> bool:
        """mm/filemap.c filemap_map_pmd: a PMD-sized folio at a PMD-aligned
        spot with an empty PMD is mapped by do_set_pmd."""
        vma = vmf.vma
        mm = vma.mm
        base = (vmf.address >> self.pmd_shift) << self.pmd_shift
        if mm.pmd_leaves and base in mm.pmd_leaves:
            return True
        pmd_order = self.pmd_shift - self.page_shift
        if folio.order == pmd_order and base not in mm.tables:
            return self.do_set_pmd(vmf, folio.page(0))
        return False

    def do_set_pmd(self, vmf: Vmf, page: Page) -> bool:
        """mm/memory.c do_set_pmd (6.12 L4926-4998): map a PMD-order file
        folio with one PMD leaf: flush_icache_pages(vma, page,
        HPAGE_PMD_NR), ``mk_huge_pmd`` (pmd_mkdirty + maybe_pmd_mkwrite on a
        write fault), rmap and counters, then the arch hook pair
        ``set_pmd_at`` and ``update_mmu_cache_pmd``.  Without
        CONFIG_TRANSPARENT_HUGEPAGE (``Arch.thp`` false) it is
        VM_FAULT_FALLBACK (L5001-5004): the caller maps PTEs."""
        if not self.arch.thp:
            return False
        vma = vmf.vma
        mm = vma.mm
        folio = page.folio
        pmd_order = self.pmd_shift - self.page_shift
        haddr = (vmf.address >> self.pmd_shift) << self.pmd_shift
        if haddr < vma.start or haddr + (1 << self.pmd_shift) > vma.end:
            return False                                   # !transhuge_vma_suitable
        if folio.order != pmd_order:
            return False
        if ((haddr - vma.start) >> self.page_shift) + vma.pgoff != folio.index:
            return False
        if haddr in mm.pmd_leaves or haddr in mm.tables:
            return False
        self.flush_icache_pages(vma, folio.page(0), folio.nr_pages)
        arch = self.arch
        entry = s64(arch.layout.with_role(arch.pfn_pte(folio.pfn, vma.page_prot), "huge", True))
        if vmf.write:
            entry = arch.pte_mkdirty(entry)
            if vma.write:
                entry = arch.pte_mkwrite(entry)
        mm.file_pages += folio.nr_pages
        folio.entire_mapcount += 1
        folio.refcount += 1
        pmdp = self.pmd_ref(mm, haddr)
        self.set_pmd_at(mm, haddr, pmdp, entry)
        self.update_mmu_cache_pmd(vma, haddr, pmdp)
        return True

    def zap_pmd(self, mm: Mm, addr: int) -> None:
        """zap_huge_pmd (mm/huge_memory.c): clear the PMD leaf mapping addr
        (pmdp_huge_get_and_clear), drop the rmap and counters, flush the
        TLB over the PMD (tlb_remove_pmd_tlb_entry)."""
        haddr = (addr >> self.pmd_shift) << self.pmd_shift
        pfn = mm.pmd_leaves.pop(haddr, -1)
        if pfn < 0:
            return
        pmdp = self.pmd_ref(mm, haddr)
        pmdp.table.entries[pmdp.idx] = self.arch.empty_pte
        f = self.mem.folio_of(pfn)
        if f is not None:
            f.entire_mapcount -= 1
            f.refcount -= 1
            mm.file_pages -= f.nr_pages
        for i in range(1 << (self.pmd_shift - self.page_shift)):
            self.tlb.drop(mm.id, (haddr >> self.page_shift) + i)

    def do_fault_around(self, vmf: Vmf) -> bool:
        """mm/memory.c do_fault_around (v6.6)."""
        vma = vmf.vma
        nr_pages = max(self.fault_around_bytes >> self.page_shift, 1)
        ptrs = self.arch.ptrs_per_pte
        pte_off = (vmf.address >> self.page_shift) & (ptrs - 1)
        vma_off = vmf.pgoff - vma.pgoff
        from_pte = max(pte_off & ~(nr_pages - 1), pte_off - min(pte_off, vma_off))
        vma_pages = (vma.end - vma.start) >> self.page_shift
        to_pte = min(from_pte + nr_pages, ptrs, pte_off + vma_pages - vma_off) - 1
        return self.filemap_map_pages(vmf, vmf.pgoff + from_pte - pte_off,
                                      vmf.pgoff + to_pte - pte_off)

    def _file_folio(self, vma: Vma, pgoff: int) -> Folio:
        """__do_fault's ->fault: find or read the page-cache folio."""
        mapping = vma.mapping
        assert mapping is not None
        f = mapping.folio_at(pgoff)
        if f is None:
            f = self.add_to_page_cache(mapping, pgoff, 0)
        return f

    def finish_fault(self, vmf: Vmf, page: Page) -> None:
        """mm/memory.c finish_fault (v6.6)."""
        vma = vmf.vma
        folio = page.folio
        mm = vma.mm
        base = (vmf.address >> self.pmd_shift) << self.pmd_shift
        if base not in mm.tables and base not in mm.pmd_leaves and folio.large:
            if self.do_set_pmd(vmf, page):
                return
        if base in mm.pmd_leaves:
            return
        ptep = self.pte_ref(mm, vmf.address, True)
        assert ptep is not None
        if self.arch.pte_none(ptep.table.entries[ptep.idx]):
            self.set_pte_range(vmf, folio, page, 1, vmf.address, ptep)

    def do_read_fault(self, vmf: Vmf) -> None:
        if (self.fault_around_bytes >> self.page_shift) > 1:
            if self.do_fault_around(vmf):
                return
        f = self._file_folio(vmf.vma, vmf.pgoff)
        self.finish_fault(vmf, f.page(vmf.pgoff - f.index))

    def do_shared_fault(self, vmf: Vmf) -> None:
        f = self._file_folio(vmf.vma, vmf.pgoff)
        self.finish_fault(vmf, f.page(vmf.pgoff - f.index))

    def _cow_copy(self, src: Folio, si: int, vma: Vma | None = None,
                  vaddr: int = 0) -> Folio:
        """A new anonymous page holding src page si for the user address
        vaddr of vma: the arch's copy_user_highpage (wp_page_copy's
        __wp_page_copy_user and do_cow_fault, 6.12 mm/memory.c L3361 and
        L5357, through copy_mc_user_highpage, include/linux/highmem.h
        L380-385 where the arch has no copy_mc_to_kernel); a COW of the
        zero page is vma_alloc_zeroed_movable_folio (folio_prealloc
        need_zero, L1057-1066).  What the page must then hold, seen at the
        user address, is what the user saw at the source (latest)."""
        new = self.alloc_folio(0, True, highmem=True)      # GFP_HIGHUSER_MOVABLE
        if vma is None:
            v = self._latest_visible(src, si)
            new.ram[0] = v
            new.latest[0] = v
            return new
        if src.zero:
            self.zero_fill(new.page(0), vaddr)
            return new
        self.copy_user_highpage(new.page(0), src.page(si), vaddr, vma)
        new.latest[0] = self._latest_visible(src, si)
        return new

    def zero_fill(self, page: Page, vaddr: int) -> None:
        """vma_alloc_zeroed_movable_folio's clear_user_highpage (6.12
        include/linux/highmem.h L200-227): the page must read as zero at
        the user address (a fresh zero version the arch's clear writes)."""
        z = self.mem.new_version()
        self.zero_version = z
        page.folio.latest[page.i] = z
        self.clear_user_highpage(page, vaddr)

    def _latest_visible(self, f: Folio, i: int) -> int:
        return f.latest[i]

    def do_cow_fault(self, vmf: Vmf) -> None:
        f = self._file_folio(vmf.vma, vmf.pgoff)
        new = self._cow_copy(f, vmf.pgoff - f.index, vmf.vma, vmf.address)
        ptep = self.pte_ref(vmf.vma.mm, vmf.address, True)
        assert ptep is not None
        if self.arch.pte_none(ptep.table.entries[ptep.idx]):
            self.set_pte_range(vmf, new, new.page(0), 1, vmf.address, ptep)

    def do_anonymous_page(self, vmf: Vmf) -> None:
        """mm/memory.c do_anonymous_page (6.12 L4736-4830): a read fault of
        a private anonymous VMA maps the shared zero page
        (``pte_mkspecial(pfn_pte(my_zero_pfn(addr), prot))``, no
        pte_sw_mkyoung) unless mm_forbids_zeropage(); otherwise a fresh
        zeroed order-0 page, ``pte_sw_mkyoung(mk_pte(...))``, made
        writable+dirty when the VMA is writable."""
        vma = vmf.vma
        arch = self.arch
        if not vmf.write and not vma.shared and not self.mm_forbids_zeropage(vma.mm):
            self.map_zero_page(vmf)
            return
        f = self.alloc_folio(0, True, highmem=True)          # GFP_HIGHUSER
        # vma_alloc_zeroed_movable_folio: clear_user_highpage at the fault
        # address (6.12 alloc_anon_folio -> folio_prealloc(..., true); an
        # mTHP folio is folio_zero_user, clear_user_highpage per page,
        # L4718 / L6831; 6.6 allocates order 0 only)
        self.zero_fill(f.page(0), vmf.address)
        entry = arch.pfn_pte(f.pfn, vma.page_prot)
        entry = arch.pte_sw_mkyoung(entry)                   # 6.12 L4802
        if vma.write:
            entry = arch.pte_mkwrite(arch.pte_mkdirty(entry))
        ptep = self.pte_ref(vma.mm, vmf.address, True)
        assert ptep is not None
        vma.mm.anon_pages += 1
        f.mapcount[0] += 1
        self.set_pte_at(vma.mm, vmf.address, ptep, entry)
        self.update_mmu_cache_range(vmf, vma, vmf.address, ptep, 1)

    def map_zero_page(self, vmf: Vmf) -> None:
        """do_anonymous_page's read-fault branch (6.12 mm/memory.c
        L4756-4776 and setpte L4822-4826): the shared zero page,
        ``pte_mkspecial(pfn_pte(my_zero_pfn(addr), vma->vm_page_prot))``
        (no pte_sw_mkyoung), set_ptes and update_mmu_cache_range; no rmap,
        no mm counter (vm_normal_page() skips it)."""
        vma = vmf.vma
        arch = self.arch
        z = self.mem.zero_folio()
        entry = arch.pte_mkspecial(arch.pfn_pte(z.pfn, vma.page_prot))
        ptep = self.pte_ref(vma.mm, vmf.address, True)
        assert ptep is not None
        self.set_ptes(vma.mm, vmf.address, ptep, entry, 1)
        self.update_mmu_cache_range(vmf, vma, vmf.address, ptep, 1)

    def remap_pfn_range(self, vma: Vma, addr: int, pfn: int, nr: int,
                        lazy: bool = True) -> None:
        """remap_pfn_range -> remap_pte_range (6.12 mm/memory.c
        L2544-2568): for each page ``set_pte_at(mm, addr, pte,
        pte_mkspecial(pfn_pte(pfn, prot)))`` over none entries, inside the
        caller's own lazy MMU region (arch_enter/leave_lazy_mmu_mode around
        the loop; ``lazy``), and no update_mmu_cache.  The pfns may have no
        struct page (device memory): arch code must not take their folio.
        ``lazy`` is on by default, as in the kernel (6.12 mm/memory.c
        L2555/L2565; the same region in 6.6): the arch's own set_pte_at /
        set_ptes region nests inside it (runtime/lazy.py), and an arch
        that ends the caller's region or leaves a batch pending is caught
        (lazy_mmu_nesting, tlb_batch_pending)."""
        arch = self.arch
        mm = vma.mm
        ps = self.page_size
        if addr < vma.start or addr + nr * ps > vma.end:
            raise RangeError("vma", "remap_pfn_range outside the VMA")
        if lazy:
            self.lazy_mmu_enter()
        for i in range(nr):
            a = addr + i * ps
            ptep = self.pte_ref(mm, a, True)
            assert ptep is not None
            if not arch.pte_none(ptep.table.entries[ptep.idx]):
                raise RangeError("pte", "remap_pte_range: BUG_ON(!pte_none) at 0x%x" % a)
            self.set_pte_at(mm, a, ptep, arch.pte_mkspecial(arch.pfn_pte(pfn + i, vma.page_prot)))
        if lazy:
            self.lazy_mmu_leave()

    def ptep_clear(self, mm: Mm, addr: int, flush: bool = True, cache: bool = True) -> int:
        """ptep_get_and_clear (+ flush_tlb_page with ``flush``), with
        page_table_check's clear, rmap and counters (zap_pte_range).  With
        ``flush`` and ``cache`` the arch's flush_cache_page(vma, addr, pfn)
        runs first, as ptep_clear_flush's callers do (mm/memory.c
        wp_page_copy, mm/rmap.c try_to_unmap_one); a caller that already
        ran flush_cache_range over the VMA passes ``cache=False``."""
        if flush and cache:
            vma = mm.find_vma(addr)
            cur = self.pte_at(mm, addr)
            if vma is not None and self.arch.pte_present(cur):
                self.flush_cache_page(vma, addr, self.arch.pte_pfn(cur))
        ptep = self.pte_ref(mm, addr)
        if ptep is None:
            return self.arch.empty_pte
        t = ptep.table
        old = t.entries[ptep.idx]
        self.trace.pte_clear(t.pt, ptep.idx)
        t.entries[ptep.idx] = self.arch.empty_pte
        self.pte_update_flush(mm, addr, old)
        arch = self.arch
        if arch.pte_present(old):
            pfn = arch.pte_pfn(old)
            if self.ptc.enabled and not mm.is_init and arch.pte_user_accessible_page(old):
                self.ptc.clear(pfn, 1)
            f = self.mem.folio_of(pfn)
            # vm_normal_page(): no rmap or counter for special entries nor
            # for the zero page (is_zero_pfn where there is no special bit)
            if f is not None and not arch.pte_special(old) and not f.zero:
                f.mapcount[pfn - f.pfn] -= 1
                if f.anon:
                    mm.anon_pages -= 1
                else:
                    mm.file_pages -= 1
        if flush:
            self.flush_tlb_page_generic(mm, addr)
        return old

    def zap_range(self, mm: Mm, addr: int, nr: int, flush: bool = True) -> None:
        """zap_page_range_single / unmap_vmas: per VMA the range touches,
        tlb_start_vma's flush_cache_range(vma, vm_start, vm_end)
        (include/asm-generic/tlb.h, 6.12), then zap_pte_range clears the
        entries (no flush_cache_page) and the TLB is flushed."""
        end = addr + nr * self.page_size
        if flush:
            for v in list(mm.vmas):
                if v.start < end and addr < v.end:
                    self.flush_cache_range(v, v.start, v.end)
        for i in range(nr):
            self.ptep_clear(mm, addr + i * self.page_size, flush, False)

    def munmap(self, mm: Mm, vma: Vma) -> None:
        """munmap(2) of a whole VMA (do_vmi_munmap -> unmap_region): zap it
        with its cache and TLB flushes, then the VMA leaves the mm and its
        file's i_mmap."""
        self.zap_range(mm, vma.start, (vma.end - vma.start) >> self.page_shift)
        if vma in mm.vmas:
            mm.vmas.remove(vma)
            if vma.mapping is not None:
                vma.mapping.nr_vmas -= 1

    def exit_mmap(self, mm: Mm) -> None:
        """exit_mmap (mm/mmap.c, 6.12): flush_cache_mm(mm), then every VMA
        is unmapped as a full-mm gather (no flush_cache_range per VMA),
        the TLB flushed, the VMAs freed."""
        self.flush_cache_mm(mm)
        for v in list(mm.vmas):
            for a in range(v.start, v.end, self.page_size):
                self.ptep_clear(mm, a, True, False)
            mm.vmas.remove(v)
            if v.mapping is not None:
                v.mapping.nr_vmas -= 1

    def do_wp_page(self, vmf: Vmf, ptep: PteRef) -> None:
        """mm/memory.c do_wp_page: shared -> make writable in place
        (wp_page_shared); private -> copy to a new anon page (wp_page_copy:
        ptep_clear_flush, set_pte_at, update_mmu_cache)."""
        vma = vmf.vma
        arch = self.arch
        old = ptep.table.entries[ptep.idx]
        if vma.shared:
            entry = arch.pte_mkwrite(arch.pte_mkdirty(arch.pte_mkyoung(old)))
            self.set_pte_at(vma.mm, vmf.address, ptep, entry)
            self.tlb_flush_page(vma.mm, vmf.address)          # flush_tlb_fix_spurious_fault
            self.update_mmu_cache_range(vmf, vma, vmf.address, ptep, 1)
            return
        src = self.pfn_folio(arch.pte_pfn(old))
        new = self._cow_copy(src, arch.pte_pfn(old) - src.pfn, vma, vmf.address)
        self.ptep_clear(vma.mm, vmf.address, True)
        entry = arch.pfn_pte(new.pfn, vma.page_prot)
        entry = arch.pte_sw_mkyoung(entry)                   # wp_page_copy, 6.12 L3403
        entry = arch.pte_mkwrite(arch.pte_mkdirty(entry))
        vma.mm.anon_pages += 1
        new.mapcount[0] += 1
        self.set_pte_at(vma.mm, vmf.address, ptep, entry)
        self.update_mmu_cache_range(vmf, vma, vmf.address, ptep, 1)

    def handle_mm_fault(self, mm: Mm, addr: int, write: bool, exec: bool) -> bool:
        """The page-fault path; False means SIGSEGV."""
        self.faults += 1
        vma = mm.find_vma(addr)
        if vma is None:
            return False
        if write and not vma.write:
            return False
        if exec and not vma.exec:
            return False
        if not (vma.flags & _VM_ACCESS):
            return False
        addr &= ~(self.page_size - 1)
        pgoff = ((addr - vma.start) >> self.page_shift) + vma.pgoff
        vmf = Vmf(vma, addr, pgoff, write, exec)
        base = (addr >> self.pmd_shift) << self.pmd_shift
        if mm.pmd_leaves and base in mm.pmd_leaves:
            return True
        arch = self.arch
        t = self.pte_table(mm, addr)
        idx = (addr >> self.page_shift) & (arch.ptrs_per_pte - 1)
        pte = arch.empty_pte if t is None else t.entries[idx]
        if t is None or arch.pte_none(pte):
            if vma.anon:
                self.do_anonymous_page(vmf)
            elif not write:
                self.do_read_fault(vmf)
            elif not vma.shared:
                self.do_cow_fault(vmf)
            else:
                self.do_shared_fault(vmf)
            return True
        ptep = PteRef(t, idx)
        vmf.pte = ptep
        vmf.orig_pte = pte
        if write and not arch.pte_write(pte):
            self.do_wp_page(vmf, ptep)
            return True
        # handle_pte_fault's tail: ptep_set_access_flags, else spurious
        entry = arch.pte_mkyoung(pte)
        if write:
            entry = arch.pte_mkdirty(entry)
        if entry != pte:
            self.set_pte_at(mm, addr, ptep, entry)
            self.tlb_flush_page(mm, addr)                    # flush_tlb_fix_spurious_fault
            self.update_mmu_cache_range(vmf, vma, addr, ptep, 1)
        elif write:
            self.tlb_flush_page(mm, addr)
        return True

    # -- mprotect (issue 10 item 7) ----------------------------------------
    def pte_modify(self, old: int, prot: int) -> int:
        """pte_modify(old, newprot): the new protection with the entry's
        pfn, young, dirty and special kept (the _PAGE_CHG_MASK bits the
        archs keep; mm/mprotect.c change_pte_range)."""
        a = self.arch
        e = a.pfn_pte(a.pte_pfn(old), prot)
        e = a.pte_mkyoung(e) if a.pte_young(old) else a.pte_mkold(e)
        if a.pte_dirty(old):
            e = a.pte_mkdirty(e)
        if a.pte_special(old):
            e = a.pte_mkspecial(e)
        return e

    def ptep_modify_prot_start(self, mm: Mm, addr: int, ptep: PteRef) -> int:
        """include/linux/pgtable.h __ptep_modify_prot_start: ptep_get_and_clear
        (page_table_check_pte_clear of a user entry; the rmap and counters do
        not change: the page stays mapped)."""
        t = ptep.table
        old = t.entries[ptep.idx]
        self.trace.pte_clear(t.pt, ptep.idx)
        t.entries[ptep.idx] = self.arch.empty_pte
        a = self.arch
        if (self.ptc.enabled and not mm.is_init and a.pte_present(old)
                and a.pte_user_accessible_page(old)):
            self.ptc.clear(a.pte_pfn(old), 1)
        return old

    def ptep_modify_prot_commit(self, vma: Vma, addr: int, ptep: PteRef, old: int,
                                pte: int) -> None:
        """__ptep_modify_prot_commit: set_pte_at over the cleared entry."""
        self.set_pte_at(vma.mm, addr, ptep, pte)

    def change_pte_range(self, vma: Vma, start: int, end: int, newprot: int,
                         lazy: bool = True) -> int:
        """mm/mprotect.c change_pte_range (6.12.117 L86-291): for every
        present entry of [start, end) ptep_modify_prot_start, pte_modify,
        ptep_modify_prot_commit; then the range's TLB entries are flushed
        (tlb_flush_pte_range, done by tlb_finish_mmu).  Returns the number
        of entries changed.  The kernel runs the loop inside
        arch_enter/leave_lazy_mmu_mode (L109, L290; the same region in
        6.6); ``lazy`` (on by default) does so here too, so the arch's own
        region in set_pte_at nests inside the caller's (runtime/lazy.py)."""
        a = self.arch
        mm = vma.mm
        changed: list[int] = []
        if lazy:
            self.lazy_mmu_enter()
        addr = start
        while addr < end:
            ptep = self.pte_ref(mm, addr)
            if ptep is not None:
                old = ptep.table.entries[ptep.idx]
                if a.pte_present(old):
                    oldpte = self.ptep_modify_prot_start(mm, addr, ptep)
                    ptent = self.pte_modify(oldpte, newprot)
                    self.ptep_modify_prot_commit(vma, addr, ptep, oldpte, ptent)
                    changed.append(addr)
            addr += self.page_size
        if lazy:
            self.lazy_mmu_leave()
        for x in changed:
            self.tlb_flush_page(mm, x)
        return len(changed)

    def mprotect(self, vma: Vma, flags: int) -> int:
        """mprotect_fixup + change_protection for a whole VMA: the new
        vm_flags and vm_page_prot (vm_get_page_prot on this CPU), then
        change_pte_range over it.  MAP_SHARED does not change."""
        if (flags ^ vma.flags) & VM_SHARED:
            raise ValueError("mprotect cannot change VM_SHARED")
        vma.flags = flags
        vma.page_prot = self.arch.vm_get_page_prot_cpu(flags, self.cpu)
        return self.change_pte_range(vma, vma.start, vma.end, vma.page_prot)
    # ------------------------------------------------------------------
    # Lazy-MMU callers and the PTE-update flush (hash / TSB TLB kinds).
    # Each opens its region with the lazy_mmu_enter / lazy_mmu_leave
    # primitives (the arch's arch_enter/leave_lazy_mmu_mode, no arguments),
    # so an arch's own set_ptes region nests inside (runtime/lazy.py).

    def flush_tlb_page_generic(self, mm: Mm, addr: int) -> None:
        """flush_tlb_page / flush_tlb_range (one page): empty on TLB kinds
        whose PTE update already queued the flush (tlbflush-hash.h
        hash__flush_tlb_page, sparc tlbflush_64.h)."""
        if self.tlb.flushed_by_pte_update():
            return
        self.tlb_flush_page(mm, addr)
        if self.icache.kind == ICACHE_ASN_TAGGED:
            # alpha: a user TLB flush gives the mm a new ASN (the zap's
            # flush_tlb_range is flush_tlb_mm; flush_tlb_page of a
            # VM_EXEC VMA too, arch/alpha/include/asm/tlbflush.h), which
            # is also the flush of its ASN-tagged I-cache lines (for a
            # non-exec VMA's flush_tlb_page the model drops them too)
            self.icache.invalidate_space(mm.id)

    def flush_tlb_mm_generic(self, mm: Mm) -> None:
        """flush_tlb_mm (dup_mmap's flush of the parent): empty on hash /
        TSB kinds; elsewhere every translation of the mm goes."""
        if self.tlb.flushed_by_pte_update():
            return
        self.tlb.drop_mm(mm.id)
        if self.icache.kind == ICACHE_ASN_TAGGED:
            self.icache.invalidate_space(mm.id)     # alpha: a new ASN

    def pte_update_flush(self, mm: Mm, addr: int, old: int) -> None:
        """The arch side of changing a PTE that may be cached, on hash /
        TSB kinds: powerpc pte_update -> hpte_need_flush (old entry had
        _PAGE_HASHPTE; hash_tlb.c), sparc64 set_pte_at / pte_clear ->
        tlb_batch_add (old entry valid; arch/sparc/mm/tlb.c): queued in the
        per-CPU batch in lazy MMU mode, else flushed at once."""
        if not self.tlb.flushed_by_pte_update() or not self.arch.pte_present(old):
            return
        self._batch_add(mm.id, addr >> self.page_shift)

    def _flush_cache_present(self, mm: Mm, addr: int, nr: int) -> None:
        """flush_cache_range / flush_cache_dup_mm over the present entries
        (aliasing D-caches only)."""
        if self.dcache.coherent:
            return
        arch = self.arch
        for i in range(nr):
            a = addr + i * self.page_size
            pte = self.pte_at(mm, a)
            if arch.pte_present(pte) and self.mem.folio_of(arch.pte_pfn(pte)) is not None:
                self.dcache_flush_user(mm, a, arch.pte_pfn(pte), 1)

    def zap_pte_range(self, mm: Mm, addr: int, nr: int) -> None:
        """mm/memory.c unmap_page_range -> zap_pte_range (v6.6), one PTE
        table: tlb_start_vma's flush_cache_range, then the entries cleared
        inside a lazy region (ptep_get_and_clear_full, rmap, counters), then
        the mmu_gather's flush_tlb_range after the region
        (tlb_finish_mmu)."""
        ps = self.page_size
        self._flush_cache_present(mm, addr, nr)
        self.lazy_mmu_enter()
        for i in range(nr):
            self.ptep_clear(mm, addr + i * ps, False)
        self.lazy_mmu_leave()
        for i in range(nr):
            self.flush_tlb_page_generic(mm, addr + i * ps)

    def _has_anon(self, mm: Mm, vma: Vma) -> bool:
        arch = self.arch
        for a in range(vma.start, vma.end, self.page_size):
            pte = self.pte_at(mm, a)
            if arch.pte_present(pte):
                f = self.mem.folio_of(arch.pte_pfn(pte))
                if f is not None and f.anon:
                    return True
        return False

    def fork_mm(self, parent: Mm) -> Mm:
        """kernel/fork.c dup_mmap (v6.6): flush_cache_dup_mm, a child VMA
        per VMA, copy_page_range where vma_needs_copy (anonymous pages:
        src_vma->anon_vma), then flush_tlb_mm(oldmm)."""
        child = self.new_mm()
        for v in parent.vmas:
            self._flush_cache_present(parent, v.start, (v.end - v.start) >> self.page_shift)
        for v in list(parent.vmas):
            cv = self.mmap(child, v.start, v.end - v.start, v.flags, v.mapping, v.pgoff)
            if v.anon or self._has_anon(parent, v):
                a = v.start
                while a < v.end:
                    end = min(v.end, ((a >> self.pmd_shift) + 1) << self.pmd_shift)
                    self.copy_pte_range(cv, v, a, (end - a) >> self.page_shift)
                    a = end
        self.flush_tlb_mm_generic(parent)
        return child

    def copy_pte_range(self, dst_vma: Vma, src_vma: Vma, addr: int, nr: int) -> None:
        """mm/memory.c copy_pte_range / copy_present_pte (v6.6), one PTE
        table: inside a lazy region, each present source entry of a COW
        mapping is write-protected (ptep_set_wrprotect: the PTE update,
        flushed as the TLB kind does) and copied old (and clean if shared)
        into the child with set_pte_at; rmap and counters follow."""
        arch = self.arch
        src = src_vma.mm
        dst = dst_vma.mm
        ps = self.page_size
        cow = not src_vma.shared and src_vma.write
        self.lazy_mmu_enter()
        for i in range(nr):
            a = addr + i * ps
            sptep = self.pte_ref(src, a)
            if sptep is None:
                continue
            pte = sptep.table.entries[sptep.idx]
            if not arch.pte_present(pte):
                continue
            f = self.mem.folio_of(arch.pte_pfn(pte))
            if f is None:
                continue
            if cow and arch.pte_write(pte):
                wp = arch.pte_wrprotect(pte)                   # ptep_set_wrprotect
                sptep.table.entries[sptep.idx] = wp
                self.pte_update_flush(src, a, pte)
                pte = wp
            if src_vma.shared:
                pte = arch.pte_mkclean(pte)
            pte = arch.pte_mkold(pte)
            j = arch.pte_pfn(pte) - f.pfn
            if not arch.pte_special(pte):
                f.mapcount[j] += 1                             # folio_dup_*_rmap
                f.refcount += 1
                if f.anon:
                    dst.anon_pages += 1
                else:
                    dst.file_pages += 1
            dptep = self.pte_ref(dst, a, True)
            assert dptep is not None
            self.set_pte_at(dst, a, dptep, pte)
        self.lazy_mmu_leave()

    def mremap_move(self, vma: Vma, new_addr: int) -> Vma:
        """mm/mremap.c move_vma (v6.6) of a whole VMA to a free range:
        flush_cache_range, the new VMA, move_page_tables (move_ptes per
        PTE table), then the old VMA goes (its PTEs already moved)."""
        mm = vma.mm
        n = (vma.end - vma.start) >> self.page_shift
        self._flush_cache_present(mm, vma.start, n)
        nv = self.mmap(mm, new_addr, vma.end - vma.start, vma.flags, vma.mapping, vma.pgoff)
        done = 0
        while done < n:
            oa = vma.start + done * self.page_size
            na = new_addr + done * self.page_size
            left = self.arch.ptrs_per_pte - ((oa >> self.page_shift) & (self.arch.ptrs_per_pte - 1))
            right = self.arch.ptrs_per_pte - ((na >> self.page_shift) & (self.arch.ptrs_per_pte - 1))
            chunk = min(n - done, left, right)
            self.move_ptes(vma, oa, nv, na, chunk)
            done += chunk
        mm.vmas.remove(vma)
        if vma.mapping is not None:
            vma.mapping.nr_vmas -= 1
        return nv

    def move_ptes(self, vma: Vma, old_addr: int, new_vma: Vma, new_addr: int,
                  nr: int) -> None:
        """mm/mremap.c move_ptes (v6.6): inside a lazy region each entry is
        taken with ptep_get_and_clear and stored at the new address with
        set_pte_at; flush_tlb_range of the old range after the region when
        a present entry moved."""
        mm = vma.mm
        arch = self.arch
        ps = self.page_size
        force_flush = False
        self.lazy_mmu_enter()
        for i in range(nr):
            oa = old_addr + i * ps
            optep = self.pte_ref(mm, oa)
            if optep is None:
                continue
            t = optep.table
            pte = t.entries[optep.idx]
            if arch.pte_none(pte):
                continue
            self.trace.pte_clear(t.pt, optep.idx)               # ptep_get_and_clear
            t.entries[optep.idx] = arch.empty_pte
            if self.ptc.enabled and not mm.is_init and arch.pte_user_accessible_page(pte):
                self.ptc.clear(arch.pte_pfn(pte), 1)
            self.pte_update_flush(mm, oa, pte)
            if arch.pte_present(pte):
                force_flush = True
            nptep = self.pte_ref(mm, new_addr + i * ps, True)
            assert nptep is not None
            self.set_pte_at(mm, new_addr + i * ps, nptep, pte)
        self.lazy_mmu_leave()
        if force_flush:
            for i in range(nr):
                self.flush_tlb_page_generic(mm, old_addr + i * ps)

    def apply_to_page_range(self, vma: Vma, addr: int, nr: int, pfn: int) -> None:
        """mm/memory.c apply_to_page_range -> apply_to_pte_range (v6.6)
        with a callback that maps pfn + i as a special entry (the remap
        callbacks of xen_remap_pfn / privcmd and friends): the callback's
        set_pte_at runs inside the caller's lazy region."""
        mm = vma.mm
        arch = self.arch
        ps = self.page_size
        self.lazy_mmu_enter()
        for i in range(nr):
            a = addr + i * ps
            ptep = self.pte_ref(mm, a, True)
            assert ptep is not None
            entry = arch.pte_mkspecial(arch.pfn_pte(pfn + i, vma.page_prot))
            if not arch.pte_special(entry):
                f = self.mem.folio_of(pfn + i)
                if f is not None:                              # counted as a mapped page
                    f.mapcount[pfn + i - f.pfn] += 1
                    if f.anon:
                        mm.anon_pages += 1
                    else:
                        mm.file_pages += 1
            self.set_pte_at(mm, a, ptep, entry)
        self.lazy_mmu_leave()
