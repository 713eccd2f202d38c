"""The generated header in prefix mode (-DPTDL_RANGE_PREFIX=...), compiled
against the userspace shim: every function it defines comes out under the
prefixed name and under no other, the override markers are gone, and the
header needs nothing included before it (its own #include lines reach the
shim through runtime/c/include).  Expected names come from the header's
own text (`static inline ... PTDL_RANGE_NAME(n)(`) and the definitions
gcc reports (-aux-info), not from the generator."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from c_util import arch_names, header, model
from dsl.generate import charness

ARCHS = arch_names()
PREFIX = "ptdlx_"
# how a test TU calls each function the header may define
CALL = {
    "set_ptes": "{p}set_ptes(mm, addr, ptep, pte, nr);",
    "update_mmu_cache_range": "{p}update_mmu_cache_range(vmf, vma, addr, ptep, nr);",
    "flush_dcache_folio": "{p}flush_dcache_folio(folio);",
    "flush_icache_pages": "{p}flush_icache_pages(vma, page, nr);",
    "pte_next_pfn": "*ptep = {p}pte_next_pfn(pte);",
    "set_pmd_at": "{p}set_pmd_at(mm, addr, (pmd_t *)ptep, __pmd(pte_val(pte)));",
    "update_mmu_cache_pmd": "{p}update_mmu_cache_pmd(vma, addr, (pmd_t *)ptep);",
    "flush_cache_mm": "{p}flush_cache_mm(mm);",
    "flush_cache_dup_mm": "{p}flush_cache_dup_mm(mm);",
    "flush_cache_range": "{p}flush_cache_range(vma, addr, addr + PAGE_SIZE);",
    "flush_cache_page": "{p}flush_cache_page(vma, addr, 0x1000UL);",
    "copy_user_highpage": "{p}copy_user_highpage(page, page, addr, vma);",
    "clear_user_highpage": "{p}clear_user_highpage(page, addr);",
}
MARKERS = ("set_ptes", "update_mmu_cache_range", "update_mmu_cache", "flush_dcache_folio",
           "flush_icache_pages", "pte_next_pfn", "ARCH_IMPLEMENTS_FLUSH_DCACHE_FOLIO",
           "set_pmd_at", "update_mmu_cache_pmd",
           "flush_cache_mm", "flush_cache_range", "flush_cache_page", "flush_cache_dup_mm",
           "__HAVE_ARCH_COPY_USER_HIGHPAGE", "copy_user_highpage", "clear_user_highpage")


def named(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"^static inline [^(]*?\bPTDL_RANGE_NAME\((\w+)\)\(",
                                         text, re.M)))


def _tu(h: Path, names: list[str], prefix: str) -> str:
    body = "\n".join("\t" + CALL[n].format(p=prefix) for n in names)
    return (f'#include "{h}"\n\n'
            "void use(struct mm_struct *mm, struct vm_area_struct *vma, struct vm_fault *vmf,\n"
            "\t unsigned long addr, pte_t *ptep, pte_t pte, unsigned int nr,\n"
            "\t struct folio *folio, struct page *page);\n"
            "void use(struct mm_struct *mm, struct vm_area_struct *vma, struct vm_fault *vmf,\n"
            "\t unsigned long addr, pte_t *ptep, pte_t pte, unsigned int nr,\n"
            "\t struct folio *folio, struct page *page)\n{\n" + body +
            "\n\t(void)mm; (void)vma; (void)vmf; (void)addr; (void)ptep; (void)pte;\n"
            "\t(void)nr; (void)folio; (void)page;\n}\n")


def _gcc(a_name: str, tmp: Path, text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    a = model(a_name)
    h = tmp / "pgtable-range.h"
    h.write_text(text)
    src = tmp / "t.c"
    src.write_text(_tu(h, named(text), PREFIX if "-DPTDL_RANGE_PREFIX=" + PREFIX in extra
                       else ""))
    return subprocess.run(["gcc", *charness.CFLAGS, "-O0", *charness.gcc_flags(a),
                           f"-I{charness.C_DIR}", f"-I{charness.STUB_DIR}", *extra, str(src)],
                          capture_output=True, text=True, cwd=tmp)


def _definitions(aux: Path) -> set[str]:
    """The functions gcc's -aux-info file records as defined (flag F:
    `/* FILE:LINE:NF */ static void name (...);`)."""
    return {m.group(1) for m in re.finditer(r"^/\* [^*]*:\d+:[NO]F \*/ .*?\b(\w+) \(",
                                            aux.read_text(), re.M)}


def _header_functions(name: str, tmp: Path, text: str) -> set[str]:
    """The functions the header adds in prefix mode, as gcc's front end
    reports them (-aux-info: every function the translation unit defines,
    used or not), minus the shim's own.  (This gives the same sets as the
    symbol table of -fkeep-inline-functions objects, for every arch, at a
    tenth of the cost: no code generation.)"""
    flags = (f"-DPTDL_RANGE_PREFIX={PREFIX}", "-fsyntax-only")
    r = _gcc(name, tmp, text, *flags, "-aux-info", "t.aux")
    assert r.returncode == 0, r.stderr
    base = tmp / "base.c"
    base.write_text('#include "ptdl_shim.h"\n')
    a = model(name)
    r2 = subprocess.run(["gcc", *charness.CFLAGS, "-O0", *charness.gcc_flags(a),
                         f"-I{charness.C_DIR}", *flags, "-aux-info", str(tmp / "base.aux"),
                         str(base)], capture_output=True, text=True)
    assert r2.returncode == 0, r2.stderr
    return _definitions(tmp / "t.aux") - _definitions(tmp / "base.aux") - {"use"}


def _check_prefixed(text: str, found: set[str]) -> list[str]:
    names = named(text)
    bad = [f"{n}: not defined as {PREFIX}{n}" for n in names if PREFIX + n not in found]
    bad += [f"{s}: defined outside the prefix and the __ptdl_ helpers" for s in sorted(found)
            if not s.startswith((PREFIX, "__ptdl_"))]
    return bad


@pytest.mark.parametrize("name", ARCHS)
def test_prefix_mode_renames_every_function(name: str, tmp_path: Path) -> None:
    text = header(model(name))
    assert named(text), "the header defines no function through PTDL_RANGE_NAME()"
    assert _check_prefixed(text, _header_functions(name, tmp_path, text)) == []


def test_a_function_outside_the_prefix_is_caught(tmp_path: Path) -> None:
    """The check above fails on a header that names a call directly."""
    text = header(model("mips"))
    broken = text.replace("PTDL_RANGE_NAME(flush_dcache_folio)(", "flush_dcache_folio(", 1)
    assert broken != text
    bad = _check_prefixed(broken, _header_functions("mips", tmp_path, broken))
    assert bad == ["flush_dcache_folio: defined outside the prefix and the __ptdl_ helpers"]


@pytest.mark.parametrize("name", ARCHS)
def test_prefix_mode_leaves_out_the_markers(name: str, tmp_path: Path) -> None:
    text = header(model(name))
    plain = _gcc(name, tmp_path, text, "-E", "-dM", "-o", "plain.i")
    pre = _gcc(name, tmp_path, text, f"-DPTDL_RANGE_PREFIX={PREFIX}", "-E", "-dM",
               "-o", "pre.i")
    assert plain.returncode == 0 and pre.returncode == 0, plain.stderr + pre.stderr

    def defined(f: str) -> set[str]:
        return {m.group(1) for m in re.finditer(r"^#define (\w+)", (tmp_path / f).read_text(),
                                                re.M)}
    d_plain, d_pre = defined("plain.i"), defined("pre.i")
    for m in MARKERS:
        assert m not in d_pre, m
    own = {n for n in named(text)}
    # the plain mode still has them: what the header overrides (the kernel
    # spells copy_user_highpage's marker __HAVE_ARCH_COPY_USER_HIGHPAGE)
    if "copy_user_highpage" in own:
        own = (own - {"copy_user_highpage"}) | {"__HAVE_ARCH_COPY_USER_HIGHPAGE"}
    assert own <= d_plain
    assert "PTDL_RANGE_NAME" in d_pre and "PTDL_RANGE_NAME" in d_plain


def test_paste_does_not_expand_the_name(tmp_path: Path) -> None:
    """A kernel macro spelled like a call (arm64 without CONFIG_ARM64_CONTPTE:
    `#define set_ptes __set_ptes`) must not leak into the prefixed name."""
    text = header(model("arm64"))
    h = tmp_path / "pgtable-range.h"
    h.write_text(text)
    src = tmp_path / "t.c"
    src.write_text('#include "ptdl_shim.h"\n#define set_ptes __set_ptes\n'
                   f'#include "{h}"\nvoid (*f)(struct mm_struct *, unsigned long, pte_t *, '
                   f'pte_t, unsigned int) = {PREFIX}set_ptes;\n')
    a = model("arm64")
    r = subprocess.run(["gcc", *charness.CFLAGS, *charness.gcc_flags(a), f"-I{charness.C_DIR}",
                        f"-I{charness.STUB_DIR}", f"-DPTDL_RANGE_PREFIX={PREFIX}", "-c",
                        str(src), "-o", str(tmp_path / "t.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
