"""ptdl runtime: an executable model of the MM, caches and TLB that the Linux
page table range API (set_ptes, update_mmu_cache_range, flush_dcache_folio,
flush_icache_pages; Linux 6.6) runs on.

Flow: generated arch modules subclass ``runtime.arch.Arch`` and call only
what ``runtime.primitives.Primitives`` lists (the contract, with the trace
formats and kind constants); a ``runtime.kernel.Kernel`` holds the machine
(memory, page tables, caches, TLB, page_table_check, lazy MMU state,
trace), built as one class chain over runtime/machine.py, effects.py,
archcalls.py and mmcallers.py; ``runtime.oracle`` checks the invariants;
``runtime.script`` writes the call script the C harness replays;
``runtime.conformance`` runs the scenarios of runtime/scenarios/*.yaml
(loaded by ``runtime.scenarios``) through the families of
runtime/families/.
"""
