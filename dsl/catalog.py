"""The fixed vocabulary of the archdef language: the single source of every
construct's meaning.

Place in the flow: consulted by dsl/resolve.py and dsl/check.py (is this
name a role, an effect, a predicate?), by the backends (which macro renders
it in Python and in C: dsl/templates/{py,c}/*.j2), by dsl/generate/expect.py
(what trace line it produces), by `ptdl show` (dsl/describe.py: its doc
line) and by the README's language reference (`vocabulary_markdown`,
checked by tests/generate/test_catalog.py).  Nothing here knows about any
particular architecture: an arch that needs a new kind of behaviour gets a
new catalog entry, never ad-hoc code in an archdef.

Each entry is a frozen dataclass: name, one-line doc, where it may appear,
its renderings (macro names in the per-language macro files) and, for
effects and predicates, its trace-line format and expectation semantics.
The older name -> doc dictionaries (ROLES, TLB_KINDS, ADVANCES, ...) are
derived from the entries and kept for the checker and `ptdl show`.

Adding an effect: one `Effect(...)` below, its macros in
dsl/templates/py/effects.j2 and dsl/templates/c/effects.j2, and its runtime
primitive (runtime/kernel.py), which prints `trace`.
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
    # CONFIG_TRANSPARENT_HUGEPAGE in the modelled configuration: do_set_pmd
    # maps a PMD-order file folio with one PMD entry (set_pmd_at,
    # update_mmu_cache_pmd); 0 (the default): VM_FAULT_FALLBACK, PTEs
    "thp": (0, 1),
}
REQUIRED_SETTINGS = ("word", "page_shift", "ptrs_per_pte", "phys_bits")

# Where a macro of each language lives (relative to dsl/templates/).
MACRO_FILES: dict[str, dict[str, str]] = {
    "role": {"py": "py/exprs.j2", "c": "c/exprs.j2"},
    "predicate": {"py": "py/predicates.j2", "c": "c/predicates.j2"},
    "effect": {"py": "py/effects.j2", "c": "c/effects.j2"},
    "advance": {"py": "py/advance.j2", "c": "c/advance.j2"},
    "kind": {"py": "py/kinds.j2"},
}


# ---------------------------------------------------------------------------
# PTE roles.  A role names what a bit means to the kernel's generic code
# (pte_present(), pte_write(), ...).  `inverted` flips the polarity: x86 NX
# and arm64 UXN are exec roles that mean "not executable" when set.


@dataclass(frozen=True)
class Role:
    """A PTE role: boolean roles get a pte_<role>() helper in both
    languages (py: the `role_method` macro, c: `pte_predicate`); the others
    are tested as 'any of the role's bits set'."""

    name: str
    doc: str
    boolean: bool

    @property
    def py_macro(self) -> str:
        return "role_method" if self.boolean else "pte_bit"

    @property
    def c_macro(self) -> str:
        return "pte_predicate"


ROLE_ENTRIES: tuple[Role, ...] = (
    Role("present", "pte_present(): the entry maps a page (valid, or PROT_NONE where the arch counts that as present)", True),
    Role("valid", "hardware valid bit, when it differs from present", False),
    Role("write", "pte_write(): writable", True),
    Role("dirty", "pte_dirty(): the page was written through this entry", True),
    Role("young", "pte_young(): accessed since last aged", True),
    Role("exec", "pte_exec(): user instruction fetch allowed", True),
    Role("user", "user (EL0 / ring 3 / problem state) accessible", True),
    Role("global", "not tagged with an ASID (x86 G, arm64 nG inverted, MIPS G)", True),
    Role("special", "pte_special(): no struct page behind it, or not refcounted", True),
    Role("protnone", "PROT_NONE marker (pte_protnone())", True),
    Role("pfn", "the page frame number (may be split over several fields)", False),
    Role("read", "readable (arches with an explicit read bit)", False),
    Role("huge", "maps a huge page at a higher level", False),
    Role("unused", "s390 _PAGE_UNUSED: page content may be discarded", False),
    Role("softdirty", "soft-dirty tracking", False),
    Role("uffd_wp", "userfaultfd write-protect", False),
    Role("cache", "cacheability attribute bits", False),
    Role("type", "descriptor type bits", False),
)
ROLES: dict[str, str] = {r.name: r.doc for r in ROLE_ENTRIES}
BOOL_ROLES = tuple(r.name for r in ROLE_ENTRIES if r.boolean)

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
    "nowrite": "fields added to an accessible protection that is not VM_WRITE|VM_SHARED "
               "(an inverted write role: arm L_PTE_RDONLY)",
    "exec": "fields added for VM_EXEC (default: the exec role's bit)",
    "noexec": "fields added without VM_EXEC (default: an inverted exec role's bit)",
    "noread": "fields added to an accessible protection with neither VM_READ nor VM_EXEC "
              "(MIPS write-only pages carry _PAGE_NO_READ)",
    "all": "fields ORed into all 16 values, PAGE_NONE and literal entries included "
           "(m68k paging_init ORs the 040/060 cache mode into protection_map)",
}
PROT_WHEN_DOC = ("protections that depend on a CPU feature (a boot-time rewrite of "
                 "protection_map): with COND (over `cpu.X`), each key's fields are added "
                 "to it and each `entry` replaces its combination; conformance runs "
                 "every CPU combination")

