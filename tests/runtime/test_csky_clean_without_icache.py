"""csky_dc_clean_without_icache (tests/fixtures/broken/): PG_dcache_clean is
test-and-set by update_mmu_cache_range for EVERY mapping, the I-cache
invalidated only for VM_EXEC (csky finding 1, abiv2/cacheflush.c:24-36 in
6.12.117).  The lie needs I-cache lines of the page's earlier contents: a
file page executed, unmapped, rewritten with write(2) (flush_dcache_folio
clears the flag), then mapped for reading -- the flag is set with the old
instructions still in the I-cache, and the next exec mapping skips the
invalidation.

The oracle's pg_arch_1_state rule names it at the read mapping (the
I-cache holds a line older than the kernel's data under a set flag), and
the exec that follows reads stale instructions.  The correct csky archdef
leaves the flag clear on the read mapping and runs clean.  (The broken-
fixture case on ptc_mixed_mappings relied on the rule's old "no dirty line
anywhere" reading: there the user's own stores sat under the set flag,
which the refined rule allows; see runtime/oracle.py.)"""

from __future__ import annotations

from runtime.arch import Arch, VM_EXEC, VM_READ
from runtime.kernel import Kernel
from runtime.oracle import check_all, check_pg_arch_1_state
from runtime.violation import STALE_INSN

from fixture_archs import fixture, generated

EXEC_AT = 0x10800000
READ_AT = 0x10c00000
AGAIN_AT = 0x11000000


def _exec_rewrite_read_exec(arch: Arch) -> tuple[Kernel, list[str], list[str]]:
    k = Kernel(arch, frozenset())
    mm = k.new_mm()
    f = k.new_file()
    k.add_to_page_cache(f, 0, order=0)              # kernel fill, flush_dcache_folio
    k.mmap(mm, EXEC_AT, k.page_size, VM_READ | VM_EXEC, f)
    assert k.user_exec(mm, EXEC_AT) >= 0            # I-cache lines of the old text
    k.zap_range(mm, EXEC_AT, 1)
    k.file_write(f, 0)                              # write(2): copy, flush_dcache_folio
    k.mmap(mm, READ_AT, k.page_size, VM_READ, f)
    assert k.user_read(mm, READ_AT) >= 0
    at_read = [v.check for v in check_pg_arch_1_state(k)]
    k.mmap(mm, AGAIN_AT, k.page_size, VM_READ | VM_EXEC, f)
    k.user_exec(mm, AGAIN_AT)
    return k, at_read, [v.check for v in check_all(k)]


def test_flag_set_over_stale_icache_is_named() -> None:
    _, at_read, after = _exec_rewrite_read_exec(fixture("csky_dc_clean_without_icache"))
    assert at_read == ["pg_arch_1_state"], at_read
    assert STALE_INSN in after, after


def test_csky_leaves_the_flag_clear_for_a_read_mapping() -> None:
    _, at_read, after = _exec_rewrite_read_exec(generated("csky"))
    assert at_read == [] and after == [], after
