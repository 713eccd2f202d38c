"""``Machine``: the state of the modelled machine, its set-up and the
queries arch code may make (no trace lines).

Place in the flow: the base of ``runtime.kernel.Kernel``'s class chain
``Machine`` (state, set-up, queries) -> ``runtime.effects.Effects`` (the
primitives) -> ``runtime.archcalls.ArchCalls`` (checked wrappers around the
four arch calls, kernel actions) -> ``runtime.mmcallers.MmCallers``
(generic mm callers, fault path) -> ``runtime.kernel.Kernel`` (TLB walk,
user actions).  One class per seam keeps each module small; mypyc compiles
the chain as native single inheritance.
"""

from __future__ import annotations

from runtime.arch import Arch
from runtime.cache import DCache, ICache, make_icache
from runtime.layout import Layout
from runtime.lazy import LazyMmu
from runtime.memory import HIGHMEM_START_PFN, Folio, Mapping, Page, PhysMem
from runtime.mm import FolioMapping, Mm, Vma
from runtime.pagetable import PteRef, PteTable
from runtime.primitives import DCACHE_VIVT
from runtime.ptcheck import PageTableCheck
from runtime.script import ScriptWriter
from runtime.tlb import VPAGE_BITS, Tlb, make_tlb
from runtime.trace import Trace
from runtime.violation import HIGHMEM_KADDR, NO_STRUCT_PAGE, Violation

FAULT_AROUND_BYTES = 65536
# kmap_local's fixmap slots (the model's FIX_KMAP_BEGIN): colour 0, one
# slot per nesting level; the model's kmaps never nest, so slot 0
KMAP_BASE_32 = 0xFFE0_0000
KMAP_BASE_64 = 0xFFFF_FFFF_FFE0_0000


