"""The runtime contract as code: what generated arch modules may call, the
trace-line formats, and the kind constants shared with dsl/catalog.py.

Place in the flow: the lowest layer of ``runtime/`` next to
``runtime.trace``.  Three parts, each the single source of what it names:

* ``Primitives`` -- a Protocol holding exactly the ``Kernel`` methods that
  ``runtime/arch.py`` and the generated ``generated/runtime/<arch>.py``
  modules may call (the effects' primitives, which each append one trace
  line, and the queries, which append none).  ``runtime.kernel.Kernel``
  satisfies it structurally (checked by mypy in tests/runtime/
  test_rt_primitives.py), so generated code can be typed against this
  instead of the whole Kernel.
* ``TRACE_FORMATS`` -- one format per trace event kind.  A format is the
  line with typed holes ``{name:dec}`` (decimal: ids, indices, counts) and
  ``{name:hex}`` (lower-case hex with ``0x``: values, addresses, pfns);
  ``runtime.trace`` builds its emitters from them (``py_format``), the C
  shim's printf strings are checked against them (tests/runtime/
  test_rt_primitives.py), and docs/runtime-interface.md carries the table
  rendered by ``interface_markdown``.
* Kind constants -- D-cache, I-cache and TLB kinds, PG_arch_1 uses and
  granularities, PFN-advance strategies: the names ``runtime/`` branches on
  and the catalog's vocabulary (tests/runtime/test_rt_primitives.py proves
  the catalog's names equal these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mypy_extensions import i64

if TYPE_CHECKING:
    from runtime.memory import Folio, Page
    from runtime.mm import FolioMapping, Mm
    from runtime.pagetable import PteRef

# ---------------------------------------------------------------------------
# Kind constants

DCACHE_PIPT = "pipt"
DCACHE_VIPT = "vipt"
DCACHE_VIPT_ALIASING = "vipt_aliasing"
DCACHE_VIVT = "vivt"
DCACHE_KINDS: tuple[str, ...] = (DCACHE_PIPT, DCACHE_VIPT, DCACHE_VIPT_ALIASING,
                                 DCACHE_VIVT)
# kinds with one line per colour (need ``colours=N``)
ALIASING_DCACHE_KINDS: tuple[str, ...] = (DCACHE_VIPT_ALIASING, DCACHE_VIVT)

ICACHE_COHERENT = "coherent"
ICACHE_NEEDS_SYNC = "needs_sync"
ICACHE_ASN_TAGGED = "asn_tagged"
ICACHE_VIPT_ALIASING = "vipt_aliasing"
ICACHE_KINDS: tuple[str, ...] = (ICACHE_COHERENT, ICACHE_NEEDS_SYNC, ICACHE_ASN_TAGGED,
                                 ICACHE_VIPT_ALIASING)

TLB_HARDWARE = "hardware"
TLB_SOFTWARE = "software"
TLB_SOFTWARE_PAIRS = "software_pairs"
TLB_CACHES_INVALID = "caches_invalid"
TLB_HASH = "hash"
TLB_TSB = "tsb"
TLB_KINDS: tuple[str, ...] = (TLB_HARDWARE, TLB_SOFTWARE, TLB_SOFTWARE_PAIRS,
                              TLB_CACHES_INVALID, TLB_HASH, TLB_TSB)
# kinds whose translations the PTE-update path itself flushes (powerpc
# hash pte_update -> hpte_need_flush, sparc64 set_pte_at/pte_clear ->
# tlb_batch_add); the generic flush_tlb_page/range/mm are no-ops there
PTE_UPDATE_FLUSH_TLB_KINDS: tuple[str, ...] = (TLB_HASH, TLB_TSB)
# entries of the per-CPU flush batch before it is flushed when full
# (arch/powerpc/include/asm/book3s/64/tlbflush-hash.h PPC64_TLB_BATCH_NR,
# arch/sparc/include/asm/tlbflush_64.h TLB_BATCH_NR: both 192 in 6.12)
TLB_BATCH_NR = 192

# Lazy MMU mode kinds (arch_enter/leave_lazy_mmu_mode)
LAZY_STRICT = "strict"
LAZY_DEFER = "defer"
LAZY_BATCH = "batch"
LAZY_NONE = "none"
LAZY_KINDS: tuple[str, ...] = (LAZY_STRICT, LAZY_DEFER, LAZY_BATCH, LAZY_NONE)

PG_ARCH_1_NONE = "none"
PG_ARCH_1_DCACHE_CLEAN = "dcache_clean"
PG_ARCH_1_DCACHE_DIRTY = "dcache_dirty"
PG_ARCH_1_ICACHE_CLEAN = "icache_clean"
PG_ARCH_1_SECURE = "secure"
PG_ARCH_1_MTE_TAGGED = "mte_tagged"
PG_ARCH_1_USES: tuple[str, ...] = (PG_ARCH_1_NONE, PG_ARCH_1_DCACHE_CLEAN,
                                   PG_ARCH_1_DCACHE_DIRTY, PG_ARCH_1_ICACHE_CLEAN,
                                   PG_ARCH_1_SECURE, PG_ARCH_1_MTE_TAGGED)

GRANULARITY_FOLIO = "folio"
GRANULARITY_PAGE = "page"
# what an archdef may write after ``per`` ...
PG_ARCH_1_GRANULARITIES: tuple[str, ...] = (GRANULARITY_FOLIO, GRANULARITY_PAGE)
# ... and the runtime's value for an arch whose PG_arch_1 is unused
GRANULARITY_NONE = "none"

ADVANCE_PFN_SHIFT = "pfn_shift"
ADVANCE_PAGE_SIZE = "page_size"
ADVANCE_PFN_SHIFT_INVERT_AWARE = "pfn_shift_invert_aware"
ADVANCE_REPACK = "repack"
ADVANCES: tuple[str, ...] = (ADVANCE_PFN_SHIFT, ADVANCE_PAGE_SIZE,
                             ADVANCE_PFN_SHIFT_INVERT_AWARE, ADVANCE_REPACK)
# the ones that add a constant to the raw PTE (dsl/check.py proves them safe)
ADDITIVE_ADVANCES: tuple[str, ...] = (ADVANCE_PFN_SHIFT, ADVANCE_PAGE_SIZE)

# ---------------------------------------------------------------------------
# Trace-line formats: event kind -> line with typed holes.

TRACE_FORMATS: dict[str, str] = {
    "set_pte": "set_pte pt={pt:dec} idx={idx:dec} val={val:hex}",
    "set_pte_buddy": "set_pte_buddy pt={pt:dec} idx={idx:dec} val={val:hex}",
    "pgste_set_pte": "pgste_set_pte pt={pt:dec} idx={idx:dec} val={val:hex}",
    "ptc_set": "ptc_set pt={pt:dec} idx={idx:dec} val={val:hex} nr={nr:dec}",
    "lazy_mmu_enter": "lazy_mmu enter",
    "lazy_mmu_leave": "lazy_mmu leave",
    "dcache_flush": "dcache_flush pfn={pfn:hex} nr={nr:dec}",
    "dcache_flush_user": "dcache_flush_user mm={mm:dec} addr={addr:hex} pfn={pfn:hex} nr={nr:dec}",
    "dcache_clean": "dcache_clean pfn={pfn:hex} nr={nr:dec}",
    "dcache_flush_kmap": "dcache_flush_kmap pfn={pfn:hex} nr={nr:dec}",
    "icache_sync": "icache_sync pfn={pfn:hex} nr={nr:dec}",
    "icache_inval": "icache_inval pfn={pfn:hex} nr={nr:dec}",
    "icache_flush_all": "icache_flush_all",
    "icache_flush_local": "icache_flush_local",
    "icache_inval_mm": "icache_inval_mm mm={mm:dec}",
    "folio_test_arch1": "pg_arch_1 test folio={pfn:hex} -> {bit:dec}",
    "folio_set_arch1": "pg_arch_1 set folio={pfn:hex}",
    "folio_clear_arch1": "pg_arch_1 clear folio={pfn:hex}",
    "page_test_arch1": "pg_arch_1 test page={pfn:hex} -> {bit:dec}",
    "page_set_arch1": "pg_arch_1 set page={pfn:hex}",
    "page_clear_arch1": "pg_arch_1 clear page={pfn:hex}",
    "tlb_preload": "tlb_preload mm={mm:dec} addr={addr:hex} val={val:hex}",
    "tlb_flush_page": "tlb_flush_page mm={mm:dec} addr={addr:hex}",
    "hpte_insert": "hpte_insert mm={mm:dec} addr={addr:hex} val={val:hex}",
    "tsb_insert": "tsb_insert mm={mm:dec} addr={addr:hex} val={val:hex}",
    "tlb_batch_add": "tlb_batch_add mm={mm:dec} addr={addr:hex}",
    "dcache_flush_user_range": "dcache_flush_user_range mm={mm:dec} addr={addr:hex} nr={nr:dec}",
    "dcache_flush_user_mm": "dcache_flush_user_mm mm={mm:dec}",
    "cache_flush_all": "cache_flush_all",
    "dcache_flush_phys": "dcache_flush_phys pfn={pfn:hex} nr={nr:dec}",
    # the user-page hooks' copy / clear (mode bit 0: read through the user
    # colour, bit 1: write through the user colour; 0 = kernel addresses)
    "icache_inval_user": "icache_inval_user mm={mm:dec} addr={addr:hex} pfn={pfn:hex} nr={nr:dec}",
    "copy_page": "copy_page from={pfn:hex} to={to:hex} addr={addr:hex} mode={mode:dec}",
    "clear_page": "clear_page pfn={pfn:hex} addr={addr:hex} mode={mode:dec}",
    "dcache_flush_all": "dcache_flush_all",
    # the model's own events (generic kernel code, not arch calls; the C
    # harness never prints them)
    "pte_clear": "pte_clear pt={pt:dec} idx={idx:dec}",
    # set_pmd: the PMD store (the arch's set_pmd_at, store_pmd)
    "set_pmd": "set_pmd mm={mm:dec} addr={addr:hex} pfn={pfn:hex}",
    "tlb_flush_all": "tlb_flush_all",
}
MODEL_ONLY_EVENTS: tuple[str, ...] = ("pte_clear",)
HOLE_KINDS: tuple[str, ...] = ("dec", "hex")


def py_format(fmt: str) -> str:
    """A trace format as a %-format: ``{x:dec}`` -> ``%d``, ``{x:hex}`` ->
    ``%#x`` (which renders like ``hex()``: ``0x0``, ``0x1f``)."""
    out = ""
    i = 0
    n = len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "%":
            out += "%%"
            i += 1
        elif ch == "{":
            j = fmt.index("}", i)
            name, _, kind = fmt[i + 1:j].partition(":")
            if not name or kind not in HOLE_KINDS:
                raise ValueError("bad hole %r in trace format %r" % (fmt[i:j + 1], fmt))
            out += "%d" if kind == "dec" else "%#x"
            i = j + 1
        else:
            out += ch
            i += 1
    return out


