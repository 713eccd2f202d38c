"""Lazy MMU mode as state, with the arch's own rules (the ``lazy_mmu KIND``
of an archdef; include/linux/pgtable.h, v6.6 / 6.12).

Place in the flow: ``Kernel.lazy_mmu_enter/leave`` (runtime/effects.py)
drive it, both from an arch's set_ptes and from the generic callers that
open their own region (runtime/mmcallers.py: fork's copy_pte_range,
mremap's move_ptes, apply_to_page_range, zap_pte_range).  What the mode
holds back until leave depends on the kind:

* ``strict`` (the default: the contract of pgtable.h, "Nesting is not
  permitted"): ``set_pte`` inside the mode may be *deferred* (held here,
  invisible to the walker and to raw reads: "reads though a raw PTE pointer
  after it has been modified are not guaranteed to be up to date") until
  leave applies it; an enter inside the mode is a bug (Xen PV enter_lazy's
  ``BUG_ON`` before 49147beb0ccb and again after its 2025 revert
  c36549ff8d84).
* ``defer`` (x86 paravirt): as ``strict``, but an enter inside the mode
  only counts and the outermost leave applies (Xen PV enter_lazy /
  leave_lazy with xen_lazy_nesting, 49147beb0ccb "x86/xen: allow nesting
  of same lazy mode", Sep 2023; in 6.12 at arch/x86/include/asm/xen/
  hypervisor.h:77-99).
* ``none``: the empty asm-generic macros (include/linux/pgtable.h:213-217,
  every arch without __HAVE_ARCH_ENTER_LAZY_MMU_MODE): nothing is deferred
  or batched and a nested region is harmless.
* ``batch`` (powerpc book3s64 hash, sparc64): stores go to the table at
  once; the TLB / HPTE / TSB flushes of changed entries (``tlb_batch_add``)
  are queued in the per-CPU batch while the mode is on and flushed at
  leave, or when the batch is full.  Enter sets ``active``, leave flushes
  and clears it -- no count (arch/powerpc/include/asm/book3s/64/
  tlbflush-hash.h:29-56, arch/sparc/mm/tlb.c:53-69), so a nested region's
  leave ends the outer one ("lazy mmu mode is effectively disabled because
  we exit the mode after the first set_ptes", the 2025 fix "sparc/mm: avoid
  calling arch_enter/leave_lazy_mmu() in set_ptes"): a violation.

``depth`` counts enters minus leaves as the callers see them (what an arch
call must restore); ``active`` is the arch's state.  ``regions`` records,
per region that ended, how many stores were deferred and how many TLB
flushes were batched and done at its end (the work counts of a family).
Every operation is O(1) but leave (O(deferred + batched)).  Deferred
stores are kept as runs in store order (a table, a first index and the
``vec[i64]`` of values stored from there: a set_ptes range is one run, no
key, tuple, dict entry, pointer object or boxed value per PTE); leave
applies them in order
(the last store to an entry wins, as it would in a dict).
``pending`` (key -> value) and the lookups of ``value_at`` / ``is_pending``
use an index built from the lists when first asked for.
"""

from __future__ import annotations

from typing import Final

from librt.vecs import append, vec
from mypy_extensions import i64

from runtime.pagetable import PteRef, PteTable
from runtime.primitives import (
    LAZY_BATCH, LAZY_DEFER, LAZY_KINDS, LAZY_NONE, LAZY_STRICT, TLB_BATCH_NR,
)


# a deferred entry's key: table id above, index below (ptrs_per_pte is at
# most 1 << 16 on every arch: arm64 64K pages have 8192)
PENDING_SHIFT: Final = 20


class LazyRegion:
    """Work of one lazy region (outermost enter to the leave that ended it)."""

    stores: int          # set_pte calls deferred
    batched: int         # TLB flushes queued by tlb_batch_add
    flushed: int         # queued flushes done when the region ended
    nested: int          # enters inside the region

    def __init__(self) -> None:
        self.stores = 0
        self.batched = 0
        self.flushed = 0
        self.nested = 0

    def text(self) -> str:
        return "stores=%d batched=%d flushed=%d nested=%d" % (
            self.stores, self.batched, self.flushed, self.nested)


