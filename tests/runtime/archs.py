"""Hand-written test arches (interpreted subclasses of runtime.arch.Arch).

They stand in for generated modules until the generator exists.  Each is
modelled on the named kernel's v6.6 range-API code (the layouts are
simplified but keep each arch's quirks: NX inverted, PFN_PTE_SHIFT=10 on
riscv, MIPS _PAGE_GLOBAL buddies, ...), and each has broken variants that
drop one required step.  Sources: arch/x86/include/asm/pgtable.h,
arch/arm64/include/asm/pgtable.h + arch/arm64/mm/flush.c,
arch/mips/include/asm/pgtable.h + arch/mips/mm/cache.c + cacheflush.h,
arch/riscv/include/asm/pgtable.h, arch/s390/include/asm/pgtable.h +
arch/s390/kernel/uv.c (arch_make_page_accessible, per-page PG_arch_1).
"""

from __future__ import annotations

from runtime.arch import Arch, Field
from runtime.kernel import Kernel
from runtime.memory import Folio, Page
from runtime.mm import Mm, Vma, Vmf
from runtime.pagetable import PteRef


def x86_fields() -> tuple[Field, ...]:
    return (
        Field("present", 0, 0, "present"),
        Field("rw", 1, 1, "write"),
        Field("user", 2, 2, "user"),
        Field("accessed", 5, 5, "young"),
        Field("dirty", 6, 6, "dirty"),
        Field("global", 8, 8, "global"),
        Field("special", 9, 9, "special"),
        Field("pfn", 12, 51, "pfn"),
        Field("nx", 63, 63, "exec", inverted=True),
    )


class X86(Arch):
    """Generic: PIPT, coherent I, hardware walker, no PG_arch_1; the
    asm-generic set_ptes (x86 uses it: PFN_PTE_SHIFT = PAGE_SHIFT)."""

    def __init__(self, name: str = "x86") -> None:
        super().__init__(name, 64, 12, 512, 46, 12, 9, x86_fields())


class X86BadAdvance(X86):
    """Broken: advances the PFN by two pages per entry."""

    def __init__(self) -> None:
        super().__init__("x86_bad_advance")

    def pte_advance(self, pte: int, pages: int) -> int:
        return pte + (pages << 13)


class X86Overrun(X86):
    """Broken: writes one entry past the range."""

    def __init__(self) -> None:
        super().__init__("x86_overrun")

    def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                 nr: int) -> None:
        super().set_ptes(k, mm, addr, ptep, pte, nr)
        if ptep.idx + nr < k.arch.ptrs_per_pte:
            k.set_pte(ptep.offset(nr), 0)


class X86LazyLeak(X86):
    """Broken: enters lazy MMU mode and never leaves it."""

    def __init__(self) -> None:
        super().__init__("x86_lazy_leak")

    def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                 nr: int) -> None:
        k.page_table_check_ptes_set(mm, ptep, pte, nr)
        k.lazy_mmu_enter()
        for i in range(nr):
            k.set_pte(ptep.offset(i), self.pte_advance(pte, i))


def arm64_fields() -> tuple[Field, ...]:
    return (
        Field("valid", 0, 0, "present"),
        Field("user", 6, 6, "user"),
        Field("rdonly", 7, 7),
        Field("af", 10, 10, "young"),
        Field("ng", 11, 11, "global", inverted=True),
        Field("addr", 12, 47, "pfn"),
        Field("dbm", 51, 51, "write"),
        Field("uxn", 54, 54, "exec", inverted=True),
        Field("swdirty", 55, 55, "dirty"),
        Field("special", 56, 56, "special"),
    )


