"""The oracle's PG_arch_1 rule asks every I-cache kind for the oldest line
of a page (runtime/cache.py ``ICache.oldest``): at every colour on an
aliasing I-cache, in every address space on an asn_tagged one.  Before,
the rule looked up ``lines[pfn]``, a key an aliasing I-cache (keyed
``pfn * COLOUR_KEY + colour``) or an asn_tagged one (keyed by address
space and virtual page) never has, so a stale line there went unseen.
No shipped archdef reaches that part of the rule today (xtensa_alias defers
with dcache_dirty; alpha has no PG_arch_1), so the kinds are tested here
directly: each line is placed through the cache's own fetch."""

from __future__ import annotations

from runtime.cache import COLOUR_KEY, AliasingICache, DCache, ICache
from runtime.memory import Folio, PhysMem


def _page(ver: int) -> Folio:
    f = PhysMem(4).alloc(0, False)
    f.ram[0] = ver
    return f


def test_needs_sync_line_is_seen() -> None:
    f = _page(4)
    ic = ICache("needs_sync")
    dc = DCache("pipt", 1, 12)
    assert ic.oldest(f.pfn) == -1
    ic.fetch(f, 0, dc, 0)
    assert ic.oldest(f.pfn) == 4


def test_aliasing_line_at_a_user_colour_is_seen() -> None:
    f = _page(3)
    pfn = f.pfn
    ic = AliasingICache("vipt_aliasing", 4, 12, 0)
    dc = DCache("pipt", 1, 12)
    colour = (pfn + 1) % 4                      # not the kernel address's colour
    ic.fetch(f, 0, dc, 0, 0, colour)
    assert pfn * COLOUR_KEY + colour in ic.lines and pfn not in ic.lines
    assert ic.oldest(pfn) == 3
    f.ram[0] = 7
    ic.fetch(f, 0, dc, 0, 0, (colour + 1) % 4)
    assert ic.oldest(pfn) == 3                  # the older of the two lines
    ic.invalidate_user(pfn, colour << 12)
    assert ic.oldest(pfn) == 7


def test_asn_tagged_line_is_seen() -> None:
    f = _page(5)
    ic = ICache("asn_tagged")
    dc = DCache("pipt", 1, 12)
    ic.fetch(f, 0, dc, 0, 2, 0x40)
    assert f.pfn not in ic.lines
    assert ic.oldest(f.pfn) == 5
    ic.invalidate(f.pfn)
    assert ic.oldest(f.pfn) == -1
