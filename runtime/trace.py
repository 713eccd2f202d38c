"""Event trace: every primitive appends one line (docs/runtime-interface.md).

Place in the flow: the lowest layer; ``Kernel`` primitives call the
emitters below (one per event kind of ``runtime.primitives.TRACE_FORMATS``,
whose %-formats they use); tests and the C-vs-Python differential compare
the lines.  Numbers: lower-case hex with ``0x`` for values/addresses/pfns
(``hx``), decimal for ids, indices and counts.  A PTE value arrives as
its i64 bit pattern (runtime/pteval.py) and is printed unsigned.
"""

from __future__ import annotations

from librt.vecs import vec
from mypy_extensions import i64

from runtime.primitives import TRACE_FORMATS, py_format
from runtime.pteval import u64


def hx(v: int) -> str:
    """Render a value, address or pfn the way every trace line does (a
    PTE value's negative i64 pattern as the unsigned word)."""
    return hex(u64(v))


_SET_PTE = py_format(TRACE_FORMATS["set_pte"])
_SET_PTE_BUDDY = py_format(TRACE_FORMATS["set_pte_buddy"])
_PGSTE_SET_PTE = py_format(TRACE_FORMATS["pgste_set_pte"])
_PTC_SET = py_format(TRACE_FORMATS["ptc_set"])
_LAZY_ENTER = py_format(TRACE_FORMATS["lazy_mmu_enter"])
_LAZY_LEAVE = py_format(TRACE_FORMATS["lazy_mmu_leave"])
_DCACHE_FLUSH = py_format(TRACE_FORMATS["dcache_flush"])
_DCACHE_FLUSH_USER = py_format(TRACE_FORMATS["dcache_flush_user"])
_DCACHE_CLEAN = py_format(TRACE_FORMATS["dcache_clean"])
_DCACHE_FLUSH_KMAP = py_format(TRACE_FORMATS["dcache_flush_kmap"])
_ICACHE_SYNC = py_format(TRACE_FORMATS["icache_sync"])
_ICACHE_INVAL = py_format(TRACE_FORMATS["icache_inval"])
_ICACHE_FLUSH_ALL = py_format(TRACE_FORMATS["icache_flush_all"])
_ICACHE_FLUSH_LOCAL = py_format(TRACE_FORMATS["icache_flush_local"])
_ICACHE_INVAL_MM = py_format(TRACE_FORMATS["icache_inval_mm"])
_FOLIO_TEST = py_format(TRACE_FORMATS["folio_test_arch1"])
_FOLIO_SET = py_format(TRACE_FORMATS["folio_set_arch1"])
_FOLIO_CLEAR = py_format(TRACE_FORMATS["folio_clear_arch1"])
_PAGE_TEST = py_format(TRACE_FORMATS["page_test_arch1"])
_PAGE_SET = py_format(TRACE_FORMATS["page_set_arch1"])
_PAGE_CLEAR = py_format(TRACE_FORMATS["page_clear_arch1"])
_TLB_PRELOAD = py_format(TRACE_FORMATS["tlb_preload"])
_TLB_FLUSH_PAGE = py_format(TRACE_FORMATS["tlb_flush_page"])
_HPTE_INSERT = py_format(TRACE_FORMATS["hpte_insert"])
_TSB_INSERT = py_format(TRACE_FORMATS["tsb_insert"])
_TLB_BATCH_ADD = py_format(TRACE_FORMATS["tlb_batch_add"])
_DCACHE_FLUSH_USER_RANGE = py_format(TRACE_FORMATS["dcache_flush_user_range"])
_DCACHE_FLUSH_USER_MM = py_format(TRACE_FORMATS["dcache_flush_user_mm"])
_CACHE_FLUSH_ALL = py_format(TRACE_FORMATS["cache_flush_all"])
_ICACHE_INVAL_USER = py_format(TRACE_FORMATS["icache_inval_user"])
_COPY_PAGE = py_format(TRACE_FORMATS["copy_page"])
_CLEAR_PAGE = py_format(TRACE_FORMATS["clear_page"])
_DCACHE_FLUSH_ALL = py_format(TRACE_FORMATS["dcache_flush_all"])
_PTE_CLEAR = py_format(TRACE_FORMATS["pte_clear"])
_SET_PMD = py_format(TRACE_FORMATS["set_pmd"])
_TLB_FLUSH_ALL = py_format(TRACE_FORMATS["tlb_flush_all"])
_DCACHE_FLUSH_PHYS = py_format(TRACE_FORMATS["dcache_flush_phys"])


