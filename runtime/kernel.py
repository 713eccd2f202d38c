"""``Kernel``: the machine an arch runs on, as one object -- and the TLB
walk and user actions on top of it.

Place in the flow: tests and conformance scenarios create a ``Kernel`` for
an ``Arch`` and a set of CPU features, then act as users (``user_read``,
``user_write``, ``user_exec``) and as the kernel (``kernel_write_folio``,
``file_write``, ``zap_range``...).  User accesses translate through the
TLB (the walk below; kind specifics in runtime/tlb.py); a miss on an
unmapped address in a VMA runs the page-fault path (runtime/mmcallers.py),
which calls the arch's range API through checking wrappers
(runtime/archcalls.py: ``set_ptes``, ``update_mmu_cache_range``,
``flush_dcache_folio``, ``flush_icache_pages``).  The arch reaches the
model only through the primitives (runtime/effects.py and the queries of
runtime/machine.py; the contract is ``runtime.primitives.Primitives``,
docs/runtime-interface.md), each of which appends one trace line.
Violations found on the way are appended to ``violations``;
``runtime.oracle.check_all`` adds the end-of-run scans.

The class is the last of a chain, one module per seam:
``Machine`` (state, set-up, queries) -> ``Effects`` (primitives) ->
``ArchCalls`` (checked arch calls, kernel actions) -> ``MmCallers``
(set_pte_range, fault-around, do_set_pmd, fault path, zap) -> ``Kernel``.
``from runtime.kernel import Kernel`` (and ``in_range``,
``FAULT_AROUND_BYTES``) stays the way in.
"""

from __future__ import annotations

from typing import Final

from runtime.machine import FAULT_AROUND_BYTES
from runtime.memory import Folio
from runtime.mm import Mm
from runtime.mmcallers import MmCallers, in_range
from runtime.trace import hx
from runtime.violation import (
    SPURIOUS_FAULT, STALE_DATA, STALE_INSN, TLB_PRELOAD_MISSING, TLB_STALE,
)

__all__ = ["Kernel", "in_range", "FAULT_AROUND_BYTES"]

# translate() results (Final: C constants when compiled, no module-dict
# lookup per test)
_HIT: Final = 0
_FAULT: Final = 1       # no usable entry: PTE none or permission
_INVALID: Final = 2     # the TLB holds an invalid entry (cached-invalid / pair half)


