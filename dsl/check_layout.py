"""Layout checks: settings, fields, derived predicates, mutators,
transforms, protections.

Place in the flow: part of dsl/check.py's checker (a mixin over
dsl/check_base.py's CheckerBase).  An invalid `word` or a reversed or
out-of-word range is recorded as a root cause (`word_ok`, `bad_fields`) and
the checks that would only repeat it skip.
"""

from __future__ import annotations

from . import catalog
from .model import (AnyOf, Compare, Expr, Field, FlagOp, Num, Ref, Stmt, When,
                    walk_expr)
from .source import Loc, Note
from .suggest import did_you_mean
from .check_base import CheckerBase


class LayoutChecks(CheckerBase):
    def settings(self) -> None:
        a = self.a
        for key, s in a.settings:
            if key not in catalog.SETTINGS:
                self.err(s.loc, f"unknown setting '{key}'"
                         f"{did_you_mean(key, catalog.SETTINGS)}", s.origin)
                continue
            lo, hi = catalog.SETTINGS[key]
            if key == "word" and s.value not in (32, 64):
                self.word_ok = False
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
        if not self.word_ok:
            return      # the checks below measure against the word
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
                self.err(f.loc, f"unknown role '{f.role}'{did_you_mean(f.role, catalog.ROLES)}",
                         f.origin)
            if f.lo > f.hi:
                self.bad_fields.add(f.name)
                self.err(f.loc, f"bit range {f.lo}..{f.hi} is reversed; write it low..high "
                         f"({f.hi}..{f.lo})", f.origin)
            elif f.hi >= a.word_bits and self.word_ok:
                self.bad_fields.add(f.name)
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
                    self.err(f.loc, f"field '{f.name}' overlaps unknown field '{o}'"
                             f"{did_you_mean(o, self.field_names)}", f.origin)
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
        if any(f.name in self.bad_fields for f in pfn) or not self.word_ok:
            return      # PFN widths over a bad range would only repeat that error
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
                    known = self.names | set(catalog.PTE_EXPR_BUILTINS) | self.roles
                    self.err(x.loc, f"unknown field or predicate '{x.path[0]}'"
                             f"{did_you_mean(x.path[0], known)}", origin)
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
                        cyc = a.derived_named(start)
                        assert cyc is not None
                        self.err(cyc.loc, f"derived predicate '{start}' depends on itself",
                                 cyc.origin)
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
                f = a.field(s.target.path[0]) if len(s.target.path) == 1 else None
                if f is None:
                    self.err(s.loc, f"a mutator sets and clears fields of this pte block; "
                             f"'{s.target.text}' is not one"
                             f"{did_you_mean(s.target.text, self.field_names)}", origin)
                    continue
                if f.name in self.bad_fields:
                    continue
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
                self.err(m.loc, f"unknown mutator '{m.name}'{did_you_mean(m.name, catalog.MUTATORS)}",
                         m.origin)
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
                self.err(t.loc, f"only `{t.kind} pfn` is supported, not `{t.kind} {t.target}`",
                         t.origin)
            self.pte_expr(t.cond, t.origin, "a transform condition")
        pn = self.a.pfn_none
        if pn is not None:
            self.pte_expr(pn.cond, pn.origin, "the pfn_none condition")

    def prot(self) -> None:
        a = self.a
        for p in a.prot:
            if p.key not in catalog.PROT_KEYS:
                self.err(p.loc, f"unknown prot entry '{p.key}' (one of "
                         f"{', '.join(catalog.PROT_KEYS)})", p.origin)
            for name, value in p.values:
                f = a.field(name)
                if f is None:
                    self.err(p.loc, f"prot entry '{p.key}' names unknown field '{name}'"
                             f"{did_you_mean(name, self.field_names)}", p.origin)
                elif f.name in self.bad_fields:
                    continue
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
                    self.err(e.loc, f"prot entry '{e.label}' names unknown field '{name}'"
                             f"{did_you_mean(name, self.field_names)}", e.origin)
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
                    self.err(ni.loc_of(i), f"none_ignores names unknown field '{name}'"
                             f"{did_you_mean(name, self.field_names)}", ni.origin)
                elif f.role == "pfn" and f.pfn_offset == 0:
                    # the low PFN field may not be ignored; a high part of a
                    # split PFN may (PPC32 64-bit PTEs: pte_none() ignores
                    # the upper word, asm/nohash/pte-e500.h _PTE_NONE_MASK)
                    self.err(ni.loc_of(i), f"none_ignores may not name PFN field '{name}'",
                             ni.origin)
        pa = a.pfn_pte_applies
        if pa is not None:
            for i, name in enumerate(pa.names):
                if name not in catalog.MUTATORS:
                    f = a.field(name)
                    if f is not None and f.width == 1 and f.role != "pfn":
                        continue        # a one-bit field pfn_pte() always sets
                    self.err(pa.loc_of(i), f"pfn_pte applies unknown mutator '{name}' (one of "
                             f"{', '.join(catalog.MUTATORS)}, or a one-bit field)", pa.origin)
                elif a.mutator(name) is None and not a.role_fields(catalog.MUTATORS[name][0]):
                    self.err(pa.loc_of(i), f"pfn_pte applies '{name}', but the layout has no "
                             f"'{catalog.MUTATORS[name][0]}' field and no mutator '{name}'",
                             pa.origin)
        if a.empty_pte is not None:
            for name, _ in a.empty_pte.values:
                if a.field(name) is None:
                    self.err(a.empty_pte.loc, f"empty_pte names unknown field '{name}'"
                             f"{did_you_mean(name, self.field_names)}", a.empty_pte.origin)
        for key in ("base", "none"):
            if a.prot_item(key) is None:
                self.err(a.loc, f"missing prot entry '{key}' (needed for vm_get_page_prot)", a.name)
