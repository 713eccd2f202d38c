"""The hand-written half of every generated conformance test module.

Place in the flow: dsl/generate/ctests.py writes
generated/tests/test_<arch>_conformance.py holding only data (the arch
name, its scenarios and CPU combinations, documented findings, model gaps,
PTE-property facts, expected events) and thin parametrised entry points;
each entry point calls one function here with that data.  So every test
body exists once, typed and checked by ``mypy --strict``, instead of once
per arch.

* ``Support``: per-arch run cache, the interpreted-mode import hook, the C
  replay (dsl/generate/charness.py) and the readable failure text;
* ``scenario_test``: one (scenario, cpu) run on the model, then its call
  scripts replayed on the generated C header;
* ``Props`` and the ``*_test`` functions after it: the PTE helper
  properties (debug_vm_pgtable style) and the literal expectations
  dsl/generate/expect.py computed from the archdef.

It imports nothing from runtime/ at module level, so the interpreted-mode
hook can be installed before the runtime is imported.  (It lives here and
not under runtime/ because it must load before runtime/ and because the
runtime is mypyc-compiled: see the README, "Conformance tests".)
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

from . import expect

# (scenario, sorted cpu) -> (check[+check...], why)
Documented = Mapping[tuple[str, tuple[str, ...]], tuple[str, str]]
RecordProperty = Callable[[str, object], None]



class _SourceOnlyFinder(importlib.abc.MetaPathFinder):
    """Loads ``runtime``, ``runtime.*`` and ``generated.runtime.*`` from
    their .py sources even when mypyc's .so files sit next to them."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not (fullname == "runtime" or fullname.startswith("runtime.")
                or fullname.startswith("generated.runtime.")):
            return None
        base = os.path.join(self.root, *fullname.split("."))
        if os.path.isfile(os.path.join(base, "__init__.py")):
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(base, "__init__.py"), submodule_search_locations=[base])
        if os.path.isfile(base + ".py"):
            return importlib.util.spec_from_file_location(fullname, base + ".py")
        return None


def generated_gcc_flags(root: Path, arch: str) -> tuple[str, ...] | None:
    """``GCC_FLAGS`` of generated/tests/test_<arch>_conformance.py (read
    from its text, not imported), or None without one: a Support for the
    arch outside its generated module then needs no project load."""
    import ast
    path = root / "generated" / "tests" / f"test_{arch}_conformance.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == "GCC_FLAGS" and node.value is not None:
            got = ast.literal_eval(node.value)
            if isinstance(got, tuple) and all(isinstance(f, str) for f in got):
                return got
    return None


