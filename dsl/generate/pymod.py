"""Backend: generated/runtime/<arch>.py, the arch's mypyc-compiled module.

Place in the flow: a pure function of one dsl.model.Arch.  The module
subclasses runtime.arch.Arch (docs/runtime-interface.md): constants and
the layout as data, PTE helpers specialised to the layout (masks folded
into constants), the CPU-feature dependent cache model, vm_get_page_prot
as a 16-entry table, and the four calls compiled from the archdef's
statements into calls of the Kernel's primitives.  Nothing here decides
whether the result is right: runtime/ does.
"""

from __future__ import annotations

from .. import catalog
from ..model import (AnyOf, Arch, BoolOp, Compare, Each, EffectStmt, Expr,
                     FlagOp, Not, Num, Ref, Stmt, When, walk_expr)
from .common import ident, marker, py_comment

VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = 1, 2, 4, 8


def h(v: int) -> str:
    return hex(v)


def pfn_mask(a: Arch) -> int:
    m = 0
    for f in a.role_fields("pfn"):
        m |= f.mask
    return m


def field_value_bits(a: Arch, name: str, value: int | None) -> int:
    f = a.field(name)
    assert f is not None
    return f.mask if value is None else (value << f.lo) & f.mask


def prot_table(a: Arch) -> list[int]:
    """vm_get_page_prot() for the 16 VM_READ|WRITE|EXEC|SHARED combinations."""
    def bits(key: str) -> int:
        item = a.prot_item(key)
        v = 0
        if item is not None:
            for n, val in item.values:
                v |= field_value_bits(a, n, val)
        return v
    exec_fields = [f for f in a.role_fields("exec")]
    table: list[int] = []
    for flags in range(16):
        r, w, x, s = (bool(flags & VM_READ), bool(flags & VM_WRITE),
                      bool(flags & VM_EXEC), bool(flags & VM_SHARED))
        if not (r or w or x):
            table.append(bits("none"))
            continue
        v = bits("base")
        if w and s:
            v |= bits("write")
        if x:
            v |= bits("exec")
        else:
            v |= bits("noexec")
        if not (r or x):
            v |= bits("noread")
        if a.prot_item("exec") is None and a.prot_item("noexec") is None:
            for f in exec_fields:
                if x != f.inverted:
                    v |= f.mask
                else:
                    v &= ~f.mask
        table.append(v)
    return table