def holes(fmt: str) -> list[tuple[str, str]]:
    """The (name, kind) holes of a trace format, in order."""
    out: list[tuple[str, str]] = []
    i = fmt.find("{")
    while i >= 0:
        j = fmt.index("}", i)
        name, _, kind = fmt[i + 1:j].partition(":")
        out.append((name, kind))
        i = fmt.find("{", j)
    return out


def event_of(line: str) -> str:
    """The event kind of one trace line ('' if no format matches)."""
    for ev, fmt in TRACE_FORMATS.items():
        if _matches(fmt, line):
            return ev
    return ""


def _matches(fmt: str, line: str) -> bool:
    i = 0
    j = 0
    n = len(fmt)
    m = len(line)
    while i < n:
        ch = fmt[i]
        if ch == "{":
            k = fmt.index("}", i)
            kind = fmt[i + 1:k].partition(":")[2]
            start = j
            if kind == "hex":
                if not line.startswith("0x", j):
                    return False
                j += 2
                start = j
                while j < m and line[j] in "0123456789abcdef":
                    j += 1
            else:
                if j < m and line[j] == "-":
                    j += 1
                    start = j
                while j < m and line[j].isdigit():
                    j += 1
            if j == start:
                return False
            i = k + 1
        else:
            if j >= m or line[j] != ch:
                return False
            i += 1
            j += 1
    return j == m


