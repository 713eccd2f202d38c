"""Semantic checks over resolved models: every error, located and sorted.

Place in the flow: after dsl/resolve.py; backends run only on models this
module finds clean.  Each check reports at the element it concerns; an
error on an element inherited from a parent is reported at the child arch
with a note pointing at the parent's text (and not at all when the parent
itself already has the same error).

The PFN-advance proof (`advance_problem`) is the correctness claim behind
additive store loops, written out in the README: adding 2^s to the raw
entry steps the PFN by one iff PFN bit 0 sits at PTE bit s, the PFN is not
stored transformed, and the low PFN field is wide enough that stepping
within the largest naturally aligned folio never carries out of it.
"""

from __future__ import annotations

import re

from . import catalog
from .model import (AnyOf, Arch, BoolOp, Compare, Each, EffectStmt,
                    Expr, Field, FlagOp, Not, Num, Ref, Stmt, When, expr_text,
                    walk_expr, walk_stmts)
from .resolve import Resolved
from .source import Diagnostic, Loc, Note

C_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_Found = tuple[Diagnostic, str]   # diagnostic, origin arch of the element


def advance_problem(a: Arch, strategy: str) -> str | None:
    """Why an additive PFN advance is not provably safe for a's layout."""
    if strategy not in catalog.ADVANCES or strategy == "repack":
        return None
    shift = a.page_shift if strategy == "page_size" else a.pfn_pte_shift
    low = [f for f in a.role_fields("pfn") if f.pfn_offset == 0]
    if not low:
        return None
    f = low[0]
    if f.lo != shift:
        return (f"advance '{strategy}' adds 1 << {shift} to the entry, but PFN bit 0 "
                f"is PTE bit {f.lo} (field '{f.name}')")
    t = a.pfn_transform()
    if t is not None and strategy != "pfn_shift_invert_aware":
        return (f"advance '{strategy}' adds to the raw entry, but the PFN is stored "
                f"inverted when {expr_text(t.cond)} ({t.loc}); such a PFN would move "
                f"backwards: use pfn_shift_invert_aware or repack")
    if f.width < a.max_folio_order:
        rest = [g for g in a.role_fields("pfn") if g is not f]
        split = f"; PFN bits {f.width} and up live in '{rest[0].name}'" if rest else ""
        return (f"advance '{strategy}' can carry out of PFN field '{f.name}' "
                f"({f.width} bits) within a folio of order {a.max_folio_order}{split}")
    return None


