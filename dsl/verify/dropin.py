"""`ptdl verify --dropin`: compile the generated header inside the kernel build.

Place in the flow: after compare.verify_arch, in the same prepared build.
The translation unit includes the kernel's own mm headers, renames the
range-API calls the header defines (`#define set_ptes ptdl_set_ptes`, ...)
and includes a copy of generated/kernel/arch/<arch>/include/asm/
pgtable-range.h from which the override markers (`#define set_ptes
set_ptes`, `#define update_mmu_cache(...)`,
`#define ARCH_IMPLEMENTS_FLUSH_DCACHE_FOLIO 1`) are left out -- with the
rename in force they would redefine the rename macros; the header has no
prefix mode yet (see the README).  A function then calls every renamed
call, so the bodies are compiled for real, with the kernel's compiler and
flags plus -Werror.  checkpatch.py runs on the header afterwards.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..model import Arch
from ..source import Diagnostic
from . import kbuild
from .checkpatch import checkpatch
from .compare import Result
from .karch import KArch

PREFIX = "ptdl_"
CALLS = {
    "set_ptes": ("void", "set_ptes(mm, addr, ptep, pte, nr);"),
    "update_mmu_cache_range": ("void", "update_mmu_cache_range(vmf, vma, addr, ptep, nr);"),
    "flush_dcache_folio": ("void", "flush_dcache_folio(folio);"),
    "flush_icache_pages": ("void", "flush_icache_pages(vma, page, nr);"),
    "pte_next_pfn": ("pte_t", "pte = pte_next_pfn(pte);"),
}
_MARKER = re.compile(r"^#define\s+(\w+)\s+\1\s*$")


def header_path(root: Path, a: Arch) -> Path:
    return root / "generated" / "kernel" / "arch" / a.name / "include" / "asm" / "pgtable-range.h"


def defined_calls(text: str) -> list[str]:
    """Kernel-visible functions the header defines (not its __ptdl_ helpers)."""
    names = re.findall(r"^static inline [^(]*?\b(\w+)\(", text, re.M)
    return [n for n in dict.fromkeys(names) if not n.startswith("__ptdl")]


def strip_markers(text: str) -> str:
    out: list[str] = []
    skip = False
    for line in text.splitlines():
        if skip:
            skip = line.endswith("\\")
            continue
        if _MARKER.match(line) or line.startswith("#define ARCH_IMPLEMENTS_FLUSH_DCACHE_FOLIO"):
            continue
        if line.startswith("#define update_mmu_cache("):
            skip = line.endswith("\\")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def translation_unit(a: Arch, header_name: str, calls: list[str], has_pteval_t: bool = True) -> str:
    L = ["/* ptdl verify --dropin: the generated header against the real kernel */",
         "#include <linux/mm.h>", "#include <linux/pgtable.h>", "#include <linux/highmem.h>",
         "#include <linux/pagemap.h>",
         "#include <asm/cacheflush.h>", "#include <asm/tlbflush.h>", ""]
    if not has_pteval_t:
        L += ["/* this arch has no pteval_t; the header uses it */",
              "typedef __typeof__(pte_val(__pte(0))) ptdl_pteval_t;",
              "#define pteval_t ptdl_pteval_t"]
    for n in calls:
        L += [f"#undef {n}", f"#define {n} {PREFIX}{n}"]
    L += [f'#include "{header_name}"', "",
          "void ptdl_dropin_use(struct mm_struct *mm, struct vm_area_struct *vma,",
          "\t\t     struct vm_fault *vmf, unsigned long addr, pte_t *ptep,",
          "\t\t     pte_t pte, unsigned int nr, struct folio *folio,",
          "\t\t     struct page *page);",
          "void ptdl_dropin_use(struct mm_struct *mm, struct vm_area_struct *vma,",
          "\t\t     struct vm_fault *vmf, unsigned long addr, pte_t *ptep,",
          "\t\t     pte_t pte, unsigned int nr, struct folio *folio,",
          "\t\t     struct page *page)", "{"]
    for n in calls:
        if n in CALLS:
            L.append("\t" + CALLS[n][1])
    L += ["\t(void)mm; (void)vma; (void)vmf; (void)addr; (void)ptep; (void)pte;",
          "\t(void)nr; (void)folio; (void)page;", "}", ""]
    return "\n".join(L)


def dropin(root: Path, tree: Path, a: Arch, k: KArch, res: Result) -> list[Diagnostic]:
    hp = header_path(root, a)
    if not hp.is_file():
        return [Diagnostic(a.loc, f"--dropin: {hp.relative_to(root)} does not exist; run `ptdl generate`")]
    assert a.config is not None
    b = kbuild.ensure(tree, k, a.config)
    text = hp.read_text(encoding="utf-8")
    calls = defined_calls(text)
    hname = f"ptdl-range-{a.name}.h"
    (b.dir / kbuild.PROBE_DIR / hname).write_text(strip_markers(text), encoding="utf-8")
    c = kbuild.compile_c(b, f"dropin_{a.name}", translation_unit(a, hname, calls, k.pteval_t), "-Werror")
    if not c.ok:
        errs = [line for line in c.errors.splitlines() if "error" in line][:8]
        return [Diagnostic(a.loc, f"--dropin: {hp.relative_to(root)} does not compile in the "
                           f"{k.karch} kernel build ({a.config.defconfig}, -Werror):\n  "
                           + "\n  ".join(errs))]
    res.notes.append(f"dropin: {hp.relative_to(root)} compiles in the {k.karch} kernel build "
                     f"with -Werror, calls renamed {PREFIX}*: {', '.join(calls)}")
    res.notes.extend(checkpatch(tree, hp, root))
    return []
