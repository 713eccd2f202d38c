"""The search: seeded random sequences of actions, checked step by step,
with a budget, progress lines and coverage; failures are shrunk.

Place in the flow: ``cli`` builds an ``Explorer`` per arch and calls
``explore``; ``run_steps`` is also what the shrinker, ``--replay`` and the
``explored`` family runner use to re-run a recorded sequence.

Why an own engine rather than Hypothesis's RuleBasedStateMachine: the
budget is wall-clock or a number of sequences, the search must go on
after a failure (several distinct violations per run), a failure must be
written out as data (steps) that a scenario file and the conformance
suite replay without Hypothesis, and the shrinker must know that steps
resolve their objects modulo what exists (so any subsequence runs).  A
seeded ``random.Random`` per sequence (derived from ``--seed`` and the
sequence number) makes every sequence reproducible on its own; swarm
testing (each sequence enables a random subset of the actions) widens
what short sequences reach.

Determinism: ``--runs N`` gives the same output for the same seed;
``--budget S`` explores the same sequences in the same order and stops
at a time, so it reports a prefix of the same findings.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Callable, TextIO

from runtime.arch import Arch
from runtime.violation import RangeError, Violation

from . import actions
from .invariants import arch1_bits, check_step
from .shrink import Shrinker
from .world import COLOUR_SPAN, Step, World

MODEL_ERROR = "model_error"
ARCH_CALLS: tuple[str, ...] = ("set_ptes", "update_mmu_cache_range", "flush_dcache_folio",
                               "flush_icache_pages")


class Outcome:
    """A run of a sequence: where it failed (-1: clean) and with what."""

    steps: list[Step]
    failed_at: int
    violations: list[Violation]
    world: World
    calls: list[tuple[str, str]]

    def __init__(self, steps: list[Step], failed_at: int, violations: list[Violation],
                 world: World, calls: list[tuple[str, str]]) -> None:
        self.steps = steps
        self.failed_at = failed_at
        self.violations = violations
        self.world = world
        self.calls = calls

    @property
    def check(self) -> str:
        return self.violations[0].check if self.violations else ""


def _one_step(w: World, s: Step, hdr: int) -> tuple[list[Violation], list[str]]:
    k = w.k
    mark = k.trace.mark()
    before = arch1_bits(w)
    try:
        actions.apply(w, s)
    except RangeError as e:
        k.violate(e.check, s.text(), "the call's preconditions hold", str(e))
    except Exception as e:      # a model error: report it, it is a finding too
        k.violate(MODEL_ERROR, s.text(), "the model runs the step",
                  "%s: %s" % (type(e).__name__, e))
    found = check_step(w, s.op, mark, before)
    script = k.script
    called: list[str] = []
    if script is not None:
        for line in script.lines[hdr:]:
            if line.startswith("call "):
                called.append(line.split()[1])
        if not w.record:
            del script.lines[hdr:]
            k.trace.clear()
    return found, called


def run_steps(arch: Arch, cpu: frozenset[str], colour: int, steps: list[Step],
              record: bool = False) -> Outcome:
    """Run recorded steps on a fresh world; stop at the first violation."""
    w = World(arch, cpu, colour, record)
    hdr = 0 if w.k.script is None else len(w.k.script.lines)
    calls: list[tuple[str, str]] = []
    for i, s in enumerate(steps):
        found, called = _one_step(w, s, hdr)
        calls.extend((s.op, c) for c in called)
        if found:
            return Outcome(steps[:i + 1], i, found, w, calls)
    return Outcome(steps, -1, [], w, calls)


class Finding:
    """A distinct violation: its check and CPU set, the shrunk sequence."""

    arch: str
    cpu: tuple[str, ...]
    check: str
    colour: int
    steps: list[Step]
    original_len: int
    violation: Violation
    sequence: int
    seed: int
    elapsed: float
    known: str
    c_replay: str

    def __init__(self, arch: str, cpu: tuple[str, ...], check: str, colour: int,
                 steps: list[Step], original_len: int, violation: Violation,
                 sequence: int, seed: int, elapsed: float) -> None:
        self.arch = arch
        self.cpu = cpu
        self.check = check
        self.colour = colour
        self.steps = steps
        self.original_len = original_len
        self.violation = violation
        self.sequence = sequence
        self.seed = seed
        self.elapsed = elapsed
        self.known = ""
        self.c_replay = ""


class Stats:
    sequences: int
    steps: int
    violations: int
    coverage: dict[tuple[str, str], int]
    actions: dict[str, int]

    def __init__(self) -> None:
        self.sequences = 0
        self.steps = 0
        self.violations = 0
        self.coverage = {}
        self.actions = {}

    def cells(self) -> int:
        return len(self.coverage)


class Explorer:
    arch: Arch
    cpus: list[frozenset[str]]
    seed: int
    budget: float
    runs: int
    max_len: int
    out: TextIO
    known: Callable[[World, Violation], str]
    findings: list[Finding]
    stats: Stats
    clock: Callable[[], float]

    def __init__(self, arch: Arch, cpus: list[frozenset[str]], seed: int = 0,
                 budget: float = 10.0, runs: int = 0, max_len: int = 40,
                 out: TextIO | None = None,
                 known: Callable[[World, Violation], str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.arch = arch
        self.cpus = cpus
        self.seed = seed
        self.budget = budget
        self.runs = runs
        self.max_len = max_len
        self.out = sys.stderr if out is None else out
        self.known = known if known is not None else (lambda w, v: "")
        self.findings = []
        self.stats = Stats()
        self.clock = clock

    def _say(self, text: str) -> None:
        self.out.write("explore %s: %s\n" % (self.arch.name, text))
        self.out.flush()

    def progress(self, elapsed: float) -> None:
        st = self.stats
        total = len(actions.ACTIONS) * len(ARCH_CALLS)
        self._say("%5.1fs %d sequences %d steps %d violations (%d distinct); "
                  "coverage %d/%d action x arch-call pairs"
                  % (elapsed, st.sequences, st.steps, st.violations, len(self.findings),
                     st.cells(), total))

    def sequence(self, n: int) -> tuple[Outcome, frozenset[str], int]:
        """Generate and run sequence ``n`` (reproducible from seed and n)."""
        rng = random.Random("%d/%d" % (self.seed, n))
        cpu = self.cpus[rng.randrange(len(self.cpus))]
        colour = rng.randrange(COLOUR_SPAN)
        enabled = [a for a in actions.ACTIONS if rng.random() < 0.75 or a in ("mmap", "read")]
        length = rng.randint(4, self.max_len)
        w = World(self.arch, cpu, colour)
        hdr = 0 if w.k.script is None else len(w.k.script.lines)
        steps: list[Step] = []
        calls: list[tuple[str, str]] = []
        for i in range(length):
            s = actions.generate(rng, w, enabled)
            steps.append(s)
            found, called = _one_step(w, s, hdr)
            calls.extend((s.op, c) for c in called)
            if found:
                return Outcome(steps, i, found, w, calls), cpu, colour
        return Outcome(steps, -1, [], w, calls), cpu, colour

    def _account(self, o: Outcome) -> None:
        st = self.stats
        st.sequences += 1
        st.steps += len(o.steps)
        for s in o.steps:
            st.actions[s.op] = st.actions.get(s.op, 0) + 1
        for key in o.calls:
            st.coverage[key] = st.coverage.get(key, 0) + 1

    def _shrink(self, o: Outcome, cpu: frozenset[str], colour: int,
                known: str) -> tuple[list[Step], int, Violation]:
        """The smallest sequence still failing with the same check (and
        the same known/unknown classification)."""
        check = o.check
        arch = self.arch

        def hit(r: Outcome) -> Violation | None:
            for v in r.violations:
                if v.check == check and self.known(r.world, v) == known:
                    return v
            return None

        def still(steps: list[Step], col: int) -> bool:
            return hit(run_steps(arch, cpu, col, steps)) is not None

        steps, col = Shrinker(still).shrink(o.steps, colour)
        final = run_steps(arch, cpu, col, steps)
        v = hit(final)
        if v is None:                 # cannot happen: the shrinker keeps failing runs
            return o.steps, colour, o.violations[0]
        return final.steps, col, v

    def explore(self) -> list[Finding]:
        start = self.clock()
        last = start
        n = 0
        seen: set[tuple[str, tuple[str, ...], str]] = set()
        while True:
            now = self.clock()
            if self.runs > 0 and n >= self.runs:
                break
            if self.runs <= 0 and now - start >= self.budget:
                break
            o, cpu, colour = self.sequence(n)
            self._account(o)
            if o.violations:
                self.stats.violations += 1
                known = self.known(o.world, o.violations[0])
                key = (o.check, tuple(sorted(cpu)), known)
                if key not in seen:
                    seen.add(key)
                    t = self.clock() - start
                    steps, col, v = self._shrink(o, cpu, colour, known)
                    f = Finding(self.arch.name, key[1], o.check, col, steps, len(o.steps),
                                v, n, self.seed, t)
                    f.known = known
                    self.findings.append(f)
                    self._say("%s %s (cpu %s) in sequence %d after %.1fs: %d steps, "
                              "shrunk to %d; at %s: expected %s, saw %s"
                              % (("model gap" if f.known.startswith("model gap") else
                                  "known finding") if f.known else "VIOLATION", f.check,
                                 ",".join(f.cpu) or "-", n, t, len(o.steps), len(steps),
                                 v.where, v.expected, v.seen))
            n += 1
            now = self.clock()
            if now - last >= 2.0:
                last = now
                self.progress(now - start)
        self.progress(self.clock() - start)
        return self.findings
