"""Backend: generated/runtime/<arch>.py, the arch's mypyc-compiled module.

Place in the flow: a pure function of one dsl.model.Arch.  `build_view`
turns the model into a typed view (`ModuleView`, frozen dataclasses);
`render` renders dsl/templates/py/module.py.j2 with it.  The module
subclasses runtime.arch.Arch (docs/runtime-interface.md): constants and
the layout as data, PTE helpers specialised to the layout (masks folded
into constants), the CPU-feature dependent cache model, vm_get_page_prot
as a 16-entry table, and the four calls compiled from the archdef's
statements into calls of the runtime's primitives (runtime/primitives.py).

The call bodies are written by `PyWriter` (dsl/generate/pywriter.py), a
code writer in the manner of Linux YNL's.  Nothing here decides whether
the result is right: runtime/ does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import catalog
from ..model import Arch, BoolOp, Expr, Field, Not, Num, Ref
from . import layout
from .pywriter import _S, Cx, PyWriter, Scope, _s, _x
from .templating import ident, macros, render as render_template
from .view import Banner, banner

VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = (layout.VM_READ, layout.VM_WRITE,
                                         layout.VM_EXEC, layout.VM_SHARED)
pfn_mask = layout.pfn_mask
prot_table = layout.prot_table

# ---------------------------------------------------------------------------
# The typed view of the module


@dataclass(frozen=True)
class Choice:
    """A method returning one of several values by CPU feature."""

    name: str
    ret: str
    options: tuple[tuple[str | None, str], ...]


@dataclass(frozen=True)
class Method:
    """A PTE helper: `def name(self, arg: int) -> ret:` and its body lines."""

    name: str
    arg: str
    ret: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class CallView:
    name: str
    signature: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class PfnPart:
    lo: int
    width_mask: int
    offset: int


@dataclass(frozen=True)
class ModuleView:
    banner: Banner
    name: str
    source: str
    cites: tuple[tuple[str, str], ...]
    a: Arch
    pfn_mask: int
    word_mask: int
    prot_mask: int                      # ~PFN_MASK & WORD_MASK (pte_pgprot)
    prot_table: tuple[int, ...]
    fields: tuple[Field, ...]
    empty_pte: int
    none_ignore: int
    pfn_pte_applies: tuple[str, ...]
    pfn_pte_steps: tuple[str, ...]      # per name: the new value of v (mutator call or OR)
    choices: tuple[Choice, ...]
    prefault: str
    methods: tuple[Method, ...]
    transform_pfn: str
    transform_prot: str
    pfn_none: str                       # Python condition on v, '' when none
    pfn_parts: tuple[PfnPart, ...]
    pfn_top: int                        # the highest bit a PFN field holds
    advance: str
    calls: tuple[CallView, ...]
    prot_cpu: tuple[ProtCpu, ...] = ()
    napot_pfn: str = ""          # `pfn_clear_lowest when C`: C over the entry v


@dataclass(frozen=True)
class ProtCpu:
    """One CPU-feature combination whose vm_get_page_prot table differs
    from the static one (the prot block's `when cpu.X { ... }`)."""

    cond: str
    table: tuple[int, ...]


def _prot_cpu(a: Arch) -> tuple[ProtCpu, ...]:
    feats = layout.prot_cpu_features(a)
    static = prot_table(a)
    out: list[ProtCpu] = []
    for bits in range(1, 1 << len(feats)):
        have = frozenset(f for i, f in enumerate(feats) if bits >> i & 1)
        t = prot_table(a, have)
        if t == static:
            continue
        terms = [_x("cpu_in", f) if f in have else _x("not_", _x("cpu_in", f)) for f in feats]
        out.append(ProtCpu(terms[0] if len(terms) == 1 else _x("bool_op", "and", terms),
                           tuple(t)))
    return tuple(out)


_SIGS = {
    "set_ptes": "self, k: Primitives, mm: Mm, addr: int, ptep: PteRef, pte: i64, nr: int",
    "update_mmu_cache_range": "self, k: Primitives, vmf: Vmf | None, vma: Vma, addr: int, "
                              "ptep: PteRef, nr: int",
    "flush_dcache_folio": "self, k: Primitives, folio: Folio",
    "flush_icache_pages": "self, k: Primitives, vma: Vma, page: Page, nr: int",
    # the PMD hook pair: ptep is pmdp, pte is pmd_pte(pmd)
    "set_pmd_at": "self, k: Primitives, mm: Mm, addr: int, ptep: PteRef, pte: i64",
    "update_mmu_cache_pmd": "self, k: Primitives, vma: Vma, addr: int, ptep: PteRef",
    "flush_cache_mm": "self, k: Primitives, mm: Mm",
    "flush_cache_dup_mm": "self, k: Primitives, mm: Mm",
    "flush_cache_range": "self, k: Primitives, vma: Vma, start: int, end: int",
    "flush_cache_page": "self, k: Primitives, vma: Vma, addr: int, pfn: int",
    "copy_user_highpage": "self, k: Primitives, to: Page, src: Page, vaddr: int, vma: Vma",
    "clear_user_highpage": "self, k: Primitives, page: Page, vaddr: int",
}


def _cpu_cond(e: Expr) -> str:
    if isinstance(e, Not):
        return _x("not_", _cpu_cond(e.arg))
    if isinstance(e, BoolOp):
        return _x("bool_op", e.op, [_cpu_cond(x) for x in e.args])
    if isinstance(e, Num):
        return _x("const", e.value)
    assert isinstance(e, Ref)
    return _x("cpu_in", e.path[1])


def _kind(name: str) -> str:
    return macros(catalog.MACRO_FILES["kind"]["py"]).line("kind", name)


def _mutator(py: PyWriter, a: Arch, name: str, role: str, value: bool) -> tuple[str, ...]:
    m = a.mutator(name)
    if m is not None:
        return (_s("assign", "v", "pte"), *py.mutator_body(m.body, 0), _s("return_", "v"))
    fields = a.role_fields(role)
    if not fields or a.derived_named(role) is not None:
        return (_s("return_", "pte"),)
    f = fields[0]
    return (macros(_S).line("mut_return", value != f.inverted, f.mask),)


def _napot(py: PyWriter, a: Arch) -> str:
    """The `pfn_clear_lowest when C` condition over v, or ''."""
    n = a.pfn_napot()
    return py.pte_expr(n.cond, "v") if n is not None else ""


def build_view(a: Arch, source: str) -> ModuleView:
    ident(a.name)
    py = PyWriter(a)
    choices: list[Choice] = []
    dopts: list[tuple[str | None, str]] = []
    copts: list[tuple[str | None, str]] = []
    for cond, k in a.dcache.options:
        cc = _cpu_cond(cond) if cond is not None else None
        dopts.append((cc, _kind(k.name)))
        colours = k.param("colours")
        copts.append((cc, str(int(colours, 0)) if colours else "1"))
    choices.append(Choice("dcache_kind", "str", tuple(dopts)))
    choices.append(Choice("dcache_colours", "int", tuple(copts)))
    choices.append(Choice("icache_kind", "str", tuple(
        (_cpu_cond(c) if c is not None else None, _kind(k.name)) for c, k in a.icache.options)))
    if any(ik.param("colours") for _, ik in a.icache.options):
        # an aliasing I-cache: its colours (issue 10 item 2)
        ic_opts: list[tuple[str | None, str]] = []
        for cond, ik in a.icache.options:
            n = ik.param("colours")
            ic_opts.append((_cpu_cond(cond) if cond is not None else None,
                            str(int(n, 0)) if n else "1"))
        choices.append(Choice("icache_colours", "int", tuple(ic_opts)))
    methods: list[Method] = []
    for role in catalog.BOOL_ROLES:
        methods.append(Method(f"pte_{role}", "pte", "bool", (_s("return_", py.role_test(role, "pte")),)))
    for d in a.derived:
        if d.name in catalog.BOOL_ROLES:
            continue
        methods.append(Method(f"_d_{ident(d.name)}", "v", "bool",
                              (_s("return_", py.pte_expr(d.expr, "v")),)))
    for name, (role, value) in catalog.MUTATORS.items():
        methods.append(Method(f"pte_{name}", "pte", "i64", _mutator(py, a, name, role, value)))
    t = a.pfn_transform()
    calls: list[CallView] = []
    for c in a.calls:
        if c.generic:
            continue
        scope = Scope()
        cx = Cx(c.name, scope, mm="vma.mm") if c.name in ("flush_cache_range",
                                                          "flush_cache_page") \
            else Cx(c.name, scope)
        if c.name == "copy_user_highpage":
            cx = Cx(c.name, scope, mm="vma.mm", folio="to.folio", page="to", uaddr="vaddr")
        elif c.name == "clear_user_highpage":
            cx = Cx(c.name, scope, folio="page.folio", page="page", uaddr="vaddr")
        body = py.stmts(c.body, cx, 2)
        if c.name in ("update_mmu_cache_range", "update_mmu_cache_pmd"):
            body = ["        " + x for x in macros(_S).lines("umcr_locals", sorted(scope.uses))] + body
        calls.append(CallView(c.name, _SIGS[c.name], tuple(body)))
    return ModuleView(
        banner=banner(a, source, "runtime-module"),
        name=a.name, source=source,
        cites=tuple((c.kind, c.text) for c in a.cites),
        a=a,
        pfn_mask=pfn_mask(a), word_mask=(1 << a.word_bits) - 1,
        prot_mask=((1 << a.word_bits) - 1) & ~pfn_mask(a),
        prot_table=tuple(prot_table(a)),
        fields=tuple(a.fields),
        empty_pte=layout.empty_pte(a),
        none_ignore=layout.none_ignore_mask(a),
        pfn_pte_applies=a.pfn_pte_applies.names if a.pfn_pte_applies is not None else (),
        pfn_pte_steps=layout.pfn_pte_steps(a, "self", "v"),
        choices=tuple(choices),
        prefault=_x("const", False) if a.prefault_old is None else _cpu_cond(a.prefault_old),
        methods=tuple(methods),
        transform_pfn=py.pte_expr(t.cond, "v") if t is not None else "",
        transform_prot=py.pte_expr(t.cond, "prot") if t is not None else "",
        pfn_none=py.pte_expr(a.pfn_none.cond, "v") if a.pfn_none is not None else "",
        pfn_parts=tuple(PfnPart(f.lo, (1 << f.width) - 1, f.pfn_offset) for f in a.pfn_fields),
        pfn_top=max((f.lo + f.width - 1 for f in a.pfn_fields), default=0),
        advance=py.advance_expr(a.advance, "pte", "pages"),
        calls=tuple(calls),
        prot_cpu=_prot_cpu(a),
        napot_pfn=_napot(py, a),
    )


_WIDE_MARK = "#@ptdl-wide-constants@#"
_WIDE = re.compile(r"\bW_([0-9a-f]{16})\b")


def wide_constants(text: str) -> str:
    """The definitions of the W_<hex> constants ``text`` names (the PTE
    words no short int holds: dsl/generate/pteword.py pte_literal),
    one per line in value order; ``s64`` runs at import, so mypyc keeps
    each as a native i64 static instead of folding a boxed literal."""
    names = sorted(set(_WIDE.findall(text)))
    return "".join("W_%s: Final[i64] = s64(0x%s)\n" % (h, h) for h in names)


def render(a: Arch, source: str) -> str:
    text = render_template("py/module.py.j2", v=build_view(a, source),
                           WIDE_CONSTANTS=_WIDE_MARK)
    return text.replace(_WIDE_MARK + "\n", wide_constants(text))