class _ArchChecker:
    def __init__(self, a: Arch) -> None:
        self.a = a
        self.found: list[_Found] = []
        self.field_names = {f.name for f in a.fields}
        self.names = self.field_names | {d.name for d in a.derived}
        self.roles = {f.role for f in a.fields if f.role} | \
            {d.name for d in a.derived if d.name in catalog.ROLES}

    def err(self, loc: Loc, msg: str, origin: str, notes: tuple[Note, ...] = ()) -> None:
        self.found.append((Diagnostic(loc, msg, notes=notes), origin))

    # -----------------------------------------------------------------
    def run(self) -> list[_Found]:
        self.settings()
        self.layout()
        self.derived()
        self.mutators()
        self.transforms()
        self.prot()
        self.caches()
        self.misc()
        self.calls()
        self.advance()
        return self.found

    def settings(self) -> None:
        a = self.a
        for key, s in a.settings:
            lo, hi = catalog.SETTINGS[key]
            if key == "word" and s.value not in (32, 64):
                self.err(s.loc, f"word must be 32 or 64, not {s.value}", s.origin)
            elif not lo <= s.value <= hi:
                self.err(s.loc, f"{key} {s.value} is out of range {lo}..{hi}", s.origin)
        for key in catalog.REQUIRED_SETTINGS:
            if a.setting(key) is None:
                self.err(a.loc, f"missing required setting '{key}'", a.name)
        ptrs = a.setting("ptrs_per_pte")
        if ptrs is not None and ptrs.value & (ptrs.value - 1):
            self.err(ptrs.loc, f"ptrs_per_pte {ptrs.value} is not a power of two", ptrs.origin)
        mfo = a.setting("max_folio_order")
        pmd_order = max(0, a.ptrs_per_pte.bit_length() - 1)
        if mfo is not None and mfo.value > pmd_order:
            self.err(mfo.loc, f"max_folio_order {mfo.value} exceeds the PMD order "
                     f"{pmd_order} (set_ptes never crosses a PTE table)", mfo.origin)
        ps = a.setting("page_shift")
        if ps is not None and ps.value >= a.word_bits:
            self.err(ps.loc, f"page_shift {ps.value} does not fit a {a.word_bits}-bit word", ps.origin)
        pb = a.setting("phys_bits")
        if pb is not None and pb.value > a.word_bits + a.page_shift:
            self.err(pb.loc, f"phys_bits {pb.value} exceeds what a {a.word_bits}-bit entry can hold", pb.origin)

    def layout(self) -> None:
        a = self.a
        for f in a.fields:
            if f.role is not None and f.role not in catalog.ROLES:
                self.err(f.loc, f"unknown role '{f.role}'", f.origin)
            if f.lo > f.hi:
                self.err(f.loc, f"bit range {f.lo}..{f.hi} is reversed", f.origin)
            elif f.hi >= a.word_bits:
                where = f"bit {f.lo}" if f.lo == f.hi else f"bit range {f.lo}..{f.hi}"
                self.err(f.loc, f"{where} lies outside the {a.word_bits}-bit word", f.origin)
            if f.role == "pfn" and f.inverted:
                self.err(f.loc, "a pfn field cannot be inverted; describe a conditional "
                         "inversion with `invert pfn when ...`", f.origin)
            if f.role != "pfn" and f.pfn_offset:
                self.err(f.loc, "'@' (PFN bit offset) applies to pfn fields only", f.origin)
            if f.name in catalog.BOOL_ROLES and f.role != f.name:
                self.err(f.loc, f"field '{f.name}' is named after role '{f.name}' but "
                         f"{'has no role' if f.role is None else 'has role ' + repr(f.role)}",
                         f.origin)
            for o in f.overlaps:
                if o not in self.field_names:
                    self.err(f.loc, f"field '{f.name}' overlaps unknown field '{o}'", f.origin)
        # One diagnostic per field: at the later-declared field of a colliding
        # pair, naming the earliest field it collides with.  Fields are
        # bucketed per bit (the word is at most 64 bits; an out-of-range word
        # is reported by settings()), so this stays linear in the number of
        # fields and never builds masks wider than 64 bits.
        # "Earlier" means declared by an ancestor, then earlier in the text,
        # so the answer does not depend on how the files' paths sort.
        top = min(a.word_bits, 64)
        rank = {n: i for i, n in enumerate(reversed(a.lineage))}
        ok = sorted((f for f in a.fields if 0 <= f.lo <= f.hi < top),
                    key=lambda x: (rank.get(x.origin, len(rank)), x.loc, x.name))
        order = {id(f): i for i, f in enumerate(ok)}
        at_bit: list[list[Field]] = [[] for _ in range(top)]
        for second in ok:
            first: Field | None = None
            for b in range(second.lo, second.hi + 1):
                for f in at_bit[b]:
                    if first is not None and order[id(f)] >= order[id(first)]:
                        break
                    if second.name not in f.overlaps and f.name not in second.overlaps:
                        first = f
                        break
            for b in range(second.lo, second.hi + 1):
                at_bit[b].append(second)
            if first is not None:
                common = first.mask & second.mask
                lo = (common & -common).bit_length() - 1
                hi = common.bit_length() - 1
                bits = f"bit {lo}" if lo == hi else f"bits {lo}..{hi}"
                self.err(second.loc, f"field '{second.name}' overlaps field '{first.name}' "
                         f"({bits}); add `overlaps {first.name}` if intended", second.origin,
                         (Note(first.loc, f"'{first.name}' declared here"),))
        for role in catalog.BOOL_ROLES:
            givers: list[tuple[str, Loc, str]] = [(f.name, f.loc, f.origin) for f in a.fields if f.role == role]
            givers += [(d.name, d.loc, d.origin) for d in a.derived if d.name == role]
            if len(givers) > 1:
                givers.sort(key=lambda g: g[1])
                self.err(givers[1][1], f"role '{role}' is given by both '{givers[0][0]}' "
                         f"and '{givers[1][0]}'", givers[1][2],
                         (Note(givers[0][1], f"'{givers[0][0]}' declared here"),))
        for role in ("present", "pfn"):
            if role not in self.roles:
                self.err(a.loc, f"the pte block has no field with role '{role}'", a.name)
        pfn = a.pfn_fields
        expect = 0
        for f in pfn:
            if f.pfn_offset != expect:
                self.err(f.loc, f"PFN field '{f.name}' holds PFN bits from {f.pfn_offset}, "
                         f"but the PFN fields before it end at bit {expect - 1}"
                         if expect else f"PFN field '{f.name}' starts at PFN bit {f.pfn_offset}; "
                         "some pfn field must hold PFN bit 0", f.origin)
            expect = f.pfn_offset + max(0, f.width)
        if pfn and a.phys_bits and a.pfn_bits + a.page_shift < a.phys_bits:
            need = a.phys_bits - a.page_shift
            f = pfn[-1]
            self.err(f.loc, f"PFN fields hold {a.pfn_bits} bits, but phys_bits {a.phys_bits} "
                     f"with page_shift {a.page_shift} needs {need}", f.origin)

    # -- pte-level expressions -------------------------------------------
    def pte_expr(self, e: Expr, origin: str, where: str) -> None:
        for x in walk_expr(e):
            if isinstance(x, Ref):
                if len(x.path) != 1:
                    self.err(x.loc, f"'{x.text}': {where} may name only fields and "
                             "predicates of this pte block", origin)
                elif x.path[0] not in self.names and x.path[0] not in catalog.PTE_EXPR_BUILTINS \
                        and x.path[0] not in self.roles:
                    self.err(x.loc, f"unknown field or predicate '{x.path[0]}'", origin)
            elif isinstance(x, (Compare, AnyOf, Num)):
                self.err(x.loc, f"{where} may not use comparisons, numbers or any()", origin)

    def derived(self) -> None:
        a = self.a
        deps: dict[str, list[str]] = {}
        derived_names = {d.name for d in a.derived}
        for d in a.derived:
            if d.name in catalog.ROLES and d.name not in catalog.BOOL_ROLES:
                self.err(d.loc, f"role '{d.name}' cannot be a derived predicate", d.origin)
            self.pte_expr(d.expr, d.origin, "a derived predicate")
            deps[d.name] = [x.path[0] for x in walk_expr(d.expr)
                            if isinstance(x, Ref) and x.path[0] in derived_names]
        state: dict[str, int] = {}
        for start in deps:
            stack = [(start, 0)]
            path: list[str] = []
            while stack:
                n, i = stack.pop()
                if i == 0:
                    if state.get(n) == 2:
                        continue
                    if state.get(n) == 1:
                        d = a.derived_named(start)
                        assert d is not None
                        self.err(d.loc, f"derived predicate '{start}' depends on itself", d.origin)
                        break
                    state[n] = 1
                    path.append(n)
                if i < len(deps.get(n, [])):
                    stack.append((n, i + 1))
                    stack.append((deps[n][i], 0))
                else:
                    state[n] = 2
                    path.pop()
            else:
                continue
            break

    def mutator_stmts(self, body: tuple[Stmt, ...], origin: str) -> None:
        a = self.a
        for s in body:
            if isinstance(s, FlagOp):
                if len(s.target.path) != 1 or a.field(s.target.path[0]) is None:
                    self.err(s.loc, f"a mutator sets and clears fields of this pte block; "
                             f"'{s.target.text}' is not one", origin)
                    continue
                f = a.field(s.target.path[0])
                assert f is not None
                if s.value is not None and (s.op == "clear" or s.value.bit_length() > max(0, f.width)):
                    self.err(s.loc, f"value {s.value} does not fit field '{f.name}' "
                             f"({f.width} bits)" if s.op == "set" else "`clear` takes no value",
                             origin)
            elif isinstance(s, When):
                self.pte_expr(s.cond, origin, "a mutator condition")
                self.mutator_stmts(s.then, origin)
                self.mutator_stmts(s.orelse, origin)
            else:
                self.err(s.loc, "a mutator may only set and clear fields (under `when`)", origin)

    def mutators(self) -> None:
        a = self.a
        for m in a.mutators:
            if m.name not in catalog.MUTATORS:
                self.err(m.loc, f"unknown mutator '{m.name}'", m.origin)
            self.mutator_stmts(m.body, m.origin)
        for name, (role, _) in catalog.MUTATORS.items():
            if a.mutator(name) is not None:
                continue
            d = a.derived_named(role)
            if d is not None:
                self.err(d.loc, f"role '{role}' is derived; define mutator '{name}'", d.origin)
                continue
            wide = [f for f in a.role_fields(role) if f.width > 1]
            if wide:
                self.err(wide[0].loc, f"role '{role}' has a {wide[0].width}-bit field; "
                         f"define mutator '{name}'", wide[0].origin)

    def transforms(self) -> None:
        for t in self.a.transforms:
            if t.target != "pfn":
                self.err(t.loc, f"only `invert pfn` is supported, not `invert {t.target}`",
                         t.origin)
            self.pte_expr(t.cond, t.origin, "a transform condition")

    def prot(self) -> None:
        a = self.a
        for p in a.prot:
            if p.key not in catalog.PROT_KEYS:
                self.err(p.loc, f"unknown prot entry '{p.key}' (one of "
                         f"{', '.join(catalog.PROT_KEYS)})", p.origin)
            for name, value in p.values:
                f = a.field(name)
                if f is None:
                    self.err(p.loc, f"prot entry '{p.key}' names unknown field '{name}'", p.origin)
                elif value is not None and value.bit_length() > max(0, f.width):
                    self.err(p.loc, f"value {value} does not fit field '{name}' ({f.width} bits)",
                             p.origin)
                elif f.role == "pfn":
                    self.err(p.loc, f"prot entry '{p.key}' may not set PFN field '{name}'", p.origin)
        for e in a.prot_entries:
            if not e.flags & 7:
                self.err(e.loc, f"prot entry '{e.label}' has none of read, write, exec: "
                         "that is PAGE_NONE, written `none = ...`", e.origin)
            for name, value in e.values:
                f = a.field(name)
                if f is None:
                    self.err(e.loc, f"prot entry '{e.label}' names unknown field '{name}'",
                             e.origin)
                elif value is not None and value.bit_length() > max(0, f.width):
                    self.err(e.loc, f"value {value} does not fit field '{name}' ({f.width} bits)",
                             e.origin)
                elif f.role == "pfn":
                    self.err(e.loc, f"prot entry '{e.label}' may not set PFN field '{name}'",
                             e.origin)
        ni = a.none_ignores
        if ni is not None:
            for i, name in enumerate(ni.names):
                f = a.field(name)
                if f is None:
                    self.err(ni.loc_of(i), f"none_ignores names unknown field '{name}'",
                             ni.origin)
                elif f.role == "pfn":
                    self.err(ni.loc_of(i), f"none_ignores may not name PFN field '{name}'",
                             ni.origin)
        pa = a.pfn_pte_applies
        if pa is not None:
            for i, name in enumerate(pa.names):
                if name not in catalog.MUTATORS:
                    self.err(pa.loc_of(i), f"pfn_pte applies unknown mutator '{name}' (one of "
                             f"{', '.join(catalog.MUTATORS)})", pa.origin)
                elif a.mutator(name) is None and not a.role_fields(catalog.MUTATORS[name][0]):
                    self.err(pa.loc_of(i), f"pfn_pte applies '{name}', but the layout has no "
                             f"'{catalog.MUTATORS[name][0]}' field and no mutator '{name}'",
                             pa.origin)
        if a.empty_pte is not None:
            for name, _ in a.empty_pte.values:
                if a.field(name) is None:
                    self.err(a.empty_pte.loc, f"empty_pte names unknown field '{name}'",
                             a.empty_pte.origin)
        for key in ("base", "none"):
            if a.prot_item(key) is None:
                self.err(a.loc, f"missing prot entry '{key}' (needed for vm_get_page_prot)", a.name)

    def cpu_expr(self, e: Expr, origin: str, where: str) -> None:
        for x in walk_expr(e):
            if isinstance(x, Ref):
                if len(x.path) != 2 or x.path[0] != "cpu":
                    self.err(x.loc, f"{where} may only test CPU features (cpu.NAME), "
                             f"not '{x.text}'", origin)
                elif x.path[1] not in self.a.cpu_features:
                    self.err(x.loc, f"unknown cpu feature '{x.path[1]}'", origin)
            elif isinstance(x, (Compare, AnyOf, Num)):
                self.err(x.loc, f"{where} may not use comparisons, numbers or any()", origin)

    def caches(self) -> None:
        a = self.a
        for key, choice, kinds in (("dcache", a.dcache, catalog.DCACHE_KINDS),
                                   ("icache", a.icache, catalog.ICACHE_KINDS)):
            for cond, k in choice.options:
                if cond is not None:
                    self.cpu_expr(cond, choice.origin, f"a {key} choice")
                if k.name not in kinds:
                    self.err(k.loc, f"unknown {key} kind '{k.name}' (one of {', '.join(kinds)})",
                             choice.origin)
                    continue
                for pk, pv in k.params:
                    if pk != "colours" or k.name not in catalog.ALIASING_DCACHE:
                        self.err(k.loc, f"{key} kind '{k.name}' takes no parameter "
                                 f"'{pk or pv}'", choice.origin)
                if k.name in catalog.ALIASING_DCACHE:
                    c = k.param("colours")
                    n = int(c) if c.isdigit() else 0
                    if n < 2 or n & (n - 1):
                        self.err(k.loc, f"{k.name} needs colours=N with N a power of two >= 2",
                                 choice.origin)
        if a.tlb.name not in catalog.TLB_KINDS:
            self.err(a.tlb.loc, f"unknown tlb kind '{a.tlb.name}' (one of "
                     f"{', '.join(catalog.TLB_KINDS)})", a.name)
        elif a.tlb.params:
            self.err(a.tlb.loc, f"tlb kind '{a.tlb.name}' takes no parameters", a.name)

    def misc(self) -> None:
        a = self.a
        if a.advance not in catalog.ADVANCES:
            self.err(a.advance_loc, f"unknown advance strategy '{a.advance}' (one of "
                     f"{', '.join(catalog.ADVANCES)})", a.name)
        if a.pg_arch_1_use not in catalog.PG_ARCH_1_USES:
            self.err(a.pg_arch_1_loc, f"unknown PG_arch_1 use '{a.pg_arch_1_use}'", a.name)
        elif a.pg_arch_1_use == "none" and a.pg_arch_1_granularity != "none":
            self.err(a.pg_arch_1_loc, "`pg_arch_1 none` takes no granularity", a.name)
        elif a.pg_arch_1_use != "none" and a.pg_arch_1_granularity not in catalog.GRANULARITIES:
            self.err(a.pg_arch_1_loc, f"unknown PG_arch_1 granularity "
                     f"'{a.pg_arch_1_granularity}' (folio or page)", a.name)
        if a.prefault_old is not None:
            self.cpu_expr(a.prefault_old, a.name, "prefault_old")
        for p in a.primitives:
            if p.key not in catalog.PRIMITIVE_KEYS:
                self.err(p.loc, f"unknown primitive '{p.key}'", p.origin)
            if not C_IDENT.match(p.c_name):
                self.err(p.loc, f"primitive name {p.c_name!r} is not a C identifier", p.origin)
        if not C_IDENT.match(a.name):
            self.err(a.loc, f"arch name '{a.name}' is not an identifier", a.name)
        kinds = {c.kind for c in a.cites}
        for kind in ("source", "seed"):
            if kind not in kinds:
                self.err(a.loc, f"no `{kind}` citation: every archdef cites the kernel "
                         f"{'files' if kind == 'source' else 'seed patch'} it follows", a.name)

    # -- behaviour ----------------------------------------------------------
    def calls(self) -> None:
        a = self.a
        for c in a.calls:
            if c.name not in catalog.CALLS:
                self.err(c.loc, f"unknown call '{c.name}' (one of {', '.join(catalog.CALLS)})",
                         c.origin)
                continue
            self.body(c.name, c.body, c.origin, each="", in_any=False)
            if c.name == "set_ptes" and not c.generic:
                counts = _store_counts(c.body)
                if counts != {1}:
                    bad = sorted(n for n in counts if n != 1)
                    self.err(c.loc, "set_ptes must run `store` exactly once on every path "
                             f"(some path runs it {bad[0]} times)", c.origin)
        for name in catalog.CALLS:
            if a.call(name) is None:
                self.err(a.loc, f"missing required call '{name}' (write `{name} generic` "
                         "for the kernel's default)", a.name)

    def body(self, call: str, body: tuple[Stmt, ...], origin: str, each: str, in_any: bool) -> None:
        for s in body:
            if isinstance(s, When):
                self.cond(call, s.cond, origin, each, in_any)
                self.body(call, s.then, origin, each, in_any)
                self.body(call, s.orelse, origin, each, in_any)
            elif isinstance(s, Each):
                if s.kind not in catalog.EACH_KINDS:
                    self.err(s.loc, f"unknown loop 'each {s.kind}' (each pte, each page)", origin)
                    continue
                if each:
                    self.err(s.loc, "loops do not nest", origin)
                if s.kind == "pte" and call not in ("set_ptes", "update_mmu_cache_range"):
                    self.err(s.loc, f"`each pte` is not available in {call}", origin)
                if s.source not in catalog.EACH_SOURCES or (s.kind == "pte" and s.source != "range"):
                    self.err(s.loc, f"`each {s.kind} of {s.source}` is not a loop "
                             "(each pte, each page [of folio|range])", origin)
                self.body(call, s.body, origin, s.kind, in_any)
            elif isinstance(s, FlagOp):
                self.flag(call, s, origin, each)
            elif isinstance(s, EffectStmt):
                self.effect(call, s, origin, each)
                if s.body:
                    if s.name != "store":
                        self.err(s.loc, f"only `store` takes a per-entry body, not '{s.name}'", origin)
                    self.body(call, s.body, origin, "pte", in_any)
                    for inner in walk_stmts(s.body):
                        if isinstance(inner, EffectStmt) and inner.name == "store":
                            self.err(inner.loc, "`store` cannot nest", origin)

    def flag(self, call: str, s: FlagOp, origin: str, each: str) -> None:
        path = s.target.path
        if len(path) == 2 and path[0] == "pte":
            if call != "set_ptes":
                self.err(s.loc, "`set/clear pte.FIELD` modifies the entry set_ptes installs; "
                         f"not available in {call}", origin)
            f = self.a.field(path[1])
            if f is None:
                self.err(s.target.loc, f"unknown field '{path[1]}'", origin)
            elif s.value is not None and (s.op == "clear" or s.value.bit_length() > max(0, f.width)):
                self.err(s.loc, f"value {s.value} does not fit field '{f.name}'", origin)
            return
        if s.target.text not in catalog.FLAG_TARGETS:
            self.err(s.target.loc, f"cannot {s.op} '{s.target.text}' (one of "
                     f"{', '.join(catalog.FLAG_TARGETS)}, pte.FIELD)", origin)
            return
        self.pg_flag_ref(call, s.target, origin, each)

    def pg_flag_ref(self, call: str, r: Ref, origin: str, each: str) -> None:
        a = self.a
        obj = r.path[0]
        if a.pg_arch_1_granularity == "none":
            self.err(r.loc, f"'{r.text}' used, but the arch declares `pg_arch_1 none`", origin)
        elif obj == "folio" and a.pg_arch_1_granularity == "page":
            self.err(r.loc, "per-folio PG_arch_1 used by an arch that declares it per page",
                     origin, (Note(a.pg_arch_1_loc, "granularity declared here"),))
        elif obj == "page" and a.pg_arch_1_granularity == "folio":
            self.err(r.loc, "per-page PG_arch_1 used by an arch that declares it per folio",
                     origin, (Note(a.pg_arch_1_loc, "granularity declared here"),))
        if obj == "page" and each != "page":
            self.err(r.loc, f"'{r.text}' is only available inside `each page`", origin)
        if obj == "folio" and "folio" not in catalog.CALL_OBJECTS[call]:
            self.err(r.loc, f"no folio in {call}", origin)

    def effect(self, call: str, s: EffectStmt, origin: str, each: str) -> None:
        e = catalog.EFFECTS.get(s.name)
        if e is None:
            self.err(s.loc, f"unknown effect '{s.name}'", origin)
            return
        if call not in e.calls:
            self.err(s.loc, f"effect '{s.name}' is not allowed in {call}", origin)
        if e.needs_each and each != e.needs_each:
            self.err(s.loc, f"effect '{s.name}' belongs inside `each {e.needs_each}`", origin)
        if s.name == "store" and each:
            self.err(s.loc, "`store` is the loop itself; it cannot sit inside a loop", origin)
        if e.positional:
            if s.positional is None:
                self.err(s.loc, f"effect '{s.name}' needs an argument: {', '.join(e.positional)}",
                         origin)
            elif s.positional not in e.positional:
                self.err(s.loc, f"effect '{s.name}' takes {', '.join(e.positional)}, "
                         f"not '{s.positional}'", origin)
            elif s.positional == "page" and each != "page":
                self.err(s.loc, f"'{s.name}(page)' is only available inside `each page`", origin)
            elif s.positional == "folio" and "folio" not in catalog.CALL_OBJECTS[call]:
                self.err(s.loc, f"no folio in {call}", origin)
        elif s.positional is not None:
            self.err(s.loc, f"effect '{s.name}' takes no positional argument", origin)
        for k, v in s.params:
            allowed = e.params.get(k)
            if allowed is None:
                self.err(s.loc, f"effect '{s.name}' has no parameter '{k}'", origin)
            elif v not in allowed:
                self.err(s.loc, f"{s.name}({k}=...) takes {', '.join(allowed)}, not '{v}'", origin)

    def cond(self, call: str, e: Expr, origin: str, each: str, in_any: bool) -> None:
        todo: list[tuple[Expr, bool, bool]] = [(e, in_any, False)]
        while todo:
            x, inside_any, in_cmp = todo.pop()
            if isinstance(x, Not):
                todo.append((x.arg, inside_any, False))
            elif isinstance(x, BoolOp):
                todo.extend((y, inside_any, False) for y in x.args)
            elif isinstance(x, AnyOf):
                if call != "set_ptes":
                    self.err(x.loc, f"any() is only available in set_ptes, not {call}", origin)
                elif inside_any or each:
                    self.err(x.loc, "any() cannot nest inside any() or a loop", origin)
                todo.append((x.arg, True, False))
            elif isinstance(x, Compare):
                for side in (x.left, x.right):
                    if isinstance(side, Ref):
                        if len(side.path) == 2 and side.path[1] == "pfn" and side.path[0] in catalog.PTE_OBJECTS:
                            todo.append((side, inside_any, True))
                        else:
                            self.err(side.loc, f"only PFNs (pte.pfn, old.pfn, new.pfn) and "
                                     f"numbers can be compared, not '{side.text}'", origin)
                    elif not isinstance(side, Num):
                        self.err(side.loc, "only PFNs and numbers can be compared", origin)
            elif isinstance(x, Num):
                self.err(x.loc, "a number is not a condition", origin)
            elif isinstance(x, Ref):
                self.ref(call, x, origin, each, inside_any, in_cmp)

    def ref(self, call: str, r: Ref, origin: str, each: str, in_any: bool, in_cmp: bool) -> None:
        a = self.a
        if len(r.path) != 2:
            self.err(r.loc, f"unknown predicate '{r.text}'; predicates are written OBJECT.NAME "
                     "(pte.present, folio.pg_arch_1, vma.exec, cpu.FEATURE)", origin)
            return
        obj, attr = r.path
        if obj == "cpu":
            if attr not in a.cpu_features:
                self.err(r.loc, f"unknown cpu feature '{attr}'", origin)
            return
        if obj in catalog.PTE_OBJECTS:
            if obj in ("old", "new") and not (in_any or each == "pte"):
                self.err(r.loc, f"'{obj}' is only bound inside any() or `each pte`", origin)
            if obj == "pte" and call not in ("set_ptes", "update_mmu_cache_range"):
                self.err(r.loc, f"no pte in {call}", origin)
            if attr == "pfn":
                if not in_cmp:
                    self.err(r.loc, f"'{r.text}' is a number; compare it (==, !=)", origin)
            elif attr not in self.names and attr not in self.roles:
                known = "a role, field or predicate of this arch"
                why = f"'{attr}' is not {known}"
                if attr in catalog.ROLES:
                    why = f"this arch has no field with role '{attr}'"
                self.err(r.loc, f"unknown predicate '{r.text}': {why}", origin)
            return
        preds = catalog.OBJECT_PREDICATES.get(obj)
        if preds is None:
            self.err(r.loc, f"unknown predicate '{r.text}': no object '{obj}' (pte, old, new, "
                     "folio, page, vma, mm, cpu)", origin)
            return
        if attr not in preds:
            self.err(r.loc, f"unknown predicate '{r.text}' ({obj} has "
                     f"{', '.join(sorted(preds))})", origin)
            return
        if obj == "page" and each != "page":
            self.err(r.loc, f"'{r.text}' is only available inside `each page`", origin)
        elif obj != "page" and obj not in catalog.CALL_OBJECTS[call]:
            self.err(r.loc, f"no {obj} in {call}", origin)
        if attr == "pg_arch_1":
            self.pg_flag_ref(call, r, origin, each)

    def advance(self) -> None:
        a = self.a
        c = a.call("set_ptes")
        if c is None:
            return
        if c.generic:
            why = advance_problem(a, a.advance)
            if why is not None:
                self.err(a.advance_loc, why, a.name)
            return
        for s in walk_stmts(c.body):
            if isinstance(s, EffectStmt) and s.name == "store":
                strategy = s.param("advance", a.advance)
                why = advance_problem(a, strategy)
                if why is not None:
                    self.err(s.loc, why, c.origin)


