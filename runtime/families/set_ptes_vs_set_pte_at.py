"""Family ``set_ptes_vs_set_pte_at``: one set_pte_range of nr pages and nr
single-page ones give the same PTEs and the same user view ->
``set_ptes_equivalence``.

Place in the flow: registered in runtime/conformance.py.  Per (order, VM
flags) the fixture is two machines mapping the same file folio, batched
and one page at a time; the checks compare their entries and what a user
reads (and executes) through them.
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.families.base import SET_PTES_EQUIVALENCE, Family, Run, file_with, region
from runtime.kernel import Kernel
from runtime.mm import Mm, Vmf
from runtime.scenarios import Scenario
from runtime.trace import hx


def user_view(k: Kernel, mm: Mm, start: int, n: int, exec_: bool) -> list[int]:
    out: list[int] = []
    for i in range(n):
        addr = start + (i << k.page_shift)
        out.append(k.user_read(mm, addr))
        if exec_:
            out.append(k.user_exec(mm, addr))
    return out


def mapped(run: Run, sc: Scenario, order: int, flags: int,
           batched: bool) -> tuple[list[int], list[int]]:
    """Fixture: a fresh machine maps an order-``order`` file folio with one
    set_pte_range (``batched``) or one per page; (entries, user view)."""
    n = 1 << order
    k = run.kernel()
    mm = k.new_mm()
    m, folios, pages = file_with(k, [order])
    start = region(k, 1, n) + (sc.get_int("colour_offset", 1) << k.page_shift)
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
    ents = [ptep.table.entries[ptep.idx + i] for i in range(n)]
    return ents, user_view(k, mm, start, n, bool(flags & VM_EXEC))


def check_entries(run: Run, order: int, flags: int, batched: list[int],
                  single: list[int]) -> None:
    n = 1 << order
    for i in range(n):
        if batched[i] != single[i]:
            run.violate(SET_PTES_EQUIVALENCE,
                        "order=%d vm_flags=%s idx=%d" % (order, hx(flags), i),
                        "set_ptes(nr=%d) entry %s" % (n, hx(batched[i])),
                        "%d x set_pte_at entry %s" % (n, hx(single[i])))
            break


def check_views(run: Run, order: int, flags: int, batched: list[int],
                single: list[int]) -> None:
    n = 1 << order
    if batched != single:
        run.violate(SET_PTES_EQUIVALENCE, "order=%d vm_flags=%s user view" % (order, hx(flags)),
                    "set_ptes(nr=%d) view %r" % (n, batched[:8]),
                    "%d x set_pte_at view %r" % (n, single[:8]))


class SetPtesVsSetPteAt(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        for order in sc.orders(run.arch, default=[0, 2, 4]):
            for flags in sc.vm_flags("vm_flags", [VM_READ, VM_READ | VM_EXEC,
                                                  VM_READ | VM_WRITE | VM_SHARED, 0]):
                ents_b, view_b = mapped(run, sc, order, flags, True)
                ents_s, view_s = mapped(run, sc, order, flags, False)
                check_entries(run, order, flags, ents_b, ents_s)
                check_views(run, order, flags, view_b, view_s)


FAMILY: Family = SetPtesVsSetPteAt("set_ptes_vs_set_pte_at")
