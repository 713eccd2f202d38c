"""TLB models, one class per TLB kind: hardware walker, software-loaded
(single or MIPS even/odd pairs) and caches-invalid-entries (RISC-V).

Place in the flow: ``Kernel`` user accesses translate through a ``Tlb``
made by ``make_tlb(arch.tlb_kind)`` (entries keyed by (mm id, virtual
page) packed into one int, ``tlb_key``, holding the PTE value loaded;
``items()`` gives them back as pairs); the ``tlb_preload`` /
``tlb_flush_page`` / ``set_pte`` primitives act here through the kind's
interface below (``refill``, ``preload``, ``drop``, ``buddy``); the oracle
scans entries against the page tables (``tlb_stale``).  Nothing outside
this module branches on a TLB kind's name.

* ``hardware`` (x86, arm64): a miss walks the table; a non-present PTE is
  never cached.
* ``software`` / ``software_pairs`` (MIPS): a miss runs the refill handler,
  which loads the entry (pairs: both halves of the even/odd pair, each from
  its own PTE, valid or not: arch/mips/mm/tlbex.c).  The software-TLB
  strategy of the range API is that ``update_mmu_cache_range`` loads the
  entry for the pages just mapped (arch/mips/mm/tlb-r4k.c __update_tlb,
  once per page); when the fault path returns without a valid entry for
  the faulting address the model reports ``tlb_preload_missing`` (the CPU
  takes another refill or TLB-invalid exception, whose fast path reloads
  from the PTE) and carries on.  The two halves of a pair share the global
  bit (MIPS R4K EntryLo G is ANDed): ``set_pte`` of a global entry whose
  buddy (idx ^ 1) is none gives the buddy the global bit (``buddy``;
  arch/mips/include/asm/pgtable.h set_pte), and ``pte_none`` ignores it
  (``pte_none_ignores_global``).
* ``caches_invalid`` (RISC-V without Svvptc): a miss on a non-present PTE
  may leave an invalid entry cached; after the PTE is made present, an
  sfence.vma (``tlb_flush_page``) per page is needed, else the next access
  takes a ``spurious_fault`` (arch/riscv/include/asm/pgtable.h
  update_mmu_cache_range, v6.6).
* ``hash`` (powerpc book3s64 hash MMU) and ``tsb`` (sparc64): the entries
  stand for the HPTEs of the hash page table / the TSB together with the
  TLB they feed.  A miss is filled from a present PTE (the hash fault's
  hash_page / the TSB miss handler); ``update_mmu_cache_range`` may insert
  ahead (``hpte_insert``: hash_preload, arch/powerpc/mm/book3s64/
  hash_utils.c; ``tsb_insert``: __update_mmu_tsb_insert, arch/sparc/mm/
  init_64.c update_mmu_cache_range), which is work, not an obligation.
  What differs from a walker is who removes a stale translation: the
  generic flush_tlb_page/range/mm are empty on both (tlbflush-hash.h
  hash__flush_tlb_page, arch/sparc/include/asm/tlbflush_64.h); the PTE
  update itself queues the flush -- powerpc pte_update -> hpte_need_flush
  (hash_tlb.c) when the old entry had _PAGE_HASHPTE, sparc64 set_pte_at /
  pte_clear -> tlb_batch_add (tlb.c) when the old entry was valid -- in the
  per-CPU batch while lazy MMU mode is on, at once otherwise
  (``flushed_by_pte_update``; the batch itself is runtime/lazy.py's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from librt.vecs import vec
from mypy_extensions import i64

from runtime.primitives import (
    PTE_UPDATE_FLUSH_TLB_KINDS, TLB_CACHES_INVALID, TLB_HARDWARE, TLB_KINDS, TLB_SOFTWARE,
    TLB_SOFTWARE_PAIRS,
)

if TYPE_CHECKING:
    from runtime.arch import Arch

__all__ = ["TLB_KINDS", "Tlb", "SoftwareTlb", "PairsTlb", "CachesInvalidTlb",
           "PteUpdateFlushTlb", "make_tlb", "pte_none_ignores_global", "tlb_key",
           "VPAGE_BITS"]

# A virtual page number has at most 64 - 12 bits (64-bit addresses, pages
# of 4 KiB or more): the mm id goes above them in the entry's key.
VPAGE_BITS: Final = 52
VPAGE_MASK: Final = (1 << VPAGE_BITS) - 1


def tlb_key(mm_id: int, vpage: int) -> int:
    """The entry key of (mm id, virtual page): ``mm_id << VPAGE_BITS |
    vpage``, one int (no tuple per access); a vpage outside
    [0, 2**VPAGE_BITS) would collide with another mm's and is refused."""
    if vpage >> VPAGE_BITS:
        raise ValueError("virtual page 0x%x beyond %d bits" % (vpage, VPAGE_BITS))
    return (mm_id << VPAGE_BITS) | vpage


def pte_none_ignores_global(kind: str) -> bool:
    """Whether pte_none() disregards the global bit on this TLB kind (the
    pair halves share it, so an empty buddy may carry it)."""
    return kind == TLB_SOFTWARE_PAIRS


