"""What every scenario family shares: the ``Run`` (kernels with scripts
attached, collected into a ``Result``), the ``Family`` interface, the
check names the families add, and the scenario geometry.

Place in the flow: runtime/conformance.py creates a ``Run`` for one arch,
CPU feature set and scenario and hands it to the family
(runtime/families/<family>.py), which asks it for fresh kernels
(``Run.kernel``) and reports what it finds (``Run.violate``); ``finish``
adds the oracle's end-of-run scans (runtime.oracle.check_all) and the call
scripts and traces for the C replay.

Geometry: user regions start PMD-aligned at ``base_addr`` and never share a
PMD (``region``); dsl/generate/expect.py predicts addresses from it.
"""

from __future__ import annotations

from runtime.arch import Arch
from runtime.kernel import Kernel
from runtime.memory import Folio, Mapping
from runtime.mm import Vma, Vmf
from runtime.oracle import check_all
from runtime.scenarios import Scenario
from runtime.script import ScriptWriter
from runtime.trace import WorkCounts, hx
from runtime.violation import Violation

# Check names added by the conformance scenarios (the oracle's are in
# runtime.violation.CHECK_NAMES).
PTE_PROPERTY = "pte_property"
SET_PTES_EQUIVALENCE = "set_ptes_equivalence"
PREFAULT_OLD = "prefault_old"
USER_VIEW = "user_view"
# issue 10 item 7: per-call work bounded independently of the archdef
# (runtime/families/remap_present.py)
WORK_BOUND = "work_bound"
SCENARIO_CHECK_NAMES: tuple[str, ...] = (PTE_PROPERTY, SET_PTES_EQUIVALENCE,
                                         PREFAULT_OLD, USER_VIEW, WORK_BOUND)


class Result:
    """What one scenario run produced."""

    arch: str
    cpu: tuple[str, ...]
    scenario: str
    family: str
    violations: list[Violation]
    scripts: list[str]
    traces: list[list[str]]
    notes: list[str]
    work: WorkCounts

    def __init__(self, arch: str, cpu: tuple[str, ...], scenario: str,
                 family: str) -> None:
        self.arch = arch
        self.cpu = cpu
        self.scenario = scenario
        self.family = family
        self.violations = []
        self.scripts = []
        self.traces = []
        self.notes = []
        self.work = WorkCounts()     # cache/TLB work of every kernel of the run

    @property
    def ok(self) -> bool:
        return not self.violations

    def trace(self) -> list[str]:
        """The arch-call trace lines of every kernel of the run, in order."""
        out: list[str] = []
        for t in self.traces:
            out.extend(t)
        return out

    def checks(self) -> list[str]:
        return [v.check for v in self.violations]

    def first_violation(self) -> str:
        if not self.violations:
            return ""
        return describe(self.violations[0])

    def summary(self) -> str:
        cpu = ",".join(self.cpu) if self.cpu else "-"
        if self.ok:
            return "%s %s cpu=%s: ok" % (self.arch, self.scenario, cpu)
        return "%s %s cpu=%s: %d violation(s); first: %s" % (
            self.arch, self.scenario, cpu, len(self.violations), self.first_violation())


def describe(v: Violation) -> str:
    """One readable line for a violation."""
    return "%s at %s: expected %s, saw %s" % (v.check, v.where, v.expected, v.seen)




