"""Conformance: the kernel's real call patterns, run on a fresh ``Kernel``
for one ``Arch`` and one set of CPU features.

Place in the flow: the generated tests (generated/tests/test_<arch>_
conformance.py) load the scenario list from ``runtime/scenarios/*.yaml``
(runtime/scenarios.py, re-exported here as ``load_scenarios``), and for
every scenario and every combination of the arch's CPU features call
``run(arch, cpu, scenario)``.  ``run`` looks the scenario's family up in
``FAMILY_REGISTRY`` (one module per family under runtime/families/, each
documenting what it builds and checks) and returns the ``Result``: the
violations (runtime.oracle names plus the few the families add), the trace
lines of the arch calls (what the C harness must print too) and the call
scripts (runtime.script) to replay on the generated C header.  The
scenario file format and the families' parameters are in the README
("Conformance scenarios").
"""

from __future__ import annotations

from runtime.arch import Arch
from runtime.families import (
    alias_mappings, cache_calls, exec_after_kernel_write, fault_around, page_table_check, pfn_advance,
    pg_arch_1_lifecycle, pgtable_props, prefault, read_after_kernel_write,
    set_ptes_vs_set_pte_at, tlb,
)
from runtime.families import exec_after_read, remap_present
from runtime.families import flush_preload, lazy_callers
from runtime.families import highmem, pmd_map, special_pages
from runtime.families import user_copy
from runtime.families.base import (
    PREFAULT_OLD, PTE_PROPERTY, SCENARIO_CHECK_NAMES, SET_PTES_EQUIVALENCE, USER_VIEW,
    Family, Result, Run, describe,
)
from runtime.scenarios import (
    DIRECT_PFN, FAMILIES, SCENARIO_DIR, Scenario, load_scenarios, parse_scenario_file,
    parse_vm_flags, scenario_named,
)

__all__ = [
    "DIRECT_PFN", "FAMILIES", "FAMILY_REGISTRY", "PREFAULT_OLD", "PTE_PROPERTY",
    "Result", "Run", "SCENARIO_CHECK_NAMES", "SCENARIO_DIR", "SET_PTES_EQUIVALENCE",
    "Scenario", "USER_VIEW", "cpu_combinations", "cpu_id", "describe", "load_scenarios",
    "parse_scenario_file", "parse_vm_flags", "run", "run_named", "scenario_named",
]

# family name -> its runner; runtime.scenarios.FAMILIES lists the same names
FAMILY_REGISTRY: dict[str, Family] = {f.name: f for f in (
    pgtable_props.FAMILY,
    set_ptes_vs_set_pte_at.FAMILY,
    pfn_advance.FAMILY,
    fault_around.FAMILY,
    exec_after_kernel_write.FAMILY,
    read_after_kernel_write.FAMILY,
    pg_arch_1_lifecycle.FAMILY,
    page_table_check.FAMILY,
    prefault.FAMILY,
    tlb.FAMILY,
    remap_present.FAMILY,
    exec_after_read.FAMILY,
    lazy_callers.FAMILY,
    flush_preload.FAMILY,
    special_pages.FAMILY,
    highmem.FAMILY,
    pmd_map.FAMILY,
    alias_mappings.FAMILY,
    cache_calls.FAMILY,
    user_copy.FAMILY,
)}


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



def run(arch: Arch, cpu: frozenset[str], sc: Scenario) -> Result:
    """Run one scenario on a fresh machine; never raises for a violation
    (a RangeError from a broken precondition is reported as one)."""
    r = Run(arch, cpu, sc)
    fam = FAMILY_REGISTRY.get(sc.family)
    if fam is None:
        raise ValueError("unknown scenario family %r" % sc.family)
    try:
        fam.run(r, sc)
    except Exception as e:   # RangeError and model errors: report, keep the trace
        check = getattr(e, "check", "")
        if not isinstance(check, str) or check == "":
            raise
        r.violate(check, sc.name, "the call's preconditions hold", str(e))
    return r.finish()


def run_named(arch: Arch, cpu: tuple[str, ...], name: str, directory: str = "") -> Result:
    return run(arch, frozenset(cpu), scenario_named(name, directory))