# ---------------------------------------------------------------------------
# What generated arch modules may call on ``k``


class Primitives(Protocol):
    """The part of ``runtime.kernel.Kernel`` an arch module may use.

    Primitives append one trace line each (the event of the same name in
    ``TRACE_FORMATS``; ``set_pte`` may add a ``set_pte_buddy`` line on a
    TLB kind whose pairs share the global bit); queries append none.
    PTE values are ``i64`` bit patterns (runtime/pteval.py).
    """

    # -- primitives ------------------------------------------------------
    def set_pte(self, ptep: PteRef, val: i64) -> None: ...
    def pgste_set_pte(self, mm: Mm, addr: int, ptep: PteRef, val: i64) -> None: ...
    def page_table_check_ptes_set(self, mm: Mm, ptep: PteRef, pte: i64, nr: int) -> None: ...
    def lazy_mmu_enter(self) -> None: ...
    def lazy_mmu_leave(self) -> None: ...
    def dcache_flush(self, pfn: int, nr: int) -> None: ...
    def dcache_flush_user(self, mm: Mm, addr: int, pfn: int, nr: int) -> None: ...
    def dcache_clean(self, pfn: int, nr: int) -> None: ...
    def dcache_flush_kmap(self, pfn: int, nr: int) -> None: ...
    def icache_sync(self, pfn: int, nr: int) -> None: ...
    def icache_inval(self, pfn: int, nr: int) -> None: ...
    def icache_flush_all(self) -> None: ...
    def icache_flush_local(self) -> None: ...
    def icache_inval_mm(self, mm: Mm) -> None: ...
    def folio_test_arch1(self, folio: Folio) -> bool: ...
    def folio_set_arch1(self, folio: Folio) -> None: ...
    def folio_clear_arch1(self, folio: Folio) -> None: ...
    def page_test_arch1(self, page: Page) -> bool: ...
    def page_set_arch1(self, page: Page) -> None: ...
    def page_clear_arch1(self, page: Page) -> None: ...
    def tlb_preload(self, mm: Mm, addr: int, ptep: PteRef) -> None: ...
    def tlb_flush_page(self, mm: Mm, addr: int) -> None: ...
    def hpte_insert(self, mm: Mm, addr: int, ptep: PteRef) -> None: ...
    def tsb_insert(self, mm: Mm, addr: int, ptep: PteRef) -> None: ...
    def tlb_batch_add(self, mm: Mm, addr: int) -> None: ...
    def set_pmd(self, mm: Mm, addr: int, pmdp: PteRef, val: i64) -> None: ...
    def tlb_flush_all(self) -> None: ...
    def dcache_flush_user_range(self, mm: Mm, addr: int, nr: int) -> None: ...
    def dcache_flush_user_mm(self, mm: Mm) -> None: ...
    def cache_flush_all(self) -> None: ...
    def dcache_flush_phys(self, pfn: int, nr: int) -> None: ...
    def copy_page(self, to: Page, src: Page, mm: Mm, vaddr: int, mode: int) -> None: ...
    def icache_inval_user(self, mm: Mm, addr: int, pfn: int, nr: int) -> None: ...
    def clear_page(self, page: Page, vaddr: int, mode: int) -> None: ...
    def dcache_flush_all(self) -> None: ...

    # -- queries (no trace line) -----------------------------------------
    def read_pte(self, ptep: PteRef) -> i64: ...
    def pfn_valid(self, pfn: int) -> bool: ...
    def pfn_folio(self, pfn: int) -> Folio: ...
    def pfn_page(self, pfn: int) -> Page: ...
    def folio_has_mapping(self, folio: Folio) -> bool: ...
    def mapping_mapped(self, folio: Folio) -> bool: ...
    def folio_mapped(self, folio: Folio) -> bool: ...
    def kaddr(self, pfn: int) -> int: ...
    def pages_do_alias(self, a: int, b: int) -> bool: ...
    def cpu_has(self, feature: str) -> bool: ...
    def page_highmem(self, pfn: int) -> bool: ...
    def folio_mappings(self, folio: Folio) -> list[FolioMapping]: ...
    def mm_is_current(self, mm: Mm) -> bool: ...


