"""The two model entries csky ABIv1 needs (archdefs/csky_abiv1.arch):
folio_mapped() -- a page of the folio in a user page table -- as opposed
to mapping_mapped() (the file has VMAs), and the whole-D-cache write-back
dcache_flush_all (dcache_wbinv_all), which leaves the I-cache alone.
Expected values from the definitions in include/linux/mm.h (folio_mapped:
the mapcount) and include/linux/fs.h (mapping_mapped: i_mmap non-empty),
and from the cache model's own line state (no arch code involved)."""

from __future__ import annotations

from typing import Any

from runtime.arch import VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel

from fixture_archs import generated_class


def _arch(name: str) -> Any:
    """An instance of the generated arch class (the generated classes take
    no constructor arguments; the Arch base does)."""
    cls: Any = generated_class(name)
    return cls()


def test_folio_mapped_is_the_mapcount_not_the_files_vmas() -> None:
    k = Kernel(_arch("x86"))
    mm = k.new_mm()
    f = k.new_file()
    a = k.add_to_page_cache(f, 0, 0)
    b = k.add_to_page_cache(f, 1, 0)
    base = 0x10000000
    k.mmap(mm, base, 2 << k.page_shift, VM_READ, f, 0)
    # the file is mapped, no page faulted in yet
    assert k.mapping_mapped(a) and k.mapping_mapped(b)
    assert not k.folio_mapped(a) and not k.folio_mapped(b)
    k.handle_mm_fault(mm, base, False, False)          # fault-around may map b too
    assert k.folio_mapped(a)
    assert k.folio_mapped(b) == (b.total_mapcount() > 0)
    assert not k.folio_mapped(k.alloc_folio(0))          # never mapped


def test_dcache_flush_all_writes_back_user_lines_and_keeps_the_icache() -> None:
    k = Kernel(_arch("csky_abiv1"))        # vipt_aliasing(4)
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    base = 0x10000000 + (1 << k.page_shift)            # another colour than the kernel's
    k.mmap(mm, base, 1 << k.page_shift, VM_READ | VM_WRITE | VM_SHARED, f, 0)
    k.user_write(mm, base)
    assert k.dcache.dirty_lines(), "the user store sits in a dirty user-alias line"
    icache_before = dict(k.icache.lines)
    k.trace.lines.clear()
    k.dcache_flush_all()
    assert k.trace.lines == ["dcache_flush_all"]
    assert not k.dcache.dirty_lines() and not k.dcache.lines()
    assert dict(k.icache.lines) == icache_before
