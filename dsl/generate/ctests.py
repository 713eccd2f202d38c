"""Backend: generated/tests/test_<arch>_conformance.py, and its run-time support.

Place in the flow: dsl/generate/writer.py calls ``render(a, source)`` for
every arch.  The module it writes is a readable pytest file that

* checks the arch module under test is the mypyc-compiled one (its
  ``__file__`` ends in ``.so``) unless ``PTDL_INTERPRETED=1``;
* runs every conformance scenario (runtime/scenarios/*.yaml, names
  spelled out at generation time) under every combination of the arch's
  CPU features through ``runtime.conformance.run`` and asserts there is no
  violation (the first one is printed readably);
* replays each run's call scripts on the generated C header through
  dsl/generate/charness.py and asserts the C trace equals the Python
  trace line for line (skipped, with the reason, without gcc or charness);
* spells out values computed here, from the model, by
  dsl/generate/expect.py -- not by the runtime: vm_get_page_prot's 16
  values, pfn_pte at PFN-field boundaries (hex literals), and the
  primitive events of the deterministic ``path: direct`` scenarios.

The second half of this file (``Support``) is what the generated modules
import at run time: the interpreted-mode import hook, the C replay, and
the readable failure text.  It imports nothing from runtime/ at module
level, so the hook can be installed before the runtime is imported.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

from ..model import Arch, expr_text
from . import expect, layout
from .templating import ident, render as render_template
from .view import Banner, banner

def _flags_name(flags: int) -> str:
    if not flags & 7:
        return "none" + ("|shared" if flags & 8 else "")
    parts = [n for bit, n in ((1, "r"), (2, "w"), (4, "x"), (8, "s")) if flags & bit]
    return "".join(parts)


def cpu_combinations(features: Sequence[str]) -> list[tuple[str, ...]]:
    """Every subset of the features (runtime.conformance.cpu_combinations)."""
    feats = sorted(features)
    out = [tuple(f for i, f in enumerate(feats) if m & (1 << i)) for m in range(1 << len(feats))]
    out.sort(key=lambda t: (len(t), t))
    return out


@dataclass(frozen=True)
class Finding:
    scenario: str
    cpu: tuple[str, ...]
    check: str
    why: str


@dataclass(frozen=True)
class BoundaryRow:
    pfn: int
    vm_flags: int
    pte: int
    flags_name: str


@dataclass(frozen=True)
class EventGroup:
    scenario: str
    cpus: tuple[tuple[str, ...], ...]
    counts: tuple[tuple[str, int], ...]
    set_pte: int
    first_set_pte: str
    last_set_pte: str


@dataclass(frozen=True)
class TestsView:
    banner: Banner
    name: str
    source: str
    features: str
    combos: tuple[tuple[str, ...], ...]
    findings: tuple[Finding, ...]
    scenarios: tuple[tuple[str, str], ...]
    roles: tuple[str, ...]              # boolean roles the layout has
    mutator_pairs: tuple[tuple[str, str, str], ...]
    boundary_pfns: tuple[int, ...]
    max_folio_pages: int
    pfn_parts: tuple[tuple[int, int, int, int], ...]   # lo, hi, first and last pfn bit
    inverted_when: str
    boundary: tuple[BoundaryRow, ...]
    direct_pfn: int
    events: tuple[EventGroup, ...]
    read_mask: int                      # fields with the read role (0: none)
    props_finding: str                  # why a documented pte_property finding
                                        # of a pgtable_props scenario exists ('' none)
    literal_prots: tuple[int, ...] = ()     # VM_* combinations written `entry ... =`
    pfn_pte_applies: tuple[str, ...] = ()   # mutators pfn_pte() applies
    pfn_pte_steps: tuple[str, ...] = ()     # the new value of `want` per name


# debug_vm_pgtable pte_basic_tests: (role, mutator setting it, mutator clearing it)
MUTATOR_PAIRS = (("young", "mkyoung", "mkold"), ("dirty", "mkdirty", "mkclean"),
                 ("write", "mkwrite", "wrprotect"))


def _has_role(a: Arch, role: str) -> bool:
    return bool(a.role_fields(role)) or a.derived_named(role) is not None


def _events(a: Arch, combos: list[tuple[str, ...]]) -> list[EventGroup]:
    out: list[EventGroup] = []
    for sname, order, off, flags in expect.load_direct_scenarios():
        o = a.max_folio_order if order < 0 else min(order, a.max_folio_order)
        if order > a.max_folio_order:
            continue
        groups: list[tuple[expect.Summary, list[tuple[str, ...]]]] = []
        for cpu in combos:
            summ = expect.summarize(expect.direct_events(a, frozenset(cpu), o, off, flags))
            for g in groups:
                if g[0] == summ:
                    g[1].append(cpu)
                    break
            else:
                groups.append((summ, [cpu]))
        for summ, cpus in groups:
            out.append(EventGroup(sname, tuple(cpus), tuple(summ["counts"].items()),
                                  summ["set_pte"], summ["first_set_pte"], summ["last_set_pte"]))
    return out


def build_view(a: Arch, source: str) -> TestsView:
    name = ident(a.name)
    combos = cpu_combinations(a.cpu_features)
    t = a.pfn_transform()
    names = expect.load_scenario_names()
    findings = tuple(Finding(*f) for f in expect.load_findings(a.name))
    props = {sname for fam, sname, _ in names if fam == "pgtable_props"}
    props_finding = next((f.why for f in findings if f.scenario in props
                          and f.check == "pte_property" and not f.cpu), "")
    read_mask = 0
    for f in a.role_fields("read"):
        read_mask |= f.mask
    return TestsView(
        banner=banner(a, source, "conformance-tests"),
        name=name, source=source,
        features=", ".join(a.cpu_features) or "none declared",
        combos=tuple(combos),
        findings=findings,
        scenarios=tuple((fam, sname) for fam, sname, _ in names),
        roles=tuple(r for r in ("write", "exec", "user", "read") if _has_role(a, r)),
        mutator_pairs=tuple(p for p in MUTATOR_PAIRS if _has_role(a, p[0])),
        boundary_pfns=tuple(expect.boundary_pfns(a)),
        max_folio_pages=1 << a.max_folio_order,
        pfn_parts=tuple((f.lo, f.hi, f.pfn_offset, f.pfn_offset + f.width - 1)
                        for f in a.pfn_fields),
        inverted_when=expr_text(t.cond) if t is not None else "",
        boundary=tuple(BoundaryRow(p, fl, v, _flags_name(fl))
                       for p, fl, v in expect.boundary_ptes(a)),
        direct_pfn=expect.DIRECT_PFN,
        events=tuple(_events(a, combos)),
        read_mask=read_mask,
        props_finding=props_finding,
        literal_prots=tuple(e.flags for e in a.prot_entries),
        pfn_pte_applies=a.pfn_pte_applies.names if a.pfn_pte_applies is not None else (),
        pfn_pte_steps=layout.pfn_pte_steps(a, "ARCH", "want"),
    )


def render(a: Arch, source: str) -> str:
    return render_template("tests/conformance.py.j2", v=build_view(a, source))


# ===========================================================================
# Support: imported by the generated test modules at run time.


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


def install_interpreted(root: Path) -> None:
    """PTDL_INTERPRETED=1: make the runtime and generated modules load from
    their .py sources (must run before anything imports them)."""
    if not any(isinstance(f, _SourceOnlyFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceOnlyFinder(str(root)))


class Support:
    """Per-arch helpers for a generated test module: runs cached per
    (scenario, cpu), the C harness built once, readable failure text."""

    def __init__(self, root: Path, arch: str) -> None:
        self.root = root
        self.arch_name = arch
        if os.environ.get("PTDL_INTERPRETED") == "1":
            install_interpreted(root)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        self._runs: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._scenarios: dict[str, Any] | None = None
        self._exe: Any = None
        self._server: Any = None
        self._skip: str = ""

    # -- running --------------------------------------------------------
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
