"""``Kernel``: the machine -- primitives, generic kernel code, fault path,
user and kernel actions.

Place in the flow: tests and conformance scenarios create a ``Kernel`` for
an ``Arch`` and a set of CPU features, then act as users (``user_read``,
``user_write``, ``user_exec``) and as the kernel (``kernel_write_folio``,
``file_write``, ``zap_range``...).  User accesses translate through the
TLB; a miss on an unmapped address in a VMA runs the page-fault path
below, which calls the arch's range API through checking wrappers
(``set_ptes``, ``update_mmu_cache_range``, ``flush_dcache_folio``,
``flush_icache_pages``).  The arch reaches the model only through the
primitives (docs/runtime-interface.md), each of which appends one trace
line.  Violations found on the way are appended to ``violations``;
``runtime.oracle.check_all`` adds the end-of-run scans.

Generic kernel code modelled (Linux 6.6; own Python, written from the
sources' behaviour):
* include/linux/minmax.h ``in_range`` (unsigned, wraps at the word size);
* include/linux/pgtable.h ``set_ptes`` (the ``Arch`` default), ``set_pte_at``
  as ``set_ptes(..., 1)``, ``update_mmu_cache`` as the range call with 1;
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
* mm/page_table_check.c (runtime.ptcheck).
Simplifications (documented, deliberate): an anonymous fault always
allocates a fresh order-0 page, mapped writable+dirty when the VMA is
writable (no zero page); COW copies are written coherently (as
copy_user_highpage does on aliasing caches); HWPoison, uffd and mlock are
not modelled; fault-around only needs a file VMA.
"""

from __future__ import annotations

from runtime.arch import Arch, VM_EXEC, VM_READ, VM_WRITE
from runtime.cache import DCache, ICache
from runtime.layout import Layout
from runtime.lazy import LazyMmu
from runtime.memory import Folio, Mapping, Page, PhysMem
from runtime.mm import Mm, Vma, Vmf
from runtime.pagetable import PteRef, PteTable
from runtime.ptcheck import PageTableCheck
from runtime.script import ScriptWriter
from runtime.tlb import Tlb
from runtime.trace import Trace, hx
from runtime.violation import (
    LAZY_MMU, PG_ARCH_1_GRANULARITY, PTE_OUTSIDE_RANGE,
    PTE_VALUE, SPURIOUS_FAULT, STALE_DATA, STALE_INSN, TLB_PRELOAD_MISSING,
    TLB_STALE, RangeError, Violation,
)

FAULT_AROUND_BYTES = 65536

# translate() results
_HIT = 0
_FAULT = 1       # no usable entry: PTE none or permission
_INVALID = 2     # the TLB holds an invalid entry (cached-invalid / pair half)


def in_range(val: int, start: int, length: int, bits: int = 64) -> bool:
    """include/linux/minmax.h in_range(): (val - start) < len, unsigned,
    wrapping at ``bits`` (32 when all three are 32-bit, else 64)."""
    mask = (1 << bits) - 1
    return ((val - start) & mask) < (length & mask)


