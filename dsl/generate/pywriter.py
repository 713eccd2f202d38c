"""The code writer of the runtime-module backend: call bodies, PTE-helper
bodies and layout expressions of one arch, as Python lines.

Place in the flow: used by dsl/generate/pymod.py while it builds the
module's view.  In the manner of Linux YNL's code writer it walks the
archdef's statements, takes every piece of code text from a macro of the
construct's catalog entry (py/effects.j2, py/predicates.j2, py/exprs.j2,
py/advance.j2, py/stmts.j2), handles indentation and fresh names, and
records which locals (pte, mm) a body reads, so the function declares
exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from .. import catalog
from ..model import (AnyOf, Arch, BoolOp, Compare, Each, EffectStmt, Expr,
                     FlagOp, Not, Num, Ref, Stmt, When)
from .templating import Lazy, macros

_X = "py/exprs.j2"
_S = "py/stmts.j2"


def _x(name: str, *args: object) -> str:
    return macros(_X).line(name, *args)


def _s(name: str, *args: object) -> str:
    return macros(_S).line(name, *args)


def _lazy(name: str, arg: Binding) -> Callable[[], str]:
    """The exprs macro `name` of arg, written when first read."""
    return lambda: _x(name, arg if isinstance(arg, str) else arg())


def _nth(cx: Cx, i: str) -> Callable[[], str]:
    """Entry i of the range starting at cx's pte, written when read."""
    return lambda: _x("pte_nth", cx.pte, i)


@dataclass(frozen=True)
class EffectArgs:
    """What an effect macro of py/effects.j2 may read (each written only
    when the macro reads it): first/count, the pages its folio|page|range
    argument covers; mm, pte (the call's locals), addr of entry `index`,
    the `each page` page."""

    first: Lazy
    count: Lazy
    mm: Lazy
    pte: Lazy
    addr: Lazy
    page: Lazy
    index: Lazy
    new_pfn: Lazy   # pfn of the `each pte` entry
    mapping: Lazy   # the `each mapping` step (a runtime.mm.FolioMapping)
    arg: str = ""   # the positional argument as written
    call: str = ""  # the call the effect sits in
    page_shift: int = 12
    pp: bool = False  # the primitive flushes one page per call
    mode: int = 0     # copy_page / clear_page: bit 0 read, bit 1 write at the user colour


@dataclass(frozen=True)
class StoreArgs:
    """What the store loop's macro reads: its index variable, the per-entry
    body (indented one level), the store line and the next entry."""

    i: str
    body: tuple[str, ...]
    store: str
    next: str


@dataclass
class Scope:
    """The locals one call body reads (besides its parameters)."""

    uses: set[str] = field(default_factory=set)


Binding = Union[str, Callable[[], str]]   # code text, or how to write it when read


def user_page_mode(s: EffectStmt) -> int:
    """copy_page(from=, to=) / clear_page(kernel|user): bit 0 reads, bit 1
    writes through a kernel mapping at the user address's colour."""
    if s.name == "copy_page":
        return (1 if s.param("from", "kernel") == "user" else 0) \
            | (2 if s.param("to", "kernel") == "user" else 0)
    if s.name == "clear_page":
        return 2 if s.positional == "user" else 0
    return 0


