"""The oracle: named invariant checks returning structured violations.

Place in the flow: ``Kernel`` records violations as it runs (stale data or
instructions on user access, PTE values and out-of-range writes after each
``set_ptes``, PG_arch_1 granularity in the flag primitives, lazy MMU misuse,
page_table_check, missing TLB preload / fence); ``check_all`` returns those
plus end-of-run scans:

* ``tlb_stale``: every valid TLB entry maps the pfn its PTE maps;
* ``lazy_mmu``: the machine is not left in lazy MMU mode;
* ``page_table_check``: the counters equal a recount from the page tables
  (mm/page_table_check.c keeps them in sync; a drift means a PTE store
  bypassed ``page_table_check_ptes_set``);
* ``pg_arch_1_state``: the flag's meaning holds.  The flag speaks for what
  the KERNEL put into a page (kv: its newest kernel store, fill, zeroed or
  copied contents; ``PhysMem.kernel_version``), never for the user's own
  stores through a user alias: those are flush_cache_page /
  flush_cache_range / unmap's business, and user space syncs the I-cache
  for code it writes itself (Documentation/core-api/cachetlb.rst).
  ``dcache_clean`` / ``icache_clean`` set => per page: no kernel-alias line
  is dirty with kv or older data; memory holds kv unless a user store
  superseded it; no D-cache line at any alias holds data older than kv;
  the I-cache holds nothing older than kv (arch/arm64/mm/flush.c).  Per
  cache kind: on a non-aliasing D-cache (pipt, vipt) there is one line per
  page, so this is "the kernel's data reached the point of unification and
  the I-cache"; on an aliasing one (vipt_aliasing, vivt) user-colour lines
  may stay dirty with the user's stores under a set flag -- arm ARMv6
  (__sync_icache_dcache, arch/arm/mm/flush.c), sh (__update_cache,
  arch/sh/mm/cache.c) and nios2 (update_mmu_cache_range,
  arch/nios2/mm/cacheflush.c) set it after writing back the kernel alias
  only -- but none may hold a copy older than the kernel's data.
  ``dcache_dirty`` clear => no dirty kernel-alias line (kv or older) in an
  unmapped page-cache folio: the flush may only be deferred by setting the
  flag (arch/mips/mm/cache.c __flush_dcache_pages, __update_cache).
* ``prefault_young``: after a fault on an arch that wants old prefaulted
  PTEs, the faulting address is young (mm/memory.c set_pte_range).

``expected_pte`` recomputes ``pfn_pte(pfn + i, prot)`` from the arch's
``fields`` only (runtime.layout), independently of generated helpers.
"""

from __future__ import annotations

from runtime.kernel import Kernel
from runtime.layout import Layout
from runtime.mm import Mm
from runtime.primitives import (
    GRANULARITY_PAGE, ICACHE_COHERENT, PG_ARCH_1_DCACHE_CLEAN, PG_ARCH_1_DCACHE_DIRTY,
    PG_ARCH_1_ICACHE_CLEAN,
)
from runtime.trace import hx
from runtime.violation import (
    CHECK_NAMES, LAZY_MMU, PAGE_TABLE_CHECK, PG_ARCH_1_STATE, PREFAULT_YOUNG,
    TLB_STALE, RangeError, Violation,
)

__all__ = ["Violation", "RangeError", "CHECK_NAMES", "check_all",
           "check_tlb", "check_lazy", "check_ptc_counts",
           "check_pg_arch_1_state", "check_prefault_young", "expected_pte"]


def expected_pte(layout: Layout, first: int, i: int) -> int:
    """Entry ``i`` of a range whose first entry is ``first``."""
    return layout.pfn_pte(layout.pfn_of(first) + i, layout.prot_of(first))


def check_tlb(k: Kernel) -> list[Violation]:
    out: list[Violation] = []
    arch = k.arch
    for (mm_id, vpage), val in k.tlb.items():
        if not arch.pte_present(val):
            continue
        mm = k.mms.get(mm_id)
        if mm is None:
            continue
        addr = vpage << k.page_shift
        base = (addr >> k.pmd_shift) << k.pmd_shift
        leaf = mm.pmd_leaves.get(base)
        if leaf is not None:
            # a PMD leaf: the TLB must map the leaf's page for addr
            want = leaf + ((addr - base) >> k.page_shift)
            if arch.pte_pfn(val) != want:
                out.append(Violation(TLB_STALE, arch.name, "mm=%d addr=%s" % (mm_id, hx(addr)),
                                     "pfn=%s (PMD leaf)" % hx(want),
                                     "pfn=%s" % hx(arch.pte_pfn(val)), addr, arch.pte_pfn(val)))
            continue
        cur = k.pte_at(mm, addr)
        if not arch.pte_present(cur) or arch.pte_pfn(cur) != arch.pte_pfn(val):
            out.append(Violation(TLB_STALE, arch.name,
                                 "mm=%d addr=%s" % (mm_id, hx(addr)),
                                 "pfn=%s" % (hx(arch.pte_pfn(cur))
                                             if arch.pte_present(cur) else "none"),
                                 "pfn=%s" % hx(arch.pte_pfn(val)), addr,
                                 arch.pte_pfn(val)))
    return out


def check_lazy(k: Kernel) -> list[Violation]:
    if k.lazy.active or k.lazy.depth > 0:
        return [Violation(LAZY_MMU, k.arch.name, "machine", "not in lazy MMU mode",
                          "in lazy MMU mode (%d deferred)" % len(k.lazy.pending))]
    return []


