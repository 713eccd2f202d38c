"""Family ``remap_present`` (issue 10 item 7): set_ptes over entries that
are already present -- the arch calls of a fault that raced a completed
map, mprotect (mm/mprotect.c change_pte_range) and the re-fault after it
-- so the per-call work runs on non-empty tables; work counts recorded,
and two bounds that hold whatever the archdef says -> ``work_bound``.

Place in the flow: registered in runtime/conformance.py.  Per folio order
one machine: a page-cache folio the kernel filled, one VMA mapping it.

Patterns (``pattern``):
* ``identical`` -- the folio is mapped (``map: batch``, the default: one
  set_pte_range; ``fault``: the user's fault, fault-around) and accessed;
  then the arch calls of a second set_pte_range over the same range run
  again with the same entries (set_ptes + update_mmu_cache_range, the
  rmap untouched: in the kernel the racing fault re-checks pte_none under
  the PTL, finish_fault; ptep_set_access_flags' generic form is the same
  set_pte_at over a present entry), and the pages are accessed again;
* ``mprotect`` -- mapped and accessed, mprotect to ``vm_flags_to`` (its
  change_pte_range: ptep_modify_prot_start / pte_modify /
  ptep_modify_prot_commit per present entry, then the TLB flush), accessed
  as that allows, mprotect back, accessed again; with a shared writable
  mapping the last writes fault into do_wp_page (set_pte_at over the
  present read-only entry).

Bounds (named ``work_bound``; from the range API's contract, not from the
archdef under test):
1. a set_ptes whose every entry keeps the PFN and the permissions of the
   present entry it replaces does no cache maintenance (no D-cache flush
   or clean, no I-cache sync or invalidate): the data and the
   instructions the mapping sees did not change (cachetlb.rst asks for
   maintenance when a mapping or the page's data changes);
2. with PG_arch_1 meaning "clean" (``dcache_clean`` / ``icache_clean``,
   per folio): at most one I-cache sync of a folio while its flag stays
   set -- the flag says the sync was done (arch/arm64/mm/flush.c
   __sync_icache_dcache, arch/riscv/mm/cacheflush.c flush_icache_pte).
"""

from __future__ import annotations

from runtime.families.base import (
    USER_VIEW, WORK_BOUND, Family, Run, file_with, map_direct, region,
)
from runtime.kernel import Kernel
from runtime.memory import Folio
from runtime.mm import Vma
from runtime.primitives import PG_ARCH_1_DCACHE_CLEAN, PG_ARCH_1_ICACHE_CLEAN
from runtime.scenarios import Scenario, parse_vm_flags
from runtime.trace import WorkCounts, hx, work_counts

PATTERNS = ("identical", "mprotect")


def same_mapping(k: Kernel, old: int, new: int) -> bool:
    """new maps old's pfn with old's permissions (young/dirty may differ)."""
    a = k.arch
    if not (a.pte_present(old) and a.pte_present(new)):
        return False
    if a.pte_pfn(old) != a.pte_pfn(new):
        return False
    lay = a.layout
    for role in ("write", "exec", "user", "read"):
        if lay.has_role(role) and lay.test(old, role) != lay.test(new, role):
            return False
    return a.pte_protnone(old) == a.pte_protnone(new)


def check_unchanged_set_ptes(run: Run, k: Kernel, where: str, work: WorkCounts,
                             first: str) -> None:
    """Bound 1: no cache maintenance in a set_ptes that changed nothing."""
    if work.maintenance:
        run.violate(WORK_BOUND, where,
                    "no cache maintenance in a set_ptes that changes no entry's pfn "
                    "or permission",
                    "%d operation(s) (%s), first: %s" % (work.maintenance, work.text(), first))


def check_icache_syncs(run: Run, k: Kernel) -> None:
    """Bound 2: at most one I-cache sync per folio while PG_arch_1 is set."""
    a = k.arch
    if a.pg_arch_1_use not in (PG_ARCH_1_DCACHE_CLEAN, PG_ARCH_1_ICACHE_CLEAN):
        return
    flag: dict[int, bool] = {}
    syncs: dict[int, int] = {}
    for ln in k.trace.lines:
        if ln.startswith("pg_arch_1 set folio="):
            head = int(ln[len("pg_arch_1 set folio="):], 16)
            if not flag.get(head, False):
                syncs[head] = 0
            flag[head] = True
        elif ln.startswith("pg_arch_1 clear folio="):
            flag[int(ln[len("pg_arch_1 clear folio="):], 16)] = False
        elif ln.startswith("icache_sync pfn="):
            pfn = int(ln.split(" ")[1][len("pfn="):], 16)
            f = k.mem.folio_of(pfn)
            if f is None or not flag.get(f.pfn, False):
                continue
            syncs[f.pfn] = syncs.get(f.pfn, 0) + 1
            if syncs[f.pfn] == 2:
                run.violate(WORK_BOUND, "folio=%s" % hx(f.pfn),
                            "at most one I-cache sync of a folio while PG_arch_1 (%s) "
                            "stays set" % a.pg_arch_1_use,
                            "a second sync: %s" % ln, pfn=f.pfn)


