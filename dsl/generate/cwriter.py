"""The code writer of the kernel-header backend: call bodies, predicates
and layout expressions of one arch, as C lines.

Place in the flow: used by dsl/generate/cheader.py while it builds the
header's view.  In the manner of Linux YNL's code writer, every piece of C
comes from a macro (c/effects.j2 and c/predicates.j2: one per catalog
entry; c/exprs.j2, c/stmts.j2, c/advance.j2: shapes), and the writer
tracks which locals a body reads (`pte`, `folio`, `i`; `new`, `old`,
`uaddr` inside loops) so it declares exactly those: a binding records the
locals it needs when it is read, and a macro's arguments are read only if
the macro uses them (`Read`, `templating.Lazy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import catalog
from ..model import (AnyOf, Arch, BoolOp, Call, Compare, Each, EffectStmt,
                     Expr, FlagOp, Not, Num, Ref, Stmt, When,
                     walk_expr, walk_stmts)
from .pywriter import user_page_mode
from .templating import Lazy, c_unparen, macros

MAX_COLS = 100

_X = "c/exprs.j2"
_S = "c/stmts.j2"


def _x(name: str, *args: object) -> str:
    return macros(_X).line(name, *args)


def _s(name: str, *args: object) -> list[str]:
    return macros(_S).lines(name, *args)


def _ind(lines: list[str]) -> list[str]:
    return ["\t" + x if x else "" for x in lines]


@dataclass
class Scope:
    """The locals a body reads that are not parameters of its function."""

    uses: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class B:
    """A binding: its C text and the locals reading it needs."""

    text: str
    needs: frozenset[str] = frozenset()


_NONE = B("")


def _reads_folio(e: Expr) -> bool:
    return any(isinstance(x, Ref) and x.path[0] == "folio" for x in walk_expr(e))


def _folio_guard(body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """A branch that is one `when A and ... and F ...` (no else), F the first
    conjunct reading the entry's folio, as `when A and ... { when F ... }`:
    the same tests in the same order, so the folio is taken only once the
    tests before it passed (where the kernel's helpers take it: ia64's
    set_pte() looks at the folio only for a present exec user entry), not
    for every entry."""
    if len(body) != 1 or not isinstance(body[0], When) or body[0].orelse:
        return body
    w = body[0]
    if not isinstance(w.cond, BoolOp) or w.cond.op != "and":
        return body
    args = w.cond.args
    k = next((i for i, x in enumerate(args) if _reads_folio(x)), 0)
    if k == 0:
        return body
    def conj(xs: tuple[Expr, ...]) -> Expr:
        return xs[0] if len(xs) == 1 else BoolOp("and", xs, w.cond.loc)
    return (When(conj(args[:k]), (When(conj(args[k:]), w.then, (), w.loc),), (), w.loc),)


class Ctx:
    """How the objects a statement may name read in C at this point;
    reading a binding records the locals it needs in the scope."""

    def __init__(self, call: str, scope: Scope, **b: B) -> None:
        self.call = call
        self.scope = scope
        self.b: dict[str, B] = {k: _NONE for k in (
            "pte", "ptep", "addr", "nr", "mm", "vma", "folio", "first_page",
            "new", "old", "page", "uaddr", "m_addr", "m_pfn", "m_nr", "m_head")}
        self.b.update(b)
        # where `struct folio *folio = page_folio(pte_page(pte))` goes
        # (set_ptes, update_mmu_cache_range): 'top' (the function's start),
        # 'inner' (the outermost `when` block that reads it: as the kernel's
        # arch helpers take the folio only inside their guards -- the entry
        # may map a pfn with no struct page) or 'nested' (an enclosing block
        # declares it)
        self.folio_decl = "top"
        # blocks this one sits in (the wrap width of an `if` condition)
        self.nest = 0

    def derive(self, **b: B) -> Ctx:
        c = Ctx(self.call, self.scope, **self.b)
        c.b.update(b)
        c.folio_decl = self.folio_decl
        c.nest = self.nest
        return c

    def inside(self) -> Ctx:
        """The context of a block nested one level deeper."""
        c = self.derive()
        c.nest = self.nest + 1
        return c

    def get(self, name: str) -> str:
        x = self.b[name]
        self.scope.uses.update(x.needs)
        return x.text

    def has(self, name: str) -> bool:
        return bool(self.b[name].text)


class Read:
    """A binding handed to a macro unread: it is read (and its locals
    recorded) only if the macro's text uses it."""

    def __init__(self, ctx: Ctx, name: str, default: str) -> None:
        self.ctx = ctx
        self.name = name
        self.default = default

    def __str__(self) -> str:
        return self.ctx.get(self.name) or self.default

    def __bool__(self) -> bool:
        return bool(self.ctx.b[self.name].text or self.default)