class Arm64(Arch):
    """PIPT D, I needs sync, PG_arch_1 = PG_dcache_clean per folio;
    set_ptes syncs the whole folio once (__sync_icache_dcache),
    flush_dcache_folio clears the flag; wants old prefaulted PTEs when the
    CPU has hardware AF."""

    def __init__(self, name: str = "arm64") -> None:
        super().__init__(name, 64, 12, 512, 48, 12, 9, arm64_fields(),
                         cpu_features=("hw_af",), pg_arch_1_use="dcache_clean",
                         pg_arch_1_granularity="folio")

    def icache_kind(self, cpu: frozenset[str]) -> str:
        return "needs_sync"

    def wants_old_prefaulted_pte(self, cpu: frozenset[str]) -> bool:
        return "hw_af" in cpu

    def sync_icache_dcache(self, k: Kernel, pte: int) -> None:
        folio = k.pfn_folio(self.pte_pfn(pte))
        if not k.folio_test_arch1(folio):
            k.icache_sync(folio.pfn, folio.nr_pages)
            k.folio_set_arch1(folio)

    def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                 nr: int) -> None:
        k.page_table_check_ptes_set(mm, ptep, pte, nr)
        i = 0
        while True:
            if self.pte_present(pte) and self.pte_user(pte) and self.pte_exec(pte) \
                    and not self.pte_special(pte):
                self.sync_icache_dcache(k, pte)
            k.set_pte(ptep.offset(i), pte)
            i += 1
            if i == nr:
                break
            pte = pte + self.page_size

    def flush_dcache_folio(self, k: Kernel, folio: Folio) -> None:
        if k.folio_test_arch1(folio):
            k.folio_clear_arch1(folio)


class Arm64NoSync(Arm64):
    """Broken: never syncs the I-cache but still marks the folio clean."""

    def __init__(self) -> None:
        super().__init__("arm64_nosync")

    def sync_icache_dcache(self, k: Kernel, pte: int) -> None:
        folio = k.pfn_folio(self.pte_pfn(pte))
        if not k.folio_test_arch1(folio):
            k.folio_set_arch1(folio)


class Arm64SyncOnePage(Arm64):
    """Broken: syncs only the page being mapped, yet marks the folio."""

    def __init__(self) -> None:
        super().__init__("arm64_sync_one")

    def sync_icache_dcache(self, k: Kernel, pte: int) -> None:
        folio = k.pfn_folio(self.pte_pfn(pte))
        if not k.folio_test_arch1(folio):
            k.icache_sync(self.pte_pfn(pte), 1)
            k.folio_set_arch1(folio)


class Arm64TailFlag(Arm64):
    """Broken: keeps PG_dcache_clean on the page it maps (tail pages)."""

    def __init__(self) -> None:
        super().__init__("arm64_tail_flag")

    def sync_icache_dcache(self, k: Kernel, pte: int) -> None:
        page = k.pfn_page(self.pte_pfn(pte))
        if not k.page_test_arch1(page):
            k.icache_sync(page.pfn, 1)
            k.page_set_arch1(page)


def mips_fields() -> tuple[Field, ...]:
    return (
        Field("present", 0, 0, "present"),
        Field("write", 1, 1, "write"),
        Field("accessed", 2, 2, "young"),
        Field("modified", 3, 3, "dirty"),
        Field("no_exec", 4, 4, "exec", inverted=True),
        Field("special", 5, 5, "special"),
        Field("global", 6, 6, "global"),
        Field("valid", 7, 7),
        Field("pfn", 12, 47, "pfn"),
    )


