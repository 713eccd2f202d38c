"""Backend: `ptdl show ARCH` — the PTE layout as a bit diagram, in words.

Place in the flow: a pure function of dsl.model.Arch.  Each field gets a
one-letter key drawn over its bits (PFN bits as '#', unused bits as '.',
bits shared by overlapping fields as '*'); the legend below names every
field with its bits and role; then the caches, TLB, PG_arch_1 and the
behaviour of each call.
"""

from __future__ import annotations

import string

from . import catalog
from .describe import call_summary
from .model import Arch, expr_text

_KEYS = string.ascii_lowercase + string.ascii_uppercase + string.digits


def field_keys(a: Arch) -> dict[str, str]:
    """The one-letter key of each field in the diagram ('#' for PFN parts)."""
    keys: dict[str, str] = {}
    i = 0
    for f in a.fields:
        if f.role == "pfn":
            keys[f.name] = "#"
            continue
        keys[f.name] = _KEYS[i % len(_KEYS)]
        i += 1
    return keys


def diagram(a: Arch) -> list[str]:
    keys = field_keys(a)
    cells = ["."] * a.word_bits
    for f in a.fields:
        for b in range(max(0, f.lo), min(a.word_bits - 1, f.hi) + 1):
            cells[b] = keys[f.name] if cells[b] == "." else "*"
    out: list[str] = []
    for top in range(a.word_bits - 1, -1, -32):
        bits = list(range(top, top - 32, -1))
        head = ""
        glyph = ""
        for g in range(0, 32, 8):
            hi, lo = bits[g], bits[g + 7]
            head += f"{hi:<4}{lo:>4} "
            glyph += "".join(cells[b] for b in bits[g:g + 8]) + " "
        out.append("  " + head.rstrip())
        out.append("  " + glyph.rstrip())
    return out


def _bits(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}..{hi}"


def _choice(c: object) -> str:
    from .model import Choice
    assert isinstance(c, Choice)
    parts = []
    for cond, k in c.options:
        params = ",".join(f"{key}={v}" for key, v in k.params)
        kind = f"{k.name}({params})" if params else k.name
        parts.append(f"{kind} when {expr_text(cond)}" if cond is not None else kind)
    return " else ".join(parts)


def prot_lines(a: Arch) -> list[str]:
    """vm_get_page_prot() for the 16 combinations, literal entries marked."""
    from .generate.layout import prot_table
    names = [n for n in catalog.VM_FLAGS]
    out = ["vm_get_page_prot:"]
    for flags, v in enumerate(prot_table(a)):
        label = "|".join(n for i, n in enumerate(names) if flags & (1 << i)) or "none"
        e = a.prot_entry(flags) if flags & 7 else None
        note = f"  (entry, line {e.loc.line})" if e is not None else ""
        out.append(f"  {label:<24}0x{v:x}{note}")
    for w in a.prot_when:
        out.append(f"  when {expr_text(w.cond)}: "
                   + ", ".join([f"{p.key} += {' | '.join(n for n, _ in p.values)}" for p in w.items]
                               + [f"entry {e.label} = {' | '.join(n for n, _ in e.values)}"
                                  for e in w.entries]))
    return out


def render(a: Arch) -> str:
    keys = field_keys(a)
    lines = [f"{a.name}: {a.word_bits}-bit PTE, {a.page_size // 1024} KiB pages "
             f"(page_shift {a.page_shift}), {a.ptrs_per_pte} PTEs per table, "
             f"PFN_PTE_SHIFT {a.pfn_pte_shift}, {a.phys_bits}-bit physical addresses"]
    if a.parent:
        lines.append(f"extends {' <- '.join(a.lineage[1:])}")
    lines.append("")
    lines += diagram(a)
    lines.append("")
    lines.append(f"  {'key':<4}{'bits':<9}{'field':<14}role")
    for f in sorted(a.fields, key=lambda f: (-f.hi, f.name)):
        role = f.role or "-"
        if f.inverted:
            role += " (inverted: set means not)"
        if f.role == "pfn":
            role += f" (PFN bits {_bits(f.pfn_offset, f.pfn_offset + f.width - 1)})"
        if f.overlaps:
            role += f" [overlaps {', '.join(f.overlaps)}]"
        lines.append(f"  {keys[f.name]:<4}{_bits(f.lo, f.hi):<9}{f.name:<14}{role}")
    for d in a.derived:
        lines.append(f"  derived   {d.name} = {expr_text(d.expr)}")
    for t in a.transforms:
        how = "stored inverted" if t.kind == "invert" else "lowest set bit cleared by pte_pfn"
        lines.append(f"  transform {t.target} {how} when {expr_text(t.cond)}")
    if a.none_ignores is not None:
        lines.append(f"  pte_none  ignores {', '.join(a.none_ignores.names)}")
    if a.pfn_pte_applies is not None:
        lines.append(f"  pfn_pte   applies {', '.join(a.pfn_pte_applies.names)}")
    lines.append("")
    lines += prot_lines(a)
    lines.append("")
    lines.append(f"D-cache:   {_choice(a.dcache)}")
    lines.append(f"I-cache:   {_choice(a.icache)}")
    lines.append(f"TLB:       {a.tlb.name} — {catalog.TLB_KINDS.get(a.tlb.name, '')}")
    lz = a.lazy_mmu_kind()
    lines.append(f"Lazy MMU:  {lz} — {catalog.LAZY_MMU_KINDS.get(lz, '')}")
    pg = a.pg_arch_1_use if a.pg_arch_1_use == "none" else \
        f"{a.pg_arch_1_use} per {a.pg_arch_1_granularity}"
    lines.append(f"PG_arch_1: {pg}")
    if a.cpu_features:
        lines.append(f"CPU:       {', '.join(a.cpu_features)}")
    pf = "never" if a.prefault_old is None else expr_text(a.prefault_old)
    lines.append(f"prefaulted PTEs old: {'always' if pf == '1' else pf}")
    sp = a.call("set_ptes")
    if sp is not None and sp.generic:
        lines.append(f"PFN advance: {a.advance} — {catalog.ADVANCES.get(a.advance, '')}")
    for c in a.calls:
        lines.append("")
        lines.append(f"{c.name}{' (generic)' if c.generic else ''}:")
        lines += ["  " + s for s in call_summary(a, c)]
    return "\n".join(lines) + "\n"
