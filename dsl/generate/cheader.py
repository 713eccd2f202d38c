"""Backend: the kernel C header (pgtable-range.h) of one architecture.

Place in the flow: a pure function of one resolved `dsl.model.Arch`;
dsl/generate/writer.py appends the checksum line (`common.with_checksum`)
and writes generated/kernel/arch/<arch>/include/asm/pgtable-range.h.
runtime/c/ (the kernel shim and harness) compiles the result and replays
call scripts on it; tests/c/ compares its trace with the Python model's.

The header is kernel style (tabs, `static inline`, lines <= 100 columns
except the one-line `ptdl-gen:` marker) and self-contained: besides the
kernel's own types and primitives (pte_t, struct folio, set_pte,
test_bit, ...) it uses only `__ptdl_*` helpers it defines itself, so the
same text compiles in a kernel tree and in the userspace harness.

Rendering rules (one C shape per catalog entry):
* `when` -> if/else; `each pte [reverse]` -> a loop over i < nr with
  `ptep + i` and `addr + i * PAGE_SIZE`; `each page [of folio|range]` ->
  a loop over `folio_page(folio, i)` / `nth_page(page, i)`;
* `store` -> the kernel's `for (;;) { body; set_pte(ptep, pte); if (--nr
  == 0) break; ptep++; addr += PAGE_SIZE; pte = <advance>; }`;
* effects call the primitive's C name (`Arch.primitive`, default from
  dsl/catalog.py) with a fixed argument shape (see `_effect`);
* predicates: pte roles/fields/derived names -> `__ptdl_pte_<name>()`,
  folio/page/vma/mm/cpu predicates -> the kernel's accessors (`_OBJ`).
Every archdef name that reaches the output goes through `common.ident`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace

from .. import catalog
from ..model import (AnyOf, Arch, BoolOp, Call, Compare, Each, EffectStmt,
                     Expr, FlagOp, Not, Num, Ref, Stmt, When,
                     walk_stmts)
from . import common

MAX_COLS = 100
TAB = 8

# folio/page/vma/mm predicates -> C (`{o}` is the object's C expression)
_OBJ: dict[tuple[str, str], str] = {
    ("folio", "pg_arch_1"): "test_bit(PG_arch_1, &{o}->flags)",
    ("folio", "anon"): "folio_test_anon({o})",
    ("folio", "has_mapping"): "folio_flush_mapping({o}) != NULL",
    ("folio", "mapped"): "mapping_mapped(folio_flush_mapping({o}))",
    ("folio", "large"): "folio_test_large({o})",
    ("page", "pg_arch_1"): "test_bit(PG_arch_1, &{o}->flags)",
    ("page", "aliases"): "pages_do_alias((unsigned long)page_address({o}), {uaddr})",
    ("vma", "exec"): "({o}->vm_flags & VM_EXEC)",
    ("vma", "write"): "({o}->vm_flags & VM_WRITE)",
    ("vma", "shared"): "({o}->vm_flags & VM_SHARED)",
    ("mm", "pgste"): "mm_has_pgste({o})",
    ("mm", "init"): "({o} == &init_mm)",
}

_SIGNATURES = {
    "set_ptes": "set_ptes(struct mm_struct *mm, unsigned long addr,\n"
                "\t\t\t    pte_t *ptep, pte_t pte, unsigned int nr)",
    "update_mmu_cache_range": "update_mmu_cache_range(struct vm_fault *vmf,\n"
                              "\t\tstruct vm_area_struct *vma, unsigned long addr,\n"
                              "\t\tpte_t *ptep, unsigned int nr)",
    "flush_dcache_folio": "flush_dcache_folio(struct folio *folio)",
    "flush_icache_pages": "flush_icache_pages(struct vm_area_struct *vma,\n"
                          "\t\t\t\t      struct page *page, unsigned int nr)",
}

_COMMENTS = {
    "set_ptes": "Map nr consecutive pages of one folio at addr (one PMD, one VMA).",
    "update_mmu_cache_range": "Called after set_ptes() installed nr entries at addr.",
    "flush_dcache_folio": "The kernel wrote to the folio through its kernel mapping.",
    "flush_icache_pages": "nr pages starting at page are about to be mapped in vma.",
}


@dataclass(frozen=True)
class _Ctx:
    """How the objects a statement may name read in C at this point."""

    call: str
    pte: str = "pte"            # the call's (first) entry, pte_t
    ptep: str = "ptep"
    addr: str = "addr"
    nr: str = "nr"
    mm: str = "mm"
    vma: str = ""
    folio: str = "folio"
    first_page: str = ""        # first page of the range
    new: str = ""               # inside each pte / any() / store body
    old: str = ""
    page: str = ""              # inside each page
    uaddr: str = ""             # user address of `page` / the entry


class _Renderer:
    def __init__(self, a: Arch) -> None:
        self.a = a
        self.P = "PTDL_" + common.ident(a.name).upper() + "_PTE_"
        self.anys: list[tuple[str, Expr]] = []
        self.preds: set[str] = set()
        self.advances: set[str] = {a.advance}

    # ---------------------------------------------------------------- layout
    def fmacro(self, name: str) -> str:
        return self.P + common.ident(name).upper()

    def mask_of(self, names: list[str]) -> str:
        if len(names) == 1:
            return self.fmacro(names[0])
        return "(" + " | ".join(self.fmacro(n) for n in names) + ")"

    def pfn_mask(self) -> str:
        return self.mask_of([f.name for f in self.a.pfn_fields])

    def layout_expr(self, e: Expr, v: str) -> str:
        """A pte-block expression (derived predicate, transform condition)
        over the pteval_t C expression v."""
        a = self.a
        if isinstance(e, Ref):
            n = e.path[0]
            d = a.derived_named(n)
            if d is not None:
                return _paren(self.layout_expr(d.expr, v))
            if n == "nonzero":
                return f"{v} != 0"
            f = a.field(n)
            if f is not None:
                return f"({v} & {self.fmacro(f.name)})"
            fs = a.role_fields(n)
            if not fs:
                return "false"
            m = self.mask_of([f.name for f in fs])
            return f"!({v} & {m})" if fs[0].inverted else f"({v} & {m})"
        if isinstance(e, Not):
            return "!" + _paren(self.layout_expr(e.arg, v))
        if isinstance(e, BoolOp):
            op = " && " if e.op == "and" else " || "
            return op.join(_paren(self.layout_expr(x, v)) for x in e.args)
        raise ValueError(f"not a pte-block expression: {e!r}")

    def transform_cond(self, v: str) -> str | None:
        t = self.a.pfn_transform()
        return None if t is None else self.layout_expr(t.cond, v)

    # ----------------------------------------------------------- call exprs
    def pte_pred(self, obj: str, attr: str, ctx: _Ctx) -> str:
        val = {"pte": ctx.pte, "new": ctx.new, "old": ctx.old}[obj]
        if not val:
            raise ValueError(f"'{obj}' is not bound here")
        self.preds.add(attr)
        return f"__ptdl_pte_{common.ident(attr)}({val})"

    def pfn_of(self, obj: str, ctx: _Ctx) -> str:
        val = {"pte": ctx.pte, "new": ctx.new, "old": ctx.old}[obj]
        return f"__ptdl_pte_pfn({val})"

    def expr(self, e: Expr, ctx: _Ctx) -> str:
        if isinstance(e, Ref):
            obj, attr = e.path[0], e.path[1]
            if obj in catalog.PTE_OBJECTS:
                return self.pte_pred(obj, attr, ctx)
            if obj == "cpu":
                return "cpu_has_" + common.ident(attr)
            o = {"folio": ctx.folio, "page": ctx.page, "vma": ctx.vma, "mm": ctx.mm}[obj]
            return _OBJ[(obj, attr)].format(o=o, uaddr=ctx.uaddr or "0")
        if isinstance(e, Num):
            return hex(e.value) + "UL"
        if isinstance(e, Not):
            return "!" + _paren(self.expr(e.arg, ctx))
        if isinstance(e, Compare):
            def side(x: Expr) -> str:
                if isinstance(x, Ref):
                    return self.pfn_of(x.path[0], ctx)
                return self.expr(x, ctx)
            return f"{side(e.left)} {e.op} {side(e.right)}"
        if isinstance(e, AnyOf):
            n = len(self.anys)
            name = f"__ptdl_{ctx.call}_any{n}"
            self.anys.append((name, e.arg))
            return f"{name}(mm, {ctx.addr}, {ctx.ptep}, {ctx.pte}, {ctx.nr}, {ctx.folio})"
        op = " && " if e.op == "and" else " || "
        return op.join(_paren(self.expr(x, ctx)) for x in e.args)

    # ------------------------------------------------------------ statements
    def next_fn(self, strategy: str) -> str:
        self.advances.add(strategy)
        if strategy == self.a.advance:
            return "__ptdl_pte_next_pfn"
        return "__ptdl_pte_next_pfn_" + strategy

    def range_pages(self, ctx: _Ctx) -> tuple[str, str]:
        """(first page, number of pages) of `range` in this call."""
        if ctx.call == "flush_dcache_folio":
            return f"folio_page({ctx.folio}, 0)", f"folio_nr_pages({ctx.folio})"
        return ctx.first_page, ctx.nr

    def effect(self, s: EffectStmt, ctx: _Ctx) -> list[str]:
        a = self.a
        e = catalog.EFFECTS[s.name]
        fn = common.ident(a.primitive(s.name, e.c_default))
        if s.name == "page_table_check":
            return [f"{fn}({ctx.mm}, {ctx.ptep}, {ctx.pte}, {ctx.nr});"]
        if s.name in ("lazy_mmu_enter", "lazy_mmu_leave"):
            return [f"{fn}();"]
        if s.name == "tlb_preload":
            return [f"{fn}({ctx.vma}, {ctx.addr}, ptep_get({ctx.ptep}));"]
        if s.name == "tlb_flush_page":
            return [f"{fn}({ctx.addr});"]
        if s.name == "flush_dcache_user":
            pg = ctx.page or f"pte_page({ctx.new or ctx.pte})"
            return [f"{fn}({ctx.mm}, {ctx.addr}, {pg});"]
        # cache maintenance over folio / page / range (kernel addresses)
        if s.positional == "page":
            return [f"{fn}((unsigned long)page_address({ctx.page}));"]
        if s.positional == "folio":
            start = f"(unsigned long)folio_address({ctx.folio})"
            size = f"folio_size({ctx.folio})"
        else:
            first, n = self.range_pages(ctx)
            start = f"(unsigned long)page_address({first})"
            size = f"{n} * PAGE_SIZE"
        return [f"{fn}({start},", f"\t{start} + {size});"]

    def flag(self, s: FlagOp, ctx: _Ctx) -> list[str]:
        obj = s.target.path[0]
        if obj == "pte":
            f = self.a.field(s.target.path[1])
            assert f is not None
            m = self.fmacro(f.name)
            v = ctx.new or ctx.pte
            if s.op == "clear":
                return [f"{v} = __pte(pte_val({v}) & ~{m});"]
            if s.value is None:
                return [f"{v} = __pte(pte_val({v}) | {m});"]
            return [f"{v} = __pte((pte_val({v}) & ~{m}) |",
                    f"\t(((pteval_t){hex(s.value)} << {f.lo}) & {m}));"]
        o = ctx.folio if obj == "folio" else ctx.page
        return [f"{s.op}_bit(PG_arch_1, &{o}->flags);"]

    def block(self, body: tuple[Stmt, ...], ctx: _Ctx) -> list[str]:
        out: list[str] = []
        for k, s in enumerate(body):
            rest = body[k + 1:]
            out += self.stmt(s, ctx, rest)
        return out

    def stmt(self, s: Stmt, ctx: _Ctx, rest: tuple[Stmt, ...]) -> list[str]:
        if isinstance(s, When):
            return self.when(s, ctx)
        if isinstance(s, Each):
            return self.each(s, ctx)
        if isinstance(s, FlagOp):
            return self.flag(s, ctx)
        if s.name == "store":
            return self.store(s, ctx, rest)
        return self.effect(s, ctx)

    def when(self, s: When, ctx: _Ctx, prefix: str = "if") -> list[str]:
        cond = _unparen(self.expr(s.cond, ctx))
        then = self.block(s.then, ctx)
        chain = len(s.orelse) == 1 and isinstance(s.orelse[0], When)
        other = [] if chain else self.block(s.orelse, ctx)
        simple = len(then) == 1 and (not s.orelse or (not chain and len(other) == 1))
        out = self.wrap_cond(prefix, cond, simple)
        if simple:
            out.append("\t" + then[0])
            if s.orelse:
                out += ["else", "\t" + other[0]]
            return out
        out += _ind(then)
        if chain:
            inner = self.when(s.orelse[0], ctx, "} else if")  # type: ignore[arg-type]
            return out + inner
        if s.orelse:
            out.append("} else {")
            out += _ind(other)
        out.append("}")
        return out

    def wrap_cond(self, prefix: str, cond: str, simple: bool, depth: int = 3) -> list[str]:
        """`if (cond) {`, broken after top-level && / || when too long."""
        return _wrap(f"{prefix} (", cond, ")" if simple else ") {", depth)

    def each(self, s: Each, ctx: _Ctx) -> list[str]:
        i = "i"
        if s.kind == "pte":
            n = ctx.nr
            new = (f"__ptdl_pte_nth({ctx.pte}, {i})" if ctx.call == "set_ptes"
                   else f"ptep_get({ctx.ptep} + {i})")
            inner = replace(ctx, new="new", old="old", ptep=f"{ctx.ptep} + {i}",
                            addr=f"{ctx.addr} + {i} * PAGE_SIZE",
                            uaddr=f"{ctx.addr} + {i} * PAGE_SIZE")
            body = self.block(s.body, inner)
            locs = _locals(body, [("new", f"pte_t new = {new};"),
                                  ("old", f"pte_t old = ptep_get({ctx.ptep} + {i});")])
        else:
            if s.source == "folio" or ctx.call == "flush_dcache_folio":
                n = f"folio_nr_pages({ctx.folio})"
                pg = f"folio_page({ctx.folio}, {i})"
            else:
                first, n = self.range_pages(ctx)
                pg = f"nth_page({first}, {i})"
            uaddr = ""
            if ctx.call in ("set_ptes", "update_mmu_cache_range"):
                # the page's user address: where this call maps it
                uaddr = "uaddr"
            inner = replace(ctx, page="pg", uaddr=uaddr)
            body = self.block(s.body, inner)
            locs = [f"struct page *pg = {pg};"]
            locs += _locals(body, [("uaddr", f"unsigned long uaddr = {ctx.addr} +\n"
                                             f"\t(page_to_pfn(pg) - __ptdl_pte_pfn({ctx.pte})) "
                                             "* PAGE_SIZE;")])
        if s.reverse:
            head = f"for ({i} = {n}; {i}-- > 0; ) {{"
        else:
            head = f"for ({i} = 0; {i} < {n}; {i}++) {{"
        locs = [y for x in locs for y in x.split("\n")]
        return [head] + _ind(locs + ([""] if locs else []) + body) + ["}"]

    def store(self, s: EffectStmt, ctx: _Ctx, rest: tuple[Stmt, ...]) -> list[str]:
        a = self.a
        strategy = s.param("advance", a.advance)
        nxt = self.next_fn(strategy)
        ranged = any(isinstance(x, EffectStmt) and x.positional == "range"
                     for x in walk_stmts(s.body))
        # the kernel's loop consumes ptep/addr/pte/nr; work on copies when
        # something after it (or a range effect inside it) still reads them
        later = [x for x in walk_stmts(rest)
                 if not (isinstance(x, EffectStmt) and x.name.startswith("lazy_mmu_"))]
        copies = bool(later) or ranged
        c = ctx
        pre: list[str] = []
        if copies:
            c = replace(ctx, ptep="ptep_i", addr="addr_i", pte="pte_i", nr="nr_i")
            pre = ["pte_t *ptep_i = ptep;", "unsigned long addr_i = addr;",
                   "pte_t pte_i = pte;", "unsigned int nr_i = nr;", ""]
        inner = replace(c, new=c.pte, old=f"ptep_get({c.ptep})", uaddr=c.addr)
        body = self.block(s.body, inner)
        if s.param("using") == "pgste":
            fn = common.ident(a.primitive("pgste_set_pte", "ptep_set_pte_at"))
            st = f"{fn}({c.mm}, {c.addr}, {c.ptep}, {c.pte});"
        else:
            fn = common.ident(a.primitive("set_pte", "set_pte"))
            st = f"{fn}({c.ptep}, {c.pte});"
        loop = ["for (;;) {"] + _ind(body) + [
            "\t" + st,
            f"\tif (--{c.nr} == 0)",
            "\t\tbreak;",
            f"\t{c.ptep}++;",
            f"\t{c.addr} += PAGE_SIZE;",
            f"\t{c.pte} = {nxt}({c.pte});",
            "}"]
        if copies:
            return ["{"] + _ind(pre + loop) + ["}"]
        return loop

    # ----------------------------------------------------------------- calls
    def call_ctx(self, name: str) -> _Ctx:
        if name == "set_ptes":
            return _Ctx(name, first_page="pte_page(pte)")
        if name == "update_mmu_cache_range":
            return _Ctx(name, mm="vma->vm_mm", vma="vma", first_page="pte_page(pte)")
        if name == "flush_dcache_folio":
            return _Ctx(name, pte="", ptep="", addr="", nr="folio_nr_pages(folio)",
                        mm="", first_page="folio_page(folio, 0)")
        return _Ctx(name, pte="", ptep="", addr="", mm="vma->vm_mm", vma="vma",
                    first_page="page")

    def call_body(self, c: Call) -> list[str]:
        ctx = self.call_ctx(c.name)
        body = self.block(c.body, ctx)
        text = "\n".join(body)
        decls: list[str] = []
        uses = _uses(text)
        if c.name == "update_mmu_cache_range" and ("pte" in uses or "folio" in uses):
            decls.append("pte_t pte = ptep_get(ptep);")
        if "folio" in uses:
            if c.name in ("set_ptes", "update_mmu_cache_range"):
                decls.append("struct folio *folio = page_folio(pte_page(pte));")
            elif c.name == "flush_icache_pages":
                decls.append("struct folio *folio = page_folio(page);")
        if "i" in uses:
            decls.append("unsigned int i;")
        return decls + ([""] if decls and body else []) + body

    def function(self, c: Call) -> list[str]:
        body = self.call_body(c)
        out = [f"/* {_COMMENTS[c.name]} */",
               "static inline void " + _SIGNATURES[c.name], "{"]
        out += ["\t" + x if x else "" for x in body]
        out.append("}")
        return out


def _ind(lines: list[str]) -> list[str]:
    return ["\t" + x if x else "" for x in lines]


def _locals(body: list[str], decls: list[tuple[str, str]]) -> list[str]:
    """The declarations whose variable the body uses."""
    text = "\n".join(body)
    return [d for n, d in decls if re.search(r"\b%s\b" % n, text)]


def _uses(text: str) -> set[str]:
    return {n for n in ("pte", "folio", "i") if re.search(r"\b%s\b" % n, text)}


def _atomic(s: str) -> bool:
    """Is s one primary expression (a name, a call, or fully parenthesised)?"""
    s = s.lstrip("!")
    m = re.match(r"^[A-Za-z_][\w]*", s)
    rest = s[m.end():] if m else s
    if rest == "":
        return True
    if not rest.startswith("("):
        return False
    depth = 0
    for k, ch in enumerate(rest):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return k == len(rest) - 1
    return False


def _unparen(s: str) -> str:
    """s without its outer parentheses when they enclose all of it."""
    while s.startswith("(") and _atomic(s):
        s = s[1:-1]
    return s


def _paren(s: str) -> str:
    return s if _atomic(s) else f"({s})"


def _split_top(s: str) -> list[str]:
    """Split after top-level ' && ' / ' || ' (operators stay on the left)."""
    parts: list[str] = []
    depth = 0
    last = 0
    k = 0
    while k < len(s):
        ch = s[k]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and s.startswith((" && ", " || "), k):
            parts.append(s[last:k + 3])
            last = k + 4
            k += 4
            continue
        k += 1
    parts.append(s[last:])
    return parts


def _wrap(head: str, expr: str, tail: str, depth: int) -> list[str]:
    """head + expr + tail on one line, or broken at top-level operators with
    continuation lines indented one more tab."""
    one = head + expr + tail
    if len(one) + depth * TAB <= MAX_COLS:
        return [one]
    parts = _split_top(expr)
    if len(parts) == 1:
        return [one]
    lines = [head + parts[0]]
    lines += ["\t" + p for p in parts[1:-1]]
    lines.append("\t" + parts[-1] + tail)
    return lines


# ---------------------------------------------------------------------------


def _banner(a: Arch, source: str) -> list[str]:
    out = ["/*",
           f" * {common.c_comment(a.name)}: the page table range API of Linux 6.6.",
           f" * Generated by ptdl from {common.c_comment(source)} -- do not edit.",
           " *",
           " * set_ptes(), update_mmu_cache_range(), flush_dcache_folio() and",
           " * flush_icache_pages(); a call not defined here is the kernel's generic one.",
           " * `ptdl generate` rewrites this file; the last line checksums the rest."]
    for kind, title in (("source", "Kernel sources:"), ("seed", "Seed patches:")):
        cites = [c for c in a.cites if c.kind == kind]
        if not cites:
            continue
        out += [" *", " * " + title]
        for c in cites:
            lines = textwrap.wrap(common.c_comment(c.text), MAX_COLS - 8,
                                  break_long_words=True, break_on_hyphens=False)
            out.append(" *   " + lines[0])
            out += [" *     " + x for x in lines[1:]]
    out.append(" */")
    return out


def _comment(text: str) -> list[str]:
    lines = textwrap.wrap(common.c_comment(text), MAX_COLS - 6)
    if len(lines) == 1:
        return [f"/* {lines[0]} */"]
    return ["/*"] + [" * " + x for x in lines] + [" */"]


def _macro(name: str, value: str) -> list[str]:
    return [f"#ifndef {name}", f"#define {name}\t{value}", "#endif"]


def _layout(r: _Renderer) -> list[str]:
    a = r.a
    out = ["/* PTE fields (" + common.c_comment(a.name) + " layout) */"]
    for f in a.fields:
        out += _macro(r.fmacro(f.name), f"((pteval_t)0x{f.mask:x}ULL)")
    out += _macro("PFN_PTE_SHIFT", str(a.pfn_pte_shift))
    return out


def _helpers(r: _Renderer) -> list[str]:
    a = r.a
    out: list[str] = []
    inv_e = r.transform_cond("val")
    # pte_pfn
    out += ["static inline unsigned long __ptdl_pte_pfn(pte_t pte)", "{",
            "\tpteval_t val = pte_val(pte);", "\tunsigned long pfn = 0;", ""]
    if inv_e is not None:
        out += [f"\tif ({inv_e})", "\t\tval = ~val;\t/* stored inverted */"]
    for f in a.pfn_fields:
        bits = f"(val & {r.fmacro(f.name)})" + (f" >> {f.lo}" if f.lo else "")
        part = f"(unsigned long)({bits})" + (f" << {f.pfn_offset}" if f.pfn_offset else "")
        out.append(f"\tpfn |= {part};")
    out += ["\treturn pfn;", "}", ""]
    # pfn_pte
    inv_p = r.transform_cond("prot")
    out += ["static inline pte_t __ptdl_pfn_pte(unsigned long pfn, pgprot_t pgprot)", "{",
            "\tpteval_t prot = pgprot_val(pgprot);", "\tpteval_t val = 0;", ""]
    for f in a.pfn_fields:
        src = f"(pfn >> {f.pfn_offset})" if f.pfn_offset else "pfn"
        out.append(f"\tval |= ((pteval_t){src} << {f.lo}) & {r.fmacro(f.name)};")
    if inv_p is not None:
        out += [f"\tif ({inv_p})", f"\t\tval ^= {r.pfn_mask()};\t/* store inverted */"]
    out += [f"\treturn __pte(val | (prot & ~{r.pfn_mask()}));", "}", ""]
    # pte_pgprot
    out += ["static inline pgprot_t __ptdl_pte_pgprot(pte_t pte)", "{",
            f"\treturn __pgprot(pte_val(pte) & ~{r.pfn_mask()});", "}", ""]
    # advances
    for strategy in sorted(r.advances, key=lambda s: (s != a.advance, s)):
        name = r.next_fn(strategy)
        out += _comment("advance: " + catalog.ADVANCES[strategy])
        out += [f"static inline pte_t {name}(pte_t pte)", "{"]
        if strategy == "pfn_shift":
            out.append("\treturn __pte(pte_val(pte) + ((pteval_t)1 << PFN_PTE_SHIFT));")
        elif strategy == "page_size":
            out.append("\treturn __pte(pte_val(pte) + PAGE_SIZE);")
        elif strategy == "pfn_shift_invert_aware":
            cond = r.transform_cond("pte_val(pte)")
            if cond is not None:
                out += [f"\tif ({cond})",
                        "\t\treturn __pte(pte_val(pte) - ((pteval_t)1 << PFN_PTE_SHIFT));"]
            out.append("\treturn __pte(pte_val(pte) + ((pteval_t)1 << PFN_PTE_SHIFT));")
        else:
            out.append("\treturn __ptdl_pfn_pte(__ptdl_pte_pfn(pte) + 1, "
                       "__ptdl_pte_pgprot(pte));")
        out += ["}", ""]
    out += ["/* the entry set_ptes() stores n pages after pte */",
            "static inline pte_t __ptdl_pte_nth(pte_t pte, unsigned int n)", "{",
            "\twhile (n--)", "\t\tpte = __ptdl_pte_next_pfn(pte);", "\treturn pte;", "}"]
    return out


def _predicates(r: _Renderer) -> list[str]:
    out: list[str] = []
    for name in sorted(r.preds):
        d = r.a.derived_named(name)
        e: Expr = d.expr if d is not None else Ref((name,), r.a.loc)
        body = r.layout_expr(e, "val")
        out += [f"static inline bool __ptdl_pte_{common.ident(name)}(pte_t pte)", "{",
                "\tpteval_t val = pte_val(pte);", ""]
        out += _ind(_wrap("return ", body, ";", 1))
        out += ["}", ""]
    return out


def _any_helpers(r: _Renderer) -> list[str]:
    out: list[str] = []
    done = 0
    while done < len(r.anys):
        name, cond = r.anys[done]
        done += 1
        ctx = _Ctx("set_ptes", new="new", old="old",
                   ptep="ptep + i", addr="addr + i * PAGE_SIZE")
        c = r.expr(cond, ctx)
        ifs = r.wrap_cond("if", c, True, 2)
        locs = _locals(ifs, [("new", "pte_t new = __ptdl_pte_nth(pte, i);"),
                             ("old", "pte_t old = ptep_get(ptep + i);")])
        out += [f"static inline bool {name}(struct mm_struct *mm, unsigned long addr,",
                "\t\tpte_t *ptep, pte_t pte, unsigned int nr, struct folio *folio)", "{",
                "\tunsigned int i;", "",
                "\tfor (i = 0; i < nr; i++) {"]
        out += _ind(_ind(locs + ([""] if locs else []) + ifs))
        out += ["\t\t\treturn true;", "\t}", "\treturn false;", "}", ""]
    return out


def render(a: Arch, source: str) -> str:
    """The header text for arch a (from archdef file `source`), without the
    final checksum line."""
    r = _Renderer(a)
    name = common.ident(a.name)
    guard = f"_ASM_{name.upper()}_PGTABLE_RANGE_H"
    calls: list[str] = []
    for cname in catalog.CALLS:
        c = a.call(cname)
        generic = c is None or c.generic
        if cname == "set_ptes":
            if not generic:
                assert c is not None
                calls += r.function(c) + ["#define set_ptes set_ptes", ""]
            elif a.advance != "pfn_shift":
                calls += ["/* the generic set_ptes() steps the entry with pte_next_pfn() */",
                          "static inline pte_t pte_next_pfn(pte_t pte)", "{",
                          "\treturn __ptdl_pte_next_pfn(pte);", "}",
                          "#define pte_next_pfn pte_next_pfn", ""]
                r.next_fn(a.advance)
        elif not generic:
            assert c is not None
            calls += r.function(c)
            if cname == "update_mmu_cache_range":
                calls += ["#define update_mmu_cache_range update_mmu_cache_range",
                          "#define update_mmu_cache(vma, addr, ptep) \\",
                          "\tupdate_mmu_cache_range(NULL, vma, addr, ptep, 1)"]
            elif cname == "flush_dcache_folio":
                calls += ["#define flush_dcache_folio flush_dcache_folio",
                          "#define ARCH_IMPLEMENTS_FLUSH_DCACHE_FOLIO 1"]
            else:
                calls += [f"#define {cname} {cname}"]
            calls.append("")
    anys = _any_helpers(r)          # may add predicates
    out = ["/* SPDX-License-Identifier: GPL-2.0-only */"]
    out += _banner(a, source)
    out.append(f"/* {common.marker(a.name, source, 'kernel-header')} */")
    out += ["", f"#ifndef {guard}", f"#define {guard}", ""]
    out += _layout(r) + [""]
    out += _helpers(r) + [""]
    preds = _predicates(r)
    out += preds + anys + calls
    while out and out[-1] == "":
        out.pop()
    out += ["", f"#endif /* {guard} */"]
    return "\n".join(out) + "\n"
