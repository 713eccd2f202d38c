"""`ptdl test`: run the generated conformance tests and summarise per arch.

Place in the flow: dsl/generate/cli.py `cmd_test` calls ``run_conformance``.
pytest runs generated/tests (or one arch's module) in-process with a small
plugin that collects each test's outcome and the properties the generated
tests record (scenario, CPU features, check, first violation); then a
table is printed:

    arch   scenarios  cpu combos  tests  passed  failed  skipped  seconds  share
    arm64         53           8    276     ...                     1.7   3.9%

followed by a readable account of every failed scenario run: the scenario
and its CPU features, and
- for a C-trace mismatch, a unified diff of the Python and C traces around
  the first difference (dsl/generate/charness.py `trace_diff`);
- for an invariant, the violation, the bad event (the last arch-call
  trace line touching the violation's page or address before the check
  fired; violations carry no trace index) and the lines leading to it.
The plugin finds the traces in the failing test's frames (the locals `py`
and `c` of the C comparison, the scenario Result `r`), so the generated
tests need not change.  Exit status 0 iff pytest collected something and
nothing failed.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Generator

import pytest

LEAD = 8            # trace lines shown before the bad event

_FILE = re.compile(r"test_(?P<arch>[A-Za-z0-9_]+?)_conformance\.py")


@dataclass
class ArchStats:
    scenarios: set[str] = field(default_factory=set)
    cpus: set[str] = field(default_factory=set)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0                # importing its module + setup + call + teardown
                                        # of its tests: what the arch costs the suite
    failures: list[str] = field(default_factory=list)
    # runs that reproduce a documented model gap (params.model_gaps; an
    # expected failure, counted as skipped): kept apart from kernel findings
    model_gaps: list[str] = field(default_factory=list)


class Collector:
    """pytest plugin: outcome of every generated conformance test."""

    def __init__(self) -> None:
        self.archs: dict[str, ArchStats] = {}
        self.errors: list[str] = []

    def _arch(self, nodeid: str) -> str | None:
        m = _FILE.search(nodeid.split("::")[0])
        return m.group("arch") if m else None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Generator[None, Any, None]:
        outcome = yield
        rep = outcome.get_result()
        if call.excinfo is None or rep.passed or rep.skipped or self._arch(rep.nodeid) is None:
            return
        detail = failure_detail(call.excinfo.tb)
        if detail:
            rep.user_properties.append(("ptdl_detail", detail))

    def pytest_runtest_logreport(self, report: Any) -> None:
        arch = self._arch(report.nodeid)
        if arch is None:
            return
        st = self.archs.setdefault(arch, ArchStats())
        st.seconds += float(getattr(report, "duration", 0.0) or 0.0)
        props = dict(report.user_properties)
        if "ptdl_scenario" in props:
            st.scenarios.add(str(props["ptdl_scenario"]))
            st.cpus.add(str(props["ptdl_cpu"]))
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                st.passed += 1
            elif report.skipped:
                st.skipped += 1
                gap = props.get("ptdl_model_gap")
                if gap and hasattr(report, "wasxfail"):
                    st.model_gaps.append(f"{props.get('ptdl_scenario')} (cpu: "
                                         f"{props.get('ptdl_cpu') or 'none'}): {gap}")
            else:
                st.failed += 1
                what = props.get("ptdl_first_violation")
                if not what:
                    what = _first_line(report)
                name = report.nodeid.split("::", 1)[-1]
                head = f"{name}: {what}"
                if "ptdl_scenario" in props:
                    head = (f"{props['ptdl_scenario']} (cpu: {props.get('ptdl_cpu') or 'none'}, "
                            f"check: {props.get('ptdl_check', '?')}): {what}")
                detail = props.get("ptdl_detail")
                st.failures.append(head + ("\n" + str(detail) if detail else ""))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: Any) -> Generator[None, Any, None]:
        """Importing an arch's module (its runtime module, the C harness
        flags, the parameter lists) is part of what the arch costs."""
        import time
        t0 = time.perf_counter()
        yield
        arch = self._arch(str(getattr(collector, "nodeid", "")))
        if arch is not None and "::" not in str(collector.nodeid):
            st = self.archs.setdefault(arch, ArchStats())
            st.seconds += time.perf_counter() - t0

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: collection failed: {_first_line(report)}")


def _frame_locals(tb: TracebackType | None) -> list[dict[str, Any]]:
    """The locals of every frame of a traceback, innermost first."""
    out: list[dict[str, Any]] = []
    while tb is not None:
        out.append(dict(tb.tb_frame.f_locals))
        tb = tb.tb_next
    return list(reversed(out))


def _indent(lines: list[str], pad: str = "    ") -> str:
    return "\n".join(pad + ln for ln in lines)


def c_trace_detail(py: list[str], c: list[str], script: int | None = None) -> str:
    from .charness import trace_diff
    lines = trace_diff(py, c).splitlines()
    if script is not None:
        lines[0] = f"call script {script}: {lines[0]}"
    return _indent(lines)


def _touches(line: str, values: set[str]) -> bool:
    return any(tok.split("=", 1)[-1] in values for tok in line.split() if "=" in tok)


def violation_detail(r: Any) -> str:
    """The first violation, the first trace event on its page/address and
    the lines leading to it."""
    v = r.violations[0]
    lines = [f"violation: {v.check} at {v.where}",
             f"  expected: {v.expected}",
             f"  saw:      {v.seen}"]
    more = len(r.violations) - 1
    if more:
        lines.append(f"  (+{more} more violation{'s' if more != 1 else ''})")
    trace: list[str] = list(r.trace()) if hasattr(r, "trace") else []
    values = {f"0x{n:x}" for n in (getattr(v, "pfn", -1), getattr(v, "addr", -1)) if n >= 0}
    hits = [i for i, ln in enumerate(trace) if values and _touches(ln, values)]
    if not hits:
        if trace:
            lines.append(f"last {min(LEAD, len(trace))} of {len(trace)} trace lines:")
            lines += ["  " + ln for ln in trace[-LEAD:]]
        return _indent(lines)
    last = hits[-1]
    shown = ", ".join(str(i + 1) for i in hits[:12]) + (", ..." if len(hits) > 12 else "")
    lines.append(f"bad event: trace line {last + 1} of {len(trace)}, the last arch event on "
                 f"{' / '.join(sorted(values))} before the check fired (lines touching it: "
                 f"{shown}); the lines leading to it:")
    for i in range(max(0, last - LEAD), last + 1):
        lines.append(("> " if i in hits else "  ") + f"{i + 1:>5}  {trace[i]}")
    return _indent(lines)


def failure_detail(tb: TracebackType | None) -> str:
    """What to print under a failed conformance test, from its frames."""
    frames = _frame_locals(tb)
    for loc in frames:
        py, c = loc.get("py"), loc.get("c")
        if isinstance(py, list) and isinstance(c, list) and py != c:
            n = loc.get("n")
            return c_trace_detail(py, c, n if isinstance(n, int) else None)
    for loc in frames:
        r = loc.get("r")
        if r is not None and getattr(r, "violations", None):
            return violation_detail(r)
    return ""


def _first_line(report: Any) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0]
    text = str(getattr(report, "longrepr", "") or "")
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")]
    return lines[0][2:].strip() if lines else (text.splitlines()[-1] if text else "failed")


def format_table(col: Collector) -> str:
    # The cost of each arch: its tests, the seconds spent on it (importing
    # its module and running its tests; summed over workers under -n, so
    # the column is what adding the arch costs, not wall time) and that
    # time's share of the whole run.
    head = ("arch", "scenarios", "cpu combos", "tests", "passed", "failed", "skipped",
            "seconds", "share")
    rows = [head]
    tot = ArchStats()
    total_s = sum(st.seconds for st in col.archs.values())

    def share(sec: float) -> str:
        return f"{100.0 * sec / total_s:.1f}%" if total_s > 0 else "-"

    for arch in sorted(col.archs):
        st = col.archs[arch]
        n = st.passed + st.failed + st.skipped
        rows.append((arch, str(len(st.scenarios)), str(len(st.cpus)), str(n), str(st.passed),
                     str(st.failed), str(st.skipped), f"{st.seconds:.1f}", share(st.seconds)))
        tot.passed += st.passed
        tot.failed += st.failed
        tot.skipped += st.skipped
        tot.seconds += st.seconds
    rows.append(("total", "", "", str(tot.passed + tot.failed + tot.skipped), str(tot.passed),
                 str(tot.failed), str(tot.skipped), f"{tot.seconds:.1f}", share(tot.seconds)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out: list[str] = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if n == 0 or n == len(rows) - 2:
            out.append("  ".join("-" * w for w in widths))
    for arch in sorted(col.archs):
        st = col.archs[arch]
        if st.failures:
            out.append("")
            out.append(f"{arch}: {st.failed} failed:")
            for f in st.failures:
                first, *rest = f.splitlines()
                out.append(f"  {first}")
                out += [f"  {ln}" for ln in rest]
    gaps = [(arch, g) for arch in sorted(col.archs) for g in col.archs[arch].model_gaps]
    if gaps:
        out.append("")
        out.append(f"model gaps (not kernel findings; params.model_gaps), {len(gaps)} runs:")
        out += [f"  {arch}: {g[:160]}" for arch, g in gaps]
    for e in col.errors:
        out.append(e)
    return "\n".join(out)


def run_conformance(root: Path, arch: str | None, pytest_args: list[str]) -> int:
    import pytest
    tests = root / "generated" / "tests"
    if arch is not None:
        target = tests / f"test_{arch}_conformance.py"
        if not target.exists():
            known = sorted(m.group("arch") for p in tests.glob("test_*_conformance.py")
                           if (m := _FILE.search(p.name)))
            sys.stderr.write(f"ptdl test: no conformance tests for arch '{arch}' "
                             f"(known: {', '.join(known) or 'none'}; run `ptdl generate`)\n")
            return 2
    else:
        target = tests
        if not tests.is_dir() or not list(tests.glob("test_*_conformance.py")):
            sys.stderr.write("ptdl test: no generated conformance tests; run `ptdl generate`\n")
            return 2
    col = Collector()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    old = os.getcwd()
    os.chdir(root)
    try:
        # the generated tests use no hypothesis: skip its plugin's start-up
        rc = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                          "--rootdir", str(root),
                          str(target.relative_to(root)), *pytest_args], plugins=[col])
    finally:
        os.chdir(old)
    print()
    print("ptdl test: conformance summary")
    print(format_table(col))
    failed = sum(st.failed for st in col.archs.values())
    if rc == 5 or not col.archs:
        return 1
    return 0 if rc == 0 and failed == 0 and not col.errors else 1
