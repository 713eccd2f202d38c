"""Integration: the generated header itself, in prefix mode
(-DPTDL_RANGE_PREFIX=ptdl_), compiles inside the real kernel build of every
arch with a compiler, with the kernel's command line and -Werror, and
adds no kernel macro (dsl/verify/dropin.py); and the check fails on broken
headers (a pteval_t on s390, a missing include on mips, an override
marker left in prefix mode on x86), each derived from the shipped header
in a scratch root.  Runs dropin directly, so a fact mismatch of the
arch's verify run does not hide it.  Skipped loudly without a tree or
compiler; a failure under PTDL_REQUIRE_KERNEL=1 (tests/verify/conftest.py)."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import pytest

from dsl.model import Arch
from dsl.project import Project, load
from dsl.verify import dropin
from dsl.verify.compare import Result
from dsl.verify.karch import for_lineage

from .conftest import ROOT, need_kernel

ROOT_ARCH = {"x86": "x86", "arm64": "arm64", "arm64_64k": "arm64", "mips": "mips",
             "s390": "s390", "riscv": "riscv", "riscv32": "riscv", "um": "um",
             "m68k_sun3": "m68k_sun3", "alpha": "alpha", "m68k": "m68k",
             "m68k_coldfire": "m68k_coldfire",
             "powerpc": "powerpc", "powerpc_radix": "powerpc_radix",
             "powerpc32": "powerpc32", "sparc64": "sparc64", "sparc32": "sparc32", "arm": "arm",
             "parisc32": "parisc32", "sh": "sh", "sparc64_sun4v": "sparc64_sun4v",
             "powerpc32_603": "powerpc32", "powerpc_e500": "powerpc_e500",
             "arc": "arc", "arc_pae40": "arc_pae40",
             "arm_lpae": "arm", "arm_v6": "arm", "arm_vivt": "arm"}


@lru_cache(maxsize=None)
def _project() -> Project:
    p = load(ROOT)
    assert p.ok
    return p


def _run(root: Path, name: str) -> tuple[list[str], Result]:
    tree = need_kernel(ROOT_ARCH[name])
    a: Arch = _project().archs[name]
    k = for_lineage(a.lineage)
    assert k is not None
    res = Result(name)
    diags = dropin.dropin(root, tree, a, k, res)
    return [d.message for d in diags], res


@pytest.mark.parametrize("name", sorted(ROOT_ARCH))
def test_header_compiles_in_the_kernel_in_prefix_mode(name: str) -> None:
    errors, res = _run(ROOT, name)
    assert errors == []
    note = next(n for n in res.notes if n.startswith("dropin:"))
    assert "-DPTDL_RANGE_PREFIX=ptdl_ -Werror" in note
    text = dropin.header_path(ROOT, _project().archs[name]).read_text()
    calls, _ = dropin.defined_calls(text)
    assert calls
    for c in calls:
        assert f"ptdl_{c}" in note


def _broken(tmp: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    a = _project().archs[name]
    src = dropin.header_path(ROOT, a)
    dst = dropin.header_path(tmp, a)
    dst.parent.mkdir(parents=True)
    text = src.read_text()
    assert old in text
    dst.write_text(text.replace(old, new, count))
    return tmp


def test_pteval_t_on_s390_is_caught(tmp_path: Path) -> None:
    need_kernel("s390")
    root = _broken(tmp_path, "s390", "__ptdl_pteval_t val = pte_val(pte);",
                   "pteval_t val = pte_val(pte);")
    errors, _ = _run(root, "s390")
    assert len(errors) == 1 and "does not compile in prefix mode" in errors[0], errors
    assert "pteval_t" in errors[0]


def test_missing_include_on_mips_is_caught(tmp_path: Path) -> None:
    need_kernel("mips")
    root = _broken(tmp_path, "mips", "#include <linux/pagemap.h>\n", "")
    errors, _ = _run(root, "mips")
    assert len(errors) == 1 and "folio_flush_mapping" in errors[0], errors


def test_marker_left_in_prefix_mode_is_caught(tmp_path: Path) -> None:
    need_kernel("x86")
    root = _broken(tmp_path, "x86", "#ifndef PTDL_RANGE_PREFIX\n"
                   "#define update_mmu_cache_range update_mmu_cache_range",
                   "#if 1\n#define update_mmu_cache_range update_mmu_cache_range")
    errors, _ = _run(root, "x86")
    assert len(errors) == 1, errors
    assert "update_mmu_cache" in errors[0]


def test_missing_header_is_an_error(tmp_path: Path) -> None:
    need_kernel("mips")
    shutil.rmtree(tmp_path, ignore_errors=True)
    tmp_path.mkdir()
    errors, _ = _run(tmp_path, "mips")
    assert len(errors) == 1 and "does not exist; run `ptdl generate`" in errors[0]