def install_interpreted(root: Path) -> None:
    """PTDL_INTERPRETED=1: make the runtime and generated modules load from
    their .py sources (must run before anything imports them)."""
    if not any(isinstance(f, _SourceOnlyFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceOnlyFinder(str(root)))


class Support:
    """Per-arch helpers for a generated test module: runs cached per
    (scenario, cpu), the C harness built once, readable failure text."""

    def __init__(self, root: Path, arch: str, gcc_flags: Sequence[str] | None = None) -> None:
        self.root = root
        self.arch_name = arch
        # charness.gcc_flags of the arch, computed at generation time (None:
        # load the project to compute them)
        self.gcc_flags = None if gcc_flags is None else tuple(gcc_flags)
        if os.environ.get("PTDL_INTERPRETED") == "1":
            install_interpreted(root)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        self._runs: dict[tuple[str, tuple[str, ...]], Any] = {}
        # (scenario, cpu) runs a later test reads again (test_direct_events):
        # scenario_test keeps them instead of releasing them
        self.shared: set[tuple[str, tuple[str, ...]]] = set()
        self._scenarios: dict[str, Any] | None = None
        self._exe: Any = None
        self._server: Any = None
        self._skip: str = ""
        self.pruning = "none"       # scenario_cases: on, stale (full enumeration) or none

    # -- running --------------------------------------------------------
    def share_runs(self, events: Sequence[tuple[str, Sequence[tuple[str, ...]], Any]]) -> None:
        """The runs of ``EXPECTED_EVENTS`` are read by test_scenario and by
        test_direct_events: run each once per worker."""
        self.shared = {(s, tuple(c)) for s, cpus, _ in events for c in cpus}

    @staticmethod
    def cpu_id(cpu: tuple[str, ...]) -> str:
        return "+".join(cpu) if cpu else "nocpu"

    def run(self, scenario: str, cpu: tuple[str, ...], keep: bool = True) -> Any:
        """The scenario's Result; keep=True caches it for later callers,
        keep=False takes a cached one (releasing it) or runs uncached."""
        key = (scenario, tuple(cpu))
        r = self._runs.get(key) if keep else self._runs.pop(key, None)
        if r is not None:
            return r
        conf = importlib.import_module("runtime.conformance")
        arch = importlib.import_module("generated.runtime." + self.arch_name).ARCH
        if self._scenarios is None:
            self._scenarios = {s.name: s for s in conf.load_scenarios()}
        r = conf.run(arch, frozenset(cpu), self._scenarios[scenario])
        if keep:
            self._runs[key] = r
        return r

    @staticmethod
    def record(record_property: Any, family: str, scenario: str, cpu: tuple[str, ...],
               check: str, r: Any) -> None:
        record_property("ptdl_check", check)
        record_property("ptdl_family", family)
        record_property("ptdl_scenario", scenario)
        record_property("ptdl_cpu", Support.cpu_id(cpu))
        record_property("ptdl_violations", len(r.violations))
        work = getattr(r, "work", None)
        if work is not None:          # D-cache, I-cache, TLB work per scenario (item 7)
            record_property("ptdl_work", work.text())
        if r.violations:
            record_property("ptdl_first_violation", r.first_violation())
        if r.notes:                  # e.g. lazy_callers: work per lazy MMU region
            record_property("ptdl_notes", " | ".join(r.notes))

    @staticmethod
    def explain(r: Any) -> str:
        lines = ["%s / %s (cpu: %s): %d violation(s)"
                 % (r.arch, r.scenario, ",".join(r.cpu) or "none", len(r.violations))]
        seen: set[str] = set()
        for v in r.violations:
            if v.check in seen:
                continue
            seen.add(v.check)
            lines.append("  %s" % v.check)
            lines.append("    at:       %s" % v.where)
            lines.append("    expected: %s" % v.expected)
            lines.append("    saw:      %s" % v.seen)
        more = len(r.violations) - len(seen)
        if more > 0:
            lines.append("  (+%d more of the same checks)" % more)
        return "\n".join(lines)

    # -- expected events ---------------------------------------------------
    @staticmethod
    def summarize(trace: list[str]) -> expect.Summary:
        return expect.summarize(trace)

    @staticmethod
    def diff_events(trace: list[str], want: dict[str, Any]) -> str:
        got = expect.summarize(trace)
        out = ["events differ from what the archdef implies:"]
        gc: dict[str, int] = got["counts"]
        wc: dict[str, int] = want["counts"]
        for line in sorted(set(gc) | set(wc)):
            if gc.get(line, 0) != wc.get(line, 0):
                out.append(f"  {line!r}: expected {wc.get(line, 0)}, traced {gc.get(line, 0)}")
        for k, v in (("set_pte", got["set_pte"]), ("first_set_pte", got["first_set_pte"]),
                     ("last_set_pte", got["last_set_pte"])):
            if v != want[k]:
                out.append(f"  {k}: expected {want[k]!r}, traced {v!r}")
        return "\n".join(out)

    # -- the C differential ------------------------------------------------
    def _harness(self) -> Any:
        """The compiled harness for this arch, or a skip reason in _skip."""
        if self._exe is not None or self._skip:
            return self._exe
        import shutil
        charness = importlib.import_module("dsl.generate.charness")   # no fallback: fails loudly
        if shutil.which(getattr(charness, "GCC", "gcc")) is None:
            self._skip = "gcc not available: C differential skipped"
            return None
        hdr = self.root / "generated" / "kernel" / "arch" / self.arch_name / "include" / \
            "asm" / "pgtable-range.h"
        if not hdr.exists():
            self._skip = f"{hdr.relative_to(self.root)} not generated"
            return None
        if self.gcc_flags is not None:
            self._exe = (charness, charness.build_flags(
                self.arch_name, self.gcc_flags, hdr.read_text(encoding="utf-8")))
            return self._exe
        from ..project import load
        p = load(self.root)
        a = p.archs.get(self.arch_name)
        if a is None:
            self._skip = f"no arch {self.arch_name} in {self.root}"
            return None
        self._exe = (charness, charness.build(a, hdr.read_text(encoding="utf-8")))
        return self._exe

    def check_c_trace(self, r: Any) -> None:
        """The C header's trace of every call script of r equals the
        model's.  A scenario with no arch calls has nothing to replay and
        passes on its model check alone; without gcc the test is skipped
        (after the model check passed), saying why."""
        import pytest
        if not r.scripts:
            return
        h = self._harness()
        if h is None:
            pytest.skip("model passed; " + self._skip)
        charness, exe = h
        if self._server is None:
            self._server = charness.Server(exe)
            atexit.register(self._server.close)
        for n, (script, py) in enumerate(zip(r.scripts, r.traces)):
            c = self._server.run(script)
            if c != py:
                raise AssertionError(self.trace_diff(n, py, c))

    @staticmethod
    def trace_diff(n: int, py: list[str], c: list[str]) -> str:
        for i in range(max(len(py), len(c))):
            a = py[i] if i < len(py) else "<end>"
            b = c[i] if i < len(c) else "<end>"
            if a != b:
                lo = max(0, i - 3)
                ctx = "\n".join("    " + x for x in py[lo:i])
                return (f"script {n}: C trace differs from Python at line {i + 1} "
                        f"(python {len(py)} lines, C {len(c)}):\n"
                        f"  context:\n{ctx}\n  python: {a}\n  C:      {b}")
        return f"script {n}: traces differ"


# ===========================================================================
# The test bodies.  Each generated entry point passes its module's data.


def scenario_cases(support: Support, scenarios: Sequence[tuple[str, str]],
                   combos: Sequence[tuple[str, ...]],
                   pruned: Mapping[str, Sequence[tuple[tuple[str, ...], ...]]],
                   key: str, documented: Sequence[tuple[str, tuple[str, ...]]] = ()) -> list[Any]:
    """The (family, scenario, cpu) parameters of test_scenario, ids
    `<scenario>-<cpu>`: every combination, or, while ``key`` is the
    current inputs key (dsl/generate/prune.py), one per class of the
    leaves of the scenario's decision tree (the representative of the
    class: its first leaf's features on, the rest off) -- except that
    every combination of a class holding one that a documented finding or
    model gap names (``documented``: (scenario, sorted cpu) keys) runs:
    each has its own expectation."""
    import pytest
    from . import prune
    live = bool(key) and key == prune.inputs_key(support.root, support.arch_name)
    support.pruning = "on" if live else ("stale" if key else "none")
    named: dict[str, set[tuple[str, ...]]] = {}
    for sname, cpu in documented:
        named.setdefault(sname, set()).add(tuple(sorted(cpu)))
    out: list[Any] = []
    for family, scenario in scenarios:
        leaves = pruned.get(scenario) if live else None
        if leaves:
            # a leaf is (on, off, class representative); (on, off): its own class
            def rep(c: tuple[str, ...]) -> tuple[str, ...]:
                lf = prune.leaf_of(list(leaves), c)
                return tuple(sorted(lf[2] if len(lf) > 2 else lf[0]))
            doc = named.get(scenario, set())
            whole = {rep(c) for c in combos if tuple(sorted(c)) in doc}
            cpus = [c for c in combos if tuple(sorted(c)) == rep(c) or rep(c) in whole]
        else:
            cpus = list(combos)
        for cpu in cpus:
            out.append(pytest.param(family, scenario, cpu,
                                    id=f"{scenario}-{Support.cpu_id(cpu)}"))
    return out


def scenario_test(support: Support, family: str, scenario: str, cpu: tuple[str, ...],
                  record_property: RecordProperty, findings: Documented,
                  model_gaps: Documented) -> None:
    """One test per (scenario, cpu): the scenario runs once on the
    executable model, which must report no violation, or exactly the
    checks of a documented kernel finding (``params.findings``), or
    exactly those of a documented model gap (``params.model_gaps``,
    reported as an expected failure "model gap: ..."); then its call
    scripts are replayed on the generated C header (dsl/generate/
    charness.py, one harness process per test worker) and the C trace must
    equal the Python trace line for line.  A finding or model gap that no
    longer reproduces fails: remove the entry."""
    import pytest
    r = support.run(scenario, cpu, keep=(scenario, tuple(cpu)) in support.shared)
    support.record(record_property, family, scenario, cpu, "model", r)
    key = (scenario, tuple(sorted(cpu)))
    finding = findings.get(key)
    gap = model_gaps.get(key)
    fired = sorted({v.check for v in r.violations})
    if finding is not None:
        # a finding may name several checks, joined by '+'
        assert fired == sorted(finding[0].split("+")), (finding[1], support.explain(r))
    elif gap is not None:
        assert fired == sorted(gap[0].split("+")), (
            "model gap no longer reproduces as documented (params.model_gaps): "
            + gap[1], support.explain(r))
        record_property("ptdl_model_gap", gap[1])
    else:
        assert r.ok, support.explain(r)
    record_property("ptdl_check", "c_trace")
    support.check_c_trace(r)
    if gap is not None:
        pytest.xfail("model gap: " + gap[1])


@dataclass(frozen=True)
class Props:
    """What the property tests need to know of the archdef (all computed by
    dsl/generate/ctests.py from its layout and prot block)."""
    roles: tuple[str, ...]              # boolean roles the layout has (write, exec, user, read)
    literal_prots: frozenset[int]       # VM_* combinations written `entry ... =`
    read_mask: int                      # fields with the read role
    finding: str                        # why a documented pte_property finding exists ('')
    max_folio_pages: int
    # pfn_pte { ... }: per name, (mutator, 0) for `ARCH.pte_<mutator>(want)`
    # or ('', mask) for `want | mask` (a one-bit field)
    pfn_pte_steps: tuple[tuple[str, int], ...] = ()


PROPS_PFN = 0x10000
ACCESSIBLE = [f for f in range(16) if f & 7]


def _property(p: Props, ok: bool, what: str) -> None:
    """A property that fails is an expected failure naming the finding when
    a pgtable_props scenario documents one for this arch (the props
    scenario asserts the violation fires), else a failure."""
    if ok:
        return
    if p.finding:
        import pytest
        pytest.xfail(f"{what}: documented finding: {p.finding}")
    raise AssertionError(what)


def vm_get_page_prot_roles_test(arch: Any, p: Props, vm_flags: int) -> None:
    """vm_get_page_prot(VM_READ=1 | VM_WRITE=2 | VM_EXEC=4 | VM_SHARED=8),
    from the archdef's prot block, against its layout's roles: accessible
    protections are present, writable iff VM_WRITE|VM_SHARED (private
    writable is COW), executable iff VM_EXEC; PROT_NONE grants no user
    access.  Combinations written out whole (`entry ... =`, the kernel's
    protection_map as it is) are exempt from the write/exec rules."""
    pte = arch.pfn_pte(PROPS_PFN, arch.vm_get_page_prot(vm_flags))
    if vm_flags & 7:
        _property(p, arch.pte_present(pte), f"prot({vm_flags:#x}): {pte:#x} not present")
        if vm_flags in p.literal_prots:
            return
        if "write" in p.roles:
            want_write = bool(vm_flags & 2) and bool(vm_flags & 8)
            _property(p, arch.pte_write(pte) == want_write,
                      f"prot({vm_flags:#x}): pte_write({pte:#x})")
        if "exec" in p.roles:
            _property(p, arch.pte_exec(pte) == bool(vm_flags & 4),
                      f"prot({vm_flags:#x}): pte_exec({pte:#x})")
    elif "user" in p.roles:
        # user-accessible and granting read, write or exec (an entry with
        # the user bit and no permission, as hexagon's PAGE_NONE, is fine)
        grants = (arch.pte_write(pte) or ("exec" in p.roles and arch.pte_exec(pte))
                  or bool(pte & p.read_mask))
        _property(p, not (arch.pte_user(pte) and grants), f"PROT_NONE {pte:#x} is user accessible")


def mutators_test(arch: Any, p: Props, role: str, mk: str, un: str) -> None:
    """pte_mkX sets X and pte_unX clears it, whatever came before (mkX of
    unX, unX of mkX); both are idempotent and keep the PFN."""
    test = getattr(arch, "pte_" + role)
    mkx = getattr(arch, "pte_" + mk)
    unx = getattr(arch, "pte_" + un)
    for vm_flags in ACCESSIBLE:
        pte = arch.pfn_pte(PROPS_PFN, arch.vm_get_page_prot(vm_flags))
        # a documented pte_property finding makes these two an expected
        # failure naming it (ia64: wrprotect of AR_X_RX)
        _property(p, test(mkx(unx(pte))), f"{mk}({un}({pte:#x})) is not {role}")
        _property(p, not test(unx(mkx(pte))), f"{un}({mk}({pte:#x})) is still {role}")
        assert mkx(mkx(pte)) == mkx(pte) and unx(unx(pte)) == unx(pte), f"{mk}/{un} not idempotent"
        assert arch.pte_pfn(mkx(pte)) == PROPS_PFN == arch.pte_pfn(unx(pte)), \
            f"{mk}/{un} moved the pfn"


def pfn_round_trip_test(arch: Any, p: Props, pfn: int) -> None:
    """pte_pfn(pfn_pte(pfn, prot)) == pfn and pte_pgprot keeps prot (as the
    archdef's `pfn_pte { ... }` mutators leave it), for all 16 protections."""
    for vm_flags in range(16):
        prot = arch.vm_get_page_prot(vm_flags)
        pte = arch.pfn_pte(pfn, prot)
        assert arch.pte_pfn(pte) == pfn, \
            f"pte_pfn(pfn_pte({pfn:#x}, prot({vm_flags:#x}))) = {arch.pte_pfn(pte):#x}"
        want = prot
        for mutator, mask in p.pfn_pte_steps:
            want = getattr(arch, "pte_" + mutator)(want) if mutator else want | mask
        assert arch.pte_pgprot(pte) == arch.pte_pgprot(want), \
            f"pfn_pte({pfn:#x}) changed prot({vm_flags:#x})"


def advance_is_next_pfn_test(arch: Any, p: Props, pfn: int) -> None:
    """Inside the largest folio holding pfn, set_ptes' step from the first
    entry gives pfn_pte(pfn + i): set_ptes(nr) stores what nr set_pte_at()
    of pfn_pte(pfn + i, prot) would."""
    base = pfn & ~(p.max_folio_pages - 1)
    for vm_flags in range(16):
        prot = arch.vm_get_page_prot(vm_flags)
        first = arch.pfn_pte(base, prot)
        for i in sorted({1, p.max_folio_pages // 2, p.max_folio_pages - 1}):
            assert arch.pte_advance(first, i) == arch.pfn_pte(base + i, prot), (
                f"entry {i} after pfn_pte({base:#x}, prot({vm_flags:#x})) = "
                f"{arch.pte_advance(first, i):#x}, expected {arch.pfn_pte(base + i, prot):#x}")


def pfn_pte_boundary_test(arch: Any, pfn: int, vm_flags: int, pte: int) -> None:
    """pfn_pte at the PFN-field boundaries equals the value dsl/generate/
    expect.py's own encoder of the field layout computed."""
    from runtime.pteval import s64, u64
    # the runtime's PTE values are i64 bit patterns, expect.py's unsigned
    got = u64(arch.pfn_pte(pfn, arch.vm_get_page_prot(vm_flags)))
    assert got == pte, f"pfn_pte({pfn:#x}, prot({vm_flags:#x})) = {got:#x}, expected {pte:#x}"
    got_pfn = arch.pte_pfn(s64(pte))
    assert got_pfn == pfn, f"pte_pfn({pte:#x}) = {got_pfn:#x}, expected {pfn:#x}"


def direct_events_test(support: Support, scenario: str, cpu: tuple[str, ...],
                       want: dict[str, Any]) -> None:
    """The runtime traced exactly the events the archdef's statements imply
    (dsl/generate/expect.py interprets them for the `path: direct`
    scenarios); the run test_scenario made on this worker, if any."""
    r = support.run(scenario, cpu, keep=False)
    assert support.summarize(r.trace()) == want, support.diff_events(r.trace(), want)


def arch_module_is_compiled_test(archmod: ModuleType) -> None:
    """The generated module under test is the mypyc-compiled one (unless
    PTDL_INTERPRETED=1)."""
    path = str(archmod.__file__)
    if os.environ.get("PTDL_INTERPRETED") == "1":
        assert path.endswith(".py"), path
    else:
        assert path.endswith(".so"), (
            f"{path}: not compiled; run `ptdl build` (or set PTDL_INTERPRETED=1)")
