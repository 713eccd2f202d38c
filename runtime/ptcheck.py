"""page_table_check with the v6.6 rules (mm/page_table_check.c).

Place in the flow: ``Kernel.page_table_check_ptes_set`` (the primitive a
``set_ptes`` calls first) and the unmap path call this; counters live in
each folio's ``ptc_anon`` / ``ptc_file`` lists (the model's page_ext).

Rules (mm/page_table_check.c: __page_table_check_ptes_set,
page_table_check_set, page_table_check_clear; v6.6):
* ``init_mm`` is skipped entirely;
* the old entries of the range are cleared first: each old entry that is a
  user-accessible page (``pte_user_accessible_page``) decrements its page's
  count;
* then, if the new entry is a user-accessible page, ``nr`` pages from its
  pfn are counted, anon or file by whether the *first* page is anon;
* a page counted as anon must have no file count and vice versa;
* an anon page mapped more than once must be mapped read-only (the check
  fires when a writable anon mapping raises the count above 1);
* counts never go below zero.
In the kernel each rule is a BUG_ON; here each is a ``page_table_check``
violation and the model carries on.
"""

from __future__ import annotations

from runtime.memory import PhysMem
from runtime.trace import hx
from runtime.violation import PAGE_TABLE_CHECK, Violation


class PageTableCheck:
    arch: str
    mem: PhysMem
    violations: list[Violation]
    enabled: bool

    def __init__(self, arch: str, mem: PhysMem, violations: list[Violation],
                 enabled: bool = True) -> None:
        self.arch = arch
        self.mem = mem
        self.violations = violations
        self.enabled = enabled

    def _bad(self, pfn: int, expected: str, seen: str) -> None:
        self.violations.append(Violation(PAGE_TABLE_CHECK, self.arch,
                                         "pfn=" + hx(pfn), expected, seen,
                                         pfn=pfn))

    def clear(self, pfn: int, pgcnt: int) -> None:
        self._count(pfn, pgcnt, -1, False)

    def set(self, pfn: int, pgcnt: int, rw: bool) -> None:
        self._count(pfn, pgcnt, 1, rw)

    def _count(self, pfn: int, pgcnt: int, delta: int, rw: bool) -> None:
        """page_table_check_clear/set: move each page's anon or file map
        count by delta; the kind is the first page's (its folio's) anon-ness,
        and a page may never carry both kinds."""
        head = self.mem.folio_of(pfn)
        if head is None:              # !pfn_valid
            return
        anon = head.anon
        f = head
        lo = f.pfn
        hi = lo + f.nr_pages
        mine, other = (f.ptc_anon, f.ptc_file) if anon else (f.ptc_file, f.ptc_anon)
        if pfn + pgcnt <= hi:
            # the whole range in the first folio (set_ptes' own rule): one
            # pass over its counters, the per-page tests of the loop below
            # only where a rule could fire
            check_rw = delta > 0 and anon and rw
            for i in range(pfn - lo, pfn - lo + pgcnt):
                if other[i]:
                    break
                c = mine[i] + delta
                if c < 0 or (check_rw and c > 1):
                    break
                mine[i] = c
            else:
                return
            pgcnt -= i - (pfn - lo)
            pfn = lo + i
        name, other_name = ("anon", "file") if anon else ("file", "anon")
        for p in range(pfn, pfn + pgcnt):
            if p < lo or p >= hi:
                nf = self.mem.folio_of(p)
                if nf is None:
                    continue
                f = nf
                lo = f.pfn
                hi = lo + f.nr_pages
                mine, other = (f.ptc_anon, f.ptc_file) if anon else (f.ptc_file, f.ptc_anon)
            i = p - lo
            if other[i]:
                self._bad(p, "%s_map_count=0" % other_name,
                          "%s_map_count=%d" % (other_name, other[i]))
            mine[i] = mine[i] + delta
            if mine[i] < 0:
                self._bad(p, "%s_map_count>=0" % name, "%s_map_count=%d" % (name, mine[i]))
            elif delta > 0 and anon and rw and mine[i] > 1:
                self._bad(p, "anon page mapped more than once is read-only",
                          "anon_map_count=%d writable" % mine[i])
