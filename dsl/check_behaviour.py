"""Behaviour checks: caches, TLB, PG_arch_1, misc settings, and the four
calls (statements, effects, conditions, predicates, the PFN advance).

Place in the flow: part of dsl/check.py's checker (a mixin over
dsl/check_base.py's CheckerBase).
"""

from __future__ import annotations

import re

from . import catalog
from .model import (AnyOf, BoolOp, Compare, Each, EffectStmt, Expr, FlagOp, Not,
                    Num, ProtEntry, ProtItem, Ref, Stmt, When, walk_expr, walk_stmts)
from .source import Loc, Note
from .suggest import closest, did_you_mean
from .check_base import CheckerBase, advance_problem

C_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class BehaviourChecks(CheckerBase):
    def cpu_expr(self, e: Expr, origin: str, where: str) -> None:
        for x in walk_expr(e):
            if isinstance(x, Ref):
                if len(x.path) != 2 or x.path[0] != "cpu":
                    self.err(x.loc, f"{where} may only test CPU features (cpu.NAME), "
                             f"not '{x.text}'", origin)
                elif x.path[1] not in self.a.cpu_features:
                    self.err(x.loc, f"unknown cpu feature '{x.path[1]}'"
                             f"{did_you_mean(x.path[1], self.a.cpu_features)}", origin)
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
                    self.err(k.loc, f"unknown {key} kind '{k.name}'{did_you_mean(k.name, kinds)} "
                             f"(one of {', '.join(kinds)})", choice.origin)
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
        if a.highmem and a.highmem not in catalog.KMAP_KINDS and a.highmem_loc is not None:
            self.err(a.highmem_loc, f"unknown highmem kmap kind '{a.highmem}'"
                     f"{did_you_mean(a.highmem, catalog.KMAP_KINDS)} (one of "
                     f"{', '.join(catalog.KMAP_KINDS)})", a.name)
        if a.tlb.name not in catalog.TLB_KINDS:
            self.err(a.tlb.loc, f"unknown tlb kind '{a.tlb.name}'"
                     f"{did_you_mean(a.tlb.name, catalog.TLB_KINDS)} (one of "
                     f"{', '.join(catalog.TLB_KINDS)})", a.name)
        elif a.tlb.params:
            self.err(a.tlb.loc, f"tlb kind '{a.tlb.name}' takes no parameters", a.name)
        lz = a.lazy_mmu
        if lz is not None:
            if lz.name not in catalog.LAZY_MMU_KINDS:
                self.err(lz.loc, f"unknown lazy_mmu kind '{lz.name}'"
                         f"{did_you_mean(lz.name, catalog.LAZY_MMU_KINDS)} (one of "
                         f"{', '.join(catalog.LAZY_MMU_KINDS)})", a.name)
            elif lz.params:
                self.err(lz.loc, f"lazy_mmu kind '{lz.name}' takes no parameters", a.name)

    def misc(self) -> None:
        a = self.a
        if a.advance not in catalog.ADVANCES:
            self.err(a.advance_loc, f"unknown advance strategy '{a.advance}'"
                     f"{did_you_mean(a.advance, catalog.ADVANCES)} (one of "
                     f"{', '.join(catalog.ADVANCES)})", a.name)
        if a.pg_arch_1_use not in catalog.PG_ARCH_1_USES:
            self.err(a.pg_arch_1_loc, f"unknown PG_arch_1 use '{a.pg_arch_1_use}'"
                     f"{did_you_mean(a.pg_arch_1_use, catalog.PG_ARCH_1_USES)}", a.name)
        elif a.pg_arch_1_use == "none" and a.pg_arch_1_granularity != "none":
            self.err(a.pg_arch_1_loc, "`pg_arch_1 none` takes no granularity", a.name)
        elif a.pg_arch_1_use != "none" and a.pg_arch_1_granularity not in catalog.GRANULARITIES:
            self.err(a.pg_arch_1_loc, f"unknown PG_arch_1 granularity "
                     f"'{a.pg_arch_1_granularity}' (folio or page)", a.name)
        if a.prefault_old is not None:
            self.cpu_expr(a.prefault_old, a.name, "prefault_old")
        for p in a.primitives:
            if p.key.startswith(catalog.CPU_PRIMITIVE_PREFIX):
                feat = p.key[len(catalog.CPU_PRIMITIVE_PREFIX):]
                if feat not in a.cpu_features:
                    self.err(p.loc, f"primitive '{p.key}' names undeclared CPU feature '{feat}'"
                             f"{did_you_mean(feat, a.cpu_features)}", p.origin)
                elif not p.c_name.strip() or "\n" in p.c_name or p.c_name.count("(") != p.c_name.count(")"):
                    self.err(p.loc, f"primitive '{p.key}' is not a one-line C expression", p.origin)
                continue
            if p.key not in catalog.PRIMITIVE_KEYS:
                self.err(p.loc, f"unknown primitive '{p.key}'"
                         f"{did_you_mean(p.key, catalog.PRIMITIVE_KEYS)}", p.origin)
            if not C_IDENT.match(p.name) or ("(" in p.c_name and not p.ptr_size
                                               and not p.per_page and not p.vma_range):
                hint = (f" (or NAME{catalog.PTR_SIZE_SUFFIX}, NAME{catalog.PER_PAGE_SUFFIX},"
                        f" NAME{catalog.VMA_RANGE_SUFFIX})"
                        if "(" in p.c_name else "")
                self.err(p.loc, f"primitive name {p.c_name!r} is not a C identifier{hint}",
                         p.origin)
            elif p.ptr_size and p.key not in catalog.PTR_SIZE_EFFECTS:
                self.err(p.loc, f"primitive '{p.key}' cannot take {catalog.PTR_SIZE_SUFFIX} "
                         f"(only {', '.join(catalog.PTR_SIZE_EFFECTS)})", p.origin)
            elif p.per_page and p.key not in catalog.PER_PAGE_EFFECTS:
                self.err(p.loc, f"primitive '{p.key}' cannot take {catalog.PER_PAGE_SUFFIX} "
                         f"(only {', '.join(catalog.PER_PAGE_EFFECTS)})", p.origin)
            elif p.vma_range and p.key not in catalog.VMA_RANGE_EFFECTS:
                self.err(p.loc, f"primitive '{p.key}' cannot take {catalog.VMA_RANGE_SUFFIX} "
                         f"(only {', '.join(catalog.VMA_RANGE_EFFECTS)})", p.origin)
        if not C_IDENT.match(a.name):
            self.err(a.loc, f"arch name '{a.name}' is not an identifier", a.name)
        kinds = {c.kind for c in a.cites}
        for kind in ("source", "seed"):
            if kind not in kinds:
                self.err(a.loc, f"no `{kind}` citation: every archdef cites the kernel "
                         f"{'files' if kind == 'source' else 'seed patch'} it follows", a.name)

    def prot_cpu(self) -> None:
        """`when cpu.X { KEY = ...  entry FLAGS = ... }` in the prot block:
        the condition tests CPU features only; keys, flags and fields as in
        the unconditional prot block."""
        a = self.a
        for w in a.prot_when:
            self.cpu_expr(w.cond, w.origin, "a prot `when` condition")
            named: list[tuple[str, ProtItem | ProtEntry]] = []
            for p in w.items:
                if p.key not in catalog.PROT_KEYS:
                    self.err(p.loc, f"unknown prot entry '{p.key}'"
                             f"{did_you_mean(p.key, catalog.PROT_KEYS)} (one of "
                             f"{', '.join(catalog.PROT_KEYS)})", p.origin)
                named.append((f"'{p.key}'", p))
            for e in w.entries:
                if not e.flags & 7:
                    self.err(e.loc, f"prot entry '{e.label}' has none of read, write, exec: "
                             "that is PAGE_NONE, written `none = ...`", e.origin)
                for n in e.names:
                    if n not in catalog.VM_FLAGS:
                        self.err(e.loc, f"unknown VM flag '{n}' in prot entry (one of "
                                 f"{', '.join(catalog.VM_FLAGS)})", e.origin)
                named.append((f"'{e.label}'", e))
            for label, x in named:
                for name, value in x.values:
                    f = a.field(name)
                    if f is None:
                        self.err(x.loc, f"prot entry {label} names unknown field '{name}'"
                                 f"{did_you_mean(name, self.field_names)}", x.origin)
                    elif value is not None and value.bit_length() > max(0, f.width):
                        self.err(x.loc, f"value {value} does not fit field '{name}' "
                                 f"({f.width} bits)", x.origin)
                    elif f.role == "pfn":
                        self.err(x.loc, f"prot entry {label} may not set PFN field '{name}'",
                                 x.origin)

    # -- lints (warnings; issue 10 item 11) --------------------------------
    def lints(self) -> None:
        """Descriptions that check clean but say something no kernel means:
        a TLB that caches invalid entries with no fence, an I-cache that
        needs syncing with no sync, a per-folio `secure` PG_arch_1, a
        PG_arch_1 set but never tested.  Warnings: the broken fixtures that
        reproduce such kernels must still generate."""
        a = self.a
        # the four calls of the range API: the PMD hooks run only with
        # `thp 1` and the cache calls around the API do not map pages
        range_calls = [c for c in a.calls if c.name in catalog.CALLS]
        stmts = [s for c in range_calls for s in walk_stmts(c.body)]
        effects = {s.name for s in stmts if isinstance(s, EffectStmt)}
        fence_calls = {c.name for c in range_calls
                       if any(isinstance(s, EffectStmt) and s.name == "tlb_flush_page"
                              for s in walk_stmts(c.body))}
        def at(loc: Loc, what: str) -> tuple[Loc, tuple[Note, ...]]:
            """An inherited element is reported at the arch, with a note."""
            if loc.path == a.loc.path:
                return loc, ()
            return a.loc, (Note(loc, f"{what} inherited from here"),)
        if a.tlb.name == "caches_invalid" and not fence_calls:
            loc, notes = at(a.tlb.loc, "tlb caches_invalid")
            self.warn(loc, "tlb caches_invalid, but no call fences a new mapping "
                      "(tlb_flush_page in update_mmu_cache_range or set_ptes): the first "
                      "access through an entry the TLB cached as invalid faults again",
                      a.name, notes)
        syncs = {"sync_icache", "inval_icache", "flush_dcache", "clean_dcache",
                 "icache_flush_all"} & effects
        kinds = [k for _, k in a.icache.options]
        needs = [k for k in kinds if k.name == "needs_sync"]
        if needs and not syncs:
            loc, notes = at(needs[0].loc, "icache needs_sync")
            self.warn(loc, "icache needs_sync, but no call syncs it (sync_icache, "
                      "inval_icache, flush_dcache, clean_dcache or icache_flush_all): "
                      "instruction fetch can see stale memory", a.name, notes)
        if a.pg_arch_1_use == "secure" and a.pg_arch_1_granularity == "folio":
            loc, notes = at(a.pg_arch_1_loc, "pg_arch_1 secure per folio")
            self.warn(loc, "PG_arch_1 'secure' per folio: the Ultravisor makes one "
                      "4 KiB page secure per call (s390 arch/s390/kernel/uv.c make_folio_secure "
                      "refuses large folios), so one bit for a large folio claims pages that "
                      "are not; write `per page`", a.name, notes)
        tested: set[str] = set()
        for s in stmts:
            if isinstance(s, When):
                for x in walk_expr(s.cond):
                    if isinstance(x, Ref) and len(x.path) == 2 and x.path[1] == "pg_arch_1":
                        tested.add(x.path[0])
        for c in range_calls:
            for s in walk_stmts(c.body):
                if (isinstance(s, FlagOp) and s.op == "set" and len(s.target.path) == 2
                        and s.target.path[1] == "pg_arch_1"
                        and s.target.path[0] not in tested):
                    self.warn(s.loc, f"{s.target.text} is set here but no call tests it: "
                              "the flag saves no work and means nothing", c.origin)

    # -- behaviour ----------------------------------------------------------
    def calls(self) -> None:
        a = self.a
        for c in a.calls:
            if c.name not in catalog.ALL_CALLS:
                self.err(c.loc, f"unknown call '{c.name}'{did_you_mean(c.name, catalog.ALL_CALLS)} (one of {', '.join(catalog.ALL_CALLS)})",
                         c.origin)
                continue
            # the user-page hooks work on one page, bound at the call: as
            # inside `each page` (page.aliases against the user vaddr)
            self.body(c.name, c.body, c.origin,
                      each="page" if c.name in catalog.USER_PAGE_CALLS else "", in_any=False)
            if c.name == "set_ptes" and not c.generic:
                counts = _store_counts(c.body)
                if counts != {1}:
                    bad = sorted(n for n in counts if n != 1)
                    self.err(c.loc, "set_ptes must run `store` exactly once on every path "
                             f"(some path runs it {bad[0]} times)", c.origin)
            if c.name == "set_pmd_at" and not c.generic:
                counts = _store_counts(c.body, "store_pmd")
                if counts != {1}:
                    bad = sorted(n for n in counts if n != 1)
                    self.err(c.loc, "set_pmd_at must run `store_pmd` exactly once on every "
                             f"path (some path runs it {bad[0]} times)", c.origin)
            for hook, eff in (("copy_user_highpage", "copy_page"),
                              ("clear_user_highpage", "clear_page")):
                if c.name == hook and not c.generic:
                    counts = _store_counts(c.body, eff)
                    if counts != {1}:
                        bad = sorted(n for n in counts if n != 1)
                        self.err(c.loc, f"{hook} must run `{eff}` exactly once on every "
                                 f"path (some path runs it {bad[0]} times)", c.origin)
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
                if each == "pte" and s.kind == "page" and s.source == "range":
                    # the page the entry maps (issue 10 item 11): no loop
                    self.body(call, s.body, origin, "pte+page", in_any)
                    continue
                if each:
                    self.err(s.loc, "loops do not nest (only `each page` -- the page "
                             "the entry maps -- nests in `each pte` or a store body)", origin)
                if s.kind == "pte" and call not in ("set_ptes", "update_mmu_cache_range"):
                    self.err(s.loc, f"`each pte` is not available in {call}", origin)
                if s.kind == "mapping":
                    if s.source not in catalog.EACH_MAPPING_SOURCES or s.reverse:
                        self.err(s.loc, "`each mapping` walks a folio's i_mmap: write "
                                 "`each mapping of folio`", origin)
                    self.body(call, s.body, origin, s.kind, in_any)
                    continue
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
                self.err(s.target.loc, f"unknown field '{path[1]}'"
                         f"{did_you_mean(path[1], self.field_names)}", origin)
            elif f.name in self.bad_fields:
                pass
            elif s.value is not None and (s.op == "clear" or s.value.bit_length() > max(0, f.width)):
                self.err(s.loc, f"value {s.value} does not fit field '{f.name}'", origin)
            return
        if s.target.text not in catalog.FLAG_TARGETS:
            self.err(s.target.loc, f"cannot {s.op} '{s.target.text}'"
                     f"{did_you_mean(s.target.text, catalog.FLAG_TARGETS)} (one of "
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
        if obj == "page" and "page" not in each.split("+"):
            self.err(r.loc, f"'{r.text}' is only available inside `each page`", origin)
        if obj == "folio" and "folio" not in catalog.CALL_OBJECTS[call]:
            self.err(r.loc, f"no folio in {call}", origin)

    def effect(self, call: str, s: EffectStmt, origin: str, each: str) -> None:
        e = catalog.EFFECTS.get(s.name)
        if e is None:
            self.err(s.loc, f"unknown effect '{s.name}'{did_you_mean(s.name, catalog.EFFECTS)}",
                     origin)
            return
        if call not in e.calls:
            self.err(s.loc, f"effect '{s.name}' is not allowed in {call}", origin)
        if e.needs_each and e.needs_each not in each.split("+") and call not in catalog.PMD_CALLS:
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
            elif s.positional == "page" and "page" not in each.split("+"):
                self.err(s.loc, f"'{s.name}(page)' is only available inside `each page`", origin)
            elif s.positional == "folio" and "folio" not in catalog.CALL_OBJECTS[call]:
                self.err(s.loc, f"no folio in {call}", origin)
        elif s.positional is not None:
            self.err(s.loc, f"effect '{s.name}' takes no positional argument", origin)
        for k, v in s.params:
            allowed = e.params.get(k)
            if allowed is None:
                self.err(s.loc, f"effect '{s.name}' has no parameter '{k}'"
                         f"{did_you_mean(k, e.params)}", origin)
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
                self.err(r.loc, f"unknown cpu feature '{attr}'"
                         f"{did_you_mean(attr, a.cpu_features)}", origin)
            return
        if obj in catalog.PTE_OBJECTS:
            if obj in ("old", "new") and not (in_any or "pte" in each.split("+")):
                self.err(r.loc, f"'{obj}' is only bound inside any() or `each pte`", origin)
            if obj == "pte" and call not in catalog.ENTRY_CALLS:
                self.err(r.loc, f"no pte in {call}", origin)
            if attr == "pfn":
                if not in_cmp:
                    self.err(r.loc, f"'{r.text}' is a number; compare it (==, !=)", origin)
            elif attr not in self.names and attr not in self.roles:
                known = "a role, field or predicate of this arch"
                why = f"'{attr}' is not {known}"
                if attr in catalog.ROLES:
                    why = f"this arch has no field with role '{attr}'"
                else:
                    why += did_you_mean(attr, self.names | self.roles | {"pfn"})
                self.err(r.loc, f"unknown predicate '{r.text}': {why}", origin)
            return
        preds = catalog.OBJECT_PREDICATES.get(obj)
        if preds is None:
            objs = tuple(catalog.OBJECT_PREDICATES) + catalog.PTE_OBJECTS + ("cpu",)
            self.err(r.loc, f"unknown predicate '{r.text}': no object '{obj}'"
                     f"{did_you_mean(obj, objs)} (pte, old, new, folio, page, pfn, vma, mm, cpu)",
                     origin)
            return
        if attr not in preds:
            self.err(r.loc, f"unknown predicate '{r.text}'"
                     f"{_qualified(obj, closest(attr, preds))} ({obj} has "
                     f"{', '.join(sorted(preds))})", origin)
            return
        if obj == "page" and "page" not in each.split("+"):
            self.err(r.loc, f"'{r.text}' is only available inside `each page`", origin)
        elif obj in ("vma", "mm") and each == "mapping":
            pass        # `each mapping` binds the VMA and its mm
        elif obj != "page" and obj not in catalog.CALL_OBJECTS[call]:
            self.err(r.loc, f"no {obj} in {call}", origin)
        if attr == "pg_arch_1":
            self.pg_flag_ref(call, r, origin, each)

    def advance(self) -> None:
        a = self.a
        c = a.call("set_ptes")
        if c is None or not self.word_ok or any(f.name in self.bad_fields for f in a.pfn_fields):
            return      # no proof over a layout that is already wrong
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


def _qualified(obj: str, attr: str | None) -> str:
    return f" (did you mean '{obj}.{attr}'?)" if attr is not None else ""


def _store_counts(body: tuple[Stmt, ...], name: str = "store") -> set[int]:
    """How many `name` effects each path through body runs (capped at 2)."""
    counts = {0}
    for s in body:
        if isinstance(s, EffectStmt) and s.name == name:
            counts = {min(2, n + 1) for n in counts}
            if _store_counts(s.body, name) != {0}:
                counts = {2}
        elif isinstance(s, When):
            branch = _store_counts(s.then, name) | _store_counts(s.orelse, name)
            counts = {min(2, n + m) for n in counts for m in branch}
        elif isinstance(s, Each):
            inner = _store_counts(s.body)
            if inner != {0}:
                counts = {2}
    return counts
