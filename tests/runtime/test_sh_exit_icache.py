"""archdefs/sh.arch finding 3, reproduced on the model: SH-4's
flush_cache_mm (sh4_flush_cache_mm, arch/sh/mm/cache-sh4.c:198-206,
6.12.117 and the seed's tree) writes back and invalidates the whole
operand cache and leaves the instruction cache alone, and exit_mmap
gathers the whole mm without a per-VMA flush_cache_range (the only SH-4
path that invalidates the I-cache around an unmap, cache-sh4.c:283-307).
flush_icache_pages is a no-op on SH-4 (cache.c:25, 245-248) and
__update_cache only purges the D-cache (cache.c:141-156).  So the I-cache
lines of a program that ran and exited survive; rewriting the file in
place (write(2) into the same page-cache pages, no ETXTBSY once nobody
runs it) and running it again fetches the old instructions.  The
archdef's flush_cache_mm describes the shipped D-only flush
(flush_user_cache_mm); the control is the same arch with the whole-cache
flush the 2.6-era sh4_flush_cache_mm did when the mm had exec VMAs
(torvalds/linux 02cee68998010c4a2cc2383c86babc2ecc737183,
arch/sh/mm/cache-sh4.c: `if (mm->exec_vm) flush_icache_all()`).  The
expected versions come from the writes, not from either flush."""

from __future__ import annotations

from runtime.arch import Arch, VM_EXEC, VM_READ
from runtime.kernel import Kernel
from runtime.mm import Mm
from runtime.primitives import Primitives
from runtime.oracle import check_all

from fixture_archs import generated, generated_class

PAGE = 4096
BASE = 0x40000000


def sh_exit_flushes_icache() -> Arch:
    class ShExitFlushesIcache(generated_class("sh")):  # type: ignore[misc]
        def flush_cache_mm(self, k: Primitives, mm: Mm) -> None:
            k.cache_flush_all()
    return ShExitFlushesIcache()


def _run_exit_rewrite_run(arch: Arch) -> tuple[Kernel, list[int], list[int]]:
    """A 2-page program file run (executed) by one mm, which exits; the
    file is rewritten in place by write(2) and run again by a new mm at the
    same address (the same I-cache colour: the SH-4 I-cache is virtually
    indexed, physically tagged, with an 8 KiB way, probe.c:35-38)."""
    k = Kernel(arch)
    f = k.new_file()
    k.add_to_page_cache(f, 0, 0)
    k.add_to_page_cache(f, 1, 0)
    first = k.new_mm()
    k.mmap(first, BASE, 2 * PAGE, VM_READ | VM_EXEC, f)
    for i in range(2):
        k.user_exec(first, BASE + i * PAGE)
    k.exit_mmap(first)
    written = [k.file_write(f, i) for i in range(2)]
    second = k.new_mm()
    k.mmap(second, BASE, 2 * PAGE, VM_READ | VM_EXEC, f)
    seen = [k.user_exec(second, BASE + i * PAGE) for i in range(2)]
    return k, written, seen


def test_shipped_exit_keeps_stale_instructions() -> None:
    k, written, seen = _run_exit_rewrite_run(generated("sh"))
    assert seen != written
    # PG_dcache_clean is set over the stale I-cache lines: pg_arch_1_state too
    assert {v.check for v in check_all(k)} == {"stale_insn", "pg_arch_1_state"}


def test_icache_flush_at_exit_runs_the_new_program() -> None:
    k, written, seen = _run_exit_rewrite_run(sh_exit_flushes_icache())
    assert seen == written
    assert check_all(k) == []
