"""``Arch``: the base class generated arch modules subclass (and ``Field``).

Place in the flow: ``generated/runtime/<arch>.py`` (or a hand-written test
arch) subclasses ``Arch``, sets the constructor data and overrides the PTE
helpers and the four range-API calls.  ``runtime.kernel.Kernel`` calls
them; they reach the model only through the Kernel's primitives
(docs/runtime-interface.md).

Defaults here are the asm-generic behaviour of Linux 6.6:
* ``set_ptes``: include/linux/pgtable.h ``set_ptes`` (page_table_check,
  lazy MMU enter/leave, ``set_pte`` loop advancing by ``pte_next_pfn``,
  i.e. ``+ (1 << PFN_PTE_SHIFT)``);
* ``update_mmu_cache_range``, ``flush_dcache_folio``, ``flush_icache_pages``:
  no-ops (include/asm-generic/cacheflush.h, include/linux/pgtable.h);
* the PTE helpers: computed from ``fields`` with ``runtime.layout``; a role
  the layout lacks answers False and its mutators return the value as is.

PTE values (``pte``, ``prot``, the results of the mutators, ``pfn_pte``,
``pte_pgprot``, ``vm_get_page_prot``, ``empty_pte``) are ``i64`` bit
patterns (runtime/pteval.py); ``runtime.layout`` works on unsigned values,
so the defaults here convert its results with ``s64``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mypy_extensions import i64, mypyc_attr

from runtime.layout import Layout
from runtime.pteval import s64
from runtime.primitives import (
    DCACHE_PIPT, GRANULARITY_NONE, ICACHE_COHERENT, LAZY_STRICT, PG_ARCH_1_NONE, TLB_HARDWARE,
)
from runtime.tlb import pte_none_ignores_global

if TYPE_CHECKING:
    from runtime.primitives import Primitives
    from runtime.memory import Folio, Page
    from runtime.mm import Mm, Vma, Vmf
    from runtime.pagetable import PteRef

VM_READ = 1
VM_WRITE = 2
VM_EXEC = 4
VM_SHARED = 8

KERNEL_BASE_64 = 0xFFFF_8000_0000_0000
KERNEL_BASE_32 = 0xC000_0000


class Field:
    """One PTE field: bits ``lo..hi`` (inclusive), a role or ``""``."""

    name: str
    lo: int
    hi: int
    role: str
    inverted: bool
    pfn_offset: int

    def __init__(self, name: str, lo: int, hi: int, role: str = "",
                 inverted: bool = False, pfn_offset: int = 0) -> None:
        self.name = name
        self.lo = lo
        self.hi = hi
        self.role = role
        self.inverted = inverted
        self.pfn_offset = pfn_offset

    def __repr__(self) -> str:
        return "Field(%r, %d, %d, %r, %r, %d)" % (
            self.name, self.lo, self.hi, self.role, self.inverted,
            self.pfn_offset)


@mypyc_attr(allow_interpreted_subclasses=True)
class Arch:
    """An architecture: layout data, PTE helpers and the four range calls."""

    name: str
    word_bits: int
    page_shift: int
    ptrs_per_pte: int
    phys_bits: int
    pfn_pte_shift: int
    max_folio_order: int
    fields: tuple[Field, ...]
    cpu_features: tuple[str, ...]
    pg_arch_1_use: str
    pg_arch_1_granularity: str
    tlb_kind: str
    # ARCH_SUPPORTS_PAGE_TABLE_CHECK (x86, arm64, riscv in 6.6); arches
    # without it do not call page_table_check_ptes_set, so the Kernel
    # leaves page_table_check off for them by default.
    supports_page_table_check: bool
    # the value of an empty entry (pte_none): 0, or e.g. s390's _PAGE_INVALID
    empty_pte: i64
    # fields pte_none() ignores (x86: _PAGE_KNL_ERRATUM_MASK = Accessed|Dirty)
    none_ignore: i64
    # the lazy MMU mode's rules (runtime.lazy: strict | defer | batch | none)
    lazy_mmu_kind: str
    # derived
    layout: Layout
    page_size: int
    kernel_base: int
    word_mask: int
    # bits pte_none() disregards (the global bit where TLB pair halves
    # share it: runtime.tlb.pte_none_ignores_global)
    none_ignore_mask: i64
    # CONFIG_HIGHMEM: user folios may sit in highmem (no permanent kernel
    # address); kmap_colour: kmap_local addresses take the page's colour
    # (xtensa) rather than the fixmap slot's
    highmem: bool
    kmap_colour: bool
    # the layout has a user role (pte_user_accessible_page: precomputed,
    # no role lookup by name per entry)
    has_user_role: bool
    # CONFIG_TRANSPARENT_HUGEPAGE in the modelled configuration: do_set_pmd
    # maps PMD-order file folios with one PMD leaf (set_pmd_at,
    # update_mmu_cache_pmd); without it do_set_pmd falls back to PTEs
    thp: bool

    def __init__(self, name: str, word_bits: int, page_shift: int,
                 ptrs_per_pte: int, phys_bits: int, pfn_pte_shift: int,
                 max_folio_order: int, fields: tuple[Field, ...],
                 cpu_features: tuple[str, ...] = (),
                 pg_arch_1_use: str = PG_ARCH_1_NONE,
                 pg_arch_1_granularity: str = GRANULARITY_NONE,
                 tlb_kind: str = TLB_HARDWARE,
                 supports_page_table_check: bool = True,
                 empty_pte: i64 = 0, none_ignore: i64 = 0,
                 lazy_mmu_kind: str = LAZY_STRICT) -> None:
        self.name = name
        self.word_bits = word_bits
        self.page_shift = page_shift
        self.ptrs_per_pte = ptrs_per_pte
        self.phys_bits = phys_bits
        self.pfn_pte_shift = pfn_pte_shift
        self.max_folio_order = max_folio_order
        self.fields = fields
        self.cpu_features = tuple(sorted(cpu_features))
        self.pg_arch_1_use = pg_arch_1_use
        self.pg_arch_1_granularity = pg_arch_1_granularity
        self.tlb_kind = tlb_kind
        self.supports_page_table_check = supports_page_table_check
        self.empty_pte = empty_pte
        self.none_ignore = none_ignore
        self.lazy_mmu_kind = lazy_mmu_kind
        self.layout = Layout(fields, word_bits)
        self.page_size = 1 << page_shift
        self.kernel_base = KERNEL_BASE_64 if word_bits == 64 else KERNEL_BASE_32
        self.word_mask = (1 << word_bits) - 1
        # MIPS pairs: pte_none ignores _PAGE_GLOBAL; plus the archdef's
        # none_ignores fields (x86: _PAGE_KNL_ERRATUM_MASK = Accessed|Dirty)
        self.none_ignore_mask = s64(self.layout.role_mask.get("global", 0)
                                    if pte_none_ignores_global(tlb_kind) else 0) | none_ignore
        self.highmem = False
        self.kmap_colour = False
        self.has_user_role = self.layout.has_role("user")
        self.thp = False

    # --- CPU-feature dependent cache/TLB model -------------------------
    def dcache_kind(self, cpu: frozenset[str]) -> str:
        return DCACHE_PIPT

    def dcache_colours(self, cpu: frozenset[str]) -> int:
        return 1

    def icache_kind(self, cpu: frozenset[str]) -> str:
        return ICACHE_COHERENT

    def icache_colours(self, cpu: frozenset[str]) -> int:
        return 1

    def wants_old_prefaulted_pte(self, cpu: frozenset[str]) -> bool:
        return False

    # --- PTE predicates -------------------------------------------------
    def pte_none(self, pte: i64) -> bool:
        # MIPS ignores _PAGE_GLOBAL (arch/mips/include/asm/pgtable.h); an
        # archdef's none_ignores adds its fields (see __init__)
        return (pte & ~self.none_ignore_mask) == self.empty_pte

    def pte_present(self, pte: i64) -> bool:
        return self.layout.test(pte, "present")

    def pte_write(self, pte: i64) -> bool:
        return self.layout.test(pte, "write")

    def pte_dirty(self, pte: i64) -> bool:
        return self.layout.test(pte, "dirty")

    def pte_young(self, pte: i64) -> bool:
        return self.layout.test(pte, "young")

    def pte_exec(self, pte: i64) -> bool:
        return self.layout.test(pte, "exec")

    def pte_user(self, pte: i64) -> bool:
        return self.layout.test(pte, "user")

    def pte_special(self, pte: i64) -> bool:
        return self.layout.test(pte, "special")

    def pte_global(self, pte: i64) -> bool:
        return self.layout.test(pte, "global")

    def pte_protnone(self, pte: i64) -> bool:
        return self.layout.test(pte, "protnone")

    def pte_user_accessible_page(self, pte: i64) -> bool:
        """page_table_check's filter (x86/arm64 pgtable.h, v6.6): present
        and user-accessible; an arch without a user bit maps user pages by
        address space, so present suffices."""
        if not self.pte_present(pte):
            return False
        if self.has_user_role:
            return self.pte_user(pte)
        return True

    # --- PTE mutators -----------------------------------------------------
    def pte_mkyoung(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "young", True))

    def pte_mkold(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "young", False))

    def pte_mkdirty(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "dirty", True))

    def pte_mkclean(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "dirty", False))

    def pte_mkwrite(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "write", True))

    def pte_wrprotect(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "write", False))

    def pte_mkspecial(self, pte: i64) -> i64:
        return s64(self.layout.with_role(pte, "special", True))

    def pte_sw_mkyoung(self, pte: i64) -> i64:
        """include/linux/pgtable.h: identity unless the arch (MIPS) sets it."""
        return pte

    # --- PFN / prot ---------------------------------------------------------
    def pte_pfn(self, pte: i64) -> int:
        return self.layout.pfn_of(pte)

    def pfn_pte(self, pfn: int, prot: i64) -> i64:
        return s64(self.layout.pfn_pte(pfn, prot))

    def pte_pgprot(self, pte: i64) -> i64:
        return s64(self.layout.prot_of(pte))

    def pte_advance(self, pte: i64, pages: i64) -> i64:
        """pte_next_pfn applied ``pages`` times: + pages << PFN_PTE_SHIFT."""
        return s64((int(pte) + (pages << self.pfn_pte_shift)) & self.word_mask)

    def vm_get_page_prot(self, vm_flags: int) -> i64:
        """mm/mmap.c vm_get_page_prot via protection_map: present, user,
        accessed, not global; writable only for shared writable mappings (private ones
        are copy-on-write); exec iff VM_EXEC."""
        lay = self.layout
        prot = lay.with_role(0, "present", True)
        prot = lay.with_role(prot, "user", True)
        prot = lay.with_role(prot, "young", True)
        prot = lay.with_role(prot, "global", False)     # user pages are per-ASID
        prot = lay.with_role(prot, "write",
                             bool(vm_flags & VM_WRITE) and bool(vm_flags & VM_SHARED))
        prot = lay.with_role(prot, "exec", bool(vm_flags & VM_EXEC))
        return s64(prot)

    def vm_get_page_prot_cpu(self, vm_flags: int, cpu: frozenset[str]) -> i64:
        """vm_get_page_prot() on a CPU with these features: protection_map
        after the arch's boot code rewrote it (m68k paging_init ORs the
        040/060 cache mode into every entry); an archdef's prot `when`
        blocks override this.  Default: the static table."""
        return self.vm_get_page_prot(vm_flags)

    # --- The four range-API calls (asm-generic defaults) --------------------
    def set_ptes(self, k: Primitives, mm: Mm, addr: int, ptep: PteRef, pte: i64,
                 nr: int) -> None:
        k.page_table_check_ptes_set(mm, ptep, pte, nr)
        k.lazy_mmu_enter()
        i = 0
        while True:
            k.set_pte(ptep.offset(i), pte)
            i += 1
            if i == nr:
                break
            pte = self.pte_advance(pte, 1)
        k.lazy_mmu_leave()

    def update_mmu_cache_range(self, k: Primitives, vmf: Vmf | None, vma: Vma,
                               addr: int, ptep: PteRef, nr: int) -> None:
        pass

    def flush_dcache_folio(self, k: Primitives, folio: Folio) -> None:
        pass

    def flush_icache_pages(self, k: Primitives, vma: Vma, page: Page,
                           nr: int) -> None:
        pass

    # --- The PMD hook pair (do_set_pmd; generic: store / nothing) ------------
    def set_pmd_at(self, k: Primitives, mm: Mm, addr: int, ptep: PteRef,
                   pte: i64) -> None:
        """``ptep`` is the pmd pointer, ``pte`` the leaf as pmd_pte(pmd)."""
        k.set_pmd(mm, addr, ptep, pte)

    def update_mmu_cache_pmd(self, k: Primitives, vma: Vma, addr: int,
                             ptep: PteRef) -> None:
        pass

    # The cache calls around the range API (Documentation/core-api/
    # cachetlb.rst; include/asm-generic/cacheflush.h: no-ops by default).
    def flush_cache_mm(self, k: Primitives, mm: Mm) -> None:
        pass

    def flush_cache_dup_mm(self, k: Primitives, mm: Mm) -> None:
        pass

    def flush_cache_range(self, k: Primitives, vma: Vma, start: int, end: int) -> None:
        pass

    def flush_cache_page(self, k: Primitives, vma: Vma, addr: int, pfn: int) -> None:
        pass

    # The user-page hooks (include/linux/highmem.h defaults: kmap_local_page
    # both pages, copy_user_page / clear_user_page = copy_page / clear_page
    # through those kernel addresses).
    def copy_user_highpage(self, k: Primitives, to: Page, src: Page, vaddr: int,
                           vma: Vma) -> None:
        k.copy_page(to, src, vma.mm, vaddr, 0)

    def clear_user_highpage(self, k: Primitives, page: Page, vaddr: int) -> None:
        k.clear_page(page, vaddr, 0)
