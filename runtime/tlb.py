"""TLB models: hardware walker, software-loaded (single or MIPS even/odd
pairs) and caches-invalid-entries (RISC-V).

Place in the flow: ``Kernel`` user accesses translate through ``Tlb``
(entries keyed by (mm id, virtual page), holding the PTE value loaded);
``tlb_preload`` / ``tlb_flush_page`` primitives act here; the oracle scans
entries against the page tables (``tlb_stale``).

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
  from the PTE) and carries on.
* ``caches_invalid`` (RISC-V without Svvptc): a miss on a non-present PTE
  may leave an invalid entry cached; after the PTE is made present, an
  sfence.vma (``tlb_flush_page``) per page is needed, else the next access
  takes a ``spurious_fault`` (arch/riscv/include/asm/pgtable.h
  update_mmu_cache_range, v6.6).
* ``hash`` is treated like ``hardware`` here (the hash table is refilled
  by the fault path, not modelled).
"""

from __future__ import annotations

TLB_KINDS: tuple[str, ...] = ("hardware", "software", "software_pairs",
                              "caches_invalid", "hash")


class Tlb:
    """Entries: (mm id, vpage) -> PTE value loaded (may be non-present)."""

    kind: str
    pairs: bool
    entries: dict[tuple[int, int], int]

    def __init__(self, kind: str) -> None:
        if kind not in TLB_KINDS:
            raise ValueError("unknown tlb kind %r" % kind)
        self.kind = kind
        self.pairs = kind == "software_pairs"
        self.entries = {}

    def lookup(self, mm_id: int, vpage: int) -> int | None:
        return self.entries.get((mm_id, vpage))

    def load(self, mm_id: int, vpage: int, val: int) -> None:
        self.entries[(mm_id, vpage)] = val

    def drop(self, mm_id: int, vpage: int) -> None:
        """Drop the entry (pairs: the whole even/odd entry)."""
        if self.pairs:
            base = vpage & ~1
            self.entries.pop((mm_id, base), None)
            self.entries.pop((mm_id, base | 1), None)
        else:
            self.entries.pop((mm_id, vpage), None)

    def drop_mm(self, mm_id: int) -> None:
        for key in [k for k in self.entries if k[0] == mm_id]:
            del self.entries[key]

    def caches_invalid(self) -> bool:
        return self.kind == "caches_invalid"
