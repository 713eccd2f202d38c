"""Physical memory: pages with a data version each, folios, the page cache.

Place in the flow: the bottom of the machine.  ``Kernel`` allocates folios
here, the caches read and write page versions here, page_table_check keeps
its per-page counters here (the model's page_ext), and the oracle compares
what a user sees with ``Folio.latest``.

Model:
* Every write (kernel or user) creates a new global *version*; a page
  records ``latest`` (the newest version anyone wrote: what a user must
  see) and ``ram`` (what memory holds; the caches may hold other versions
  until written back).
* A ``Folio`` of order 0..PMD order is naturally aligned (as page-cache and
  buddy folios are); ``Page`` is a view (folio, index): head is index 0.
* PG_arch_1 lives in the flags of each ``struct page``; the folio flag IS the
  head page's bit (include/linux/page-flags.h: folio flags are the head
  page's).  Per-page state is kept in per-folio lists so 1 GiB of 4 KiB
  pages costs a few lists, not 262144 objects.
* ``Mapping`` is an address_space: file folios by index, and how many VMAs
  map it (``mapping_mapped``: include/linux/fs.h, i_mmap non-empty).
* Highmem (32-bit arches with CONFIG_HIGHMEM): pfns from ``highmem_start``
  up have no permanent kernel address (PageHighMem); allocations that may
  use highmem (GFP_HIGHUSER: page cache, anonymous and COW pages) come from
  there, kernel allocations stay below (``alloc(..., highmem=...)``).
* Pages that are not ordinary folio pages: the shared zero page
  (``ZERO_PFN``, a struct page in the kernel image: lowmem, never written;
  mm/memory.c do_anonymous_page maps it special) and pfns with no struct
  page at all (``pfn_valid`` false: remap_pfn_range of device memory).
"""

from __future__ import annotations

from typing import Final

# The shared zero page's pfn (empty_zero_page lives in the kernel image,
# below every folio the allocator hands out: PhysMem starts at 0x1000).
ZERO_PFN = 0x800
# First highmem pfn on an arch with highmem: 0x30000 pages of 4 KiB is the
# 768 MiB of lowmem of a 3G/1G split (arch/arm/mm/mmu.c vmalloc_min,
# arch/x86 MAXMEM); a model choice, kept above the deterministic direct
# scenarios' folios at pfn 0x10000.
HIGHMEM_START_PFN = 0x30000
# The sparse arrays below (page cache by file index, folios by pfn) are
# chunks of SLOT_CHUNK entries, one dict entry per chunk.
SLOT_SHIFT: Final = 9
SLOT_CHUNK: Final = 1 << SLOT_SHIFT
SLOT_MASK: Final = SLOT_CHUNK - 1


class FolioSlots:
    """A sparse array from an index (a file's page index, a pfn) to the
    folio holding it: chunk number -> one list entry per index (its folio
    or None), as the kernel's xarray is a radix tree of 64-slot nodes: one
    small dict lookup and a list index per query, no per-index dict entry."""

    chunks: dict[int, list[Folio | None]]

    def __init__(self) -> None:
        self.chunks = {}

    def get(self, i: int) -> Folio | None:
        chunk = self.chunks.get(i >> SLOT_SHIFT)
        if chunk is None:
            return None
        return chunk[i & SLOT_MASK]

    def fill(self, lo: int, n: int, folio: Folio) -> None:
        """Indices lo .. lo + n - 1 hold ``folio``."""
        chunks = self.chunks
        for i in range(lo, lo + n):
            chunk = chunks.get(i >> SLOT_SHIFT)
            if chunk is None:
                chunk = [None] * SLOT_CHUNK
                chunks[i >> SLOT_SHIFT] = chunk
            chunk[i & SLOT_MASK] = folio

    def clear(self, lo: int, n: int, folio: Folio) -> None:
        """Indices lo .. lo + n - 1 that hold ``folio`` hold nothing."""
        for i in range(lo, lo + n):
            chunk = self.chunks.get(i >> SLOT_SHIFT)
            if chunk is not None and chunk[i & SLOT_MASK] is folio:
                chunk[i & SLOT_MASK] = None


