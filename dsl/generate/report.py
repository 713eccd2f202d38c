"""`ptdl test`: run the generated conformance tests and summarise per arch.

Place in the flow: dsl/generate/cli.py `cmd_test` calls ``run_conformance``.
pytest runs generated/tests (or one arch's module) in-process with a small
plugin that collects each test's outcome and the properties the generated
tests record (scenario, CPU features, check, first violation); then a
table is printed:

    arch       scenarios  cpu combos  passed  failed  skipped
    arm64             22           8     ...

followed by the first violation of every failed scenario run.  Exit status
0 iff pytest collected something and nothing failed.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FILE = re.compile(r"test_(?P<arch>[A-Za-z0-9_]+?)_conformance\.py")


@dataclass
class ArchStats:
    scenarios: set[str] = field(default_factory=set)
    cpus: set[str] = field(default_factory=set)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


class Collector:
    """pytest plugin: outcome of every generated conformance test."""

    def __init__(self) -> None:
        self.archs: dict[str, ArchStats] = {}
        self.errors: list[str] = []

    def _arch(self, nodeid: str) -> str | None:
        m = _FILE.search(nodeid.split("::")[0])
        return m.group("arch") if m else None

    def pytest_runtest_logreport(self, report: Any) -> None:
        arch = self._arch(report.nodeid)
        if arch is None:
            return
        st = self.archs.setdefault(arch, ArchStats())
        props = dict(report.user_properties)
        if "ptdl_scenario" in props:
            st.scenarios.add(str(props["ptdl_scenario"]))
            st.cpus.add(str(props["ptdl_cpu"]))
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                st.passed += 1
            elif report.skipped:
                st.skipped += 1
            else:
                st.failed += 1
                what = props.get("ptdl_first_violation")
                if not what:
                    what = _first_line(report)
                name = report.nodeid.split("::", 1)[-1]
                st.failures.append(f"{name}: {what}")

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: collection failed: {_first_line(report)}")


def _first_line(report: Any) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0]
    text = str(getattr(report, "longrepr", "") or "")
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")]
    return lines[0][2:].strip() if lines else (text.splitlines()[-1] if text else "failed")


def format_table(col: Collector) -> str:
    head = ("arch", "scenarios", "cpu combos", "passed", "failed", "skipped")
    rows = [head]
    tot = ArchStats()
    for arch in sorted(col.archs):
        st = col.archs[arch]
        rows.append((arch, str(len(st.scenarios)), str(len(st.cpus)), str(st.passed),
                     str(st.failed), str(st.skipped)))
        tot.passed += st.passed
        tot.failed += st.failed
        tot.skipped += st.skipped
    rows.append(("total", "", "", str(tot.passed), str(tot.failed), str(tot.skipped)))
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
            out.append(f"{arch}: {st.failed} failed; first violation of each:")
            for f in st.failures:
                out.append(f"  {f}")
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
        rc = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(root),
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
