"""Which explored violations are already understood: documented kernel
findings and known gaps of the model.

Place in the flow: ``search`` asks ``classify`` about each distinct
violation (with the world it happened in); a non-empty answer marks it
"known" in the report, and known violations do not make ``ptdl explore``
exit 1.  Sources:

* ``params.findings`` of runtime/scenarios/*.yaml (arch, cpu, check): the
  findings the conformance suite documents;
* ``FINDINGS`` below: consequences of those findings that only explored
  sequences reach (same arch, root cause named);
* ``params.model_gaps`` of the scenario files: runs the suite documents
  as gaps of the model (reported "model gap (documented, ...)");
* ``model_gap``: violations that come from what runtime/ does not model
  (each names the missing piece; see the README's Exploring section).
Answers that start "model gap" (``is_model_gap``) are kept apart from
kernel findings in the report.
"""

from __future__ import annotations

import os
from typing import Any

from runtime.violation import (
    PG_ARCH_1_STATE, SPURIOUS_FAULT, STALE_DATA, STALE_INSN, TLB_PRELOAD_MISSING, Violation,
)

from .world import World

MIPS_UPDATE_CACHE = (
    "documented finding (runtime/scenarios/tlb.yaml, tlb_remap): mips __update_cache "
    "(arch/mips/mm/cache.c, 6.6 L146-172) clears PG_dcache_dirty after mapping a folio "
    "whose PTE is not exec (RIXI: pte_no_exec) and does not alias, without flushing; "
    "on a CPU whose I-cache does not fill from the D-cache a later exec mapping finds "
    "the flag clear and executes stale instructions")

MIPS_UPDATE_CACHE_ALIAS = (
    "same root cause as the documented tlb_remap finding, on an aliasing D-cache: mips "
    "__update_cache (arch/mips/mm/cache.c L161-171) flushes only the pages that alias the "
    "address being mapped (pages_do_alias, L165) and then clears PG_dcache_dirty for the "
    "whole folio, so dirty kernel-alias lines stay behind with the flag clear; a later user "
    "mapping at another colour (a private MAP_FIXED file mapping may have any colour: "
    "arch/mips/mm/mmap.c L42-55 rejects misalignment only for MAP_SHARED) reads stale RAM")

MIPS_MAPPED_FLUSH = (
    "explore finding (tests/explore/findings/explored_mips_stale_data_354fe86e.yaml): on an "
    "aliasing D-cache, mips flush_dcache_folio of a page-cache folio whose mapping is mapped "
    "flushes only the kernel alias (arch/mips/mm/cache.c __flush_dcache_pages L119-123, "
    "kmap_local_page + flush_data_cache_page); a line of a user mapping at another colour "
    "that read the page before write(2) stays valid and the user reads stale data. arm "
    "walks the mapping's VMAs and flushes each user alias (arch/arm/mm/flush.c "
    "__flush_dcache_aliases L238, called from __flush_dcache_folio L360). Pre-dates the seed")

CSKY_NO_EXEC = (
    "documented finding (runtime/scenarios/pgtable_props.yaml, props_basic): C-SKY has no "
    "execute permission (arch/csky/abiv2/inc/abi/pgtable-bits.h: only _PAGE_VALID and "
    "_PAGE_DIRTY are hardware bits; protection_map gives VM_READ and VM_EXEC the same "
    "PAGE_READ), so a user can execute a mapping without VM_EXEC, for which "
    "update_mmu_cache_range (arch/csky/abiv2/cacheflush.c) does no I-cache work; "
    "executing PROT_READ memory is outside the cachetlb.rst contract")

