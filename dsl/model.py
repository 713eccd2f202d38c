"""The resolved model of an architecture: frozen, typed, flat.

Place in the flow: dsl/resolve.py builds one `Arch` per concrete archdef
(inheritance already applied, defaults filled in); dsl/check.py inspects
it; every backend (export, show, the Python, C and test generators) is a
pure function of it.  As with YNL's nlspec, one model serves all backends.

Expressions and statements are shared with the syntax layer: they carry
their source locations so every later diagnostic can point at the text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Union

from .source import Loc

# ---------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True)
class Ref:
    """A name: `present`, `pte.dirty`, `folio.pg_arch_1`, `cpu.dc_aliases`."""

    path: tuple[str, ...]
    loc: Loc

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Num:
    value: int
    loc: Loc


@dataclass(frozen=True)
class Not:
    arg: Expr
    loc: Loc


@dataclass(frozen=True)
class BoolOp:
    op: str  # 'and' | 'or'
    args: tuple[Expr, ...]
    loc: Loc


@dataclass(frozen=True)
class Compare:
    op: str  # '==' | '!='
    left: Expr
    right: Expr
    loc: Loc


@dataclass(frozen=True)
class AnyOf:
    """any(cond): cond holds for some i < nr, with old/new bound to entry i."""

    arg: Expr
    loc: Loc


Expr = Union[Ref, Num, Not, BoolOp, Compare, AnyOf]


def expr_text(e: Expr, parent_prec: int = 0) -> str:
    """Canonical source text of an expression (used by export and show)."""
    if isinstance(e, Ref):
        return e.text
    if isinstance(e, Num):
        return hex(e.value) if e.value > 9 else str(e.value)
    if isinstance(e, Not):
        return "not " + expr_text(e.arg, 3)
    if isinstance(e, Compare):
        return f"{expr_text(e.left, 4)} {e.op} {expr_text(e.right, 4)}"
    if isinstance(e, AnyOf):
        return f"any({expr_text(e.arg)})"
    prec = 1 if e.op == "or" else 2
    s = f" {e.op} ".join(expr_text(a, prec) for a in e.args)
    return f"({s})" if prec < parent_prec else s


def walk_expr(e: Expr) -> list[Expr]:
    """Every sub-expression of e, e first (iterative: no recursion limit)."""
    out: list[Expr] = []
    todo: list[Expr] = [e]
    while todo:
        x = todo.pop()
        out.append(x)
        if isinstance(x, (Not, AnyOf)):
            todo.append(x.arg)
        elif isinstance(x, BoolOp):
            todo.extend(reversed(x.args))
        elif isinstance(x, Compare):
            todo.extend((x.right, x.left))
    return out


# ---------------------------------------------------------------------------
# Statements


@dataclass(frozen=True)
class When:
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]
    loc: Loc


@dataclass(frozen=True)
class Each:
    kind: str      # 'pte' | 'page'
    source: str    # 'range' | 'folio'
    reverse: bool
    body: tuple[Stmt, ...]
    loc: Loc


@dataclass(frozen=True)
class FlagOp:
    """set X / clear X [= value]."""

    op: str                  # 'set' | 'clear'
    target: Ref
    value: int | None
    loc: Loc


@dataclass(frozen=True)
class EffectStmt:
    name: str
    positional: str | None
    params: tuple[tuple[str, str], ...]
    loc: Loc
    body: tuple[Stmt, ...] = ()   # store only: run before each entry's set_pte

    def param(self, key: str, default: str = "") -> str:
        for k, v in self.params:
            if k == key:
                return v
        return default


Stmt = Union[When, Each, FlagOp, EffectStmt]


def walk_stmts(body: tuple[Stmt, ...]) -> list[Stmt]:
    """Every statement in body, in source order (iterative)."""
    out: list[Stmt] = []
    todo: list[Stmt] = list(reversed(body))
    while todo:
        s = todo.pop()
        out.append(s)
        if isinstance(s, When):
            todo.extend(reversed(s.then + s.orelse))
        elif isinstance(s, (Each, EffectStmt)):
            todo.extend(reversed(s.body))
    return out


# ---------------------------------------------------------------------------
# Layout


@dataclass(frozen=True)
class Field:
    name: str
    lo: int
    hi: int
    role: str | None
    inverted: bool
    pfn_offset: int          # PFN bit held at `lo` (pfn fields only)
    overlaps: tuple[str, ...]
    loc: Loc
    origin: str              # the arch whose text declared it
    kernel: str | None = None   # the kernel's macro (or C expression) for the mask

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lo


@dataclass(frozen=True)
class Derived:
    name: str
    expr: Expr
    loc: Loc
    origin: str


@dataclass(frozen=True)
class Mutator:
    name: str
    body: tuple[Stmt, ...]
    loc: Loc
    origin: str


@dataclass(frozen=True)
class Transform:
    """`invert pfn when cond`: the kernel stores the PFN inverted when cond.
    `pfn_clear_lowest when cond` (kind 'napot'): pte_pfn() clears the
    lowest set PFN bit when cond (riscv Svnapot); pfn_pte() is unchanged."""

    target: str
    cond: Expr
    loc: Loc
    origin: str
    kind: str = "invert"

    @property
    def key(self) -> str:
        return self.target if self.kind == "invert" else f"{self.kind} {self.target}"


@dataclass(frozen=True)
class ProtItem:
    key: str
    values: tuple[tuple[str, int | None], ...]
    loc: Loc
    origin: str


@dataclass(frozen=True)
class ProtEntry:
    """`entry shared|exec = f | g`: the whole vm_get_page_prot() value of one
    VM_READ|WRITE|EXEC|SHARED combination, replacing what the keys compute."""

    names: tuple[str, ...]          # as written: 'shared', 'exec'
    flags: int                      # VM_* bits of the known names
    values: tuple[tuple[str, int | None], ...]
    loc: Loc
    origin: str
    name_locs: tuple[Loc, ...] = ()

    @property
    def label(self) -> str:
        return "|".join(self.names)


@dataclass(frozen=True)
class ProtWhen:
    """`when COND { KEY = f | g  entry FLAGS = ... }` in the prot block: a
    CPU-feature dependent rewrite of the protection table (m68k paging_init
    ORs _PAGE_CACHE040 into every protection_map entry on 040/060).  With
    COND, each key's fields are added to the key (`all`: to all 16 values,
    PAGE_NONE included, after literal entries), an entry replaces its
    combination."""

    cond: Expr
    items: tuple[ProtItem, ...]
    entries: tuple[ProtEntry, ...]
    loc: Loc
    origin: str


@dataclass(frozen=True)
class NameList:
    """A pte-block statement naming fields or mutators: `none_ignores a, d`,
    `pfn_pte { mkyoung }`."""

    names: tuple[str, ...]
    loc: Loc
    origin: str
    name_locs: tuple[Loc, ...] = ()

    def loc_of(self, i: int) -> Loc:
        return self.name_locs[i] if i < len(self.name_locs) else self.loc


@dataclass(frozen=True)
class Kind:
    name: str
    params: tuple[tuple[str, str], ...]
    loc: Loc

    def param(self, key: str, default: str = "") -> str:
        for k, v in self.params:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Choice:
    """A kind, possibly chosen by a CPU-feature condition."""

    options: tuple[tuple[Expr | None, Kind], ...]   # last option has cond None
    loc: Loc
    origin: str


@dataclass(frozen=True)
class Call:
    name: str
    generic: bool
    body: tuple[Stmt, ...]
    loc: Loc
    origin: str


@dataclass(frozen=True)
class Primitive:
    key: str
    c_name: str     # as written: NAME, or NAME(ptr, size) for a (pointer, size) signature
    loc: Loc
    origin: str

    @property
    def name(self) -> str:
        """The C function's name."""
        return self.c_name.split("(", 1)[0].strip()

    @property
    def ptr_size(self) -> bool:
        """The function takes (kernel pointer, size in bytes)."""
        return self.c_name.replace(" ", "").endswith("(ptr,size)")

    @property
    def per_page(self) -> bool:
        """The function flushes one page: (vma, user address, pfn)."""
        return self.c_name.replace(" ", "").endswith("(vma,addr,pfn)")

    @property
    def vma_range(self) -> bool:
        """The function takes (vma, start, end) rather than (mm, start, end)."""
        return self.c_name.replace(" ", "").endswith("(vma,start,end)")