class Mapping:
    """A file's address_space (page cache): ``folios`` by the index of
    their first page (for iteration), and the page-index lookup
    ``folio_at`` through ``slots`` (a FolioSlots by page index)."""

    id: int
    name: str
    folios: dict[int, Folio]   # by index of the folio's first page
    slots: FolioSlots
    nr_vmas: int

    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name
        self.folios = {}
        self.slots = FolioSlots()
        self.nr_vmas = 0

    def folio_at(self, index: int) -> Folio | None:
        """The folio caching page ``index`` of the file, if any."""
        return self.slots.get(index)

    def add(self, folio: Folio) -> None:
        self.folios[folio.index] = folio
        self.slots.fill(folio.index, folio.nr_pages, folio)

    def remove(self, folio: Folio) -> bool:
        """Take ``folio`` out of the page cache (filemap_remove_folio);
        False if it is not the file's folio at its index."""
        if self.folios.get(folio.index) is not folio:
            return False
        del self.folios[folio.index]
        self.slots.clear(folio.index, folio.nr_pages, folio)
        return True


class Folio:
    """A naturally aligned run of ``1 << order`` pages."""

    pfn: int
    order: int
    nr_pages: int
    anon: bool
    mapping: Mapping | None
    index: int
    refcount: int
    entire_mapcount: int
    mapcount: list[int]
    page_arch1: list[bool]
    ram: list[int]
    latest: list[int]
    ptc_anon: list[int]
    ptc_file: list[int]
    highmem: bool       # PageHighMem: no permanent kernel address
    zero: bool          # the shared zero page
    phantom: bool       # stands for a pfn with no struct page (never in PhysMem)

    def __init__(self, pfn: int, order: int, anon: bool) -> None:
        n = 1 << order
        self.pfn = pfn
        self.order = order
        self.nr_pages = n
        self.anon = anon
        self.mapping = None
        self.index = 0
        self.refcount = 1
        self.entire_mapcount = 0
        self.mapcount = [0] * n
        self.page_arch1 = [False] * n
        self.ram = [0] * n
        self.latest = [0] * n
        self.ptc_anon = [0] * n
        self.ptc_file = [0] * n
        self.highmem = False
        self.zero = False
        self.phantom = False

    @property
    def arch1(self) -> bool:
        """The folio's PG_arch_1 (the head page's bit)."""
        return self.page_arch1[0]

    @property
    def large(self) -> bool:
        return self.order > 0

    def contains(self, pfn: int) -> bool:
        return self.pfn <= pfn < self.pfn + self.nr_pages

    def page(self, i: int) -> Page:
        return Page(self, i)

    def total_mapcount(self) -> int:
        return sum(self.mapcount) + self.entire_mapcount * self.nr_pages

    def __repr__(self) -> str:
        return "Folio(pfn=0x%x, order=%d, anon=%r)" % (self.pfn, self.order,
                                                      self.anon)


class Page:
    """A 4 KiB (PAGE_SIZE) page: a view of one page of a folio."""

    folio: Folio
    i: int

    def __init__(self, folio: Folio, i: int) -> None:
        self.folio = folio
        self.i = i

    @property
    def pfn(self) -> int:
        return self.folio.pfn + self.i

    @property
    def is_head(self) -> bool:
        return self.i == 0

    @property
    def arch1(self) -> bool:
        return self.folio.page_arch1[self.i]

    @property
    def mapcount(self) -> int:
        return self.folio.mapcount[self.i] + self.folio.entire_mapcount

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Page) and other.pfn == self.pfn

    def __hash__(self) -> int:
        return hash(self.pfn)

    def __repr__(self) -> str:
        return "Page(pfn=0x%x)" % self.pfn


