"""Expected values the conformance tests spell out, computed from the model.

Place in the flow: used by dsl/generate/ctests.py only.  Everything here is
a pure function of one dsl.model.Arch (and, for events, of a scenario's
parameters); it never imports runtime/ or the generated module, so the
generated tests compare the runtime's answers with values derived on an
independent code path:

* ``pfn_pte`` / ``boundary_ptes`` (dsl/generate/encode.py): a small PTE
  encoder over the field layout (PFN parts with their offsets, the ``invert pfn when ...``
  transform), evaluated at PFN-field boundaries;
* ``direct_events``: a small interpreter of the archdef's call statements
  (the behaviour catalog's meaning, docs/runtime-interface.md trace lines)
  for the deterministic ``path: direct`` scenarios: the kernel fills a
  page-cache folio (flush_dcache_folio), one VMA maps it with one
  set_pte_range (flush_icache_pages, set_ptes, update_mmu_cache_range);
  the user then touches the pages, and an entry without the hardware
  valid bit takes handle_pte_fault's tail (set_ptes and
  update_mmu_cache_range of one page: ``fault_path``).
  The trace line of each effect, predicate test and flag operation is the
  catalog entry's `trace_format` (dsl/catalog.py); what it means (which
  pages, which entry) is this interpreter's.

vm_get_page_prot and the PFN mask are not recomputed here: they come from
dsl/generate/layout.py, the one implementation the runtime module bakes in
(the entry a direct scenario maps is an input of the interpretation, not
its result).  The scenario geometry (the folio's pfn, the kernel's direct
map base) comes from runtime/ itself; only the user address of the one
VMA is derived here (see ``direct_address``), and a drift would show as a
failing ``test_direct_events``, never as a silent pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, TypedDict

from .. import catalog
from ..model import (AnyOf, Arch, BoolOp, Compare, Each, EffectStmt, Expr, FlagOp,
                     Not, Num, Ref, Stmt, When)
from . import layout
from .encode import (_mask, boundary_pfns, boundary_ptes, eval_pte, mutate, pfn_pte,
                     pfn_width, pte_pfn, pte_test)
from .layout import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, pfn_mask, prot_table
from .scenarios import (DIRECT_PFN, KERNEL_BASE_32, KERNEL_BASE_64, SCENARIO_DIR,
                        load_direct_scenarios, load_findings, load_model_gaps,
                        load_scenario_names,
                        parse_vm_flags, runtime_constant)

__all__ = ["DIRECT_PFN", "KERNEL_BASE_32", "KERNEL_BASE_64", "SCENARIO_DIR", "VM_EXEC",
           "VM_READ", "VM_SHARED", "VM_WRITE", "boundary_pfns", "boundary_ptes", "eval_pte",
           "layout", "load_direct_scenarios", "load_findings", "load_model_gaps", "load_scenario_names",
           "mutate", "parse_vm_flags", "pfn_mask", "pfn_pte", "pfn_width", "prot_table",
           "pte_pfn", "pte_test", "runtime_constant"]


# ---------------------------------------------------------------------------
# The statement interpreter


def cpu_true(e: Expr | None, cpu: frozenset[str]) -> bool:
    if e is None:
        return True
    if isinstance(e, Num):
        return bool(e.value)
    if isinstance(e, Not):
        return not cpu_true(e.arg, cpu)
    if isinstance(e, BoolOp):
        vals = [cpu_true(x, cpu) for x in e.args]
        return all(vals) if e.op == "and" else any(vals)
    if isinstance(e, Ref) and e.path[0] == "cpu":
        return e.path[1] in cpu
    raise ValueError(f"not a CPU-feature condition at {e.loc}")


def dcache_colours(a: Arch, cpu: frozenset[str]) -> int:
    for cond, kind in a.dcache.options:
        if cpu_true(cond, cpu):
            if kind.name in catalog.ALIASING_DCACHE:
                return int(kind.param("colours", "1") or "1", 0)
            return 1
    return 1


@dataclass
class Folio:
    pfn: int
    nr: int
    flags: list[bool]
    mapped: bool = False
    user_mapped: bool = False    # folio_mapped(): rmap added (set_pte_range, before set_ptes)
    has_mapping: bool = True
    anon: bool = False


@dataclass
class Machine:
    a: Arch
    cpu: frozenset[str]
    folio: Folio
    table: dict[int, int] = field(default_factory=dict)
    pt: int = 1
    mm: int = 1
    pgste: bool = False
    vma_flags: int = 0
    vma_start: int = -1          # the one VMA, once the file is mapped (pgoff 0)
    events: list[str] = field(default_factory=list)

    def emit(self, line: str) -> None:
        self.events.append(line)


@dataclass
class Cx:
    call: str
    pte: int = 0                 # the call's pte (store: the current entry)
    old: int = 0
    new: int = 0
    page: int = -1               # pfn of the `each page` page
    uaddr: int = 0
    index: int = 0               # index of `each pte` / store iteration
    addr: int = 0
    idx: int = 0                 # ptep index in the table
    nr: int = 1
    m_addr: int = 0              # `each mapping`: the VMA's first mapped page ...
    m_pfn: int = 0
    m_nr: int = 0
    m_head: int = 0              # ... and where the head page sits in it
    anys: dict[int, bool] = field(default_factory=dict)
    nested: bool = False         # inside `each pte` or a store body


class Interp:
    """Runs the archdef's statements of one call on a ``Machine``, emitting
    the trace lines the runtime's primitives print."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.a = m.a
        self.colours = dcache_colours(m.a, m.cpu)
        self.kbase = KERNEL_BASE_64 if m.a.word_bits == 64 else KERNEL_BASE_32

    # -- values --------------------------------------------------------
    def next_pte(self, pte: int, i: int) -> int:
        """Entry i of a range starting at ``pte`` (the reference meaning)."""
        a = self.a
        return pfn_pte(a, pte_pfn(a, pte) + i, pte & ~pfn_mask(a) & _mask(a.word_bits))

    def advance(self, strategy: str, pte: int) -> int:
        """The entry after pte by the catalog strategy (ADVANCES below)."""
        return ADVANCES[strategy](self.a, pte)

    def cond(self, e: Expr, cx: Cx) -> bool:
        m = self.m
        if isinstance(e, AnyOf):
            # evaluated where it stands, entry 0 first, stopping at the first
            # hit: the C header's short-circuit order (issue 10 item 12)
            for i in range(cx.nr):
                inner = Cx(cx.call, pte=cx.pte, old=m.table.get(cx.idx + i, 0),
                           new=self.next_pte(cx.pte, i), page=cx.page, uaddr=cx.uaddr,
                           index=cx.index, addr=cx.addr, idx=cx.idx, nr=cx.nr)
                if self.cond(e.arg, inner):
                    return True
            return False
        if isinstance(e, Not):
            return not self.cond(e.arg, cx)
        if isinstance(e, BoolOp):
            if e.op == "and":
                for x in e.args:
                    if not self.cond(x, cx):
                        return False
                return True
            for x in e.args:
                if self.cond(x, cx):
                    return True
            return False
        if isinstance(e, Num):
            return bool(e.value)
        if isinstance(e, Compare):
            eq = self.value(e.left, cx) == self.value(e.right, cx)
            return eq if e.op == "==" else not eq
        assert isinstance(e, Ref)
        obj, attr = e.path
        if obj == "cpu":
            return attr in m.cpu
        if obj in catalog.PTE_OBJECTS:
            return pte_test(self.a, attr, {"pte": cx.pte, "old": cx.old, "new": cx.new}[obj])
        p = catalog.PREDICATES.get(f"{obj}.{attr}")
        if p is None:
            raise ValueError(f"unsupported condition {e.text}")
        v = PREDICATES[p.expect](self, cx)
        if p.trace:
            m.emit(p.trace.format(folio=m.folio.pfn, page=cx.page, value=int(v)))
        return v
        raise ValueError(f"unsupported condition {e.text}")

    def value(self, e: Expr, cx: Cx) -> int:
        if isinstance(e, Num):
            return e.value
        assert isinstance(e, Ref)
        v = {"pte": cx.pte, "old": cx.old, "new": cx.new}[e.path[0]]
        return pte_pfn(self.a, v)

    def range_of(self, arg: str, cx: Cx) -> tuple[int, int]:
        f = self.m.folio
        if arg == "folio":
            return f.pfn, f.nr
        if arg == "page":
            return cx.page, 1
        if cx.call in ("set_ptes", "update_mmu_cache_range"):
            return pte_pfn(self.a, cx.pte), cx.nr
        if cx.call == "flush_icache_pages":
            return cx.page, cx.nr
        return f.pfn, f.nr

    # -- statements ------------------------------------------------------
    def run(self, body: tuple[Stmt, ...], cx: Cx) -> None:
        for s in body:
            self.stmt(s, cx)

    def stmt(self, s: Stmt, cx: Cx) -> None:
        m = self.m
        if isinstance(s, When):
            self.run(s.then if self.cond(s.cond, cx) else s.orelse, cx)
        elif isinstance(s, Each):
            self.each(s, cx)
        elif isinstance(s, FlagOp):
            self.flag(s, cx)
        elif isinstance(s, EffectStmt):
            self.effect(s, cx)

    def each(self, s: Each, cx: Cx) -> None:
        m = self.m
        if s.kind == "mapping":
            # the i_mmap walk: the direct scenarios' one VMA (pgoff 0, the
            # whole folio) once the file is mapped, else nothing
            if m.folio.has_mapping and not m.folio.anon and m.vma_start >= 0:
                inner = Cx(cx.call, pte=cx.pte, old=cx.old, new=cx.new, page=cx.page,
                           uaddr=cx.uaddr, index=cx.index, addr=cx.addr, idx=cx.idx, nr=cx.nr,
                           m_addr=m.vma_start, m_pfn=m.folio.pfn, m_nr=m.folio.nr,
                           m_head=m.vma_start)
                self.run(s.body, inner)
            return
        if s.kind == "pte":
            order = range(cx.nr - 1, -1, -1) if s.reverse else range(cx.nr)
            for i in order:
                inner = Cx(cx.call, pte=cx.pte, old=m.table.get(cx.idx + i, 0),
                           new=self.next_pte(cx.pte, i), page=cx.page, uaddr=cx.uaddr,
                           index=i, addr=cx.addr, idx=cx.idx, nr=cx.nr, nested=True)
                self.run(s.body, inner)
            return
        if cx.nested and s.source == "range":
            # nested in `each pte` / a store body: the page entry i maps
            inner = Cx(cx.call, pte=cx.pte, old=cx.old, new=cx.new, page=pte_pfn(self.a, cx.new),
                       uaddr=cx.addr + cx.index * self.a.page_size, index=cx.index,
                       addr=cx.addr, idx=cx.idx, nr=cx.nr)
            self.run(s.body, inner)
            return
        if s.source == "folio":
            first, count = m.folio.pfn, m.folio.nr
        else:
            first, count = self.range_of("range", cx)
        order = range(count - 1, -1, -1) if s.reverse else range(count)
        for j in order:
            pfn = first + j
            uaddr = 0
            if cx.call in ("set_ptes", "update_mmu_cache_range"):
                uaddr = cx.addr + (pfn - pte_pfn(self.a, cx.pte)) * self.a.page_size
            inner = Cx(cx.call, pte=cx.pte, old=cx.old, new=cx.new, page=pfn, uaddr=uaddr,
                       index=cx.index, addr=cx.addr, idx=cx.idx, nr=cx.nr)
            self.run(s.body, inner)

    def flag(self, s: FlagOp, cx: Cx) -> None:
        m = self.m
        obj, attr = s.target.path
        if obj == "pte":
            f = self.a.field(attr)
            assert f is not None
            if s.op == "clear":
                cx.pte &= ~f.mask
            elif s.value is None:
                cx.pte |= f.mask
            else:
                cx.pte = (cx.pte & ~f.mask) | ((s.value << f.lo) & f.mask)
            cx.new = cx.pte
            return
        on = s.op == "set"
        pfn = m.folio.pfn if obj == "folio" else cx.page
        m.emit(catalog.FLAG_TRACE.format(op=s.op, obj=obj, pfn=pfn))
        m.folio.flags[pfn - m.folio.pfn] = on

    def effect(self, s: EffectStmt, cx: Cx) -> None:
        """Emit the effect's catalog trace line with the fields this
        interpreter gives it: the pages of its folio|page|range argument
        ('pages' shape), the current entry's address and value ('entry')."""
        m = self.m
        e = catalog.EFFECTS.get(s.name)
        if e is None:
            raise ValueError(f"effect {s.name} not modelled by the expectation interpreter")
        if e.shape == "loop":
            self.store(s, cx)
            return
        if e.shape == "mapping":
            head = s.positional == "head"
            if self.a.primitive_per_page(s.name) and not head:
                for j in range(cx.m_nr):
                    m.emit(catalog.trace_line(e, mm=m.mm, addr=cx.m_addr + j * self.a.page_size,
                                              pfn=cx.m_pfn + j, nr=1))
                return
            m.emit(catalog.trace_line(e, mm=m.mm, addr=cx.m_head if head else cx.m_addr,
                                      pfn=m.folio.pfn if head else cx.m_pfn,
                                      nr=1 if head else cx.m_nr))
            return
        first, count = self.range_of(s.positional or "range", cx) if e.shape == "pages" \
            else (0, cx.nr)
        if e.per_page:
            for p in range(first, first + count):
                m.emit(catalog.trace_line(e, nr=1, pfn=p))
            return
        m.emit(catalog.trace_line(
            e, pt=m.pt, idx=cx.idx, pte=cx.pte, nr=count, pfn=first, mm=m.mm,
            addr=cx.addr + cx.index * self.a.page_size, page=cx.page,
            val=m.table.get(cx.idx + cx.index, 0), new_pfn=pte_pfn(self.a, cx.new)))

    def set_pte(self, idx: int, val: int) -> None:
        m = self.m
        a = self.a
        m.emit(catalog.trace_line(catalog.EFFECTS["store"], pt=m.pt, idx=idx, pte=val))
        m.table[idx] = val
        if a.tlb.name == "software_pairs" and a.role_fields("global") and pte_test(a, "global", val):
            gmask = 0
            for f in a.role_fields("global"):
                gmask |= f.mask
            b = idx ^ 1
            if (m.table.get(b, 0) & ~gmask) == 0:
                m.emit(f"set_pte_buddy pt={m.pt} idx={b} val={gmask:#x}")
                m.table[b] = gmask

    def store(self, s: EffectStmt, cx: Cx) -> None:
        strategy = s.param("advance", self.a.advance)
        pgste = s.param("using", "set_pte") == "pgste"
        i = 0
        while True:
            cx.index = i
            cx.old = self.m.table.get(cx.idx + i, 0)
            cx.new = cx.pte
            cx.nested = True
            self.run(s.body, cx)
            cx.nested = False
            if pgste:
                self.m.emit(f"pgste_set_pte pt={self.m.pt} idx={cx.idx + i} val={cx.pte:#x}")
                self.m.table[cx.idx + i] = cx.pte
            else:
                self.set_pte(cx.idx + i, cx.pte)
            i += 1
            if i == cx.nr:
                break
            cx.pte = self.advance(strategy, cx.pte)
        cx.index = 0

    # -- the four calls ----------------------------------------------------
    def call(self, name: str, cx: Cx) -> None:
        c = self.a.call(name)
        if c is None or c.generic:
            if name == "set_ptes":
                self.generic_set_ptes(cx)
            return
        self.run(c.body, cx)

    def generic_set_ptes(self, cx: Cx) -> None:
        """include/linux/pgtable.h set_ptes (runtime.arch.Arch.set_ptes)."""
        m = self.m
        E = catalog.EFFECTS
        m.emit(catalog.trace_line(E["page_table_check"], pt=m.pt, idx=cx.idx, pte=cx.pte,
                                  nr=cx.nr))
        m.emit(catalog.trace_line(E["lazy_mmu_enter"]))
        pte = cx.pte
        for i in range(cx.nr):
            self.set_pte(cx.idx + i, pte)
            if i + 1 < cx.nr:
                pte = self.advance(self.a.advance, pte)
        m.emit(catalog.trace_line(E["lazy_mmu_leave"]))


