"""The facts verify compares: a C expression the kernel evaluates, the value
the archdef gives through its generated runtime module, and the archdef line
that decides it.

Place in the flow: compare.py calls `facts_for(model, runtime_arch, karch,
protection_map)`; probe.py turns the list into C.  The archdef side comes
only from the runtime module's methods (pte_present, pte_mkdirty, pfn_pte,
vm_get_page_prot, ...) and its constants, never from the kernel; the input
values come from the layout (every bit, every pair of named bits, the
protections over several pfns, seeded random words).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..model import Arch
from ..source import Loc
from .karch import KArch, ProtMap

PREDICATES = ("present", "write", "dirty", "young", "exec", "special", "none")
# mutator -> (kernel function, role it changes)
MUTATORS: dict[str, tuple[str, str]] = {
    "mkyoung": ("pte_mkyoung", "young"), "mkold": ("pte_mkold", "young"),
    "mkdirty": ("pte_mkdirty", "dirty"), "mkclean": ("pte_mkclean", "dirty"),
    "mkwrite": ("pte_mkwrite_novma", "write"), "wrprotect": ("pte_wrprotect", "write"),
    "mkspecial": ("pte_mkspecial", "special"),
    "mkexec": ("pte_mkexec", "exec"), "mknoexec": ("pte_mknoexec", "exec"),
}
# facts the kernel may not have on every arch: a compile error for these is
# a note ("the kernel has no pte_mkexec"), not a mismatch
OPTIONAL = {"PFN_PTE_SHIFT": "PFN_PTE_SHIFT", "pte_exec": "pte_exec / pte_user_exec",
            "pte_mkexec": "pte_mkexec", "pte_mknoexec": "pte_mknoexec"}
MIN_VALUES = 256


@dataclass(frozen=True)
class Fact:
    group: str            # what a kernel_diff names: 'pte_mkdirty', 'mask(addr)', ...
    what: str             # 'pte_mkdirty(0x2)'
    c: str                # C expression, evaluated as unsigned long long
    expected: int
    loc: Loc
    boolean: bool = False
    runtime: str | None = None     # the kernel changes this at boot (why)
    prot_flags: int = -1           # vm_get_page_prot facts: the VM_* flags
    c_assume: str | None = None    # the expression in the assumption probe (karch.assume_c)

    @property
    def optional(self) -> str | None:
        return OPTIONAL.get(self.group)


def vm_name(flags: int) -> str:
    names = [n for bit, n in ((1, "VM_READ"), (2, "VM_WRITE"), (4, "VM_EXEC"), (8, "VM_SHARED"))
             if flags & bit]
    return "|".join(names) if names else "VM_NONE"


def _lit(v: int) -> str:
    return f"0x{v:x}ULL"


def _pte(v: int) -> str:
    return f"__pte({_lit(v)})"


def role_loc(a: Arch, role: str) -> Loc:
    d = a.derived_named(role)
    if d is not None:
        return d.loc
    fs = a.role_fields(role)
    return fs[0].loc if fs else a.loc


def _setting_loc(a: Arch, key: str, fallback: Loc) -> Loc:
    s = a.setting(key)
    return s.loc if s is not None else fallback


def _none_loc(a: Arch) -> Loc:
    """What decides pte_none(): `none_ignores`, else `empty_pte`, else the arch."""
    if a.none_ignores is not None:
        return a.none_ignores.loc
    return a.empty_pte.loc if a.empty_pte is not None else a.loc


def values_for(a: Arch, rt: Any) -> list[int]:
    """At least MIN_VALUES PTE values: 0, every bit, every pair of named
    single-bit fields, the archdef's 16 protections over several pfns,
    seeded random words and random mixes of named bits."""
    word = (1 << a.word_bits) - 1
    out: list[int] = [0] + [1 << b for b in range(a.word_bits)]
    bits = sorted({f.lo for f in a.fields if f.width == 1})
    for i, x in enumerate(bits):
        for y in bits[i + 1:]:
            out.append((1 << x) | (1 << y))
    max_pfn = (1 << a.pfn_bits) - 1
    prots = [rt.vm_get_page_prot(f) for f in range(16)]
    for pfn in (0, 1, 0x1234 & max_pfn, max_pfn):
        for p in prots:
            out.append(rt.pfn_pte(pfn, p) & word)
    rng = random.Random(f"ptdl-verify-{a.name}")
    for _ in range(48):
        out.append(rng.getrandbits(a.word_bits))
    named = [f.mask for f in a.fields if f.role != "pfn"]
    for _ in range(48):
        v = rt.pfn_pte(rng.randrange(max_pfn + 1), 0) & word
        for m in named:
            if rng.random() < 0.4:
                v |= m
        out.append(v & word)
    seen: set[int] = set()
    uniq: list[int] = []
    for v in out:
        if v not in seen:
            seen.add(v)
            uniq.append(v)
    while len(uniq) < MIN_VALUES:
        v = rng.getrandbits(a.word_bits)
        if v not in seen:
            seen.add(v)
            uniq.append(v)
    return uniq


def boundary_pfns(a: Arch) -> list[int]:
    """pfn 0, 1, both sides of both ends and of the top bit of every PFN
    field, the top frame (phys_bits) and the largest pfn the layout holds."""
    max_pfn = (1 << a.pfn_bits) - 1
    pfns = [0, 1]
    for f in a.pfn_fields:
        k, w = f.pfn_offset, f.width
        pfns += [1 << k, (1 << k) - 1, (1 << (k + w - 1)) - 1, 1 << (k + w - 1),
                 (1 << (k + w)) - 1, 1 << (k + w)]
    if a.phys_bits > a.page_shift:
        pfns.append((1 << (a.phys_bits - a.page_shift)) - 1)
    pfns.append(max_pfn)
    out: list[int] = []
    for p in pfns:
        if 0 <= p <= max_pfn and p not in out:
            out.append(p)
    return out


def _pfn_alt(k: KArch, v: int) -> str | None:
    """pte_pfn under the assumptions (karch assume_c "pte_pfn"), or None."""
    alt = k.assume_expr("pte_pfn")
    return None if alt is None else f"(unsigned long long)({alt.format(p=_pte(v))})"


def facts_for(a: Arch, rt: Any, k: KArch, pm: ProtMap | None) -> list[Fact]:
    # the runtime module takes PTE words as i64 bit patterns (runtime/pteval.py)
    from runtime.pteval import s64
    word = (1 << a.word_bits) - 1
    F: list[Fact] = []
    pfn_loc = a.pfn_fields[0].loc if a.pfn_fields else a.loc
    F.append(Fact("PAGE_SHIFT", "PAGE_SHIFT", "PAGE_SHIFT", rt.page_shift,
                  _setting_loc(a, "page_shift", a.loc)))
    F.append(Fact("PTRS_PER_PTE", "PTRS_PER_PTE", "PTRS_PER_PTE", rt.ptrs_per_pte,
                  _setting_loc(a, "ptrs_per_pte", a.loc)))
    F.append(Fact("PFN_PTE_SHIFT", "PFN_PTE_SHIFT", "PTDL_PFN_PTE_SHIFT", rt.pfn_pte_shift,
                  _setting_loc(a, "pfn_pte_shift", pfn_loc)))
    for f in a.fields:
        if f.kernel is not None:
            F.append(Fact(f"mask({f.name})", f"mask of {f.name} ({f.kernel})",
                          f"(unsigned long long)({f.kernel})", f.mask, f.loc))
    vals = values_for(a, rt)
    for p in PREDICATES:
        c = "PTDL_PTE_EXEC" if p == "exec" else f"pte_{p}"
        loc = role_loc(a, p) if p != "none" else _none_loc(a)
        meth = getattr(rt, f"pte_{p}")
        alt = k.assume_expr(f"pte_{p}")
        for v in vals:
            F.append(Fact(f"pte_{p}", f"pte_{p}(0x{v:x})", f"!!{c}({_pte(v)})",
                          int(bool(meth(s64(v)))), loc, boolean=True,
                          c_assume=None if alt is None else "!!" + alt.format(p=_pte(v))))
    for name, (kfn, role) in MUTATORS.items():
        m = a.mutator(name)
        if m is None and not a.role_fields(role) and a.derived_named(role) is None:
            continue
        loc = m.loc if m is not None else role_loc(a, role)
        meth = getattr(rt, f"pte_{name}")
        group = kfn if name != "mkwrite" else "pte_mkwrite_novma"
        tmpl = k.mutator_expr(name) or kfn + "({p})"
        malt = k.assume_expr(group)     # a value expression under the assumptions
        for v in vals:
            F.append(Fact(group, f"{kfn}(0x{v:x})", f"pte_val({tmpl.format(p=_pte(v))})",
                          meth(s64(v)) & word, loc,
                          c_assume=None if malt is None
                          else f"(unsigned long long)({malt.format(p=_pte(v))})"))
    prots = sorted({rt.vm_get_page_prot(f) & word for f in range(16)})
    for pfn in boundary_pfns(a):
        for p in prots:
            got = rt.pfn_pte(pfn, p) & word
            F.append(Fact("pfn_pte", f"pfn_pte(0x{pfn:x}, 0x{p:x})",
                          f"pte_val(pfn_pte({pfn:#x}UL, __pgprot({_lit(p)})))",
                          got, pfn_loc))
            F.append(Fact("pte_pfn", f"pte_pfn(0x{got:x})", f"pte_pfn({_pte(got)})",
                          rt.pte_pfn(s64(got)), pfn_loc, c_assume=_pfn_alt(k, got)))
    for v in vals:
        F.append(Fact("pte_pfn", f"pte_pfn(0x{v:x})", f"pte_pfn({_pte(v)})",
                      rt.pte_pfn(s64(v)), pfn_loc, c_assume=_pfn_alt(k, v)))
    if pm is not None:
        for e in pm.entries:
            item = a.prot_item("none" if e.flags & 7 == 0 else "base")
            lit = a.prot_entry(e.flags)
            F.append(Fact("vm_get_page_prot", f"vm_get_page_prot({vm_name(e.flags)})",
                          k.vm_get_page_prot.format(P=e.expr),
                          rt.vm_get_page_prot(e.flags) & word,
                          lit.loc if lit is not None else
                          item.loc if item is not None else a.loc,
                          runtime=e.runtime, prot_flags=e.flags))
    return F


def prot_loc(a: Arch, flags: int, diff: int) -> Loc:
    """The prot entry that decides the differing bits of vm_get_page_prot(flags)."""
    lit = a.prot_entry(flags)
    if lit is not None and flags & 7:
        return lit.loc
    if flags & 7 == 0:
        it = a.prot_item("none")
        return it.loc if it is not None else a.loc
    order = ["write", "nowrite", "exec", "noexec", "noread", "base"]
    for key in order:
        it = a.prot_item(key)
        if it is None:
            continue
        for fname, _ in it.values:
            f = a.field(fname)
            if f is not None and f.mask & diff:
                if key == "write" and not (flags & 8 and flags & 2):
                    continue
                if key == "nowrite" and flags & 8 and flags & 2:
                    continue
                return it.loc
    if a.role_fields("exec") and diff & a.role_fields("exec")[0].mask:
        return a.role_fields("exec")[0].loc
    it = a.prot_item("base")
    return it.loc if it is not None else a.loc


def pfn_pte_loc(a: Arch, diff: int, fallback: Loc) -> Loc:
    """Where a pfn_pte() mismatch is decided: the PFN field when PFN bits
    differ, else the `pfn_pte { ... }` statement (or the arch, without one)."""
    pm = 0
    for f in a.pfn_fields:
        pm |= f.mask
    if diff & pm:
        return fallback
    if a.pfn_pte_applies is not None:
        return a.pfn_pte_applies.loc
    return a.loc
