"""Conformance scenarios: the kernel's real call patterns, run on a fresh
``Kernel`` for one ``Arch`` and one set of CPU features.

Place in the flow: the generated tests (generated/tests/test_<arch>_
conformance.py) load the scenario list from ``runtime/scenarios/*.yaml``
(``load_scenarios``), and for every scenario and every combination of the
arch's CPU features call ``run(arch, cpu, scenario)``.  The ``Result``
holds the violations (runtime.oracle names plus the few added here), the
trace lines of the arch calls (what the C harness must print too) and the
call scripts (runtime.script) to replay on the generated C header.

Families (one YAML file each; parameters documented in
runtime/SCENARIOS-section.md):

* ``pgtable_props``: mm/debug_vm_pgtable.c pte_basic_tests (and the
  protnone test) over the 16 ``vm_get_page_prot`` values -> ``pte_property``;
* ``set_ptes_vs_set_pte_at``: one set_pte_range of nr pages and nr
  single-page ones give the same PTEs and the same user view ->
  ``set_ptes_equivalence``;
* ``pfn_advance``: set_ptes of folios at PFN-field boundaries (and the
  largest folio), PROT_NONE included; every entry i must be
  ``pfn_pte(pfn + i, prot)`` -> ``pte_value``;
* ``fault_around``: user reads over file VMAs with folios of orders
  0..PMD order (filemap_map_pages / filemap_map_folio_range) -> every PTE
  maps its file page (``pte_value``), plus the oracle;
* ``exec_after_kernel_write`` / ``read_after_kernel_write``: the kernel
  writes page-cache folios, several mms map them at several D-cache
  colours and execute / read them (``stale_insn`` / ``stale_data``);
  ``path: direct`` maps each folio with one set_pte_range (the
  deterministic form whose events dsl/generate/expect.py predicts);
* ``pg_arch_1_lifecycle``: the flag's meaning over its life
  (``pg_arch_1_state``); for ``secure`` (s390, per 4 KiB page) pages of a
  large folio are made secure one at a time and each must be tracked alone;
* ``page_table_check``: file, anon, COW and shared mappings, zaps;
* ``prefault``: set_pte_range with the FIXED prefault test (the faulting
  batch young, prefaulted batches old where
  ``arch_wants_old_prefaulted_pte``).  v6.6.0 had the test inverted
  (mm/memory.c ``prefault = in_range(...)``, fixed in 2024 to
  ``!in_range(...)``); ``Kernel(v66_prefault=True)`` models the bug, the
  scenarios the fix -> ``prefault_young`` / ``prefault_old``;
* ``tlb``: software TLB preload and invalid-entry fencing
  (``tlb_preload_missing``, ``spurious_fault``, ``tlb_stale``).
"""

from __future__ import annotations

import os
from typing import Any

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, Arch
from runtime.kernel import Kernel
from runtime.memory import Folio, Mapping
from runtime.mm import Mm, Vma, Vmf
from runtime.oracle import check_all, check_prefault_young
from runtime.script import ScriptWriter
from runtime.trace import hx
from runtime.violation import PG_ARCH_1_STATE, PREFAULT_YOUNG, PTE_VALUE, Violation

# Check names added by the conformance scenarios (the oracle's are in
# runtime.violation.CHECK_NAMES).
PTE_PROPERTY = "pte_property"
SET_PTES_EQUIVALENCE = "set_ptes_equivalence"
PREFAULT_OLD = "prefault_old"
USER_VIEW = "user_view"
SCENARIO_CHECK_NAMES: tuple[str, ...] = (PTE_PROPERTY, SET_PTES_EQUIVALENCE,
                                         PREFAULT_OLD, USER_VIEW)

FAMILIES: tuple[str, ...] = (
    "pgtable_props", "set_ptes_vs_set_pte_at", "pfn_advance", "fault_around",
    "exec_after_kernel_write", "read_after_kernel_write", "pg_arch_1_lifecycle",
    "page_table_check", "prefault", "tlb",
)

# The first pfn of the folio a ``path: direct`` scenario maps (aligned for
# every folio order up to 16); dsl/generate/expect.py relies on it.
DIRECT_PFN = 0x10000

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


# ---------------------------------------------------------------------------
# Scenarios and results