# (arch, cpu, check) -> why; consequences explored sequences reach
FINDINGS: dict[tuple[str, tuple[str, ...], str], str] = {
    ("mips", (), STALE_INSN): MIPS_UPDATE_CACHE,
    ("mips", ("dc_aliases",), STALE_INSN): MIPS_UPDATE_CACHE,
    ("mips", ("dc_aliases",), PG_ARCH_1_STATE): MIPS_UPDATE_CACHE_ALIAS,
    ("mips", ("dc_aliases", "ic_fills_f_dc"), PG_ARCH_1_STATE): MIPS_UPDATE_CACHE_ALIAS,
    ("mips", ("dc_aliases",), STALE_DATA): MIPS_MAPPED_FLUSH,
    ("mips", ("dc_aliases", "ic_fills_f_dc"), STALE_DATA): MIPS_MAPPED_FLUSH,
    ("m68k_sun3", (), "user_view"): (
        "documented finding (archdefs/m68k.arch, m68k_sun3; tests/conformance/"
        "test_broken_fixtures.py::test_sun3_prot_none_stays_readable): the Sun-3 PAGE_NONE "
        "is VALID | ACCESSED | NOCACHE, equal to PAGE_READONLY (arch/m68k/mm/sun3mmu.c), "
        "and mmu_emu_handle_fault() loads any VALID entry, so a PROT_NONE page stays "
        "readable and executable"),
    ("csky", (), STALE_INSN): CSKY_NO_EXEC,
}


def documented(directory: str = "") -> dict[tuple[str, tuple[str, ...], str], str]:
    """params.findings of the scenario files: (arch, cpu, check) -> why."""
    import yaml
    from runtime.conformance import SCENARIO_DIR
    d = directory or SCENARIO_DIR
    out: dict[tuple[str, tuple[str, ...], str], str] = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".yaml"):
            continue
        with open(os.path.join(d, fn), encoding="utf-8") as fh:
            doc: Any = yaml.safe_load(fh)
        for sc in (doc or {}).get("scenarios", []) or []:
            params = sc.get("params") or {}
            for f in params.get("findings", []) or []:
                key = (str(f.get("arch")), tuple(sorted(f.get("cpu") or [])), str(f.get("check")))
                out[key] = "documented finding (%s, %s): %s" % (
                    fn, sc.get("name"), " ".join(str(f.get("why", "")).split()))
            # params.model_gaps: the same shape, not kernel findings; the text
            # starts "model gap" as model_gap()'s does (is_model_gap)
            for f in params.get("model_gaps", []) or []:
                key = (str(f.get("arch")), tuple(sorted(f.get("cpu") or [])), str(f.get("check")))
                out.setdefault(key, "model gap (documented, %s, %s): %s" % (
                    fn, sc.get("name"), " ".join(str(f.get("why", "")).split())))
    return out


def is_model_gap(known: str) -> bool:
    """Whether a classify() answer names a gap of the model (documented in
    params.model_gaps or recognised by model_gap()) rather than a kernel
    finding."""
    return known.startswith("model gap")


def model_gap(w: World, v: Violation) -> str:
    """Why ``v`` is a gap of the model rather than of the arch, or ''."""
    k = w.k
    if v.check in (TLB_PRELOAD_MISSING, SPURIOUS_FAULT, "user_view") and v.addr >= 0:
        base = (v.addr >> k.pmd_shift) << k.pmd_shift
        for mm in w.mms:
            if base in mm.pmd_leaves:
                return ("model gap: do_set_pmd maps a PMD leaf but the model has no "
                        "update_mmu_cache_pmd arch hook (mm/memory.c do_set_pmd calls it; "
                        "mips loads the TLB there, riscv fences), so a software TLB is "
                        "never preloaded and a cached invalid entry never dropped")
    if (v.check == "user_view" and v.expected.startswith("SIGSEGV (PROT_NONE)")
            and (not w.arch.layout.has_role("user") or w.arch.layout.has_role("read"))):
        return ("model gap: Kernel._allowed checks present/user/write/exec but no read "
                "permission or hardware-valid bit, so a PROT_NONE entry that is present "
                "but not accessible (mips _PAGE_NO_READ, s390 _PAGE_INVALID, ColdFire "
                "without CF_PAGE_READABLE) can be read in the model")
    return ""


def classify(w: World, v: Violation, docs: dict[tuple[str, tuple[str, ...], str], str]) -> str:
    key = (w.arch.name, tuple(sorted(w.cpu)), v.check)
    return docs.get(key) or FINDINGS.get(key, "") or model_gap(w, v)