class Machine:
    """The machine an arch runs on: memory, page tables, caches, TLB,
    page_table_check, lazy MMU state, trace."""

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
    # bookkeeping of the arch call in progress: ``touched`` holds the
    # stores outside the call's allowed write window (``win_table``
    # entries [win_lo, win_hi): set_ptes' and update_mmu_cache_range's
    # range; none for the other calls), so an in-range store costs no
    # object
    call: str
    touched: list[tuple[PteTable, int]]
    # the arch keeps asm-generic set_ptes (Arch.set_ptes): ArchCalls runs
    # it by index (_generic_set_ptes)
    generic_set_ptes: bool
    win_table: PteTable | None
    win_lo: int
    win_hi: int
    buddies: list[tuple[PteTable, int]]
    faults: int
    call_lazy_depth: int      # lazy MMU depth when the arch call began
    # stand-in folios for pfns with no struct page that arch code asked
    # for (pfn_folio / pfn_page on a !pfn_valid pfn: a no_struct_page
    # violation); kept so repeated bit operations agree with the C shim
    phantoms: dict[int, Folio]
    # PMD tables (one per mm and PUD-sized region) holding the leaves the
    # arch's set_pmd_at stores, as pte-format values (pmd_pte(pmd)); the
    # pfn of each leaf is also in Mm.pmd_leaves, which the walk reads
    pmd_tables: dict[tuple[int, int], PteTable]
    pmd_pts: set[int]
    # current->active_mm: the task whose address space the CPU runs
    # (user actions switch to their mm; write(2) names its writer)
    current_mm: Mm
    # asked once of the arch: pte_user_accessible_page(empty_pte)
    # (page_table_check_ptes_set skips empty entries when false), and the
    # roles the user-access check reads, as masks (Layout.test without the
    # role lookups: on = ((val & mask) != 0) != inverted; mask 0: no role)
    empty_is_user_page: bool
    valid_mask: int
    valid_inverted: bool
    read_mask: int
    read_inverted: bool

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
        self.mem = PhysMem(arch.max_folio_order,
                           highmem_start=HIGHMEM_START_PFN if arch.highmem else -1)
        self.phantoms = {}
        self.pmd_tables = {}
        self.pmd_pts = set()
        self.dcache = DCache(arch.dcache_kind(cpu), arch.dcache_colours(cpu),
                             arch.page_shift)
        self.icache = make_icache(arch.icache_kind(cpu), arch.icache_colours(cpu),
                                  arch.page_shift, arch.kernel_base)
        self.tlb = make_tlb(arch.tlb_kind)
        self.violations = []
        if page_table_check is None:
            page_table_check = arch.supports_page_table_check
        self.ptc = PageTableCheck(arch.name, self.mem, self.violations,
                                  page_table_check)
        self.lazy = LazyMmu(arch.lazy_mmu_kind)
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
        self.generic_set_ptes = not any(
            "set_ptes" in vars(c) for c in type(arch).__mro__
            if c is not Arch and issubclass(c, Arch))
        self.win_table = None
        self.win_lo = 0
        self.win_hi = 0
        self.buddies = []
        self.faults = 0
        self.call_lazy_depth = 0
        self.current_mm = self.init_mm
        self.empty_is_user_page = arch.pte_user_accessible_page(arch.empty_pte)
        lay = arch.layout
        self.valid_mask = lay.role_mask.get("valid", 0)
        self.valid_inverted = lay.role_inverted.get("valid", False)
        self.read_mask = lay.role_mask.get("read", 0)
        self.read_inverted = lay.role_inverted.get("read", False)

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
                  self.arch.vm_get_page_prot_cpu(flags, self.cpu))
        vma.id = len(self.vmas) + 1
        self.vmas.append(vma)
        mm.vmas.append(vma)
        if mapping is not None:
            mapping.nr_vmas += 1
        return vma

    def alloc_folio(self, order: int = 0, anon: bool = False,
                    pfn: int = -1, highmem: bool = False) -> Folio:
        """A folio at ``pfn`` or the next free one; ``highmem``: the
        allocation may come from highmem (GFP_HIGHUSER) on an arch with
        it."""
        if pfn >= 0:
            return self.mem.alloc_at(pfn, order, anon)
        return self.mem.alloc(order, anon, highmem)


    # ------------------------------------------------------------------
    # Queries (no trace line)
    def pfn_valid(self, pfn: int) -> bool:
        return self.mem.pfn_valid(pfn)

    def pfn_folio(self, pfn: int) -> Folio:
        """page_folio(pfn_to_page(pfn)).  For a pfn with no struct page
        (remap_pfn_range of device memory) the kernel would read garbage:
        a ``no_struct_page`` violation, and a stand-in folio so the run
        (and the C replay, whose shim makes one too) goes on."""
        f = self.mem.folio_of(pfn)
        if f is None:
            return self._phantom(pfn)
        return f

    def _phantom(self, pfn: int) -> Folio:
        self.violate(NO_STRUCT_PAGE, "pfn=0x%x" % pfn,
                     "no folio or page primitive on a pfn without struct page "
                     "(pfn_valid false)", "pfn_to_page(0x%x)" % pfn, pfn=pfn)
        f = self.phantoms.get(pfn)
        if f is None:
            f = Folio(pfn, 0, False)
            f.phantom = True
            self.phantoms[pfn] = f
        return f

    def pfn_page(self, pfn: int) -> Page:
        f = self.pfn_folio(pfn)
        return Page(f, pfn - f.pfn)

    def folio_has_mapping(self, folio: Folio) -> bool:
        return folio.mapping is not None and not folio.anon

    def mapping_mapped(self, folio: Folio) -> bool:
        m = folio.mapping
        return m is not None and m.nr_vmas > 0

    def folio_mapped(self, folio: Folio) -> bool:
        """folio_mapped(): some page of the folio is in a user page table."""
        return folio.total_mapcount() > 0

    def kaddr(self, pfn: int) -> int:
        """page_address(): the linear-map address.  A highmem page has
        none (page_address() is NULL unless kmapped): arch code asking for
        it is a ``highmem_kaddr`` violation; 0 stands for NULL."""
        if self.mem.is_highmem(pfn):
            self.violate(HIGHMEM_KADDR, "pfn=0x%x" % pfn,
                         "kmap_local_page() for a highmem page",
                         "page_address() of highmem pfn 0x%x" % pfn, pfn=pfn)
            return 0
        return self.linear_addr(pfn)

    def linear_addr(self, pfn: int) -> int:
        """The linear-map address pfn would have (no check)."""
        return self.arch.kernel_base + (pfn << self.page_shift)

    def kmap_local_addr(self, pfn: int) -> int:
        """kmap_local_page(): the linear address of a lowmem page; for a
        highmem page a fixmap slot (mm/highmem.c __kmap_local_pfn_prot),
        whose colour is the slot's, or the page's own colour where the arch
        picks the slot by colour (xtensa kmap_local_map_idx)."""
        if not self.mem.is_highmem(pfn):
            return self.linear_addr(pfn)
        base = KMAP_BASE_32 if self.arch.word_bits == 32 else KMAP_BASE_64
        if self.arch.kmap_colour:
            return base + ((pfn % self.dcache.colours) << self.page_shift)
        return base

    def kernel_alias(self, pfn: int) -> int:
        """The D-cache alias the kernel's own accesses to pfn use: the
        linear map, or for highmem the kmap_local slot."""
        return self.dcache.alias(0, self.kmap_local_addr(pfn))

    def page_highmem(self, pfn: int) -> bool:
        """PageHighMem(pfn_to_page(pfn))."""
        return self.mem.is_highmem(pfn)

    def mm_forbids_zeropage(self, mm: Mm) -> bool:
        """mm_forbids_zeropage(): 0 except s390, where a KVM guest mm using
        storage keys or PV may not map the shared zero page
        (arch/s390/include/asm/pgtable.h L593-601, !allow_cow_sharing; the
        model takes every PGSTE mm to be such a guest)."""
        return mm.has_pgste

    def pages_do_alias(self, a: int, b: int) -> bool:
        c = self.dcache.colours
        if c <= 1:
            return False
        return (a >> self.page_shift) % c != (b >> self.page_shift) % c

    def i_mmap(self, mapping: Mapping) -> list[Vma]:
        """The VMAs mapping a file (address_space i_mmap), by VMA id: every
        VMA created with this mapping that its mm still holds."""
        return [v for v in self.vmas if v.mapping is mapping and v in v.mm.vmas]

    def folio_mappings(self, folio: Folio) -> list[FolioMapping]:
        """The i_mmap walk over a file folio's pages (vma_interval_tree_foreach
        from folio->index to folio->index + nr - 1): per VMA that maps at
        least one of them, which pages and where.  Empty for an anonymous
        folio or one without a mapping (folio_flush_mapping() NULL)."""
        m = folio.mapping
        out: list[FolioMapping] = []
        if m is None or folio.anon:
            return out
        first = folio.index
        last = folio.index + folio.nr_pages - 1
        word = (1 << self.arch.word_bits) - 1
        for v in self.i_mmap(m):
            vlast = v.pgoff + ((v.end - v.start) >> self.page_shift) - 1
            if vlast < first or v.pgoff > last:
                continue
            lo = max(first, v.pgoff)
            hi = min(last, vlast)
            addr = v.start + ((lo - v.pgoff) << self.page_shift)
            head = (v.start + ((first - v.pgoff) << self.page_shift)) & word
            out.append(FolioMapping(v, addr, folio.pfn + (lo - first), hi - lo + 1, head,
                                    folio.pfn))
        return out

    def switch_to(self, mm: Mm) -> None:
        """The CPU runs a task of ``mm`` (context switch when it is not
        current->active_mm).  An untagged virtual cache (``vivt``) cannot
        tell address spaces apart, so switch_mm writes back and invalidates
        every user line (arm v4/v5 cpu_*_switch_mm clean and invalidate the
        whole D-cache, arch/arm/mm/proc-arm926.S); the model keys VIVT
        lines by (mm, vaddr) and drops the user ones here, no trace line."""
        if mm is self.current_mm:
            return
        self.current_mm = mm
        if self.dcache.kind == DCACHE_VIVT:
            self.dcache_drop_user_lines(-1)

    def dcache_drop_user_lines(self, space: int) -> None:
        """Write back and invalidate the VIVT user lines of address space
        ``space`` (every user space: -1)."""
        dc = self.dcache
        for pfn, alias in dc.lines():
            sp = alias >> VPAGE_BITS
            if sp == 0 or (space >= 0 and sp != space):
                continue
            f = self.mem.folio_of(pfn)
            if f is not None:
                dc.flush(f, pfn - f.pfn, alias)
            else:
                dc.invalidate(pfn, alias)

    def mm_is_current(self, mm: Mm) -> bool:
        """mm == current->active_mm."""
        return mm is self.current_mm

    def cpu_has(self, feature: str) -> bool:
        return feature in self.cpu

    def pte_table(self, mm: Mm, addr: int, alloc: bool = False) -> PteTable | None:
        base = (addr >> self.pmd_shift) << self.pmd_shift
        t = mm.last_table
        if t is not None and t.base == base:
            return t
        t = mm.tables.get(base)
        if t is None and alloc:
            t = PteTable(self.next_pt, mm.id, base, self.arch.ptrs_per_pte,
                         self.page_shift, self.arch.empty_pte)
            self.next_pt += 1
            mm.tables[base] = t
        if t is not None:
            mm.last_table = t
        return t

    def pte_ref(self, mm: Mm, addr: int, alloc: bool = False) -> PteRef | None:
        t = self.pte_table(mm, addr, alloc)
        if t is None:
            return None
        return PteRef(t, (addr >> self.page_shift) & (self.arch.ptrs_per_pte - 1))

    def pmd_ref(self, mm: Mm, addr: int) -> PteRef:
        """The pmd_t * of addr (a PMD table is allocated on first use; the
        model gives it ptrs_per_pte entries: PTRS_PER_PMD on every landed
        arch but s390, whose segment table is 2048 entries)."""
        n = self.arch.ptrs_per_pte
        pud_shift = self.pmd_shift + (n.bit_length() - 1)
        base = (addr >> pud_shift) << pud_shift
        t = self.pmd_tables.get((mm.id, base))
        if t is None:
            t = PteTable(self.next_pt, mm.id, base, n, self.pmd_shift, self.arch.empty_pte)
            self.next_pt += 1
            self.pmd_tables[(mm.id, base)] = t
            self.pmd_pts.add(t.pt)
        return PteRef(t, (addr >> self.pmd_shift) & (n - 1))

    def pte_at(self, mm: Mm, addr: int) -> int:
        """The entry the hardware would see (deferred stores excluded)."""
        t = self.pte_table(mm, addr)
        if t is None:
            return self.arch.empty_pte
        return t.entries[(addr >> self.page_shift) & (self.arch.ptrs_per_pte - 1)]