class Scenario:
    """One entry of a scenario file."""

    name: str
    family: str
    description: str
    params: dict[str, object]

    def __init__(self, name: str, family: str, description: str,
                 params: dict[str, object]) -> None:
        self.name = name
        self.family = family
        self.description = description
        self.params = params

    def __repr__(self) -> str:
        return "Scenario(%s/%s)" % (self.family, self.name)

    # typed parameter access ---------------------------------------------
    def get_int(self, key: str, default: int) -> int:
        v = self.params.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("%s: parameter %s must be an integer" % (self.name, key))
        return v

    def get_bool(self, key: str, default: bool) -> bool:
        v = self.params.get(key, default)
        if not isinstance(v, bool):
            raise ValueError("%s: parameter %s must be true/false" % (self.name, key))
        return v

    def get_str(self, key: str, default: str) -> str:
        v = self.params.get(key, default)
        if not isinstance(v, str):
            raise ValueError("%s: parameter %s must be a string" % (self.name, key))
        return v

    def get_ints(self, key: str, default: list[int]) -> list[int]:
        """A list of integers; the word ``max`` stands for the arch's
        largest folio order (resolved by the caller through ``orders``)."""
        v = self.params.get(key, default)
        if not isinstance(v, list):
            raise ValueError("%s: parameter %s must be a list" % (self.name, key))
        out: list[int] = []
        for x in v:
            if isinstance(x, bool):
                raise ValueError("%s: parameter %s: booleans are not integers" % (self.name, key))
            if isinstance(x, int):
                out.append(x)
            elif x == "max":
                out.append(-1)
            else:
                raise ValueError("%s: parameter %s: %r is not an integer" % (self.name, key, x))
        return out

    def orders(self, arch: Arch, key: str = "orders",
               default: list[int] | None = None) -> list[int]:
        """Folio orders, ``max`` -> PMD order; orders above it dropped."""
        out: list[int] = []
        for o in self.get_ints(key, [0] if default is None else default):
            if o < 0:
                o = arch.max_folio_order
            if o <= arch.max_folio_order and o not in out:
                out.append(o)
        return out

    def vm_flags(self, key: str, default: list[int]) -> list[int]:
        """VM flag sets, written as ints or strings like ``r-xs`` / ``rx``."""
        v = self.params.get(key, default)
        if not isinstance(v, list):
            raise ValueError("%s: parameter %s must be a list" % (self.name, key))
        out: list[int] = []
        for x in v:
            if isinstance(x, int) and not isinstance(x, bool):
                out.append(x)
            elif isinstance(x, str):
                out.append(parse_vm_flags(x))
            else:
                raise ValueError("%s: parameter %s: bad VM flags %r" % (self.name, key, x))
        return out


def parse_vm_flags(text: str) -> int:
    """``rwxs`` letters (``-`` ignored) or ``none`` -> VM_* bits."""
    if text == "none":
        return 0
    flags = 0
    for ch in text:
        if ch == "r":
            flags |= VM_READ
        elif ch == "w":
            flags |= VM_WRITE
        elif ch == "x":
            flags |= VM_EXEC
        elif ch == "s":
            flags |= VM_SHARED
        elif ch != "-" and ch != "p":
            raise ValueError("bad VM flags %r (letters r w x s, or none)" % text)
    return flags


class Result:
    """What one scenario run produced."""

    arch: str
    cpu: tuple[str, ...]
    scenario: str
    family: str
    violations: list[Violation]
    scripts: list[str]
    traces: list[list[str]]
    notes: list[str]

    def __init__(self, arch: str, cpu: tuple[str, ...], scenario: str,
                 family: str) -> None:
        self.arch = arch
        self.cpu = cpu
        self.scenario = scenario
        self.family = family
        self.violations = []
        self.scripts = []
        self.traces = []
        self.notes = []

    @property
    def ok(self) -> bool:
        return not self.violations

    def trace(self) -> list[str]:
        """The arch-call trace lines of every kernel of the run, in order."""
        out: list[str] = []
        for t in self.traces:
            out.extend(t)
        return out

    def checks(self) -> list[str]:
        return [v.check for v in self.violations]

    def first_violation(self) -> str:
        if not self.violations:
            return ""
        return describe(self.violations[0])

    def summary(self) -> str:
        cpu = ",".join(self.cpu) if self.cpu else "-"
        if self.ok:
            return "%s %s cpu=%s: ok" % (self.arch, self.scenario, cpu)
        return "%s %s cpu=%s: %d violation(s); first: %s" % (
            self.arch, self.scenario, cpu, len(self.violations), self.first_violation())


def describe(v: Violation) -> str:
    """One readable line for a violation."""
    return "%s at %s: expected %s, saw %s" % (v.check, v.where, v.expected, v.seen)


