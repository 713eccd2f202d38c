"""`ptdl diff A B`: two archs or variants side by side.

Place in the flow: a pure function of two dsl.model.Arch values plus the
command wrapper.  Settings, fields (bit range, role, polarity, PFN part),
derived predicates, mutators, prot entries, caches/TLB/PG_arch_1, CPU
features and each of the four calls (in words, dsl/describe.py) are
compared; only differences are printed, each as `- A` / `+ B` lines.
"""

from __future__ import annotations

import argparse
import sys

from .command import Command, load_ok, need_arch, root_of
from .describe import call_summary
from .model import Arch, Choice, Field, expr_text


def _bits(f: Field) -> str:
    return str(f.lo) if f.lo == f.hi else f"{f.lo}..{f.hi}"


def _field(f: Field) -> str:
    role = f.role or "-"
    if f.role == "pfn":
        role += f" @ {f.pfn_offset}"
    if f.inverted:
        role += " inverted"
    ov = f" overlaps {', '.join(f.overlaps)}" if f.overlaps else ""
    return f"{_bits(f)} : {role}{ov}"


def _choice(c: Choice) -> str:
    parts = []
    for cond, k in c.options:
        params = ",".join(f"{key}={v}" if key else v for key, v in k.params)
        kind = f"{k.name}({params})" if params else k.name
        parts.append(f"{kind} when {expr_text(cond)}" if cond is not None else kind)
    return " else ".join(parts)


def _table(a: Arch) -> dict[str, dict[str, str]]:
    """Section -> key -> one-line value; what diff compares."""
    settings = {"word": str(a.word_bits), "page_shift": str(a.page_shift),
                "ptrs_per_pte": str(a.ptrs_per_pte), "phys_bits": str(a.phys_bits),
                "pfn_pte_shift": str(a.pfn_pte_shift),
                "max_folio_order": str(a.max_folio_order), "advance": a.advance}
    return {
        "settings": settings,
        "fields": {f.name: _field(f) for f in a.fields},
        "predicates": {d.name: expr_text(d.expr) for d in a.derived},
        "mutators": {m.name: "; ".join(_stmt_words(a, m.body)) for m in a.mutators},
        "transforms": {t.target: f"inverted when {expr_text(t.cond)}" for t in a.transforms},
        "prot": {p.key: " | ".join(n if v is None else f"{n}={v}" for n, v in p.values)
                 for p in a.prot},
        "machine": {
            "dcache": _choice(a.dcache), "icache": _choice(a.icache), "tlb": a.tlb.name,
            "pg_arch_1": (a.pg_arch_1_use if a.pg_arch_1_use == "none"
                          else f"{a.pg_arch_1_use} per {a.pg_arch_1_granularity}"),
            "cpu": ", ".join(a.cpu_features) or "-",
            "prefault_old": "never" if a.prefault_old is None else expr_text(a.prefault_old),
            "empty_pte": "0" if a.empty_pte is None else
            " | ".join(n if v is None else f"{n}={v}" for n, v in a.empty_pte.values),
            "sw_mkyoung": "yes" if a.sw_mkyoung else "no",
        },
    }


def _stmt_words(a: Arch, body: tuple[object, ...]) -> list[str]:
    from .describe import stmt_lines
    return [s.strip() for s in stmt_lines(a, body)]  # type: ignore[arg-type]


def diff(a: Arch, b: Arch) -> str:
    """The differences between a and b, field by field and call by call."""
    out = [f"--- {a.name}", f"+++ {b.name}"]
    ta, tb = _table(a), _table(b)
    same = 0
    for section in ta:
        rows: list[str] = []
        ka, kb = ta[section], tb[section]
        for key in sorted(set(ka) | set(kb), key=lambda k: (k not in ka, k)):
            va, vb = ka.get(key), kb.get(key)
            if va == vb:
                same += 1
                continue
            if va is not None:
                rows.append(f"- {key:<16} {va}")
            if vb is not None:
                rows.append(f"+ {key:<16} {vb}")
        if rows:
            out.append(f"@@ {section} @@")
            out += rows
    for name in ("set_ptes", "update_mmu_cache_range", "flush_dcache_folio",
                 "flush_icache_pages"):
        ca, cb = a.call(name), b.call(name)
        la = call_summary(a, ca) if ca is not None else ["(missing)"]
        lb = call_summary(b, cb) if cb is not None else ["(missing)"]
        if la == lb:
            same += 1
            continue
        out.append(f"@@ {name} @@")
        import difflib
        for line in difflib.ndiff(la, lb):
            if line.startswith(("- ", "+ ", "  ")):
                out.append(line)
    if len(out) == 2:
        out.append(f"(no differences: {a.name} and {b.name} describe the same behaviour)")
    return "\n".join(out) + "\n"


def cmd_diff(args: argparse.Namespace) -> int:
    p = load_ok(root_of(args))
    if p is None:
        return 1
    if not (need_arch(p, args.a) and need_arch(p, args.b)):
        return 2
    sys.stdout.write(diff(p.archs[args.a], p.archs[args.b]))
    return 0


def _configure(d: argparse.ArgumentParser) -> None:
    d.add_argument("a", metavar="A", help="the first arch")
    d.add_argument("b", metavar="B", help="the second arch (e.g. a variant of A)")


DIFF = Command(
    "diff", "compare two archs or variants field by field and call by call",
    "Print what differs between arch A and arch B: settings, PTE fields (bits,\n"
    "role, polarity), predicates, mutators, prot entries, caches, TLB,\n"
    "PG_arch_1 and each of the four calls in words.  '-' lines are A's, '+' B's.",
    cmd_diff, _configure)