def check_ptc_counts(k: Kernel) -> list[Violation]:
    if not k.ptc.enabled:
        return []
    arch = k.arch
    anon: dict[int, int] = {}
    file: dict[int, int] = {}
    for mm in k.mms.values():
        if mm.is_init:
            continue
        for t in mm.tables.values():
            for val in t.entries:
                if arch.pte_user_accessible_page(val):
                    pfn = arch.pte_pfn(val)
                    f = k.mem.folio_of(pfn)
                    if f is None:
                        continue
                    d = anon if f.anon else file
                    d[pfn] = d.get(pfn, 0) + 1
    out: list[Violation] = []
    for head in sorted(k.mem.folios):
        f = k.mem.folios[head]
        for i in range(f.nr_pages):
            pfn = head + i
            ea = anon.get(pfn, 0)
            ef = file.get(pfn, 0)
            if f.ptc_anon[i] != ea or f.ptc_file[i] != ef:
                out.append(Violation(PAGE_TABLE_CHECK, arch.name, "pfn=" + hx(pfn),
                                     "anon=%d file=%d" % (ea, ef),
                                     "anon=%d file=%d" % (f.ptc_anon[i], f.ptc_file[i]),
                                     pfn=pfn))
    return out


def check_pg_arch_1_state(k: Kernel) -> list[Violation]:
    """The flag's meaning, per cache kind (see the module docstring and the
    README's "PG_arch_1 state" rule).  The flag describes what the KERNEL
    put into the page (kv: a kernel store, a fill, a zeroed or copied
    page); the user's own stores through a user alias are not the flag's
    business (flush_cache_page / flush_cache_range / unmap write them back,
    and user space syncs its own instructions: cachetlb.rst)."""
    use = k.arch.pg_arch_1_use
    out: list[Violation] = []
    if use not in (PG_ARCH_1_DCACHE_CLEAN, PG_ARCH_1_ICACHE_CLEAN, PG_ARCH_1_DCACHE_DIRTY):
        return out
    per_page = k.arch.pg_arch_1_granularity == GRANULARITY_PAGE
    if (use == PG_ARCH_1_DCACHE_DIRTY and k.dcache.colours <= 1
            and k.arch.icache_kind(k.cpu) == ICACHE_COHERENT):
        # A deferred flush only matters to a user alias of another colour or
        # to an I-cache that does not fill from the D-cache; with neither, a
        # dirty kernel-alias line is invisible and the flag carries nothing.
        return out
    dc = k.dcache
    deferred = use == PG_ARCH_1_DCACHE_DIRTY
    for head in sorted(k.mem.folios):
        f = k.mem.folios[head]
        # dcache_dirty speaks only for an unmapped page-cache folio
        file_folio = f.mapping is not None and not f.anon
        for i in range(f.nr_pages):
            flag = f.page_arch1[i if per_page else 0]
            if flag == deferred or (deferred and not file_folio):
                continue
            pfn = head + i
            kv = k.mem.kernel_version(pfn, f.latest[i])
            # a page without D lines has no dirty kernel-alias line and no
            # stale alias (the kernel alias is only computed for the others)
            has_d = dc.has_lines(pfn)
            kdirty = False
            if has_d:
                kal = k.kernel_alias(pfn)
                kdirty = dc.is_dirty(pfn, kal) and dc.version(pfn, kal) <= kv
            if deferred:
                if kdirty and f.total_mapcount() == 0:
                    out.append(Violation(PG_ARCH_1_STATE, k.arch.name, "pfn=" + hx(pfn),
                                         "PG_arch_1 set while the kernel alias is dirty",
                                         "clear with a dirty kernel-alias line", pfn=pfn))
                continue
            # a line at any alias older than the kernel's data: on a
            # non-aliasing cache there is one line, which the kernel's own
            # store refreshed, so this only fires on aliasing kinds
            stale_d = -1
            if has_d:
                for a in dc.aliases_of(pfn):
                    if dc.version(pfn, a) < kv:
                        stale_d = a
                        break
            # every I-cache line of the page: at every colour on an
            # aliasing I-cache, every address space's on an asn_tagged one
            iv = k.icache.oldest(pfn)
            stale_i = 0 <= iv < kv
            lost = f.latest[i] == kv and f.ram[i] != kv
            if kdirty or lost or stale_d >= 0 or stale_i:
                out.append(Violation(PG_ARCH_1_STATE, k.arch.name, "pfn=" + hx(pfn),
                                     "the kernel's data (version %d) clean in D (every "
                                     "alias) and I when PG_arch_1 (%s) is set" % (kv, use),
                                     "ram=%d latest=%d kernel-alias-dirty=%d stale-alias=%s "
                                     "icache=%s"
                                     % (f.ram[i], f.latest[i], int(kdirty),
                                        "none" if stale_d < 0 else str(stale_d),
                                        "none" if iv < 0 else str(iv)),
                                     pfn=pfn))
    return out


def check_prefault_young(k: Kernel, mm: Mm, fault_addr: int) -> list[Violation]:
    """After a read fault at ``fault_addr``: its PTE must be young."""
    if not k.arch.wants_old_prefaulted_pte(k.cpu):
        return []
    pte = k.pte_at(mm, fault_addr)
    if k.arch.pte_present(pte) and not k.arch.pte_young(pte):
        return [Violation(PREFAULT_YOUNG, k.arch.name,
                          "mm=%d addr=%s" % (mm.id, hx(fault_addr)),
                          "young", "old", fault_addr, k.arch.pte_pfn(pte))]
    return []


def check_all(k: Kernel) -> list[Violation]:
    """Everything recorded during the run plus the end-of-run scans."""
    return (list(k.violations) + check_tlb(k) + check_lazy(k)
            + check_ptc_counts(k) + check_pg_arch_1_state(k))