def cpu_combinations(features: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every subset of the declared features, smallest first, sorted."""
    feats = sorted(features)
    out: list[tuple[str, ...]] = []
    for mask in range(1 << len(feats)):
        out.append(tuple(f for i, f in enumerate(feats) if mask & (1 << i)))
    out.sort(key=lambda t: (len(t), t))
    return out


def cpu_id(cpu: tuple[str, ...]) -> str:
    return "+".join(cpu) if cpu else "nocpu"


# ---------------------------------------------------------------------------
# Loading scenario files


def _scenario_from(entry: object, family: str, path: str) -> Scenario:
    if not isinstance(entry, dict):
        raise ValueError("%s: each scenario is a mapping" % path)
    name = entry.get("name")
    desc = entry.get("description", "")
    params = entry.get("params", {})
    if not isinstance(name, str) or not name:
        raise ValueError("%s: scenario without a name" % path)
    if not isinstance(desc, str) or not desc:
        raise ValueError("%s: scenario %s has no description" % (path, name))
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError("%s: scenario %s: params must be a mapping" % (path, name))
    clean: dict[str, object] = {}
    for k, v in params.items():
        clean[str(k)] = v
    for k in entry:
        if k not in ("name", "description", "params"):
            raise ValueError("%s: scenario %s: unknown key %r" % (path, name, k))
    return Scenario(name, family, " ".join(desc.split()), clean)


def parse_scenario_file(text: str, path: str) -> list[Scenario]:
    """A scenario file: ``family: NAME`` and ``scenarios: [...]``."""
    import yaml
    doc: Any = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise ValueError("%s: expected a mapping with family and scenarios" % path)
    family = doc.get("family")
    if family not in FAMILIES:
        raise ValueError("%s: unknown family %r (known: %s)" % (path, family, ", ".join(FAMILIES)))
    entries = doc.get("scenarios")
    if not isinstance(entries, list) or not entries:
        raise ValueError("%s: no scenarios" % path)
    return [_scenario_from(e, str(family), path) for e in entries]


def load_scenarios(directory: str = "") -> list[Scenario]:
    """Every scenario of every ``*.yaml`` file, in file then entry order;
    names are unique."""
    d = directory or SCENARIO_DIR
    out: list[Scenario] = []
    seen: set[str] = set()
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".yaml"):
            continue
        path = os.path.join(d, fn)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for s in parse_scenario_file(text, path):
            if s.name in seen:
                raise ValueError("%s: duplicate scenario name %s" % (path, s.name))
            seen.add(s.name)
            out.append(s)
    return out


def scenario_named(name: str, directory: str = "") -> Scenario:
    for s in load_scenarios(directory):
        if s.name == name:
            return s
    raise KeyError(name)


# ---------------------------------------------------------------------------
# A run: kernels with scripts attached, collected into the Result


class Run:
    arch: Arch
    cpu: frozenset[str]
    result: Result
    kernels: list[Kernel]
    record: bool
    v66_prefault: bool

    def __init__(self, arch: Arch, cpu: frozenset[str], sc: Scenario) -> None:
        self.arch = arch
        self.cpu = cpu
        self.result = Result(arch.name, tuple(sorted(cpu)), sc.name, sc.family)
        self.kernels = []
        self.record = sc.get_bool("script", True)
        # v66_prefault: true models v6.6.0's inverted prefault test (used
        # to prove the prefault checks can fail; never in shipped files)
        self.v66_prefault = sc.get_bool("v66_prefault", False)

    def kernel(self) -> Kernel:
        k = Kernel(self.arch, self.cpu, v66_prefault=self.v66_prefault)
        if self.record:
            k.script = ScriptWriter(k)
        self.kernels.append(k)
        return k

    def violate(self, check: str, where: str, expected: str, seen: str,
                addr: int = -1, pfn: int = -1) -> None:
        self.result.violations.append(Violation(check, self.arch.name, where,
                                                expected, seen, addr, pfn))

    def finish(self) -> Result:
        res = self.result
        own = res.violations
        res.violations = []
        for k in self.kernels:
            res.violations.extend(check_all(k))
            s = k.script
            if s is not None:
                res.scripts.append(s.text())
                res.traces.append([ln[7:] for ln in s.lines if ln.startswith("expect ")])
        res.violations.extend(own)
        return res


def _base(k: Kernel) -> int:
    """First user address used by scenarios: PMD aligned, inside TASK_SIZE."""
    pmd = 1 << k.pmd_shift
    base = 0x10000000 if k.arch.word_bits == 32 else 0x4000000000
    return (base + pmd - 1) & ~(pmd - 1)


def _region(k: Kernel, i: int, pages: int) -> int:
    """Start of the i-th region of ``pages`` pages; regions never share a
    PMD, so each gets its own PTE table."""
    pmd = 1 << k.pmd_shift
    span = ((pages << k.page_shift) + pmd - 1) & ~(pmd - 1)
    return _base(k) + i * (span + pmd)


def _touch(n: int, limit: int) -> list[int]:
    """Pages of an n-page range a scenario touches: all when small, else
    first, second, middle, second to last and last."""
    if n <= limit:
        return list(range(n))
    out: list[int] = []
    for i in (0, 1, n // 2 - 1, n // 2, n - 2, n - 1):
        if 0 <= i < n and i not in out:
            out.append(i)
    return out


def _file_with(k: Kernel, orders: list[int], fill: bool = True,
               first_pfn: int = -1) -> tuple[Mapping, list[Folio], int]:
    """A file whose page cache holds one folio per order, back to back
    (each index aligned to its order); returns (mapping, folios, pages)."""
    m = k.new_file()
    folios: list[Folio] = []
    idx = 0
    pfn = first_pfn
    for o in orders:
        n = 1 << o
        idx = (idx + n - 1) & ~(n - 1)
        f = k.add_to_page_cache(m, idx, o, pfn=pfn, fill=fill)
        if pfn >= 0:
            pfn += n
        folios.append(f)
        idx += n
    return m, folios, idx


def _map_direct(k: Kernel, vma: Vma, folio: Folio, addr: int, write: bool = False) -> None:
    """Map a whole page-cache folio with one set_pte_range, as
    filemap_map_folio_range does for a run of none PTEs."""
    ptep = k.pte_ref(vma.mm, addr, True)
    assert ptep is not None
    vmf = Vmf(vma, addr, vma.pgoff + ((addr - vma.start) >> k.page_shift), write, False)
    k.set_pte_range(vmf, folio, folio.page(0), folio.nr_pages, addr, ptep)


# ---------------------------------------------------------------------------
# pgtable_props


def _props(run: Run, sc: Scenario) -> None:
    a = run.arch
    lay = a.layout
    top = min(lay.pfn_width, max(a.phys_bits - a.page_shift, 1))
    pfns: list[int] = []
    for p in sc.get_ints("pfns", [1, 0x1234]) + [(1 << top) - 1]:
        p &= (1 << top) - 1
        if p not in pfns:
            pfns.append(p)
    has_protnone = lay.has_role("protnone") or a.pte_protnone(a.vm_get_page_prot(0))
    for flags in range(16):
        prot = a.vm_get_page_prot(flags)
        acc = bool(flags & (VM_READ | VM_WRITE | VM_EXEC))
        for pfn in pfns:
            pte = a.pfn_pte(pfn, prot)
            checks: list[tuple[str, bool]] = [
                ("pte_pfn(pfn_pte(pfn, prot)) == pfn", a.pte_pfn(pte) == pfn),
                ("pte_young(pte_mkyoung(pte_mkold(pte)))", a.pte_young(a.pte_mkyoung(a.pte_mkold(pte)))),
                ("!pte_young(pte_mkold(pte_mkyoung(pte)))", not a.pte_young(a.pte_mkold(a.pte_mkyoung(pte)))),
                ("pte_dirty(pte_mkdirty(pte_mkclean(pte)))", a.pte_dirty(a.pte_mkdirty(a.pte_mkclean(pte)))),
                ("!pte_dirty(pte_mkclean(pte_mkdirty(pte)))", not a.pte_dirty(a.pte_mkclean(a.pte_mkdirty(pte)))),
                ("pte_write(pte_mkwrite(pte_wrprotect(pte)))", a.pte_write(a.pte_mkwrite(a.pte_wrprotect(pte)))),
                ("!pte_write(pte_wrprotect(pte_mkwrite(pte)))", not a.pte_write(a.pte_wrprotect(a.pte_mkwrite(pte)))),
                ("!pte_dirty(pte_wrprotect(pte_mkclean(pte)))", not a.pte_dirty(a.pte_wrprotect(a.pte_mkclean(pte)))),
                ("pte_dirty(pte_wrprotect(pte_mkdirty(pte)))", a.pte_dirty(a.pte_wrprotect(a.pte_mkdirty(pte)))),
                ("pte_pfn(pte_mkyoung/mkold/mkdirty/mkclean/mkwrite/wrprotect(pte)) == pfn",
                 all(a.pte_pfn(x) == pfn for x in (
                     a.pte_mkyoung(pte), a.pte_mkold(pte), a.pte_mkdirty(pte),
                     a.pte_mkclean(pte), a.pte_mkwrite(pte), a.pte_wrprotect(pte)))),
                ("pfn_pte(pte_pfn(pte), pte_pgprot(pte)) == pte",
                 a.pfn_pte(a.pte_pfn(pte), a.pte_pgprot(pte)) == pte),
            ]
            if acc:
                checks.append(("pte_present(pte)", a.pte_present(pte)))
                if lay.has_role("user") or a.pte_user(prot):
                    checks.append(("pte_user(pte)", a.pte_user(pte)))
                want_w = bool(flags & VM_WRITE) and bool(flags & VM_SHARED)
                if not want_w:
                    checks.append(("!pte_write(pte) (private or read-only: COW)",
                                   not a.pte_write(pte)))
                else:
                    checks.append(("pte_write(pte) (shared writable)", a.pte_write(pte)))
                if flags & VM_EXEC:
                    checks.append(("pte_exec(pte)", a.pte_exec(pte)))
                elif lay.has_role("exec"):
                    checks.append(("!pte_exec(pte)", not a.pte_exec(pte)))
            elif has_protnone:
                # debug_vm_pgtable pte_protnone_tests (CONFIG_NUMA_BALANCING)
                checks.append(("pte_present(pte) (PROT_NONE)", a.pte_present(pte)))
                checks.append(("pte_protnone(pte)", a.pte_protnone(pte)))
            for what, good in checks:
                if not good:
                    run.violate(PTE_PROPERTY, "vm_flags=%s pfn=%s pte=%s" % (hx(flags), hx(pfn), hx(pte)),
                                what, "false", pfn=pfn)


# ---------------------------------------------------------------------------
# set_ptes_vs_set_pte_at


def _user_view(k: Kernel, mm: Mm, start: int, n: int, exec_: bool) -> list[int]:
    out: list[int] = []
    for i in range(n):
        addr = start + (i << k.page_shift)
        out.append(k.user_read(mm, addr))
        if exec_:
            out.append(k.user_exec(mm, addr))
    return out


def _equivalence(run: Run, sc: Scenario) -> None:
    a = run.arch
    for order in sc.orders(a, default=[0, 2, 4]):
        for flags in sc.vm_flags("vm_flags", [VM_READ, VM_READ | VM_EXEC,
                                              VM_READ | VM_WRITE | VM_SHARED, 0]):
            n = 1 << order
            ents: list[list[int]] = []
            views: list[list[int]] = []
            for batched in (True, False):
                k = run.kernel()
                mm = k.new_mm()
                m, folios, pages = _file_with(k, [order])
                start = _region(k, 1, n) + (sc.get_int("colour_offset", 1) << k.page_shift)
                vma = k.mmap(mm, start, n << k.page_shift, flags, m)
                f = folios[0]
                ptep = k.pte_ref(mm, start, True)
                assert ptep is not None
                if batched:
                    vmf = Vmf(vma, start, 0, False, False)
                    k.set_pte_range(vmf, f, f.page(0), n, start, ptep)
                else:
                    for i in range(n):
                        addr = start + (i << k.page_shift)
                        vmf = Vmf(vma, addr, i, False, False)
                        k.set_pte_range(vmf, f, f.page(i), 1, addr, ptep.offset(i))
                ents.append([ptep.table.entries[ptep.idx + i] for i in range(n)])
                views.append(_user_view(k, mm, start, n, bool(flags & VM_EXEC)))
            for i in range(n):
                if ents[0][i] != ents[1][i]:
                    run.violate(SET_PTES_EQUIVALENCE,
                                "order=%d vm_flags=%s idx=%d" % (order, hx(flags), i),
                                "set_ptes(nr=%d) entry %s" % (n, hx(ents[0][i])),
                                "%d x set_pte_at entry %s" % (n, hx(ents[1][i])))
                    break
            if views[0] != views[1]:
                run.violate(SET_PTES_EQUIVALENCE, "order=%d vm_flags=%s user view" % (order, hx(flags)),
                            "set_ptes(nr=%d) view %r" % (n, views[0][:8]),
                            "%d x set_pte_at view %r" % (n, views[1][:8]))


# ---------------------------------------------------------------------------
# pfn_advance


def _boundary_pfns(a: Arch, order: int, extra: list[int]) -> list[int]:
    """First pfns of order-``order`` folios just below and at every carry
    boundary of the PFN field(s): the top of each part of a split field,
    bits 8/16/31/32 of the PFN, and the highest physical frame."""
    n = 1 << order
    lay = a.layout
    top = min(lay.pfn_width, a.phys_bits - a.page_shift)
    bounds: list[int] = []
    for lo, width, off in lay.pfn_parts:
        bounds.append(off + width)
        bounds.append(off)
    bounds += [8, 16, 31, 32] + extra + [top]
    out: list[int] = []
    for b in sorted(set(bounds)):
        if b <= order or b > top:
            continue
        for pfn in ((1 << b) - n, 1 << b):
            if pfn >= 0x1000 and pfn + n <= (1 << top) and pfn not in out:
                out.append(pfn)
    return out


def _advance(run: Run, sc: Scenario) -> None:
    a = run.arch
    flag_sets = sc.vm_flags("vm_flags", [0, VM_READ, VM_READ | VM_WRITE | VM_SHARED,
                                         VM_READ | VM_EXEC])
    for order in sc.orders(a, default=[0, 1, 4, -1]):
        n = 1 << order
        k = run.kernel()            # one machine per order: folios never overlap
        mm = k.new_mm()
        region = 0
        for pfn in _boundary_pfns(a, order, sc.get_ints("extra_bits", [])):
            k.alloc_folio(order, False, pfn)
            for flags in flag_sets:
                start = _region(k, region, n)
                region += 1
                vma = k.mmap(mm, start, n << k.page_shift, flags, None)
                ptep = k.pte_ref(mm, start, True)
                assert ptep is not None
                entry = a.pfn_pte(pfn, vma.page_prot)
                k.set_ptes(mm, start, ptep, entry, n)
                prot = a.pte_pgprot(entry)
                t = ptep.table
                for i in range(n):
                    got = t.entries[ptep.idx + i]
                    exp = a.pfn_pte(pfn + i, prot)
                    if got != exp or a.pte_pfn(got) != pfn + i:
                        run.violate(PTE_VALUE, "order=%d vm_flags=%s pfn=%s + %d"
                                    % (order, hx(flags), hx(pfn), i),
                                    "%s (pfn %s)" % (hx(exp), hx(pfn + i)),
                                    "%s (pfn %s)" % (hx(got), hx(a.pte_pfn(got))),
                                    start + (i << k.page_shift), pfn + i)
                        break
                # unmap again so page_table_check and the TLB stay simple
                for i in range(n):
                    t.entries[ptep.idx + i] = 0
                if k.ptc.enabled and a.pte_user_accessible_page(entry):
                    k.ptc.clear(pfn, n)


# ---------------------------------------------------------------------------
# fault_around


def _check_file_ptes(run: Run, k: Kernel, vma: Vma, pages: int) -> None:
    """Every present PTE of the file VMA maps its page-cache page."""
    a = run.arch
    m = vma.mapping
    assert m is not None
    for i in range(pages):
        addr = vma.start + (i << k.page_shift)
        pte = k.pte_at(vma.mm, addr)
        if a.pte_none(pte) or not a.pte_present(pte):
            continue
        f = m.folio_at(vma.pgoff + i)
        if f is None:
            continue
        want = f.pfn + vma.pgoff + i - f.index
        if a.pte_pfn(pte) != want:
            run.violate(PTE_VALUE, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                        "pfn %s" % hx(want), "pfn %s (pte %s)" % (hx(a.pte_pfn(pte)), hx(pte)),
                        addr, want)


def _fault_around(run: Run, sc: Scenario) -> None:
    a = run.arch
    orders = sc.orders(a, default=[0, 1, 2, 3, 4, -1])
    flags = parse_vm_flags(sc.get_str("vm_flags", "r"))
    limit = sc.get_int("touch_all_up_to", 16)
    stride = sc.get_int("stride", 1)
    if sc.get_bool("mixed", False):
        groups = [orders]
    else:
        groups = [[o] for o in orders]
    for g in groups:
        k = run.kernel()
        mm = k.new_mm()
        m, folios, pages = _file_with(k, g)
        start = _region(k, 1, pages) + (sc.get_int("colour_offset", 0) << k.page_shift)
        vma = k.mmap(mm, start, pages << k.page_shift, flags, m)
        if sc.get_bool("prealloc_table", False):
            k.pte_ref(mm, start, True)
        idxs: list[int] = []
        for f in folios:
            for j in _touch(f.nr_pages, limit):
                if j % stride == 0 or j == f.nr_pages - 1:
                    idxs.append(f.index + j)
        for i in idxs:
            addr = start + (i << k.page_shift)
            v = k.user_exec(mm, addr) if flags & VM_EXEC else k.user_read(mm, addr)
            if v < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)
        _check_file_ptes(run, k, vma, pages)


# ---------------------------------------------------------------------------
# exec_after_kernel_write / read_after_kernel_write


def _access(run: Run, k: Kernel, vma: Vma, touch: list[int], exec_: bool) -> None:
    for i in touch:
        addr = vma.start + (i << k.page_shift)
        v = k.user_exec(vma.mm, addr) if exec_ else k.user_read(vma.mm, addr)
        if v < 0:
            run.violate(USER_VIEW, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                        "the access succeeds", "SIGSEGV", addr)


def _replace_folio(k: Kernel, m: Mapping, f: Folio) -> Folio:
    """The file's content is replaced (a new binary installed, a truncate
    and re-read): the old folio leaves the page cache, a new folio at a
    new pfn is filled by the kernel (and flush_dcache_folio'd)."""
    del m.folios[f.index]
    for i in range(f.nr_pages):
        del m.index_to_head[f.index + i]
    f.mapping = None
    return k.add_to_page_cache(m, f.index, f.order)


def _kernel_write(run: Run, sc: Scenario, exec_: bool) -> None:
    """Each colour offset gets its own machine: all user mappings of a file
    page share one colour, as arch_get_unmapped_area's colour alignment
    (SHMLBA / shm_align_mask) keeps them on aliasing caches; what varies is
    their colour relative to the kernel alias."""
    a = run.arch
    orders = sc.orders(a, default=[0, 2, 4])
    path = sc.get_str("path", "fault")
    nmms = sc.get_int("mms", 2)
    offsets = sc.get_ints("colour_offsets", [0, 1, 2, 3])
    vmas_per_mm = sc.get_int("vmas_per_mm", 2)
    limit = sc.get_int("touch_all_up_to", 16)
    default_flags = "rx" if exec_ else "rs"
    flags = parse_vm_flags(sc.get_str("vm_flags", default_flags))
    rewrite = sc.get_str("rewrite", "none")
    prealloc = sc.get_bool("prealloc_table", False)
    colours = max(a.dcache_colours(run.cpu), 1)
    for order in orders:
        for off in (offsets if path != "direct" else offsets[:1]):
            k = run.kernel()
            if path == "direct":
                m, folios, pages = _file_with(k, [order], first_pfn=DIRECT_PFN)
            else:
                m, folios, pages = _file_with(k, [order])
            f = folios[0]
            n = f.nr_pages
            mms: list[Mm] = [k.new_mm() for _ in range(nmms if path != "direct" else 1)]
            vmas: list[Vma] = []
            r = 1
            for mm in mms:
                for _ in range(vmas_per_mm if path != "direct" else 1):
                    # same colour (mod the colour count) for every VMA
                    start = _region(k, r, n + 4 * colours) + (off << k.page_shift)
                    r += 1
                    vmas.append(k.mmap(mm, start, n << k.page_shift, flags, m))
                    if prealloc:
                        # a PTE table already there: filemap_map_pages maps
                        # the folio with PTEs (set_ptes), not do_set_pmd
                        k.pte_ref(mm, start, True)
            touch = _touch(n, limit)
            for vma in vmas:
                if path == "direct":
                    _map_direct(k, vma, f, vma.start)
                _access(run, k, vma, touch, exec_)
            if rewrite == "none" or path == "direct":
                continue
            # The mappings go (a writer of running text gets ETXTBSY), the
            # kernel writes the file (write(2): copy + flush_dcache_folio)
            # or replaces its content, then everyone maps it again.
            for vma in vmas:
                k.zap_range(vma.mm, vma.start, n)
            if rewrite == "in_place":
                for i in touch:
                    k.file_write(m, i)
            elif rewrite == "replace":
                _replace_folio(k, m, f)
            else:
                raise ValueError("%s: rewrite must be none, in_place or replace" % sc.name)
            for vma in reversed(vmas):
                _access(run, k, vma, touch, exec_)


# ---------------------------------------------------------------------------
# pg_arch_1_lifecycle


def _lifecycle(run: Run, sc: Scenario) -> None:
    a = run.arch
    use = a.pg_arch_1_use
    if use == "secure":
        _secure_pages(run, sc)
        return
    for order in sc.orders(a, default=[0, 4]):
        k = run.kernel()
        m, folios, pages = _file_with(k, [order])
        f = folios[0]
        where = "folio=%s" % hx(f.pfn)
        if use in ("dcache_clean", "icache_clean") and f.arch1:
            run.violate(PG_ARCH_1_STATE, where, "clear after the kernel wrote the folio "
                        "(flush_dcache_folio)", "set", pfn=f.pfn)
        mm = k.new_mm()
        start = _region(k, 1, f.nr_pages) + (sc.get_int("colour_offset", 1) << k.page_shift)
        k.mmap(mm, start, f.nr_pages << k.page_shift, VM_READ | VM_EXEC, m)
        for i in _touch(f.nr_pages, 4):
            k.user_exec(mm, start + (i << k.page_shift))
        if use in ("dcache_clean", "icache_clean") and not f.arch1:
            run.violate(PG_ARCH_1_STATE, where, "set after an exec mapping synced the folio",
                        "clear", pfn=f.pfn)
        if use == "dcache_dirty" and f.arch1:
            run.violate(PG_ARCH_1_STATE, where, "clear once the folio is mapped "
                        "(the deferred flush done)", "set", pfn=f.pfn)
        k.zap_range(mm, start, f.nr_pages)
        k.file_write(m, 0)
        if use in ("dcache_clean", "icache_clean") and f.arch1:
            run.violate(PG_ARCH_1_STATE, where, "clear after a kernel write "
                        "(flush_dcache_folio)", "set", pfn=f.pfn)
        # Re-map the rewritten page.  Executing the same pfn again is only
        # the range API's job where PG_arch_1 drives the I-cache sync
        # (dcache_clean/icache_clean); elsewhere (MIPS) stale I-cache lines
        # of an unmapped exec page are dropped by flush_cache_range at
        # unmap, which the archdef does not describe: read instead.
        for i in _touch(f.nr_pages, 4):
            if use in ("dcache_clean", "icache_clean"):
                k.user_exec(mm, start + (i << k.page_shift))
            else:
                k.user_read(mm, start + (i << k.page_shift))
        if use in ("dcache_clean", "icache_clean") and not f.arch1:
            run.violate(PG_ARCH_1_STATE, where, "set after the exec mapping re-synced the folio",
                        "clear", pfn=f.pfn)


def _secure_pages(run: Run, sc: Scenario) -> None:
    """s390: PG_arch_1 marks a 4 KiB page secure (arch/s390/kernel/uv.c
    make_page_secure sets it per page; arch_make_page_accessible tests and
    clears it per page).  The Ultravisor side is played here: pages of a
    large folio become secure one at a time, and the folio is mapped one
    page at a time.  The arch may leave the bits alone (6.6: the range
    calls do not touch them), or export what it maps; either way it must
    act on each page alone:
    * no bit outside the mapped range changes;
    * once the arch has cleared a mapped page's bit (it exports on map),
      every later mapped page's bit must be clear afterwards."""
    a = run.arch
    order = min(sc.get_int("order", 2), a.max_folio_order)
    seq = sc.get_ints("secure_order", [0, 2, 1, 3])
    for pgste in (True, False):
        k = run.kernel()
        mm = k.new_mm(pgste)
        m, folios, pages = _file_with(k, [order])
        f = folios[0]
        n = f.nr_pages
        start = _region(k, 1, n)
        vma = k.mmap(mm, start, n << k.page_shift, VM_READ | VM_WRITE | VM_SHARED, m)
        exports = False
        done: list[int] = []
        for j in seq:
            if j >= n:
                continue
            f.page_arch1[j] = True                 # make_page_secure(page j)
            before = list(f.page_arch1)
            addr = start + (j << k.page_shift)
            ptep = k.pte_ref(mm, addr, True)
            assert ptep is not None
            vmf = Vmf(vma, addr, j, False, False)
            k.set_pte_range(vmf, f, f.page(j), 1, addr, ptep)
            after = list(f.page_arch1)
            for i in range(n):
                if i != j and before[i] != after[i]:
                    run.violate(PG_ARCH_1_STATE, "page=%s" % hx(f.pfn + i),
                                "secure bit unchanged (page not in the mapped range pfn=%s)"
                                % hx(f.pfn + j),
                                "%d -> %d" % (int(before[i]), int(after[i])), pfn=f.pfn + i)
            if not after[j]:
                exports = True
            elif exports:
                run.violate(PG_ARCH_1_STATE, "page=%s" % hx(f.pfn + j),
                            "made accessible on mapping (as page(s) %s were)"
                            % ",".join(hx(f.pfn + i) for i in done),
                            "still secure after set_ptes", pfn=f.pfn + j)
            if not after[j]:
                done.append(j)


# ---------------------------------------------------------------------------
# page_table_check


def _ptc(run: Run, sc: Scenario) -> None:
    a = run.arch
    order = min(sc.get_int("order", 2), a.max_folio_order)
    k = run.kernel()
    m, folios, pages = _file_with(k, [order, 0])
    n = pages
    mm1 = k.new_mm()
    mm2 = k.new_mm()
    ro1 = k.mmap(mm1, _region(k, 1, n), n << k.page_shift, VM_READ, m)
    ro2 = k.mmap(mm2, _region(k, 1, n), n << k.page_shift, VM_READ, m)
    sh = k.mmap(mm1, _region(k, 2, n), n << k.page_shift, VM_READ | VM_WRITE | VM_SHARED, m)
    pv = k.mmap(mm2, _region(k, 2, n), n << k.page_shift, VM_READ | VM_WRITE, m)
    an = k.mmap(mm1, _region(k, 3, 4), 4 << k.page_shift, VM_READ | VM_WRITE, None)
    for vma in (ro1, ro2, sh, pv):
        for i in range(n):
            k.user_read(vma.mm, vma.start + (i << k.page_shift))
    for i in range(n):
        k.user_write(sh.mm, sh.start + (i << k.page_shift))          # shared: in place
    for i in range(0, n, 2):
        k.user_write(pv.mm, pv.start + (i << k.page_shift))          # private: COW to anon
    for i in range(4):
        k.user_write(an.mm, an.start + (i << k.page_shift))          # anon faults
        k.user_read(an.mm, an.start + (i << k.page_shift))
    for vma in (ro1, pv, an):
        k.zap_range(vma.mm, vma.start, (vma.end - vma.start) >> k.page_shift)
    for i in range(n):
        k.user_read(ro1.mm, ro1.start + (i << k.page_shift))
    for vma in (ro1, ro2, sh):
        for i in range(n):
            addr = vma.start + (i << k.page_shift)
            v = k.user_read(vma.mm, addr)
            if v < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)


