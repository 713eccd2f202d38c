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
  ``filemap_map_pmd``.
Simplifications (documented, deliberate): an anonymous fault always
allocates a fresh order-0 page, mapped writable+dirty when the VMA is
writable (no zero page); COW copies are written coherently (as
copy_user_highpage does on aliasing caches); HWPoison, uffd and mlock are
not modelled; fault-around only needs a file VMA.
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_WRITE
from runtime.archcalls import ArchCalls
from runtime.memory import Folio, Page
from runtime.mm import Mm, Vma, Vmf
from runtime.pagetable import PteRef
from runtime.violation import RangeError


def in_range(val: int, start: int, length: int, bits: int = 64) -> bool:
    """include/linux/minmax.h in_range(): (val - start) < len, unsigned,
    wrapping at ``bits`` (32 when all three are 32-bit, else 64)."""
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
            for i in range(page.i, page.i + nr):               # folio_add_file_rmap_range
                folio.mapcount[i] += 1
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
                               PteRef(ptep.table, idx))
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
        first = self.pte_ref(vma.mm, addr, True)
        assert first is not None
        table = first.table
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
        if base in mm.pmd_leaves:
            return True
        pmd_order = self.pmd_shift - self.page_shift
        if folio.order == pmd_order and base not in mm.tables:
            return self.do_set_pmd(vmf, folio.page(0))
        return False

    def do_set_pmd(self, vmf: Vmf, page: Page) -> bool:
        """mm/memory.c do_set_pmd (v6.6): map a PMD-order file folio with
        one PMD entry; flush_icache_pages(vma, page, HPAGE_PMD_NR) first."""
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
        mm.file_pages += folio.nr_pages
        folio.entire_mapcount += 1
        folio.refcount += 1
        self.trace.set_pmd(mm.id, haddr, folio.pfn)
        mm.pmd_leaves[haddr] = folio.pfn
        return True

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

    def _cow_copy(self, src: Folio, si: int) -> Folio:
        new = self.alloc_folio(0, True)
        v = self._latest_visible(src, si)
        new.ram[0] = v
        new.latest[0] = v
        return new

    def _latest_visible(self, f: Folio, i: int) -> int:
        return f.latest[i]

    def do_cow_fault(self, vmf: Vmf) -> None:
        f = self._file_folio(vmf.vma, vmf.pgoff)
        new = self._cow_copy(f, vmf.pgoff - f.index)
        ptep = self.pte_ref(vmf.vma.mm, vmf.address, True)
        assert ptep is not None
        if self.arch.pte_none(ptep.table.entries[ptep.idx]):
            self.set_pte_range(vmf, new, new.page(0), 1, vmf.address, ptep)

    def do_anonymous_page(self, vmf: Vmf) -> None:
        """mm/memory.c do_anonymous_page (simplified: no zero page)."""
        vma = vmf.vma
        arch = self.arch
        f = self.alloc_folio(0, True)
        f.latest[0] = self.mem.new_version()                 # zeroed page
        f.ram[0] = f.latest[0]
        entry = arch.pfn_pte(f.pfn, vma.page_prot)
        if vma.write:
            entry = arch.pte_mkwrite(arch.pte_mkdirty(entry))
        ptep = self.pte_ref(vma.mm, vmf.address, True)
        assert ptep is not None
        vma.mm.anon_pages += 1
        f.mapcount[0] += 1
        self.set_pte_at(vma.mm, vmf.address, ptep, entry)
        self.update_mmu_cache_range(vmf, vma, vmf.address, ptep, 1)

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
        arch = self.arch
        if arch.pte_present(old):
            pfn = arch.pte_pfn(old)
            if self.ptc.enabled and not mm.is_init and arch.pte_user_accessible_page(old):
                self.ptc.clear(pfn, 1)
            f = self.mem.folio_of(pfn)
            if f is not None and not arch.pte_special(old):
                f.mapcount[pfn - f.pfn] -= 1
                if f.anon:
                    mm.anon_pages -= 1
                else:
                    mm.file_pages -= 1
        if flush:
            self.tlb_flush_page(mm, addr)
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
        new = self._cow_copy(src, arch.pte_pfn(old) - src.pfn)
        self.ptep_clear(vma.mm, vmf.address, True)
        entry = arch.pfn_pte(new.pfn, vma.page_prot)
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
        if not (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)):
            return False
        addr &= ~(self.page_size - 1)
        pgoff = ((addr - vma.start) >> self.page_shift) + vma.pgoff
        vmf = Vmf(vma, addr, pgoff, write, exec)
        base = (addr >> self.pmd_shift) << self.pmd_shift
        if base in mm.pmd_leaves:
            return True
        ptep = self.pte_ref(mm, addr)
        pte = self.arch.empty_pte if ptep is None else ptep.table.entries[ptep.idx]
        arch = self.arch
        if ptep is None or arch.pte_none(pte):
            if vma.anon:
                self.do_anonymous_page(vmf)
            elif not write:
                self.do_read_fault(vmf)
            elif not vma.shared:
                self.do_cow_fault(vmf)
            else:
                self.do_shared_fault(vmf)
            return True
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