@dataclass(frozen=True)
class Cite:
    kind: str   # 'source' | 'seed'
    text: str
    loc: Loc
    origin: str


@dataclass(frozen=True)
class KConfig:
    """`config "DEFCONFIG" "CONFIG_X=y" ...`: the kernel build modelled."""

    defconfig: str
    fragments: tuple[str, ...]
    loc: Loc
    origin: str


@dataclass(frozen=True)
class KernelDiff:
    """`kernel_diff "6.12" "FACT" "COMMIT"`: the kernel changed FACT after 6.6."""

    version: str
    fact: str
    commit: str
    loc: Loc
    origin: str


@dataclass(frozen=True)
class Setting:
    value: int
    loc: Loc
    origin: str


@dataclass(frozen=True)
class Arch:
    name: str
    parent: str | None
    loc: Loc
    lineage: tuple[str, ...]          # self first, then ancestors
    word_bits: int
    page_shift: int
    ptrs_per_pte: int
    phys_bits: int
    pfn_pte_shift: int
    max_folio_order: int
    settings: tuple[tuple[str, Setting], ...]
    fields: tuple[Field, ...]
    derived: tuple[Derived, ...]
    mutators: tuple[Mutator, ...]
    transforms: tuple[Transform, ...]
    prot: tuple[ProtItem, ...]
    dcache: Choice
    icache: Choice
    tlb: Kind
    advance: str
    advance_loc: Loc
    pg_arch_1_use: str
    pg_arch_1_granularity: str   # 'folio' | 'page' | 'none'
    pg_arch_1_loc: Loc
    cpu_features: tuple[str, ...]
    prefault_old: Expr | None     # None: never; Num(1): always
    primitives: tuple[Primitive, ...]
    calls: tuple[Call, ...]
    cites: tuple[Cite, ...]
    empty_pte: ProtItem | None = None   # fields set in an empty entry (default: 0)
    sw_mkyoung: bool = False
    highmem: str = ""                  # '' (no CONFIG_HIGHMEM) or a catalog.KMAP_KINDS name
    highmem_loc: Loc | None = None
    config: KConfig | None = None       # the kernel configuration (ptdl verify)
    kernel_diffs: tuple[KernelDiff, ...] = ()
    prot_entries: tuple[ProtEntry, ...] = ()   # literal entries of the prot block
    none_ignores: NameList | None = None       # fields pte_none() ignores
    pfn_none: Transform | None = None          # pte_pfn() is ~0UL where cond holds
    pfn_pte_applies: NameList | None = None    # mutators pfn_pte() applies
    prot_when: tuple[ProtWhen, ...] = ()       # CPU-dependent protections
    lazy_mmu: Kind | None = None               # lazy MMU mode kind (None: strict)

    def lazy_mmu_kind(self) -> str:
        """The lazy MMU mode kind (catalog group lazy_mmu; default strict)."""
        return "strict" if self.lazy_mmu is None else self.lazy_mmu.name

    def supports_page_table_check(self) -> bool:
        """Does set_ptes call page_table_check_ptes_set()?"""
        c = self.call("set_ptes")
        if c is None:
            return False
        if c.generic:
            return True
        return any(isinstance(s, EffectStmt) and s.name == "page_table_check"
                   for s in walk_stmts(c.body))

    # -- convenience lookups (pure) ------------------------------------
    def field(self, name: str) -> Field | None:
        return self._fields_by_name.get(name)

    def role_fields(self, role: str) -> list[Field]:
        return list(self._fields_by_role.get(role, ()))

    # Indexes of the (immutable) field tuple, built on first use: the
    # backends look fields up thousands of times per arch.
    @functools.cached_property
    def _fields_by_name(self) -> dict[str, Field]:
        out: dict[str, Field] = {}
        for f in self.fields:
            out.setdefault(f.name, f)
        return out

    @functools.cached_property
    def _fields_by_role(self) -> dict[str | None, tuple[Field, ...]]:
        out: dict[str | None, list[Field]] = {}
        for f in self.fields:
            out.setdefault(f.role, []).append(f)
        return {k: tuple(v) for k, v in out.items()}

    def derived_named(self, name: str) -> Derived | None:
        for d in self.derived:
            if d.name == name:
                return d
        return None

    def mutator(self, name: str) -> Mutator | None:
        for m in self.mutators:
            if m.name == name:
                return m
        return None

    def call(self, name: str) -> Call | None:
        for c in self.calls:
            if c.name == name:
                return c
        return None

    def prot_item(self, key: str) -> ProtItem | None:
        for p in self.prot:
            if p.key == key:
                return p
        return None

    def prot_entry(self, flags: int) -> ProtEntry | None:
        for p in self.prot_entries:
            if p.flags == flags:
                return p
        return None

    def primitive(self, key: str, default: str) -> str:
        for p in self.primitives:
            if p.key == key:
                return p.name
        return default

    def primitive_ptr_size(self, key: str) -> bool:
        """The arch's primitive for effect `key` takes (pointer, size)."""
        return any(p.key == key and p.ptr_size for p in self.primitives)

    def primitive_per_page(self, key: str) -> bool:
        """The arch's primitive for effect `key` flushes one page per call."""
        return any(p.key == key and p.per_page for p in self.primitives)

    def primitive_vma_range(self, key: str) -> bool:
        """The arch's primitive for effect `key` takes (vma, start, end)."""
        return any(p.key == key and p.vma_range for p in self.primitives)

    def setting(self, name: str) -> Setting | None:
        for k, s in self.settings:
            if k == name:
                return s
        return None

    @property
    def pfn_fields(self) -> list[Field]:
        return sorted(self.role_fields("pfn"), key=lambda f: f.pfn_offset)

    @property
    def pfn_bits(self) -> int:
        return sum(f.width for f in self.role_fields("pfn"))

    def pfn_transform(self) -> Transform | None:
        """The `invert pfn` transform (the one pfn_pte and pte_pfn share)."""
        for t in self.transforms:
            if t.target == "pfn" and t.kind == "invert":
                return t
        return None

    def pfn_napot(self) -> Transform | None:
        """The `napot pfn` transform (pte_pfn only)."""
        for t in self.transforms:
            if t.target == "pfn" and t.kind == "napot":
                return t
        return None

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift
