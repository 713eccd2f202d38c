"""`ptdl verify --dropin`: compile the generated header itself inside the kernel build.

Place in the flow: after compare.verify_arch, in the same prepared build.
The header (generated/kernel/arch/<arch>/include/asm/pgtable-range.h, put
on the include path with -I, never copied or edited) is compiled in its
prefix mode, `-DPTDL_RANGE_PREFIX=ptdl_`, with exactly the kernel's
compiler command for that build plus -Werror, by a translation unit that
includes nothing before it (the header must bring its own includes) and
calls every function it defines under its prefixed name, so each body is
compiled to code, next to the arch's own set_ptes() & co.  A second,
preprocessor-only pass (-E -dM) checks that in prefix mode the header adds
no macro outside its own PTDL_*/__ptdl_* namespace (the override markers,
update_mmu_cache(), ARCH_IMPLEMENTS_FLUSH_DCACHE_FOLIO are left out).
checkpatch.py runs on the header afterwards.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..model import Arch
from ..source import Diagnostic
from . import kbuild
from .checkpatch import checkpatch
from .compare import Result
from .karch import KArch

PREFIX = "ptdl_"
# function the header may define -> the statement of ptdl_dropin_use calling it
CALLS = {
    "set_ptes": "{p}set_ptes(mm, addr, ptep, pte, nr);",
    "update_mmu_cache_range": "{p}update_mmu_cache_range(vmf, vma, addr, ptep, nr);",
    "flush_dcache_folio": "{p}flush_dcache_folio(folio);",
    "flush_icache_pages": "{p}flush_icache_pages(vma, page, nr);",
    "set_pmd_at": "{p}set_pmd_at(mm, addr, (pmd_t *)ptep, __pmd(pte_val(pte)));",
    "update_mmu_cache_pmd": "{p}update_mmu_cache_pmd(vma, addr, (pmd_t *)ptep);",
    "pte_next_pfn": "set_pte(ptep, {p}pte_next_pfn(pte));",
    "flush_cache_mm": "{p}flush_cache_mm(mm);",
    "flush_cache_dup_mm": "{p}flush_cache_dup_mm(mm);",
    "flush_cache_range": "{p}flush_cache_range(vma, addr, addr + PAGE_SIZE);",
    "flush_cache_page": "{p}flush_cache_page(vma, addr, pte_pfn(pte));",
    "copy_user_highpage": "{p}copy_user_highpage(page, pte_page(pte), addr, vma);",
    "clear_user_highpage": "{p}clear_user_highpage(page, addr);",
}
_NAMED = re.compile(r"^static inline [^(]*?\bPTDL_RANGE_NAME\((\w+)\)\(", re.M)
_PLAIN = re.compile(r"^static inline [^(]*?\b(\w+)\(", re.M)
# the macros the header may add in prefix mode: its own namespace and guard
_OWN_MACRO = re.compile(r"^(PTDL_\w+|__PTDL_\w+|__ptdl_\w+|_ASM_\w+_PGTABLE_RANGE_H)$")


def header_path(root: Path, a: Arch) -> Path:
    return root / "generated" / "kernel" / "arch" / a.name / "include" / "asm" / "pgtable-range.h"


def defined_calls(text: str) -> tuple[list[str], list[str]]:
    """The functions the header defines through PTDL_RANGE_NAME(), and the
    problems: a non-__ptdl_ function named directly (prefix mode would not
    rename it), or one this module has no call for."""
    named = list(dict.fromkeys(_NAMED.findall(text)))
    problems = [f"defines {n}() without PTDL_RANGE_NAME(): it would clash in prefix mode"
                for n in dict.fromkeys(_PLAIN.findall(text))
                if not n.startswith("__ptdl") and n != "PTDL_RANGE_NAME"]
    problems += [f"defines {n}(), which dsl/verify/dropin.py CALLS does not know how to call"
                 for n in named if n not in CALLS]
    return named, problems


def translation_unit(calls: list[str], prefix: str = PREFIX) -> str:
    L = ["/* ptdl verify --dropin: the generated header against the real kernel */",
         "#include <asm/pgtable-range.h>", "",
         "void ptdl_dropin_use(struct mm_struct *mm, struct vm_area_struct *vma,",
         "\t\t     struct vm_fault *vmf, unsigned long addr, pte_t *ptep,",
         "\t\t     pte_t pte, unsigned int nr, struct folio *folio,",
         "\t\t     struct page *page);",
         "void ptdl_dropin_use(struct mm_struct *mm, struct vm_area_struct *vma,",
         "\t\t     struct vm_fault *vmf, unsigned long addr, pte_t *ptep,",
         "\t\t     pte_t pte, unsigned int nr, struct folio *folio,",
         "\t\t     struct page *page)", "{"]
    for n in calls:
        L.append("\t" + CALLS[n].format(p=prefix))
    L += ["\t(void)mm; (void)vma; (void)vmf; (void)addr; (void)ptep; (void)pte;",
          "\t(void)nr; (void)folio; (void)page;", "}", ""]
    return "\n".join(L)


def baseline_unit(text: str) -> str:
    """The header's own #include lines alone: what the kernel defines
    before the header adds anything."""
    incs = re.findall(r"^#include <[^>]+>$", text, re.M)
    return "\n".join(["/* ptdl verify --dropin: the header's includes alone */", *incs, ""])


def foreign_macros(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Macros the header added or changed outside its own namespace."""
    return sorted(n for n, v in after.items()
                  if before.get(n) != v and not _OWN_MACRO.match(n))


