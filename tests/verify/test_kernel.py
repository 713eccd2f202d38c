"""Integration: `ptdl verify --dropin` against the real kernel tree, per arch,
and the broken fixtures each caught with a located error.  Skipped loudly
without a tree or compiler; failures under PTDL_REQUIRE_KERNEL=1."""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache

import pytest

from .conftest import VERIFIED_ARCHS, need_kernel, ptdl

ROOT_ARCH = {"x86": "x86", "arm64": "arm64", "arm64_64k": "arm64", "mips": "mips",
             "s390": "s390", "riscv": "riscv", "riscv32": "riscv", "alpha": "alpha",
             "m68k": "m68k", "m68k_coldfire": "m68k_coldfire",
             "powerpc": "powerpc", "powerpc_radix": "powerpc_radix", "powerpc32": "powerpc32",
             "sparc64": "sparc64", "sparc32": "sparc32", "arm": "arm",
             "parisc32": "parisc32", "sh": "sh", "sparc64_sun4v": "sparc64_sun4v",
             "powerpc32_603": "powerpc32", "powerpc_e500": "powerpc_e500",
             "arc": "arc", "arc_pae40": "arc_pae40",
             "arm_lpae": "arm", "arm_v6": "arm", "arm_vivt": "arm"}


@lru_cache(maxsize=None)
def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return ptdl(*args)


@pytest.mark.parametrize("arch", VERIFIED_ARCHS)
def test_verify_and_dropin(arch: str) -> None:
    need_kernel(ROOT_ARCH[arch])
    r = _run("verify", "--dropin")     # every arch with a config line and a compiler
    assert r.returncode == 0, r.stdout + r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith(arch + " "))
    compared, matched, runtime, declared, errors = (int(x) for x in row.split()[1:6])
    assert errors == 0
    assert compared >= 256 * 7, row          # >= 256 values through the predicates
    assert matched + declared >= compared, row   # declared may name facts the kernel lacks
    assert f"{arch}: note: dropin:" in r.stdout and "compiles in the" in r.stdout
    assert f"{arch}: note: checkpatch:" in r.stdout


BROKEN = [
    ("x86_wrong_bit.arch", 5, 9,
     r"mask of devmap \(_PAGE_DEVMAP\): kernel 0x200000000000000, archdef 0x100000000000000"),
    ("x86_wrong_mutator.arch", 4, 9, r"pte_mkclean\(0x400000000000000\): kernel 0x0, archdef 0x400000000000000"),
    ("x86_wrong_prot.arch", 4, 9, r"vm_get_page_prot\(VM_NONE\): kernel 0x120, archdef 0x20"),
    ("mips_wrong_mutator.arch", 5, 9, r"pte_mkyoung\(0x0\): kernel 0x104, archdef 0x4"),
    # the descriptions before `none_ignores` / `pfn_pte { mkyoung }`, and a
    # wrong literal prot entry, located at the arch / the entry line
    ("x86_pte_none_exact.arch", 5, 6, r"pte_none\(0x20\): kernel 1, archdef 0"),
    ("s390_pfn_pte_plain.arch", 5, 6, r"pfn_pte\(0x0, 0x601\): kernel 0x605, archdef 0x601"),
    ("riscv_exec_with_read.arch", 5, 9, r"vm_get_page_prot\(VM_EXEC\): kernel 0x59, archdef 0x5b"),
    # powerpc book3s64 without `pfn_pte { ptebit }` / hash's `none_ignores`,
    # and a sparc64 mutator only the sun4u assumption probe can compare
    ("powerpc_pfn_pte_plain.arch", 4, 6,
     r"pfn_pte\(0x0, 0x8000000000000104\): kernel 0xc000000000000104, archdef 0x8000000000000104"),
    ("powerpc_pte_none_exact.arch", 4, 6, r"pte_none\(0x40\): kernel 1, archdef 0"),
    ("sparc64_mkdirty_no_hwwrite.arch", 8, 9,
     r"pte_mkdirty\(0x100\): kernel 0x902, archdef 0x900 \(under the assumptions\)"),
    # sun4v: a mutator only the sun4v (patched-instruction) probe can compare
    ("sparc64_sun4v_mkold_keeps_r.arch", 9, 9,
     r"pte_mkold\(0x8000000000000000\): kernel 0x0, archdef 0x8000000000000000"),
    # sparc32 without `pfn_none when iospace`
    ("sparc32_pfn_always.arch", 8, 9, r"pte_pfn\(0x[0-9a-f]+\): kernel 0xffffffff, archdef 0x[0-9a-f]+"),
    # arm without `nowrite`: every protection but shared writable loses L_PTE_RDONLY
    ("arm_no_nowrite.arch", 6, 9, r"vm_get_page_prot\(VM_READ\): kernel 0x383, archdef 0x303"),
    # arc_pae40 without the PFN bits above PAGE_MASK_PHYS: only visible with
    # CONFIG_ARC_HAS_PAE40 forced on the probe's command line
    ("arc_pae40_pfn_plain.arch", 10, 9, r"pte_pfn\(0x10000000000\): kernel 0x8000000, archdef 0x0"),
]

_ROOT_OF = {"mips": "mips", "x86": "x86", "s390": "s390", "riscv": "riscv",
            "powerpc": "powerpc", "sparc64": "sparc64", "sparc32": "sparc32", "arm": "arm",
            "arc": "arc_pae40"}


@pytest.mark.parametrize("fixture,line,col,msg", BROKEN)
def test_broken_fixture_is_located(fixture: str, line: int, col: int, msg: str) -> None:
    need_kernel(_ROOT_OF[fixture.split("_")[0]])
    path = f"tests/fixtures/verify/{fixture}"
    r = _run("verify", *(f"tests/fixtures/verify/{b[0]}" for b in BROKEN))
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(rf"^{re.escape(path)}:{line}:{col}: error: {msg}", r.stderr, re.M), r.stderr


def test_declared_differences_listed_apart() -> None:
    need_kernel("arm64")
    r = _run("verify", "--dropin")
    assert r.returncode == 0, r.stderr
    assert "declared differences" in r.stdout
    assert re.search(r"archdefs/arm64\.arch:\d+:5: pte_present: \d+ value\(s\) differ in 6\.12",
                     r.stdout)


def test_coldfire_shipped_fixture_is_the_kernel() -> None:
    """The ColdFire finding (archdefs/m68k.arch): m68k_coldfire describes the
    intended protections and declares the eight values where the kernel's
    protection_map differs; the broken fixture with the shipped map matches
    the kernel on every fact, so verify finds nothing to compare those
    declarations against -- exactly the eight 'kernel agrees' errors."""
    need_kernel("m68k_coldfire")
    r = _run("verify", "tests/fixtures/broken/m68k_coldfire_shipped.arch")
    assert r.returncode == 1, r.stdout + r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("m68k_coldfire_shipped "))
    compared, matched, runtime, declared, errors = (int(x) for x in row.split()[1:6])
    assert compared == matched and declared == 0 and errors == 8, row
    assert r.stderr.count("but the kernel agrees with the archdef") == 8, r.stderr
