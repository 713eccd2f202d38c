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

from ..model import Arch

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


def prot_bits(a: Arch, key: str) -> int:
    item = a.prot_item(key)
    v = 0
    if item is not None:
        for n, val in item.values:
            v |= field_value_bits(a, n, val)
    return v


def prot_table(a: Arch) -> list[int]:
    """vm_get_page_prot() for the 16 VM_READ|WRITE|EXEC|SHARED combinations
    (semantics: dsl/catalog.py PROT_KEYS): PAGE_NONE without VM_READ|WRITE|
    EXEC; else base, plus write for shared writable (private writable stays
    read-only: COW) or nowrite for the others, plus exec or noexec, plus noread with neither VM_READ
    nor VM_EXEC; without exec/noexec keys the exec role's fields follow
    VM_EXEC (honouring their polarity).  A literal `entry R|W|X|S = ...`
    replaces the computed value of its combination whole."""
    exec_fields = a.role_fields("exec")
    table: list[int] = []
    for flags in range(16):
        r, w, x, s = (bool(flags & VM_READ), bool(flags & VM_WRITE),
                      bool(flags & VM_EXEC), bool(flags & VM_SHARED))
        if not (r or w or x):
            table.append(prot_bits(a, "none"))
            continue
        v = prot_bits(a, "base")
        if w and s:
            v |= prot_bits(a, "write")
        else:
            v |= prot_bits(a, "nowrite")
        if x:
            v |= prot_bits(a, "exec")
        else:
            v |= prot_bits(a, "noexec")
        if not (r or x):
            v |= prot_bits(a, "noread")
        if a.prot_item("exec") is None and a.prot_item("noexec") is None:
            for f in exec_fields:
                if x != f.inverted:
                    v |= f.mask
                else:
                    v &= ~f.mask
        e = a.prot_entry(flags)
        if e is not None:
            v = 0
            for n, val in e.values:
                v |= field_value_bits(a, n, val)
        table.append(v)
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
