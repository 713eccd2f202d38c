"""Family ``exec_after_read`` (issue 10 item 8): a page-cache folio is
mapped without exec and read first, and executed later through an exec
mapping of the same folio, in the same mm or in another one -> ``stale_insn``
(and ``stale_data``, ``user_view``).  Every page of the folio is read and
executed, not only page 0.

Place in the flow: registered in runtime/conformance.py.  Per folio order
one machine: the kernel fills a page-cache folio (flush_dcache_folio), a
read-only private VMA (``first``, default ``r``) maps it -- ``map:
batch``: one set_pte_range of the whole folio, else the user's read faults
(fault-around) -- and every page is read; then an exec VMA (``then``,
default ``rx``) in the same mm (``mm: same``) or a second one (``other``)
maps it and every page is executed, and read again through the first VMA.

Why: a flag that means "the I-cache is in sync" (PG_dcache_clean,
PG_dc_clean) must not be set by a mapping that did not sync.  openrisc's
update_cache() sets PG_dc_clean for every mapping and syncs only for
VM_EXEC (archdefs/openrisc.arch finding 1): the read mapping marks the
folio clean, the exec mapping skips the sync, the user executes stale
instructions.  The expectation (the kernel's data) comes from the
machine's memory versions, not from the archdef.
"""

from __future__ import annotations

from runtime.families.base import (
    Family, Run, access, file_with, map_direct, region,
)
from runtime.scenarios import Scenario, parse_vm_flags


class ExecAfterRead(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        first = parse_vm_flags(sc.get_str("first", "r"))
        then = parse_vm_flags(sc.get_str("then", "rx"))
        same = sc.get_str("mm", "same") == "same"
        direct = sc.get_str("map", "fault") == "batch"
        prealloc = sc.get_bool("prealloc_table", False)
        colours = max(a.dcache_colours(run.cpu), 1)
        off = sc.get_int("colour_offset", 0)
        for order in sc.orders(a, default=[0, 2, 4]):
            k = run.kernel()
            m, folios, _ = file_with(k, [order])
            f = folios[0]
            n = f.nr_pages
            pages = list(range(n))                 # every page, not only page 0
            mm1 = k.new_mm()
            mm2 = mm1 if same else k.new_mm()
            span = n + 4 * colours
            v1 = k.mmap(mm1, region(k, 1, span) + (off << k.page_shift), n << k.page_shift,
                        first, m)
            v2 = k.mmap(mm2, region(k, 2, span) + (off << k.page_shift), n << k.page_shift,
                        then, m)
            if prealloc:
                k.pte_ref(mm1, v1.start, True)      # PTEs, not do_set_pmd
                k.pte_ref(mm2, v2.start, True)
            if direct:
                map_direct(k, v1, f, v1.start)
            access(run, k, v1, pages, False)
            if direct:
                map_direct(k, v2, f, v2.start)
            access(run, k, v2, pages, True)
            access(run, k, v1, pages, False)


FAMILY: Family = ExecAfterRead("exec_after_read")