# Names of the VM_* flags in a literal prot entry (`entry shared|exec = ...`).
VM_FLAGS: dict[str, int] = {"read": 1, "write": 2, "exec": 4, "shared": 8}
PROT_ENTRY_DOC = ("the whole value of one VM_READ|WRITE|EXEC|SHARED combination, named by "
                  f"{', '.join(VM_FLAGS)} joined with `|` in any order; it replaces what the "
                  "keys compute (riscv PAGE_EXEC has no _PAGE_READ)")

# Statements of the pte block that state a kernel helper's own behaviour.
PTE_STATEMENTS: dict[str, str] = {
    "none_ignores F, G": "pte_none() is true when the entry equals the empty value "
                         "apart from these fields (x86 _PAGE_KNL_ERRATUM_MASK)",
    "pfn_pte { M ... }": "pfn_pte() applies these mutators, in order, to the entry it builds "
                         "(s390 mk_pte_phys() returns pte_mkyoung()); a one-bit field name "
                         "sets that field (powerpc book3s64 ORs in _PAGE_PTE)",
    "pfn_clear_lowest when EXPR": "pte_pfn() clears the lowest set PFN bit of an entry for "
                                  "which EXPR holds; pfn_pte() is unchanged (riscv Svnapot: "
                                  "the bit encodes the NAPOT size)",
    "pfn_none when EXPR": "pte_pfn() returns ~0UL (no frame) for an entry where EXPR holds "
                          "(sparc32 srmmu_device_memory(): an I/O-space entry)",
}

# ---------------------------------------------------------------------------
# Caches, TLB, PG_arch_1.


@dataclass(frozen=True)
class Kind:
    """A kind the runtime model implements: the Python module returns its
    name to the runtime (py/kinds.j2 `kind`); C has no cache/TLB model."""

    group: str      # 'dcache' | 'icache' | 'tlb' | 'lazy_mmu' | 'pg_arch_1'
    name: str
    doc: str
    params: tuple[str, ...] = ()

    @property
    def py_macro(self) -> str:
        return "kind"


KIND_ENTRIES: tuple[Kind, ...] = (
    Kind("dcache", "pipt", "physically indexed, physically tagged: always coherent"),
    Kind("dcache", "vipt", "virtually indexed, non-aliasing (way size <= page size): coherent"),
    Kind("dcache", "vipt_aliasing", "virtually indexed, aliasing: one line per colour (needs colours=N)", ("colours",)),
    Kind("dcache", "vivt", "virtually indexed and tagged: one line per colour (needs colours=N)", ("colours",)),
    Kind("icache", "coherent", "instruction fetch sees the latest data (snoops the D-cache)"),
    Kind("icache", "needs_sync", "instruction fetch reads the point of unification: clean D, invalidate I"),
    Kind("icache", "asn_tagged", "lines tagged with the address space (ASN) that fetched them, filled "
         "from the D-cache, not invalidated by stores: a new ASN drops one mm's lines (alpha)"),
    Kind("icache", "vipt_aliasing", "needs_sync with lines per virtual colour (way size > page "
         "size: xtensa ICACHE_WAY_SIZE > PAGE_SIZE, arc HS38 I$, mips cpu_has_ic_aliases): an "
         "invalidation at the kernel address leaves a user colour's line (needs colours=N)",
         ("colours",)),
    Kind("tlb", "hardware", "hardware table walker; caches valid translations only"),
    Kind("tlb", "software", "software-loaded; refilled on a miss, preloaded by update_mmu_cache_range"),
    Kind("tlb", "software_pairs", "software-loaded even/odd page pairs sharing one entry and the global bit (MIPS R4K)"),
    Kind("tlb", "caches_invalid", "may cache invalid entries: a new mapping needs a fence (RISC-V)"),
    Kind("tlb", "hash", "powerpc book3s64 hash page table: HPTEs filled by the hash fault or hpte_insert; a PTE update queues their flush (tlb_batch_add), the generic flush_tlb_* are empty"),
    Kind("tlb", "tsb", "sparc64 TSB + TLB: filled by the TSB miss or tsb_insert; a PTE update queues their flush (tlb_batch_add), the generic flush_tlb_* are empty"),
    Kind("lazy_mmu", "strict", "the pgtable.h contract: set_pte may be deferred until leave; nesting is not permitted (default)"),
    Kind("lazy_mmu", "defer", "x86 paravirt: set_pte may be deferred until the outermost leave; a nested enter only counts (Xen 49147beb0ccb)"),
    Kind("lazy_mmu", "batch", "powerpc hash, sparc64: stores at once, TLB flushes queued until leave; leave flushes and ends the mode, so it does not nest"),
    Kind("lazy_mmu", "none", "the empty asm-generic enter/leave: nothing deferred or batched; nesting is harmless"),
    Kind("pg_arch_1", "none", "PG_arch_1 unused"),
    Kind("pg_arch_1", "dcache_clean", "set when the D-cache is known clean (arm64, riscv PG_dcache_clean)"),
    Kind("pg_arch_1", "dcache_dirty", "set when a D-cache flush was deferred (mips, sparc, sh PG_dcache_dirty)"),
    Kind("pg_arch_1", "icache_clean", "set when the I-cache is known in sync"),
    Kind("pg_arch_1", "secure", "s390: the 4 KiB page was made secure (protected virtualisation)"),
    Kind("pg_arch_1", "mte_tagged", "memory tags initialised"),
)


