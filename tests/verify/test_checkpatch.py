"""The tree's scripts/checkpatch.pl --no-tree -f on every generated kernel
header (both modes' code is in the one file): clean.  A header with a
kernel-style fault (spaces for a tab, trailing whitespace) is reported,
so the check can fail.  Needs the kernel tree and perl; skipped loudly
otherwise (a failure under PTDL_REQUIRE_KERNEL=1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsl.verify.checkpatch import checkpatch

from .conftest import ROOT, need_kernel, require

HEADERS = sorted((ROOT / "generated" / "kernel" / "arch").glob("*/include/asm/pgtable-range.h"))


def _need_perl() -> None:
    if shutil.which("perl") is None:
        msg = "KERNEL VERIFY SKIPPED: no perl for scripts/checkpatch.pl"
        if require():
            pytest.fail(f"PTDL_REQUIRE_KERNEL=1: {msg}")
        pytest.skip(msg)


def test_every_header_is_listed() -> None:
    assert len(HEADERS) >= 10


@pytest.mark.parametrize("header", HEADERS, ids=lambda p: p.parts[-4])
def test_checkpatch_clean(header: Path) -> None:
    tree = need_kernel()
    _need_perl()
    rel = header.relative_to(ROOT)
    assert checkpatch(tree, header, ROOT) == [f"checkpatch: {rel}: clean"]


def test_checkpatch_reports_a_fault(tmp_path: Path) -> None:
    tree = need_kernel()
    _need_perl()
    src = ROOT / "generated/kernel/arch/mips/include/asm/pgtable-range.h"
    bad = tmp_path / "generated" / "pgtable-range.h"
    bad.parent.mkdir()
    text = src.read_text().replace("\tunsigned int i;\n", "        unsigned int i;\n", 1)
    text = text.replace("\tunsigned long pfn = 0;\n", "\tunsigned long pfn = 0; \n", 1)
    bad.write_text(text)
    found = checkpatch(tree, bad, tmp_path)
    assert any("ERROR:CODE_INDENT" in line for line in found), found
    assert any("ERROR:TRAILING_WHITESPACE" in line for line in found), found