class Kernel:
    """The machine an arch runs on."""

    arch: Arch
    cpu: frozenset[str]
    trace: Trace
    mem: PhysMem
    dcache: DCache
    icache: ICache
    tlb: Tlb
    ptc: PageTableCheck
    lazy: LazyMmu
    ref: Layout
    init_mm: Mm
    mms: dict[int, Mm]
    mappings: dict[int, Mapping]
    vmas: list[Vma]
    violations: list[Violation]
    script: ScriptWriter | None
    checking: bool
    fault_around_bytes: int
    v66_prefault: bool
    page_size: int
    page_shift: int
    pmd_shift: int
    next_pt: int
    next_mm: int
    next_mapping: int
    # bookkeeping of the arch call in progress
    call: str
    touched: list[tuple[PteTable, int]]
    buddies: list[tuple[PteTable, int]]
    faults: int

    def __init__(self, arch: Arch, cpu: frozenset[str] | None = None,
                 trace: bool = True, page_table_check: bool | None = None,
                 checking: bool = True, v66_prefault: bool = False) -> None:
        if cpu is None:
            cpu = frozenset()
        for feat in cpu:
            if feat not in arch.cpu_features:
                raise ValueError("%s: unknown cpu feature %r" % (arch.name, feat))
        self.arch = arch
        self.cpu = cpu
        self.trace = Trace(trace)
        self.page_shift = arch.page_shift
        self.page_size = 1 << arch.page_shift
        self.pmd_shift = arch.page_shift + (arch.ptrs_per_pte.bit_length() - 1)
        self.mem = PhysMem(arch.max_folio_order)
        self.dcache = DCache(arch.dcache_kind(cpu), arch.dcache_colours(cpu),
                             arch.page_shift)
        self.icache = ICache(arch.icache_kind(cpu))
        self.tlb = Tlb(arch.tlb_kind)
        self.violations = []
        if page_table_check is None:
            page_table_check = arch.supports_page_table_check
        self.ptc = PageTableCheck(arch.name, self.mem, self.violations,
                                  page_table_check)
        self.lazy = LazyMmu()
        self.ref = Layout(arch.fields, arch.word_bits)
        self.init_mm = Mm(0)
        self.mms = {0: self.init_mm}
        self.mappings = {}
        self.vmas = []
        self.script = None
        self.checking = checking
        self.fault_around_bytes = FAULT_AROUND_BYTES
        self.v66_prefault = v66_prefault
        self.next_pt = 1
        self.next_mm = 1
        self.next_mapping = 1
        self.call = ""
        self.touched = []
        self.buddies = []
        self.faults = 0

    # ------------------------------------------------------------------
    # Reporting
    def violate(self, check: str, where: str, expected: str, seen: str,
                addr: int = -1, pfn: int = -1) -> None:
        self.violations.append(Violation(check, self.arch.name, where,
                                         expected, seen, addr, pfn))

    # ------------------------------------------------------------------
    # Set-up: mms, files, VMAs, folios
    def new_mm(self, has_pgste: bool = False) -> Mm:
        mm = Mm(self.next_mm, has_pgste)
        self.next_mm += 1
        self.mms[mm.id] = mm
        return mm

    def new_file(self, name: str = "file") -> Mapping:
        m = Mapping(self.next_mapping, name)
        self.next_mapping += 1
        self.mappings[m.id] = m
        return m

    def mmap(self, mm: Mm, start: int, length: int, flags: int,
             mapping: Mapping | None = None, pgoff: int = 0) -> Vma:
        if start & (self.page_size - 1) or length <= 0 or length & (self.page_size - 1):
            raise ValueError("mmap: unaligned start/length")
        end = start + length
        for v in mm.vmas:
            if start < v.end and v.start < end:
                raise ValueError("mmap: overlaps %r" % v)
        vma = Vma(mm, start, end, flags, mapping, pgoff,
                  self.arch.vm_get_page_prot(flags))
        vma.id = len(self.vmas) + 1
        self.vmas.append(vma)
        mm.vmas.append(vma)
        if mapping is not None:
            mapping.nr_vmas += 1
        return vma

    def alloc_folio(self, order: int = 0, anon: bool = False,
                    pfn: int = -1) -> Folio:
        if pfn >= 0:
            return self.mem.alloc_at(pfn, order, anon)
        return self.mem.alloc(order, anon)

    def add_to_page_cache(self, mapping: Mapping, index: int, order: int = 0,
                          pfn: int = -1, fill: bool = True,
                          flush: bool = True) -> Folio:
        """A folio of the file at ``index`` (aligned to its size).  With
        ``fill`` the kernel writes its contents through the kernel alias
        (a CPU copy into the page cache) and, with ``flush``, then calls
        flush_dcache_folio as cachetlb.rst requires."""
        if index & ((1 << order) - 1):
            raise ValueError("page cache folio index not aligned")
        f = self.alloc_folio(order, False, pfn)
        f.mapping = mapping
        f.index = index
        mapping.add(f)
        if fill:
            self.kernel_write_folio(f, flush)
        return f

    # ------------------------------------------------------------------
    # Queries (no trace line)
    def pfn_valid(self, pfn: int) -> bool:
        return self.mem.pfn_valid(pfn)

    def pfn_folio(self, pfn: int) -> Folio:
        f = self.mem.folio_of(pfn)
        if f is None:
            raise KeyError("pfn 0x%x is not valid" % pfn)
        return f

    def pfn_page(self, pfn: int) -> Page:
        f = self.pfn_folio(pfn)
        return Page(f, pfn - f.pfn)

    def folio_has_mapping(self, folio: Folio) -> bool:
        return folio.mapping is not None and not folio.anon

    def mapping_mapped(self, folio: Folio) -> bool:
        m = folio.mapping
        return m is not None and m.nr_vmas > 0

    def kaddr(self, pfn: int) -> int:
        return self.arch.kernel_base + (pfn << self.page_shift)

    def pages_do_alias(self, a: int, b: int) -> bool:
        c = self.dcache.colours
        if c <= 1:
            return False
        return (a >> self.page_shift) % c != (b >> self.page_shift) % c

    def cpu_has(self, feature: str) -> bool:
        return feature in self.cpu

    def pte_table(self, mm: Mm, addr: int, alloc: bool = False) -> PteTable | None:
        base = (addr >> self.pmd_shift) << self.pmd_shift
        t = mm.tables.get(base)
        if t is None and alloc:
            t = PteTable(self.next_pt, mm.id, base, self.arch.ptrs_per_pte,
                         self.page_shift, self.arch.empty_pte)
            self.next_pt += 1
            mm.tables[base] = t
        return t

    def pte_ref(self, mm: Mm, addr: int, alloc: bool = False) -> PteRef | None:
        t = self.pte_table(mm, addr, alloc)
        if t is None:
            return None
        return PteRef(t, (addr >> self.page_shift) & (self.arch.ptrs_per_pte - 1))

    def pte_at(self, mm: Mm, addr: int) -> int:
        """The entry the hardware would see (deferred stores excluded)."""
        r = self.pte_ref(mm, addr)
        return self.arch.empty_pte if r is None else r.table.entries[r.idx]

    # ------------------------------------------------------------------
    # Primitives (one trace line each)
    def set_pte(self, ptep: PteRef, val: int) -> None:
        t = ptep.table
        if self.trace.enabled:
            self.trace.lines.append("set_pte pt=" + str(t.pt) + " idx=" + str(ptep.idx)
                                    + " val=" + hex(val))
        if self.call != "":
            self.touched.append((t, ptep.idx))
        if self.lazy.active:
            self.lazy.defer(ptep, val)
        else:
            t.entries[ptep.idx] = val
        arch = self.arch
        if arch.tlb_kind == "software_pairs" and arch.layout.has_role("global") \
                and arch.pte_global(val):
            bidx = ptep.idx ^ 1
            if arch.pte_none(t.entries[bidx]):
                gval = arch.layout.with_role(0, "global", True)
                self.trace.emit("set_pte_buddy pt=%d idx=%d val=%s"
                                % (t.pt, bidx, hx(gval)))
                self.buddies.append((t, bidx))
                t.entries[bidx] = gval

    def pgste_set_pte(self, mm: Mm, addr: int, ptep: PteRef, val: int) -> None:
        t = ptep.table
        self.trace.emit("pgste_set_pte pt=%d idx=%d val=%s" % (t.pt, ptep.idx, hx(val)))
        if not mm.has_pgste:
            self.violate("pgste", "mm=%d addr=%s" % (mm.id, hx(addr)),
                         "mm with PGSTEs", "mm without PGSTEs", addr)
        if self.call != "":
            self.touched.append((t, ptep.idx))
        if self.lazy.active:
            self.lazy.defer(ptep, val)
        else:
            t.entries[ptep.idx] = val

    def read_pte(self, ptep: PteRef) -> int:
        if self.lazy.active and self.lazy.is_pending(ptep):
            self.violate(LAZY_MMU, "pt=%d idx=%d" % (ptep.table.pt, ptep.idx),
                         "no raw read of an entry deferred in lazy MMU mode",
                         "read of a deferred entry")
        return ptep.table.entries[ptep.idx]

    def page_table_check_ptes_set(self, mm: Mm, ptep: PteRef, pte: int,
                                  nr: int) -> None:
        if self.trace.enabled:
            self.trace.lines.append("ptc_set pt=" + str(ptep.table.pt) + " idx="
                                    + str(ptep.idx) + " val=" + hex(pte) + " nr=" + str(nr))
        if not self.ptc.enabled or mm.is_init:
            return
        arch = self.arch
        ents = ptep.table.entries
        for i in range(nr):
            old = ents[ptep.idx + i]
            if arch.pte_user_accessible_page(old):
                self.ptc.clear(arch.pte_pfn(old), 1)
        if arch.pte_user_accessible_page(pte):
            self.ptc.set(arch.pte_pfn(pte), nr, arch.pte_write(pte))

    def lazy_mmu_enter(self) -> None:
        self.trace.emit("lazy_mmu enter")
        if not self.lazy.enter():
            self.violate(LAZY_MMU, "lazy_mmu", "enter outside lazy MMU mode",
                         "nested enter")

    def lazy_mmu_leave(self) -> None:
        self.trace.emit("lazy_mmu leave")
        if not self.lazy.leave():
            self.violate(LAZY_MMU, "lazy_mmu", "leave inside lazy MMU mode",
                         "leave without enter")

    def _kalias(self, pfn: int) -> int:
        return self.dcache.alias(0, self.kaddr(pfn))

    def dcache_flush(self, pfn: int, nr: int) -> None:
        self.trace.emit("dcache_flush pfn=%s nr=%d" % (hx(pfn), nr))
        for p in range(pfn, pfn + nr):
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.flush(f, p - f.pfn, self._kalias(p))

    def dcache_flush_user(self, mm: Mm, addr: int, pfn: int, nr: int) -> None:
        self.trace.emit("dcache_flush_user mm=%d addr=%s pfn=%s nr=%d"
                        % (mm.id, hx(addr), hx(pfn), nr))
        for i in range(nr):
            f = self.mem.folio_of(pfn + i)
            if f is not None:
                self.dcache.flush(f, pfn + i - f.pfn,
                                  self.dcache.alias(mm.id, addr + i * self.page_size))

    def dcache_clean(self, pfn: int, nr: int) -> None:
        self.trace.emit("dcache_clean pfn=%s nr=%d" % (hx(pfn), nr))
        for p in range(pfn, pfn + nr):
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.writeback(f, p - f.pfn, self._kalias(p))

    def icache_sync(self, pfn: int, nr: int) -> None:
        self.trace.emit("icache_sync pfn=%s nr=%d" % (hx(pfn), nr))
        for p in range(pfn, pfn + nr):
            f = self.mem.folio_of(p)
            if f is not None:
                self.dcache.writeback(f, p - f.pfn, self._kalias(p))
            self.icache.invalidate(p)

    def icache_inval(self, pfn: int, nr: int) -> None:
        self.trace.emit("icache_inval pfn=%s nr=%d" % (hx(pfn), nr))
        for p in range(pfn, pfn + nr):
            self.icache.invalidate(p)

    def _granularity(self, want: str, what: str, pfn: int) -> None:
        self.violate(PG_ARCH_1_GRANULARITY, "%s=%s" % (what, hx(pfn)),
                     "PG_arch_1 per %s" % self.arch.pg_arch_1_granularity,
                     "%s primitive on %s" % (want, what), pfn=pfn)

    def _folio_gran(self, folio: Folio) -> None:
        g = self.arch.pg_arch_1_granularity
        if g == "none" or (g == "page" and folio.nr_pages > 1):
            self._granularity("folio", "folio", folio.pfn)

    def _page_gran(self, page: Page) -> None:
        g = self.arch.pg_arch_1_granularity
        if g == "none" or (g == "folio" and not page.is_head):
            self._granularity("page", "page", page.pfn)

    def folio_test_arch1(self, folio: Folio) -> bool:
        v = folio.page_arch1[0]
        self.trace.emit("pg_arch_1 test folio=%s -> %d" % (hx(folio.pfn), int(v)))
        self._folio_gran(folio)
        return v

    def folio_set_arch1(self, folio: Folio) -> None:
        self.trace.emit("pg_arch_1 set folio=%s" % hx(folio.pfn))
        self._folio_gran(folio)
        folio.page_arch1[0] = True

    def folio_clear_arch1(self, folio: Folio) -> None:
        self.trace.emit("pg_arch_1 clear folio=%s" % hx(folio.pfn))
        self._folio_gran(folio)
        folio.page_arch1[0] = False

    def page_test_arch1(self, page: Page) -> bool:
        v = page.folio.page_arch1[page.i]
        self.trace.emit("pg_arch_1 test page=%s -> %d" % (hx(page.pfn), int(v)))
        self._page_gran(page)
        return v

    def page_set_arch1(self, page: Page) -> None:
        self.trace.emit("pg_arch_1 set page=%s" % hx(page.pfn))
        self._page_gran(page)
        page.folio.page_arch1[page.i] = True

    def page_clear_arch1(self, page: Page) -> None:
        self.trace.emit("pg_arch_1 clear page=%s" % hx(page.pfn))
        self._page_gran(page)
        page.folio.page_arch1[page.i] = False

    def tlb_preload(self, mm: Mm, addr: int, ptep: PteRef) -> None:
        t = ptep.table
        val = t.entries[ptep.idx]
        self.trace.emit("tlb_preload mm=%d addr=%s val=%s" % (mm.id, hx(addr), hx(val)))
        vpage = addr >> self.page_shift
        if self.tlb.pairs:
            even = ptep.idx & ~1
            self.tlb.load(mm.id, vpage & ~1, t.entries[even])
            self.tlb.load(mm.id, vpage | 1, t.entries[even | 1])
        else:
            self.tlb.load(mm.id, vpage, val)

    def tlb_flush_page(self, mm: Mm, addr: int) -> None:
        self.trace.emit("tlb_flush_page mm=%d addr=%s" % (mm.id, hx(addr)))
        self.tlb.drop(mm.id, addr >> self.page_shift)

    # ------------------------------------------------------------------
    # Checked wrappers around the four arch calls
    def _begin(self, name: str) -> int:
        self.call = name
        self.touched = []
        self.buddies = []
        return self.trace.mark()

    def _returned(self) -> None:
        """An arch call returned: it must have left lazy MMU mode (the
        deferred stores are then applied so the run can go on)."""
        if self.lazy.active:
            self.violate(LAZY_MMU, self.call, "lazy MMU mode left before return",
                         "returned in lazy MMU mode")
            self.lazy.leave()

    def _end(self, mark: int) -> None:
        self._returned()
        if self.script is not None:
            self.script.expect(self.trace.since(mark))
        self.call = ""

    def _vma_of(self, mm: Mm, addr: int) -> Vma | None:
        return mm.find_vma(addr)

    def set_ptes(self, mm: Mm, addr: int, ptep: PteRef, pte: int,
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
        self.arch.set_ptes(self, mm, addr, ptep, pte, nr)
        self._returned()
        if self.checking:
            self._check_touched(t, ptep.idx, nr)
            ents = t.entries
            prot = arch.pte_pgprot(pte)
            n = nr if present else 1
            for i in range(n):
                exp = arch.pfn_pte(pfn + i, prot)
                got = ents[ptep.idx + i]
                if got != exp:
                    self.violate(PTE_VALUE, "pt=%d idx=%d addr=%s"
                                 % (t.pt, ptep.idx + i, hx(addr + i * ps)),
                                 hx(exp), hx(got), addr + i * ps, pfn + i)
        self._end(mark)

    def _check_touched(self, t: PteTable, idx: int, nr: int) -> None:
        for tt, j in self.touched:
            if tt is not t or j < idx or j >= idx + nr:
                self.violate(PTE_OUTSIDE_RANGE, "pt=%d idx=%d" % (tt.pt, j),
                             "pt=%d idx=%d..%d" % (t.pt, idx, idx + nr - 1),
                             "write to pt=%d idx=%d" % (tt.pt, j))

    def set_pte_at(self, mm: Mm, addr: int, ptep: PteRef, pte: int) -> None:
        """include/linux/pgtable.h: set_pte_at is set_ptes(..., 1)."""
        self.set_ptes(mm, addr, ptep, pte, 1)

    def update_mmu_cache_range(self, vmf: Vmf | None, vma: Vma, addr: int,
                               ptep: PteRef, nr: int) -> None:
        if self.script is not None:
            self.script.call_update(self, vmf, vma, addr, ptep, nr)
        mark = self._begin("update_mmu_cache_range")
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

    # ------------------------------------------------------------------
    # Generic callers (mm/memory.c, mm/filemap.c)
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
        self.trace.emit("set_pmd mm=%d addr=%s pfn=%s" % (mm.id, hx(haddr), hx(folio.pfn)))
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

    def ptep_clear(self, mm: Mm, addr: int, flush: bool = True) -> int:
        """ptep_get_and_clear (+ flush_tlb_page with ``flush``), with
        page_table_check's clear, rmap and counters (zap_pte_range)."""
        ptep = self.pte_ref(mm, addr)
        if ptep is None:
            return self.arch.empty_pte
        t = ptep.table
        old = t.entries[ptep.idx]
        self.trace.emit("pte_clear pt=%d idx=%d" % (t.pt, ptep.idx))
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
                if flush and not self.dcache.coherent:
                    self.dcache_flush_user(mm, addr, pfn, 1)   # flush_cache_page
        if flush:
            self.tlb_flush_page(mm, addr)
        return old

    def zap_range(self, mm: Mm, addr: int, nr: int, flush: bool = True) -> None:
        for i in range(nr):
            self.ptep_clear(mm, addr + i * self.page_size, flush)

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

    # ------------------------------------------------------------------
    # User actions
    def _allowed(self, pte: int, write: bool, exec: bool) -> bool:
        arch = self.arch
        if not arch.pte_present(pte):
            return False
        if arch.layout.has_role("user") and not arch.pte_user(pte):
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
        leaf = mm.pmd_leaves.get(base)
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
        pte = self.pte_at(mm, addr)
        if tlb.pairs:
            # the refill handler loads both halves, valid or not
            t = self.pte_table(mm, addr)
            idx = vpage & (self.arch.ptrs_per_pte - 1)
            e = self.arch.empty_pte
            tlb.load(mm.id, vpage & ~1, e if t is None else t.entries[idx & ~1])
            tlb.load(mm.id, vpage | 1, e if t is None else t.entries[idx | 1])
            if not self.arch.pte_present(pte):
                return _FAULT, pte
        elif not self.arch.pte_present(pte):
            if tlb.caches_invalid():
                tlb.load(mm.id, vpage, pte)
            return _FAULT, pte
        else:
            tlb.load(mm.id, vpage, pte)
        if not self._allowed(pte, write, exec):
            tlb.drop(mm.id, vpage)
            return _FAULT, pte
        return _HIT, pte

    def user_access(self, mm: Mm, addr: int, write: bool, exec: bool) -> int:
        """Translate (faulting as needed) and return the pfn, -1 on SIGSEGV."""
        status, val = self._translate(mm, addr, write, exec)
        tries = 0
        while status != _HIT:
            tries += 1
            if tries > 3:
                return -1
            cur = self.pte_at(mm, addr)
            if status == _INVALID and self._allowed(cur, write, exec) and tries > 1:
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
            elif self.tlb.kind in ("software", "software_pairs"):
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
        if base not in mm.pmd_leaves and (not self.arch.pte_present(cur)
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
        f.latest[i] = v
        return v

    def user_exec(self, mm: Mm, addr: int) -> int:
        """An instruction fetch: returns the version executed."""
        f, i, pfn = self._user_page(mm, addr, False, True)
        if f is None:
            return -1
        v = self.icache.fetch(f, i, self.dcache, self.dcache.alias(mm.id, addr))
        if v != f.latest[i]:
            self.violate(STALE_INSN, "mm=%d addr=%s pfn=%s" % (mm.id, hx(addr), hx(pfn)),
                         "version %d" % f.latest[i], "version %d" % v, addr, pfn)
        return v

    # ------------------------------------------------------------------
    # Kernel actions
    def kernel_write_page(self, pfn: int) -> int:
        """The kernel stores new data through the direct map (kaddr)."""
        f = self.pfn_folio(pfn)
        v = self.mem.new_version()
        self.dcache.write(f, pfn - f.pfn, self._kalias(pfn), v)
        f.latest[pfn - f.pfn] = v
        return v

    def kernel_read_page(self, pfn: int) -> int:
        f = self.pfn_folio(pfn)
        return self.dcache.read(f, pfn - f.pfn, self._kalias(pfn))

    def kernel_write_folio(self, folio: Folio, flush: bool = True) -> None:
        """Write every page of a (page-cache) folio through the kernel
        alias, then flush_dcache_folio (cachetlb.rst: "Any time the kernel
        writes to a page cache page ... this routine is called")."""
        for i in range(folio.nr_pages):
            self.kernel_write_page(folio.pfn + i)
        if flush:
            self.flush_dcache_folio(folio)

    def file_write(self, mapping: Mapping, index: int, flush: bool = True) -> int:
        """write(2) into the page cache (generic_perform_write: copy, then
        flush_dcache_folio)."""
        f = mapping.folio_at(index)
        if f is None:
            f = self.add_to_page_cache(mapping, index, 0, fill=False)
        v = self.kernel_write_page(f.pfn + index - f.index)
        if flush:
            self.flush_dcache_folio(f)
        return v