class Cx:
    """What names mean at a point of a call body; reading a binding that is
    a local of the function records it in the scope (old/new are written
    only when read, so an unread entry costs no local)."""

    def __init__(self, call: str, scope: Scope, pte: str = "pte", old: Binding = "",
                 new: Binding = "", folio: str = "", mm: str = "mm", page: str = "page",
                 uaddr: str = "0", index: str = "0", vma: str = "vma",
                 mapping: str = "") -> None:
        self.call = call
        self.scope = scope
        self._pte = pte
        self.old = old
        self.new = new
        self._folio = folio
        self._mm = mm
        self.page = page
        self.uaddr = uaddr
        self.index = index
        self.vma = vma
        self.mapping = mapping
        self.anys: dict[int, str] = {}

    def derive(self, pte: str | None = None, old: Binding | None = None,
               new: Binding | None = None, page: str | None = None,
               uaddr: str | None = None, index: str | None = None,
               mm: str | None = None, vma: str | None = None,
               mapping: str | None = None) -> Cx:
        return Cx(self.call, self.scope,
                  pte=self._pte if pte is None else pte,
                  old=self.old if old is None else old,
                  new=self.new if new is None else new,
                  folio=self._folio, mm=self._mm if mm is None else mm,
                  page=self.page if page is None else page,
                  uaddr=self.uaddr if uaddr is None else uaddr,
                  index=self.index if index is None else index,
                  vma=self.vma if vma is None else vma,
                  mapping=self.mapping if mapping is None else mapping)

    @property
    def pte(self) -> str:
        if self._pte == "pte":
            self.scope.uses.add("pte")
        return self._pte

    @property
    def folio(self) -> str:
        if self._folio:
            return self._folio
        if self.call in catalog.ENTRY_CALLS:
            return _x("folio_of_pte", self.pte)
        return {"flush_dcache_folio": "folio", "flush_icache_pages": _x("attr", "page", "folio")}[
            self.call]

    @property
    def mm(self) -> str:
        if self._mm == "mm":
            self.scope.uses.add("mm")
        return self._mm

    def ptev(self, obj: str) -> str:
        if obj == "pte":
            return self.pte
        b = self.old if obj == "old" else self.new
        return b if isinstance(b, str) else b()

    def addr_i(self) -> str:
        return _x("addr_i", self.index) if self.index != "0" else "addr"