def kinds(group: str) -> dict[str, str]:
    """name -> doc of one group of kinds."""
    return {k.name: k.doc for k in KIND_ENTRIES if k.group == group}


DCACHE_KINDS: dict[str, str] = kinds("dcache")
ALIASING_DCACHE = tuple(k.name for k in KIND_ENTRIES if k.group == "dcache" and "colours" in k.params)
ICACHE_KINDS: dict[str, str] = kinds("icache")
TLB_KINDS: dict[str, str] = kinds("tlb")
LAZY_MMU_KINDS: dict[str, str] = kinds("lazy_mmu")
PG_ARCH_1_USES: dict[str, str] = kinds("pg_arch_1")
GRANULARITIES = ("folio", "page")

# `highmem [KIND]` (CONFIG_HIGHMEM): what colour a kmap_local address has.
KMAP_KINDS: dict[str, str] = {
    "slot": "kmap_local maps at the next fixmap slot: its colour is the slot's, not the page's "
            "(mm/highmem.c __kmap_local_pfn_prot; arm, mips32, sparc32, csky, microblaze, powerpc32)",
    "colour": "kmap_local picks a fixmap slot of the page's own colour "
              "(arch/xtensa/include/asm/highmem.h get_pkmap_color, kmap_local_map_idx)",
}


# Strategies for advancing the PTE from one page to the next in the store
# loop.  "additive" ones add a constant to the raw PTE value; dsl/check.py
# proves them safe for the layout or rejects them.
@dataclass(frozen=True)
class Advance:
    """A PFN-advance strategy: rendered by the macro of its name in
    py/advance.j2 and c/advance.j2; expect.py's `advance` interprets it."""

    name: str
    doc: str
    additive: bool

    @property
    def py_macro(self) -> str:
        return self.name

    @property
    def c_macro(self) -> str:
        return self.name


ADVANCE_ENTRIES: tuple[Advance, ...] = (
    Advance("pfn_shift", "pte += 1 << PFN_PTE_SHIFT (the generic set_ptes)", True),
    Advance("page_size", "pte += PAGE_SIZE", True),
    Advance("pfn_shift_invert_aware", "subtract 1 << PFN_PTE_SHIFT where the PFN is stored inverted, else add (x86 pte_next_pfn, 6.6)", False),
    Advance("repack", "pte = pfn_pte(pte_pfn(pte) + 1, pte_pgprot(pte))", False),
)
ADVANCES: dict[str, str] = {x.name: x.doc for x in ADVANCE_ENTRIES}
ADDITIVE_ADVANCES = tuple(x.name for x in ADVANCE_ENTRIES if x.additive)

# ---------------------------------------------------------------------------
# The four calls and what each statement may see.
CALLS = ("set_ptes", "update_mmu_cache_range", "flush_dcache_folio",
         "flush_icache_pages")
# The PMD hook pair (arch calls of do_set_pmd, with `thp 1`): optional; an
# archdef that does not write them gets the generic behaviour (set_pmd_at:
# store the entry; update_mmu_cache_pmd: nothing, as x86 and arm64 define it)
PMD_CALLS = ("set_pmd_at", "update_mmu_cache_pmd")
# calls whose `pte` is an entry being installed or just installed (the PMD
# calls see the PMD entry as pmd_pte(pmd): one leaf mapping HPAGE_PMD_NR pages)
ENTRY_CALLS = ("set_ptes", "update_mmu_cache_range") + PMD_CALLS
# The cache calls around the range API (Documentation/core-api/cachetlb.rst:
# before munmap / exit, COW and mprotect change the page tables); optional,
# the default is include/asm-generic/cacheflush.h's no-op.  The model's
# callers call them where mm/ does (runtime/mmcallers.py).
OPTIONAL_CALLS = ("flush_cache_mm", "flush_cache_range", "flush_cache_page",
                  "flush_cache_dup_mm")
# The user-page hooks of mm/ (issue 10 item 2): copy_user_highpage (COW's
# wp_page_copy / __wp_page_copy_user, do_cow_fault) and clear_user_highpage
# (do_anonymous_page's vma_alloc_zeroed_movable_folio).  Optional; the
# default is include/linux/highmem.h's: kmap_local_page() the pages and
# copy_user_page() / clear_user_page(), which default to copy_page() /
# clear_page() through the kernel addresses.  An arch's own copy_user_page /
# clear_user_page is written as the body of these hooks.
USER_PAGE_CALLS = ("copy_user_highpage", "clear_user_highpage")
ALL_CALLS = CALLS + PMD_CALLS + OPTIONAL_CALLS + USER_PAGE_CALLS

# Objects a predicate or target may name, per call.  `pte` is the first PTE
# (set_ptes: the value being installed; update_mmu_cache_range: *ptep),
# `folio` the folio it maps (flush_dcache_folio: the argument; in
# flush_icache_pages: the folio of `page`).
CALL_OBJECTS: dict[str, tuple[str, ...]] = {
    "set_ptes": ("pte", "folio", "mm", "cpu", "pfn"),
    "update_mmu_cache_range": ("pte", "folio", "vma", "mm", "cpu", "pfn"),
    "flush_dcache_folio": ("folio", "cpu"),
    "flush_icache_pages": ("folio", "vma", "mm", "cpu"),
    "set_pmd_at": ("pte", "folio", "mm", "cpu", "pfn"),
    "update_mmu_cache_pmd": ("pte", "folio", "vma", "mm", "cpu", "pfn"),
    "flush_cache_mm": ("mm", "cpu"),
    "flush_cache_dup_mm": ("mm", "cpu"),
    "flush_cache_range": ("vma", "mm", "cpu"),
    "flush_cache_page": ("vma", "mm", "cpu"),
    # `page`/`folio`: the destination (to); `src`: the source folio; the
    # user address is vaddr (page.aliases: pages_do_alias(kaddr, vaddr))
    "copy_user_highpage": ("page", "folio", "src", "vma", "mm", "cpu"),
    "clear_user_highpage": ("page", "folio", "cpu"),
}


@dataclass(frozen=True)
class Predicate:
    """An object predicate usable in `when` conditions (OBJECT.NAME).

    Renderings: the macro `<obj>_<name>` in py/predicates.j2 and
    c/predicates.j2.  `expect` names the state expect.py's interpreter
    reads (its PREDICATES table); `trace` is the trace line a test of it
    prints in the runtime ('' when it prints none)."""

    obj: str
    name: str
    doc: str
    trace: str = ""

    @property
    def key(self) -> str:
        return f"{self.obj}.{self.name}"

    @property
    def py_macro(self) -> str:
        return f"{self.obj}_{self.name}"

    @property
    def c_macro(self) -> str:
        return f"{self.obj}_{self.name}"

    @property
    def expect(self) -> str:
        return f"{self.obj}_{self.name}"


PREDICATE_ENTRIES: tuple[Predicate, ...] = (
    Predicate("folio", "pg_arch_1", "the folio's PG_arch_1 bit (per-folio arches)",
              "pg_arch_1 test folio={folio:#x} -> {value:d}"),
    Predicate("folio", "anon", "anonymous folio"),
    Predicate("folio", "has_mapping", "folio_flush_mapping() is not NULL (page cache folio)"),
    Predicate("folio", "mapped", "its mapping has user mappings (mapping_mapped())"),
    Predicate("folio", "user_mapped", "folio_mapped(): some page of the folio is mapped in a user "
              "page table (its mapcount), unlike folio.mapped, which is its file's i_mmap "
              "(csky abiv1 flush_dcache_folio)"),
    Predicate("folio", "large", "more than one page"),
    Predicate("page", "pg_arch_1", "this 4 KiB page's PG_arch_1 bit (per-page arches)",
              "pg_arch_1 test page={page:#x} -> {value:d}"),
    Predicate("page", "aliases", "the page's kernel address and its user address differ in colour (pages_do_alias())"),
    Predicate("page", "highmem", "PageHighMem(): the page has no permanent kernel address (CONFIG_HIGHMEM)"),
    Predicate("folio", "highmem", "folio_test_highmem(): the folio's pages have no permanent kernel address"),
    Predicate("pfn", "valid", "pfn_valid(pte_pfn(pte)): the entry's pfn has a struct page "
              "(remap_pfn_range of device memory has none; mips __update_cache tests it "
              "before taking the folio)"),
    Predicate("src", "pg_arch_1", "copy_user_highpage: the source folio's PG_arch_1 bit "
              "(mips tests PG_dcache_dirty before choosing the alias to copy from)",
              "pg_arch_1 test folio={folio:#x} -> {value:d}"),
    Predicate("src", "mapped", "copy_user_highpage: folio_mapped(src), some user maps the "
              "source"),
    Predicate("vma", "exec", "VM_EXEC"),
    Predicate("vma", "write", "VM_WRITE"),
    Predicate("vma", "shared", "VM_SHARED"),
    Predicate("mm", "pgste", "s390: the mm has page-status table extensions (KVM guest)"),
    Predicate("mm", "init", "the kernel's init_mm"),
    Predicate("mm", "current", "the mm is current->active_mm (the task making the call; "
              "arm and nios2 flush only its aliases)"),
)
PREDICATES: dict[str, Predicate] = {p.key: p for p in PREDICATE_ENTRIES}

