"""Call scenarios for the C-vs-Python differential.

Each scenario drives a `runtime.kernel.Kernel` the way the kernel's generic
code does (faults, fault-around, write(2) into the page cache, COW, zap)
plus a few direct arch calls the fault path rarely makes (PROT_NONE
entries, entries replacing others, flushes of unmapped folios).  With a
`ScriptWriter` attached, every arch call lands in the call script with the
state it reads and the trace the Python model printed for it.
"""

from __future__ import annotations

from itertools import combinations
from typing import Callable

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.kernel import Kernel
from runtime.script import ScriptWriter

BASE = 0x400000


def _file_exec(k: Kernel) -> None:
    """Exec of a file with large folios: fault-around maps runs of entries."""
    ps = k.page_size
    mm = k.new_mm()
    f = k.new_file("bin")
    k.add_to_page_cache(f, 0, 4)
    k.add_to_page_cache(f, 16, 0)
    k.add_to_page_cache(f, 32, 2)
    k.mmap(mm, BASE, 64 * ps, VM_READ | VM_EXEC, f, 0)
    k.user_exec(mm, BASE + 3 * ps)
    k.user_read(mm, BASE + 16 * ps)
    k.file_write(f, 2)
    k.user_exec(mm, BASE + 33 * ps)
    k.zap_range(mm, BASE, 4)
    k.user_exec(mm, BASE + 1 * ps)
    k.user_exec(mm, BASE + 5 * ps)


def _anon_and_cow(k: Kernel) -> None:
    """Anonymous faults, a private file mapping written (COW), shared
    writable file pages written through the page cache."""
    ps = k.page_size
    mm = k.new_mm()
    k.mmap(mm, 0x800000, 8 * ps, VM_READ | VM_WRITE)
    k.user_write(mm, 0x800000)
    k.user_read(mm, 0x800000 + ps)
    k.user_write(mm, 0x800000 + ps)
    f = k.new_file("data")
    k.add_to_page_cache(f, 0, 2)
    k.mmap(mm, BASE, 16 * ps, VM_READ | VM_WRITE, f, 0)
    k.user_read(mm, BASE)
    k.user_write(mm, BASE + ps)
    g = k.new_file("shared")
    k.add_to_page_cache(g, 0, 3)
    k.mmap(mm, 0xC00000, 16 * ps, VM_READ | VM_WRITE | VM_SHARED | VM_EXEC, g, 0)
    k.user_read(mm, 0xC00000 + 2 * ps)
    k.user_write(mm, 0xC00000 + 3 * ps)
    k.file_write(g, 4)
    k.user_exec(mm, 0xC00000 + 4 * ps)
    h = k.new_file("unmapped")
    k.add_to_page_cache(h, 0, 1)
    k.file_write(h, 1)


def _direct(k: Kernel) -> None:
    """Direct arch calls: PROT_NONE runs (x86 stores their PFN inverted),
    re-mapping over present entries, update_mmu_cache without a vmf,
    flush_icache_pages of part of a folio, flushes of anon folios."""
    arch = k.arch
    ps = k.page_size
    mm = k.new_mm()
    f = k.new_file("direct")
    folio = k.add_to_page_cache(f, 0, 3)
    vma = k.mmap(mm, BASE, 32 * ps, VM_READ | VM_EXEC, f, 0)
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    none = arch.vm_get_page_prot(0)
    k.set_ptes(mm, BASE, ptep, arch.pfn_pte(folio.pfn, none), 8)
    k.update_mmu_cache_range(None, vma, BASE, ptep, 8)
    prot = arch.vm_get_page_prot(VM_READ | VM_EXEC)
    k.set_ptes(mm, BASE, ptep, arch.pfn_pte(folio.pfn, prot), 8)
    k.update_mmu_cache_range(None, vma, BASE, ptep, 8)
    k.set_ptes(mm, BASE + 2 * ps, ptep.offset(2), arch.pfn_pte(folio.pfn + 2, prot), 3)
    k.flush_icache_pages(vma, folio.page(2), 3)
    k.flush_dcache_folio(folio)
    k.set_ptes(mm, BASE + 10 * ps, ptep.offset(10),
               arch.pte_mkspecial(arch.pfn_pte(folio.pfn, prot)), 1)
    anon = k.alloc_folio(2, True)
    k.flush_dcache_folio(anon)
    k.set_ptes(mm, BASE + 16 * ps, ptep.offset(16), arch.pfn_pte(anon.pfn, prot), 4)
    k.update_mmu_cache(vma, BASE + 17 * ps, ptep.offset(17))
    # kernel (init_mm) global entries: on MIPS the even/odd buddy of a global
    # entry gets _PAGE_GLOBAL too (set_pte_buddy)
    kbase = 0x40000000
    kp0 = k.pte_ref(k.init_mm, kbase, True)
    assert kp0 is not None
    glob = arch.layout.with_role(arch.pfn_pte(folio.pfn + 6, prot), "global", True)
    k.set_ptes(k.init_mm, kbase + 3 * ps, kp0.offset(3), glob, 1)
    k.set_ptes(k.init_mm, kbase + 4 * ps, kp0.offset(4), glob, 2)
    # a KVM guest's mm (s390: stores through ptep_set_pte_at with PGSTEs)
    kvm = k.new_mm(has_pgste=True)
    k.mmap(kvm, BASE, 16 * ps, VM_READ | VM_WRITE, f, 0)
    kp = k.pte_ref(kvm, BASE, True)
    assert kp is not None
    k.set_ptes(kvm, BASE + 4 * ps, kp.offset(4), arch.pfn_pte(folio.pfn + 4, prot), 4)


SCENARIOS: dict[str, Callable[[Kernel], None]] = {
    "file_exec": _file_exec,
    "anon_and_cow": _anon_and_cow,
    "direct": _direct,
}


def cpu_sets(features: tuple[str, ...]) -> list[frozenset[str]]:
    """Every combination of the arch's CPU features (conformance does so)."""
    out: list[frozenset[str]] = []
    for n in range(len(features) + 1):
        out += [frozenset(c) for c in combinations(sorted(features), n)]
    return out


def script_of(arch: object, cpu: frozenset[str], scenario: str) -> str:
    k = Kernel(arch, cpu)  # type: ignore[arg-type]
    k.script = ScriptWriter(k)
    SCENARIOS[scenario](k)
    return k.script.text()
