"""The oracle's PG_arch_1 state rule (runtime/oracle.py check_pg_arch_1_state)
speaks for what the KERNEL put into a folio: the user's own stores under a
set PG_dcache_clean are allowed (nios2, arm ARMv6 and sh set the flag after
writing back the kernel alias only; powerpc Book3S-32 sets it on writable
mappings), while a kernel write left in the kernel alias, or a stale copy at
another colour, under the set flag is still reported.

The states are built with the real generated modules and checked against
the cache contents directly (the dirty lines are read from the D-cache,
not from the rule under test)."""

from __future__ import annotations

from runtime.arch import VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel
from runtime.oracle import check_pg_arch_1_state

from fixture_archs import generated

BASE = 0x401000      # one colour off the pfns the allocator hands out
NPAGES = 8


def _user_dirty_under_flag(k: Kernel) -> list[int]:
    """pfns whose folio has PG_arch_1 set and that hold a dirty D-cache
    line written by a user store at an alias other than nothing the kernel
    wrote (read from the cache state)."""
    out = []
    for pfn, alias in k.dcache.dirty_lines():
        f = k.mem.folio_of(pfn)
        if f is None or not f.page_arch1[0]:
            continue
        if k.dcache.version(pfn, alias) == f.latest[pfn - f.pfn] and \
                k.mem.user_stores.get(pfn) == f.latest[pfn - f.pfn]:
            out.append(pfn)
    return out


def _anon_written(arch_name: str) -> tuple[Kernel, list[int]]:
    k = Kernel(generated(arch_name), frozenset())
    mm = k.new_mm()
    k.mmap(mm, BASE, NPAGES * k.page_size, VM_READ | VM_WRITE)
    pfns = []
    for i in range(NPAGES):
        k.user_write(mm, BASE + i * k.page_size)
        pfns.append(k.arch.pte_pfn(k.pte_at(mm, BASE + i * k.page_size)))
    return k, pfns


def test_nios2_user_colour_lines_under_a_set_flag_are_allowed() -> None:
    k, pfns = _anon_written("nios2")
    dirty = _user_dirty_under_flag(k)
    # the state the old "no dirty line anywhere" rule refused: user-colour
    # lines of flagged folios hold the user's stores, not yet in memory
    assert dirty, "the scenario must leave user stores dirty under a set flag"
    assert any(alias != k.kernel_alias(pfn) for pfn, alias in k.dcache.dirty_lines() if pfn in dirty)
    assert any(k.mem.folio_of(p).ram[0] != k.mem.folio_of(p).latest[0] for p in dirty)  # type: ignore[union-attr]
    assert check_pg_arch_1_state(k) == []


def test_nios2_kernel_write_left_in_the_kernel_alias_is_reported() -> None:
    k, pfns = _anon_written("nios2")
    pfn = pfns[3]
    k.kernel_write_page(pfn)                 # no flush_dcache_folio after it
    got = check_pg_arch_1_state(k)
    assert [v.pfn for v in got] == [pfn], got
    assert "kernel-alias-dirty=1" in got[0].seen


def test_nios2_stale_copy_at_a_user_colour_is_reported() -> None:
    k = Kernel(generated("nios2"), frozenset())
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, order=0)
    k.mmap(mm, BASE, NPAGES * k.page_size, VM_READ | VM_SHARED, f)
    addr = BASE
    k.user_read(mm, addr)                    # a clean line at the user colour
    pfn = k.arch.pte_pfn(k.pte_at(mm, addr))
    assert k.dcache.alias(mm.id, addr) != k.kernel_alias(pfn)
    assert check_pg_arch_1_state(k) == []
    k.kernel_write_page(pfn)
    k.dcache_flush(pfn, 1)                   # the kernel alias only
    got = check_pg_arch_1_state(k)
    assert [v.pfn for v in got] == [pfn], got
    assert "stale-alias=%d" % k.dcache.alias(mm.id, addr) in got[0].seen


def test_powerpc32_user_stores_under_a_set_flag_are_allowed() -> None:
    """PIPT with an I-cache that needs a sync: the flag (set by set_ptes for
    every mapping) says the I-cache saw the kernel's data; the user's later
    stores are its own to sync."""
    k, pfns = _anon_written("powerpc32")
    assert _user_dirty_under_flag(k)
    assert check_pg_arch_1_state(k) == []
    k.kernel_write_page(pfns[0])
    assert [v.pfn for v in check_pg_arch_1_state(k)] == [pfns[0]]