def _store_counts(body: tuple[Stmt, ...]) -> set[int]:
    """How many `store` effects each path through body runs (capped at 2)."""
    counts = {0}
    for s in body:
        if isinstance(s, EffectStmt) and s.name == "store":
            counts = {min(2, n + 1) for n in counts}
            if _store_counts(s.body) != {0}:
                counts = {2}
        elif isinstance(s, When):
            branch = _store_counts(s.then) | _store_counts(s.orelse)
            counts = {min(2, n + m) for n in counts for m in branch}
        elif isinstance(s, Each):
            inner = _store_counts(s.body)
            if inner != {0}:
                counts = {2}
    return counts


def check(res: Resolved) -> list[Diagnostic]:
    """All diagnostics for the resolved archs (plus those from resolution)."""
    found: dict[str, set[tuple[Loc, str]]] = {}
    per_arch: dict[str, list[_Found]] = {}
    for name, a in res.archs.items():
        per_arch[name] = _ArchChecker(a).run()
        found[name] = {(d.loc, d.message) for d, _ in per_arch[name]}
    out = list(res.diags)
    for name, items in per_arch.items():
        a = res.archs[name]
        for d, origin in items:
            if origin == name:
                out.append(d)
                continue
            if any((d.loc, d.message) in found.get(anc, set()) for anc in a.lineage[1:]):
                continue
            out.append(Diagnostic(a.loc, f"in arch '{name}': {d.message}",
                                  notes=(Note(d.loc, f"inherited from arch '{origin}' here"),)
                                  + d.notes))
    return out


__all__ = ["check", "advance_problem"]
