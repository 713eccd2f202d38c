"""ptdl runtime: an executable model of the MM, caches and TLB that the Linux
page table range API (set_ptes, update_mmu_cache_range, flush_dcache_folio,
flush_icache_pages; Linux 6.6) runs on.

Flow: generated arch modules subclass ``runtime.arch.Arch``; a
``runtime.kernel.Kernel`` holds the machine (memory, page tables, caches,
TLB, page_table_check, lazy MMU state, trace); ``runtime.oracle`` checks the
invariants; ``runtime.script`` writes the call script the C harness replays.
"""