class Trace:
    """An append-only list of trace lines; ``enabled=False`` drops them."""

    lines: list[str]
    enabled: bool

    def __init__(self, enabled: bool = True) -> None:
        self.lines = []
        self.enabled = enabled

    def emit(self, line: str) -> None:
        if self.enabled:
            self.lines.append(line)

    def mark(self) -> int:
        """Position to slice from later (``since``)."""
        return len(self.lines)

    def since(self, mark: int) -> list[str]:
        return self.lines[mark:]

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def clear(self) -> None:
        self.lines = []

    # -- one emitter per event kind (runtime.primitives.TRACE_FORMATS) ----
    def set_pte(self, pt: int, idx: int, val: i64) -> None:
        if self.enabled:
            self.lines.append(_SET_PTE % (pt, idx, u64(val)))

    def set_pte_run(self, pt: int, idx: int, vals: vec[i64]) -> None:
        """set_pte(pt, idx + i, vals[i]) for every i, in order."""
        if self.enabled:
            lines = self.lines
            for i in range(len(vals)):
                lines.append(_SET_PTE % (pt, idx + i, u64(vals[i])))

    def set_pte_buddy(self, pt: int, idx: int, val: i64) -> None:
        if self.enabled:
            self.lines.append(_SET_PTE_BUDDY % (pt, idx, u64(val)))

    def pgste_set_pte(self, pt: int, idx: int, val: i64) -> None:
        if self.enabled:
            self.lines.append(_PGSTE_SET_PTE % (pt, idx, u64(val)))

    def ptc_set(self, pt: int, idx: int, val: i64, nr: int) -> None:
        if self.enabled:
            self.lines.append(_PTC_SET % (pt, idx, u64(val), nr))

    def lazy_mmu_enter(self) -> None:
        if self.enabled:
            self.lines.append(_LAZY_ENTER)

    def lazy_mmu_leave(self) -> None:
        if self.enabled:
            self.lines.append(_LAZY_LEAVE)

    def dcache_flush(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH % (pfn, nr))

    def dcache_flush_user(self, mm: int, addr: int, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_USER % (mm, addr, pfn, nr))

    def dcache_clean(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_CLEAN % (pfn, nr))

    def dcache_flush_kmap(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_KMAP % (pfn, nr))

    def icache_sync(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_SYNC % (pfn, nr))

    def icache_inval(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_INVAL % (pfn, nr))

    def icache_flush_all(self) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_FLUSH_ALL)

    def icache_flush_local(self) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_FLUSH_LOCAL)

    def icache_inval_mm(self, mm: int) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_INVAL_MM % (mm,))

    def folio_test_arch1(self, pfn: int, bit: bool) -> None:
        if self.enabled:
            self.lines.append(_FOLIO_TEST % (pfn, int(bit)))

    def folio_set_arch1(self, pfn: int) -> None:
        if self.enabled:
            self.lines.append(_FOLIO_SET % pfn)

    def folio_clear_arch1(self, pfn: int) -> None:
        if self.enabled:
            self.lines.append(_FOLIO_CLEAR % pfn)

    def page_test_arch1(self, pfn: int, bit: bool) -> None:
        if self.enabled:
            self.lines.append(_PAGE_TEST % (pfn, int(bit)))

    def page_set_arch1(self, pfn: int) -> None:
        if self.enabled:
            self.lines.append(_PAGE_SET % pfn)

    def page_clear_arch1(self, pfn: int) -> None:
        if self.enabled:
            self.lines.append(_PAGE_CLEAR % pfn)

    def tlb_preload(self, mm: int, addr: int, val: i64) -> None:
        if self.enabled:
            self.lines.append(_TLB_PRELOAD % (mm, addr, u64(val)))

    def tlb_flush_page(self, mm: int, addr: int) -> None:
        if self.enabled:
            self.lines.append(_TLB_FLUSH_PAGE % (mm, addr))

    def hpte_insert(self, mm: int, addr: int, val: i64) -> None:
        if self.enabled:
            self.lines.append(_HPTE_INSERT % (mm, addr, u64(val)))

    def tsb_insert(self, mm: int, addr: int, val: i64) -> None:
        if self.enabled:
            self.lines.append(_TSB_INSERT % (mm, addr, u64(val)))

    def tlb_batch_add(self, mm: int, addr: int) -> None:
        if self.enabled:
            self.lines.append(_TLB_BATCH_ADD % (mm, addr))

    def dcache_flush_user_range(self, mm: int, addr: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_USER_RANGE % (mm, addr, nr))

    def dcache_flush_user_mm(self, mm: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_USER_MM % (mm,))

    def cache_flush_all(self) -> None:
        if self.enabled:
            self.lines.append(_CACHE_FLUSH_ALL)

    def icache_inval_user(self, mm: int, addr: int, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_INVAL_USER % (mm, addr, pfn, nr))

    def copy_page(self, src: int, to: int, addr: int, mode: int) -> None:
        if self.enabled:
            self.lines.append(_COPY_PAGE % (src, to, addr, mode))

    def clear_page(self, pfn: int, addr: int, mode: int) -> None:
        if self.enabled:
            self.lines.append(_CLEAR_PAGE % (pfn, addr, mode))

    def dcache_flush_all(self) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_ALL)

    def pte_clear(self, pt: int, idx: int) -> None:
        if self.enabled:
            self.lines.append(_PTE_CLEAR % (pt, idx))

    def tlb_flush_all(self) -> None:
        if self.enabled:
            self.lines.append(_TLB_FLUSH_ALL)

    def set_pmd(self, mm: int, addr: int, pfn: int) -> None:
        if self.enabled:
            self.lines.append(_SET_PMD % (mm, addr, pfn))

    def dcache_flush_phys(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_PHYS % (pfn, nr))


