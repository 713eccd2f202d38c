"""A PFN transform other than inversion (issue 10 item 11): `pfn_clear_lowest
when COND` makes pte_pfn() clear the lowest set PFN bit when COND holds, as
riscv's pte_pfn() does for Svnapot entries (arch/riscv/include/asm/pgtable.h,
6.12.117: `res & (res - 1)` when has_svnapot() and pte_napot(); _PAGE_NAPOT
is bit 63, _PAGE_PFN_SHIFT 10, pgtable-64.h / pgtable-bits.h).

The fixture is tests/fixtures/catalog/vocabulary.arch `vocab_svnapot`.  The
expected pfns are computed here from the kernel's formula on the raw entry
(independent of the generators); the generated Python module, the C
header's __ptdl_pte_pfn and dsl/generate/encode.py must all give them, and
pfn_pte() must stay the plain field packing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "c"))

from c_util import header, python_arch  # noqa: E402
from dsl.generate import charness, encode  # noqa: E402
from gen_util import project  # noqa: E402

FIXTURE = "tests/fixtures/catalog/vocabulary.arch"
NAPOT = 1 << 63
SHIFT = 10
PFN_MASK = ((1 << 44) - 1) << SHIFT          # _PAGE_PFN_MASK GENMASK(53, 10)


def kernel_pte_pfn(val: int) -> int:
    """riscv pte_pfn() on a Svnapot hart, from the kernel's text."""
    res = (val & PFN_MASK) >> SHIFT
    if val & NAPOT:
        res &= res - 1
    return res


def _entries() -> list[int]:
    prot = 0xcf                                 # V R W X U A D: a user leaf
    out: list[int] = []
    for order in (1, 4, 9, 12):                 # 64K (order 4) is Svnapot's size
        base = 0x12340 << 8
        napot_pfn = (base & ~((1 << order) - 1)) | (1 << (order - 1))
        out.append(NAPOT | (napot_pfn << SHIFT) | prot)
        out.append((napot_pfn << SHIFT) | prot)          # same bits, no N: plain
    out += [NAPOT | (1 << SHIFT) | prot, NAPOT | prot, NAPOT | PFN_MASK | prot]
    return out


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    p = project(FIXTURE)
    assert p.ok, [str(d) for d in p.diags]
    return p.archs["vocab_svnapot"]


def test_python_pte_pfn_clears_lowest_set_bit(model) -> None:  # type: ignore[no-untyped-def]
    arch = python_arch(model, FIXTURE)
    for v in _entries():
        assert arch.pte_pfn(v) == kernel_pte_pfn(v), hex(v)  # type: ignore[attr-defined]
        assert encode.pte_pfn(model, v) == kernel_pte_pfn(v), hex(v)
    # pfn_pte is unchanged: no N bit, the plain packing
    assert arch.pfn_pte(0x12345, 0xcf) == (0x12345 << SHIFT) | 0xcf  # type: ignore[attr-defined]
    assert arch.pte_pfn(NAPOT | (0x12348 << SHIFT)) == 0x12340  # type: ignore[attr-defined]


def test_plain_riscv_is_unchanged() -> None:
    """Without the transform riscv's pte_pfn keeps the N bit's PFN bits."""
    p = project()
    arch = python_arch(p.archs["riscv"], "archdefs/riscv.arch")
    assert arch.pte_pfn(NAPOT | (0x12348 << SHIFT)) == 0x12348  # type: ignore[attr-defined]


PROBE = r"""
#include "ptdl_shim.h"
#include PTDL_HEADER
#include <stdio.h>
int main(void)
{
	unsigned long long v;

	while (scanf("%llx", &v) == 1)
		printf("%#lx\n", __ptdl_pte_pfn(__pte(v)));
	return 0;
}
"""


@pytest.mark.skipif(shutil.which(charness.GCC) is None, reason="gcc not available")
def test_c_pte_pfn_clears_lowest_set_bit(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hdr = tmp_path / "pgtable-range.h"
    hdr.write_text(header(model, FIXTURE))
    src = tmp_path / "probe.c"
    src.write_text(PROBE)
    exe = tmp_path / "probe"
    cmd = [charness.GCC, *charness.CFLAGS, *charness.gcc_flags(model),
           f'-DPTDL_HEADER="{hdr}"', f"-I{charness.C_DIR}", f"-I{charness.STUB_DIR}",
           str(src), "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    vals = _entries()
    out = subprocess.run([str(exe)], input="".join(f"{v:x}\n" for v in vals),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = [int(x, 16) for x in out.stdout.split()]
    assert got == [kernel_pte_pfn(v) for v in vals]
