"""csky_tlb_flush_first_only (tests/fixtures/broken/): update_mmu_cache_range
flushes the TLB for the first page of the range only (the 6.6 / 6.12.117
abiv2/cacheflush.c:17 text).  In the conformance scenarios that is masked:
csky has no pte_sw_mkyoung, so set_pte_range installs entries without the
hardware valid bit, the first touch of every page faults, and
handle_pte_fault's update_mmu_cache (nr=1) flushes that page's entry.  The
stale entry matters once the range is installed already valid: here the
kernel's fault installs the folio's four entries young (as set_pte_range
does on an arch with pte_sw_mkyoung: mips, loongarch) after the walker
cached the none entry the user's first touch, at page 3, found.  The
retried access then hits the cached invalid entry on an entry that needs
no fixing: a spurious fault (the check the riscv fence scenarios use).
The correct csky archdef flushes every entry of the range and runs clean.

Built by hand from public Kernel methods (the walker's refill is the TLB
model's own CachesInvalidTlb.refill semantics: the non-present entry is
kept); no archdef knowledge goes into the expectation."""

from __future__ import annotations

from runtime.arch import Arch, VM_READ
from runtime.kernel import Kernel
from runtime.mm import Vmf
from runtime.oracle import check_all
from runtime.violation import SPURIOUS_FAULT

from fixture_archs import fixture, generated

BASE = 0x10800000
FIRST = 3


def _young_range_after_invalid_touch(arch: Arch) -> Kernel:
    k = Kernel(arch, frozenset())
    ps = k.page_size
    mm = k.new_mm()
    f = k.new_file()
    folio = k.add_to_page_cache(f, 0, order=2)
    n = folio.nr_pages
    vma = k.mmap(mm, BASE, n * ps, VM_READ, f)
    addr = BASE + FIRST * ps
    # the user's first touch at page 3: the walker finds no entry and the
    # TLB keeps the invalid one (a TLB kind that caches invalid entries)
    assert k.tlb.caches_invalid()
    k.tlb.refill(mm.id, addr >> k.page_shift, None, 0, arch.empty_pte, arch.empty_pte, False)
    assert k.tlb.lookup(mm.id, addr >> k.page_shift) is not None
    # the fault maps the whole folio with one set_pte_range whose entries
    # are young (hardware valid): flush_icache_pages, set_ptes,
    # update_mmu_cache_range (mm/memory.c set_pte_range)
    entry = arch.pte_mkyoung(arch.pfn_pte(folio.pfn, vma.page_prot))
    assert arch.layout.test(entry, "valid")
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    k.flush_icache_pages(vma, folio.page(0), n)
    for i in range(n):                           # folio_add_file_rmap_ptes
        folio.mapcount[i] += 1
    mm.file_pages += n
    k.set_ptes(mm, BASE, ptep, entry, n)
    k.update_mmu_cache_range(Vmf(vma, addr, FIRST, False, False), vma, BASE, ptep, n)
    # the retried access, then every page
    for i in [FIRST] + [j for j in range(n) if j != FIRST]:
        assert k.user_read(mm, BASE + i * ps) >= 0
    return k


def test_csky_flush_first_only_leaves_the_invalid_entry() -> None:
    k = _young_range_after_invalid_touch(fixture("csky_tlb_flush_first_only"))
    got = [v for v in check_all(k) if v.check == SPURIOUS_FAULT]
    assert got and got[0].addr == BASE + FIRST * k.page_size, check_all(k)


def test_csky_flushes_every_entry() -> None:
    k = _young_range_after_invalid_touch(generated("csky"))
    assert check_all(k) == []
