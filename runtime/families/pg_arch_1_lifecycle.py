"""Family ``pg_arch_1_lifecycle``: the flag's meaning over its life
(``pg_arch_1_state``).

Place in the flow: registered in runtime/conformance.py.  For the
clean-tracking uses (dcache_clean, icache_clean) and dcache_dirty, per
folio order the fixture is one machine with a kernel-filled file folio
exec-mapped by one mm; the checks read the flag after each step of its
life (kernel write, exec mapping, unmap, rewrite, re-map).  For ``secure``
(s390, per 4 KiB page) pages of a large folio are made secure one at a
time and each must be tracked alone (``secure_pages``).
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.families.base import Family, Run, file_with, region, touch
from runtime.memory import Folio
from runtime.mm import Vmf
from runtime.primitives import (
    ICACHE_COHERENT, PG_ARCH_1_DCACHE_CLEAN, PG_ARCH_1_DCACHE_DIRTY, PG_ARCH_1_ICACHE_CLEAN, PG_ARCH_1_SECURE,
)
from runtime.scenarios import Scenario
from runtime.trace import hx
from runtime.violation import PG_ARCH_1_STATE

# the uses whose flag says "clean" (set once synced, cleared by a write)
CLEAN_USES: tuple[str, ...] = (PG_ARCH_1_DCACHE_CLEAN, PG_ARCH_1_ICACHE_CLEAN)


def expect_flag(run: Run, f: Folio, want: bool, why: str) -> None:
    """The named check of every stage: the folio's PG_arch_1 is ``want``."""
    if f.arch1 != want:
        run.violate(PG_ARCH_1_STATE, "folio=%s" % hx(f.pfn),
                    ("set " if want else "clear ") + why,
                    "set" if f.arch1 else "clear", pfn=f.pfn)


def lifecycle(run: Run, sc: Scenario) -> None:
    a = run.arch
    use = a.pg_arch_1_use
    if use == PG_ARCH_1_SECURE:
        secure_pages(run, sc)
        return
    # a clean-tracking flag drives the I-cache sync; with an I-cache coherent
    # with D on this CPU set the arch may never set it (powerpc with
    # CPU_FTR_COHERENT_ICACHE: flush_dcache_folio and the lazy flush return
    # at once), so its states are only checked where the I-cache needs sync
    clean = use in CLEAN_USES and a.icache_kind(run.cpu) != ICACHE_COHERENT
    for order in sc.orders(a, default=[0, 4]):
        # the fixture: a page-cache folio the kernel filled, one exec VMA
        k = run.kernel()
        m, folios, pages = file_with(k, [order])
        f = folios[0]
        if clean:
            expect_flag(run, f, False, "after the kernel wrote the folio (flush_dcache_folio)")
        mm = k.new_mm()
        start = region(k, 1, f.nr_pages) + (sc.get_int("colour_offset", 1) << k.page_shift)
        k.mmap(mm, start, f.nr_pages << k.page_shift, VM_READ | VM_EXEC, m)
        # stage 1: exec mapping
        for i in touch(f.nr_pages, 4):
            k.user_exec(mm, start + (i << k.page_shift))
        if clean:
            expect_flag(run, f, True, "after an exec mapping synced the folio")
        if use == PG_ARCH_1_DCACHE_DIRTY:
            expect_flag(run, f, False, "once the folio is mapped (the deferred flush done)")
        # stage 2: unmap, kernel rewrite
        k.zap_range(mm, start, f.nr_pages)
        k.file_write(m, 0)
        if clean:
            expect_flag(run, f, False, "after a kernel write (flush_dcache_folio)")
        # stage 3: re-map the rewritten page.  Executing the same pfn again
        # is only the range API's job where PG_arch_1 drives the I-cache
        # sync (dcache_clean/icache_clean); elsewhere (MIPS) stale I-cache
        # lines of an unmapped exec page are dropped by flush_cache_range at
        # unmap, which the archdef does not describe: read instead.
        for i in touch(f.nr_pages, 4):
            if clean:
                k.user_exec(mm, start + (i << k.page_shift))
            else:
                k.user_read(mm, start + (i << k.page_shift))
        if clean:
            expect_flag(run, f, True, "after the exec mapping re-synced the folio")


def secure_pages(run: Run, sc: Scenario) -> None:
    """s390: PG_arch_1 marks a 4 KiB page secure (arch/s390/kernel/uv.c
    make_page_secure sets it per page; arch_make_page_accessible tests and
    clears it per page).  The Ultravisor side is played here: pages of a
    large folio become secure one at a time, and the folio is mapped one
    page at a time.  The arch may leave the bits alone (6.6: the range
    calls do not touch them), or export what it maps; either way it must
    act on each page alone:
    * no bit outside the mapped range changes;
    * once the arch has cleared a mapped page's bit (it exports on map),
      every later mapped page's bit must be clear afterwards."""
    a = run.arch
    order = min(sc.get_int("order", 2), a.max_folio_order)
    seq = sc.get_ints("secure_order", [0, 2, 1, 3])
    for pgste in (True, False):
        k = run.kernel()
        mm = k.new_mm(pgste)
        m, folios, pages = file_with(k, [order])
        f = folios[0]
        n = f.nr_pages
        start = region(k, 1, n)
        vma = k.mmap(mm, start, n << k.page_shift, VM_READ | VM_WRITE | VM_SHARED, m)
        exports = False
        done: list[int] = []
        for j in seq:
            if j >= n:
                continue
            f.page_arch1[j] = True                 # make_page_secure(page j)
            before = list(f.page_arch1)
            addr = start + (j << k.page_shift)
            ptep = k.pte_ref(mm, addr, True)
            assert ptep is not None
            vmf = Vmf(vma, addr, j, False, False)
            k.set_pte_range(vmf, f, f.page(j), 1, addr, ptep)
            after = list(f.page_arch1)
            for i in range(n):
                if i != j and before[i] != after[i]:
                    run.violate(PG_ARCH_1_STATE, "page=%s" % hx(f.pfn + i),
                                "secure bit unchanged (page not in the mapped range pfn=%s)"
                                % hx(f.pfn + j),
                                "%d -> %d" % (int(before[i]), int(after[i])), pfn=f.pfn + i)
            if not after[j]:
                exports = True
            elif exports:
                run.violate(PG_ARCH_1_STATE, "page=%s" % hx(f.pfn + j),
                            "made accessible on mapping (as page(s) %s were)"
                            % ",".join(hx(f.pfn + i) for i in done),
                            "still secure after set_ptes", pfn=f.pfn + j)
            if not after[j]:
                done.append(j)



class PgArch1Lifecycle(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        lifecycle(run, sc)


FAMILY: Family = PgArch1Lifecycle("pg_arch_1_lifecycle")
