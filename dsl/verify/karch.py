"""What verify must know about each kernel architecture that the archdef does not say.

Place in the flow: consulted by kbuild.py (ARCH, compiler), facts.py (how
vm_get_page_prot is spelt) and probe.py (the run-time values and the
assumptions that fold them).  The *values* all come from the tree; this
table only says where to look.  Each entry cites the 6.12 file it is based
on.

Assumptions.  Some kernel values are only known at boot; the probe does not
fold them and verify reports those facts as run-time dependent.  Each
assumption names what the archdef takes as given and how a second probe
fixes it: `macro` defines the symbol before any header (the kernel's own
cpu-feature-overrides mechanism), `var` renames the kernel variable to a
never-written static of the same type holding the value, which GCC folds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

VM_BITS = {"VM_NONE": 0, "VM_READ": 1, "VM_WRITE": 2, "VM_EXEC": 4, "VM_SHARED": 8}


@dataclass(frozen=True)
class Assumption:
    symbol: str
    kind: str        # 'macro' | 'var'
    ctype: str       # C type of the variable (var only)
    value: str       # C expression
    text: str        # what is assumed, for the report


@dataclass(frozen=True)
class KArch:
    name: str                 # ptdl root arch (archdefs' top-level name)
    karch: str                # make ARCH=
    cross: str                # CROSS_COMPILE ('' = host gcc)
    prot_file: str            # where protection_map is defined
    # vm_get_page_prot(flags) over the protection_map entry P (a pgprot_t
    # expression), for the 16 plain VM_READ|WRITE|EXEC|SHARED combinations
    vm_get_page_prot: str = "pgprot_val({P})"
    vm_cite: str = ""
    assumptions: tuple[Assumption, ...] = ()
    # mutator -> C template over {p} when the kernel's inline helper is not
    # what the archdef's mutator models (cited)
    mutator_c: tuple[tuple[str, str, str], ...] = ()
    # fact group -> C template used in the assumption probe only, spelling
    # out what the helper is when the assumption holds (cited)
    assume_c: tuple[tuple[str, str, str], ...] = ()
    # fact group -> what makes it run-time dependent (for the report)
    runtime_causes: tuple[tuple[str, str], ...] = ()
    pteval_t: bool = True     # the arch's headers define pteval_t
    # extra make variables (um needs SUBARCH=x86_64)
    make_vars: tuple[str, ...] = ()
    # set: the configuration needs a compiler Debian does not ship (why);
    # verify skips it with this reason (the archdef says how it was
    # checked by hand), also under PTDL_REQUIRE_KERNEL
    unavailable: str = ""
    # Kconfig options forced on the probe's compiler command line
    # (-DCONFIG_X=1), each with why: a configuration the tree's Kconfig
    # cannot select (arc_pae40 in 6.12.117).  Only headers are compiled, so
    # the build's objects need not agree; verify prints them as notes.
    forced: tuple[tuple[str, str], ...] = ()

    def forced_flags(self) -> str:
        return " ".join(f"-D{name}=1" for name, _ in self.forced)

    def mutator_expr(self, name: str) -> str | None:
        return next((c for n, c, _ in self.mutator_c if n == name), None)

    def assume_expr(self, group: str) -> str | None:
        return next((c for n, c, _ in self.assume_c if n == group), None)

    def cause(self, group: str) -> str | None:
        return next((c for n, c in self.runtime_causes if n == group), None)


def _uhi(x: str) -> str:
    """`sethi %uhi(X), r; sllx r, 32, r`: X's bits 63:42 (sparc64 sun4v patches)."""
    return f"(({x}) >> 42 << 42)"


def _uhi_lo(x: str) -> str:
    """The same, then `or r, %lo(X), r`: bits 63:42 and 9:0 of X."""
    return f"({_uhi(x)} | (({x}) & 0x3ff))"


