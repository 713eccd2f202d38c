"""Violation records and the RangeError precondition failure.

Place in the flow: created by ``Kernel`` while it runs (primitives and the
wrappers around arch calls) and by ``runtime.oracle``'s scans; re-exported
by ``runtime.oracle``, which is the documented home of both names.
"""

from __future__ import annotations

# Stable check names (docs/runtime-interface.md, "Violations").
STALE_DATA = "stale_data"
STALE_INSN = "stale_insn"
PTE_VALUE = "pte_value"
PTE_OUTSIDE_RANGE = "pte_outside_range"
RANGE_PRECONDITION = "range_precondition"
PG_ARCH_1_GRANULARITY = "pg_arch_1_granularity"
PG_ARCH_1_STATE = "pg_arch_1_state"
PAGE_TABLE_CHECK = "page_table_check"
TLB_STALE = "tlb_stale"
TLB_PRELOAD_MISSING = "tlb_preload_missing"
SPURIOUS_FAULT = "spurious_fault"
LAZY_MMU = "lazy_mmu"
# Added by the runtime (not renaming anything in the contract):
PREFAULT_YOUNG = "prefault_young"
# lazy MMU mode as arch behaviour (runtime/lazy.py): a region entered inside
# another where the arch's mode does not nest; a queued TLB flush still
# pending once the mode is off
LAZY_MMU_NESTING = "lazy_mmu_nesting"
TLB_BATCH_PENDING = "tlb_batch_pending"
# arch code used the linear-map (page_address) address of a highmem page
HIGHMEM_KADDR = "highmem_kaddr"
# arch code called a folio/page primitive on a pfn with no struct page
NO_STRUCT_PAGE = "no_struct_page"

CHECK_NAMES: tuple[str, ...] = (
    STALE_DATA, STALE_INSN, PTE_VALUE, PTE_OUTSIDE_RANGE, RANGE_PRECONDITION,
    PG_ARCH_1_GRANULARITY, PG_ARCH_1_STATE, PAGE_TABLE_CHECK, TLB_STALE,
    TLB_PRELOAD_MISSING, SPURIOUS_FAULT, LAZY_MMU, PREFAULT_YOUNG,
    LAZY_MMU_NESTING, TLB_BATCH_PENDING,
    HIGHMEM_KADDR, NO_STRUCT_PAGE,
)


class Violation:
    """One failed invariant: which check, on which arch, where, and what.

    ``where`` is a readable locator (``addr=0x... pfn=0x...``); ``addr`` and
    ``pfn`` repeat it as numbers (-1 when not applicable).
    """

    check: str
    arch: str
    where: str
    expected: str
    seen: str
    addr: int
    pfn: int

    def __init__(self, check: str, arch: str, where: str, expected: str,
                 seen: str, addr: int = -1, pfn: int = -1) -> None:
        self.check = check
        self.arch = arch
        self.where = where
        self.expected = expected
        self.seen = seen
        self.addr = addr
        self.pfn = pfn

    def __repr__(self) -> str:
        return "Violation(%s, %s, %s, expected=%s, seen=%s)" % (
            self.check, self.arch, self.where, self.expected, self.seen)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Violation):
            return NotImplemented
        return (self.check, self.arch, self.where, self.expected, self.seen,
                self.addr, self.pfn) == (other.check, other.arch, other.where,
                                         other.expected, other.seen,
                                         other.addr, other.pfn)

    def __hash__(self) -> int:
        return hash((self.check, self.arch, self.where, self.expected,
                     self.seen, self.addr, self.pfn))


class RangeError(Exception):
    """A range call broke its precondition (the kernel's VM_BUG_ON).

    ``what`` is one of ``pmd``, ``folio``, ``vma``, ``nr``, ``addr``.
    """

    check: str
    what: str
    detail: str

    def __init__(self, what: str, detail: str) -> None:
        super().__init__("range_precondition: %s: %s" % (what, detail))
        self.check = RANGE_PRECONDITION
        self.what = what
        self.detail = detail
