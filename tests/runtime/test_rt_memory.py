"""runtime.memory and runtime.pagetable."""

from __future__ import annotations

import pytest

from runtime.memory import PhysMem
from runtime.oracle import RangeError
from runtime.pagetable import PteRef, PteTable


def test_alloc_aligned_and_lookup() -> None:
    mem = PhysMem(9)
    a = mem.alloc(0, False)
    b = mem.alloc(4, True)
    assert a.pfn == 0x1000 and a.nr_pages == 1
    assert b.pfn == 0x1010 and b.nr_pages == 16 and b.anon
    assert mem.folio_of(0x101F) is b
    assert mem.folio_of(0x1001) is None
    assert mem.folio_of(0x1020) is None
    assert b.page(3).pfn == 0x1013 and not b.page(3).is_head
    with pytest.raises(ValueError):
        mem.alloc_at(0x1018, 3, False)      # overlaps b
    with pytest.raises(ValueError):
        mem.alloc_at(0x2001, 1, False)      # unaligned


def test_folio_flag_is_head_page_bit() -> None:
    mem = PhysMem(9)
    f = mem.alloc(2, False)
    f.page_arch1[0] = True
    assert f.arch1 and f.page(0).arch1 and not f.page(1).arch1


def test_pteref_offset_past_pmd_is_range_error() -> None:
    t = PteTable(1, 1, 0x200000, 512, 12)
    r = PteRef(t, 510)
    assert r.offset(1).idx == 511 and r.offset(1).addr == 0x3FF000
    with pytest.raises(RangeError) as ei:
        r.offset(2)
    assert ei.value.what == "pmd" and ei.value.check == "range_precondition"
