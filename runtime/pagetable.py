"""Page tables: one ``PteTable`` per (mm, PMD-aligned range); ``PteRef``.

Place in the flow: ``Mm`` owns its tables (allocated on first fault in a
PMD, ids unique in the machine in allocation order from 1);
``PteRef`` is the model's ``pte_t *``: ``ptep + i`` is ``ptep.offset(i)``
and stepping outside the table (one PMD's ``ptrs_per_pte`` entries) is a
``range_precondition`` error naming ``pmd``, because in the kernel it
would write into a neighbouring page (include/linux/pgtable.h: "The PTEs
are all in the same PMD").  Entries are raw integers; all stores go
through ``Kernel.set_pte`` so lazy MMU deferral and the trace see them.
Entries are ``vec[i64]`` (librt.vecs): native 64-bit words, the PTE's bit
pattern (runtime/pteval.py), no object per entry and nothing for the
garbage collector to traverse.
"""

from __future__ import annotations

from librt.vecs import vec
from mypy_extensions import i64

from runtime.violation import RangeError


class PteTable:
    """A PTE page: ``n`` entries mapping [base, base + n * page_size)."""

    pt: int
    mm_id: int
    base: int
    page_shift: int
    empty: i64
    entries: vec[i64]

    def __init__(self, pt: int, mm_id: int, base: int, n: int,
                 page_shift: int, empty: i64 = 0) -> None:
        self.pt = pt
        self.mm_id = mm_id
        self.base = base
        self.page_shift = page_shift
        self.empty = empty
        self.entries = vec[i64]([empty] * n)

    @property
    def n(self) -> int:
        return len(self.entries)

    def addr_of(self, idx: int) -> int:
        return self.base + (idx << self.page_shift)

    def ref(self, idx: int) -> PteRef:
        return PteRef(self, idx)


class PteRef:
    """``pte_t *``: a table and an index in it."""

    table: PteTable
    idx: int

    def __init__(self, table: PteTable, idx: int) -> None:
        if idx < 0 or idx >= len(table.entries):
            raise RangeError("pmd", "pt=%d idx=%d outside the PTE table (%d entries)"
                             % (table.pt, idx, len(table.entries)))
        self.table = table
        self.idx = idx

    def offset(self, i: int) -> PteRef:
        return PteRef(self.table, self.idx + i)

    @property
    def addr(self) -> int:
        return self.table.addr_of(self.idx)

    @property
    def pt(self) -> int:
        return self.table.pt

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, PteRef) and other.table is self.table
                and other.idx == self.idx)

    def __hash__(self) -> int:
        return hash((self.table.pt, self.idx))

    def __repr__(self) -> str:
        return "PteRef(pt=%d, idx=%d)" % (self.table.pt, self.idx)