# Member names of the Protocol, in declaration order (the tests compare
# them with Kernel, with the generated modules' calls and with the doc).
PRIMITIVE_NAMES: tuple[str, ...] = (
    "set_pte", "pgste_set_pte", "page_table_check_ptes_set", "lazy_mmu_enter",
    "lazy_mmu_leave", "dcache_flush", "dcache_flush_user", "dcache_clean",
    "dcache_flush_kmap", "icache_sync", "icache_inval", "icache_flush_all",
    "icache_flush_local", "icache_inval_mm", "folio_test_arch1", "folio_set_arch1",
    "folio_clear_arch1", "page_test_arch1", "page_set_arch1", "page_clear_arch1",
    "tlb_preload", "tlb_flush_page", "hpte_insert", "tsb_insert", "tlb_batch_add",
    "set_pmd", "tlb_flush_all", "dcache_flush_user_range", "dcache_flush_user_mm",
    "cache_flush_all", "dcache_flush_phys", "copy_page", "icache_inval_user", "clear_page",
    "dcache_flush_all",
)
QUERY_NAMES: tuple[str, ...] = (
    "read_pte", "pfn_valid", "pfn_folio", "pfn_page", "folio_has_mapping",
    "mapping_mapped", "folio_mapped", "kaddr", "pages_do_alias", "cpu_has", "page_highmem",
    "folio_mappings", "mm_is_current",
)

