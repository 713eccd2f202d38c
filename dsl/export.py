"""Backend: the resolved model as plain data (JSON / YAML export).

Place in the flow: a pure function of dsl.model.Arch.  The schema is a
contract (shared/DESIGN.md): name, word_bits, page_shift, pfn_pte_shift,
fields (name, lo, hi, role or null, inverted), predicates (derived role ->
expression text), pg_arch_1 (use, granularity), cache, tlb, calls, and a
source (file, line) for every element.  Keys may be added, never renamed.
"""

from __future__ import annotations

import json
from typing import Any

from .model import (Arch, Choice, Each, EffectStmt, FlagOp, Stmt, When,
                    expr_text)
from .source import Loc

SCHEMA_VERSION = 1


def _src(loc: Loc) -> dict[str, Any]:
    return {"file": loc.path, "line": loc.line}


def stmt_data(s: Stmt) -> dict[str, Any]:
    if isinstance(s, When):
        return {"when": expr_text(s.cond), "then": [stmt_data(x) for x in s.then],
                "else": [stmt_data(x) for x in s.orelse], "source": _src(s.loc)}
    if isinstance(s, Each):
        return {"each": s.kind, "of": s.source, "reverse": s.reverse,
                "body": [stmt_data(x) for x in s.body], "source": _src(s.loc)}
    if isinstance(s, FlagOp):
        d: dict[str, Any] = {s.op: s.target.text, "source": _src(s.loc)}
        if s.value is not None:
            d["value"] = s.value
        return d
    assert isinstance(s, EffectStmt)
    d2: dict[str, Any] = {"effect": s.name, "arg": s.positional, "params": dict(s.params),
                          "source": _src(s.loc)}
    if s.body:
        d2["per_entry"] = [stmt_data(x) for x in s.body]
    return d2


def _choice(c: Choice) -> list[dict[str, Any]]:
    return [{"when": expr_text(cond) if cond is not None else None, "kind": k.name,
             "params": {key: val for key, val in k.params}, "source": _src(k.loc)}
            for cond, k in c.options]


def _empty(a: Arch) -> int:
    v = 0
    if a.empty_pte is not None:
        for name, val in a.empty_pte.values:
            f = a.field(name)
            if f is not None:
                v |= f.mask if val is None else (val << f.lo) & f.mask
    return v


def arch_data(a: Arch) -> dict[str, Any]:
    from .describe import call_summary
    return {
        "schema": SCHEMA_VERSION,
        "name": a.name,
        "extends": a.parent,
        "lineage": list(a.lineage),
        "word_bits": a.word_bits,
        "page_shift": a.page_shift,
        "page_size": a.page_size,
        "ptrs_per_pte": a.ptrs_per_pte,
        "phys_bits": a.phys_bits,
        "pfn_pte_shift": a.pfn_pte_shift,
        "max_folio_order": a.max_folio_order,
        "fields": [{"name": f.name, "lo": f.lo, "hi": f.hi, "role": f.role,
                    "inverted": f.inverted, "pfn_offset": f.pfn_offset,
                    "overlaps": list(f.overlaps), "mask": hex(f.mask),
                    "kernel": f.kernel, "source": _src(f.loc)} for f in a.fields],
        "predicates": {d.name: expr_text(d.expr) for d in a.derived},
        "predicate_sources": {d.name: _src(d.loc) for d in a.derived},
        "mutators": {m.name: [stmt_data(s) for s in m.body] for m in a.mutators},
        "transforms": [{t.kind: t.target, "when": expr_text(t.cond), "source": _src(t.loc)}
                       for t in a.transforms],
        "prot": {p.key: {"fields": {n: v for n, v in p.values}, "source": _src(p.loc)}
                 for p in a.prot},
        "prot_entries": [{"vm_flags": e.flags, "names": list(e.names),
                          "fields": {n: v for n, v in e.values}, "source": _src(e.loc)}
                         for e in a.prot_entries],
        "prot_when": [{"when": expr_text(w.cond),
                       "keys": {p.key: {n: v for n, v in p.values} for p in w.items},
                       "entries": [{"vm_flags": e.flags, "fields": {n: v for n, v in e.values}}
                                   for e in w.entries],
                       "source": _src(w.loc)} for w in a.prot_when],
        "none_ignores": None if a.none_ignores is None else {
            "fields": list(a.none_ignores.names), "source": _src(a.none_ignores.loc)},
        "pfn_pte_applies": None if a.pfn_pte_applies is None else {
            "mutators": list(a.pfn_pte_applies.names), "source": _src(a.pfn_pte_applies.loc)},
        "pg_arch_1": {"use": a.pg_arch_1_use, "granularity": a.pg_arch_1_granularity,
                      "source": _src(a.pg_arch_1_loc)},
        "cache": {"dcache": _choice(a.dcache), "icache": _choice(a.icache)},
        "tlb": {"kind": a.tlb.name, "source": _src(a.tlb.loc)},
        "lazy_mmu": {"kind": a.lazy_mmu_kind(),
                     "source": _src(a.lazy_mmu.loc) if a.lazy_mmu is not None else None},
        "advance": a.advance,
        "cpu_features": list(a.cpu_features),
        "prefault_old": expr_text(a.prefault_old) if a.prefault_old is not None else None,
        "primitives": {p.key: p.c_name for p in a.primitives},
        "calls": {c.name: {"generic": c.generic, "body": [stmt_data(s) for s in c.body],
                           "summary": call_summary(a, c), "source": _src(c.loc)}
                  for c in a.calls},
        "empty_pte": hex(_empty(a)),
        "sw_mkyoung": a.sw_mkyoung,
        "highmem": a.highmem or None,
        "page_table_check": a.supports_page_table_check(),
        "config": None if a.config is None else {
            "defconfig": a.config.defconfig, "fragments": list(a.config.fragments),
            "source": _src(a.config.loc)},
        "kernel_diffs": [{"version": k.version, "fact": k.fact, "commit": k.commit,
                          "source": _src(k.loc)} for k in a.kernel_diffs],
        "citations": [{"kind": c.kind, "text": c.text, "source": _src(c.loc)} for c in a.cites],
        "source": _src(a.loc),
    }


def dumps(a: Arch, fmt: str) -> str:
    data = arch_data(a)
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    import yaml        # only for --format yaml
    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100))