class LazyMmu:
    kind: str
    active: bool
    depth: int
    # deferred stores as runs, in store order: run r stores
    # run_vals[r][i] at entry run_idx[r] + i of run_tables[r]
    run_tables: list[PteTable]
    run_idx: list[int]
    run_vals: list[vec[i64]]
    _index: dict[int, i64] | None        # key -> value, built on demand
    _ir: int                             # runs (and stores of the last) _index holds
    _il: int
    batch: list[tuple[int, int]]
    flush_now: list[tuple[int, int]]
    enters: int
    region: LazyRegion
    regions: list[LazyRegion]

    def __init__(self, kind: str = LAZY_STRICT) -> None:
        if kind not in LAZY_KINDS:
            raise ValueError("unknown lazy_mmu kind %r" % kind)
        self.kind = kind
        self.active = False
        self.depth = 0
        self.run_tables = []
        self.run_idx = []
        self.run_vals = []
        self._index = None
        self._ir = 0
        self._il = 0
        self.batch = []
        self.flush_now = []
        self.enters = 0
        self.region = LazyRegion()
        self.regions = []

    def defers_stores(self) -> bool:
        """Whether set_pte in the mode is held back until leave."""
        return self.active and (self.kind == LAZY_STRICT or self.kind == LAZY_DEFER)

    def nests(self) -> bool:
        return self.kind == LAZY_DEFER or self.kind == LAZY_NONE

    def enter(self) -> bool:
        """Enter; False for a nested enter the kind forbids."""
        self.enters += 1
        self.depth += 1
        nested = self.depth > 1 or self.active
        self.active = True
        if nested:
            self.region.nested += 1
            return self.nests()
        return True

    def defer(self, ptep: PteRef, val: i64) -> None:
        self.defer_at(ptep.table, ptep.idx, val)

    def defer_at(self, t: PteTable, idx: int, val: i64) -> None:
        self.region.stores += 1
        n = len(self.run_vals)
        if n > 0 and self.run_tables[n - 1] is t:
            last = self.run_vals[n - 1]
            if self.run_idx[n - 1] + len(last) == idx:
                self.run_vals[n - 1] = append(last, val)
                return
        self.run_tables.append(t)
        self.run_idx.append(idx)
        self.run_vals.append(vec[i64]([val]))

    def defer_run(self, t: PteTable, idx: int, vals: vec[i64]) -> None:
        """defer_at(t, idx + i, vals[i]) for every i, in order (the vec
        becomes the lazy state's: the caller hands it over)."""
        if not vals:
            return
        self.region.stores += len(vals)
        self.run_tables.append(t)
        self.run_idx.append(idx)
        self.run_vals.append(vals)

    def has_pending(self) -> bool:
        return len(self.run_vals) > 0

    @property
    def pending(self) -> dict[int, i64]:
        """The deferred entries: ``pt << PENDING_SHIFT | idx`` -> the value
        leave will store (the last store to it)."""
        index = self._index
        if index is None:
            index = {}
            self._index = index
            self._ir = 0
            self._il = 0
        r = self._ir
        j = self._il
        nr = len(self.run_vals)
        while r < nr:
            vals = self.run_vals[r]
            base = (self.run_tables[r].pt << PENDING_SHIFT) | self.run_idx[r]
            for k in range(j, len(vals)):
                index[base + k] = vals[k]
            j = len(vals)
            if r == nr - 1:
                break
            r += 1
            j = 0
        self._ir = r
        self._il = j
        return index

    def is_pending(self, ptep: PteRef) -> bool:
        if not self.run_vals:
            return False
        return ((ptep.table.pt << PENDING_SHIFT) | ptep.idx) in self.pending

    def value_at(self, t: PteTable, idx: int) -> i64:
        """The entry as it will be once deferred stores are applied."""
        if not self.run_vals:
            return t.entries[idx]
        return self.pending.get((t.pt << PENDING_SHIFT) | idx, t.entries[idx])

    def queue(self, mm_id: int, vpage: int) -> None:
        """tlb_batch_add while active: queue (a full batch moves to
        ``flush_now``)."""
        self.batch.append((mm_id, vpage))
        self.region.batched += 1
        if len(self.batch) >= TLB_BATCH_NR:
            self.flush_now.extend(self.batch)
            self.batch = []

    def take_flush(self) -> list[tuple[int, int]]:
        """The flushes to do now (a full batch, or the batch at leave)."""
        out = self.flush_now
        self.flush_now = []
        return out

    def leave(self) -> bool:
        """Leave; False when not in the mode.  Deferred stores are applied
        when the region ends; the ``batch`` kind moves its batch to
        ``flush_now`` and ends the mode at every leave."""
        if self.depth == 0 and not self.active:
            return False
        if self.depth > 0:
            self.depth -= 1
        if self.kind == LAZY_BATCH:
            n = len(self.batch)
            self.flush_now.extend(self.batch)
            self.batch = []
            if self.active:
                self._end(n)
        elif self.depth == 0:
            self._end(0)
        return True

    def leave_all(self) -> None:
        """Leave every open level (repair after an arch call returned in
        the mode)."""
        while self.depth > 0:
            self.leave()
        if self.active:
            self._end(0)

    def _end(self, flushed: int) -> None:
        runs = self.run_vals
        if runs:
            tables = self.run_tables
            starts = self.run_idx
            for r in range(len(runs)):
                vals = runs[r]
                lo = starts[r]
                ents = tables[r].entries
                for i in range(len(vals)):
                    ents[lo + i] = vals[i]
            self.run_tables = []
            self.run_idx = []
            self.run_vals = []
            self._index = None
            self._ir = 0
            self._il = 0
        self.active = False
        self.region.flushed += flushed
        self.regions.append(self.region)
        self.region = LazyRegion()