class Mips(Arch):
    """VIPT aliasing D when cpu dc_aliases (4 colours), software TLB with
    even/odd pairs, PG_arch_1 = PG_dcache_dirty per folio: flush_dcache_folio
    defers (sets the flag) for an unmapped page-cache folio, set_ptes runs
    __update_cache (flush aliasing kernel lines, clear the flag),
    update_mmu_cache_range preloads every page (__update_tlb)."""

    def __init__(self, name: str = "mips") -> None:
        super().__init__(name, 64, 12, 512, 40, 12, 9, mips_fields(),
                         cpu_features=("dc_aliases",),
                         pg_arch_1_use="dcache_dirty",
                         pg_arch_1_granularity="folio",
                         tlb_kind="software_pairs",
                         supports_page_table_check=False)

    def dcache_kind(self, cpu: frozenset[str]) -> str:
        return "vipt_aliasing" if "dc_aliases" in cpu else "vipt"

    def dcache_colours(self, cpu: frozenset[str]) -> int:
        return 4 if "dc_aliases" in cpu else 1

    def pte_sw_mkyoung(self, pte: int) -> int:
        return self.pte_mkyoung(pte)

    def update_cache(self, k: Kernel, addr: int, pte: int) -> None:
        """arch/mips/mm/cache.c __update_cache (with page i, not byte i)."""
        pfn = self.pte_pfn(pte)
        if not k.pfn_valid(pfn):
            return
        folio = k.pfn_folio(pfn)
        exec_ = self.pte_exec(pte) and k.icache.kind != "coherent"
        address = addr - ((pfn - folio.pfn) << self.page_shift)
        if k.folio_test_arch1(folio):
            for i in range(folio.nr_pages):
                if exec_ or k.pages_do_alias(k.kaddr(folio.pfn + i), address):
                    self.flush_kernel_page(k, folio, i)
                address += self.page_size
            k.folio_clear_arch1(folio)

    def flush_kernel_page(self, k: Kernel, folio: Folio, i: int) -> None:
        k.dcache_flush(folio.pfn + i, 1)

    def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                 nr: int) -> None:
        do_sync = False
        for i in range(nr):
            if not self.pte_present(pte):
                continue
            old = k.read_pte(ptep.offset(i))
            if self.pte_present(old) and self.pte_pfn(old) == self.pte_pfn(pte):
                continue
            do_sync = True
        if do_sync:
            self.update_cache(k, addr, pte)
        i = 0
        while True:
            k.set_pte(ptep.offset(i), pte)
            i += 1
            if i == nr:
                break
            pte = self.pte_advance(pte, 1)

    def update_mmu_cache_range(self, k: Kernel, vmf: Vmf | None, vma: Vma,
                               addr: int, ptep: PteRef, nr: int) -> None:
        for i in range(nr):
            k.tlb_preload(vma.mm, addr + i * self.page_size, ptep.offset(i))

    def flush_dcache_folio(self, k: Kernel, folio: Folio) -> None:
        if not k.cpu_has("dc_aliases"):
            return
        if k.folio_has_mapping(folio) and not k.mapping_mapped(folio):
            k.folio_set_arch1(folio)
        else:
            k.dcache_flush(folio.pfn, folio.nr_pages)


class MipsNoFlush(Mips):
    """Broken: flush_dcache_folio does nothing."""

    def __init__(self) -> None:
        super().__init__("mips_noflush")

    def flush_dcache_folio(self, k: Kernel, folio: Folio) -> None:
        pass


class MipsNoPreload(Mips):
    """Broken: update_mmu_cache_range does not reload the TLB."""

    def __init__(self) -> None:
        super().__init__("mips_nopreload")

    def update_mmu_cache_range(self, k: Kernel, vmf: Vmf | None, vma: Vma,
                               addr: int, ptep: PteRef, nr: int) -> None:
        pass


class MipsKmapBytes(Mips):
    """The 6.6 __update_cache text: kmap_local_folio(folio, i) takes a BYTE
    offset, so every iteration flushes page 0 (mips.md O1)."""

    def __init__(self) -> None:
        super().__init__("mips_kmap_bytes")

    def flush_kernel_page(self, k: Kernel, folio: Folio, i: int) -> None:
        k.dcache_flush(folio.pfn, 1)


def riscv_fields() -> tuple[Field, ...]:
    return (
        Field("v", 0, 0, "present"),
        Field("r", 1, 1),
        Field("w", 2, 2, "write"),
        Field("x", 3, 3, "exec"),
        Field("u", 4, 4, "user"),
        Field("g", 5, 5, "global"),
        Field("a", 6, 6, "young"),
        Field("d", 7, 7, "dirty"),
        Field("special", 8, 8, "special"),
        Field("pfn", 10, 53, "pfn"),
    )


