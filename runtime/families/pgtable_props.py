"""Family ``pgtable_props``: mm/debug_vm_pgtable.c pte_basic_tests (and the
protnone test) over the 16 ``vm_get_page_prot`` values -> ``pte_property``.

Place in the flow: registered in runtime/conformance.py.  The fixture is
the list of pfns (the scenario's ``pfns`` plus the highest frame the PFN
field and phys_bits allow) and, per VM flag set, its protection; each
(flags, pfn) entry then goes through the named properties below.  Pure PTE
helpers: no arch call, no trace.
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, Arch
from runtime.families.base import PTE_PROPERTY, Family, Run
from runtime.scenarios import Scenario
from runtime.trace import hx


def fixture_pfns(a: Arch, sc: Scenario) -> list[int]:
    lay = a.layout
    top = min(lay.pfn_width, max(a.phys_bits - a.page_shift, 1))
    pfns: list[int] = []
    for p in sc.get_ints("pfns", [1, 0x1234]) + [(1 << top) - 1]:
        p &= (1 << top) - 1
        if p not in pfns:
            pfns.append(p)
    return pfns


def basic_checks(a: Arch, pte: int, pfn: int) -> list[tuple[str, bool]]:
    """pte_basic_tests: round trips and the mutators' monotonicity."""
    return [
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


def access_checks(a: Arch, flags: int, prot: int, pte: int) -> list[tuple[str, bool]]:
    """An accessible protection: present, user, write only when shared
    writable (private is COW), exec iff VM_EXEC."""
    lay = a.layout
    out = [("pte_present(pte)", a.pte_present(pte))]
    if lay.has_role("user") or a.pte_user(prot):
        out.append(("pte_user(pte)", a.pte_user(pte)))
    want_w = bool(flags & VM_WRITE) and bool(flags & VM_SHARED)
    if not want_w:
        out.append(("!pte_write(pte) (private or read-only: COW)", not a.pte_write(pte)))
    else:
        out.append(("pte_write(pte) (shared writable)", a.pte_write(pte)))
    if flags & VM_EXEC:
        out.append(("pte_exec(pte)", a.pte_exec(pte)))
    elif lay.has_role("exec"):
        out.append(("!pte_exec(pte)", not a.pte_exec(pte)))
    return out


def protnone_checks(a: Arch, pte: int) -> list[tuple[str, bool]]:
    """debug_vm_pgtable pte_protnone_tests (CONFIG_NUMA_BALANCING)."""
    return [("pte_present(pte) (PROT_NONE)", a.pte_present(pte)),
            ("pte_protnone(pte)", a.pte_protnone(pte))]


class PgtableProps(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        pfns = fixture_pfns(a, sc)
        has_protnone = a.layout.has_role("protnone") or a.pte_protnone(a.vm_get_page_prot(0))
        for flags in range(16):
            prot = a.vm_get_page_prot(flags)
            acc = bool(flags & (VM_READ | VM_WRITE | VM_EXEC))
            for pfn in pfns:
                pte = a.pfn_pte(pfn, prot)
                checks = basic_checks(a, pte, pfn)
                if acc:
                    checks += access_checks(a, flags, prot, pte)
                elif has_protnone:
                    checks += protnone_checks(a, pte)
                for what, good in checks:
                    if not good:
                        run.violate(PTE_PROPERTY, "vm_flags=%s pfn=%s pte=%s"
                                    % (hx(flags), hx(pfn), hx(pte)), what, "false", pfn=pfn)


FAMILY: Family = PgtableProps("pgtable_props")
