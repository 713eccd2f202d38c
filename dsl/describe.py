"""Backend helper: the behaviour of a call in words.

Place in the flow: a pure function of the model, used by `ptdl show` and by
the export's `summary` key.  One line per statement, indented by nesting.
"""

from __future__ import annotations

from . import catalog
from .model import Arch, Call, Each, EffectStmt, FlagOp, Stmt, When, expr_text

_GENERIC = {
    "set_ptes": "the kernel's generic set_ptes: page_table_check_ptes_set(), lazy MMU on, "
                "store each entry advancing by {advance}, lazy MMU off",
    "update_mmu_cache_range": "the kernel's generic update_mmu_cache_range: nothing",
    "flush_dcache_folio": "the kernel's generic flush_dcache_folio: nothing (coherent D-cache)",
    "flush_icache_pages": "the kernel's generic flush_icache_pages: nothing",
    "set_pmd_at": "the generic set_pmd_at: store the PMD entry (set_pmd)",
    "update_mmu_cache_pmd": "the generic update_mmu_cache_pmd: nothing",
}

_ARG = {"folio": "the whole folio", "page": "this page", "range": "the nr pages"}


def _effect(a: Arch, s: EffectStmt) -> str:
    if s.name == "store":
        adv = s.param("advance", a.advance)
        using = "ptep_set_pte_at() (PGSTE)" if s.param("using") == "pgste" else "set_pte()"
        return f"store the nr entries with {using}, advancing by {catalog.ADVANCES[adv]}"
    e = catalog.EFFECTS[s.name]
    what = e.doc
    if s.positional:
        what += f" over {_ARG.get(s.positional, s.positional)}"
    return what


def stmt_lines(a: Arch, body: tuple[Stmt, ...], depth: int = 0) -> list[str]:
    pad = "  " * depth
    out: list[str] = []
    for s in body:
        if isinstance(s, When):
            out.append(f"{pad}if {expr_text(s.cond)}:")
            out += stmt_lines(a, s.then, depth + 1) or [pad + "  nothing"]
            if s.orelse:
                out.append(f"{pad}else:")
                out += stmt_lines(a, s.orelse, depth + 1)
        elif isinstance(s, Each):
            src = "of the folio" if s.source == "folio" else "in the range"
            rev = ", last first" if s.reverse else ""
            out.append(f"{pad}for each {s.kind} {src}{rev}:")
            out += stmt_lines(a, s.body, depth + 1)
        elif isinstance(s, FlagOp):
            val = f" = {s.value}" if s.value is not None else ""
            out.append(f"{pad}{s.op} {s.target.text}{val}")
        elif isinstance(s, EffectStmt) and s.name in catalog.EFFECTS:
            out.append(pad + _effect(a, s))
            if s.body:
                out.append(f"{pad}  before storing each entry (new = that entry):")
                out += stmt_lines(a, s.body, depth + 2)
        else:
            out.append(f"{pad}{getattr(s, 'name', '?')}")
    return out


def call_summary(a: Arch, c: Call) -> list[str]:
    if c.generic:
        text = _GENERIC.get(c.name, "generic")
        return [text.format(advance=catalog.ADVANCES.get(a.advance, a.advance))]
    return stmt_lines(a, c.body) or ["nothing"]


def one_line(a: Arch) -> str:
    """The per-arch summary line `make` prints."""
    dc = "/".join(k.name for _, k in a.dcache.options)
    ic = "/".join(k.name for _, k in a.icache.options)
    pg = a.pg_arch_1_use if a.pg_arch_1_use == "none" else \
        f"{a.pg_arch_1_use}/{a.pg_arch_1_granularity}"
    own = [c.name for c in a.calls if not c.generic]
    return (f"{a.name:<12} {a.word_bits}-bit {a.page_size // 1024:>3} KiB  pfn@{a.pfn_pte_shift:<2} "
            f"dcache={dc:<20} icache={ic:<22} tlb={a.tlb.name:<14} pg_arch_1={pg:<18} "
            f"overrides={','.join(own) or '-'}")
