"""Shared helpers for the verify tests: is a kernel tree set up, and what
to do when it is not (skip loudly, or fail under PTDL_REQUIRE_KERNEL=1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dsl.verify import kernel_setup
from dsl.verify.karch import KARCHS

ROOT = Path(__file__).resolve().parents[2]
VERIFIED_ARCHS = ("x86", "arm64", "arm64_64k", "mips", "s390", "riscv", "riscv32",
                  "alpha", "m68k", "m68k_coldfire",
                  "powerpc", "powerpc_radix", "powerpc32", "sparc64", "sparc32",
                  "arm", "parisc32", "sh", "sparc64_sun4v", "powerpc32_603", "powerpc_e500",
                  "arc", "arc_pae40", "arm_lpae", "arm_v6", "arm_vivt")


def require() -> bool:
    return os.environ.get("PTDL_REQUIRE_KERNEL") == "1"


def need_kernel(root_arch: str | None = None) -> Path:
    """The tree; skip (or fail, with PTDL_REQUIRE_KERNEL=1) if it or the
    arch's compiler is missing, saying why."""
    tree = kernel_setup.tree_path()
    why = kernel_setup.tree_problem(tree)
    if why is None and root_arch is not None:
        k = KARCHS[root_arch]
        if not kernel_setup.have_compiler(k.cross):
            why = f"no compiler {k.cross}gcc for {root_arch}"
    if why is not None:
        msg = f"KERNEL VERIFY SKIPPED: {why} (run `make kernel`)"
        if require():
            pytest.fail(f"PTDL_REQUIRE_KERNEL=1: {msg}")
        sys.stderr.write(msg + "\n")
        pytest.skip(msg)
    return tree


def ptdl(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "ptdl"
    return subprocess.run([str(exe), "-C", str(ROOT), *args], capture_output=True,
                          text=True, timeout=1800)


def pytest_terminal_summary(terminalreporter: "pytest.TerminalReporter") -> None:
    """Say loudly which kernel checks were skipped, and why."""
    skipped = terminalreporter.stats.get("skipped", [])
    lines = sorted({str(r.longrepr[2]) for r in skipped
                    if isinstance(r.longrepr, tuple) and "KERNEL VERIFY SKIPPED" in str(r.longrepr[2])})
    if lines:
        terminalreporter.write_sep("!", "kernel verification skipped")
        for line in lines:
            terminalreporter.write_line(line)
