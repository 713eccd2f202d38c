"""Event trace: every primitive appends one line (docs/runtime-interface.md).

Place in the flow: the lowest layer; ``Kernel`` primitives call the
emitters below (one per event kind of ``runtime.primitives.TRACE_FORMATS``,
whose %-formats they use); tests and the C-vs-Python differential compare
the lines.  Numbers: lower-case hex with ``0x`` for values/addresses/pfns
(``hx``), decimal for ids, indices and counts.
"""

from __future__ import annotations

from runtime.primitives import TRACE_FORMATS, py_format


def hx(v: int) -> str:
    """Render a value, address or pfn the way every trace line does."""
    return hex(v)


_SET_PTE = py_format(TRACE_FORMATS["set_pte"])
_SET_PTE_BUDDY = py_format(TRACE_FORMATS["set_pte_buddy"])
_PGSTE_SET_PTE = py_format(TRACE_FORMATS["pgste_set_pte"])
_PTC_SET = py_format(TRACE_FORMATS["ptc_set"])
_LAZY_ENTER = py_format(TRACE_FORMATS["lazy_mmu_enter"])
_LAZY_LEAVE = py_format(TRACE_FORMATS["lazy_mmu_leave"])
_DCACHE_FLUSH = py_format(TRACE_FORMATS["dcache_flush"])
_DCACHE_FLUSH_USER = py_format(TRACE_FORMATS["dcache_flush_user"])
_DCACHE_CLEAN = py_format(TRACE_FORMATS["dcache_clean"])
_ICACHE_SYNC = py_format(TRACE_FORMATS["icache_sync"])
_ICACHE_INVAL = py_format(TRACE_FORMATS["icache_inval"])
_FOLIO_TEST = py_format(TRACE_FORMATS["folio_test_arch1"])
_FOLIO_SET = py_format(TRACE_FORMATS["folio_set_arch1"])
_FOLIO_CLEAR = py_format(TRACE_FORMATS["folio_clear_arch1"])
_PAGE_TEST = py_format(TRACE_FORMATS["page_test_arch1"])
_PAGE_SET = py_format(TRACE_FORMATS["page_set_arch1"])
_PAGE_CLEAR = py_format(TRACE_FORMATS["page_clear_arch1"])
_TLB_PRELOAD = py_format(TRACE_FORMATS["tlb_preload"])
_TLB_FLUSH_PAGE = py_format(TRACE_FORMATS["tlb_flush_page"])
_DCACHE_FLUSH_USER_RANGE = py_format(TRACE_FORMATS["dcache_flush_user_range"])
_DCACHE_FLUSH_USER_MM = py_format(TRACE_FORMATS["dcache_flush_user_mm"])
_CACHE_FLUSH_ALL = py_format(TRACE_FORMATS["cache_flush_all"])
_PTE_CLEAR = py_format(TRACE_FORMATS["pte_clear"])
_SET_PMD = py_format(TRACE_FORMATS["set_pmd"])


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
    def set_pte(self, pt: int, idx: int, val: int) -> None:
        if self.enabled:
            self.lines.append(_SET_PTE % (pt, idx, val))

    def set_pte_buddy(self, pt: int, idx: int, val: int) -> None:
        if self.enabled:
            self.lines.append(_SET_PTE_BUDDY % (pt, idx, val))

    def pgste_set_pte(self, pt: int, idx: int, val: int) -> None:
        if self.enabled:
            self.lines.append(_PGSTE_SET_PTE % (pt, idx, val))

    def ptc_set(self, pt: int, idx: int, val: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_PTC_SET % (pt, idx, val, nr))

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

    def icache_sync(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_SYNC % (pfn, nr))

    def icache_inval(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_ICACHE_INVAL % (pfn, nr))

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

    def tlb_preload(self, mm: int, addr: int, val: int) -> None:
        if self.enabled:
            self.lines.append(_TLB_PRELOAD % (mm, addr, val))

    def tlb_flush_page(self, mm: int, addr: int) -> None:
        if self.enabled:
            self.lines.append(_TLB_FLUSH_PAGE % (mm, addr))

    def dcache_flush_user_range(self, mm: int, addr: int, nr: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_USER_RANGE % (mm, addr, nr))

    def dcache_flush_user_mm(self, mm: int) -> None:
        if self.enabled:
            self.lines.append(_DCACHE_FLUSH_USER_MM % (mm,))

    def cache_flush_all(self) -> None:
        if self.enabled:
            self.lines.append(_CACHE_FLUSH_ALL)

    def pte_clear(self, pt: int, idx: int) -> None:
        if self.enabled:
            self.lines.append(_PTE_CLEAR % (pt, idx))

    def set_pmd(self, mm: int, addr: int, pfn: int) -> None:
        if self.enabled:
            self.lines.append(_SET_PMD % (mm, addr, pfn))
