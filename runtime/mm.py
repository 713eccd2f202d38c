"""Address spaces: ``Mm`` (with its PTE tables and PMD leaves), ``Vma``, ``Vmf``.

Place in the flow: user actions name an ``Mm`` and an address; the fault
path finds the ``Vma`` and builds a ``Vmf`` (struct vm_fault) for the
generic callers (mm/memory.c, mm/filemap.c); arch calls receive them.
Several VMAs and several mms may map the same folio.  ``init_mm`` has id 0
(page_table_check skips it: mm/page_table_check.c).  ``FolioMapping`` is
one step of the i_mmap walk (``Machine.folio_mappings``): a VMA that maps
part of a file folio, the folio pages it maps and their user address.
"""

from __future__ import annotations

from mypy_extensions import i64

from runtime.arch import VM_EXEC, VM_SHARED, VM_WRITE, VM_READ
from runtime.memory import Mapping
from runtime.pagetable import PteRef, PteTable


class Vma:
    """[start, end) with vm_flags, a file mapping (or anon) and pgoff."""

    id: int
    mm: Mm
    start: int
    end: int
    flags: int
    mapping: Mapping | None
    pgoff: int
    page_prot: i64      # vm_page_prot: an i64 PTE pattern (runtime/pteval.py)

    def __init__(self, mm: Mm, start: int, end: int, flags: int,
                 mapping: Mapping | None, pgoff: int, page_prot: i64) -> None:
        self.mm = mm
        self.start = start
        self.end = end
        self.flags = flags
        self.mapping = mapping
        self.pgoff = pgoff
        self.page_prot = page_prot
        self.id = 0

    @property
    def exec(self) -> bool:
        return bool(self.flags & VM_EXEC)

    @property
    def write(self) -> bool:
        return bool(self.flags & VM_WRITE)

    @property
    def read(self) -> bool:
        return bool(self.flags & VM_READ)

    @property
    def shared(self) -> bool:
        return bool(self.flags & VM_SHARED)

    @property
    def anon(self) -> bool:
        return self.mapping is None

    def contains(self, addr: int) -> bool:
        return self.start <= addr < self.end

    def __repr__(self) -> str:
        return "Vma(mm=%d, 0x%x-0x%x, flags=0x%x)" % (self.mm.id, self.start,
                                                      self.end, self.flags)


class Mm:
    """An mm_struct: VMAs, PTE tables by PMD base, PMD leaves, counters."""

    id: int
    vmas: list[Vma]
    tables: dict[int, PteTable]
    pmd_leaves: dict[int, int]   # PMD base -> pfn of a PMD-mapped folio
    file_pages: int              # MM_FILEPAGES
    anon_pages: int              # MM_ANONPAGES
    has_pgste: bool
    # the table Machine.pte_table found last (tables are never freed):
    # a fault's walks hit it without a dict lookup of a boxed base
    last_table: PteTable | None

    def __init__(self, id: int, has_pgste: bool = False) -> None:
        self.id = id
        self.vmas = []
        self.tables = {}
        self.last_table = None
        self.pmd_leaves = {}
        self.file_pages = 0
        self.anon_pages = 0
        self.has_pgste = has_pgste

    @property
    def is_init(self) -> bool:
        return self.id == 0

    def find_vma(self, addr: int) -> Vma | None:
        for v in self.vmas:
            if v.start <= addr < v.end:
                return v
        return None


class Vmf:
    """struct vm_fault: the faulting VMA, address, pgoff, flags, PTE."""

    vma: Vma
    address: int
    pgoff: int
    write: bool
    exec: bool
    pte: PteRef | None
    orig_pte: int

    def __init__(self, vma: Vma, address: int, pgoff: int, write: bool,
                 exec: bool) -> None:
        self.vma = vma
        self.address = address
        self.pgoff = pgoff
        self.write = write
        self.exec = exec
        self.pte = None
        self.orig_pte = 0


class FolioMapping:
    """One VMA of a file folio's i_mmap walk (vma_interval_tree_foreach
    over [folio->index, folio->index + nr - 1], as arch/arm/mm/flush.c
    __flush_dcache_aliases and arch/parisc/kernel/cache.c flush_dcache_folio
    do it): the pages of the folio the VMA maps are ``pfn .. pfn + nr - 1``
    at user addresses ``addr ..``; ``head_addr`` is where the folio's
    first page would sit in the VMA (below ``vma.start`` when the VMA
    covers only the folio's tail), wrapped to the word size as an
    unsigned long is."""

    vma: Vma
    mm: Mm
    addr: int
    pfn: int
    nr: int
    head_addr: int
    folio_pfn: int

    def __init__(self, vma: Vma, addr: int, pfn: int, nr: int, head_addr: int,
                 folio_pfn: int) -> None:
        self.vma = vma
        self.folio_pfn = folio_pfn
        self.mm = vma.mm
        self.addr = addr
        self.pfn = pfn
        self.nr = nr
        self.head_addr = head_addr

    def __repr__(self) -> str:
        return "FolioMapping(vma=%d, addr=0x%x, pfn=0x%x, nr=%d)" % (
            self.vma.id, self.addr, self.pfn, self.nr)