class Riscv(Arch):
    """TLB may cache invalid entries; update_mmu_cache_range fences every
    page (local_flush_tlb_page per page, arch/riscv/include/asm/pgtable.h);
    PFN_PTE_SHIFT = 10."""

    def __init__(self, name: str = "riscv") -> None:
        super().__init__(name, 64, 12, 512, 56, 10, 9, riscv_fields(),
                         tlb_kind="caches_invalid")

    def vm_get_page_prot(self, vm_flags: int) -> int:
        return super().vm_get_page_prot(vm_flags) | (1 << 1)   # R

    def update_mmu_cache_range(self, k: Kernel, vmf: Vmf | None, vma: Vma,
                               addr: int, ptep: PteRef, nr: int) -> None:
        while nr > 0:
            nr -= 1
            k.tlb_flush_page(vma.mm, addr + nr * self.page_size)


class RiscvNoFence(Riscv):
    def __init__(self) -> None:
        super().__init__("riscv_nofence")

    def update_mmu_cache_range(self, k: Kernel, vmf: Vmf | None, vma: Vma,
                               addr: int, ptep: PteRef, nr: int) -> None:
        pass


class RiscvFenceFirst(Riscv):
    """Broken: fences only the first page of the range."""

    def __init__(self) -> None:
        super().__init__("riscv_fence_first")

    def update_mmu_cache_range(self, k: Kernel, vmf: Vmf | None, vma: Vma,
                               addr: int, ptep: PteRef, nr: int) -> None:
        k.tlb_flush_page(vma.mm, addr)


def s390_fields() -> tuple[Field, ...]:
    return (
        Field("young", 2, 2, "young"),
        Field("dirty", 3, 3, "dirty"),
        Field("special", 5, 5, "special"),
        Field("protect", 9, 9, "write", inverted=True),
        Field("invalid", 10, 10, "present", inverted=True),
        Field("noexec", 8, 8, "exec", inverted=True),
        Field("origin", 12, 63, "pfn"),
    )


class S390(Arch):
    """Per-4 KiB-page PG_arch_1 ('secure', arch/s390/kernel/uv.c).
    set_ptes as in the series (pgste_set_pte for KVM mms, + PAGE_SIZE);
    for a KVM mm the test arch first makes each page accessible the way
    arch_make_page_accessible does: test and clear each page's bit."""

    def __init__(self, name: str = "s390") -> None:
        super().__init__(name, 64, 12, 256, 52, 12, 8, s390_fields(),
                         pg_arch_1_use="secure", pg_arch_1_granularity="page",
                         supports_page_table_check=False, empty_pte=1 << 10)

    def make_accessible(self, k: Kernel, folio: Folio, first: int, nr: int) -> None:
        for i in range(first, first + nr):
            page = folio.page(i)
            if k.page_test_arch1(page):
                k.page_clear_arch1(page)

    def set_ptes(self, k: Kernel, mm: Mm, addr: int, ptep: PteRef, pte: int,
                 nr: int) -> None:
        if mm.has_pgste:
            folio = k.pfn_folio(self.pte_pfn(pte))
            self.make_accessible(k, folio, self.pte_pfn(pte) - folio.pfn, nr)
            for i in range(nr):
                k.pgste_set_pte(mm, addr + i * self.page_size, ptep.offset(i),
                                pte + i * self.page_size)
        else:
            for i in range(nr):
                k.set_pte(ptep.offset(i), pte + i * self.page_size)


class S390FolioFlag(S390):
    """Broken: treats 'secure' as a per-folio flag."""

    def __init__(self) -> None:
        super().__init__("s390_folio_flag")

    def make_accessible(self, k: Kernel, folio: Folio, first: int, nr: int) -> None:
        if k.folio_test_arch1(folio):
            k.folio_clear_arch1(folio)


CORRECT: tuple[type[Arch], ...] = (X86, Arm64, Mips, Riscv, S390)
