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

The generated module holds data and thin entry points only: every test
body is a function of dsl/generate/suite.py (with ``Support``, the
interpreted-mode import hook, the C replay and the readable failure text).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..model import Arch, expr_text
from .. import catalog
from . import charness, expect, prune
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
    model_gaps: tuple[Finding, ...]
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
    pfn_pte_steps: tuple[tuple[str, int], ...] = ()   # per name: (mutator, 0) or ('', mask)
    # CPU-feature pruning (dsl/generate/prune.py): the inputs key the leaves
    # were computed under ('' none) and, per scenario, its leaves
    gcc_flags: tuple[str, ...] = ()     # charness.gcc_flags: the arch to the C harness
    prune_key: str = ""
    pruned: tuple[tuple[str, tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]],
                                  ...]], ...] = ()


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


def _pfn_pte_steps(a: Arch) -> tuple[tuple[str, int], ...]:
    """`pfn_pte { ... }` as data for suite.pfn_round_trip_test: a mutator
    is (name, 0), a one-bit field (powerpc book3s64 _PAGE_PTE) ('', mask)
    (the same reading as layout.pfn_pte_steps)."""
    if a.pfn_pte_applies is None:
        return ()
    out: list[tuple[str, int]] = []
    for name in a.pfn_pte_applies.names:
        f = a.field(name) if name not in catalog.MUTATORS else None
        out.append(("", f.mask) if f is not None else (name, 0))
    return tuple(out)


def _pruning(a: Arch, scenarios: list[str]) -> dict[str, Any]:
    """The arch's entry of generated/tests/cpu_pruning.json, for the
    scenarios that still exist (a scenario without one runs every
    combination)."""
    entry = prune.load(Path(__file__).resolve().parents[2]).get(a.name)
    if not isinstance(entry, dict) or len(a.cpu_features) == 0:
        return {}
    got = entry.get("scenarios", {})
    rows = []
    for sname in scenarios:
        leaves = got.get(sname)
        if leaves:
            # (features on, features off, its class's representative); data
            # written before the classes: a leaf is its own class
            rows.append((sname, tuple((tuple(lf[0]), tuple(lf[1]),
                                       tuple(lf[2] if len(lf) > 2 else lf[0]))
                                      for lf in leaves)))
    return {"prune_key": str(entry.get("key", "")), "pruned": tuple(rows)}


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
        model_gaps=tuple(Finding(*f) for f in expect.load_model_gaps(a.name)),
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
        pfn_pte_steps=_pfn_pte_steps(a),
        gcc_flags=tuple(charness.gcc_flags(a)),
        **_pruning(a, [sname for _, sname, _ in names]),
    )


def render(a: Arch, source: str) -> str:
    return render_template("tests/conformance.py.j2", v=build_view(a, source))