# What each PFN-advance strategy of dsl/catalog.py does to a raw entry.


def _invert_aware(a: Arch, pte: int) -> int:
    t = a.pfn_transform()
    step = 1 << a.pfn_pte_shift
    if t is not None and eval_pte(a, t.cond, pte):
        return (pte - step) & _mask(a.word_bits)
    return (pte + step) & _mask(a.word_bits)


def _repack(a: Arch, pte: int) -> int:
    return pfn_pte(a, pte_pfn(a, pte) + 1, pte & ~pfn_mask(a) & _mask(a.word_bits))


ADVANCES: dict[str, Callable[[Arch, int], int]] = {
    "pfn_shift": lambda a, pte: (pte + (1 << a.pfn_pte_shift)) & _mask(a.word_bits),
    "page_size": lambda a, pte: (pte + a.page_size) & _mask(a.word_bits),
    "pfn_shift_invert_aware": _invert_aware,
    "repack": _repack,
}


# What each object predicate of dsl/catalog.py reads in the interpreter's
# machine (catalog.Predicate.expect names the entry).


def _page_aliases(it: Interp, cx: Cx) -> bool:
    if it.colours <= 1:
        return False
    ka = it.kbase + (cx.page << it.a.page_shift)
    return (ka >> it.a.page_shift) % it.colours != (cx.uaddr >> it.a.page_shift) % it.colours