def _access(run: Run, k: Kernel, vma: Vma, n: int, kind: str) -> None:
    for i in range(n):
        addr = vma.start + (i << k.page_shift)
        if kind == "x":
            v = k.user_exec(vma.mm, addr)
        elif kind == "w":
            v = k.user_write(vma.mm, addr)
        else:
            v = k.user_read(vma.mm, addr)
        if v < 0:
            run.violate(USER_VIEW, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                        "the access succeeds", "SIGSEGV", addr)


def _kind(flags: int) -> str:
    """The strongest access the flags allow, as _access spells it."""
    if flags & 4:
        return "x"
    if flags & 2 and flags & 8:
        return "w"
    return "r"


class RemapPresent(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        a = run.arch
        pattern = sc.get_str("pattern", "identical")
        if pattern not in PATTERNS:
            raise ValueError("%s: pattern must be one of %s" % (sc.name, ", ".join(PATTERNS)))
        flags = parse_vm_flags(sc.get_str("vm_flags", "rx"))
        path = sc.get_str("map", "batch")
        for order in sc.orders(a, default=[0, 2, 4]):
            k = run.kernel()
            m, folios, _ = file_with(k, [order])
            f = folios[0]
            n = f.nr_pages
            mm = k.new_mm()
            start = region(k, 1, n) + (sc.get_int("colour_offset", 0) << k.page_shift)
            vma = k.mmap(mm, start, n << k.page_shift, flags, m)
            if pattern == "identical":
                self.identical(run, k, vma, n, path, f)
            else:
                self.mprotect(run, k, vma, n, sc, flags)
            check_icache_syncs(run, k)

    def identical(self, run: Run, k: Kernel, vma: Vma, n: int, path: str, f: Folio) -> None:
        a = k.arch
        kind = _kind(vma.flags)
        if path == "batch":
            map_direct(k, vma, f, vma.start, write=kind == "w")
        _access(run, k, vma, n, kind)
        mm = vma.mm
        ptep = k.pte_ref(mm, vma.start)
        if ptep is None:
            return                                    # PMD-mapped: no PTEs to re-set
        olds = [ptep.table.entries[ptep.idx + i] for i in range(n)]
        first = olds[0]
        news = [a.pte_advance(first, i) for i in range(n)]
        if not all(same_mapping(k, o, w) for o, w in zip(olds, news)):
            return                                    # not a no-change re-set on this arch
        mark = k.trace.mark()
        k.set_ptes(mm, vma.start, ptep, first, n)
        lines = k.trace.since(mark)
        work = work_counts(lines)
        bad = [ln for ln in lines if ln.split(" ")[0] in (
            "dcache_flush", "dcache_clean", "dcache_flush_user", "icache_sync", "icache_inval")]
        check_unchanged_set_ptes(run, k, "set_ptes over present mm=%d addr=%s nr=%d"
                                 % (mm.id, hx(vma.start), n), work, bad[0] if bad else "")
        k.update_mmu_cache_range(None, vma, vma.start, ptep, n)
        _access(run, k, vma, n, kind)

    def mprotect(self, run: Run, k: Kernel, vma: Vma, n: int, sc: Scenario,
                 flags: int) -> None:
        to = parse_vm_flags(sc.get_str("vm_flags_to", "r")) | (flags & 8)
        kind = _kind(flags)
        if kind == "w":
            _access(run, k, vma, n, "w")             # shared write faults map it
        else:
            f = vma.mapping.folio_at(vma.pgoff) if vma.mapping is not None else None
            if f is not None:
                map_direct(k, vma, f, vma.start)
            _access(run, k, vma, n, kind)
        k.mprotect(vma, to)
        if to & 7:
            _access(run, k, vma, n, _kind(to))
        k.mprotect(vma, flags)                       # back: re-fault where needed
        _access(run, k, vma, n, kind)


FAMILY: Family = RemapPresent("remap_present")