class Run:
    """One scenario run: its kernels and what it found."""

    arch: Arch
    cpu: frozenset[str]
    result: Result
    kernels: list[Kernel]
    record: bool
    v66_prefault: bool

    def __init__(self, arch: Arch, cpu: frozenset[str], sc: Scenario) -> None:
        self.arch = arch
        self.cpu = cpu
        self.result = Result(arch.name, tuple(sorted(cpu)), sc.name, sc.family)
        self.kernels = []
        self.record = sc.get_bool("script", True)
        # v66_prefault: true models v6.6.0's inverted prefault test (used
        # to prove the prefault checks can fail; never in shipped files)
        self.v66_prefault = sc.get_bool("v66_prefault", False)

    def kernel(self) -> Kernel:
        k = Kernel(self.arch, self.cpu, v66_prefault=self.v66_prefault)
        if self.record:
            k.script = ScriptWriter(k)
        self.kernels.append(k)
        return k

    def violate(self, check: str, where: str, expected: str, seen: str,
                addr: int = -1, pfn: int = -1) -> None:
        self.result.violations.append(Violation(check, self.arch.name, where,
                                                expected, seen, addr, pfn))

    def finish(self) -> Result:
        res = self.result
        own = res.violations
        res.violations = []
        for k in self.kernels:
            res.violations.extend(check_all(k))
            for ln in k.trace.lines:
                res.work.add(ln)
            s = k.script
            if s is not None:
                res.scripts.append(s.text())
                res.traces.append([ln[7:] for ln in s.lines if ln.startswith("expect ")])
        res.violations.extend(own)
        return res



class Family:
    """A scenario family: ``run`` builds the fixture for each parameter
    combination of the scenario and runs the family's named checks on it."""

    name: str

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, run: Run, sc: Scenario) -> None:
        raise NotImplementedError(self.name)


# ---------------------------------------------------------------------------
# Geometry and fixtures shared by the families


def base_addr(k: Kernel) -> int:
    """First user address used by scenarios: PMD aligned, inside TASK_SIZE."""
    pmd = 1 << k.pmd_shift
    base = 0x10000000 if k.arch.word_bits == 32 else 0x4000000000
    return (base + pmd - 1) & ~(pmd - 1)


def region(k: Kernel, i: int, pages: int) -> int:
    """Start of the i-th region of ``pages`` pages; regions never share a
    PMD, so each gets its own PTE table."""
    pmd = 1 << k.pmd_shift
    span = ((pages << k.page_shift) + pmd - 1) & ~(pmd - 1)
    return base_addr(k) + i * (span + pmd)


def touch(n: int, limit: int) -> list[int]:
    """Pages of an n-page range a scenario touches: all when small, else
    first, second, middle, second to last and last."""
    if n <= limit:
        return list(range(n))
    out: list[int] = []
    for i in (0, 1, n // 2 - 1, n // 2, n - 2, n - 1):
        if 0 <= i < n and i not in out:
            out.append(i)
    return out


def file_with(k: Kernel, orders: list[int], fill: bool = True,
               first_pfn: int = -1) -> tuple[Mapping, list[Folio], int]:
    """A file whose page cache holds one folio per order, back to back
    (each index aligned to its order); returns (mapping, folios, pages)."""
    m = k.new_file()
    folios: list[Folio] = []
    idx = 0
    pfn = first_pfn
    for o in orders:
        n = 1 << o
        idx = (idx + n - 1) & ~(n - 1)
        f = k.add_to_page_cache(m, idx, o, pfn=pfn, fill=fill)
        if pfn >= 0:
            pfn += n
        folios.append(f)
        idx += n
    return m, folios, idx


def map_direct(k: Kernel, vma: Vma, folio: Folio, addr: int, write: bool = False) -> None:
    """Map a whole page-cache folio with one set_pte_range, as
    filemap_map_folio_range does for a run of none PTEs."""
    ptep = k.pte_ref(vma.mm, addr, True)
    assert ptep is not None
    vmf = Vmf(vma, addr, vma.pgoff + ((addr - vma.start) >> k.page_shift), write, False)
    k.set_pte_range(vmf, folio, folio.page(0), folio.nr_pages, addr, ptep)



def access(run: Run, k: Kernel, vma: Vma, pages: list[int], exec_: bool) -> None:
    """User reads (or instruction fetches) of ``pages`` of ``vma``; a
    SIGSEGV is a ``user_view`` violation."""
    for i in pages:
        addr = vma.start + (i << k.page_shift)
        v = k.user_exec(vma.mm, addr) if exec_ else k.user_read(vma.mm, addr)
        if v < 0:
            run.violate(USER_VIEW, "mm=%d addr=%s" % (vma.mm.id, hx(addr)),
                        "the access succeeds", "SIGSEGV", addr)