PREDICATES: dict[str, Callable[[Interp, Cx], bool]] = {
    "folio_pg_arch_1": lambda it, cx: it.m.folio.flags[0],
    "folio_anon": lambda it, cx: it.m.folio.anon,
    "folio_has_mapping": lambda it, cx: it.m.folio.has_mapping and not it.m.folio.anon,
    "folio_mapped": lambda it, cx: it.m.folio.mapped,
    "folio_user_mapped": lambda it, cx: it.m.folio.user_mapped,
    "folio_large": lambda it, cx: it.m.folio.nr > 1,
    "page_pg_arch_1": lambda it, cx: it.m.folio.flags[cx.page - it.m.folio.pfn],
    "page_aliases": _page_aliases,
    # the direct scenarios' folio sits at pfn 0x10000, lowmem on every arch
    # (the model's highmem starts at pfn 0x30000, runtime/memory.py)
    "page_highmem": lambda it, cx: False,
    "folio_highmem": lambda it, cx: False,
    # the direct scenarios map page-cache folios: every pfn has a struct page
    "pfn_valid": lambda it, cx: True,
    # copy_user_highpage's source: the direct scenarios never copy (no COW
    # on their path), so the interpreter never reaches these
    "src_pg_arch_1": lambda it, cx: False,
    "src_mapped": lambda it, cx: False,
    "vma_exec": lambda it, cx: bool(it.m.vma_flags & VM_EXEC),
    "vma_write": lambda it, cx: bool(it.m.vma_flags & VM_WRITE),
    "vma_shared": lambda it, cx: bool(it.m.vma_flags & VM_SHARED),
    "mm_pgste": lambda it, cx: it.m.pgste,
    "mm_init": lambda it, cx: False,
    # the direct scenarios make their calls from the kernel (init_mm runs)
    "mm_current": lambda it, cx: False,
}


