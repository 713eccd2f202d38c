"""The shim's deferred stores in lazy MMU mode behave as the Python model's.

runtime/c/ptdl_shim.h keeps deferred stores as runs in store order (a
store that follows the last run's last entry extends it) that leave
applies in order (O(1) per store, the last store to an entry wins);
runtime/lazy.py keeps them by entry.  This
drives both with the same random op sequences (enter, stores -- many to the
same entries --, leave, dumps of every table outside the mode) and compares
the C output with what the Python model says: the trace lines and the
entries after each leave.  tests/c/lazy_store.c is the C driver; it is
compiled into this test's own tmp_path (parallel-safe).
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from c_util import ROOT
from runtime.lazy import LazyMmu
from runtime.pagetable import PteTable
from runtime.pteval import s64, u64

GCC = os.environ.get("CC", "gcc")
N = 8192        # entries per table: the largest ptrs_per_pte (arm64 64K)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lazy") / "lazy_store"
    subprocess.run([GCC, "-std=gnu11", "-Wall", "-Werror", "-O1", "-DPAGE_SHIFT=12",
                    f"-DPTDL_PTRS_PER_PTE={N}", f"-I{ROOT / 'runtime' / 'c'}",
                    str(ROOT / "tests" / "c" / "lazy_store.c"), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    return out


def ops(rng: random.Random, sections: int, stores: int, spread: int) -> list[str]:
    out: list[str] = []
    for _ in range(sections):
        lazy = rng.random() < 0.8
        if lazy:
            out.append("e")
        for _ in range(stores):
            out.append(f"s {rng.randint(1, 2)} {rng.randrange(spread)} "
                       f"{rng.getrandbits(64) | 1:x}")
        if lazy:
            out.append("l")
        out.append("d 1")
        out.append("d 2")
    return out


def model(seq: list[str]) -> list[str]:
    """The Python runtime's lazy MMU state machine on the same ops."""
    tables = {pt: PteTable(pt, 1, 0, N, 12) for pt in (1, 2)}
    lazy = LazyMmu()
    out: list[str] = []
    for op in seq:
        w = op.split()
        if w[0] == "e":
            assert lazy.enter()
            out.append("lazy_mmu enter")
        elif w[0] == "l":
            assert lazy.leave()
            out.append("lazy_mmu leave")
        elif w[0] == "s":
            pt, idx, val = int(w[1]), int(w[2]), int(w[3], 16)
            out.append(f"set_pte pt={pt} idx={idx} val=0x{val:x}")
            ref = tables[pt].ref(idx)
            # the model holds the i64 pattern of the u64 word (runtime/pteval.py)
            if lazy.active:
                lazy.defer(ref, s64(val))
            else:
                tables[pt].entries[idx] = s64(val)
        else:
            pt = int(w[1])
            out += [f"entry {pt} {i} 0x{u64(v):x}" for i, v in enumerate(tables[pt].entries) if v]
    return out


@pytest.mark.parametrize("seed,sections,stores,spread", [
    (1, 20, 10, 8),          # few entries: most stores hit an entry already deferred
    (2, 10, 50, 64),
    (3, 3, 3 * N, N),        # one section storing about every entry three times
])
def test_lazy_store_matches_model(driver: Path, seed: int, sections: int, stores: int,
                                  spread: int) -> None:
    seq = ops(random.Random(seed), sections, stores, spread)
    r = subprocess.run([str(driver)], input="\n".join(seq) + "\n", capture_output=True,
                       text=True, check=True)
    assert r.stdout.splitlines() == model(seq)


def test_a_deferred_store_is_invisible_until_leave(driver: Path) -> None:
    seq = ["e", "s 1 3 a1", "s 1 3 b1", "d 1", "l", "d 1"]
    r = subprocess.run([str(driver)], input="\n".join(seq) + "\n", capture_output=True,
                       text=True, check=True)
    assert r.stdout.splitlines() == [
        "lazy_mmu enter", "set_pte pt=1 idx=3 val=0xa1", "set_pte pt=1 idx=3 val=0xb1",
        "lazy_mmu leave", "entry 1 3 0xb1"]