# Attributes of objects usable in `when` conditions.  pte/old/new take any
# role, field or derived name of the arch, plus `pfn` (an integer).
OBJECT_PREDICATES: dict[str, dict[str, str]] = {}
for _p in PREDICATE_ENTRIES:
    OBJECT_PREDICATES.setdefault(_p.obj, {})[_p.name] = _p.doc
PTE_OBJECTS = ("pte", "old", "new")  # old/new only inside any() and `each pte`

# Loops: `each pte` walks the nr entries (binds old, new, addr, ptep);
# `each page` walks pages, `of folio` (all pages of the folio) or `of range`
# (the nr pages of the call; default).
EACH_KINDS = ("pte", "page", "mapping")
# `each mapping of folio` walks the file folio's i_mmap (binds vma, mm and
# the folio pages that VMA maps); only `of folio`, in any call with a folio.
EACH_MAPPING_SOURCES = ("folio",)
EACH_SOURCES = ("folio", "range")


@dataclass(frozen=True)
class Effect:
    """One statement kind of the behaviour catalog.

    `trace` is the runtime event it produces and `trace_format` its whole
    line (str.format over the fields expect.py's interpreter knows: pt,
    idx, pte, nr, pfn, mm, addr, page, val, new_pfn); the Python and C renderings
    are the macros named `py_macro` / `c_macro` in py/effects.j2 and
    c/effects.j2.  `shape` says what the code writers hand the macro:
    'plain' (nothing), 'pages' (first page and count of the folio|page|
    range argument), 'entry' (the address/ptep of the current entry),
    'loop' (store: a body between its open and close macros), 'mapping'
    (the `each mapping` step: its VMA and the folio pages it maps)."""

    name: str
    doc: str
    params: dict[str, tuple[str, ...]]   # keyword -> allowed values ('' = any int)
    positional: tuple[str, ...]          # allowed values of the one positional arg
    calls: tuple[str, ...]               # calls it may appear in
    needs_each: str                      # '' | 'pte' | 'page': must sit inside that loop
    c_default: str                       # default kernel primitive name it renders to
    trace: str                           # trace event it produces in the runtime
    trace_format: str = ""
    shape: str = "plain"
    reads_range: bool = True     # reads the call's ptep/addr/pte/nr (lazy MMU mode does not)
    per_page: bool = False       # 'pages' shape done one page at a time: one trace line per page, nr=1

    @property
    def py_macro(self) -> str:
        return self.name

    @property
    def c_macro(self) -> str:
        return self.name

    @property
    def shim(self) -> str:
        """The C harness's implementation of the primitive
        (runtime/c/ptdl_shim.h), which prints `trace_format`."""
        return "ptdl_prim_set_pte" if self.shape == "loop" else f"ptdl_prim_{self.name}"