class Kernel(MmCallers):
    """The machine an arch runs on."""

    # ------------------------------------------------------------------
    # User actions
    def _allowed(self, pte: int, write: bool, exec: bool) -> bool:
        """Would the hardware let this user access through ``pte``?
        pte_present() is the kernel's view; the MMU also needs the hardware
        valid bit where the layout has one apart from present (a present
        PROT_NONE entry is not valid: x86 _PAGE_PROTNONE without
        _PAGE_PRESENT, arm64 PTE_PROT_NONE without PTE_VALID, riscv
        _PAGE_PROT_NONE without _PAGE_PRESENT, mips _PAGE_NO_READ leaves
        _PAGE_VALID clear in pte_mkyoung) and, for a load, the read bit
        where there is one (s390 _PAGE_READ, riscv _PAGE_READ, hexagon
        __HVM_PTE_R; an instruction fetch needs exec, not read: riscv
        exec-only PAGE_EXEC)."""
        arch = self.arch
        if not arch.pte_present(pte):
            return False
        # Layout.test(pte, role) by the masks Machine.__init__ took
        m = self.valid_mask
        if m != 0 and ((pte & m) != 0) == self.valid_inverted:
            return False
        m = self.read_mask
        if (not write and not exec and m != 0
                and ((pte & m) != 0) == self.read_inverted):
            return False
        if arch.has_user_role and not arch.pte_user(pte):
            return False
        if write and not arch.pte_write(pte):
            return False
        if exec and not arch.pte_exec(pte):
            return False
        return True

    def _translate(self, mm: Mm, addr: int, write: bool, exec: bool) -> tuple[int, int]:
        """(status, pte value used) for a user access."""
        vpage = addr >> self.page_shift
        tlb = self.tlb
        hit = tlb.lookup(mm.id, vpage)
        if hit is not None:
            if not self.arch.pte_present(hit):
                return _INVALID, hit
            if self._allowed(hit, write, exec):
                return _HIT, hit
            tlb.drop(mm.id, vpage)            # a faulting entry is not kept
            return _FAULT, hit
        base = (addr >> self.pmd_shift) << self.pmd_shift
        leaf = mm.pmd_leaves.get(base) if mm.pmd_leaves else None
        if leaf is not None:
            # a PMD mapping: synthesize the 4 KiB translation
            f = self.pfn_folio(leaf)
            vma = mm.find_vma(addr)
            assert vma is not None
            pfn = f.pfn + ((addr - base) >> self.page_shift)
            val = self.arch.pfn_pte(pfn, vma.page_prot)
            if not self._allowed(val, write, exec):
                return _FAULT, val
            return _HIT, val
        # a miss: the walker / refill handler (what it loads is the TLB
        # kind's: runtime/tlb.py refill)
        t = self.pte_table(mm, addr)
        idx = vpage & (self.arch.ptrs_per_pte - 1)
        pte = self.arch.empty_pte if t is None else t.entries[idx]
        present = self.arch.pte_present(pte)
        tlb.refill(mm.id, vpage, None if t is None else t.entries, idx,
                   self.arch.empty_pte, pte, present)
        if not present:
            return _FAULT, pte
        if not self._allowed(pte, write, exec):
            tlb.drop(mm.id, vpage)
            return _FAULT, pte
        return _HIT, pte

    def _mapped_pte(self, mm: Mm, addr: int) -> int:
        """The entry mapping addr: its PTE, or the 4 KiB view of a PMD leaf."""
        base = (addr >> self.pmd_shift) << self.pmd_shift
        leaf = mm.pmd_leaves.get(base) if mm.pmd_leaves else None
        vma = mm.find_vma(addr)
        if leaf is None or vma is None:
            return self.pte_at(mm, addr)
        return self.arch.pfn_pte(leaf + ((addr - base) >> self.page_shift), vma.page_prot)

    def user_access(self, mm: Mm, addr: int, write: bool, exec: bool) -> int:
        """Translate (faulting as needed) and return the pfn, -1 on SIGSEGV."""
        self.switch_to(mm)
        status, val = self._translate(mm, addr, write, exec)
        tries = 0
        while status != _HIT:
            tries += 1
            if tries > 3:
                return -1
            # the entry now mapping addr matters only to a second try on an
            # invalid TLB entry (no walk otherwise)
            retry_invalid = status == _INVALID and tries > 1
            cur = self._mapped_pte(mm, addr) if retry_invalid else 0
            if retry_invalid and self._allowed(cur, write, exec):
                # The fault path ran and the PTE is there, but the TLB still
                # holds the invalid entry.
                if self.tlb.caches_invalid():
                    self.violate(SPURIOUS_FAULT, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                 "sfence.vma after none->present",
                                 "invalid TLB entry %s" % hx(val), addr,
                                 self.arch.pte_pfn(cur))
                # MIPS: the TLB-invalid fast path (tlbex.c) reloads from the
                # PTE; riscv: flush_tlb_fix_spurious_fault.  Either way the
                # entry goes and the access retries.
                self.tlb.drop(mm.id, addr >> self.page_shift)
            elif not self.handle_mm_fault(mm, addr, write, exec):
                return -1
            elif self.tlb.preloaded_by_update():
                e = self.tlb.lookup(mm.id, addr >> self.page_shift)
                if e is None or not self.arch.pte_present(e):
                    cur = self.pte_at(mm, addr)
                    self.violate(TLB_PRELOAD_MISSING, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                 "TLB loaded by update_mmu_cache_range",
                                 "none" if e is None else "invalid entry %s" % hx(e),
                                 addr, self.arch.pte_pfn(cur))
            status, val = self._translate(mm, addr, write, exec)
        pfn = self.arch.pte_pfn(val)
        cur = self.pte_at(mm, addr)
        base = (addr >> self.pmd_shift) << self.pmd_shift
        leaf = mm.pmd_leaves.get(base) if mm.pmd_leaves else None
        if leaf is not None and pfn != leaf + ((addr - base) >> self.page_shift):
            want = leaf + ((addr - base) >> self.page_shift)
            self.violate(TLB_STALE, "mm=%d addr=%s" % (mm.id, hx(addr)),
                         "pfn=%s (PMD leaf)" % hx(want), "pfn=%s" % hx(pfn), addr, pfn)
        if leaf is None and (not self.arch.pte_present(cur)
                                          or self.arch.pte_pfn(cur) != pfn):
            self.violate(TLB_STALE, "mm=%d addr=%s" % (mm.id, hx(addr)),
                         "pfn=%s" % (hx(self.arch.pte_pfn(cur))
                                     if self.arch.pte_present(cur) else "none"),
                         "pfn=%s" % hx(pfn), addr, pfn)
        return pfn

    def _user_page(self, mm: Mm, addr: int, write: bool, exec: bool) -> tuple[Folio | None, int, int]:
        pfn = self.user_access(mm, addr, write, exec)
        if pfn < 0:
            return None, 0, pfn
        f = self.mem.folio_of(pfn)
        if f is None:
            return None, 0, -1
        return f, pfn - f.pfn, pfn

    def user_read(self, mm: Mm, addr: int) -> int:
        """A user load: returns the data version seen (-1: SIGSEGV)."""
        f, i, pfn = self._user_page(mm, addr, False, False)
        if f is None:
            return -1
        v = self.dcache.read(f, i, self.dcache.alias(mm.id, addr))
        if v != f.latest[i]:
            self.violate(STALE_DATA, "mm=%d addr=%s pfn=%s" % (mm.id, hx(addr), hx(pfn)),
                         "version %d" % f.latest[i], "version %d" % v, addr, pfn)
        return v

    def user_write(self, mm: Mm, addr: int) -> int:
        """A user store of new data: returns the version written."""
        f, i, pfn = self._user_page(mm, addr, True, False)
        if f is None:
            return -1
        v = self.mem.new_version()
        self.dcache.write(f, i, self.dcache.alias(mm.id, addr), v)
        self.mem.note_user_store(pfn, f.latest[i], v)
        f.latest[i] = v
        return v

    def user_exec(self, mm: Mm, addr: int) -> int:
        """An instruction fetch: returns the version executed."""
        f, i, pfn = self._user_page(mm, addr, False, True)
        if f is None:
            return -1
        v = self.icache.fetch(f, i, self.dcache, self.dcache.alias(mm.id, addr), mm.id,
                              addr >> self.page_shift)
        if v != f.latest[i]:
            self.violate(STALE_INSN, "mm=%d addr=%s pfn=%s" % (mm.id, hx(addr), hx(pfn)),
                         "version %d" % f.latest[i], "version %d" % v, addr, pfn)
        return v
