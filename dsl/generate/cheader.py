"""Backend: the kernel C header (pgtable-range.h) of one architecture.

Place in the flow: a pure function of one resolved `dsl.model.Arch`.
`build_view` makes the typed view (`HeaderView`), `render` renders
dsl/templates/c/header.h.j2 with it; dsl/generate/writer.py appends the
checksum line (`common.with_checksum`) and writes
generated/kernel/arch/<arch>/include/asm/pgtable-range.h.  runtime/c/ (the
kernel shim and harness) compiles the result and replays call scripts on
it; tests/c/ compares its trace with the Python model's.

The header is kernel style (tabs, `static inline`, lines <= 100 columns
except the one-line `ptdl-gen:` marker; checkpatch-clean) and
self-contained: it includes the kernel headers declaring what it calls
(`includes()`: linux/mm.h plus one per catalog entry rendered), and
besides the kernel's own types and primitives (pte_t, struct folio,
set_pte, test_bit, ...) it uses only `__ptdl_*` helpers and the
`__ptdl_pteval_t` type (typeof pte_val(): not every arch has pteval_t) it
defines itself, so the same text compiles in a kernel tree and in the
userspace harness (runtime/c/include stands in for the kernel headers).
Every other function it defines is named `PTDL_RANGE_NAME(name)`: `name`
by default, with its override marker; `PTDL_RANGE_PREFIX##name` under
`-DPTDL_RANGE_PREFIX=...`, without markers (`ptdl verify --dropin`).

The call bodies are written by `CWriter` (dsl/generate/cwriter.py), a code
writer in the manner of Linux YNL's.  Rendering rules (one C shape per catalog entry):
* `when` -> if/else; `each pte [reverse]` -> a loop over i < nr with
  `ptep + i` and `addr + i * PAGE_SIZE`; `each page [of folio|range]` ->
  a loop over `folio_page(folio, i)` / `nth_page(page, i)`;
* `store` -> the kernel's `for (;;) { body; set_pte(ptep, pte); if (--nr
  == 0) break; ptep++; addr += PAGE_SIZE; pte = <advance>; }`;
* effects call the primitive's C name (`Arch.primitive`, default from
  dsl/catalog.py);
* predicates: pte roles/fields/derived names -> `__ptdl_pte_<name>()`,
  folio/page/vma/mm/cpu predicates -> the kernel's accessors.
Every archdef name that reaches the output goes through the `c_ident`
filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog
from ..model import Arch, EffectStmt, Expr, FlagOp, Ref, Stmt, When, walk_stmts
from .cwriter import MAX_COLS, B, Ctx, CWriter, Scope, _s, _x
from .templating import TAB, comment_wrap, ident, kwrap
from .templating import render as render_template
from .view import Banner, banner

def _comment(text: str) -> list[str]:
    return comment_wrap(text, MAX_COLS - 6)


# ---------------------------------------------------------------------------
# The typed view of the header


@dataclass(frozen=True)
class FieldMacro:
    name: str
    mask: int


@dataclass(frozen=True)
class PfnPart:
    field: str          # its mask macro
    lo: int
    offset: int


@dataclass(frozen=True)
class AdvanceFn:
    name: str
    comment: tuple[str, ...]
    macro: str
    cond: str


@dataclass(frozen=True)
class Function:
    name: str
    comment: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class Predicate:
    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class AnyHelper:
    name: str
    locals: tuple[str, ...]
    test: tuple[str, ...]


@dataclass(frozen=True)
class HeaderView:
    banner: Banner
    name: str
    fields: tuple[FieldMacro, ...]
    pfn_pte_shift: int
    pfn_mask: str
    transform_val: str
    transform_prot: str
    pfn_none: str                       # C condition on val: pte_pfn() is ~0UL ("" none)
    pfn_parts: tuple[PfnPart, ...]
    advances: tuple[AdvanceFn, ...]
    nth: str
    nth_cond: str
    predicates: tuple[Predicate, ...]
    anys: tuple[AnyHelper, ...]
    generic_next_pfn: bool
    calls: tuple[Function, ...]
    includes: tuple[str, ...]
    pfn_pte_applies: tuple[MutatorFn, ...] = ()   # mutators pfn_pte() applies
    napot_val: str = ""          # `pfn_clear_lowest when C`: C over val (pte_pfn only)
    cpu_tests: tuple[tuple[str, str], ...] = ()   # (feature, kernel C test) from primitives
    kmap_helpers: tuple[str, ...] = ()            # C names of kmap_local flush primitives
    # the user-page hooks' helpers: (copy_page|clear_page, mode, the arch's
    # copy_user_page / clear_user_page name for a user-colour side, or '')
    user_page_helpers: tuple[tuple[str, int, str], ...] = ()
    flush_user_page: bool = False                 # copy_user_highpage flushes the source


_COMMENTS = {
    "set_ptes": "Map nr consecutive pages of one folio at addr (one PMD, one VMA).",
    "update_mmu_cache_range": "Called after set_ptes() installed nr entries at addr.",
    "flush_dcache_folio": "The kernel wrote to the folio through its kernel mapping.",
    "flush_icache_pages": "nr pages starting at page are about to be mapped in vma.",
    "set_pmd_at": "Install the PMD leaf pmd (a PMD-order folio) at addr.",
    "update_mmu_cache_pmd": "Called after set_pmd_at() installed a PMD leaf at addr.",
    "flush_cache_mm": "The whole address space goes (exit_mmap).",
    "flush_cache_dup_mm": "The address space is about to be copied (fork's dup_mmap).",
    "flush_cache_range": "The user range [start, end) of vma is about to be unmapped or changed.",
    "flush_cache_page": "The user page at addr (frame pfn) is about to be unmapped or copied.",
    "copy_user_highpage": "Copy page from into page to, for the user address vaddr of vma (COW).",
    "clear_user_highpage": "Zero page for the user address vaddr (an anonymous fault).",
}


# What the header includes: linux/mm.h (pte_t, struct folio, set_pte,
# ptep_get, folio_page, test_bit, ...) always, and for each catalog entry
# the header renders, the header declaring the kernel function it calls.
BASE_INCLUDES = ("linux/mm.h",)
INCLUDES: dict[str, str] = {
    "folio.has_mapping": "linux/pagemap.h",     # folio_flush_mapping()
    "folio.mapped": "linux/pagemap.h",          # folio_flush_mapping(), mapping_mapped()
    "folio.user_mapped": "linux/mm.h",          # folio_mapped()
    "page_table_check": "linux/page_table_check.h",
    "sync_icache": "asm/cacheflush.h",
    "flush_dcache": "asm/cacheflush.h",
    "clean_dcache": "asm/cacheflush.h",
    "flush_dcache_kmap": "linux/highmem.h",     # kmap_local_page()
    "page.highmem": "linux/highmem.h",          # PageHighMem()
    "folio.highmem": "linux/highmem.h",
    "inval_icache": "asm/cacheflush.h",
    "inval_icache_user": "asm/cacheflush.h",
    "icache_flush_all": "asm/cacheflush.h",     # flush_icache_all()
    "icache_flush_local": "asm/cacheflush.h",   # local_flush_icache_all()
    "inval_icache_mm": "asm/cacheflush.h",
    "flush_dcache_user": "asm/cacheflush.h",
    "flush_user_alias": "asm/cacheflush.h",
    "flush_cache_all": "asm/cacheflush.h",
    "flush_dcache_all": "asm/cacheflush.h",
    "flush_user_cache": "asm/cacheflush.h",
    "copy_page": "linux/highmem.h",             # kmap_local_page(), copy_page()
    "clear_page": "linux/highmem.h",
    "flush_user_cache_mm": "asm/cacheflush.h",     # flush_cache_pages(), flush_dcache_mmap_lock()
    "mm.current": "linux/sched.h",              # current->active_mm
    "each mapping": "linux/pagemap.h",          # folio_flush_mapping(), vma_interval_tree_foreach
    "page.aliases": "asm/cacheflush.h",         # pages_do_alias()
    "pfn.valid": "linux/mmzone.h",              # pfn_valid()
    "tlb_preload": "asm/tlbflush.h",
    "tlb_flush_page": "asm/tlbflush.h",
    "hpte_insert": "asm/tlbflush.h",
    "tsb_insert": "asm/tlbflush.h",
    "tlb_batch_add": "asm/tlbflush.h",
    "tlb_flush_all": "asm/tlbflush.h",
    "flush_dcache_all_colours": "asm/cacheflush.h",   # sparc64 __flush_dcache_page()
}


# effects rendered through a __ptdl_kmap_<fn>() helper: kmap_local_page()
# each page, call the primitive on that address, kunmap_local()
KMAP_EFFECTS = ("flush_dcache_kmap",)


def includes(used: set[str]) -> tuple[str, ...]:
    names = set(BASE_INCLUDES) | {INCLUDES[u] for u in used if u in INCLUDES}
    return tuple(sorted(names, key=lambda n: (not n.startswith("linux/"), n)))


def _any_helpers(w: CWriter) -> list[AnyHelper]:
    out: list[AnyHelper] = []
    done = 0
    while done < len(w.anys):
        name, cond = w.anys[done]
        done += 1
        local = Scope()
        ctx = Ctx("set_ptes", local, new=B("new", frozenset({"new"})),
                  old=B("old", frozenset({"old"})), ptep=B(_x("plus_i", "ptep")),
                  addr=B(_x("addr_i", "addr")), pte=B("pte"), nr=B("nr"), mm=B("mm"),
                  folio=B(_x("pte_folio", "pte")))
        c = w.expr(cond, ctx)
        ifs = _s("if_open", "if", c, True, 2)
        locs: list[str] = []
        if "new" in local.uses:
            locs += _s("decl_new", _x("pte_nth", "pte"))
        if "old" in local.uses:
            locs += _s("decl_old", _x("plus_i", "ptep"))
        out.append(AnyHelper(name, tuple(locs), tuple(ifs)))
    return out


@dataclass(frozen=True)
class MutatorFn:
    """`__ptdl_pte_<name>()`: a mutator `pfn_pte { ... }` applies."""

    name: str
    lines: tuple[str, ...]


def _mutator_stmts(w: CWriter, body: tuple[Stmt, ...], depth: int) -> list[str]:
    a = w.a
    ind = "\t" * depth
    out: list[str] = []
    for s in body:
        if isinstance(s, FlagOp):
            f = a.field(s.target.path[-1])
            assert f is not None
            m = w.fmacro(f.name)
            if s.op == "clear":
                out.append(f"{ind}val &= ~{m};")
            elif s.value is None:
                out.append(f"{ind}val |= {m};")
            else:
                out.append(f"{ind}val = (val & ~{m}) | (((__ptdl_pteval_t){s.value} << {f.lo}) & {m});")
        elif isinstance(s, When):
            cond = _unparen(w.layout_expr(s.cond, "val"))
            then = _mutator_stmts(w, s.then, depth + 1)
            orelse = _mutator_stmts(w, s.orelse, depth + 1)
            braces = len(then) > 1 or len(orelse) > 1      # kernel style: none for one line
            out.append(f"{ind}if ({cond})" + (" {" if braces else ""))
            out += then
            if orelse:
                out.append(f"{ind}}} else {{" if braces else f"{ind}else")
                out += orelse
            if braces:
                out.append(f"{ind}}}")
    return out


def _unparen(c: str) -> str:
    """`(x & m)` -> `x & m` when the outer parentheses enclose it all."""
    if not (c.startswith("(") and c.endswith(")")):
        return c
    depth = 0
    for i, ch in enumerate(c):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(c) - 1:
            return c
    return c[1:-1]


def _mutator_fn(w: CWriter, name: str) -> MutatorFn:
    """The archdef's mutator body, or the role's single field set/cleared."""
    a = w.a
    if name not in catalog.MUTATORS:     # a one-bit field pfn_pte() sets
        return MutatorFn(name, (f"val |= {w.fmacro(name)};",))
    m = a.mutator(name)
    if m is not None:
        return MutatorFn(name, tuple(_mutator_stmts(w, m.body, 0)))
    role, value = catalog.MUTATORS[name]
    f = a.role_fields(role)[0]
    op = "val |= {};" if value != f.inverted else "val &= ~{};"
    return MutatorFn(name, (op.format(w.fmacro(f.name)),))


def _napot(w: CWriter, a: Arch) -> str:
    """The `pfn_clear_lowest when C` condition over val, or ''."""
    n = a.pfn_napot()
    return w.layout_expr(n.cond, "val") if n is not None else ""


def build_view(a: Arch, source: str) -> HeaderView:
    w = CWriter(a)
    name = ident(a.name)
    calls: list[Function] = []
    generic_next = False
    for cname in catalog.ALL_CALLS:
        c = a.call(cname)
        if c is None or c.generic:
            if cname == "set_ptes" and a.advance != "pfn_shift":
                generic_next = True
                w.next_fn(a.advance)
            continue
        calls.append(Function(cname, _COMMENTS[cname], tuple(w.call_body(c))))
    anys = _any_helpers(w)          # may add predicates
    preds: list[Predicate] = []
    for pname in sorted(w.preds):
        if pname in w.bit_preds:
            preds.append(Predicate(ident(pname), _all_bits_lines(
                [w.fmacro(n) for n in w.bit_preds[pname]])))
            continue
        d = a.derived_named(pname)
        e: Expr = d.expr if d is not None else Ref((pname,), a.loc)
        preds.append(Predicate(ident(pname), tuple(kwrap(w.layout_expr(e, "val"),
                                                         "return ", ";", 1))))
    advances: list[AdvanceFn] = []
    for strategy in sorted(w.advances, key=lambda s: (s != a.advance, s)):
        entry = next(x for x in catalog.ADVANCE_ENTRIES if x.name == strategy)
        cond = w.transform_cond("pte_val(pte)") or ""
        advances.append(AdvanceFn(w.next_fn(strategy), tuple(_comment("advance: " + entry.doc)),
                                  entry.c_macro, cond if strategy == "pfn_shift_invert_aware"
                                  else ""))
    nth_cond = (w.transform_cond("pte_val(pte)") or "") \
        if a.advance == "pfn_shift_invert_aware" else ""
    return HeaderView(
        banner=banner(a, source, "kernel-header"),
        name=name,
        fields=tuple(FieldMacro(w.fmacro(f.name), f.mask) for f in a.fields),
        pfn_pte_shift=a.pfn_pte_shift,
        pfn_mask=w.pfn_mask(),
        transform_val=w.transform_cond("val") or "",
        napot_val=_napot(w, a),
        transform_prot=w.transform_cond("prot") or "",
        pfn_none=w.layout_expr(a.pfn_none.cond, "val") if a.pfn_none is not None else "",
        pfn_parts=tuple(PfnPart(w.fmacro(f.name), f.lo, f.pfn_offset) for f in a.pfn_fields),
        advances=tuple(advances),
        nth="nth_" + a.advance,
        nth_cond=nth_cond,
        predicates=tuple(preds),
        anys=tuple(anys),
        generic_next_pfn=generic_next,
        calls=tuple(calls),
        includes=includes(w.used),
        cpu_tests=tuple((p.key[len(catalog.CPU_PRIMITIVE_PREFIX):], p.c_name) for p in a.primitives
                        if p.key.startswith(catalog.CPU_PRIMITIVE_PREFIX)),
        pfn_pte_applies=tuple(_mutator_fn(w, m) for m in
                              (a.pfn_pte_applies.names if a.pfn_pte_applies else ())),
        kmap_helpers=tuple(sorted({ident(a.primitive(n, catalog.EFFECTS[n].c_default))
                                   for n in w.used if n in KMAP_EFFECTS})),
        user_page_helpers=tuple(sorted(
            (n, m, a.primitive(n, "") if m else "") for n, m in w.user_page_modes)),
        flush_user_page=_copy_flushes_source(a),
    )


def _all_bits_lines(masks: list[str]) -> tuple[str, ...]:
    """Every bit of masks set: `m = A | B ...; return (val & m) == m;`,
    the mask broken after ` |` where wider than MAX_COLS (one tab deeper,
    as kwrap continues).  (gcc lays the loop out best for this form: the
    entry that fails the test stores without a taken branch.)"""
    head, tail = "__ptdl_pteval_t m = ", ";"
    lines: list[str] = []
    cur = head
    for k, m in enumerate(masks):
        piece = m + (tail if k == len(masks) - 1 else " |")
        if cur not in (head, "\t") and len(("\t" + cur + " " + piece).expandtabs(TAB)) > MAX_COLS:
            lines.append(cur)
            cur = "\t"
        cur += piece if cur in (head, "\t") else " " + piece
    return (*lines, cur, "", "return (val & m) == m;")


def _copy_flushes_source(a: Arch) -> bool:
    c = a.call("copy_user_highpage")
    return c is not None and not c.generic and any(
        isinstance(s, EffectStmt) and s.name == "flush_user_cache" for s in walk_stmts(c.body))


def _fit_line(line: str) -> list[str]:
    """A code line wider than MAX_COLS broken after its last top-level ` +`
    that leaves a head which fits (the rest on a line at the same indent,
    as the effect templates' continuation lines); other lines as they are.
    The templates cannot know how deep a statement ends up (a folio guard,
    cwriter._folio_guard, nests its body one block deeper)."""
    if len(line.expandtabs(TAB)) <= MAX_COLS or line.lstrip().startswith(("/*", "*", "//")):
        return [line]
    lead = line[:len(line) - len(line.lstrip("\t"))]
    depth = 0
    cut = -1
    for k, ch in enumerate(line):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and line.startswith(" + ", k) and \
                len(line[:k + 2].expandtabs(TAB)) <= MAX_COLS:
            cut = k
    if cut < 0:
        return [line]
    return [line[:cut + 2], *_fit_line(lead + line[cut + 3:])]


def render(a: Arch, source: str) -> str:
    """The header text for arch a (from archdef file `source`), without the
    final checksum line."""
    text = render_template("c/header.h.j2", v=build_view(a, source))
    return "\n".join(x for line in text.split("\n") for x in _fit_line(line))