_ALL = ALL_CALLS
_PAGES = "{trace} pfn={pfn:#x} nr={nr}"
EFFECTS: dict[str, Effect] = {e.name: e for e in (
    Effect("page_table_check", "page_table_check_ptes_set(mm, ptep, pte, nr)",
           {}, (), ("set_ptes",), "", "page_table_check_ptes_set", "ptc_set",
           "ptc_set pt={pt} idx={idx} val={pte:#x} nr={nr}"),
    Effect("lazy_mmu_enter", "arch_enter_lazy_mmu_mode()", {}, (), ("set_ptes",), "",
           "arch_enter_lazy_mmu_mode", "lazy_mmu", "lazy_mmu enter", reads_range=False),
    Effect("lazy_mmu_leave", "arch_leave_lazy_mmu_mode()", {}, (), ("set_ptes",), "",
           "arch_leave_lazy_mmu_mode", "lazy_mmu", "lazy_mmu leave", reads_range=False),
    Effect("store", "the store loop: set_pte(ptep + i, pte) then advance pte, for i < nr "
           "(using=set_pte_at: the arch's __set_pte_at(mm, addr, ptep, pte, 0), powerpc and sparc64; using=set_pte_ext: arm's set_pte_ext(ptep, pte, ext))",
           {"advance": tuple(ADVANCES), "using": ("set_pte", "pgste", "set_pte_at", "set_pte_ext")}, (),
           ("set_ptes",), "", "set_pte", "set_pte", "set_pte pt={pt} idx={idx} val={pte:#x}",
           "loop"),
    Effect("sync_icache", "clean the D-cache to the point of unification and invalidate the I-cache",
           {}, ("folio", "page", "range"), _ALL, "", "sync_icache_aliases", "icache_sync",
           _PAGES, "pages"),
    Effect("flush_dcache", "write back and invalidate the kernel-alias D-cache lines",
           {}, ("folio", "page", "range"), _ALL, "", "flush_dcache_page_kaddr", "dcache_flush",
           _PAGES, "pages"),
    Effect("clean_dcache", "write back the kernel-alias D-cache lines",
           {}, ("folio", "page", "range"), _ALL, "", "clean_dcache_page_kaddr", "dcache_clean",
           _PAGES, "pages"),
    Effect("flush_dcache_user", "write back and invalidate the user-alias D-cache lines of the page entry i maps, at its user address",
           {}, (), ("update_mmu_cache_range", "set_ptes"), "pte",
           "flush_dcache_page_user", "dcache_flush_user",
           "dcache_flush_user mm={mm} addr={addr:#x} pfn={new_pfn:#x} nr=1", "entry"),
    Effect("flush_dcache_kmap", "kmap_local_page() each page, write back and invalidate the D-cache lines "
           "of that address, kunmap_local() (lowmem: the linear address; highmem: a fixmap slot)",
           {}, ("folio", "page", "range"), _ALL, "", "flush_dcache_page_kmap", "dcache_flush_kmap",
           _PAGES, "pages", per_page=True),
    Effect("flush_user_alias", "write back and invalidate the user-alias D-cache lines, at their "
           "user addresses in the `each mapping` VMA, of every folio page that VMA maps "
           "(`mapping`: arm flush_cache_pages) or of the head page only, at the address it would "
           "have there (`head`: a single-page flush_cache_page)",
           {}, ("mapping", "head"), _ALL, "mapping", "flush_cache_pages", "dcache_flush_user",
           "dcache_flush_user mm={mm} addr={addr:#x} pfn={pfn:#x} nr={nr}", "mapping"),
    Effect("flush_user_cache", "write back and invalidate the user lines of vma->vm_mm for the "
           "call's addresses: [start, end) in flush_cache_range, the page at addr in "
           "flush_cache_page, the source page at vaddr in copy_user_highpage (VIVT: by virtual address; aliasing VIPT: at the colour of the "
           "page mapped there)",
           {}, (), ("flush_cache_range", "flush_cache_page", "copy_user_highpage"), "",
           "flush_user_cache_range",
           "dcache_flush_user_range", "dcache_flush_user_range mm={mm} addr={addr:#x} nr={nr}"),
    Effect("flush_user_cache_mm", "write back and invalidate every user line of the mm",
           {}, (), ("flush_cache_mm", "flush_cache_dup_mm"), "", "flush_user_cache_mm",
           "dcache_flush_user_mm",
           "dcache_flush_user_mm mm={mm}", reads_range=False),
    Effect("flush_cache_all", "write back and invalidate every D-cache line and invalidate the "
           "I-cache (mips r4k_blast_dcache + r4k_blast_icache: __flush_cache_all)",
           {}, (), OPTIONAL_CALLS, "", "__flush_cache_all", "cache_flush_all",
           "cache_flush_all", reads_range=False),
    # the user-page hooks (issue 10 item 2): the copy / clear itself, through
    # the kernel addresses (kmap_local_page: the linear map, or a highmem
    # fixmap slot) or through a kernel mapping at the user address's colour
    # (mips/sh kmap_coherent, xtensa TLBTEMP_BASE_1/2, sparc64 TLBTEMP,
    # arm v6 COPYPAGE_V6_FROM/TO), which on an aliasing VIPT D-cache shares
    # the lines of the user mapping
    Effect("copy_page", "copy the source page to the destination page, reading through the "
           "kernel address (`from=kernel`, kmap_local_page) or a kernel mapping at the user "
           "address's colour (`from=user`: kmap_coherent), writing likewise (`to=`)",
           {"from": ("kernel", "user"), "to": ("kernel", "user")}, (), ("copy_user_highpage",),
           "", "__ptdl_copy_user_page", "copy_page",
           "copy_page from={pfn:#x} to={new_pfn:#x} addr={addr:#x} mode={val}",
           reads_range=False),
    Effect("clear_page", "zero the destination page through the kernel address (`kernel`, "
           "kmap_local_page) or a kernel mapping at the user address's colour (`user`)",
           {}, ("kernel", "user"), ("clear_user_highpage",), "", "__ptdl_clear_user_page",
           "clear_page", "clear_page pfn={pfn:#x} addr={addr:#x} mode={val}",
           reads_range=False),
    # an aliasing I-cache (icache vipt_aliasing): the line a user fetch
    # filled sits at the user address's colour
    Effect("inval_icache_user", "invalidate the I-cache lines of the page entry i maps, at its "
           "user address's colour (xtensa __invalidate_icache_page_alias, arc __inv_icache_pages "
           "with the user vaddr)",
           {}, (), ("update_mmu_cache_range", "set_ptes"), "pte",
           "inval_icache_page_user", "icache_inval_user",
           "icache_inval_user mm={mm} addr={addr:#x} pfn={new_pfn:#x} nr=1", "entry"),
    Effect("flush_dcache_all", "write back and invalidate every D-cache line, user and kernel "
           "aliases alike; the I-cache untouched (csky abiv1 dcache_wbinv_all)",
           {}, (), _ALL, "", "__flush_dcache_all", "dcache_flush_all",
           "dcache_flush_all", reads_range=False),
    Effect("inval_icache", "invalidate the I-cache lines",
           {}, ("folio", "page", "range"), _ALL, "", "flush_icache_range_kaddr", "icache_inval",
           _PAGES, "pages"),
    # primitives with their own argument shapes (issue 10 item 11): the
    # whole I-cache, no argument; on every CPU or on this one
    Effect("icache_flush_all", "make instruction fetch see every store so far, on every CPU: "
           "the whole I-cache (flush_icache_all(): riscv IPI / SBI remote fence.i, arm, csky)",
           {}, (), _ALL, "", "flush_icache_all", "icache_flush_all", "icache_flush_all"),
    Effect("icache_flush_local", "the same on this CPU only (local_flush_icache_all(): riscv "
           "fence.i); the model has one CPU, so it differs from icache_flush_all in name only",
           {}, (), _ALL, "", "local_flush_icache_all", "icache_flush_local",
           "icache_flush_local"),
    Effect("inval_icache_mm", "invalidate every I-cache line of the VMA's address space, whatever the "
           "pages (alpha flush_icache_user_page: a new ASN)",
           {}, (), ("flush_icache_pages", "update_mmu_cache_range"), "", "flush_icache_user_page",
           "icache_inval_mm", "icache_inval_mm mm={mm}"),
    Effect("tlb_preload", "load the TLB entry for addr from *ptep (update_mmu_cache)",
           {}, (), ("update_mmu_cache_range", "update_mmu_cache_pmd"), "pte", "__update_tlb", "tlb_preload",
           "tlb_preload mm={mm} addr={addr:#x} val={val:#x}", "entry"),
    Effect("tlb_flush_page", "drop the TLB entry for addr, valid or cached-invalid (local fence)",
           {}, (), ("update_mmu_cache_range", "set_ptes", "update_mmu_cache_pmd"), "pte",
           "local_flush_tlb_page", "tlb_flush_page", "tlb_flush_page mm={mm} addr={addr:#x}",
           "entry"),
    Effect("tlb_flush_all", "drop every TLB entry of every mm (flush_tlb_all)",
           {}, (), ("set_pmd_at", "update_mmu_cache_pmd", "update_mmu_cache_range"), "",
           "flush_tlb_all", "tlb_flush_all", "tlb_flush_all", reads_range=False),
    Effect("store_pmd", "set_pmd(pmdp, pmd): store the PMD entry, a leaf mapping the whole "
           "PMD-order folio (exactly once in set_pmd_at)",
           {}, (), ("set_pmd_at",), "", "set_pmd", "set_pmd",
           "set_pmd mm={mm} addr={addr:#x} pfn={pfn:#x}"),
    Effect("hpte_insert", "insert the hash-table entry (HPTE) for addr from a present *ptep (powerpc hash_preload)",
           {}, (), ("update_mmu_cache_range",), "pte", "hash_preload", "hpte_insert",
           "hpte_insert mm={mm} addr={addr:#x} val={val:#x}", "entry"),
    Effect("tsb_insert", "insert the TSB entry for addr from a present *ptep (sparc64 __update_mmu_tsb_insert)",
           {}, (), ("update_mmu_cache_range",), "pte", "update_mmu_tsb_insert", "tsb_insert",
           "tsb_insert mm={mm} addr={addr:#x} val={val:#x}", "entry"),
    Effect("tlb_batch_add", "queue the flush of addr's old translation in the per-CPU batch while lazy MMU mode is on (flushed at leave or when full), else flush at once (sparc64 tlb_batch_add, powerpc hpte_need_flush)",
           {}, (), ("set_ptes", "update_mmu_cache_range"), "pte", "tlb_batch_add", "tlb_batch_add",
           "tlb_batch_add mm={mm} addr={addr:#x}", "entry"),
    # m10-oracle: a flush by physical tag, every colour of each page
    Effect("flush_dcache_all_colours", "write back and invalidate every D-cache line of each "
           "page at every colour, found by physical tag (sparc64 __flush_dcache_page: spitfire "
           "walks the D-cache tags, cheetah invalidates by physical address; the primitive "
           "takes (kaddr, flush_icache) and is called once per page with 0)",
           {}, ("folio", "page", "range"), _ALL, "", "flush_dcache_page_phys",
           "dcache_flush_phys", _PAGES, "pages", per_page=True),
)}


