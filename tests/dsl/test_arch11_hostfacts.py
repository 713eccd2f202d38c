"""The archdefs without a Debian cross compiler (csky, csky_abiv1, microblaze, nios2) against
values computed from the kernel, not from the code under test.

Expected values: the 6.12.117 headers compiled with the host gcc (pte_t a
32-bit word) and run -- arch/csky/abiv2/inc/abi/pgtable-bits.h with
arch/csky/include/asm/pgtable.h lines 36-60, 141-201 and the
protection_map of arch/csky/mm/init.c lines 201-218; arch/microblaze/
include/asm/pgtable.h lines 146-274 and arch/microblaze/mm/init.c lines
268-285; arch/nios2/include/asm/pgtable-bits.h lines 20-35 with
pgtable.h MKP, lines 87-151, 172-173 and arch/nios2/mm/init.c lines 132-149.
The archdef comments give the full figures (384, 374 and 338 facts, all
equal); the protection tables and a few helper values are pinned here.
"""

from __future__ import annotations

import importlib

import pytest

from dsl.generate import layout
from dsl.project import Project, load

from frontend_util import ROOT

CSKY_KERNEL = [0x200, 0x5c8, 0x5c8, 0x5c8, 0x5c8, 0x5c8, 0x5c8, 0x5c8,
               0x200, 0x5c8, 0x7c8, 0x7c8, 0x5c8, 0x5c8, 0x7c8, 0x7c8]
NIOS2_KERNEL = [0x3000000, 0x3800000, 0x3000000, 0x3800000, 0x3200000, 0x3a00000,
                0x3200000, 0x3a00000, 0x3000000, 0x3800000, 0x3400000, 0x3c00000,
                0x3200000, 0x3a00000, 0x3600000, 0x3e00000]
# csky ABIv1: arch/csky/abiv1/inc/abi/pgtable-bits.h with the same common
# pgtable.h lines 36-40, 53-60, 141-201 and mm/init.c 201-218 (6.12.117):
# 308 facts (16 protections, 23 entries x 12 helpers, 16 pfn_pte), all equal
CSKY_ABIV1_KERNEL = [0x2, 0x60b, 0x60b, 0x60b, 0x60b, 0x60b, 0x60b, 0x60b,
                     0x2, 0x60b, 0x60f, 0x60f, 0x60b, 0x60b, 0x60f, 0x60f]
MICROBLAZE_KERNEL = [0x402, 0x412, 0x412, 0x412, 0x412, 0x412, 0x412, 0x412,
                     0x402, 0x412, 0x452, 0x452, 0x412, 0x412, 0x452, 0x452]


@pytest.fixture(scope="module")
def project() -> Project:
    return load(ROOT, ["archdefs/csky.arch", "archdefs/csky_abiv1.arch",
                       "archdefs/microblaze.arch", "archdefs/nios2.arch"])


def test_csky_protection_map_is_the_kernels(project: Project) -> None:
    assert layout.prot_table(project.archs["csky"]) == CSKY_KERNEL


def test_csky_abiv1_protection_map_is_the_kernels(project: Project) -> None:
    assert layout.prot_table(project.archs["csky_abiv1"]) == CSKY_ABIV1_KERNEL


def test_csky_abiv1_helpers_are_the_kernels() -> None:
    a = importlib.import_module("generated.runtime.csky_abiv1").ARCH
    # host-compiled: PAGE_NONE is _PAGE_READ alone (not present, and
    # pte_mkyoung makes it hardware-valid), pte_none ignores _PAGE_GLOBAL (bit 6)
    assert not a.pte_present(0x2) and a.pte_mkyoung(0x2) == 0x8a
    assert a.pte_none(0x40) and a.pte_mkwrite(0x40) == 0x44
    assert a.pte_wrprotect(0x7ff) == 0x6fb and a.pte_mkclean(0x7ff) == 0x6ef
    assert a.pte_mkold(0x7ff) == 0x777
    assert a.pfn_pte(0x7ffff - 10 * 0x1111, CSKY_ABIV1_KERNEL[10]) == 0x7555560f


def test_microblaze_protection_map_is_the_kernels(project: Project) -> None:
    assert layout.prot_table(project.archs["microblaze"]) == MICROBLAZE_KERNEL


def test_csky_helpers_are_the_kernels() -> None:
    a = importlib.import_module("generated.runtime.csky").ARCH
    # host-compiled: pte_mkyoung sets _PAGE_VALID only with _PAGE_READ,
    # pte_mkwrite / pte_mkdirty set the hardware _PAGE_DIRTY only with
    # MODIFIED / WRITE, pte_none ignores _PAGE_GLOBAL
    assert a.pte_mkyoung(0x5c8) == 0x5ca and a.pte_mkyoung(0x4) == 0x84
    assert a.pte_mkwrite(0x5c8) == 0x7c8 and a.pte_mkwrite(0x800) == 0xa04
    assert a.pte_mkdirty(0x7c8) == 0xfcc and a.pte_mkold(0x5ca) == 0x548
    assert a.pte_none(0x1) and not a.pte_none(0x2)
    assert a.pfn_pte(0x7ffff, CSKY_KERNEL[10]) == 0x7ffff7c8


def test_microblaze_helpers_are_the_kernels() -> None:
    a = importlib.import_module("generated.runtime.microblaze").ARCH
    # host-compiled: wrprotect clears RW | HWWRITE, mkclean DIRTY | HWWRITE
    assert a.pte_wrprotect(0x1d2) == 0x92 and a.pte_mkclean(0x1d2) == 0x52
    assert a.pte_mkwrite(0x412) == 0x452 and a.pte_mkyoung(0x12) == 0x412
    assert a.pfn_pte(0xfffff, MICROBLAZE_KERNEL[10]) == 0xfffff452


def test_nios2_protection_map_is_the_kernels(project: Project) -> None:
    assert layout.prot_table(project.archs["nios2"]) == NIOS2_KERNEL


def test_nios2_helpers_are_the_kernels() -> None:
    a = importlib.import_module("generated.runtime.nios2").ARCH
    # host-compiled: pte_none ignores _PAGE_GLOBAL and the low 4 bits, the
    # PFN is bits 0..19, pfn_pte() ORs the pfn in
    assert a.pte_none(0xf) and a.pte_none(0x100000) and not a.pte_none(0x10)
    assert a.pte_mkwrite(0x3800000) == 0x3c00000 and a.pte_mkyoung(0x3800000) == 0x7800000
    assert a.pte_pfn(0x3e12345) == 0x12345
    assert a.pfn_pte(0x7ffff, NIOS2_KERNEL[15]) == 0x3e7ffff
