"""The I-cache kinds of runtime/cache.py, exercised directly: what a fetch
sees after the page behind an address changed, and what each invalidation
drops.  The expected values come from the kinds' definitions in
dsl/catalog.py (KIND_ENTRIES) and Documentation/core-api/cachetlb.rst, not
from the code under test."""

from __future__ import annotations

from runtime.cache import DCache, ICache
from runtime.memory import Folio


def _page(pfn: int, version: int) -> Folio:
    f = Folio(pfn, 0, False)
    f.ram[0] = version
    f.latest[0] = version
    return f


def test_asn_tagged_lines_are_per_address_space_and_address() -> None:
    """alpha: a line is keyed by (ASN, virtual page).  A new page at the
    same address of the same mm hits the old line (stale) until the mm gets
    a new ASN; another mm never sees it; the fill reads the D-cache."""
    d = DCache("pipt", 1, 13)
    ic = ICache("asn_tagged")
    old, new = _page(0x100, 1), _page(0x200, 2)
    assert ic.fetch(old, 0, d, 0, 1, 0x40) == 1
    assert ic.fetch(new, 0, d, 0, 1, 0x40) == 1          # stale: same ASN, same address
    assert ic.fetch(new, 0, d, 0, 2, 0x40) == 2          # mm 2 has its own lines
    ic.invalidate_space(2)
    assert ic.fetch(new, 0, d, 0, 1, 0x40) == 1          # mm 2's new ASN leaves mm 1's
    ic.invalidate_space(1)
    assert ic.fetch(new, 0, d, 0, 1, 0x40) == 2          # mm 1's new ASN: refilled
    d.write(new, 0, 0, 3)                                # a store (dirty in the D-cache)
    ic.invalidate(new.pfn)
    assert ic.fetch(new, 0, d, 0, 1, 0x40) == 3          # fills through the D-cache


def test_untagged_invalidate_space_drops_every_line() -> None:
    """needs_sync lines are per pfn and say nothing of the mm that fetched
    them: a whole-mm invalidation has to drop them all."""
    d = DCache("pipt", 1, 12)
    ic = ICache("needs_sync")
    a, b = _page(0x10, 1), _page(0x20, 1)
    ic.fetch(a, 0, d, 0, 1, 0x1)
    ic.fetch(b, 0, d, 0, 2, 0x2)
    a.ram[0] = 5
    b.ram[0] = 6
    assert ic.fetch(a, 0, d, 0, 1, 0x1) == 1             # stale until invalidated
    ic.invalidate_space(1)
    assert ic.fetch(a, 0, d, 0, 1, 0x1) == 5
    assert ic.fetch(b, 0, d, 0, 2, 0x2) == 6             # mm 2's line went too