# ---------------------------------------------------------------------------
# The direct scenarios


def _base(a: Arch) -> int:
    pmd = 1 << pmd_shift(a)
    base = 0x10000000 if a.word_bits == 32 else 0x4000000000
    return (base + pmd - 1) & ~(pmd - 1)


def pmd_shift(a: Arch) -> int:
    return a.page_shift + (a.ptrs_per_pte.bit_length() - 1)


def direct_address(a: Arch, pages: int, colour_offset: int, colours: int = 1) -> int:
    """Where runtime/families/base.py (region) maps a direct scenario's VMA: the second
    PMD-separated region of pages + 4 * colours pages, plus the colour
    offset (its `region(k, 1, n + 4 * colours) + (off << page_shift)`)."""
    pmd = 1 << pmd_shift(a)
    span = (((pages + 4 * colours) << a.page_shift) + pmd - 1) & ~(pmd - 1)
    return _base(a) + (span + pmd) + (colour_offset << a.page_shift)


def direct_events(a: Arch, cpu: frozenset[str], order: int, colour_offset: int,
                  vm_flags: int) -> list[str]:
    """The trace lines of the arch calls of a ``path: direct`` scenario:
    flush_dcache_folio after the kernel filled the folio (the file not yet
    mapped), then set_pte_range of the whole folio: flush_icache_pages,
    set_ptes, update_mmu_cache_range (the faulting address is the first
    page, so the entry is young: no pte_mkold); then the user touches the
    pages, and each entry the MMU does not take goes through the fault
    path (``fault_path``)."""
    n = 1 << order
    m = Machine(a, cpu, Folio(DIRECT_PFN, n, [False] * n), vma_flags=vm_flags)
    it = Interp(m)
    it.call("flush_dcache_folio", Cx("flush_dcache_folio"))
    m.folio.mapped = True
    start = direct_address(a, n, colour_offset, max(dcache_colours(a, cpu), 1))
    m.vma_start = start
    idx = (start >> a.page_shift) & (a.ptrs_per_pte - 1)
    it.call("flush_icache_pages", Cx("flush_icache_pages", page=DIRECT_PFN, nr=n))
    m.folio.user_mapped = True                                         # folio_add_file_rmap_ptes
    entry = pfn_pte(a, DIRECT_PFN, prot_table(a, frozenset(cpu))[vm_flags & 15])   # mk_pte
    if a.sw_mkyoung:
        entry = mutate(a, "mkyoung", entry)                            # pte_sw_mkyoung
    it.call("set_ptes", Cx("set_ptes", pte=entry, addr=start, idx=idx, nr=n))
    first = m.table.get(idx, 0)
    it.call("update_mmu_cache_range", Cx("update_mmu_cache_range", pte=first, addr=start,
                                         idx=idx, nr=n))
    for i in touched_pages(n):
        fault_path(it, start + i * a.page_size, idx + i, bool(vm_flags & VM_EXEC))
    return m.events