@dataclass(frozen=True)
class EffectArgs:
    """What an effect macro of c/effects.j2 may read; the bindings are
    written (and the locals they need recorded) only when the macro reads
    them.  page is the `each page` page, new the `each pte` entry."""

    fn: str         # the primitive's C name (primitives { } or c_default)
    arg: str        # folio | page | range ('' for effects without one)
    mm: Read
    ptep: Read
    pte: Read
    nr: Read
    vma: Read
    addr: Read
    page: Read
    new: Read
    folio: Read
    first: Lazy     # first page of the range
    count: Lazy     # pages in the range
    m_addr: Read    # `each mapping`: user address of the first folio page the VMA maps,
    m_pfn: Read     # its pfn, how many pages the VMA maps, and where the head page
    m_nr: Read      # would sit in the VMA
    m_head: Read
    call: str = ""
    ps: bool = False  # the primitive takes (pointer, size)
    pp: bool = False  # the primitive flushes one page: (vma, addr, pfn)
    vr: bool = False  # the primitive takes (vma, start, end), not (mm, start, end)
    mode: int = 0     # copy_page / clear_page: bit 0 read, bit 1 write at the user colour


@dataclass(frozen=True)
class StoreArgs:
    body: tuple[str, ...]
    store: str
    nr: str
    ptep: str
    addr: str
    pte: str
    next: str
    copies: bool


