"""The runtime modules `ptdl build` compiles at -O1 are off the fault path.

Place in the flow: tests of dsl/build.py's optimisation split.  A cold build
spends about half its gcc time on runtime modules; the ones the fault-around
benchmark (benchmarks/bench_faultaround.py) hardly runs compile at the arch
level (dsl.build.COLD_RUNTIME).  This test measures, from outside the build,
what each runtime module runs of that benchmark's loop: the same loop on its
machine (bench_faultaround.fault_around_machine: x86,
fault-around of 64 KiB folios, page_table_check and the oracle on) at 4 MiB,
on a copy of runtime/ without compiled extensions, counting the Python lines
executed per source file with sys.settrace, trace off and on.  Line counts
are deterministic (no timing), so the check is stable on a loaded machine.
A runtime change that makes a -O1 module hot fails here: move it out of
COLD_RUNTIME (or make it cold again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dsl import build as B

ROOT = Path(__file__).resolve().parents[2]

BENCH = ROOT / "benchmarks"

LOOP = r'''
import collections, json, sys
sys.path.append(sys.argv[1])
import runtime.kernel
import generated.runtime.x86 as x86mod
from bench_faultaround import BASE, FOLIO, fault_around_machine

def shares(trace: bool) -> dict[str, int]:
    size = 4 << 20
    k, mm = fault_around_machine(size, trace)
    counts: collections.Counter[str] = collections.Counter()

    def tracer(frame, event, arg):
        if event == "line":
            counts[frame.f_code.co_filename] += 1
        return tracer

    sys.settrace(tracer)
    for a in range(BASE, BASE + size, FOLIO):
        assert k.user_read(mm, a) >= 0
    sys.settrace(None)
    assert k.faults == size // FOLIO and not k.violations
    return dict(counts)

print(json.dumps({"files": [runtime.kernel.__file__, x86mod.__file__],
                  "off": shares(False), "on": shares(True)}))
'''


def loop_lines(tmp: Path) -> dict[str, dict[str, int]]:
    """Lines executed per module (path relative to the tree) in the loop,
    trace off and on, on the pure-Python runtime and x86 module."""
    sys.path.insert(0, str(BENCH))
    try:
        from bench_faultaround import interpreted_tree
    finally:
        sys.path.remove(str(BENCH))
    interpreted_tree(str(tmp))
    env = dict(os.environ, PYTHONPATH=str(tmp))
    env.pop("PTDL_INTERPRETED", None)
    out = subprocess.run([sys.executable, "-c", LOOP, str(BENCH)], cwd=tmp, env=env,
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout)
    for f in res["files"]:      # the sources ran, not a compiled copy
        assert f.endswith(".py") and f.startswith(str(tmp)), res["files"]
    return {mode: {Path(p).relative_to(tmp).as_posix(): n for p, n in res[mode].items()
                   if p.startswith(str(tmp))}
            for mode in ("off", "on")}


def too_hot(lines: dict[str, dict[str, int]], cold: tuple[str, ...],
            limit: float) -> list[str]:
    """'module: share (mode)' for each module under a cold prefix that runs
    more than `limit` of the loop's lines in either mode."""
    bad = []
    for mode, per in lines.items():
        total = sum(per.values())
        for mod, n in sorted(per.items()):
            if mod.startswith(cold) and n / total > limit:
                bad.append(f"{mod}: {100 * n / total:.1f} % of the lines (trace {mode})")
    return bad


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, int]]:
    return loop_lines(tmp_path_factory.mktemp("interp"))


def test_cold_runtime_modules_are_off_the_fault_path(
        lines: dict[str, dict[str, int]]) -> None:
    # the loop ran the fault path (so the check below cannot pass vacuously)
    for mode in ("off", "on"):
        assert sum(lines[mode].values()) > 10_000, lines[mode]
        for hot in ("runtime/mmcallers.py", "runtime/archcalls.py", "runtime/ptcheck.py"):
            assert lines[mode].get(hot, 0) > 0, (hot, lines[mode])
    assert too_hot(lines, B.COLD_RUNTIME, B.COLD_LINE_SHARE) == []


def test_the_check_names_a_hot_module(lines: dict[str, dict[str, int]]) -> None:
    """A hot module put in the -O1 set is named, with its share."""
    bad = too_hot(lines, (*B.COLD_RUNTIME, "runtime/archcalls.py"), B.COLD_LINE_SHARE)
    assert bad and all(b.startswith("runtime/archcalls.py: ") for b in bad), bad
    # trace.py is hot only with the trace on
    bad = too_hot(lines, ("runtime/trace.py",), B.COLD_LINE_SHARE)
    assert bad == [b for b in bad if b.endswith("(trace on)")] and bad, bad


def test_cold_prefixes_name_existing_runtime_files() -> None:
    """A renamed module would silently go back to -O2: every prefix matches."""
    mods = B.runtime_modules(ROOT)
    for prefix in B.COLD_RUNTIME:
        assert any(m.startswith(prefix) for m in mods), prefix
