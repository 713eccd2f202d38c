"""D-cache and I-cache models.

Place in the flow: ``Kernel`` routes every data access through ``DCache``
(user accesses at the user alias, kernel writes at the kernel alias,
``kaddr(pfn)``) and every instruction fetch through ``ICache``; the cache
primitives (``dcache_flush``, ``dcache_clean``, ``icache_sync``, ...) act
here.  Semantics follow Documentation/core-api/cachetlb.rst (v6.6):

* D-cache lines are keyed by (pfn, alias).  ``pipt`` / ``vipt``
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

from runtime.primitives import (
    ALIASING_DCACHE_KINDS, DCACHE_KINDS, DCACHE_PIPT, DCACHE_VIPT, DCACHE_VIPT_ALIASING,
    ICACHE_ASN_TAGGED, ICACHE_COHERENT, ICACHE_KINDS,
)

from runtime.memory import Folio


class DCache:
    """Data cache lines: version and dirtiness per (pfn, alias)."""

    kind: str
    colours: int
    page_shift: int
    coherent: bool
    ver: dict[tuple[int, int], int]
    dirty: set[tuple[int, int]]
    aliases: dict[int, set[int]]

    def __init__(self, kind: str, colours: int, page_shift: int) -> None:
        if kind not in DCACHE_KINDS:
            raise ValueError("unknown dcache kind %r" % kind)
        self.kind = kind
        self.colours = colours if kind in ALIASING_DCACHE_KINDS else 1
        self.page_shift = page_shift
        self.coherent = kind in (DCACHE_PIPT, DCACHE_VIPT)
        self.ver = {}
        self.dirty = set()
        self.aliases = {}

    def alias(self, space: int, vaddr: int) -> int:
        """The alias a virtual address uses; space 0 is the kernel."""
        if self.coherent:
            return 0
        vpage = vaddr >> self.page_shift
        if self.kind == DCACHE_VIPT_ALIASING:
            return vpage % self.colours
        return (space << 52) | (vpage & ((1 << 52) - 1))

    def colour(self, vaddr: int) -> int:
        return (vaddr >> self.page_shift) % self.colours

    def read(self, folio: Folio, i: int, alias: int) -> int:
        key = (folio.pfn + i, alias)
        v = self.ver.get(key)
        if v is None:
            v = folio.ram[i]
            self._fill(key, v)
        return v

    def write(self, folio: Folio, i: int, alias: int, version: int) -> None:
        key = (folio.pfn + i, alias)
        self._fill(key, version)
        self.dirty.add(key)

    def _fill(self, key: tuple[int, int], v: int) -> None:
        self.ver[key] = v
        s = self.aliases.get(key[0])
        if s is None:
            s = set()
            self.aliases[key[0]] = s
        s.add(key[1])

    def writeback(self, folio: Folio, i: int, alias: int) -> None:
        key = (folio.pfn + i, alias)
        if key in self.dirty:
            folio.ram[i] = self.ver[key]
            self.dirty.discard(key)

    def invalidate(self, pfn: int, alias: int) -> None:
        key = (pfn, alias)
        if key in self.ver:
            del self.ver[key]
            self.dirty.discard(key)
            s = self.aliases.get(pfn)
            if s is not None:
                s.discard(alias)

    def flush(self, folio: Folio, i: int, alias: int) -> None:
        self.writeback(folio, i, alias)
        self.invalidate(folio.pfn + i, alias)

    def flush_every_alias(self, folio: Folio, i: int) -> None:
        """Write back and invalidate page i's lines at every alias (a flush
        by physical tag: sparc64 __flush_dcache_page).  Dirty lines are
        written back oldest first, so memory ends with the newest store
        (the write-through D-cache it stands for already holds that)."""
        pfn = folio.pfn + i
        s = self.aliases.get(pfn)
        if s is None:
            return
        order = sorted(s, key=lambda a: self.ver[(pfn, a)])
        for a in order:
            self.flush(folio, i, a)

    def is_dirty(self, pfn: int, alias: int) -> bool:
        return (pfn, alias) in self.dirty

    def aliases_of(self, pfn: int) -> list[int]:
        s = self.aliases.get(pfn)
        return sorted(s) if s is not None else []


class ICache:
    """Instruction cache: coherent with D, separate lines per pfn, or
    separate lines per (address space, virtual page) (``asn_tagged``)."""

    kind: str
    lines: dict[int, int]
    tagged: dict[tuple[int, int], tuple[int, int]]    # (space, vpage) -> (pfn, version)

    def __init__(self, kind: str) -> None:
        if kind not in ICACHE_KINDS:
            raise ValueError("unknown icache kind %r" % kind)
        self.kind = kind
        self.lines = {}
        self.tagged = {}

    def fetch(self, folio: Folio, i: int, dcache: DCache, alias: int, space: int = 0,
              vpage: int = 0) -> int:
        if self.kind == ICACHE_COHERENT:
            return dcache.read(folio, i, alias)
        pfn = folio.pfn + i
        if self.kind == ICACHE_ASN_TAGGED:
            key = (space, vpage)
            t = self.tagged.get(key)
            if t is None:
                t = (pfn, dcache.read(folio, i, alias))   # fill from the coherent D side
                self.tagged[key] = t
            return t[1]
        v = self.lines.get(pfn)
        if v is None:
            v = folio.ram[i]          # fill from the point of unification
            self.lines[pfn] = v
        return v

    def invalidate(self, pfn: int) -> None:
        if pfn in self.lines:
            del self.lines[pfn]
        if self.tagged:
            for key in [k for k, t in self.tagged.items() if t[0] == pfn]:
                del self.tagged[key]

    def invalidate_space(self, space: int) -> None:
        """A new address-space number: every line ``space`` fetched is
        gone (an untagged I-cache cannot tell them apart: all lines)."""
        if self.kind == ICACHE_ASN_TAGGED:
            for key in [k for k in self.tagged if k[0] == space]:
                del self.tagged[key]
        else:
            self.lines.clear()