class CWriter:
    def __init__(self, a: Arch) -> None:
        self.a = a
        self.anys: list[tuple[str, Expr]] = []
        self.preds: set[str] = set()
        # predicates made of a conjunction of one-bit tests on one entry
        # (name -> the bits, in the conjunction's order): all_bits()
        self.bit_preds: dict[str, tuple[str, ...]] = {}
        self.advances: set[str] = {a.advance}
        self.used: set[str] = set()     # catalog effects and predicates rendered
        self.user_page_modes: set[tuple[str, int]] = set()   # (copy_page|clear_page, mode)
        self.pred = macros(catalog.MACRO_FILES["predicate"]["c"])
        self.eff = macros(catalog.MACRO_FILES["effect"]["c"])

    # ---------------------------------------------------------------- layout
    def fmacro(self, name: str) -> str:
        return _x("field_macro", self.a.name, name)

    def mask_of(self, names: list[str]) -> str:
        if len(names) == 1:
            return self.fmacro(names[0])
        return _x("mask_or", [self.fmacro(n) for n in names])

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
                return _x("paren", self.layout_expr(d.expr, v))
            if n == "nonzero":
                return _x("nonzero", v)
            f = a.field(n)
            if f is not None:
                return _x("val_and", v, self.fmacro(f.name))
            fs = a.role_fields(n)
            if not fs:
                return _x("false_")
            m = self.mask_of([f.name for f in fs])
            return _x("val_not_and" if fs[0].inverted else "val_and", v, m)
        if isinstance(e, Not):
            return _x("not_", self.layout_expr(e.arg, v))
        if isinstance(e, BoolOp):
            return _x("bool_op", e.op, [self.layout_expr(x, v) for x in e.args])
        raise ValueError(f"not a pte-block expression: {e!r}")

    def one_bits(self, e: Expr) -> list[str] | None:
        """The one-bit fields whose all being set is the pte-block
        expression e (read as layout_expr reads it: a one-bit field, a
        role of one non-inverted one-bit field, or an `and` of such), or
        None."""
        a = self.a
        if isinstance(e, Ref):
            n = e.path[0]
            d = a.derived_named(n)
            if d is not None:
                return self.one_bits(d.expr)
            if n == "nonzero":
                return None
            f = a.field(n)
            if f is not None:
                return [f.name] if f.width == 1 else None
            fs = a.role_fields(n)
            if len(fs) == 1 and fs[0].width == 1 and not fs[0].inverted:
                return [fs[0].name]
            return None
        if isinstance(e, BoolOp) and e.op == "and":
            out: list[str] = []
            for x in e.args:
                b = self.one_bits(x)
                if b is None:
                    return None
                out += [n for n in b if n not in out]
            return out
        return None

    def _conj_bits(self, x: Expr) -> tuple[str, list[str]] | None:
        """(entry, bits) for a conjunct that tests one-bit fields of a PTE
        object (`pte.p`, `new.user`), else None."""
        if not isinstance(x, Ref) or x.path[0] not in catalog.PTE_OBJECTS:
            return None
        b = self.one_bits(Ref((x.path[1],), x.loc))
        return None if b is None else (x.path[0], b)

    def all_bits(self, e: BoolOp, ctx: Ctx) -> str:
        """An `and`: a run of two or more consecutive conjuncts that each
        test one-bit fields of the same entry is one predicate testing all
        their bits at once (the kernel's form: ia64 pte_present_exec_user
        masks _PAGE_P, _PAGE_PL_MASK and _PAGE_AR_RX together); the tests
        are pure, so merging neighbours keeps the order and the result."""
        parts: list[str] = []
        args = e.args
        i = 0
        while i < len(args):
            c = self._conj_bits(args[i])
            j = i + 1
            bits: list[str] = list(c[1]) if c else []
            while c is not None and j < len(args):
                d = self._conj_bits(args[j])
                if d is None or d[0] != c[0]:
                    break
                bits += [n for n in d[1] if n not in bits]
                j += 1
            if c is None or j - i < 2:
                parts.append(self.expr(args[i], ctx))
                i += 1
                continue
            name = "_and_".join(str(x.path[1]) for x in args[i:j] if isinstance(x, Ref))
            self.bit_preds[name] = tuple(bits)
            self.preds.add(name)
            parts.append(_x("pte_predicate", name, self.pte_val(c[0], ctx)))
            i = j
        return parts[0] if len(parts) == 1 else _x("bool_op", "and", parts)

    def transform_cond(self, v: str) -> str | None:
        t = self.a.pfn_transform()
        return None if t is None else self.layout_expr(t.cond, v)

    # ----------------------------------------------------------- call exprs
    def pte_val(self, obj: str, ctx: Ctx) -> str:
        val = ctx.get(obj)
        if not val:
            raise ValueError(f"'{obj}' is not bound here")
        return val

    def expr(self, e: Expr, ctx: Ctx) -> str:
        if isinstance(e, Ref):
            obj, attr = e.path[0], e.path[1]
            if obj in catalog.PTE_OBJECTS:
                val = self.pte_val(obj, ctx)
                self.preds.add(attr)
                return _x("pte_predicate", attr, val)
            if obj == "cpu":
                if self.a.primitive(catalog.CPU_PRIMITIVE_PREFIX + attr, "") != "":
                    return "__ptdl_" + catalog.CPU_PRIMITIVE_PREFIX + attr
                return _x("cpu_has", attr)
            p = catalog.PREDICATES[f"{obj}.{attr}"]
            self.used.add(f"{obj}.{attr}")
            return self.pred.line(p.c_macro, ctx.get("pte" if obj == "pfn" else obj),
                                  Read(ctx, "uaddr", "0"))
        if isinstance(e, Num):
            return _x("num", e.value)
        if isinstance(e, Not):
            return _x("not_", self.expr(e.arg, ctx))
        if isinstance(e, Compare):
            def side(x: Expr) -> str:
                if isinstance(x, Ref):
                    return _x("pte_pfn", ctx.get(x.path[0]))
                return self.expr(x, ctx)
            return _x("compare", side(e.left), e.op, side(e.right))
        if isinstance(e, AnyOf):
            name = _x("any_name", ctx.call, len(self.anys))
            self.anys.append((name, e.arg))
            return _x("any_call", name, ctx.get("addr"), ctx.get("ptep"), ctx.get("pte"),
                      ctx.get("nr"))
        if e.op == "and":
            return self.all_bits(e, ctx)
        return _x("bool_op", e.op, [self.expr(x, ctx) for x in e.args])

    # ------------------------------------------------------------ statements
    def next_fn(self, strategy: str) -> str:
        self.advances.add(strategy)
        return _x("next_fn", strategy, self.a.advance)

    def effect(self, s: EffectStmt, ctx: Ctx) -> list[str]:
        e = catalog.EFFECTS[s.name]
        self.used.add(s.name)

        def first() -> str:
            if ctx.call == "flush_dcache_folio":
                return _x("folio_page", ctx.get("folio"), 0)
            return ctx.get("first_page")

        def count() -> str:
            if ctx.call == "flush_dcache_folio":
                return _x("folio_nr_pages", ctx.get("folio"))
            return ctx.get("nr")

        def r(name: str) -> Read:
            return Read(ctx, name, "")
        x = EffectArgs(fn=self.a.primitive(s.name, e.c_default), arg=s.positional or "",
                       mm=r("mm"), ptep=r("ptep"), pte=r("pte"), nr=r("nr"), vma=r("vma"),
                       addr=r("addr"), page=r("page"), new=r("new"), folio=r("folio"),
                       first=Lazy(first), count=Lazy(count), m_addr=r("m_addr"),
                       m_pfn=r("m_pfn"), m_nr=r("m_nr"), m_head=r("m_head"), call=ctx.call,
                       ps=self.a.primitive_ptr_size(s.name),
                       pp=self.a.primitive_per_page(s.name),
                       vr=self.a.primitive_vma_range(s.name), mode=user_page_mode(s))
        if s.name in ("copy_page", "clear_page"):
            self.user_page_modes.add((s.name, x.mode))
        return self.eff.lines(e.c_macro, x)

    def flag(self, s: FlagOp, ctx: Ctx) -> list[str]:
        obj = s.target.path[0]
        if obj == "pte":
            f = self.a.field(s.target.path[1])
            assert f is not None
            m = self.fmacro(f.name)
            v = ctx.get("new") or ctx.get("pte")
            if s.op == "clear":
                return self.eff.lines("pte_clear", v, m)
            if s.value is None:
                return self.eff.lines("pte_set", v, m)
            return self.eff.lines("pte_set_value", v, m, s.value, f.lo)
        return self.eff.lines("pg_flag", s.op, ctx.get(obj))

    def block(self, body: tuple[Stmt, ...], ctx: Ctx) -> list[str]:
        out: list[str] = []
        for k, s in enumerate(body):
            rest = body[k + 1:]
            out += self.stmt(s, ctx, rest)
        return out

    def stmt(self, s: Stmt, ctx: Ctx, rest: tuple[Stmt, ...]) -> list[str]:
        if isinstance(s, When):
            return self.when(s, ctx)
        if isinstance(s, Each):
            return self.each(s, ctx)
        if isinstance(s, FlagOp):
            return self.flag(s, ctx)
        if catalog.EFFECTS[s.name].shape == "loop":
            return self.store(s, ctx, rest)
        return self.effect(s, ctx)

    def branch(self, body: tuple[Stmt, ...], ctx: Ctx) -> list[str]:
        """A `when` branch; the outermost one reading the entry's folio
        declares it (Ctx.folio_decl), past the guards that do not read it
        (_folio_guard)."""
        if ctx.folio_decl != "inner":
            return self.block(body, ctx.inside())
        body = _folio_guard(body)
        if len(body) == 1 and isinstance(body[0], When) and not body[0].orelse and \
                not _reads_folio(body[0].cond):
            # one guard that does not read the folio: its branch takes it
            return self.block(body, ctx.inside())
        local = Scope()
        inner = ctx.inside()
        inner.scope = local
        inner.folio_decl = "nested"
        lines = self.block(body, inner)
        if "folio" in local.uses:
            local.uses.discard("folio")
            local.uses.add("pte")
            lines = _s("decl_folio", "pte") + [""] + lines
        ctx.scope.uses.update(local.uses)
        return lines

    def when(self, s: When, ctx: Ctx, prefix: str = "if") -> list[str]:
        cond = c_unparen(self.expr(s.cond, ctx))
        then = self.branch(s.then, ctx)
        chain = len(s.orelse) == 1 and isinstance(s.orelse[0], When)
        other = [] if chain else self.branch(s.orelse, ctx)
        simple = len(then) == 1 and (not s.orelse or (not chain and len(other) == 1))
        out = _s("if_open", prefix, cond, simple, 3 + ctx.nest)
        if simple:
            return out + _s("simple_branches", then[0], other[0] if s.orelse else "")
        out += _ind(then)
        if chain:
            inner = s.orelse[0]
            assert isinstance(inner, When)
            return out + self.when(inner, ctx, _s("else_if")[0])
        return out + _s("close_if", _ind(other), bool(s.orelse))

    def each_mapping(self, s: Each, ctx: Ctx) -> list[str]:
        """`each mapping of folio`: the i_mmap walk (c/stmts.j2 each_mapping)."""
        self.used.add("each mapping")
        local = Scope()
        inner = ctx.derive(vma=B("mvma"), mm=B("mvma->vm_mm"),
                           **{n: B(n, frozenset({n})) for n in ("m_addr", "m_pfn", "m_nr",
                                                                "m_head")})
        inner.scope = local
        body = self.block(s.body, inner)
        folio = ctx.get("folio")
        return _s("each_mapping", folio, sorted(local.uses & {"m_addr", "m_pfn", "m_nr",
                                                              "m_head"}), _ind(_ind(body)))

    def each(self, s: Each, ctx: Ctx) -> list[str]:
        if s.kind == "mapping":
            return self.each_mapping(s, ctx)
        nested = s.kind == "page" and s.source == "range" and ctx.has("new")
        if not nested:
            ctx.scope.uses.add("i")
        local = Scope()
        if s.kind == "pte":
            n = ctx.get("nr")
            inner = ctx.derive(new=B("new", frozenset({"new"})), old=B("old", frozenset({"old"})),
                               ptep=B(_x("plus_i", ctx.get("ptep"))),
                               addr=B(_x("addr_i", ctx.get("addr"))),
                               uaddr=B(_x("addr_i", ctx.get("addr"))))
            inner.scope = local
            inner.nest = ctx.nest + 1
            body = self.block(s.body, inner)
            locs: list[str] = []
            if "new" in local.uses:
                locs += _s("decl_new", _x("pte_nth", ctx.get("pte")) if ctx.call == "set_ptes"
                           else _x("ptep_get", _x("plus_i", ctx.get("ptep"))))
            if "old" in local.uses:
                locs += _s("decl_old", _x("plus_i", ctx.get("ptep")))
        elif nested:
            # nested in `each pte` / a store body: the page the entry maps,
            # at the entry's address (no loop of its own)
            inner = ctx.derive(page=B("pg"), uaddr=B(ctx.get("addr")))
            inner.scope = local
            body = self.block(s.body, inner)
            ctx.scope.uses.update(local.uses)
            return ["{", *_ind(_s("decl_page", "pte_page(%s)" % ctx.get("new"))), "",
                    *_ind(body), "}"]
        else:
            if s.source == "folio" or ctx.call == "flush_dcache_folio":
                n = _x("folio_nr_pages", ctx.get("folio"))
                pg = _x("folio_page", ctx.get("folio"), "i")
            else:
                n = ctx.get("nr")
                pg = _x("nth_page", ctx.get("first_page"))
            uaddr = _NONE
            if ctx.call in catalog.ENTRY_CALLS:
                # the page's user address: where this call maps it
                uaddr = B("uaddr", frozenset({"uaddr"}))
            inner = ctx.derive(page=B("pg"), uaddr=uaddr)
            inner.scope = local
            inner.nest = ctx.nest + 1
            body = self.block(s.body, inner)
            locs = _s("decl_page", pg)
            if "uaddr" in local.uses:
                locs += _s("decl_uaddr", ctx.get("addr"), ctx.get("pte"))
        own = {"new", "old"} if s.kind == "pte" else {"uaddr"}
        ctx.scope.uses.update(local.uses - own)
        return _s("loop", _s("for_down" if s.reverse else "for_up", n)[0], _ind(locs),
                  _ind(body))

    def store(self, s: EffectStmt, ctx: Ctx, rest: tuple[Stmt, ...]) -> list[str]:
        a = self.a
        self.used.add(s.name)
        strategy = s.param("advance", a.advance)
        nxt = self.next_fn(strategy)
        ranged = any(isinstance(x, EffectStmt) and x.positional == "range"
                     for x in walk_stmts(s.body))
        # the kernel's loop consumes ptep/addr/pte/nr; work on copies when
        # something after it (or a range effect inside it) still reads them
        later = [x for x in walk_stmts(rest)
                 if not (isinstance(x, EffectStmt) and not catalog.EFFECTS[x.name].reads_range)]
        copies = bool(later) or ranged
        c = ctx
        if copies:
            c = ctx.derive(ptep=B("ptep_i"), addr=B("addr_i"), pte=B("pte_i"), nr=B("nr_i"))
        inner = c.derive(new=c.b["pte"], old=B(_x("ptep_get", c.get("ptep"))), uaddr=c.b["addr"])
        inner.nest = ctx.nest + (2 if copies else 1)
        body = self.block(s.body, inner)
        if s.param("using") == "pgste":
            fn = a.primitive("pgste_set_pte", "ptep_set_pte_at")
            st = self.eff.line("store_pgste", fn, c.get("mm"), c.get("addr"), c.get("ptep"),
                               c.get("pte"))
        elif s.param("using") == "set_pte_at":
            fn = a.primitive("set_pte_at", "__set_pte_at")
            st = self.eff.line("store_set_pte_at", fn, c.get("mm"), c.get("addr"), c.get("ptep"),
                               c.get("pte"))
        elif s.param("using") == "set_pte_ext":
            fn = a.primitive("set_pte_ext", "set_pte_ext")
            st = self.eff.line("store_set_pte_ext", fn, c.get("addr"), c.get("ptep"),
                               c.get("pte"))
        else:
            fn = a.primitive("set_pte", "set_pte")
            st = self.eff.line("store_set_pte", fn, c.get("ptep"), c.get("pte"))
        x = StoreArgs(body=tuple(body), store=st, nr=c.get("nr"), ptep=c.get("ptep"),
                      addr=c.get("addr"), pte=c.get("pte"), next=nxt, copies=copies)
        return self.eff.lines("store", x)

    # ----------------------------------------------------------------- calls
    def call_ctx(self, name: str, scope: Scope) -> Ctx:
        P = frozenset({"pte"})
        F = frozenset({"folio"})
        base = dict(pte=B("pte", P), ptep=B("ptep"), addr=B("addr"), nr=B("nr"),
                    mm=B("mm"), folio=B("folio", F))
        if name == "set_ptes":
            return Ctx(name, scope, **base, first_page=B(_x("pte_page", "pte"), P))
        if name == "update_mmu_cache_range":
            return Ctx(name, scope, **{**base, "mm": B("vma->vm_mm")}, vma=B("vma"),
                       first_page=B(_x("pte_page", "pte"), P))
        if name in ("flush_cache_mm", "flush_cache_dup_mm"):
            return Ctx(name, scope, mm=B("mm"))
        if name in ("flush_cache_range", "flush_cache_page"):
            return Ctx(name, scope, mm=B("vma->vm_mm"), vma=B("vma"))
        if name == "copy_user_highpage":
            return Ctx(name, scope, mm=B("vma->vm_mm"), vma=B("vma"), page=B("to"),
                       folio=B("page_folio(to)"), first_page=B("to"), nr=B("1"),
                       uaddr=B("vaddr"), src=B("page_folio(from)"))
        if name == "clear_user_highpage":
            return Ctx(name, scope, page=B("page"), folio=B("page_folio(page)"),
                       first_page=B("page"), nr=B("1"), uaddr=B("vaddr"))
        if name == "flush_dcache_folio":
            return Ctx(name, scope, nr=B(_x("folio_nr_pages", "folio")), folio=B("folio"),
                       first_page=B(_x("folio_page", "folio", 0)))
        if name in catalog.PMD_CALLS:
            # pmd_pte(pmd) / (pte_t *)pmdp: the leaf seen as an entry
            pmd = dict(base, ptep=B("(pte_t *)pmdp"), nr=B("HPAGE_PMD_NR"),
                       first_page=B(_x("pte_page", "pte"), P))
            if name == "update_mmu_cache_pmd":
                pmd.update(mm=B("vma->vm_mm"), vma=B("vma"))
            return Ctx(name, scope, **pmd)
        return Ctx(name, scope, nr=B("nr"), mm=B("vma->vm_mm"), vma=B("vma"),
                   folio=B("folio", F), first_page=B("page"))

    def call_body(self, c: Call) -> list[str]:
        inner = c.name in catalog.ENTRY_CALLS
        while True:
            anys = len(self.anys)
            scope = Scope()
            ctx = self.call_ctx(c.name, scope)
            ctx.folio_decl = "inner" if inner else "top"
            body = self.block(c.body, ctx)
            if not inner or "folio" not in scope.uses:
                break
            # read outside every `when` too: one declaration at the top
            del self.anys[anys:]
            inner = False
        decls = _s("call_locals", c.name, sorted(scope.uses))
        return decls + ([""] if decls and body else []) + body
