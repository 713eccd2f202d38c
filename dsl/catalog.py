"""The fixed vocabulary of the archdef language.

Place in the flow: consulted by dsl/resolve.py and dsl/check.py (is this
name a role, an effect, a predicate?), by the backends (how does an effect
render in Python and in C?) and by the README's language reference.  Nothing
here knows about any particular architecture: an arch that needs a new kind
of behaviour gets a new catalog entry, never ad-hoc code in an archdef.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Numeric settings: name -> (minimum, maximum).  word is 32 or 64 (checked
# separately); the others must lie within these bounds.
SETTINGS: dict[str, tuple[int, int]] = {
    "word": (32, 64),
    "page_shift": (10, 24),
    "ptrs_per_pte": (2, 1 << 16),
    "phys_bits": (20, 64),
    "pfn_pte_shift": (0, 63),
    "max_folio_order": (0, 20),
}
REQUIRED_SETTINGS = ("word", "page_shift", "ptrs_per_pte", "phys_bits")

# ---------------------------------------------------------------------------
# PTE roles.  A role names what a bit means to the kernel's generic code
# (pte_present(), pte_write(), ...).  `inverted` flips the polarity: x86 NX
# and arm64 UXN are exec roles that mean "not executable" when set.
ROLES: dict[str, str] = {
    "present": "pte_present(): the entry maps a page (valid, or PROT_NONE where the arch counts that as present)",
    "valid": "hardware valid bit, when it differs from present",
    "write": "pte_write(): writable",
    "dirty": "pte_dirty(): the page was written through this entry",
    "young": "pte_young(): accessed since last aged",
    "exec": "pte_exec(): user instruction fetch allowed",
    "user": "user (EL0 / ring 3 / problem state) accessible",
    "global": "not tagged with an ASID (x86 G, arm64 nG inverted, MIPS G)",
    "special": "pte_special(): no struct page behind it, or not refcounted",
    "protnone": "PROT_NONE marker (pte_protnone())",
    "pfn": "the page frame number (may be split over several fields)",
    "read": "readable (arches with an explicit read bit)",
    "huge": "maps a huge page at a higher level",
    "unused": "s390 _PAGE_UNUSED: page content may be discarded",
    "softdirty": "soft-dirty tracking",
    "uffd_wp": "userfaultfd write-protect",
    "cache": "cacheability attribute bits",
    "type": "descriptor type bits",
}
BOOL_ROLES = ("present", "write", "dirty", "young", "exec", "user", "global",
              "special", "protnone")

# Mutators: name -> (role, value it gives the role).  An arch may override
# any of them in its pte block; by default a mutator sets or clears the bit
# of the role's single field, honouring its polarity.
MUTATORS: dict[str, tuple[str, bool]] = {
    "mkyoung": ("young", True),
    "mkold": ("young", False),
    "mkdirty": ("dirty", True),
    "mkclean": ("dirty", False),
    "mkwrite": ("write", True),
    "wrprotect": ("write", False),
    "mkspecial": ("special", True),
    "mkexec": ("exec", True),
    "mknoexec": ("exec", False),
}

# Names a pte-block expression may use besides field and derived names.
PTE_EXPR_BUILTINS = {"nonzero": "the entry (or prot) is not all zeroes"}

# ---------------------------------------------------------------------------
# Protections: keys of the prot block.
PROT_KEYS: dict[str, str] = {
    "base": "fields set in every accessible protection (VM_READ/WRITE/EXEC)",
    "none": "the whole PAGE_NONE value (no VM_READ, VM_WRITE or VM_EXEC)",
    "write": "fields added for VM_WRITE|VM_SHARED (private writable stays read-only: COW)",
    "exec": "fields added for VM_EXEC (default: the exec role's bit)",
    "noexec": "fields added without VM_EXEC (default: an inverted exec role's bit)",
    "noread": "fields added to an accessible protection with neither VM_READ nor VM_EXEC "
              "(MIPS write-only pages carry _PAGE_NO_READ)",
}

# ---------------------------------------------------------------------------
# Caches, TLB, PG_arch_1.
DCACHE_KINDS: dict[str, str] = {
    "pipt": "physically indexed, physically tagged: always coherent",
    "vipt": "virtually indexed, non-aliasing (way size <= page size): coherent",
    "vipt_aliasing": "virtually indexed, aliasing: one line per colour (needs colours=N)",
    "vivt": "virtually indexed and tagged: one line per colour (needs colours=N)",
}
ALIASING_DCACHE = ("vipt_aliasing", "vivt")
ICACHE_KINDS: dict[str, str] = {
    "coherent": "instruction fetch sees the latest data (snoops the D-cache)",
    "needs_sync": "instruction fetch reads the point of unification: clean D, invalidate I",
}
TLB_KINDS: dict[str, str] = {
    "hardware": "hardware table walker; caches valid translations only",
    "software": "software-loaded; refilled on a miss, preloaded by update_mmu_cache_range",
    "software_pairs": "software-loaded even/odd page pairs sharing one entry and the global bit (MIPS R4K)",
    "caches_invalid": "may cache invalid entries: a new mapping needs a fence (RISC-V)",
    "hash": "hash table / TSB preloaded by update_mmu_cache_range",
}
PG_ARCH_1_USES: dict[str, str] = {
    "none": "PG_arch_1 unused",
    "dcache_clean": "set when the D-cache is known clean (arm64, riscv PG_dcache_clean)",
    "dcache_dirty": "set when a D-cache flush was deferred (mips, sparc, sh PG_dcache_dirty)",
    "icache_clean": "set when the I-cache is known in sync",
    "secure": "s390: the 4 KiB page was made secure (protected virtualisation)",
    "mte_tagged": "memory tags initialised",
}
GRANULARITIES = ("folio", "page")

# Strategies for advancing the PTE from one page to the next in the store
# loop.  "additive" ones add a constant to the raw PTE value; dsl/check.py
# proves them safe for the layout or rejects them.
ADVANCES: dict[str, str] = {
    "pfn_shift": "pte += 1 << PFN_PTE_SHIFT (the generic set_ptes)",
    "page_size": "pte += PAGE_SIZE",
    "pfn_shift_invert_aware": "subtract 1 << PFN_PTE_SHIFT where the PFN is stored inverted, else add (x86 pte_next_pfn, 6.6)",
    "repack": "pte = pfn_pte(pte_pfn(pte) + 1, pte_pgprot(pte))",
}
ADDITIVE_ADVANCES = ("pfn_shift", "page_size")

# ---------------------------------------------------------------------------
# The four calls and what each statement may see.
CALLS = ("set_ptes", "update_mmu_cache_range", "flush_dcache_folio",
         "flush_icache_pages")

# Objects a predicate or target may name, per call.  `pte` is the first PTE
# (set_ptes: the value being installed; update_mmu_cache_range: *ptep),
# `folio` the folio it maps (flush_dcache_folio: the argument; in
# flush_icache_pages: the folio of `page`).
CALL_OBJECTS: dict[str, tuple[str, ...]] = {
    "set_ptes": ("pte", "folio", "mm", "cpu"),
    "update_mmu_cache_range": ("pte", "folio", "vma", "mm", "cpu"),
    "flush_dcache_folio": ("folio", "cpu"),
    "flush_icache_pages": ("folio", "vma", "mm", "cpu"),
}

# Attributes of objects usable in `when` conditions.  pte/old/new take any
# role, field or derived name of the arch, plus `pfn` (an integer).
OBJECT_PREDICATES: dict[str, dict[str, str]] = {
    "folio": {
        "pg_arch_1": "the folio's PG_arch_1 bit (per-folio arches)",
        "anon": "anonymous folio",
        "has_mapping": "folio_flush_mapping() is not NULL (page cache folio)",
        "mapped": "its mapping has user mappings (mapping_mapped())",
        "large": "more than one page",
    },
    "page": {
        "pg_arch_1": "this 4 KiB page's PG_arch_1 bit (per-page arches)",
        "aliases": "the page's kernel address and its user address differ in colour (pages_do_alias())",
    },
    "vma": {
        "exec": "VM_EXEC",
        "write": "VM_WRITE",
        "shared": "VM_SHARED",
    },
    "mm": {
        "pgste": "s390: the mm has page-status table extensions (KVM guest)",
        "init": "the kernel's init_mm",
    },
}
PTE_OBJECTS = ("pte", "old", "new")  # old/new only inside any() and `each pte`

# Loops: `each pte` walks the nr entries (binds old, new, addr, ptep);
# `each page` walks pages, `of folio` (all pages of the folio) or `of range`
# (the nr pages of the call; default).
EACH_KINDS = ("pte", "page")
EACH_SOURCES = ("folio", "range")


@dataclass(frozen=True)
class Effect:
    """One statement kind of the behaviour catalog."""

    name: str
    doc: str
    params: dict[str, tuple[str, ...]]   # keyword -> allowed values ('' = any int)
    positional: tuple[str, ...]          # allowed values of the one positional arg
    calls: tuple[str, ...]               # calls it may appear in
    needs_each: str                      # '' | 'pte' | 'page': must sit inside that loop
    c_default: str                       # default kernel primitive name it renders to
    trace: str                           # trace event it produces in the runtime


_ALL = CALLS
EFFECTS: dict[str, Effect] = {e.name: e for e in (
    Effect("page_table_check", "page_table_check_ptes_set(mm, ptep, pte, nr)",
           {}, (), ("set_ptes",), "", "page_table_check_ptes_set", "ptc_set"),
    Effect("lazy_mmu_enter", "arch_enter_lazy_mmu_mode()", {}, (), ("set_ptes",), "",
           "arch_enter_lazy_mmu_mode", "lazy_mmu"),
    Effect("lazy_mmu_leave", "arch_leave_lazy_mmu_mode()", {}, (), ("set_ptes",), "",
           "arch_leave_lazy_mmu_mode", "lazy_mmu"),
    Effect("store", "the store loop: set_pte(ptep + i, pte) then advance pte, for i < nr",
           {"advance": tuple(ADVANCES), "using": ("set_pte", "pgste")}, (),
           ("set_ptes",), "", "set_pte", "set_pte"),
    Effect("sync_icache", "clean the D-cache to the point of unification and invalidate the I-cache",
           {}, ("folio", "page", "range"), _ALL, "", "sync_icache_aliases", "icache_sync"),
    Effect("flush_dcache", "write back and invalidate the kernel-alias D-cache lines",
           {}, ("folio", "page", "range"), _ALL, "", "flush_dcache_page_kaddr", "dcache_flush"),
    Effect("clean_dcache", "write back the kernel-alias D-cache lines",
           {}, ("folio", "page", "range"), _ALL, "", "clean_dcache_page_kaddr", "dcache_clean"),
    Effect("flush_dcache_user", "write back and invalidate the user-alias D-cache lines of the page at addr",
           {}, ("page",), ("update_mmu_cache_range", "set_ptes"), "pte",
           "flush_dcache_page_user", "dcache_flush_user"),
    Effect("inval_icache", "invalidate the I-cache lines",
           {}, ("folio", "page", "range"), _ALL, "", "flush_icache_range_kaddr", "icache_inval"),
    Effect("tlb_preload", "load the TLB entry for addr from *ptep (update_mmu_cache)",
           {}, (), ("update_mmu_cache_range",), "pte", "__update_tlb", "tlb_preload"),
    Effect("tlb_flush_page", "drop the TLB entry for addr, valid or cached-invalid (local fence)",
           {}, (), ("update_mmu_cache_range", "set_ptes"), "pte", "local_flush_tlb_page", "tlb_flush_page"),
)}

# Targets of `set X` / `clear X` in call bodies.
FLAG_TARGETS: dict[str, str] = {
    "folio.pg_arch_1": "the folio's PG_arch_1 (per-folio arches)",
    "page.pg_arch_1": "one page's PG_arch_1 (per-page arches; inside `each page`)",
}
# `set pte.F` / `clear pte.F` modify the value being installed (set_ptes,
# before the store).

# Names an arch may give in its primitives block: the effects' C names,
# plus the building blocks the C rendering uses.
PRIMITIVE_KEYS: tuple[str, ...] = tuple(sorted(EFFECTS)) + ("set_pte", "pgste_set_pte")


def effect_names() -> list[str]:
    return sorted(EFFECTS)