class PyWriter:
    """Compiles expressions and statements of one arch into Python lines."""

    def __init__(self, a: Arch) -> None:
        self.a = a
        self.tmp = 0
        self.pred = macros(catalog.MACRO_FILES["predicate"]["py"])
        self.eff = macros(catalog.MACRO_FILES["effect"]["py"])
        self.adv = macros(catalog.MACRO_FILES["advance"]["py"])

    def fresh(self, stem: str) -> str:
        self.tmp += 1
        return f"_{stem}{self.tmp}"

    def role_mask(self, name: str) -> int:
        m = 0
        for g in self.a.role_fields(name):
            m |= g.mask
        return m

    # -- pte-level (layout) expressions over a value variable ------------
    def atom(self, name: str, v: str) -> str:
        a = self.a
        f = a.field(name)
        if f is not None:
            return _x("layout_bit", v, f.mask)
        if a.derived_named(name) is not None:
            if name in catalog.BOOL_ROLES:
                return _x("role_method", name, v)
            return _x("derived_method", name, v)
        if name == "nonzero":
            return _x("nonzero", v)
        if name in catalog.BOOL_ROLES:
            return _x("role_method", name, v)
        return _x("layout_bit", v, self.role_mask(name))

    def pte_expr(self, e: Expr, v: str) -> str:
        if isinstance(e, Ref):
            return self.atom(e.path[-1], v)
        if isinstance(e, Not):
            return _x("not_", self.pte_expr(e.arg, v))
        if isinstance(e, BoolOp):
            return _x("bool_op", e.op, [self.pte_expr(x, v) for x in e.args])
        raise ValueError(f"unsupported layout expression at {e.loc}")

    def role_test(self, role: str, v: str) -> str:
        """pte_<role>(v) body expression."""
        a = self.a
        d = a.derived_named(role)
        if d is not None:
            return self.pte_expr(d.expr, v)
        fields = a.role_fields(role)
        if not fields:
            return _x("const", False)
        return _x("role_terms", [_x("role_bit", v, f.mask, f.inverted) for f in fields])

    def mutator_body(self, body: tuple[Stmt, ...], depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        for s in body:
            if isinstance(s, FlagOp):
                f = self.a.field(s.target.path[-1])
                assert f is not None
                if s.op == "clear":
                    out.append(pad + _s("mut_clear", f.mask))
                elif s.value is None:
                    out.append(pad + _s("mut_set", f.mask))
                else:
                    out.append(pad + _s("mut_set_value", f.mask, (s.value << f.lo) & f.mask))
            elif isinstance(s, When):
                out.append(pad + _s("if_", self.pte_expr(s.cond, "v")))
                out += self.mutator_body(s.then, depth + 1) or [pad + "    " + _s("pass_")]
                if s.orelse:
                    out.append(pad + _s("else_"))
                    out += self.mutator_body(s.orelse, depth + 1)
        return out

    # -- call-level expressions ------------------------------------------
    def cond(self, e: Expr, cx: Cx) -> str:
        if isinstance(e, Not):
            return _x("not_", self.cond(e.arg, cx))
        if isinstance(e, BoolOp):
            return _x("bool_op", e.op, [self.cond(x, cx) for x in e.args])
        if isinstance(e, Compare):
            op = "==" if e.op == "==" else "!="
            return _x("compare", self.value(e.left, cx), op, self.value(e.right, cx))
        if isinstance(e, AnyOf):
            # inline and lazy, as the C header's helper call inside its
            # && / || chain: evaluated only when reached, left to right,
            # stopping at the first entry that holds (issue 10 item 12)
            i = self.fresh("i")
            inner = cx.derive(old=_lazy("read_pte", _lazy("ptep_i", i)), new=_nth(cx, i))
            return _x("any_of", i, self.cond(e.arg, inner))
        if isinstance(e, Num):
            return _x("const", e.value)
        assert isinstance(e, Ref)
        obj, attr = e.path
        if obj == "cpu":
            return _x("cpu_has", attr)
        if obj in catalog.PTE_OBJECTS:
            v = cx.ptev(obj)
            f = self.a.field(attr)
            if f is not None:
                return _x("pte_bit", v, f.mask)
            if self.a.derived_named(attr) is not None and attr not in catalog.BOOL_ROLES:
                return _x("derived_method", attr, v)
            if attr in catalog.BOOL_ROLES:
                return _x("role_method", attr, v)
            return _x("pte_bit", v, self.role_mask(attr))
        p = catalog.PREDICATES[f"{obj}.{attr}"]
        o = cx.folio if obj == "folio" else cx.page if obj == "page" else \
            "src.folio" if obj == "src" else \
            cx.mm if obj == "mm" else cx.ptev("pte") if obj == "pfn" else cx.vma
        return self.pred.line(p.py_macro, o, cx.uaddr)

    def value(self, e: Expr, cx: Cx) -> str:
        if isinstance(e, Num):
            return _x("num", e.value)
        assert isinstance(e, Ref)
        return _x("pte_pfn", cx.ptev(e.path[0]))

    # -- statements ---------------------------------------------------------
    def range_of(self, arg: str, cx: Cx) -> tuple[str, str]:
        """(first pfn, number of pages) an effect's positional arg covers."""
        if arg == "folio":
            fo = cx.folio
            return _x("attr", fo, "pfn"), _x("attr", fo, "nr_pages")
        if arg == "page":
            return _x("attr", cx.page, "pfn"), "1"
        # range: the nr pages of the call (the PMD calls: HPAGE_PMD_NR)
        if cx.call in catalog.PMD_CALLS:
            return _x("pte_pfn", cx.pte), str(self.a.ptrs_per_pte)
        if cx.call in ("set_ptes", "update_mmu_cache_range"):
            return _x("pte_pfn", cx.pte), "nr"
        if cx.call == "flush_icache_pages":
            return _x("attr", "page", "pfn"), "nr"
        fo = cx.folio
        return _x("attr", fo, "pfn"), _x("attr", fo, "nr_pages")

    def stmts(self, body: tuple[Stmt, ...], cx: Cx, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        for s in body:
            if isinstance(s, When):
                out.append(pad + _s("if_", self.cond(s.cond, cx)))
                out += self.stmts(s.then, cx, depth + 1) or [pad + "    " + _s("pass_")]
                if s.orelse:
                    out.append(pad + _s("else_"))
                    out += self.stmts(s.orelse, cx, depth + 1)
            elif isinstance(s, Each):
                out += self.each(s, cx, depth)
            elif isinstance(s, FlagOp):
                out.append(pad + self.flag(s, cx))
            elif isinstance(s, EffectStmt):
                out += self.effect(s, cx, depth)
        return out

    def each(self, s: Each, cx: Cx, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        if s.kind == "mapping":
            m = self.fresh("m")
            out.append(pad + _s("for_mappings", m, cx.folio))
            inner = cx.derive(mm=_x("attr", m, "mm"), vma=_x("attr", m, "vma"), mapping=m)
            out += self.stmts(s.body, inner, depth + 1) or [pad + "    " + _s("pass_")]
            return out
        if s.kind == "pte":
            i = self.fresh("i")
            out.append(pad + _s("for_range", i, "nr", s.reverse))
            inner = cx.derive(old=_lazy("read_pte", _lazy("ptep_i", i)), new=_nth(cx, i), index=i)
            out += self.stmts(s.body, inner, depth + 1) or [pad + "    " + _s("pass_")]
            return out
        if cx.index != "0" and s.source == "range":
            # nested in `each pte` / a store body: the page entry i maps
            page = self.fresh("page")
            out.append(pad + _s("assign", page, _x("pfn_page", _x("pte_pfn", cx.ptev("new")), "0")))
            inner = cx.derive(page=page, uaddr=cx.addr_i())
            return out + self.stmts(s.body, inner, depth)
        j = self.fresh("j")
        page = self.fresh("page")
        if s.source == "folio":
            fo = cx.folio
            first, count = _x("attr", fo, "pfn"), _x("attr", fo, "nr_pages")
        else:
            first, count = self.range_of("range", cx)
        out.append(pad + _s("for_range", j, count, s.reverse))
        out.append(pad + "    " + _s("assign", page, _x("pfn_page", first, j)))
        uaddr = "0"
        if cx.call in catalog.ENTRY_CALLS:
            uaddr = _x("page_uaddr", page, cx.pte, self.a.page_size)
        inner = cx.derive(page=page, uaddr=uaddr)
        out += self.stmts(s.body, inner, depth + 1) or [pad + "    " + _s("pass_")]
        return out

    def flag(self, s: FlagOp, cx: Cx) -> str:
        obj, attr = s.target.path
        if obj == "pte":
            f = self.a.field(attr)
            assert f is not None
            cx.scope.uses.add("pte")
            if s.op == "clear":
                return self.eff.line("pte_clear", f.mask)
            if s.value is None:
                return self.eff.line("pte_set", f.mask)
            return self.eff.line("pte_set_value", f.mask, (s.value << f.lo) & f.mask)
        if obj == "folio":
            return self.eff.line("folio_flag", s.op, cx.folio)
        return self.eff.line("page_flag", s.op, cx.page)

    def effect(self, s: EffectStmt, cx: Cx, depth: int) -> list[str]:
        pad = "    " * depth
        e = catalog.EFFECTS[s.name]
        if e.shape == "loop":
            return self.store(s, cx, depth)
        arg = s.positional or "range"
        x = EffectArgs(first=Lazy(lambda: self.range_of(arg, cx)[0]),
                       count=Lazy(lambda: self.range_of(arg, cx)[1]),
                       mm=Lazy(lambda: cx.mm), pte=Lazy(lambda: cx.pte),
                       addr=Lazy(cx.addr_i), page=Lazy(lambda: cx.page),
                       index=Lazy(lambda: cx.index),
                       new_pfn=Lazy(lambda: _x("pte_pfn", cx.ptev("new"))),
                       mapping=Lazy(lambda: cx.mapping), arg=arg, call=cx.call,
                       page_shift=self.a.page_shift, pp=self.a.primitive_per_page(s.name),
                       mode=user_page_mode(s))
        return [pad + self.eff.line(e.py_macro, x)]

    def store(self, s: EffectStmt, cx: Cx, depth: int) -> list[str]:
        pad = "    " * depth
        i = self.fresh("i")
        using = s.param("using", "set_pte")
        adv = s.param("advance", self.a.advance)
        cx.scope.uses.update(("pte", "mm") if using == "pgste" else ("pte",))
        inner = cx.derive(pte="pte", old=_lazy("read_pte", _lazy("ptep_i", i)), new="pte",
                          index=i)
        body = self.stmts(s.body, inner, 1)
        if using == "pgste":
            st = self.eff.line("store_pgste", i, self.a.page_size)
        else:
            st = self.eff.line("store_set_pte", i)
        x = StoreArgs(i=i, body=tuple(body), store=st, next=self.advance_expr(adv, "pte", "1"))
        return [pad + ln if ln else ln for ln in self.eff.lines("store", x)]

    def advance_expr(self, strategy: str, v: str, pages: str) -> str:
        a = self.a
        t = a.pfn_transform()
        cond = self.pte_expr(t.cond, v) if t is not None and strategy == "pfn_shift_invert_aware" \
            else ""
        word = (1 << a.word_bits) - 1
        entry = next(x for x in catalog.ADVANCE_ENTRIES if x.name == strategy)
        return self.adv.line(entry.py_macro, a, v, pages, word, cond)
