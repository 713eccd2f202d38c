"""Layout data shared by the backends: the PFN mask, field bits, and
vm_get_page_prot's 16-entry table.

Place in the flow: computed once per arch from the model and used by the
runtime-module backend (it bakes PROT_TABLE and PFN_MASK into the module)
and by dsl/generate/expect.py (the entry a `path: direct` scenario maps).
There is exactly one implementation: the conformance tests do not compare
the generated table with a copy of itself; they check properties of it
(tests/conformance.py.j2: exec/write roles follow VM_EXEC / VM_WRITE|
VM_SHARED, PROT_NONE is not user-accessible, ...).
"""

from __future__ import annotations

from .. import catalog
from ..model import Arch, BoolOp, Expr, Not, ProtEntry, Ref
from .pteword import pte_literal

VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = 1, 2, 4, 8


def pfn_mask(a: Arch) -> int:
    m = 0
    for f in a.role_fields("pfn"):
        m |= f.mask
    return m


def field_value_bits(a: Arch, name: str, value: int | None) -> int:
    f = a.field(name)
    if f is None:
        raise ValueError(f"{a.name}: no field {name}")
    return f.mask if value is None else (value << f.lo) & f.mask


def cpu_holds(e: Expr, cpu: frozenset[str]) -> bool:
    """A condition over `cpu.X` features (checked so by dsl/check_layout.py)."""
    if isinstance(e, Ref):
        return len(e.path) == 2 and e.path[0] == "cpu" and e.path[1] in cpu
    if isinstance(e, Not):
        return not cpu_holds(e.arg, cpu)
    if isinstance(e, BoolOp):
        vals = [cpu_holds(x, cpu) for x in e.args]
        return all(vals) if e.op == "and" else any(vals)
    return False


def prot_cpu_features(a: Arch) -> tuple[str, ...]:
    """The CPU features the prot block's `when` conditions test."""
    out: set[str] = set()
    for w in a.prot_when:
        todo: list[Expr] = [w.cond]
        while todo:
            x = todo.pop()
            if isinstance(x, Ref) and len(x.path) == 2 and x.path[0] == "cpu":
                out.add(x.path[1])
            elif isinstance(x, Not):
                todo.append(x.arg)
            elif isinstance(x, BoolOp):
                todo.extend(x.args)
    return tuple(sorted(out))


def prot_bits(a: Arch, key: str, cpu: frozenset[str] = frozenset()) -> int:
    item = a.prot_item(key)
    v = 0
    if item is not None:
        for n, val in item.values:
            v |= field_value_bits(a, n, val)
    for w in a.prot_when:
        if cpu_holds(w.cond, cpu):
            for it in w.items:
                if it.key == key:
                    for n, val in it.values:
                        v |= field_value_bits(a, n, val)
    return v


def _entry(a: Arch, flags: int, cpu: frozenset[str]) -> ProtEntry | None:
    e = a.prot_entry(flags)
    for w in a.prot_when:
        if cpu_holds(w.cond, cpu):
            for x in w.entries:
                if x.flags == flags:
                    e = x
    return e


def prot_table(a: Arch, cpu: frozenset[str] = frozenset()) -> list[int]:
    """vm_get_page_prot() for the 16 VM_READ|WRITE|EXEC|SHARED combinations
    (semantics: dsl/catalog.py PROT_KEYS): PAGE_NONE without VM_READ|WRITE|
    EXEC; else base, plus write for shared writable (private writable stays
    read-only: COW) or nowrite for the others, plus exec or noexec, plus noread with neither VM_READ
    nor VM_EXEC; without exec/noexec keys the exec role's fields follow
    VM_EXEC (honouring their polarity).  A literal `entry R|W|X|S = ...`
    replaces the computed value of its combination whole.  `cpu` selects
    the prot block's `when cpu.X { ... }` rewrites (their keys add fields,
    their entries replace one combination, `all` is ORed into every value
    last); without it the table is the kernel's static protection_map."""
    exec_fields = a.role_fields("exec")
    # Each key's bits once per table, not once per combination.
    bits = {k: prot_bits(a, k, cpu)
            for k in ("all", "none", "base", "write", "nowrite", "exec", "noexec", "noread")}
    every = bits["all"]
    exec_by_role = a.prot_item("exec") is None and a.prot_item("noexec") is None
    table: list[int] = []
    for flags in range(16):
        r, w, x, s = (bool(flags & VM_READ), bool(flags & VM_WRITE),
                      bool(flags & VM_EXEC), bool(flags & VM_SHARED))
        if not (r or w or x):
            table.append(bits["none"] | every)
            continue
        v = bits["base"]
        if w and s:
            v |= bits["write"]
        else:
            v |= bits["nowrite"]
        if x:
            v |= bits["exec"]
        else:
            v |= bits["noexec"]
        if not (r or x):
            v |= bits["noread"]
        if exec_by_role:
            for f in exec_fields:
                if x != f.inverted:
                    v |= f.mask
                else:
                    v &= ~f.mask
        e = _entry(a, flags, cpu)
        if e is not None:
            v = 0
            for n, val in e.values:
                v |= field_value_bits(a, n, val)
        table.append(v | every)
    return table


def none_ignore_mask(a: Arch) -> int:
    """The fields pte_none() ignores (`none_ignores` in the pte block)."""
    m = 0
    if a.none_ignores is not None:
        for name in a.none_ignores.names:
            f = a.field(name)
            if f is not None:
                m |= f.mask
    return m


def empty_pte(a: Arch) -> int:
    """The value of an empty entry (`empty_pte` in the archdef; default 0)."""
    v = 0
    if a.empty_pte is not None:
        for name, val in a.empty_pte.values:
            if a.field(name) is not None:
                v |= field_value_bits(a, name, val)
    return v


def pfn_pte_steps(a: Arch, obj: str, var: str) -> tuple[str, ...]:
    """Python expressions, one per name of `pfn_pte { ... }`, each the new
    value of `var`: a mutator is `obj.pte_<name>(var)`, a one-bit field
    (powerpc book3s64 _PAGE_PTE) is `var | <mask>` (the i64 pattern's
    literal: dsl/generate/pteword.py)."""
    if a.pfn_pte_applies is None:
        return ()
    out: list[str] = []
    for name in a.pfn_pte_applies.names:
        f = a.field(name) if name not in catalog.MUTATORS else None
        out.append(f"{var} | {pte_literal(f.mask)}" if f is not None
                   else f"{obj}.pte_{name}({var})")
    return tuple(out)
