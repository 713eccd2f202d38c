"""Event trace: every primitive records one line (docs/runtime-interface.md).

Place in the flow: the lowest layer; ``Kernel`` primitives call the
emitters below (one per event kind of ``runtime.primitives.TRACE_FORMATS``,
whose %-formats render them); tests, scripts, the C-vs-Python
differential, explore and the CLI read the lines (``lines``, ``text``,
``mark``/``since``).  Numbers: lower-case hex with ``0x`` for
values/addresses/pfns (``hx``), decimal for ids, indices and counts.

Records, not strings (issue 15 item 2): an emitter appends its event id and
its fields as native integers to a flat ``vec[i64]``; the text is rendered
only when a reader asks (``lines``, ``since``, ``text``), with the same
%-format and the same integers as an eager emitter would have used, so the
lines are byte-identical.  A field outside ``0 <= v < 2**62`` (an ia64
region address, a negative value from a model bug) is kept
as the int object itself in a side list (the record holds ``BIG`` in its
place), so it renders exactly as it was given.  ``set_pte_run`` keeps a
copy of its value list.  ``mark()`` counts lines without rendering.

A PTE value arrives as its i64 bit pattern (runtime/pteval.py) and is
printed unsigned: a value word outside the short range (bit 62 or 63 set)
is kept unboxed in a second side buffer ``_pat`` (the record holds ``PAT``)
and rendered as ``u64(pattern)``.
"""

from __future__ import annotations

from typing import Final, Iterator

from librt.vecs import append, vec
from mypy_extensions import i64

from runtime.primitives import TRACE_FORMATS, py_format
from runtime.pteval import u64


def hx(v: int) -> str:
    """Render a value, address or pfn the way every trace line does (a
    PTE value's negative i64 pattern as the unsigned word)."""
    return hex(u64(v))


# Event ids: the position of the event in TRACE_FORMATS (tests/runtime/
# test_rt_trace.py checks every emitter renders its own format).
EVENTS: Final[tuple[str, ...]] = tuple(TRACE_FORMATS)
# the %-format of each event id, and how many fields its record holds
FORMATS: Final[tuple[str, ...]] = tuple(py_format(TRACE_FORMATS[ev]) for ev in EVENTS)
NFIELDS: Final[tuple[int, ...]] = tuple(f.replace("%%", "").count("%") for f in FORMATS)

E_SET_PTE: Final = 0
E_SET_PTE_BUDDY: Final = 1
E_PGSTE_SET_PTE: Final = 2
E_PTC_SET: Final = 3
E_LAZY_MMU_ENTER: Final = 4
E_LAZY_MMU_LEAVE: Final = 5
E_DCACHE_FLUSH: Final = 6
E_DCACHE_FLUSH_USER: Final = 7
E_DCACHE_CLEAN: Final = 8
E_DCACHE_FLUSH_KMAP: Final = 9
E_ICACHE_SYNC: Final = 10
E_ICACHE_INVAL: Final = 11
E_ICACHE_FLUSH_ALL: Final = 12
E_ICACHE_FLUSH_LOCAL: Final = 13
E_ICACHE_INVAL_MM: Final = 14
E_FOLIO_TEST_ARCH1: Final = 15
E_FOLIO_SET_ARCH1: Final = 16
E_FOLIO_CLEAR_ARCH1: Final = 17
E_PAGE_TEST_ARCH1: Final = 18
E_PAGE_SET_ARCH1: Final = 19
E_PAGE_CLEAR_ARCH1: Final = 20
E_TLB_PRELOAD: Final = 21
E_TLB_FLUSH_PAGE: Final = 22
E_HPTE_INSERT: Final = 23
E_TSB_INSERT: Final = 24
E_TLB_BATCH_ADD: Final = 25
E_DCACHE_FLUSH_USER_RANGE: Final = 26
E_DCACHE_FLUSH_USER_MM: Final = 27
E_CACHE_FLUSH_ALL: Final = 28
E_DCACHE_FLUSH_PHYS: Final = 29
E_ICACHE_INVAL_USER: Final = 30
E_COPY_PAGE: Final = 31
E_CLEAR_PAGE: Final = 32
E_DCACHE_FLUSH_ALL: Final = 33
E_PTE_CLEAR: Final = 34
E_SET_PMD: Final = 35
E_TLB_FLUSH_ALL: Final = 36
# records that are no TRACE_FORMATS event of their own
E_RUN: Final = 250      # set_pte_run: pt, idx; the values are the next ``_runs`` list
E_RAW: Final = 251      # emit(line): the line is the next ``_raw`` string

# A field word: the value itself when 0 <= v <= SMALL_MAX (mypyc's short
# int range: compared and stored without boxing), else BIG and the int in
# the side list ``_big``, in record order.
SMALL_MAX: Final = 0x3FFF_FFFF_FFFF_FFFF
BIG: Final = -1
# A PTE value word outside 0..SMALL_MAX (an i64 pattern with bit 62 or 63
# set): PAT in the record, the pattern in ``_pat`` (unboxed), rendered
# unsigned.
PAT: Final = -2

_SET_PTE: Final = FORMATS[E_SET_PTE]


def _set_pte_parts(fmt: str) -> tuple[str, str, str, str]:
    """The literal text around set_pte's three holes (``pt``, ``idx``:
    decimal; ``val``: hex), so the renderer of the most common line
    concatenates instead of %-formatting; an error at import when the
    format stops having that shape."""
    a, sep1, rest = fmt.partition("%d")
    b, sep2, rest = rest.partition("%d")
    c, sep3, d = rest.partition("%#x")
    if not (sep1 and sep2 and sep3) or "%" in a + b + c + d.replace("%%", ""):
        raise ValueError("set_pte's trace format %r is not 'pt=%%d idx=%%d val=%%#x'" % fmt)
    return a, b, c, d.replace("%%", "%")


# "set_pte pt=", " idx=", " val=", "": str(pt) + ... + hex(val) renders
# exactly as _SET_PTE % (pt, idx, val) (%d is str() of an int, %#x is hex())
_SP_A, _SP_B, _SP_C, _SP_D = _set_pte_parts(_SET_PTE)