# ---------------------------------------------------------------------------
# prefault


def _prefault(run: Run, sc: Scenario) -> None:
    a = run.arch
    order = min(sc.get_int("order", 2), a.max_folio_order)
    count = sc.get_int("folios", 4)
    for fault_folio in sc.get_ints("fault_folios", [0, 1, 3]):
        if fault_folio >= count:
            continue
        k = run.kernel()
        m, folios, pages = _file_with(k, [order] * count)
        mm = k.new_mm()
        start = _region(k, 1, pages)
        k.mmap(mm, start, pages << k.page_shift, VM_READ, m)
        f = folios[fault_folio]
        fpage = f.index + (f.nr_pages // 2)
        faddr = start + (fpage << k.page_shift)
        k.user_read(mm, faddr)
        run.result.violations.extend(check_prefault_young(k, mm, faddr))
        if not a.wants_old_prefaulted_pte(run.cpu):
            continue
        for i in range(pages):
            addr = start + (i << k.page_shift)
            pte = k.pte_at(mm, addr)
            if not a.pte_present(pte):
                continue
            if f.contains(a.pte_pfn(pte)):
                if not a.pte_young(pte):
                    run.violate(PREFAULT_YOUNG, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                "young (in the faulting batch %s)" % hx(faddr), "old", addr)
            elif a.pte_young(pte):
                run.violate(PREFAULT_OLD, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "old (prefaulted around %s; arch_wants_old_prefaulted_pte)" % hx(faddr),
                            "young", addr)


# ---------------------------------------------------------------------------
# tlb


def _tlb(run: Run, sc: Scenario) -> None:
    a = run.arch
    kind = sc.get_str("pattern", "anon_pairs")
    if kind == "anon_pairs":
        # Write the even page, then its odd buddy: the refill loaded both
        # halves, the odd one invalid; the fault must preload it.
        k = run.kernel()
        mm = k.new_mm()
        start = _region(k, 1, 8)
        k.mmap(mm, start, 8 << k.page_shift, VM_READ | VM_WRITE, None)
        for i in sc.get_ints("pages", [0, 1, 2, 3, 5, 4]):
            addr = start + (i << k.page_shift)
            if k.user_write(mm, addr) < 0:
                run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                            "the access succeeds", "SIGSEGV", addr)
            k.user_read(mm, addr)
        return
    if kind == "file_range":
        # A fault in the middle of a large folio: the TLB may hold an
        # invalid entry for the faulting address (RISC-V, MIPS pairs);
        # fault-around maps the range; every page of it must then work.
        for order in sc.orders(a, default=[0, 2, 4]):
            k = run.kernel()
            mm = k.new_mm()
            m, folios, pages = _file_with(k, [order])
            start = _region(k, 1, pages)
            k.mmap(mm, start, pages << k.page_shift, parse_vm_flags(sc.get_str("vm_flags", "r")), m)
            first = min(sc.get_int("first_touch", 5), pages - 1)
            seq = [first] + [i for i in range(pages) if i != first]
            for i in _touch(pages, 16) if pages > 16 else seq:
                addr = start + (i << k.page_shift)
                if k.user_read(mm, addr) < 0:
                    run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                                "the access succeeds", "SIGSEGV", addr)
        return
    if kind == "remap":
        # Map, unmap (with the TLB flush) and map another page at the same
        # address: the TLB must not keep the old translation.
        k = run.kernel()
        mm = k.new_mm()
        m, folios, pages = _file_with(k, [0, 0])
        start = _region(k, 1, 2)
        vma = k.mmap(mm, start, 1 << k.page_shift, VM_READ, m)
        k.user_read(mm, start)
        k.zap_range(mm, start, 1)
        vma.pgoff = 1
        k.user_read(mm, start)
        return
    raise ValueError("%s: unknown tlb pattern %r" % (sc.name, kind))


