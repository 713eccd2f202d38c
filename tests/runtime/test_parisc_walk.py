"""archdefs/parisc.arch finding 1, reproduced on the model: parisc's
flush_dcache_folio (arch/parisc/kernel/cache.c, seed post-image; 6.12.117
L506-519) walks i_mmap with vma_interval_tree_foreach(vma, root, pgoff,
pgoff + nr - 1) and reuses `nr` in the loop body; the macro
(include/linux/mm.h:3338-3340) evaluates its `last` argument again at every
step, so after a VMA that maps only the head of the folio the walk stops
before a VMA that maps only the tail.  The shipped walk is written out here
(the interval tree visits VMAs by vm_pgoff and stops at the first one that
starts after `last`); the archdef's walk (`each mapping of folio`) is the
intended one.  The expected versions come from the writes, not from either
walk."""

from __future__ import annotations

from runtime.arch import Arch, VM_READ, VM_SHARED
from runtime.kernel import Kernel
from runtime.memory import Folio
from runtime.oracle import check_all

from fixture_archs import generated, generated_class

PAGE = 4096
BASE = 0x40000000


def parisc_shipped_walk() -> Arch:
    class ParisShippedWalk(generated_class("parisc")):  # type: ignore[misc]
        def flush_dcache_folio(self, k: Kernel, folio: Folio) -> None:
            if k.folio_has_mapping(folio) and not k.mapping_mapped(folio):
                k.folio_set_arch1(folio)
                return
            k.dcache_flush(folio.pfn, folio.nr_pages)
            m = folio.mapping
            if m is None or folio.anon:
                return
            pgoff = folio.index
            nr = folio.nr_pages
            for v in sorted(k.i_mmap(m), key=lambda x: x.pgoff):
                last = pgoff + nr - 1                 # re-evaluated: nr is the loop's
                if v.pgoff > last:
                    break                             # iter_next finds nothing further
                if v.pgoff + (v.end - v.start) // PAGE - 1 < pgoff:
                    continue
                offset = pgoff - v.pgoff
                addr, pfn, nr = v.start, folio.pfn, folio.nr_pages
                if offset < 0:                        # "offset > -nr" on unsigned longs
                    pfn -= offset
                    nr += offset
                else:
                    addr += offset * PAGE
                if addr + nr * PAGE > v.end:
                    nr = (v.end - addr) // PAGE
                for i in range(nr):
                    k.dcache_flush_user(v.mm, addr + i * PAGE, pfn + i, 1)
    return ParisShippedWalk()


def _head_and_tail(arch: Arch) -> tuple[Kernel, list[int], list[int]]:
    """A 4-page file folio mapped by two shared VMAs of one mm, pages 0-1
    and pages 2-3, at addresses whose colour differs from the kernel
    alias; every page read, then written by write(2), then read again."""
    k = Kernel(arch)
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 2)
    k.mmap(mm, BASE + PAGE, 2 * PAGE, VM_READ | VM_SHARED, f, pgoff=0)
    k.mmap(mm, BASE + 0x100000 + 3 * PAGE, 2 * PAGE, VM_READ | VM_SHARED, f, pgoff=2)
    addrs = [BASE + PAGE, BASE + 2 * PAGE, BASE + 0x100000 + 3 * PAGE, BASE + 0x100000 + 4 * PAGE]
    for a in addrs:
        k.user_read(mm, a)
    written = [k.file_write(f, i) for i in range(4)]
    seen = [k.user_read(mm, a) for a in addrs]
    return k, written, seen


def test_every_user_alias_of_the_folio_aliases_the_kernel_one() -> None:
    k = Kernel(generated("parisc"))
    kaddr = [k.kaddr(0x1000 + i) for i in range(4)]
    uaddr = [BASE + PAGE, BASE + 2 * PAGE, BASE + 0x100000 + 3 * PAGE, BASE + 0x100000 + 4 * PAGE]
    assert all(k.pages_do_alias(ka, ua) for ka, ua in zip(kaddr, uaddr))


def test_archdef_walk_flushes_both_vmas() -> None:
    k, written, seen = _head_and_tail(generated("parisc"))
    assert seen == written
    assert check_all(k) == []


def test_shipped_walk_skips_the_tail_vma() -> None:
    k, written, seen = _head_and_tail(parisc_shipped_walk())
    assert seen[:2] == written[:2]
    assert seen[2:] != written[2:]                    # the tail VMA reads stale lines
    assert sorted({v.pfn for v in check_all(k) if v.check == "stale_data"}) == [0x1002, 0x1003]