class Trace:
    """An append-only sequence of trace lines; ``enabled=False`` drops them.

    ``lines`` renders the records made since the last read and returns the
    one list of rendered lines (a caller may clear it, as before); read it
    again after more events."""

    enabled: bool
    _text: list[str]            # the lines rendered so far
    _rec: vec[i64]              # records not rendered yet: event id, fields
    _big: list[int]             # their fields outside 0..SMALL_MAX, in order
    _pat: vec[i64]              # their PTE value patterns outside it, in order
    _runs: list[vec[i64]]       # their set_pte_run value lists, in order
    _raw: list[str]             # their emit() lines, in order
    _pending: int               # how many lines the records stand for

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._text = []
        self._reset()

    def _reset(self) -> None:
        self._rec = vec[i64]()
        self._big = []
        self._pat = vec[i64]()
        self._runs = []
        self._raw = []
        self._pending = 0

    @property
    def lines(self) -> list[str]:
        if self._pending:
            self._render()
        return self._text

    def emit(self, line: str) -> None:
        if self.enabled:
            self._rec = append(self._rec, E_RAW)
            self._raw.append(line)
            self._pending += 1

    def mark(self) -> int:
        """Position to slice from later (``since``); renders nothing."""
        return len(self._text) + self._pending

    def since(self, mark: int) -> list[str]:
        return self.lines[mark:]

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def clear(self) -> None:
        self._text = []
        self._reset()

    # -- records: an event id and 0..4 fields --------------------------------
    def _r0(self, ev: i64) -> None:
        self._rec = append(self._rec, ev)
        self._pending += 1

    def _r1(self, ev: i64, a: int) -> None:
        self._rec = self._field_word(append(self._rec, ev), a)
        self._pending += 1

    def _r2(self, ev: i64, a: int, b: int) -> None:
        rec = self._field_word(append(self._rec, ev), a)
        self._rec = self._field_word(rec, b)
        self._pending += 1

    def _r3(self, ev: i64, a: int, b: int, c: int) -> None:
        rec = self._field_word(append(self._rec, ev), a)
        self._rec = self._field_word(self._field_word(rec, b), c)
        self._pending += 1

    def _r4(self, ev: i64, a: int, b: int, c: int, d: int) -> None:
        rec = self._field_word(self._field_word(append(self._rec, ev), a), b)
        self._rec = self._field_word(self._field_word(rec, c), d)
        self._pending += 1

    def _field_word(self, rec: vec[i64], a: int) -> vec[i64]:
        """``rec`` with field ``a`` appended (an id, index, address, count)."""
        if 0 <= a <= SMALL_MAX:
            return append(rec, a)
        self._big.append(a)
        return append(rec, BIG)

    def _value_word(self, rec: vec[i64], v: i64) -> vec[i64]:
        """``rec`` with PTE value ``v`` (an i64 pattern) appended."""
        if 0 <= v <= SMALL_MAX:
            return append(rec, v)
        self._pat = append(self._pat, v)
        return append(rec, PAT)

    def _rv(self, ev: i64, a: int, b: int, v: i64) -> None:
        """A record of two fields and a PTE value."""
        rec = self._field_word(append(self._rec, ev), a)
        self._rec = self._value_word(self._field_word(rec, b), v)
        self._pending += 1

    def _render(self) -> None:
        """Append the lines of the pending records to ``_text`` (each with
        its event's %-format and the fields it was given), then drop them."""
        rec = self._rec
        big = iter(self._big)
        pat = iter(self._pat)
        runs = iter(self._runs)
        raw = iter(self._raw)
        out = self._text
        n = len(rec)
        i: i64 = 0
        while i < n:
            ev = rec[i]
            i += 1
            if ev == E_RUN:
                pt = _field(rec[i], big, pat)
                idx = _field(rec[i + 1], big, pat)
                i += 2
                vals = next(runs)
                head = _SP_A + str(pt) + _SP_B
                for j in range(len(vals)):
                    out.append(head + str(idx + j) + _SP_C + hex(u64(vals[j])) + _SP_D)
                continue
            if ev == E_RAW:
                out.append(next(raw))
                continue
            if ev == E_SET_PTE:
                a = _field(rec[i], big, pat)
                b = _field(rec[i + 1], big, pat)
                out.append(_SP_A + str(a) + _SP_B + str(b) + _SP_C
                           + hex(_field(rec[i + 2], big, pat)) + _SP_D)
                i += 3
                continue
            fmt = FORMATS[ev]
            nf = NFIELDS[ev]
            if nf == 0:
                out.append(fmt)
            elif nf == 1:
                out.append(fmt % (_field(rec[i], big, pat),))
            elif nf == 2:
                a = _field(rec[i], big, pat)
                out.append(fmt % (a, _field(rec[i + 1], big, pat)))
            elif nf == 3:
                a = _field(rec[i], big, pat)
                b = _field(rec[i + 1], big, pat)
                out.append(fmt % (a, b, _field(rec[i + 2], big, pat)))
            else:
                args = [_field(rec[i + k], big, pat) for k in range(nf)]
                out.append(fmt % tuple(args))
            i += nf
        self._reset()

    # -- one emitter per event kind (runtime.primitives.TRACE_FORMATS) ----
    def set_pte(self, pt: int, idx: int, val: i64) -> None:
        if self.enabled:
            self._rv(E_SET_PTE, pt, idx, val)

    def set_pte_run(self, pt: int, idx: int, vals: vec[i64]) -> None:
        """set_pte(pt, idx + i, vals[i]) for every i, in order (one record;
        the trace keeps a copy of ``vals``)."""
        if self.enabled and vals:
            self._r2(E_RUN, pt, idx)
            self._runs.append(vals[0:len(vals)])
            self._pending += len(vals) - 1

    def set_pte_buddy(self, pt: int, idx: int, val: i64) -> None:
        if self.enabled:
            self._rv(E_SET_PTE_BUDDY, pt, idx, val)

    def pgste_set_pte(self, pt: int, idx: int, val: i64) -> None:
        if self.enabled:
            self._rv(E_PGSTE_SET_PTE, pt, idx, val)

    def ptc_set(self, pt: int, idx: int, val: i64, nr: int) -> None:
        if self.enabled:
            rec = self._field_word(append(self._rec, E_PTC_SET), pt)
            rec = self._value_word(self._field_word(rec, idx), val)
            self._rec = self._field_word(rec, nr)
            self._pending += 1

    def lazy_mmu_enter(self) -> None:
        if self.enabled:
            self._r0(E_LAZY_MMU_ENTER)

    def lazy_mmu_leave(self) -> None:
        if self.enabled:
            self._r0(E_LAZY_MMU_LEAVE)

    def dcache_flush(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r2(E_DCACHE_FLUSH, pfn, nr)

    def dcache_flush_user(self, mm: int, addr: int, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r4(E_DCACHE_FLUSH_USER, mm, addr, pfn, nr)

    def dcache_clean(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r2(E_DCACHE_CLEAN, pfn, nr)

    def dcache_flush_kmap(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r2(E_DCACHE_FLUSH_KMAP, pfn, nr)

    def icache_sync(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r2(E_ICACHE_SYNC, pfn, nr)

    def icache_inval(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r2(E_ICACHE_INVAL, pfn, nr)

    def icache_flush_all(self) -> None:
        if self.enabled:
            self._r0(E_ICACHE_FLUSH_ALL)

    def icache_flush_local(self) -> None:
        if self.enabled:
            self._r0(E_ICACHE_FLUSH_LOCAL)

    def icache_inval_mm(self, mm: int) -> None:
        if self.enabled:
            self._r1(E_ICACHE_INVAL_MM, mm)

    def folio_test_arch1(self, pfn: int, bit: bool) -> None:
        if self.enabled:
            self._r2(E_FOLIO_TEST_ARCH1, pfn, 1 if bit else 0)

    def folio_set_arch1(self, pfn: int) -> None:
        if self.enabled:
            self._r1(E_FOLIO_SET_ARCH1, pfn)

    def folio_clear_arch1(self, pfn: int) -> None:
        if self.enabled:
            self._r1(E_FOLIO_CLEAR_ARCH1, pfn)

    def page_test_arch1(self, pfn: int, bit: bool) -> None:
        if self.enabled:
            self._r2(E_PAGE_TEST_ARCH1, pfn, 1 if bit else 0)

    def page_set_arch1(self, pfn: int) -> None:
        if self.enabled:
            self._r1(E_PAGE_SET_ARCH1, pfn)

    def page_clear_arch1(self, pfn: int) -> None:
        if self.enabled:
            self._r1(E_PAGE_CLEAR_ARCH1, pfn)

    def tlb_preload(self, mm: int, addr: int, val: i64) -> None:
        if self.enabled:
            self._rv(E_TLB_PRELOAD, mm, addr, val)

    def tlb_flush_page(self, mm: int, addr: int) -> None:
        if self.enabled:
            self._r2(E_TLB_FLUSH_PAGE, mm, addr)

    def hpte_insert(self, mm: int, addr: int, val: i64) -> None:
        if self.enabled:
            self._rv(E_HPTE_INSERT, mm, addr, val)

    def tsb_insert(self, mm: int, addr: int, val: i64) -> None:
        if self.enabled:
            self._rv(E_TSB_INSERT, mm, addr, val)

    def tlb_batch_add(self, mm: int, addr: int) -> None:
        if self.enabled:
            self._r2(E_TLB_BATCH_ADD, mm, addr)

    def dcache_flush_user_range(self, mm: int, addr: int, nr: int) -> None:
        if self.enabled:
            self._r3(E_DCACHE_FLUSH_USER_RANGE, mm, addr, nr)

    def dcache_flush_user_mm(self, mm: int) -> None:
        if self.enabled:
            self._r1(E_DCACHE_FLUSH_USER_MM, mm)

    def cache_flush_all(self) -> None:
        if self.enabled:
            self._r0(E_CACHE_FLUSH_ALL)

    def icache_inval_user(self, mm: int, addr: int, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r4(E_ICACHE_INVAL_USER, mm, addr, pfn, nr)

    def copy_page(self, src: int, to: int, addr: int, mode: int) -> None:
        if self.enabled:
            self._r4(E_COPY_PAGE, src, to, addr, mode)

    def clear_page(self, pfn: int, addr: int, mode: int) -> None:
        if self.enabled:
            self._r3(E_CLEAR_PAGE, pfn, addr, mode)

    def dcache_flush_all(self) -> None:
        if self.enabled:
            self._r0(E_DCACHE_FLUSH_ALL)

    def pte_clear(self, pt: int, idx: int) -> None:
        if self.enabled:
            self._r2(E_PTE_CLEAR, pt, idx)

    def tlb_flush_all(self) -> None:
        if self.enabled:
            self._r0(E_TLB_FLUSH_ALL)

    def set_pmd(self, mm: int, addr: int, pfn: int) -> None:
        if self.enabled:
            self._r3(E_SET_PMD, mm, addr, pfn)

    def dcache_flush_phys(self, pfn: int, nr: int) -> None:
        if self.enabled:
            self._r2(E_DCACHE_FLUSH_PHYS, pfn, nr)


def _field(w: i64, big: Iterator[int], pat: Iterator[i64]) -> int:
    """A record's field: the word itself, (BIG) the next side-list int, or
    (PAT) the next PTE value pattern, unsigned."""
    if w >= 0:
        return w
    if w == BIG:
        return next(big)
    return u64(next(pat))


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