class PhysMem:
    """All folios, by head pfn (``folios``, for iteration) and by any pfn
    (``pfn_slots``, a FolioSlots by pfn; ``folio_of``); a bump allocator;
    the version counter."""

    folios: dict[int, Folio]
    pfn_slots: FolioSlots
    max_order: int
    next_pfn: int
    version: int
    highmem_start: int      # first highmem pfn; -1: no highmem
    next_high_pfn: int
    user_stores: dict[int, int]    # pfn -> version of the last user store to it
    kernel_base: dict[int, int]    # pfn -> the newest kernel-made version a user store superseded
    last: Folio | None      # the folio folio_of found last (free clears it)

    def __init__(self, max_order: int, first_pfn: int = 0x1000,
                 highmem_start: int = -1) -> None:
        self.folios = {}
        self.pfn_slots = FolioSlots()
        self.max_order = max_order
        self.next_pfn = first_pfn
        self.version = 0
        self.highmem_start = highmem_start
        self.next_high_pfn = highmem_start
        self.user_stores = {}
        self.kernel_base = {}
        self.last = None

    def new_version(self) -> int:
        self.version += 1
        return self.version

    def note_user_store(self, pfn: int, prev: int, v: int) -> None:
        """A user store to ``pfn`` replaces version ``prev`` with ``v``:
        remember who wrote the data (the oracle's PG_arch_1 rule asks what
        the KERNEL last put into a page: runtime/oracle.py)."""
        if self.user_stores.get(pfn, -1) != prev:
            self.kernel_base[pfn] = prev
        self.user_stores[pfn] = v

    def kernel_version(self, pfn: int, latest: int) -> int:
        """The newest version of ``pfn`` the kernel made (a kernel store,
        a fill, a zeroed or copied page): ``latest`` unless a user store
        superseded it."""
        if self.user_stores.get(pfn, -1) == latest:
            return self.kernel_base.get(pfn, 0)
        return latest

    def alloc(self, order: int, anon: bool, highmem: bool = False) -> Folio:
        """A fresh folio; with ``highmem`` (GFP_HIGHUSER) from highmem when
        the machine has it."""
        n = 1 << order
        if highmem and self.highmem_start >= 0:
            pfn = (self.next_high_pfn + n - 1) & ~(n - 1)
            self.next_high_pfn = pfn + n
            return self.alloc_at(pfn, order, anon)
        pfn = (self.next_pfn + n - 1) & ~(n - 1)
        self.next_pfn = pfn + n
        return self.alloc_at(pfn, order, anon)

    def is_highmem(self, pfn: int) -> bool:
        """PageHighMem(pfn_to_page(pfn))."""
        return self.highmem_start >= 0 and pfn >= self.highmem_start

    def zero_folio(self) -> Folio:
        """The shared zero page (created on first use; lowmem)."""
        f = self.folios.get(ZERO_PFN)
        if f is None:
            f = self.alloc_at(ZERO_PFN, 0, False)
            f.zero = True
        return f

    def alloc_at(self, pfn: int, order: int, anon: bool) -> Folio:
        """Place a folio at ``pfn`` (must be aligned and free)."""
        n = 1 << order
        if pfn & (n - 1):
            raise ValueError("folio pfn 0x%x not aligned to order %d" % (pfn, order))
        for p in range(pfn, pfn + n):
            if self.folio_of(p) is not None:
                raise ValueError("pfn 0x%x already in a folio" % p)
        if order > self.max_order:
            raise ValueError("order %d beyond max %d" % (order, self.max_order))
        f = Folio(pfn, order, anon)
        f.highmem = self.is_highmem(pfn)
        self.folios[pfn] = f
        self.pfn_slots.fill(pfn, n, f)
        if f.highmem:
            if pfn + n > self.next_high_pfn:
                self.next_high_pfn = pfn + n
        elif pfn + n > self.next_pfn and not (0 <= self.highmem_start <= pfn + n - 1):
            self.next_pfn = pfn + n
        return f

    def free(self, folio: Folio) -> None:
        """Give the pfns back (contents stay, as in real RAM)."""
        del self.folios[folio.pfn]
        self.pfn_slots.clear(folio.pfn, folio.nr_pages, folio)
        if self.last is folio:
            self.last = None

    def folio_of(self, pfn: int) -> Folio | None:
        f = self.last
        if f is not None and f.pfn <= pfn and pfn - f.pfn < f.nr_pages:
            return f
        f = self.pfn_slots.get(pfn)
        if f is not None:
            self.last = f
        return f

    def pfn_valid(self, pfn: int) -> bool:
        return self.folio_of(pfn) is not None
