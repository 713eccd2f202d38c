"""Benchmark: generated C set_ptes() in ns/PTE against a plain store loop.

Place in the flow: `make bench` runs it after bench_faultaround.py.  For
every arch with a generated header (generated/kernel/arch/*/include/asm/
pgtable-range.h) it compiles benchmarks/bench_setptes.c with gcc -O2, the
arch's -D flags (dsl.generate.charness.gcc_flags) and -DPTDL_NO_TRACE, and
runs it at nr = 16 and nr = 512 (nr capped at ptrs_per_pte).  The entry
value is pfn_pte(0x10000, vm_get_page_prot(VM_READ)) from the arch's Python
module and the plain loop's per-entry step is the model's pte_advance; the
C program checks both loops stored the same values.  Target: generated
<= 2x the plain loop, every arch and nr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NRS = (16, 512)
TARGET = 2.0
VM_READ = 0x1
PFN = 0x10000


def arch_module(name: str) -> object:
    import importlib
    return importlib.import_module(f"generated.runtime.{name}").ARCH


def main() -> int:
    from dsl.generate import charness
    from dsl.project import load

    gcc = os.environ.get("CC", "gcc")
    p = load(ROOT)
    if not p.ok:
        print("archdefs have errors; run `ptdl check`", file=sys.stderr)
        return 1
    rows: list[tuple[str, int, float, float]] = []
    bad = 0
    with tempfile.TemporaryDirectory(prefix="ptdl-bench-") as tmp:
        for name in sorted(p.archs):
            hdr = ROOT / "generated" / "kernel" / "arch" / name / "include" / "asm" / \
                "pgtable-range.h"
            if not hdr.exists():
                continue
            a = p.archs[name]
            exe = Path(tmp) / f"bench_{name}"
            cmd = [gcc, "-std=gnu11", "-O2", *charness.gcc_flags(a), "-DPTDL_NO_TRACE",
                   f'-DPTDL_HEADER="{hdr}"', f"-I{ROOT / 'runtime' / 'c'}",
                   str(ROOT / "benchmarks" / "bench_setptes.c"), "-o", str(exe)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{name}: gcc failed:\n{r.stderr}", file=sys.stderr)
                return 1
            arch = arch_module(name)
            pte = arch.pfn_pte(PFN, arch.vm_get_page_prot(VM_READ))  # type: ignore[attr-defined]
            step = arch.pte_advance(pte, 1) - pte                     # type: ignore[attr-defined]
            for nr in NRS:
                nr = min(nr, a.ptrs_per_pte)
                out = subprocess.run([str(exe), str(nr), hex(pte), hex(step)],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    print(f"{name} nr={nr}: {out.stderr.strip()}", file=sys.stderr)
                    return 1
                w = out.stdout.split()
                rows.append((name, nr, float(w[1]), float(w[3])))
    print("C set_ptes (gcc -O2, trace compiled out): ns/PTE, generated vs plain store loop")
    print(f"{'arch':<12} {'nr':>4} {'generated':>10} {'plain':>8} {'ratio':>7}  target <= {TARGET:.0f}x")
    for name, nr, g, pl in rows:
        ratio = g / pl if pl > 0 else float("inf")
        ok = ratio <= TARGET
        bad += not ok
        print(f"{name:<12} {nr:>4} {g:>10.3f} {pl:>8.3f} {ratio:>6.2f}x  {'ok' if ok else 'MISSED'}")
    print(f"C set_ptes: {len(rows) - bad}/{len(rows)} within {TARGET:.0f}x of the plain loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