def compile_flags(root: Path, a: Arch, prefix: str = PREFIX) -> str:
    inc = header_path(root, a).parent.parent
    return f"-I{inc} -DPTDL_RANGE_PREFIX={prefix} -Werror"


def dropin(root: Path, tree: Path, a: Arch, k: KArch, res: Result) -> list[Diagnostic]:
    hp = header_path(root, a)
    if not hp.is_file():
        return [Diagnostic(a.loc, f"--dropin: {hp.relative_to(root)} does not exist; run `ptdl generate`")]
    rel = hp.relative_to(root)
    assert a.config is not None
    b = kbuild.ensure(tree, k, a.config)
    text = hp.read_text(encoding="utf-8")
    calls, problems = defined_calls(text)
    if problems:
        return [Diagnostic(a.loc, f"--dropin: {rel}: {p}") for p in problems]
    name = f"dropin_{a.name}_{os.getpid()}"
    flags = compile_flags(root, a)
    c = kbuild.compile_c(b, name, translation_unit(calls), flags)
    for ext in (".c", ".s"):
        (b.dir / kbuild.PROBE_DIR / (name + ext)).unlink(missing_ok=True)
    if not c.ok:
        errs = [line for line in c.errors.splitlines() if "error" in line][:8]
        return [Diagnostic(a.loc, f"--dropin: {rel} does not compile in prefix mode in the "
                           f"{k.karch} kernel build ({a.config.defconfig}, {flags}):\n  "
                           + "\n  ".join(errs or c.errors.splitlines()[-8:]))]
    before = kbuild.macros(b, name + "_mac", baseline_unit(text), flags)
    after = kbuild.macros(b, name + "_mac", translation_unit(calls), flags)
    if before is None or after is None:
        return [Diagnostic(a.loc, f"--dropin: {rel}: the preprocessor pass (-E -dM) failed")]
    foreign = foreign_macros(before, after)
    if foreign:
        return [Diagnostic(a.loc, f"--dropin: {rel} defines kernel macros in prefix mode: "
                           + ", ".join(foreign))]
    cc = c.command.split()[0] if c.command else "?"
    res.notes.append(f"dropin: {rel} compiles in the {k.karch} kernel build "
                     f"({cc}, the kernel's flags, {flags.split(' ', 1)[1]}); "
                     f"called {', '.join(PREFIX + n for n in calls)}; "
                     "no macro outside PTDL_*/__ptdl_*")
    res.notes.extend(checkpatch(tree, hp, root))
    return []