KARCHS: dict[str, KArch] = {k.name: k for k in (
    KArch("x86", "x86_64", "", "arch/x86/mm/pgprot.c",
          # arch/x86/mm/pgprot.c vm_get_page_prot(): SME bit, then
          # __supported_pte_mask on present protections (pkey bits need
          # VM_PKEY_* flags, not among the 16)
          "({{ unsigned long __val = pgprot_val({P}); __val = __sme_set(__val); "
          "if (__val & _PAGE_PRESENT) __val &= __supported_pte_mask; __val; }})",
          "arch/x86/mm/pgprot.c vm_get_page_prot()",
          (Assumption("__supported_pte_mask", "var", "unsigned long", "~0UL",
                      "the CPU has NX and PGE, so __supported_pte_mask keeps _PAGE_NX and "
                      "_PAGE_GLOBAL (arch/x86/mm/init.c, x86_configure_nx)"),),
          # pte_mkwrite(pte, vma) for a VMA that is not a shadow stack is
          # pte_clear_saveddirty(pte_mkwrite_novma(pte)): arch/x86/mm/pgtable.c:902-910
          mutator_c=(("mkwrite", "pte_clear_saveddirty(pte_mkwrite_novma({p}))",
                      "arch/x86/mm/pgtable.c:902 pte_mkwrite()"),),
          # pte_write() is RW || pte_shstk(); pte_shstk() is false without
          # X86_FEATURE_SHSTK (arch/x86/include/asm/pgtable.h:160-218)
          assume_c=(("pte_write", "(pte_flags({p}) & _PAGE_RW)",
                     "arch/x86/include/asm/pgtable.h:212 with pte_shstk() false"),),
          runtime_causes=(("pte_write", "pte_shstk(): cpu_feature_enabled(X86_FEATURE_SHSTK), "
                           "compared assuming no shadow-stack CPU feature"),
                          ("pfn_pte", "massage_pgprot(): __supported_pte_mask"),
                          ("vm_get_page_prot", "__supported_pte_mask"))),
    KArch("arm64", "arm64", "aarch64-linux-gnu-", "arch/arm64/mm/mmap.c",
          vm_cite="arch/arm64/mm/mmap.c vm_get_page_prot() (BTI/MTE flags are not among the 16)"),
    KArch("mips", "mips", "mips64-linux-gnuabi64-", "arch/mips/mm/cache.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)",
          pteval_t=False,       # pte_t wraps pte_low/pte_high or unsigned long (pgtable-64.h)
          runtime_causes=(("vm_get_page_prot", "_page_cachable_default and cpu_has_rixi"),
                          ("pte_exec", "_PAGE_NO_EXEC is (cpu_has_rixi ? bit : 0)")),
          assumptions=(
              Assumption("cpu_has_rixi", "macro", "", "1",
                         "the CPU has RI/XI (cpu_has_rixi), so _PAGE_NO_EXEC is bit "
                         "_PAGE_NO_EXEC_SHIFT (arch/mips/include/asm/pgtable-bits.h)"),
              Assumption("_page_cachable_default", "var", "unsigned long", "0",
                         "the boot-time cache attribute _page_cachable_default "
                         "(arch/mips/mm/cache.c PM()) is left out of the protections"),
          )),
    KArch("s390", "s390", "s390x-linux-gnu-", "arch/s390/mm/mmap.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)",
          pteval_t=False,       # pte_t is struct { unsigned long pte; } (page.h)
          runtime_causes=(("pfn_pte", "mk_pte_phys() clears _PAGE_NOEXEC unless MACHINE_HAS_NX "
                           "(a lowcore machine flag: CPU facility 130), "
                           "arch/s390/include/asm/pgtable.h:1407"),)),
    KArch("riscv", "riscv", "riscv64-linux-gnu-", "arch/riscv/mm/init.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)",
          pteval_t=False),      # pte_t is struct { unsigned long pte; } (page.h)
    # arch/arm/mm/mmu.c protection_map: the __PAGE_* values; build_mem_type_table()
    # ORs user_pgprot (memory type, L_PTE_SHARED, PTE_EXT_PXN) into each at boot
    KArch("arm", "arm", "arm-linux-gnueabi-", "arch/arm/mm/mmu.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)"),
    # Book3S-64: the PTE table size is chosen at boot by the MMU in use
    # (__pte_index_size = H_PTE_INDEX_SIZE in hash__early_init_mmu,
    # arch/powerpc/mm/book3s64/hash_utils.c:1229; RADIX_PTE_INDEX_SIZE in
    # radix_pgtable.c:621).  vm_get_page_prot is out of line
    # (arch/powerpc/mm/book3s64/pgtable.c:649): the table is compared.
    KArch("powerpc", "powerpc", "powerpc64-linux-gnu-", "arch/powerpc/mm/pgtable.c",
          vm_cite="protection_map (arch/powerpc/mm/pgtable.c); book3s64 vm_get_page_prot() "
                  "adds VM_SAO/pkey bits, none among the 16",
          assumptions=(Assumption("__pte_index_size", "var", "unsigned long", "8",
                                  "the hash MMU with 64K pages: __pte_index_size = "
                                  "H_PTE_INDEX_SIZE 8 (book3s64/hash_utils.c:1229, hash-64k.h:5)"),),
          runtime_causes=(("PTRS_PER_PTE", "1 << __pte_index_size, set at boot by the MMU "
                           "(book3s64/hash_utils.c:1229, radix_pgtable.c:621)"),),
          pteval_t=False),      # pte_t is struct { __be64 pte; } (asm/pgtable-be-types.h:8), no pteval_t
    # the radix-only kernel: __pte_index_size = RADIX_PTE_INDEX_SIZE
    # (book3s64/radix_pgtable.c:621, radix-64k.h:8)
    KArch("powerpc_radix", "powerpc", "powerpc64-linux-gnu-", "arch/powerpc/mm/pgtable.c",
          vm_cite="protection_map (arch/powerpc/mm/pgtable.c); book3s64 vm_get_page_prot() "
                  "adds VM_SAO/pkey bits, none among the 16",
          assumptions=(Assumption("__pte_index_size", "var", "unsigned long", "5",
                                  "the radix MMU with 64K pages: __pte_index_size = "
                                  "RADIX_PTE_INDEX_SIZE 5 (book3s64/radix_pgtable.c:621)"),),
          runtime_causes=(("PTRS_PER_PTE", "1 << __pte_index_size, set at boot by the MMU "
                           "(book3s64/radix_pgtable.c:621)"),),
          pteval_t=False),
    # Book3S-32 (pmac32_defconfig) with the biarch powerpc64 compiler (-m32)
    KArch("powerpc32", "powerpc", "powerpc64-linux-gnu-", "arch/powerpc/mm/pgtable.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (arch/powerpc/mm/pgtable.c, !PPC_BOOK3S_64)",
          pteval_t=False),
    # nohash e500 (mpc85xx_smp_defconfig, 64-bit PTEs) with the biarch
    # powerpc64 compiler (-m32), protection_map as for Book3S-32
    KArch("powerpc_e500", "powerpc", "powerpc64-linux-gnu-", "arch/powerpc/mm/pgtable.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (arch/powerpc/mm/pgtable.c, !PPC_BOOK3S_64)",
          # the exec filter's pte_exprotect() is powerpc's pte_mknoexec
          mutator_c=(("mknoexec", "pte_exprotect({p})",
                      "arch/powerpc/include/asm/nohash/pgtable.h:257 pte_exprotect()"),),
          pteval_t=False),
    KArch("sparc", "sparc", "sparc64-linux-gnu-", "arch/sparc/mm/init_64.c"),
    # sparc64: the PTE helpers are inline assembly rewritten at boot for
    # sun4v (.sun4v_1insn_patch/.sun4v_2insn_patch, pgtable_64.h:241-680)
    # and protection_map is filled at boot (init_64.c:2639-2719), so only
    # the masks, pte_none, pte_special and pfn_pte fold.
    KArch("sparc64", "sparc", "sparc64-linux-gnu-", "arch/sparc/mm/init_64.c",
          # the second probe spells out each helper's unpatched (sun4u)
          # instructions over the kernel's own _PAGE_*_4U constants
          assumptions=(Assumption("PTDL_SPARC64_SUN4U", "macro", "", "1",
                                  "the machine is sun4u (tlb_type spitfire/cheetah*): the "
                                  "PTE helpers run their unpatched instructions "
                                  "(arch/sparc/include/asm/pgtable_64.h:241-620)"),),
          assume_c=(
              ("pte_present", "(pte_val({p}) & _PAGE_PRESENT_4U)", "pgtable_64.h:656"),
              ("pte_write", "(pte_val({p}) & _PAGE_WRITE_4U)", "pgtable_64.h:379"),
              ("pte_dirty", "(pte_val({p}) & _PAGE_MODIFIED_4U)", "pgtable_64.h:361"),
              ("pte_young", "(pte_val({p}) & _PAGE_ACCESSED_4U)", "pgtable_64.h:622"),
              ("pte_exec", "(pte_val({p}) & _PAGE_EXEC_4U)", "pgtable_64.h:640"),
              ("pte_pfn", "((pte_val({p}) << 21) >> (21 + PAGE_SHIFT))", "pgtable_64.h:241"),
              # __pte_mkhwwrite (L455) ORs _PAGE_W_4U when the other bit is set
              ("pte_mkdirty", "({{ unsigned long __v = pte_val({p}) | _PAGE_MODIFIED_4U; "
               "(__v & _PAGE_WRITE_4U) ? (__v | _PAGE_W_4U) : __v; }})", "pgtable_64.h:478"),
              ("pte_mkwrite_novma", "({{ unsigned long __v = pte_val({p}) | _PAGE_WRITE_4U; "
               "(__v & _PAGE_MODIFIED_4U) ? (__v | _PAGE_W_4U) : __v; }})", "pgtable_64.h:521"),
              ("pte_mkclean", "(pte_val({p}) & ~(_PAGE_MODIFIED_4U | _PAGE_W_4U))",
               "pgtable_64.h:497"),
              ("pte_wrprotect", "(pte_val({p}) & ~(_PAGE_WRITE_4U | _PAGE_W_4U))",
               "pgtable_64.h:539"),
              ("pte_mkold", "(pte_val({p}) & ~(_PAGE_ACCESSED_4U | _PAGE_R))", "pgtable_64.h:564"),
              ("pte_mkyoung", "(pte_val({p}) | _PAGE_ACCESSED_4U | _PAGE_R)", "pgtable_64.h:584"),
          ),
          runtime_causes=(("pte_present", "inline asm patched for sun4v at boot"),
                          ("pte_write", "inline asm patched for sun4v at boot"),
                          ("pte_dirty", "inline asm patched for sun4v at boot"),
                          ("pte_young", "inline asm patched for sun4v at boot"),
                          ("pte_exec", "inline asm patched for sun4v at boot"),
                          ("pte_pfn", "inline asm patched for sun4v at boot"),
                          ("pte_mkyoung", "inline asm patched for sun4v at boot"),
                          ("pte_mkold", "inline asm patched for sun4v at boot"),
                          ("pte_mkdirty", "inline asm patched for sun4v at boot"),
                          ("pte_mkclean", "inline asm patched for sun4v at boot"),
                          ("pte_mkwrite_novma", "inline asm patched for sun4v at boot"),
                          ("pte_wrprotect", "inline asm patched for sun4v at boot"))),
    # sparc64 on a sun4v machine (tlb_type == hypervisor): the same image,
    # the helpers as the boot code patches them.  The second probe spells
    # out each PATCHED instruction sequence (the .sun4v_*insn_patch operands,
    # pgtable_64.h) over the kernel's _PAGE_*_4V constants: `sethi %uhi(X);
    # sllx 32` keeps X's bits 63:42 ({U}), `or %lo(X)` its bits 9:0.
    KArch("sparc64_sun4v", "sparc", "sparc64-linux-gnu-", "arch/sparc/mm/init_64.c",
          assumptions=(Assumption("PTDL_SPARC64_SUN4V", "macro", "", "1",
                                  "the machine is sun4v (tlb_type hypervisor): the PTE "
                                  "helpers run their .sun4v_1insn_patch/.sun4v_2insn_patch "
                                  "instructions (arch/sparc/include/asm/pgtable_64.h:241-680)"),),
          assume_c=(
              ("pte_present", "(pte_val({p}) & _PAGE_PRESENT_4V)", "pgtable_64.h:654 and %3"),
              ("pte_write", "(pte_val({p}) & " + _uhi("_PAGE_WRITE_4V") + ")", "pgtable_64.h:379"),
              ("pte_dirty", "(pte_val({p}) & " + _uhi("_PAGE_MODIFIED_4V") + ")",
               "pgtable_64.h:361"),
              ("pte_young", "(pte_val({p}) & " + _uhi("_PAGE_ACCESSED_4V") + ")",
               "pgtable_64.h:622"),
              ("pte_exec", "(pte_val({p}) & _PAGE_EXEC_4V)", "pgtable_64.h:638 mov %2"),
              ("pte_pfn", "((pte_val({p}) << 8) >> (8 + PAGE_SHIFT))", "pgtable_64.h:241"),
              # __pte_mkhwwrite (L455) ORs _PAGE_W_4V when the other bit is set
              ("pte_mkdirty", "({{ unsigned long __v = pte_val({p}) | " + _uhi("_PAGE_MODIFIED_4V")
               + "; (__v & " + _uhi("_PAGE_WRITE_4V") + ") ? (__v | _PAGE_W_4V) : __v; }})",
               "pgtable_64.h:478"),
              ("pte_mkwrite_novma", "({{ unsigned long __v = pte_val({p}) | " + _uhi("_PAGE_WRITE_4V")
               + "; (__v & " + _uhi("_PAGE_MODIFIED_4V") + ") ? (__v | _PAGE_W_4V) : __v; }})",
               "pgtable_64.h:521"),
              ("pte_mkclean", "(pte_val({p}) & ~" + _uhi_lo("_PAGE_MODIFIED_4V | _PAGE_W_4V") + ")",
               "pgtable_64.h:497"),
              ("pte_wrprotect", "(pte_val({p}) & ~" + _uhi_lo("_PAGE_WRITE_4V | _PAGE_W_4V") + ")",
               "pgtable_64.h:539"),
              ("pte_mkold", "(pte_val({p}) & ~(" + _uhi("_PAGE_ACCESSED_4V") + " | _PAGE_R))",
               "pgtable_64.h:564"),
              ("pte_mkyoung", "(pte_val({p}) | " + _uhi("_PAGE_ACCESSED_4V") + " | _PAGE_R)",
               "pgtable_64.h:584"),
          ),
          runtime_causes=tuple((g, "inline asm patched for sun4v at boot") for g in (
              "pte_present", "pte_write", "pte_dirty", "pte_young", "pte_exec", "pte_pfn",
              "pte_mkyoung", "pte_mkold", "pte_mkdirty", "pte_mkclean", "pte_mkwrite_novma",
              "pte_wrprotect"))),
    # sparc32 (SRMMU) builds with the sparc64 compiler's -m32.  pfn_pte() is
    # mk_pte(pfn_to_page(pfn)): FLATMEM's mem_map + (pfn - pfn_base) and
    # back (arch/sparc/include/asm/page_32.h ARCH_PFN_OFFSET = pfn_base, a
    # boot variable, arch/sparc/mm/init_32.c)
    KArch("sparc32", "sparc", "sparc64-linux-gnu-", "arch/sparc/mm/init_32.c",
          assumptions=(Assumption("pfn_base", "var", "unsigned long", "0",
                                  "the first RAM frame pfn_base is 0 (it cancels out of "
                                  "page_to_pfn(pfn_to_page(pfn)), arch/sparc/mm/init_32.c)"),),
          runtime_causes=(("pfn_pte", "mk_pte(pfn_to_page(pfn)): mem_map and pfn_base "
                           "(page_32.h ARCH_PFN_OFFSET)"),)),
    KArch("m68k", "m68k", "m68k-linux-gnu-", "arch/m68k/mm/motorola.c"),
    # the Sun-3 and ColdFire MMUs are variants of m68k with their own
    # protection maps (arch/m68k/mm/Makefile: sun3mmu.o / mcfmmu.o instead
    # of motorola.o)
    KArch("m68k_sun3", "m68k", "m68k-linux-gnu-", "arch/m68k/mm/sun3mmu.c"),
    KArch("m68k_coldfire", "m68k", "m68k-linux-gnu-", "arch/m68k/mm/mcfmmu.c"),
    # User-Mode Linux on x86-64: the host compiler, SUBARCH selects the host
    KArch("um", "um", "", "arch/um/kernel/mem.c", make_vars=("SUBARCH=x86_64",)),
    KArch("sh", "sh", "sh4-linux-gnu-", "arch/sh/mm/mmap.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)",
          pteval_t=False),      # pte_t is struct { unsigned long pte_low; } (page.h)
    KArch("alpha", "alpha", "alpha-linux-gnu-", "arch/alpha/mm/init.c"),
    # a 64-bit parisc kernel needs ARCH=parisc64 and hppa64-linux-gnu-gcc
    # (arch/parisc/Makefile CC_ARCHES), which Debian does not package
    KArch("parisc", "parisc64", "hppa64-linux-gnu-", "arch/parisc/mm/init.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)",
          unavailable="a 64-bit kernel needs hppa64-linux-gnu-gcc (arch/parisc/Makefile), "
                      "not in Debian; checked by hand (archdefs/parisc.arch)"),
    KArch("parisc32", "parisc", "hppa-linux-gnu-", "arch/parisc/mm/init.c",
          vm_cite="DECLARE_VM_GET_PAGE_PROT (include/linux/pgtable.h)"),
    KArch("arc", "arc", "arc-linux-gnu-", "arch/arc/mm/mmap.c"),
    # ARC_HAS_PAE40 cannot be selected in 6.12.117: it `depends on MMU_V4`,
    # a symbol that does not exist (arch/arc/Kconfig:474-480; 6.6 had
    # `depends on ISA_ARCV2`).  The plain HS38 build, with the option and
    # what it selects (Kconfig:465-480) forced on the compiler command line.
    KArch("arc_pae40", "arc", "arc-linux-gnu-", "arch/arc/mm/mmap.c",
          forced=(("CONFIG_ARC_HAS_PAE40", "arch/arc/Kconfig:476 depends on MMU_V4, which no "
                   "Kconfig defines (6.6: ISA_ARCV2), so olddefconfig drops it in 6.12.117"),
                  ("CONFIG_HIGHMEM", "selected by ARC_HAS_PAE40 (Kconfig:478)"),
                  ("CONFIG_KMAP_LOCAL", "selected by HIGHMEM (Kconfig:467)"),
                  ("CONFIG_HAVE_ARCH_PFN_VALID", "selected by HIGHMEM (Kconfig:466)"),
                  ("CONFIG_PHYS_ADDR_T_64BIT", "selected by ARC_HAS_PAE40 (Kconfig:479)"))),
)}