class Tlb:
    """Hardware walker (and ``hash``): entries tlb_key(mm id, vpage) ->
    PTE value loaded; only valid entries are cached."""

    kind: str
    pairs: bool
    entries: dict[int, int]

    def __init__(self, kind: str = TLB_HARDWARE) -> None:
        if kind not in TLB_KINDS:
            raise ValueError("unknown tlb kind %r" % kind)
        self.kind = kind
        self.pairs = False
        self.entries = {}

    def lookup(self, mm_id: int, vpage: int) -> int | None:
        return self.entries.get(tlb_key(mm_id, vpage))

    def load(self, mm_id: int, vpage: int, val: int) -> None:
        self.entries[tlb_key(mm_id, vpage)] = val

    def drop(self, mm_id: int, vpage: int) -> None:
        """Drop the entry (pairs: the whole even/odd entry)."""
        self.entries.pop(tlb_key(mm_id, vpage), None)

    def drop_mm(self, mm_id: int) -> None:
        for key in [k for k in self.entries if k >> VPAGE_BITS == mm_id]:
            del self.entries[key]

    def clear(self) -> None:
        """flush_tlb_all: every entry goes."""
        self.entries.clear()

    def items(self) -> list[tuple[tuple[int, int], int]]:
        """Every entry as ((mm id, vpage), value), sorted by mm id then
        vpage (the oracle's scan order)."""
        return [((k >> VPAGE_BITS, k & VPAGE_MASK), v) for k, v in sorted(self.entries.items())]

    def caches_invalid(self) -> bool:
        """A miss on a non-present PTE may leave an invalid entry."""
        return False

    def preloaded_by_update(self) -> bool:
        """update_mmu_cache_range must load the entry (software TLBs)."""
        return False

    def flushed_by_pte_update(self) -> bool:
        """The PTE update queues the flush; generic flush_tlb_* are empty
        (hash page table, TSB)."""
        return False

    # -- the kind's interface to the Kernel -------------------------------
    def refill(self, mm_id: int, vpage: int, entries: vec[i64] | None,
               idx: int, empty: int, pte: int, present: bool) -> None:
        """A miss on ``vpage`` whose PTE is ``pte`` (entries: its table, or
        None): what the walker / refill handler loads."""
        if present:
            self.load(mm_id, vpage, pte)

    def preload(self, mm_id: int, vpage: int, entries: vec[i64], idx: int) -> None:
        """tlb_preload: load the entry of ``vpage`` from its table."""
        self.load(mm_id, vpage, entries[idx])

    def buddy(self, arch: Arch, entries: vec[i64], idx: int, val: int) -> int:
        """After ``set_pte(idx, val)``: the index of an entry the store
        also changes (to ``buddy_value``), or -1."""
        return -1

    def buddy_value(self, arch: Arch) -> int:
        return arch.empty_pte


class CachesInvalidTlb(Tlb):
    """RISC-V: the walker may cache a non-present PTE."""

    def caches_invalid(self) -> bool:
        return True

    def refill(self, mm_id: int, vpage: int, entries: vec[i64] | None,
               idx: int, empty: int, pte: int, present: bool) -> None:
        self.load(mm_id, vpage, pte)


class PteUpdateFlushTlb(Tlb):
    """powerpc hash page table / sparc64 TSB (with the TLB they feed)."""

    def flushed_by_pte_update(self) -> bool:
        return True


class SoftwareTlb(Tlb):
    """Software-loaded, one page per entry."""

    def preloaded_by_update(self) -> bool:
        return True


class PairsTlb(SoftwareTlb):
    """MIPS R4K: one entry maps an even/odd page pair."""

    def __init__(self, kind: str = TLB_SOFTWARE_PAIRS) -> None:
        super().__init__(kind)
        self.pairs = True

    def drop(self, mm_id: int, vpage: int) -> None:
        base = tlb_key(mm_id, vpage & ~1)
        self.entries.pop(base, None)
        self.entries.pop(base | 1, None)

    def refill(self, mm_id: int, vpage: int, entries: vec[i64] | None,
               idx: int, empty: int, pte: int, present: bool) -> None:
        # the refill handler loads both halves, valid or not
        self.load(mm_id, vpage & ~1, empty if entries is None else entries[idx & ~1])
        self.load(mm_id, vpage | 1, empty if entries is None else entries[idx | 1])

    def preload(self, mm_id: int, vpage: int, entries: vec[i64], idx: int) -> None:
        even = idx & ~1
        self.load(mm_id, vpage & ~1, entries[even])
        self.load(mm_id, vpage | 1, entries[even | 1])

    def buddy(self, arch: Arch, entries: vec[i64], idx: int, val: int) -> int:
        if arch.layout.has_role("global") and arch.pte_global(val):
            bidx = idx ^ 1
            if arch.pte_none(entries[bidx]):
                return bidx
        return -1

    def buddy_value(self, arch: Arch) -> int:
        return arch.layout.with_role(0, "global", True)


def make_tlb(kind: str) -> Tlb:
    """The TLB model of a kind (runtime.primitives.TLB_KINDS)."""
    if kind == TLB_SOFTWARE_PAIRS:
        return PairsTlb(kind)
    if kind == TLB_SOFTWARE:
        return SoftwareTlb(kind)
    if kind == TLB_CACHES_INVALID:
        return CachesInvalidTlb(kind)
    if kind in PTE_UPDATE_FLUSH_TLB_KINDS:
        return PteUpdateFlushTlb(kind)
    if kind == TLB_HARDWARE:
        return Tlb(kind)
    raise ValueError("unknown tlb kind %r" % kind)
