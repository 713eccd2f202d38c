"""archdefs/arm_vivt.arch finding, reproduced on the model: arm pre-v6's
update_mmu_cache_range (arch/arm/mm/fault-armv.c:183-210, 6.12.117, since
the seed "[PATCH v6 09/38] arm: Implement the new page table range API")
ignores nr: make_coherent() runs for the first page of the range only.

One mm maps a 4-page file folio shared twice, at VIVT-distinct addresses.
A user store through the first VMA leaves a dirty line of page 1 at that
address; the second VMA then faults, fault-around maps all four pages with
one set_ptes / update_mmu_cache_range(nr = 4), and reads page 1.  The
expected version is the one the store returned, not anything a walk
computes.  With every page's aliases flushed (the archdef) the read sees
it; with the first page only (tests/fixtures/broken/
arm_vivt_coherent_first_page.arch, what shipped) it reads memory."""

from __future__ import annotations

from runtime.arch import Arch, VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel
from runtime.oracle import check_all

from fixture_archs import fixture, generated

PAGE = 4096
A = 0x40000000
B = 0x40100000 + PAGE          # another VIVT index than A's


def _two_shared_vmas(arch: Arch) -> tuple[Kernel, int, int]:
    k = Kernel(arch)
    mm = k.new_mm()
    f = k.new_file()
    folio = k.add_to_page_cache(f, 0, 2)
    k.mmap(mm, A, 4 * PAGE, VM_READ | VM_WRITE | VM_SHARED, f, pgoff=0)
    k.mmap(mm, B, 4 * PAGE, VM_READ | VM_WRITE | VM_SHARED, f, pgoff=0)
    written = k.user_write(mm, A + PAGE)          # dirty line of page 1 at A + PAGE
    assert written == folio.latest[1]
    seen = k.user_read(mm, B + PAGE)              # fault-around maps B's 4 pages at once
    return k, written, seen


def test_archdef_flushes_every_page_alias() -> None:
    k, written, seen = _two_shared_vmas(generated("arm_vivt"))
    assert seen == written
    assert [v for v in check_all(k) if v.check == "stale_data"] == []


def test_shipped_first_page_only_reads_stale_page_1() -> None:
    k, written, seen = _two_shared_vmas(fixture("arm_vivt_coherent_first_page"))
    assert seen != written
    assert any(v.check == "stale_data" for v in k.violations)
