"""The generic set_ptes' deferred range as one run (runtime/c/ptdl_generic.h,
runtime/c/ptdl_shim.h ptdl_defer / ptdl_defer_apply) stores what the
Python model stores.

x86 (`lazy_mmu defer`) runs the generic set_ptes with every set_pte held
back until leave; the shim logs the range once (first entry, first value,
nr) and leave steps it with the arch's pte_next_pfn.  The C trace of a
set_ptes call carries no entry values after leave (x86's
update_mmu_cache_range is empty), so the differential and the conformance
replay would not see a wrong store: this test dumps the tables.  The
expected entries come from the arch's generated Python model
(pte_advance) and runtime/lazy.py, not from the C code: random set_ptes
ranges (ordinary and PROT_NONE entries, whose PFN is stored inverted and
steps down), interleaved with regions of one-entry deferred stores that
touch the same entries.  tests/c/lazy_store.c (with an arch header) is the driver, compiled
into this test's tmp_path (parallel-safe), with and without the run path
(-DPTDL_LAZY_STORES_AT_ONCE: the mode defers nothing) as a control.
"""

from __future__ import annotations

import importlib
import os
import random
import subprocess
from pathlib import Path

import pytest

from c_util import ROOT
from dsl.generate import charness
from dsl.project import load
from runtime.lazy import LazyMmu
from runtime.pagetable import PteTable
from runtime.pteval import s64, u64

GCC = os.environ.get("CC", "gcc")
ARCH = "x86"
N = 512         # x86 ptrs_per_pte
VM_READ, VM_NONE = 0x1, 0x0
HEADER = ROOT / "generated" / "kernel" / "arch" / ARCH / "include" / "asm" / "pgtable-range.h"


def _build(out: Path, extra: list[str]) -> Path:
    a = load(ROOT).archs[ARCH]
    subprocess.run([GCC, "-std=gnu11", "-Wall", "-Werror", "-O2", *charness.gcc_flags(a),
                    *extra, f'-DPTDL_HEADER="{HEADER}"', f"-I{charness.C_DIR}",
                    f"-I{charness.STUB_DIR}", str(ROOT / "tests" / "c" / "lazy_store.c"),
                    "-o", str(out)], check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("lazy_runs")
    return {"runs": _build(d / "runs", []),
            "at_once": _build(d / "at_once", ["-DPTDL_LAZY_STORES_AT_ONCE=1"])}


def ops(rng: random.Random, n: int) -> list[str]:
    arch = importlib.import_module(f"generated.runtime.{ARCH}").ARCH
    out: list[str] = []
    for _ in range(n):
        if rng.random() < 0.25:
            out.append("e")
            for _ in range(rng.randint(1, 6)):
                out.append(f"s {rng.randint(1, 2)} {rng.randrange(N)} "
                           f"{rng.getrandbits(63) | 1:x}")
            out.append("l")
        else:
            nr = rng.choice([1, 2, 3, 16, 17, 64, 512])
            idx = rng.randrange(N - nr + 1)
            prot = arch.vm_get_page_prot(rng.choice([VM_READ, VM_NONE]))
            pte = arch.pfn_pte(rng.randrange(1, 1 << 28), prot)
            out.append(f"p {rng.randint(1, 2)} {idx} {u64(pte):x} {nr}")
        if rng.random() < 0.3:
            out += ["d 1", "d 2"]
    return out + ["d 1", "d 2"]


def model(seq: list[str], defers: bool) -> list[str]:
    """The trace lines and dumps the Python model gives for seq: x86's
    generated pte_advance for the set_ptes values, runtime/lazy.py for
    the deferral.  The script and the C dump carry unsigned words; the
    model holds their i64 patterns (runtime/pteval.py)."""
    arch = importlib.import_module(f"generated.runtime.{ARCH}").ARCH
    tables = {pt: PteTable(pt, 1, 0, N, 12) for pt in (1, 2)}
    lazy = LazyMmu("defer")
    out: list[str] = []

    def store(pt: int, idx: int, val: int) -> None:
        out.append(f"set_pte pt={pt} idx={idx} val=0x{u64(val):x}")
        if lazy.active and lazy.defers_stores():
            lazy.defer(tables[pt].ref(idx), val)
        else:
            tables[pt].entries[idx] = val

    def enter() -> None:
        out.append("lazy_mmu enter")
        if defers:
            assert lazy.enter()

    def leave() -> None:
        out.append("lazy_mmu leave")
        if defers:
            assert lazy.leave()

    for op in seq:
        w = op.split()
        if w[0] == "p":
            pt, idx, pte, nr = int(w[1]), int(w[2]), s64(int(w[3], 16)), int(w[4])
            out.append(f"ptc_set pt={pt} idx={idx} val=0x{u64(pte):x} nr={nr}")
            enter()
            for i in range(nr):
                store(pt, idx + i, arch.pte_advance(pte, i))
            leave()
        elif w[0] == "e":
            enter()
        elif w[0] == "l":
            leave()
        elif w[0] == "s":
            store(int(w[1]), int(w[2]), s64(int(w[3], 16)))
        else:
            pt = int(w[1])
            out += [f"entry {pt} {i} 0x{u64(v):x}" for i, v in enumerate(tables[pt].entries) if v]
    return out


def replay(exe: Path, seq: list[str]) -> list[str]:
    r = subprocess.run([str(exe)], input="\n".join(seq) + "\n", capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deferred_set_ptes_runs_match_model(drivers: dict[str, Path], seed: int) -> None:
    seq = ops(random.Random(seed), 120)
    assert replay(drivers["runs"], seq) == model(seq, True)
    assert replay(drivers["at_once"], seq) == model(seq, False)


def test_prot_none_run_steps_down(drivers: dict[str, Path]) -> None:
    """An inverted (PROT_NONE) entry's PFN steps down (x86 pte_next_pfn,
    6.6): the stepped run must use the arch's advance, not pte + i * step
    of an ordinary entry."""
    arch = importlib.import_module(f"generated.runtime.{ARCH}").ARCH
    pte = arch.pfn_pte(0x10000, arch.vm_get_page_prot(VM_NONE))
    assert arch.pte_advance(pte, 1) < pte
    seq = [f"p 1 8 {u64(pte):x} 4", "d 1"]
    got = replay(drivers["runs"], seq)
    assert got[-4:] == [f"entry 1 {8 + i} 0x{u64(arch.pte_advance(pte, i)):x}" for i in range(4)]
    assert got == model(seq, True)
