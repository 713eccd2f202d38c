"""Lazy MMU mode as state (include/linux/pgtable.h, v6.6).

Place in the flow: ``Kernel.lazy_mmu_enter/leave`` drive it; ``set_pte``
inside the mode is *deferred* (held here, invisible to the hardware walker
and to raw reads) until ``leave`` applies it -- "reads though a raw PTE
pointer after it has been modified are not guaranteed to be up to date".
Misuse (reported as ``lazy_mmu`` by the Kernel): entering while already in
the mode (not nestable in 6.6: arch/x86/kernel/paravirt.c enter_lazy BUG_ON),
leaving when not in it, reading a deferred entry, and an arch call
returning with the mode still on.
"""

from __future__ import annotations

from runtime.pagetable import PteRef


class LazyMmu:
    active: bool
    pending: dict[tuple[int, int], tuple[PteRef, int]]
    enters: int

    def __init__(self) -> None:
        self.active = False
        self.pending = {}
        self.enters = 0

    def enter(self) -> bool:
        """Enter; False if already active (misuse)."""
        if self.active:
            return False
        self.active = True
        self.enters += 1
        return True

    def defer(self, ptep: PteRef, val: int) -> None:
        self.pending[(ptep.table.pt, ptep.idx)] = (ptep, val)

    def is_pending(self, ptep: PteRef) -> bool:
        return (ptep.table.pt, ptep.idx) in self.pending

    def leave(self) -> bool:
        """Leave and apply deferred stores; False if not active (misuse)."""
        was = self.active
        for ref, val in self.pending.values():
            ref.table.entries[ref.idx] = val
        self.pending = {}
        self.active = False
        return was