def trace_line(e: Effect, **fields: int) -> str:
    """The trace line effect e prints, given the interpreter's fields."""
    return e.trace_format.format(trace=e.trace, **fields)


# Targets of `set X` / `clear X` in call bodies.
FLAG_TARGETS: dict[str, str] = {
    "folio.pg_arch_1": "the folio's PG_arch_1 (per-folio arches)",
    "page.pg_arch_1": "one page's PG_arch_1 (per-page arches; inside `each page`)",
}
FLAG_TRACE = "pg_arch_1 {op} {obj}={pfn:#x}"
# `set pte.F` / `clear pte.F` modify the value being installed (set_ptes,
# before the store).

# Names an arch may give in its primitives block: the effects' C names,
# plus the building blocks the C rendering uses.
PRIMITIVE_KEYS: tuple[str, ...] = tuple(sorted(EFFECTS)) + ("set_pte", "pgste_set_pte", "set_pte_at",
                                                         "set_pte_ext")
# `primitives { cpu_has_F = "C expression" }`: how the kernel tests CPU
# feature F (powerpc: cpu_has_feature(CPU_FTR_COHERENT_ICACHE)); without it
# the header tests cpu_has_F (MIPS spells its features so).
CPU_PRIMITIVE_PREFIX = "cpu_has_"
# Effects whose primitive may take (kernel pointer, size) instead of (start,
# end) / (kaddr): written `name(ptr, size)` in the primitives block.
PTR_SIZE_EFFECTS: tuple[str, ...] = ("clean_dcache", "flush_dcache", "inval_icache", "sync_icache")
PTR_SIZE_SUFFIX = "(ptr, size)"
# Effects whose primitive may flush one page per call, (vma, user address,
# pfn), instead of (vma, addr, pfn, nr): written `name(vma, addr, pfn)`;
# the header (and the model) call it once per page (parisc flush_cache_page).
PER_PAGE_EFFECTS: tuple[str, ...] = ("flush_user_alias",)
PER_PAGE_SUFFIX = "(vma, addr, pfn)"
# Effects whose primitive may take (vma, start, end) instead of (mm, start,
# end): written `name(vma, start, end)` (arm vivt_flush_cache_range); the
# page form calls it with (vma, addr, addr + PAGE_SIZE).
VMA_RANGE_EFFECTS: tuple[str, ...] = ("flush_user_cache",)
VMA_RANGE_SUFFIX = "(vma, start, end)"