# -- work counts (issue 10 item 7) -------------------------------------------
# Trace events by the work they stand for.  Each line is one operation; the
# pages it covers are its ``nr=`` (1 for per-address events).
DCACHE_EVENTS: tuple[str, ...] = ("dcache_flush", "dcache_clean", "dcache_flush_user",
                                   "dcache_flush_phys")
ICACHE_EVENTS: tuple[str, ...] = ("icache_sync", "icache_inval", "icache_flush_all",
                                   "icache_flush_local")
TLB_EVENTS: tuple[str, ...] = ("tlb_preload", "tlb_flush_page")
STORE_EVENTS: tuple[str, ...] = ("set_pte", "pgste_set_pte")


def _nr_of(line: str) -> int:
    at = line.find(" nr=")
    if at < 0:
        return 1
    end = line.find(" ", at + 4)
    return int(line[at + 4:] if end < 0 else line[at + 4:end])


class WorkCounts:
    """What a run cost in cache and TLB maintenance: operations (trace
    lines) and the pages they covered, per kind, and the PTEs stored."""

    dcache_ops: int
    dcache_pages: int
    icache_ops: int
    icache_pages: int
    tlb_ops: int
    stores: int

    def __init__(self) -> None:
        self.dcache_ops = 0
        self.dcache_pages = 0
        self.icache_ops = 0
        self.icache_pages = 0
        self.tlb_ops = 0
        self.stores = 0

    def add(self, line: str) -> None:
        sp = line.find(" ")
        ev = line if sp < 0 else line[:sp]
        if ev in DCACHE_EVENTS:
            self.dcache_ops += 1
            self.dcache_pages += _nr_of(line)
        elif ev in ICACHE_EVENTS:
            self.icache_ops += 1
            self.icache_pages += _nr_of(line)
        elif ev in TLB_EVENTS:
            self.tlb_ops += 1
        elif ev in STORE_EVENTS:
            self.stores += 1

    @property
    def maintenance(self) -> int:
        """Cache maintenance operations (D and I)."""
        return self.dcache_ops + self.icache_ops

    def text(self) -> str:
        """``dcache=OPS/PAGES icache=OPS/PAGES tlb=OPS stores=N`` plus each
        per stored PTE (two decimals)."""
        per = max(self.stores, 1)
        return ("dcache=%d/%d icache=%d/%d tlb=%d stores=%d per_pte: dcache=%.2f "
                "icache=%.2f tlb=%.2f" % (
                    self.dcache_ops, self.dcache_pages, self.icache_ops, self.icache_pages,
                    self.tlb_ops, self.stores, self.dcache_pages / per,
                    self.icache_pages / per, self.tlb_ops / per))


def work_counts(lines: list[str]) -> WorkCounts:
    """The work counts of trace lines."""
    w = WorkCounts()
    for ln in lines:
        w.add(ln)
    return w