class _Py:
    """Compiles expressions and statements of one arch into Python source."""

    def __init__(self, a: Arch) -> None:
        self.a = a
        self.tmp = 0

    def fresh(self, stem: str) -> str:
        self.tmp += 1
        return f"_{stem}{self.tmp}"

    # -- pte-level (layout) expressions over a value variable ------------
    def atom(self, name: str, v: str) -> str:
        a = self.a
        f = a.field(name)
        if f is not None:
            return f"(({v}) & {h(f.mask)}) != 0"
        if a.derived_named(name) is not None:
            if name in catalog.BOOL_ROLES:
                return f"self.pte_{ident(name)}({v})"
            return f"self._d_{ident(name)}({v})"
        if name == "nonzero":
            return f"({v}) != 0"
        if name in catalog.BOOL_ROLES:
            return f"self.pte_{ident(name)}({v})"
        fields = a.role_fields(name)
        m = 0
        for g in fields:
            m |= g.mask
        return f"(({v}) & {h(m)}) != 0"

    def pte_expr(self, e: Expr, v: str) -> str:
        if isinstance(e, Ref):
            return self.atom(e.path[-1], v)
        if isinstance(e, Not):
            return f"not ({self.pte_expr(e.arg, v)})"
        if isinstance(e, BoolOp):
            return "(" + f" {e.op} ".join(self.pte_expr(x, v) for x in e.args) + ")"
        raise ValueError(f"unsupported layout expression at {e.loc}")

    def role_test(self, role: str, v: str) -> str:
        """pte_<role>(v) body expression."""
        a = self.a
        d = a.derived_named(role)
        if d is not None:
            return self.pte_expr(d.expr, v)
        fields = a.role_fields(role)
        if not fields:
            return "False"
        terms = []
        for f in fields:
            terms.append(f"({v} & {h(f.mask)}) {'==' if f.inverted else '!='} 0")
        return " or ".join(terms)

    def mutator_body(self, body: tuple[Stmt, ...], depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        for s in body:
            if isinstance(s, FlagOp):
                f = self.a.field(s.target.path[-1])
                assert f is not None
                if s.op == "clear":
                    out.append(f"{pad}v &= ~{h(f.mask)}")
                elif s.value is None:
                    out.append(f"{pad}v |= {h(f.mask)}")
                else:
                    out.append(f"{pad}v = (v & ~{h(f.mask)}) | {h((s.value << f.lo) & f.mask)}")
            elif isinstance(s, When):
                out.append(f"{pad}if {self.pte_expr(s.cond, 'v')}:")
                out += self.mutator_body(s.then, depth + 1) or [pad + "    pass"]
                if s.orelse:
                    out.append(f"{pad}else:")
                    out += self.mutator_body(s.orelse, depth + 1)
        return out

    # -- call-level expressions ------------------------------------------
    def cond(self, e: Expr, cx: _Cx) -> str:
        if isinstance(e, Not):
            return f"not ({self.cond(e.arg, cx)})"
        if isinstance(e, BoolOp):
            return "(" + f" {e.op} ".join(self.cond(x, cx) for x in e.args) + ")"
        if isinstance(e, Compare):
            op = "==" if e.op == "==" else "!="
            return f"{self.value(e.left, cx)} {op} {self.value(e.right, cx)}"
        if isinstance(e, AnyOf):
            raise AssertionError("any() is hoisted before use")
        if isinstance(e, Num):
            return "True" if e.value else "False"
        assert isinstance(e, Ref)
        obj, attr = e.path
        if obj == "cpu":
            return f"k.cpu_has({attr!r})"
        if obj in catalog.PTE_OBJECTS:
            v = {"pte": cx.pte, "old": cx.old, "new": cx.new}[obj]
            f = self.a.field(attr)
            if f is not None:
                return f"({v} & {h(f.mask)}) != 0"
            if self.a.derived_named(attr) is not None and attr not in catalog.BOOL_ROLES:
                return f"self._d_{ident(attr)}({v})"
            if attr in catalog.BOOL_ROLES:
                return f"self.pte_{ident(attr)}({v})"
            m = 0
            for g in self.a.role_fields(attr):
                m |= g.mask
            return f"({v} & {h(m)}) != 0"
        if obj == "folio":
            fo = cx.folio
            return {
                "pg_arch_1": f"k.folio_test_arch1({fo})",
                "anon": f"{fo}.anon",
                "has_mapping": f"k.folio_has_mapping({fo})",
                "mapped": f"k.mapping_mapped({fo})",
                "large": f"{fo}.nr_pages > 1",
            }[attr]
        if obj == "page":
            return {
                "pg_arch_1": f"k.page_test_arch1({cx.page})",
                "aliases": f"k.pages_do_alias(k.kaddr({cx.page}.pfn), {cx.uaddr})",
            }[attr]
        if obj == "vma":
            bit = {"exec": VM_EXEC, "write": VM_WRITE, "shared": VM_SHARED}[attr]
            return f"({cx.vma}.flags & {bit}) != 0"
        if obj == "mm":
            return f"{cx.mm}.has_pgste" if attr == "pgste" else f"{cx.mm}.id == 0"
        raise AssertionError(e.text)

    def value(self, e: Expr, cx: _Cx) -> str:
        if isinstance(e, Num):
            return h(e.value)
        assert isinstance(e, Ref)
        v = {"pte": cx.pte, "old": cx.old, "new": cx.new}[e.path[0]]
        return f"self.pte_pfn({v})"

    # -- statements ---------------------------------------------------------
    def hoist_any(self, e: Expr, cx: _Cx, pad: str, out: list[str]) -> Expr:
        """Compute each any(...) into a variable first; return e with refs."""
        anys = [x for x in walk_expr(e) if isinstance(x, AnyOf)]
        if not anys:
            return e
        for x in anys:
            var = self.fresh("any")
            i = self.fresh("i")
            inner = _Cx(cx.call, pte=cx.pte, old=f"k.read_pte(ptep.offset({i}))",
                        new=f"self.pte_advance({cx.pte}, {i})", folio=cx.folio,
                        vma=cx.vma, mm=cx.mm)
            out.append(f"{pad}{var} = False")
            out.append(f"{pad}for {i} in range(nr):")
            out.append(f"{pad}    if {self.cond(x.arg, inner)}:")
            out.append(f"{pad}        {var} = True")
            out.append(f"{pad}        break")
            cx.anys[id(x)] = var
        return e

    def cond_with_any(self, e: Expr, cx: _Cx) -> str:
        if isinstance(e, AnyOf):
            return cx.anys[id(e)]
        if isinstance(e, Not):
            return f"not ({self.cond_with_any(e.arg, cx)})"
        if isinstance(e, BoolOp):
            return "(" + f" {e.op} ".join(self.cond_with_any(x, cx) for x in e.args) + ")"
        return self.cond(e, cx)

    def range_of(self, arg: str, cx: _Cx) -> tuple[str, str]:
        """(first pfn, number of pages) an effect's positional arg covers."""
        if arg == "folio":
            return f"{cx.folio}.pfn", f"{cx.folio}.nr_pages"
        if arg == "page":
            return f"{cx.page}.pfn", "1"
        # range: the nr pages of the call
        if cx.call in ("set_ptes", "update_mmu_cache_range"):
            return f"self.pte_pfn({cx.pte})", "nr"
        if cx.call == "flush_icache_pages":
            return "page.pfn", "nr"
        return f"{cx.folio}.pfn", f"{cx.folio}.nr_pages"

    def stmts(self, body: tuple[Stmt, ...], cx: _Cx, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        for s in body:
            if isinstance(s, When):
                self.hoist_any(s.cond, cx, pad, out)
                out.append(f"{pad}if {self.cond_with_any(s.cond, cx)}:")
                out += self.stmts(s.then, cx, depth + 1) or [pad + "    pass"]
                if s.orelse:
                    out.append(f"{pad}else:")
                    out += self.stmts(s.orelse, cx, depth + 1)
            elif isinstance(s, Each):
                out += self.each(s, cx, depth)
            elif isinstance(s, FlagOp):
                out.append(pad + self.flag(s, cx))
            elif isinstance(s, EffectStmt):
                out += self.effect(s, cx, depth)
        return out

    def each(self, s: Each, cx: _Cx, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        if s.kind == "pte":
            i = self.fresh("i")
            rng = "range(nr - 1, -1, -1)" if s.reverse else "range(nr)"
            out.append(f"{pad}for {i} in {rng}:")
            inner = _Cx(cx.call, pte=cx.pte, old=f"k.read_pte(ptep.offset({i}))",
                        new=f"self.pte_advance({cx.pte}, {i})", folio=cx.folio, vma=cx.vma,
                        mm=cx.mm, index=i)
            out += self.stmts(s.body, inner, depth + 1) or [pad + "    pass"]
            return out
        j = self.fresh("j")
        page = self.fresh("page")
        if s.source == "folio":
            first, count = f"{cx.folio}.pfn", f"{cx.folio}.nr_pages"
        else:
            first, count = self.range_of("range", cx)
        rng = f"range({count} - 1, -1, -1)" if s.reverse else f"range({count})"
        out.append(f"{pad}for {j} in {rng}:")
        out.append(f"{pad}    {page} = k.pfn_page({first} + {j})")
        uaddr = "0"
        if cx.call in ("set_ptes", "update_mmu_cache_range"):
            uaddr = f"addr + ({page}.pfn - self.pte_pfn({cx.pte})) * {self.a.page_size}"
        inner = _Cx(cx.call, pte=cx.pte, old=cx.old, new=cx.new, folio=cx.folio,
                    vma=cx.vma, mm=cx.mm, page=page, uaddr=uaddr)
        out += self.stmts(s.body, inner, depth + 1) or [pad + "    pass"]
        return out

    def flag(self, s: FlagOp, cx: _Cx) -> str:
        obj, attr = s.target.path
        if obj == "pte":
            f = self.a.field(attr)
            assert f is not None
            if s.op == "clear":
                return f"pte = pte & ~{h(f.mask)}"
            if s.value is None:
                return f"pte = pte | {h(f.mask)}"
            return f"pte = (pte & ~{h(f.mask)}) | {h((s.value << f.lo) & f.mask)}"
        if obj == "folio":
            return f"k.folio_{s.op}_arch1({cx.folio})"
        return f"k.page_{s.op}_arch1({cx.page})"

    def effect(self, s: EffectStmt, cx: _Cx, depth: int) -> list[str]:
        pad = "    " * depth
        n = s.name
        if n == "page_table_check":
            return [f"{pad}k.page_table_check_ptes_set(mm, ptep, pte, nr)"]
        if n == "lazy_mmu_enter":
            return [f"{pad}k.lazy_mmu_enter()"]
        if n == "lazy_mmu_leave":
            return [f"{pad}k.lazy_mmu_leave()"]
        if n == "store":
            return self.store(s, cx, depth)
        if n in ("sync_icache", "flush_dcache", "clean_dcache", "inval_icache"):
            prim = {"sync_icache": "icache_sync", "flush_dcache": "dcache_flush",
                    "clean_dcache": "dcache_clean", "inval_icache": "icache_inval"}[n]
            first, count = self.range_of(s.positional or "range", cx)
            return [f"{pad}k.{prim}({first}, {count})"]
        if n == "flush_dcache_user":
            return [f"{pad}k.dcache_flush_user({cx.mm}, {cx.addr_i()}, {cx.page}.pfn, 1)"]
        if n == "tlb_preload":
            return [f"{pad}k.tlb_preload({cx.mm}, {cx.addr_i()}, ptep.offset({cx.index}))"]
        if n == "tlb_flush_page":
            return [f"{pad}k.tlb_flush_page({cx.mm}, {cx.addr_i()})"]
        raise AssertionError(n)

    def store(self, s: EffectStmt, cx: _Cx, depth: int) -> list[str]:
        pad = "    " * depth
        i = self.fresh("i")
        using = s.param("using", "set_pte")
        adv = s.param("advance", self.a.advance)
        out = [f"{pad}{i} = 0", f"{pad}while True:"]
        inner = _Cx(cx.call, pte="pte", old=f"k.read_pte(ptep.offset({i}))", new="pte",
                    folio=cx.folio, vma=cx.vma, mm=cx.mm, index=i)
        out += self.stmts(s.body, inner, depth + 1)
        if using == "pgste":
            out.append(f"{pad}    k.pgste_set_pte(mm, addr + {i} * {self.a.page_size}, "
                       f"ptep.offset({i}), pte)")
        else:
            out.append(f"{pad}    k.set_pte(ptep.offset({i}), pte)")
        out.append(f"{pad}    {i} += 1")
        out.append(f"{pad}    if {i} == nr:")
        out.append(f"{pad}        break")
        out.append(f"{pad}    pte = {self.advance_expr(adv, 'pte', '1')}")
        return out

    def advance_expr(self, strategy: str, v: str, pages: str) -> str:
        a = self.a
        word = h((1 << a.word_bits) - 1)
        if strategy == "page_size":
            return f"({v} + ({pages} << {a.page_shift})) & {word}"
        if strategy == "repack":
            return f"self.pfn_pte(self.pte_pfn({v}) + {pages}, self.pte_pgprot({v}))"
        if strategy == "pfn_shift_invert_aware":
            t = a.pfn_transform()
            if t is not None:
                return (f"(({v} - ({pages} << {a.pfn_pte_shift})) if {self.pte_expr(t.cond, v)} "
                        f"else ({v} + ({pages} << {a.pfn_pte_shift}))) & {word}")
        return f"({v} + ({pages} << {a.pfn_pte_shift})) & {word}"


class _Cx:
    """What names mean at a point of a call body."""

    def __init__(self, call: str, pte: str = "pte", old: str = "", new: str = "",
                 folio: str = "", vma: str = "vma", mm: str = "mm", page: str = "page",
                 uaddr: str = "0", index: str = "0") -> None:
        self.call = call
        self.pte = pte
        self.old = old
        self.new = new
        self.folio = folio or {
            "set_ptes": "k.pfn_folio(self.pte_pfn(pte))",
            "update_mmu_cache_range": "k.pfn_folio(self.pte_pfn(pte))",
            "flush_dcache_folio": "folio",
            "flush_icache_pages": "page.folio",
        }[call]
        self.vma = vma
        self.mm = mm
        self.page = page
        self.uaddr = uaddr
        self.index = index
        self.anys: dict[int, str] = {}

    def addr_i(self) -> str:
        return f"addr + {self.index} * PAGE_SIZE" if self.index != "0" else "addr"


_SIGS = {
    "set_ptes": "self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int, nr: int",
    "update_mmu_cache_range": "self, k: Kernel, vmf: Vmf | None, vma: Vma, addr: int, "
                              "ptep: PteRef, nr: int",
    "flush_dcache_folio": "self, k: Kernel, folio: Folio",
    "flush_icache_pages": "self, k: Kernel, vma: Vma, page: Page, nr: int",
}


def _choice_method(name: str, ret: str, options: list[tuple[str | None, str]]) -> list[str]:
    out = [f"    def {name}(self, cpu: frozenset[str]) -> {ret}:"]
    for cond, val in options:
        if cond is None:
            out.append(f"        return {val}")
        else:
            out.append(f"        if {cond}:")
            out.append(f"            return {val}")
    return out


def _cpu_cond(e: Expr) -> str:
    if isinstance(e, Not):
        return f"not ({_cpu_cond(e.arg)})"
    if isinstance(e, BoolOp):
        return "(" + f" {e.op} ".join(_cpu_cond(x) for x in e.args) + ")"
    if isinstance(e, Num):
        return "True" if e.value else "False"
    assert isinstance(e, Ref)
    return f"{e.path[1]!r} in cpu"


def render(a: Arch, source: str) -> str:
    ident(a.name)
    py = _Py(a)
    cls = f"Arch_{a.name}"
    pm = pfn_mask(a)
    word = (1 << a.word_bits) - 1
    L: list[str] = []
    L.append("# SPDX-License-Identifier: GPL-2.0-only")
    L.append(f"# Generated by ptdl from {py_comment(source)} -- do not edit.")
    L.append(f"# {py_comment(marker(a.name, source, 'runtime-module'))}")
    L.append(f'"""{a.name}: PTE helpers and the page table range API, generated from')
    L.append(f"{py_comment(source)}.  Cited sources:")
    L.append("")
    for c in a.cites:
        L.append(f"  {c.kind}: {py_comment(c.text)}")
    L.append('"""')
    L.append("")
    L.append("from __future__ import annotations")
    L.append("")
    L.append("from typing import TYPE_CHECKING")
    L.append("")
    L.append("from runtime.arch import Arch, Field")
    L.append("")
    L.append("if TYPE_CHECKING:")
    L.append("    from runtime.kernel import Kernel")
    L.append("    from runtime.memory import Folio, Page")
    L.append("    from runtime.mm import Mm, Vma, Vmf")
    L.append("    from runtime.pagetable import PteRef")
    L.append("")
    L.append(f"PAGE_SHIFT = {a.page_shift}")
    L.append(f"PAGE_SIZE = {a.page_size}")
    L.append(f"PFN_PTE_SHIFT = {a.pfn_pte_shift}")
    L.append(f"PFN_MASK = {h(pm)}")
    L.append(f"WORD_MASK = {h(word)}")
    L.append("")
    L.append("# vm_get_page_prot() for VM_READ|VM_WRITE|VM_EXEC|VM_SHARED = 0..15")
    L.append("PROT_TABLE: tuple[int, ...] = (")
    for i, v in enumerate(prot_table(a)):
        L.append(f"    {h(v)},  # {i:#x}")
    L.append(")")
    L.append("")
    L.append("FIELDS: tuple[Field, ...] = (")
    for f in a.fields:
        L.append(f"    Field({f.name!r}, {f.lo}, {f.hi}, {(f.role or '')!r}, {f.inverted}, "
                 f"{f.pfn_offset}),")
    L.append(")")
    L.append("")
    L.append("")
    L.append(f"class {cls}(Arch):")
    L.append(f'    """{a.name}, as described by {py_comment(source)}."""')
    L.append("")
    L.append("    def __init__(self) -> None:")
    L.append(f"        super().__init__({a.name!r}, {a.word_bits}, {a.page_shift}, "
             f"{a.ptrs_per_pte}, {a.phys_bits}, {a.pfn_pte_shift},")
    L.append(f"                         {a.max_folio_order}, FIELDS, {tuple(a.cpu_features)!r},")
    from ..export import _empty
    L.append(f"                         {a.pg_arch_1_use!r}, {a.pg_arch_1_granularity!r}, "
             f"{a.tlb.name!r}, {a.supports_page_table_check()}, {h(_empty(a))})")
    L.append("")
    # cache model
    dopts: list[tuple[str | None, str]] = []
    copts: list[tuple[str | None, str]] = []
    for cond, k in a.dcache.options:
        cc = _cpu_cond(cond) if cond is not None else None
        dopts.append((cc, repr(k.name)))
        colours = k.param("colours")
        copts.append((cc, colours if colours else "1"))
    L += _choice_method("dcache_kind", "str", dopts)
    L.append("")
    L += _choice_method("dcache_colours", "int", copts)
    L.append("")
    L += _choice_method("icache_kind", "str",
                        [(_cpu_cond(c) if c is not None else None, repr(k.name))
                         for c, k in a.icache.options])
    L.append("")
    pf = "False" if a.prefault_old is None else _cpu_cond(a.prefault_old)
    L.append("    def wants_old_prefaulted_pte(self, cpu: frozenset[str]) -> bool:")
    L.append(f"        return {pf}")
    L.append("")
    # predicates
    for role in catalog.BOOL_ROLES:
        L.append(f"    def pte_{role}(self, pte: int) -> bool:")
        L.append(f"        return {py.role_test(role, 'pte')}")
        L.append("")
    for d in a.derived:
        if d.name in catalog.BOOL_ROLES:
            continue
        L.append(f"    def _d_{ident(d.name)}(self, v: int) -> bool:")
        L.append(f"        return {py.pte_expr(d.expr, 'v')}")
        L.append("")
    # mutators
    for name, (role, value) in catalog.MUTATORS.items():
        m = a.mutator(name)
        L.append(f"    def pte_{name}(self, pte: int) -> int:")
        if m is not None:
            L.append("        v = pte")
            L += py.mutator_body(m.body, 2)
            L.append("        return v")
        else:
            fields = a.role_fields(role)
            if not fields or a.derived_named(role) is not None:
                L.append("        return pte")
            else:
                f = fields[0]
                if value != f.inverted:
                    L.append(f"        return pte | {h(f.mask)}")
                else:
                    L.append(f"        return pte & ~{h(f.mask)}")
        L.append("")
    # pfn
    t = a.pfn_transform()
    L.append("    def pte_pfn(self, pte: int) -> int:")
    L.append("        v = pte")
    if t is not None:
        L.append(f"        if {py.pte_expr(t.cond, 'v')}:")
        L.append("            v ^= PFN_MASK")
    parts = [f"(((v >> {f.lo}) & {h((1 << f.width) - 1)}) << {f.pfn_offset})"
             for f in a.pfn_fields]
    L.append(f"        return {' | '.join(parts) or '0'}")
    L.append("")
    L.append("    def pfn_pte(self, pfn: int, prot: int) -> int:")
    parts = [f"(((pfn >> {f.pfn_offset}) & {h((1 << f.width) - 1)}) << {f.lo})"
             for f in a.pfn_fields]
    L.append(f"        v = {' | '.join(parts) or '0'}")
    if t is not None:
        L.append(f"        if {py.pte_expr(t.cond, 'prot')}:")
        L.append("            v = (v ^ PFN_MASK) & PFN_MASK")
    L.append("        return v | (prot & ~PFN_MASK & WORD_MASK)")
    L.append("")
    L.append("    def pte_pgprot(self, pte: int) -> int:")
    L.append("        return pte & ~PFN_MASK & WORD_MASK")
    L.append("")
    L.append("    def pte_advance(self, pte: int, pages: int) -> int:")
    L.append(f"        return {py.advance_expr(a.advance, 'pte', 'pages')}")
    L.append("")
    if a.sw_mkyoung:
        L.append("    def pte_sw_mkyoung(self, pte: int) -> int:")
        L.append("        return self.pte_mkyoung(pte)")
        L.append("")
    L.append("    def vm_get_page_prot(self, vm_flags: int) -> int:")
    L.append("        return PROT_TABLE[vm_flags & 15]")
    # calls
    for c in a.calls:
        if c.generic:
            continue
        L.append("")
        L.append(f"    def {c.name}({_SIGS[c.name]}) -> None:")
        cx = _Cx(c.name)
        body = py.stmts(c.body, cx, 2)
        if c.name == "update_mmu_cache_range" and any("pte" in ln for ln in body):
            body = ["        pte = k.read_pte(ptep)"] + body
        if c.name == "update_mmu_cache_range":
            body = ["        mm = vma.mm"] + body if any("mm" in ln for ln in body) else body
        L += body or ["        pass"]
    L.append("")
    L.append("")
    L.append(f"ARCH = {cls}()")
    return "\n".join(L) + "\n"