# ---------------------------------------------------------------------------
# Entry point


def run(arch: Arch, cpu: frozenset[str], sc: Scenario) -> Result:
    """Run one scenario on a fresh machine; never raises for a violation
    (a RangeError from a broken precondition is reported as one)."""
    r = Run(arch, cpu, sc)
    fam = sc.family
    try:
        if fam == "pgtable_props":
            _props(r, sc)
        elif fam == "set_ptes_vs_set_pte_at":
            _equivalence(r, sc)
        elif fam == "pfn_advance":
            _advance(r, sc)
        elif fam == "fault_around":
            _fault_around(r, sc)
        elif fam == "exec_after_kernel_write":
            _kernel_write(r, sc, True)
        elif fam == "read_after_kernel_write":
            _kernel_write(r, sc, False)
        elif fam == "pg_arch_1_lifecycle":
            _lifecycle(r, sc)
        elif fam == "page_table_check":
            _ptc(r, sc)
        elif fam == "prefault":
            _prefault(r, sc)
        elif fam == "tlb":
            _tlb(r, sc)
        else:
            raise ValueError("unknown scenario family %r" % fam)
    except Exception as e:   # RangeError and model errors: report, keep the trace
        check = getattr(e, "check", "")
        if not isinstance(check, str) or check == "":
            raise
        r.violate(check, sc.name, "the call's preconditions hold", str(e))
    return r.finish()


def run_named(arch: Arch, cpu: tuple[str, ...], name: str, directory: str = "") -> Result:
    return run(arch, frozenset(cpu), scenario_named(name, directory))