def touched_pages(n: int, limit: int = 16) -> list[int]:
    """The pages of an n-page mapping the direct scenarios' user touches, in
    order: every page when n <= limit (the scenarios set no limit: 16),
    else the first, second, middle two, second to last and last."""
    if n <= limit:
        return list(range(n))
    out: list[int] = []
    for i in (0, 1, n // 2 - 1, n // 2, n - 2, n - 1):
        if 0 <= i < n and i not in out:
            out.append(i)
    return out


def hardware_takes(a: Arch, pte: int) -> bool:
    """Whether the MMU uses a present entry without a fault: the layout's
    hardware `valid` role is set (an arch without one: always).  The
    access itself (read, exec) is allowed in the direct scenarios."""
    fields = a.role_fields("valid")
    if not fields:
        return True
    mask = 0
    for f in fields:
        mask |= f.mask
    return (pte & mask) == 0 if fields[0].inverted else (pte & mask) != 0


def fault_path(it: Interp, addr: int, idx: int, exec_: bool) -> None:
    """A user read or instruction fetch at addr after the map.  An entry
    the MMU does not take faults into handle_pte_fault's tail (mm/memory.c
    6.12.117 L5810-5814): entry = pte_mkyoung(orig), and when that changes
    it, ptep_set_access_flags (mm/pgtable-generic.c L68-79: set_pte_at =
    set_ptes(..., 1), then flush_tlb_fix_spurious_fault, no arch call of
    the range API) and update_mmu_cache_range(vmf, vma, addr, ptep, 1).
    The access is then retried; the stored entry is young, so one fault per
    page (csky: pte_mkyoung sets _PAGE_VALID for a readable entry).  An
    entry the MMU takes makes no arch call."""
    a = it.a
    old = it.m.table.get(idx, 0)
    if hardware_takes(a, old):
        return
    entry = mutate(a, "mkyoung", old)
    if entry == old:
        return            # spurious: flush_tlb_fix_spurious_fault only
    it.call("set_ptes", Cx("set_ptes", pte=entry, addr=addr, idx=idx, nr=1))
    it.call("update_mmu_cache_range", Cx("update_mmu_cache_range",
                                         pte=it.m.table.get(idx, 0), addr=addr, idx=idx, nr=1))


class Summary(TypedDict):
    counts: dict[str, int]
    set_pte: int
    first_set_pte: str
    last_set_pte: str


def summarize(events: list[str]) -> Summary:
    """What a generated test asserts: every non-set_pte line with its
    count, the number of set_pte lines, and the first and last of them."""
    sets = [e for e in events if e.startswith("set_pte ")]
    counts = Counter(e for e in events if not e.startswith("set_pte "))
    return {"counts": dict(sorted(counts.items())), "set_pte": len(sets),
            "first_set_pte": sets[0] if sets else "", "last_set_pte": sets[-1] if sets else ""}