def for_lineage(lineage: tuple[str, ...]) -> KArch | None:
    """The kernel arch of an archdef: the most specific entry of its lineage
    (leaf first, so a variant may have its own: powerpc_radix's PTE table
    size is another boot-time value), else its root ancestor's."""
    for name in lineage:
        if name in KARCHS:
            return KARCHS[name]
    return None


@dataclass(frozen=True)
class ProtEntry:
    flags: int
    expr: str                 # C expression (pgprot_t) as written in the tree
    line: int
    runtime: str | None       # set: the entry is changed at boot (why, where)


@dataclass(frozen=True)
class ProtMap:
    path: str
    entries: tuple[ProtEntry, ...]
    macros: tuple[str, ...]   # local #defines the expressions use (e.g. mips PM)


def _flags(text: str) -> int | None:
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    v = 0
    for part in text.split("|"):
        p = part.strip()
        if p not in VM_BITS:
            return None
        v |= VM_BITS[p]
    return v


def _line_of(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def read_protection_map(tree: Path, k: KArch) -> ProtMap | str:
    """protection_map[16] from the tree: the static initializer, with the
    entries boot code overrides marked; or the boot-time assignments when
    there is no initializer (mips).  A string says why it was not found."""
    path = tree / k.prot_file
    try:
        src = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"{k.prot_file}: {e.strerror}"
    init = re.search(r"protection_map\[16\][^=;]*=\s*\{(.*?)\};", src, re.S)
    assigns: list[tuple[int, str, int]] = []
    for m in re.finditer(r"^\s*protection_map\[([^\]]+)\]\s*=\s*(.*?);", src, re.M | re.S):
        f = _flags(m.group(1))
        if f is not None:
            assigns.append((f, " ".join(m.group(2).split()), _line_of(src, m.start(1))))
    entries: dict[int, ProtEntry] = {}
    if init is not None:
        body_start = init.start(1)
        for m in re.finditer(r"\[([^\]]+)\]\s*=\s*([^,\n]+(?:\n[^,\[\n]+)*)", init.group(1)):
            f = _flags(m.group(1))
            if f is None:
                return f"{k.prot_file}: cannot read protection_map index {m.group(1)!r}"
            expr = " ".join(m.group(2).split()).rstrip(",")
            entries[f] = ProtEntry(f, expr, _line_of(src, body_start + m.start()), None)
        for f, expr, line in assigns:
            if f in entries:
                old = entries[f]
                entries[f] = ProtEntry(f, old.expr, old.line,
                                       f"{k.prot_file}:{line} sets it to {expr} at boot "
                                       "under a CPU-feature condition")
    else:
        for f, expr, line in assigns:
            entries[f] = ProtEntry(f, expr, line, None)
    if sorted(entries) != list(range(16)):
        return f"{k.prot_file}: found protection_map entries {sorted(entries)}, not all 16"
    text = " ".join(e.expr for e in entries.values())
    used = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", text))
    macros: list[str] = []
    for m in re.finditer(r"^#define\s+([A-Za-z_]\w*)\((.*?)\)[ \t]+(.*)$", src, re.M):
        if m.group(1) in used:
            macros.append(f"#define {m.group(1)}({m.group(2)}) {m.group(3).strip()}")
    # object-like local macros the entries name (m68k motorola.c PAGE_NONE_C:
    # compile-time copies of the header's PAGE_* without the cache bits)
    names = set(re.findall(r"\b([A-Za-z_]\w*)\b", text))
    for m in re.finditer(r"^#define\s+([A-Za-z_]\w*)[ \t]+(.*)$", src, re.M):
        if m.group(1) in names:
            macros.append(f"#define {m.group(1)} {m.group(2).strip()}")
    return ProtMap(k.prot_file, tuple(entries[i] for i in range(16)), tuple(macros))
