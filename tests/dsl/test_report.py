"""Issue 16, item 4: a failed `ptdl test` run reads on its own.  A C-trace
mismatch prints the scenario, the CPU features and a unified diff around
the first difference; an invariant failure prints the violation, the first
bad event and the trace lines leading to it.  The plugin is exercised on a
real pytest run of a stand-in conformance module (same shapes as the
generated tests: `check_c_trace` with locals py/c, a Result `r`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from dsl.generate.charness import first_difference, trace_diff
from frontend_util import ROOT

FAKE = '''
import pytest

PY = ["ptc_set pt=1 idx=16 val=0x25 nr=4", "lazy_mmu enter",
      "set_pte pt=1 idx=16 val=0x25", "set_pte pt=1 idx=17 val=0x1025",
      "set_pte pt=1 idx=18 val=0x2025", "set_pte pt=1 idx=19 val=0x3025", "lazy_mmu leave",
      "icache_sync pfn=0x10 nr=4", "tlb_preload addr=0x400000", "pg_arch_1 set folio=0x10"]


def check_c_trace(n, py, c):
    if py != c:
        raise AssertionError("script %d: C trace differs from Python at line 7 "
                             "(python 10 lines, C 10):" % n)


def test_scenario_c(record_property):
    record_property("ptdl_scenario", "exec_direct_order2")
    record_property("ptdl_cpu", "hw_af,idc")
    record_property("ptdl_check", "c_trace")
    c = list(PY)
    c[7] = "dcache_clean pfn=0x10 nr=4"
    check_c_trace(0, PY, c)


class V:
    check = "stale_insn"; where = "addr=0x401000 pfn=0x11"; expected = "version 2"
    seen = "version 1"; addr = 0x401000; pfn = 0x11


class R:
    violations = [V(), V()]
    def trace(self):
        return ["kernel_write pfn=0x10", "flush_dcache_folio folio=0x10", "lazy_mmu enter",
                "set_pte pt=1 idx=16 val=0x25", "set_pte pt=1 idx=17 val=0x1025",
                "icache_sync pfn=0x11 nr=1", "lazy_mmu leave"]


def test_scenario_model(record_property):
    record_property("ptdl_scenario", "exec_many_colours")
    record_property("ptdl_cpu", "")
    record_property("ptdl_check", "model")
    r = R()
    assert not r.violations, "1 violation(s)"
'''

RUN = '''
import sys, pytest
from dsl.generate.report import Collector, format_table
col = Collector()
pytest.main(["-q", "-p", "no:cacheprovider", sys.argv[1]], plugins=[col])
print("=====")
print(format_table(col))
'''


def _summary(tmp_path: Path) -> str:
    mod = tmp_path / "test_fake_conformance.py"
    mod.write_text(FAKE, encoding="utf-8")
    r = subprocess.run([sys.executable, "-c", RUN, str(mod)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert "=====" in r.stdout, r.stdout + r.stderr
    return r.stdout.split("=====\n", 1)[1]


def test_summary_shows_diff_and_violation(tmp_path: Path) -> None:
    out = _summary(tmp_path)
    want_c = textwrap.indent(textwrap.dedent("""\
          exec_direct_order2 (cpu: hw_af,idc, check: c_trace): AssertionError: script 0: C trace differs from Python at line 7 (python 10 lines, C 10):
              call script 0: C trace differs from Python at line 8 (python 10 lines, C 10 lines):
              --- python (model)
              +++ C (generated header)
              @@ -5,6 +5,6 @@
               set_pte pt=1 idx=18 val=0x2025
               set_pte pt=1 idx=19 val=0x3025
               lazy_mmu leave
              -icache_sync pfn=0x10 nr=4
              +dcache_clean pfn=0x10 nr=4
               tlb_preload addr=0x400000
               pg_arch_1 set folio=0x10
        """), "  ")
    assert want_c in out, out
    want_v = textwrap.indent(textwrap.dedent("""\
          exec_many_colours (cpu: none, check: model): AssertionError: 1 violation(s)
              violation: stale_insn at addr=0x401000 pfn=0x11
                expected: version 2
                saw:      version 1
                (+1 more violation)
              bad event: trace line 6 of 7, the last arch event on 0x11 / 0x401000 before the check fired (lines touching it: 6); the lines leading to it:
                    1  kernel_write pfn=0x10
                    2  flush_dcache_folio folio=0x10
                    3  lazy_mmu enter
                    4  set_pte pt=1 idx=16 val=0x25
                    5  set_pte pt=1 idx=17 val=0x1025
              >     6  icache_sync pfn=0x11 nr=1
        """), "  ")
    assert want_v in out, out
    assert "fake: 2 failed:" in out


def test_trace_diff_unit() -> None:
    a = [f"l{i}" for i in range(100)]
    b = list(a)
    b[50] = "X"
    assert first_difference(a, a) is None and first_difference(a, b) == 50
    assert first_difference(a, a[:90]) == 90
    d = trace_diff(a, b).splitlines()
    assert d[0] == "C trace differs from Python at line 51 (python 100 lines, C 100 lines):"
    assert "-l50" in d and "+X" in d and "-l40" not in d and " l47" in d
    long = trace_diff(a, [x + "!" for x in a], max_lines=10).splitlines()
    assert len(long) == 12 and long[-1].startswith("... (")
