"""D-cache and I-cache models.

Place in the flow: ``Kernel`` routes every data access through ``DCache``
(user accesses at the user alias, kernel writes at the kernel alias,
``kaddr(pfn)``) and every instruction fetch through ``ICache``; the cache
primitives (``dcache_flush``, ``dcache_clean``, ``icache_sync``, ...) act
here.  Semantics follow Documentation/core-api/cachetlb.rst (v6.6):

* D-cache lines are keyed by (pfn, alias), packed into one int.  ``pipt`` / ``vipt``
  (non-aliasing) have a single alias per pfn, so they are always coherent.
  ``vipt_aliasing`` uses the colour ``(vaddr >> page_shift) % colours``;
  ``vivt`` uses (address space, virtual page).  A write leaves a dirty line
  in its alias; another alias reads its own line (possibly stale and clean)
  or fills from RAM, so a dirty line written through one alias is invisible
  through another until written back (and the other's stale line dropped).
* I-cache ``coherent`` fetches through the D-cache at the user alias.
  ``needs_sync`` keeps its own lines per pfn and fills from the point of
  unification (RAM in this model, never from a dirty D line): a fetch sees
  stale instructions unless D was cleaned to PoU and I was invalidated
  after the last write (arm64 __sync_icache_dcache,
  arch/arm64/mm/flush.c).
* I-cache ``asn_tagged`` (alpha) is virtually tagged with the address
  space number: its lines are keyed by (address space, virtual page), so a
  fetch hits only a line its own mm filled at that address -- also after
  the page behind the address changed (a stale line the range API must
  drop).  A miss fills through the D-cache at the user alias (the kernel
  never cleans the D-cache for user instruction fetch there: allocating a
  new ASN is the whole user I-cache flush, arch/alpha/include/asm/
  cacheflush.h), and stores do not touch it.  ``invalidate_space(mm)`` (a
  new ASN) drops one mm's lines; on the untagged kinds it drops every line
  (no line says which mm fetched it).
* No eviction is modelled: a line stays until flushed (the worst case the
  protocol must cope with).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from runtime.primitives import (
    ALIASING_DCACHE_KINDS, DCACHE_KINDS, DCACHE_PIPT, DCACHE_VIPT, DCACHE_VIPT_ALIASING,
    DCACHE_VIVT, ICACHE_ASN_TAGGED, ICACHE_COHERENT, ICACHE_KINDS, ICACHE_VIPT_ALIASING,
)

from runtime.memory import Folio, PhysMem
from runtime.tlb import VPAGE_BITS, VPAGE_MASK


# A D-cache line's key: ``pfn << AID_BITS | aid``, where ``aid`` is the
# alias itself on the kinds whose aliases are small (0 on pipt/vipt, the
# colour on vipt_aliasing) and an interned index on vivt (whose aliases are
# (space, virtual page) numbers).  No tuple per access, no object per line.
AID_BITS: Final = 20
AID_MASK: Final = (1 << AID_BITS) - 1
# vivt D-cache aliases and I-cache ``asn_tagged`` line keys:
# ``space << VPAGE_BITS | vpage``, packed as the TLB's keys (runtime/tlb.py)


class DCache:
    """Data cache lines: version and dirtiness per (pfn, alias), stored
    flat under int keys (see AID_BITS)."""

    kind: str
    colours: int
    page_shift: int
    coherent: bool
    vivt: bool
    nalias: int                   # aliases per pfn without interning (1 or colours)
    vers: dict[int, int]          # line key -> data version
    dirty_keys: set[int]          # keys of the dirty lines
    aid_of: dict[int, int]        # vivt: alias -> interned index
    alias_list: list[int]         # vivt: interned index -> alias
    pfn_aids: dict[int, set[int]]  # vivt: pfn -> interned indexes of its lines

    def __init__(self, kind: str, colours: int, page_shift: int) -> None:
        if kind not in DCACHE_KINDS:
            raise ValueError("unknown dcache kind %r" % kind)
        self.kind = kind
        self.colours = colours if kind in ALIASING_DCACHE_KINDS else 1
        self.page_shift = page_shift
        self.coherent = kind in (DCACHE_PIPT, DCACHE_VIPT)
        self.vivt = kind == DCACHE_VIVT
        self.nalias = self.colours if kind == DCACHE_VIPT_ALIASING else 1
        if self.nalias > AID_MASK + 1:
            raise ValueError("%d dcache colours: more than %d" % (self.nalias, AID_MASK + 1))
        self.vers = {}
        self.dirty_keys = set()
        self.aid_of = {}
        self.alias_list = []
        self.pfn_aids = {}

    def alias(self, space: int, vaddr: int) -> int:
        """The alias a virtual address uses; space 0 is the kernel."""
        if self.coherent:
            return 0
        vpage = vaddr >> self.page_shift
        if self.kind == DCACHE_VIPT_ALIASING:
            return vpage % self.colours
        return (space << VPAGE_BITS) | (vpage & VPAGE_MASK)

    def colour(self, vaddr: int) -> int:
        return (vaddr >> self.page_shift) % self.colours

    # -- keys -------------------------------------------------------------

    def _key(self, pfn: int, alias: int) -> int:
        """The key of the line (pfn, alias), interning a new vivt alias."""
        if not self.vivt:
            return (pfn << AID_BITS) | alias
        aid = self.aid_of.get(alias)
        if aid is None:
            aid = len(self.alias_list)
            if aid > AID_MASK:
                raise ValueError("more than %d vivt D-cache aliases" % (AID_MASK + 1))
            self.aid_of[alias] = aid
            self.alias_list.append(alias)
        return (pfn << AID_BITS) | aid

    def _find(self, pfn: int, alias: int) -> int:
        """The key of the line (pfn, alias), or -1 if no line can have it."""
        if not self.vivt:
            return (pfn << AID_BITS) | alias
        aid = self.aid_of.get(alias)
        if aid is None:
            return -1
        return (pfn << AID_BITS) | aid

    # -- accesses and maintenance (what Kernel and the primitives call) -----

    def read(self, folio: Folio, i: int, alias: int) -> int:
        key = self._key(folio.pfn + i, alias)
        v = self.vers.get(key)
        if v is None:
            v = folio.ram[i]
            self.vers[key] = v
            if self.vivt:
                self._index(key)
        return v

    def write(self, folio: Folio, i: int, alias: int, version: int) -> None:
        key = self._key(folio.pfn + i, alias)
        if self.vivt and key not in self.vers:
            self._index(key)
        self.vers[key] = version
        self.dirty_keys.add(key)

    def _index(self, key: int) -> None:
        pfn = key >> AID_BITS
        s = self.pfn_aids.get(pfn)
        if s is None:
            s = set()
            self.pfn_aids[pfn] = s
        s.add(key & AID_MASK)

    def writeback(self, folio: Folio, i: int, alias: int) -> None:
        key = self._find(folio.pfn + i, alias)
        if key in self.dirty_keys:
            folio.ram[i] = self.vers[key]
            self.dirty_keys.discard(key)

    def invalidate(self, pfn: int, alias: int) -> None:
        key = self._find(pfn, alias)
        if key in self.vers:
            self._drop(key)

    def _drop(self, key: int) -> None:
        del self.vers[key]
        self.dirty_keys.discard(key)
        if self.vivt:
            s = self.pfn_aids.get(key >> AID_BITS)
            if s is not None:
                s.discard(key & AID_MASK)

    def flush(self, folio: Folio, i: int, alias: int) -> None:
        key = self._find(folio.pfn + i, alias)
        v = self.vers.get(key)
        if v is None:
            return
        if key in self.dirty_keys:
            folio.ram[i] = v
        self._drop(key)

    def flush_every_alias(self, folio: Folio, i: int) -> None:
        """Write back and invalidate page i's lines at every alias (a flush
        by physical tag: sparc64 __flush_dcache_page).  Dirty lines are
        written back oldest first, so memory ends with the newest store
        (the write-through D-cache it stands for already holds that)."""
        pfn = folio.pfn + i
        order = sorted((self.vers[self._find(pfn, a)], a) for a in self.aliases_of(pfn))
        for _, a in order:
            self.flush(folio, i, a)

    # -- range maintenance: one call per primitive, not per page ------------
    # Each page of a range has its own pfn, so the lines acted on are
    # distinct and the order does not matter: a range longer than the
    # cache holds lines walks the lines instead of the pages.

    def flush_user_pages(self, mem: PhysMem, space: int, addr: int, pfn: int, nr: int) -> None:
        """Write back and invalidate, for i < nr, page pfn + i's line at the
        alias of addr + i pages (space's user address), if the page is in a
        folio (the ``dcache_flush_user`` primitive)."""
        vers = self.vers
        if not vers:
            return
        shift = self.page_shift
        if nr <= len(vers):
            for i in range(nr):
                p = pfn + i
                a = self.alias(space, addr + (i << shift))
                if self._find(p, a) in vers:
                    f = mem.folio_of(p)
                    if f is not None:
                        self.flush(f, p - f.pfn, a)
            return
        for p, a in self.lines():
            if pfn <= p < pfn + nr and a == self.alias(space, addr + ((p - pfn) << shift)):
                f = mem.folio_of(p)
                if f is not None:
                    self.flush(f, p - f.pfn, a)

    def writeback_linear(self, mem: PhysMem, pfn: int, nr: int, kernel_base: int) -> None:
        """Write back, for each of the nr lowmem pages from pfn in a folio,
        its dirty line at its linear-map address (kernel_base + pfn pages)."""
        dirty = self.dirty_keys
        if not dirty:
            return
        shift = self.page_shift
        if nr <= len(dirty):
            for p in range(pfn, pfn + nr):
                a = self.alias(0, kernel_base + (p << shift))
                if self._find(p, a) in dirty:
                    f = mem.folio_of(p)
                    if f is not None:
                        self.writeback(f, p - f.pfn, a)
            return
        for p, a in self.dirty_lines():
            if pfn <= p < pfn + nr and a == self.alias(0, kernel_base + (p << shift)):
                f = mem.folio_of(p)
                if f is not None:
                    self.writeback(f, p - f.pfn, a)

    # -- queries (the oracle, the families, the whole-cache primitives) -----

    def is_dirty(self, pfn: int, alias: int) -> bool:
        return self._find(pfn, alias) in self.dirty_keys

    def version(self, pfn: int, alias: int) -> int:
        """The version the line (pfn, alias) holds; -1: no line."""
        v = self.vers.get(self._find(pfn, alias))
        return -1 if v is None else v

    def has_lines(self, pfn: int) -> bool:
        """Whether any alias of pfn holds a line."""
        if self.vivt:
            s = self.pfn_aids.get(pfn)
            return s is not None and len(s) > 0
        base = pfn << AID_BITS
        vers = self.vers
        for a in range(self.nalias):
            if (base | a) in vers:
                return True
        return False

    def aliases_of(self, pfn: int) -> list[int]:
        """The aliases of pfn holding a line, ascending."""
        if self.vivt:
            s = self.pfn_aids.get(pfn)
            if s is None:
                return []
            return sorted([self.alias_list[aid] for aid in s])
        base = pfn << AID_BITS
        vers = self.vers
        return [a for a in range(self.nalias) if (base | a) in vers]

    def _pairs(self, keys: Iterable[int]) -> list[tuple[int, int]]:
        """Line keys as (pfn, alias), ascending."""
        if not self.vivt:
            return [(key >> AID_BITS, key & AID_MASK) for key in sorted(keys)]
        return sorted([(key >> AID_BITS, self.alias_list[key & AID_MASK]) for key in keys])

    def lines(self) -> list[tuple[int, int]]:
        """Every line as (pfn, alias), ascending."""
        return self._pairs(self.vers)

    def dirty_lines(self) -> list[tuple[int, int]]:
        """Every dirty line as (pfn, alias), ascending."""
        return self._pairs(self.dirty_keys)


class ICache:
    """Instruction cache: coherent with D, separate lines per pfn, or
    separate lines per (address space, virtual page) (``asn_tagged``,
    keyed ``space << VPAGE_BITS | vpage``)."""

    kind: str
    lines: dict[int, int]
    tag_pfn: dict[int, int]          # asn_tagged: key -> pfn the line was filled from
    tag_ver: dict[int, int]          # asn_tagged: key -> version
    pfn_tags: dict[int, set[int]]    # asn_tagged: pfn -> keys of its lines

    def __init__(self, kind: str) -> None:
        if kind not in ICACHE_KINDS:
            raise ValueError("unknown icache kind %r" % kind)
        self.kind = kind
        self.lines = {}
        self.tag_pfn = {}
        self.tag_ver = {}
        self.pfn_tags = {}

    def fetch(self, folio: Folio, i: int, dcache: DCache, alias: int, space: int = 0,
              vpage: int = 0) -> int:
        if self.kind == ICACHE_COHERENT:
            return dcache.read(folio, i, alias)
        pfn = folio.pfn + i
        if self.kind == ICACHE_ASN_TAGGED:
            key = (space << VPAGE_BITS) | (vpage & VPAGE_MASK)
            v = self.tag_ver.get(key)
            if v is None:
                v = dcache.read(folio, i, alias)     # fill from the coherent D side
                self.tag_ver[key] = v
                self.tag_pfn[key] = pfn
                s = self.pfn_tags.get(pfn)
                if s is None:
                    s = set()
                    self.pfn_tags[pfn] = s
                s.add(key)
            return v
        v = self.lines.get(pfn)
        if v is None:
            v = folio.ram[i]          # fill from the point of unification
            self.lines[pfn] = v
        return v

    def _drop_tag(self, key: int) -> None:
        pfn = self.tag_pfn.pop(key)
        del self.tag_ver[key]
        s = self.pfn_tags.get(pfn)
        if s is not None:
            s.discard(key)
            if not s:
                del self.pfn_tags[pfn]

    def invalidate(self, pfn: int) -> None:
        if pfn in self.lines:
            del self.lines[pfn]
        if self.tag_ver:
            s = self.pfn_tags.get(pfn)
            if s is not None:
                for key in sorted(s):
                    self._drop_tag(key)

    def oldest(self, pfn: int) -> int:
        """The oldest version any I-cache line of ``pfn`` holds, -1 when
        none does (the oracle's PG_arch_1 rule asks this of every kind)."""
        v = self.lines.get(pfn, -1)
        s = self.pfn_tags.get(pfn) if self.tag_ver else None
        if s is not None:
            for key in s:
                t = self.tag_ver[key]
                if v < 0 or t < v:
                    v = t
        return v

    def invalidate_space(self, space: int) -> None:
        """A new address-space number: every line ``space`` fetched is
        gone (an untagged I-cache cannot tell them apart: all lines)."""
        if self.kind == ICACHE_ASN_TAGGED:
            for key in [k for k in self.tag_ver if k >> VPAGE_BITS == space]:
                self._drop_tag(key)
        else:
            self.lines.clear()



class AliasingICache(ICache):
    """``vipt_aliasing`` I-cache (issue 10 item 2): as ``needs_sync`` (filled
    from the point of unification, never from a dirty D line), but a line
    is indexed by the colour of the virtual address that fetched it
    (xtensa with ICACHE_WAY_SIZE > PAGE_SIZE, arc HS38's VIPT I$, mips
    cpu_has_ic_aliases).  ``lines`` is keyed by ``pfn * COLOUR_KEY +
    colour``.  ``invalidate(pfn)`` -- an invalidation through the kernel
    address -- drops only the line at the kernel address's colour;
    ``invalidate_user(pfn, vaddr)`` the line at vaddr's colour."""

    colours: int
    page_shift: int
    kernel_vpage: int       # virtual page of pfn 0 in the linear map

    def __init__(self, kind: str, colours: int, page_shift: int, kernel_base: int) -> None:
        super().__init__(kind)
        self.colours = max(colours, 1)
        self.page_shift = page_shift
        self.kernel_vpage = kernel_base >> page_shift

    def fetch(self, folio: Folio, i: int, dcache: DCache, alias: int, space: int = 0,
              vpage: int = 0) -> int:
        key = (folio.pfn + i) * COLOUR_KEY + vpage % self.colours
        v = self.lines.get(key)
        if v is None:
            v = folio.ram[i]          # fill from the point of unification
            self.lines[key] = v
        return v

    def oldest(self, pfn: int) -> int:
        """The oldest version of ``pfn``'s lines at every colour, -1 if none."""
        v = -1
        base = pfn * COLOUR_KEY
        for c in range(self.colours):
            t = self.lines.get(base + c, -1)
            if t >= 0 and (v < 0 or t < v):
                v = t
        return v

    def invalidate(self, pfn: int) -> None:
        key = pfn * COLOUR_KEY + (self.kernel_vpage + pfn) % self.colours
        if key in self.lines:
            del self.lines[key]

    def invalidate_user(self, pfn: int, vaddr: int) -> None:
        key = pfn * COLOUR_KEY + (vaddr >> self.page_shift) % self.colours
        if key in self.lines:
            del self.lines[key]


# colours per pfn in AliasingICache keys (more than any cache has)
COLOUR_KEY = 64


def make_icache(kind: str, colours: int, page_shift: int, kernel_base: int) -> ICache:
    """The I-cache model for a kind (``vipt_aliasing``: per-colour lines)."""
    if kind == ICACHE_VIPT_ALIASING:
        return AliasingICache(kind, colours, page_shift, kernel_base)
    return ICache(kind)
