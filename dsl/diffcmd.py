"""`ptdl diff A B`: two archs or variants side by side.

Place in the flow: a pure function of two dsl.model.Arch values plus the
command wrapper.  Settings, fields (bit range, role, polarity, PFN part),
derived predicates, mutators, prot entries, caches/TLB/PG_arch_1, CPU
features and each of the four calls (in words, dsl/describe.py) are
compared; only differences are printed, side by side (key, A, B; calls
line by line aligned, `|` changed, `<` only in A, `>` only in B).
"""

from __future__ import annotations

import argparse
import sys

from .command import Command, load_ok, need_arch, root_of
from .describe import call_summary
from . import catalog
from .model import Arch, Choice, Field, FlagOp, Stmt, When, expr_text


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
        "mutators": {m.name: " ".join(_stmt_words(a, m.body)) for m in a.mutators},
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


def _stmt_words(a: Arch, body: tuple[Stmt, ...]) -> list[str]:
    """A mutator body as archdef-like text, one item per statement."""
    out: list[str] = []
    for st in body:
        if isinstance(st, FlagOp):
            out.append(f"{st.op} {st.target.text}" + (f"={st.value}" if st.value is not None else ""))
        elif isinstance(st, When):
            text = f"when {expr_text(st.cond)} {{ {' '.join(_stmt_words(a, st.then))} }}"
            if st.orelse:
                text += f" else {{ {' '.join(_stmt_words(a, st.orelse))} }}"
            out.append(text)
        else:
            out.append(type(st).__name__)
    return out


def _pairs(la: list[str], lb: list[str]) -> list[tuple[str, str, str]]:
    """Align two line lists: (mark, left, right); mark ' ' same, '|' changed,
    '<' only left, '>' only right."""
    import difflib
    out: list[tuple[str, str, str]] = []
    sm = difflib.SequenceMatcher(a=la, b=lb, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out += [(" ", la[i], lb[j]) for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        left, right = la[i1:i2], lb[j1:j2]
        for k in range(max(len(left), len(right))):
            x = left[k] if k < len(left) else ""
            y = right[k] if k < len(right) else ""
            out.append(("|" if x and y else "<" if x else ">", x, y))
    return out


def diff(a: Arch, b: Arch) -> str:
    """a and b side by side: only what differs, field by field and call by
    call.  Columns: the key, A's value, B's value ('-' where absent)."""
    ta, tb = _table(a), _table(b)
    sections: list[tuple[str, list[tuple[str, str, str]]]] = []
    for section in ta:
        ka, kb = ta[section], tb[section]
        rows = [(key, ka.get(key, "-"), kb.get(key, "-"))
                for key in sorted(set(ka) | set(kb), key=lambda k: (k not in ka, k))
                if ka.get(key) != kb.get(key)]
        if rows:
            sections.append((section, rows))
    calls: list[tuple[str, list[tuple[str, str, str]]]] = []
    for name in catalog.ALL_CALLS:
        ca, cb = a.call(name), b.call(name)
        la = call_summary(a, ca) if ca is not None else ["(missing)"]
        lb = call_summary(b, cb) if cb is not None else ["(missing)"]
        if la != lb:
            calls.append((name, _pairs(la, lb)))
    if not sections and not calls:
        return f"(no differences: {a.name} and {b.name} describe the same behaviour)\n"
    kw = max([len(k) for _, rows in sections for k, _, _ in rows] + [3])
    lw = max([len(x) for _, rows in sections for _, x, _ in rows]
             + [len(x) for _, rows in calls for _, x, _ in rows] + [len(a.name)])
    lw = min(lw, 60)
    import textwrap

    def row(key: str, x: str, sep: str, y: str) -> list[str]:
        """One row; a long left cell wraps within its column."""
        pad = len(x) - len(x.lstrip(" "))
        parts = textwrap.wrap(x, lw, initial_indent="", subsequent_indent=" " * (pad + 2),
                              drop_whitespace=True) if len(x) > lw else [x]
        lines = [f"{key:<{kw}}  {(' ' * pad if len(x) > lw else '') + parts[0]:<{lw}} {sep} {y}"]
        lines += [f"{'':<{kw}}  {p:<{lw}} {sep}" for p in parts[1:]]
        return lines

    out = [f"{'':<{kw}}  {a.name:<{lw}} | {b.name}"]
    for section, rows in sections:
        out.append(f"[{section}]")
        for k, x, y in rows:
            out += row(k, x, "|", y)
    for name, pairs in calls:
        out.append(f"[{name}]")
        for m, x, y in pairs:
            out += row(m, x, "|" if m == " " else m, y)
    return "\n".join(ln.rstrip() for ln in out) + "\n"


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
    "PG_arch_1 and each of the four calls in words, side by side: only what differs.",
    cmd_diff, _configure)