# ---------------------------------------------------------------------------
# The generated part of docs/runtime-interface.md

DOC_BEGIN = "<!-- ptdl: generated from runtime/primitives.py (interface_markdown); do not edit -->"
DOC_END = "<!-- ptdl: end of generated section -->"


def interface_markdown() -> str:
    """The section of docs/runtime-interface.md rendered from this module
    (between ``DOC_BEGIN`` and ``DOC_END``, markers included)."""
    out = [DOC_BEGIN, "", "### Trace-line formats (`runtime.primitives.TRACE_FORMATS`)", "",
           "`{x:dec}` is a decimal number, `{x:hex}` lower-case hex with `0x`.", "",
           "| event | format | printed by the C shim |", "|---|---|---|"]
    for ev, fmt in TRACE_FORMATS.items():
        out.append("| `%s` | `%s` | %s |" % (ev, fmt, "no" if ev in MODEL_ONLY_EVENTS else "yes"))
    out += ["", "### `Primitives` (`runtime.primitives.Primitives`)", "",
            "Primitives (one trace line each): "
            + ", ".join("`%s`" % n for n in PRIMITIVE_NAMES) + ".", "",
            "Queries (no trace line): " + ", ".join("`%s`" % n for n in QUERY_NAMES) + ".", "",
            "### Kinds (`runtime.primitives`)", "",
            "| constant | values |", "|---|---|"]
    for name, vals in (("DCACHE_KINDS", DCACHE_KINDS), ("ALIASING_DCACHE_KINDS", ALIASING_DCACHE_KINDS),
                       ("ICACHE_KINDS", ICACHE_KINDS), ("TLB_KINDS", TLB_KINDS),
                       ("LAZY_KINDS", LAZY_KINDS),
                       ("PG_ARCH_1_USES", PG_ARCH_1_USES),
                       ("PG_ARCH_1_GRANULARITIES", PG_ARCH_1_GRANULARITIES),
                       ("ADVANCES", ADVANCES), ("ADDITIVE_ADVANCES", ADDITIVE_ADVANCES)):
        out.append("| `%s` | %s |" % (name, ", ".join("`%s`" % v for v in vals)))
    out += ["", DOC_END]
    return "\n".join(out) + "\n"