def effect_names() -> list[str]:
    return sorted(EFFECTS)


# ---------------------------------------------------------------------------
# The README's language reference (vocabulary lists), rendered from here.
# tests/generate/test_catalog.py checks README.md holds exactly this text
# between its `<!-- catalog:NAME -->` and `<!-- /catalog:NAME -->` markers.


def _effect_signature(e: Effect) -> str:
    args = ["|".join(e.positional)] if e.positional else []
    args += [f"{k}={'|'.join(v)}" for k, v in e.params.items()]
    return e.name + (f"({', '.join(args)})" if args else "")


def _effect_doc(e: Effect) -> str:
    where = "any call" if e.calls == ALL_CALLS else ", ".join(e.calls)
    inside = f", inside `each {e.needs_each}` (in {e.calls[0]})" if e.needs_each else ""
    body = "; takes a `{ per-entry statements }` body" if e.shape == "loop" else ""
    return f"{e.doc} ({where}{inside}{body}); trace `{e.trace}`"


def vocabulary_markdown() -> dict[str, str]:
    """name -> the Markdown text of one vocabulary list."""
    def items(pairs: list[tuple[str, str]]) -> str:
        return "\n".join(f"- `{n}` — {d}" for n, d in pairs)
    out: dict[str, str] = {
        "roles": items([(r.name, r.doc + (f"; boolean: `pte_{r.name}()`" if r.boolean else ""))
                        for r in ROLE_ENTRIES]),
        "kinds": "\n".join(
            f"- {g}: " + ", ".join(
                f"`{k.name}`" + (f"({', '.join(p + '=N' for p in k.params)})" if k.params else "")
                for k in KIND_ENTRIES if k.group == g)
            for g in ("dcache", "icache", "tlb", "lazy_mmu", "pg_arch_1")),
        "advances": items([(x.name, x.doc) for x in ADVANCE_ENTRIES]),
        "effects": items([(_effect_signature(e), _effect_doc(e)) for e in EFFECTS.values()]),
        "predicates": items([(f"{p.obj}.{p.name}", p.doc) for p in PREDICATE_ENTRIES]),
        "prot": items(list(PROT_KEYS.items()) + [("entry FLAGS", PROT_ENTRY_DOC),
                                                 ("when COND { KEY = ... entry FLAGS = ... }",
                                                  PROT_WHEN_DOC)]),
        "pte_statements": items(list(PTE_STATEMENTS.items())),
    }
    return out
