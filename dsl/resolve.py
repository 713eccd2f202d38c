"""Resolve declarations into flat models: inheritance, overrides, defaults.

Place in the flow: after dsl/parse.py, before dsl/check.py.  For each arch
the chain root..leaf is merged (a child's setting, field, predicate,
mutator, prot key, cache key, primitive or call replaces the parent's of the
same name; `drop NAME` removes an inherited field or predicate (or the
inherited `none_ignores` / `pfn_pte` statement); citations
and CPU features accumulate, `drop cpu X` removes an inherited feature and
the prot `when` blocks that test it), then defaults are filled in.  Problems that
make a model impossible (missing parent, cycle, duplicate arch) are
reported here; everything else is dsl/check.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import catalog
from .model import (Arch, BoolOp, Call, Choice, Cite, Derived, Expr, Field, KConfig, Not, Ref,
                    KernelDiff, Kind, Mutator, NameList, Num, Primitive, ProtEntry, ProtItem,
                    ProtWhen, Setting,
                    Transform)
from .decls import ArchDecl
from .source import Diagnostic, Loc, Note
from .suggest import did_you_mean


@dataclass
class Resolved:
    archs: dict[str, Arch]
    decls: dict[str, ArchDecl]
    diags: list[Diagnostic]


def _dups(items: list[tuple[str, Loc]], what: str) -> list[Diagnostic]:
    """A diagnostic for every name declared twice within one declaration."""
    first: dict[str, Loc] = {}
    out: list[Diagnostic] = []
    for name, loc in items:
        if name in first:
            out.append(Diagnostic(loc, f"duplicate {what} '{name}'",
                                  notes=(Note(first[name], "first declared here"),)))
        else:
            first[name] = loc
    return out


def _decl_duplicates(d: ArchDecl) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    out += _dups([(k, s.loc) for k, s in d.settings], "setting")
    names = [(f.name, f.loc) for f in d.fields] + [(x.name, x.loc) for x in d.derived]
    out += _dups(names, "field or predicate")
    out += _dups([(m.name, m.loc) for m in d.mutators], "mutator")
    out += _dups([(t.key, t.loc) for t in d.transforms], "transform of")
    out += _dups([(p.key, p.loc) for p in d.prot], "prot entry")
    out += _dups([(k, c.loc) for k, c in d.cache], "cache setting")
    out += _dups([("tlb", k.loc) for k in d.tlb], "setting")
    out += _dups([("lazy_mmu", k.loc) for k in d.lazy_mmu], "setting")
    out += _dups([("advance", loc) for _, loc in d.advance], "setting")
    out += _dups([("pg_arch_1", loc) for _, _, loc in d.pg_arch_1], "setting")
    out += _dups([("prefault_old", loc) for _, loc in d.prefault], "setting")
    out += _dups(d.cpu, "cpu feature")
    out += _dups([(p.key, p.loc) for p in d.primitives], "primitive")
    out += _dups([(c.name, c.loc) for c in d.calls], "call")
    out += _dups([("empty_pte", e.loc) for e in d.empty], "setting")
    out += _dups([("config", c.loc) for c in d.configs], "setting")
    out += _dups([(k.fact, k.loc) for k in d.kernel_diffs], "kernel_diff of")
    for p in d.prot:
        out += _dups([(n, p.loc) for n, _ in p.values], "field in prot entry")
    known = [e for e in d.prot_entries if all(n in catalog.VM_FLAGS for n in e.names)]
    out += _dups([(_vm_label(e.flags), e.loc) for e in known], "prot entry for")
    for e in d.prot_entries:
        locs = [e.name_locs[i] if i < len(e.name_locs) else e.loc for i in range(len(e.names))]
        for n, loc in zip(e.names, locs):
            if n not in catalog.VM_FLAGS:
                out.append(Diagnostic(loc, f"unknown VM flag '{n}' in prot entry (one of "
                                      f"{', '.join(catalog.VM_FLAGS)})"))
        out += _dups([(n, e.loc) for n, _ in e.values], "field in prot entry")
        out += _dups(list(zip(e.names, locs)), "VM flag in prot entry")
    out += _dups([("none_ignores", x.loc) for x in d.none_ignores], "setting")
    out += _dups([("pfn_none", x.loc) for x in d.pfn_nones], "setting")
    out += _dups([("pfn_pte", x.loc) for x in d.pfn_pte_applies], "setting")
    for x in d.none_ignores:
        out += _dups([(n, x.loc_of(i)) for i, n in enumerate(x.names)], "field in none_ignores")
    return out


def _vm_label(flags: int) -> str:
    """The canonical name of a VM_* combination: 'write|shared'."""
    return "|".join(n for n, bit in catalog.VM_FLAGS.items() if flags & bit) or "none"


def _chain(name: str, decls: dict[str, ArchDecl]) -> tuple[list[ArchDecl], Diagnostic | None]:
    """Root-first list of declarations, or why there is none."""
    chain: list[ArchDecl] = []
    seen: list[str] = []
    cur: str | None = name
    while cur is not None:
        if cur in seen:
            cycle = " -> ".join(seen[seen.index(cur):] + [cur])
            d0 = decls[name]
            return [], Diagnostic(d0.parent_loc or d0.loc, f"inheritance cycle: {cycle}")
        seen.append(cur)
        d = decls[cur]
        chain.append(d)
        if d.parent is not None and d.parent not in decls:
            return [], Diagnostic(d.parent_loc or d.loc,
                                  f"arch '{d.name}' extends unknown arch '{d.parent}'")
        cur = d.parent
    chain.reverse()
    return chain, None


def resolve(decl_list: list[ArchDecl]) -> Resolved:
    diags: list[Diagnostic] = []
    decls: dict[str, ArchDecl] = {}
    for d in decl_list:
        if d.name in decls:
            diags.append(Diagnostic(d.loc, f"duplicate arch '{d.name}'",
                                    notes=(Note(decls[d.name].loc, "first declared here"),)))
            continue
        decls[d.name] = d
        diags += _decl_duplicates(d)
    archs: dict[str, Arch] = {}
    for name in decls:
        chain, err = _chain(name, decls)
        if err is not None:
            diags.append(err)
            continue
        diags += _cpu_drop_errors(chain)
        archs[name] = merge(chain)
    return Resolved(archs, decls, diags)


def _tests_cpu(e: Expr, name: str) -> bool:
    """Does the expression read cpu.NAME?"""
    if isinstance(e, Ref):
        return e.path == ("cpu", name)
    if isinstance(e, Not):
        return _tests_cpu(e.arg, name)
    if isinstance(e, BoolOp):
        return any(_tests_cpu(x, name) for x in e.args)
    return False


def _cpu_drop_errors(chain: list[ArchDecl]) -> list[Diagnostic]:
    """`drop cpu X` in the leaf must name a feature an ancestor declares."""
    leaf = chain[-1]
    inherited = {n for d in chain[:-1] for n, _ in d.cpu}
    return [Diagnostic(loc, f"drop cpu: no inherited CPU feature '{n}'"
                       f"{did_you_mean(n, sorted(inherited))}")
            for n, loc in leaf.cpu_drops if n not in inherited]


def merge(chain: list[ArchDecl]) -> Arch:
    """Flatten root..leaf declarations into one Arch (later ones override)."""
    leaf = chain[-1]
    settings: dict[str, Setting] = {}
    fields: dict[str, Field] = {}
    derived: dict[str, Derived] = {}
    mutators: dict[str, Mutator] = {}
    transforms: dict[str, Transform] = {}
    prot: dict[str, ProtItem] = {}
    cache: dict[str, Choice] = {}
    tlb: Kind | None = None
    lazy_mmu: Kind | None = None
    advance: tuple[str, Loc] | None = None
    pg: tuple[str, str | None, Loc] | None = None
    cpu: dict[str, Loc] = {}
    prefault: tuple[Expr | None, Loc] | None = None
    prims: dict[str, Primitive] = {}
    calls: dict[str, Call] = {}
    cites: list[Cite] = []
    empty: ProtItem | None = None
    sw_young = False
    highmem: tuple[str, Loc] | None = None
    kconfig: KConfig | None = None
    kdiffs: dict[str, KernelDiff] = {}
    entries: dict[int, ProtEntry] = {}
    none_ign: NameList | None = None
    pfn_applies: NameList | None = None
    prot_when: list[ProtWhen] = []
    pfn_none: Transform | None = None
    for d in chain:
        prot_when += d.prot_when
        for e in d.prot_entries:
            if all(n in catalog.VM_FLAGS for n in e.names):
                entries[e.flags] = e
        dropped = {n for n, _ in d.drops}
        if "none_ignores" in dropped:
            none_ign = None
        if "pfn_pte" in dropped:
            pfn_applies = None
        if d.none_ignores:
            none_ign = d.none_ignores[-1]
        if "pfn_none" in dropped:
            pfn_none = None
        if d.pfn_nones:
            pfn_none = d.pfn_nones[-1]
        if d.pfn_pte_applies:
            pfn_applies = d.pfn_pte_applies[-1]
        if d.configs:
            kconfig = d.configs[-1]
        for fact, _loc in d.kernel_diff_drops:
            kdiffs.pop(fact, None)
        for kd in d.kernel_diffs:
            kdiffs[kd.fact] = kd
        if d.empty:
            empty = d.empty[-1]
        if d.sw_mkyoung:
            sw_young = True
        if d.highmem:
            highmem = d.highmem[-1]
        for k, s in d.settings:
            settings[k] = s
        for name, _ in d.drops:
            fields.pop(name, None)
            derived.pop(name, None)
        for f in d.fields:
            derived.pop(f.name, None)
            fields[f.name] = f
        for x in d.derived:
            fields.pop(x.name, None)
            derived[x.name] = x
        for m in d.mutators:
            mutators[m.name] = m
        for t in d.transforms:
            transforms[t.key] = t
        for p in d.prot:
            prot[p.key] = p
        for k, c in d.cache:
            cache[k] = c
        if d.tlb:
            tlb = d.tlb[-1]
        if d.lazy_mmu:
            lazy_mmu = d.lazy_mmu[-1]
        if d.advance:
            advance = d.advance[-1]
        if d.pg_arch_1:
            pg = d.pg_arch_1[-1]
        for n, loc in d.cpu:
            cpu.setdefault(n, loc)
        for n, _ in d.cpu_drops:
            cpu.pop(n, None)
            prims.pop(f"cpu_has_{n}", None)     # its C test goes with it
            prot_when = [w for w in prot_when if not _tests_cpu(w.cond, n)]
        if d.prefault:
            prefault = d.prefault[-1]
        for pr in d.primitives:
            prims[pr.key] = pr
        for call in d.calls:
            calls[call.name] = call
        cites += d.cites

    def num(key: str, default: int) -> int:
        s = settings.get(key)
        return s.value if s is not None else default

    page_shift = num("page_shift", 12)
    ptrs = num("ptrs_per_pte", 512)
    pfn0 = [f for f in fields.values() if f.role == "pfn" and f.pfn_offset == 0]
    default_shift = pfn0[0].lo if pfn0 else page_shift
    pmd_order = max(0, ptrs.bit_length() - 1)
    where = leaf.loc

    def pick(key: str, default_kind: str) -> Choice:
        c = cache.get(key)
        if c is not None:
            return c
        return Choice(((None, Kind(default_kind, (), where)),), where, leaf.name)

    prefault_expr: Expr | None
    if prefault is None:
        prefault_expr = None
    else:
        prefault_expr = prefault[0] if prefault[0] is not None else Num(1, prefault[1])
    gran = "none"
    use = "none"
    pg_loc = where
    if pg is not None:
        use, g, pg_loc = pg
        gran = g if g is not None else ("none" if use == "none" else "folio")
    return Arch(
        name=leaf.name,
        parent=leaf.parent,
        loc=leaf.loc,
        lineage=tuple(d.name for d in reversed(chain)),
        word_bits=num("word", 64),
        page_shift=page_shift,
        ptrs_per_pte=ptrs,
        phys_bits=num("phys_bits", 0),
        pfn_pte_shift=num("pfn_pte_shift", default_shift),
        max_folio_order=num("max_folio_order", pmd_order),
        settings=tuple(sorted(settings.items())),
        fields=tuple(sorted(fields.values(), key=lambda f: (f.lo, f.hi, f.name))),
        derived=tuple(derived.values()),
        mutators=tuple(sorted(mutators.values(), key=lambda m: m.name)),
        transforms=tuple(transforms.values()),
        prot=tuple(prot.values()),
        dcache=pick("dcache", "pipt"),
        icache=pick("icache", "coherent"),
        tlb=tlb if tlb is not None else Kind("hardware", (), where),
        advance=advance[0] if advance is not None else "pfn_shift",
        advance_loc=advance[1] if advance is not None else where,
        pg_arch_1_use=use,
        pg_arch_1_granularity=gran,
        pg_arch_1_loc=pg_loc,
        cpu_features=tuple(sorted(cpu)),
        prefault_old=prefault_expr,
        primitives=tuple(sorted(prims.values(), key=lambda p: p.key)),
        calls=tuple(calls[c] for c in catalog.CALLS if c in calls)
        + tuple(c for n, c in calls.items() if n not in catalog.CALLS),
        cites=tuple(cites),
        empty_pte=empty,
        sw_mkyoung=sw_young,
        highmem=highmem[0] if highmem is not None else "",
        highmem_loc=highmem[1] if highmem is not None else None,
        config=kconfig,
        kernel_diffs=tuple(kdiffs.values()),
        prot_entries=tuple(entries[f] for f in sorted(entries)),
        none_ignores=none_ign,
        pfn_pte_applies=pfn_applies,
        prot_when=tuple(prot_when),
        pfn_none=pfn_none,
        lazy_mmu=lazy_mmu,
    )
