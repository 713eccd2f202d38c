"""An encoder of the PTE field layout, independent of the generated code.

Place in the flow: used by dsl/generate/expect.py (its interpreter's entry
values) and by the generated tests' BOUNDARY_PTES literals.  Generic over
the model's fields (PFN parts with their offsets, the `invert pfn when`
transform, derived predicates, mutator bodies), where the runtime-module
backend specialises the same layout into masks; the two meet only in the
generated tests.
"""

from __future__ import annotations

from .. import catalog
from ..model import Arch, BoolOp, Expr, FlagOp, Not, Num, Ref, Stmt, When
from .layout import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, pfn_mask, prot_table

__all__ = ["VM_EXEC", "VM_READ", "VM_SHARED", "VM_WRITE", "boundary_pfns", "boundary_ptes",
           "eval_pte", "mutate", "pfn_pte", "pfn_width", "pte_pfn", "pte_test"]


def _mask(width: int) -> int:
    return (1 << width) - 1


def pte_test(a: Arch, name: str, v: int) -> bool:
    """Is ``name`` (a field, derived predicate, role, or ``nonzero``) on in v?"""
    f = a.field(name)
    if f is not None:
        return (v & f.mask) != 0
    d = a.derived_named(name)
    if d is not None:
        return eval_pte(a, d.expr, v)
    if name == "nonzero":
        return v != 0
    fields = a.role_fields(name)
    if name in catalog.BOOL_ROLES:
        return any(((v & g.mask) == 0) if g.inverted else ((v & g.mask) != 0) for g in fields)
    m = 0
    for g in fields:
        m |= g.mask
    return (v & m) != 0


def eval_pte(a: Arch, e: Expr, v: int) -> bool:
    if isinstance(e, Ref):
        return pte_test(a, e.path[-1], v)
    if isinstance(e, Not):
        return not eval_pte(a, e.arg, v)
    if isinstance(e, BoolOp):
        if e.op == "and":
            return all(eval_pte(a, x, v) for x in e.args)
        return any(eval_pte(a, x, v) for x in e.args)
    if isinstance(e, Num):
        return bool(e.value)
    raise ValueError(f"unsupported layout expression at {e.loc}")


def pfn_pte(a: Arch, pfn: int, prot: int) -> int:
    """The arch's pfn_pte: PFN bits placed in their part(s), inverted where
    the layout's transform says so (judged on prot), then prot's other bits,
    then the mutators of `pfn_pte { ... }` (s390: mkyoung) by this module's
    own interpreter of their bodies."""
    v = 0
    for f in a.role_fields("pfn"):
        v |= ((pfn >> f.pfn_offset) & _mask(f.width)) << f.lo
    t = a.pfn_transform()
    pm = pfn_mask(a)
    if t is not None and eval_pte(a, t.cond, prot):
        v = (v ^ pm) & pm
    v |= prot & ~pm & _mask(a.word_bits)
    if a.pfn_pte_applies is not None:
        for name in a.pfn_pte_applies.names:
            bit = a.field(name) if name not in catalog.MUTATORS else None
            v = (v | bit.mask) if bit is not None else mutate(a, name, v)
    return v


def pte_pfn(a: Arch, pte: int) -> int:
    if a.pfn_none is not None and eval_pte(a, a.pfn_none.cond, pte):
        return _mask(a.word_bits)       # ~0UL: no frame (sparc32 I/O space)
    v = pte
    t = a.pfn_transform()
    if t is not None and eval_pte(a, t.cond, v):
        v ^= pfn_mask(a)
    pfn = 0
    for f in a.role_fields("pfn"):
        pfn |= ((v >> f.lo) & _mask(f.width)) << f.pfn_offset
    n = a.pfn_napot()
    if n is not None and eval_pte(a, n.cond, pte):
        pfn &= pfn - 1              # napot: clear the lowest set PFN bit
    return pfn


def pfn_width(a: Arch) -> int:
    return max((f.pfn_offset + f.width for f in a.role_fields("pfn")), default=0)


def boundary_pfns(a: Arch) -> list[int]:
    """PFNs on both sides of every carry boundary of the PFN field(s): the
    top of each part of a split PFN, bits 8/16/31/32, and the top frame."""
    top = min(pfn_width(a), a.phys_bits - a.page_shift)
    bits = {8, 16, 31, 32, top}
    for f in a.role_fields("pfn"):
        bits.add(f.pfn_offset + f.width)
        if f.pfn_offset:
            bits.add(f.pfn_offset)
    out = [0, 1]
    for b in sorted(bits):
        if 0 < b <= top:
            for p in ((1 << b) - 1, 1 << b):
                if p < (1 << top) and p not in out:
                    out.append(p)
    return out


def boundary_ptes(a: Arch, flags: tuple[int, ...] = (0, VM_READ, VM_READ | VM_EXEC,
                                                      VM_READ | VM_WRITE | VM_SHARED)
                  ) -> list[tuple[int, int, int]]:
    """(pfn, vm_flags, pfn_pte(pfn, vm_get_page_prot(vm_flags))) rows."""
    table = prot_table(a)
    return [(p, fl, pfn_pte(a, p, table[fl])) for p in boundary_pfns(a) for fl in flags]


def mutate(a: Arch, name: str, v: int) -> int:
    """pte_<name>(v): the archdef's mutator body, else the role's single
    field set or cleared (honouring polarity), else v unchanged."""
    m = a.mutator(name)
    if m is not None:
        return _mutator_body(a, m.body, v)
    role, value = catalog.MUTATORS[name]
    fields = a.role_fields(role)
    if not fields or a.derived_named(role) is not None:
        return v
    f = fields[0]
    return (v | f.mask) if value != f.inverted else (v & ~f.mask)


def _mutator_body(a: Arch, body: tuple[Stmt, ...], v: int) -> int:
    for s in body:
        if isinstance(s, FlagOp):
            f = a.field(s.target.path[-1])
            assert f is not None
            if s.op == "clear":
                v &= ~f.mask
            elif s.value is None:
                v |= f.mask
            else:
                v = (v & ~f.mask) | ((s.value << f.lo) & f.mask)
        elif isinstance(s, When):
            v = _mutator_body(a, s.then if eval_pte(a, s.cond, v) else s.orelse, v)
    return v
