"""Shrinking a failing sequence: delta debugging over the steps, then
smaller arguments, then single-step removal again.

Place in the flow: ``search`` hands a failing (steps, colour) and a
predicate ("this candidate still fails with the same check") to
``shrink``; the result is what the scenario writer records.  The number
of predicate runs is bounded (``max_runs``), not the time, so shrinking
is deterministic.

Delta debugging is Zeller and Hildebrandt's ddmin (complements of n
chunks, n doubling); arguments are tried at 0 and at half their value
(action arguments are small indices resolved modulo what exists, so 0
is "the first one").
"""

from __future__ import annotations

from typing import Callable

from .world import Step

Pred = Callable[[list[Step], int], bool]


class Shrinker:
    pred: Pred
    runs: int
    max_runs: int

    def __init__(self, pred: Pred, max_runs: int = 400) -> None:
        self.pred = pred
        self.runs = 0
        self.max_runs = max_runs

    def test(self, steps: list[Step], colour: int) -> bool:
        if self.runs >= self.max_runs:
            return False
        self.runs += 1
        return self.pred(steps, colour)

    def ddmin(self, steps: list[Step], colour: int) -> list[Step]:
        n = 2
        while len(steps) >= 2 and self.runs < self.max_runs:
            size = (len(steps) + n - 1) // n
            chunks = [steps[i:i + size] for i in range(0, len(steps), size)]
            reduced = False
            for i in range(len(chunks)):
                cand = [s for j, c in enumerate(chunks) if j != i for s in c]
                if cand and self.test(cand, colour):
                    steps = cand
                    n = max(n - 1, 2)
                    reduced = True
                    break
            if not reduced:
                if n >= len(steps):
                    break
                n = min(n * 2, len(steps))
        return steps

    def one_by_one(self, steps: list[Step], colour: int) -> list[Step]:
        i = len(steps) - 1
        while i >= 0 and len(steps) > 1:
            cand = steps[:i] + steps[i + 1:]
            if self.test(cand, colour):
                steps = cand
            i -= 1
        return steps

    def args(self, steps: list[Step], colour: int) -> list[Step]:
        for i in range(len(steps)):
            for key in list(steps[i].args):
                v = steps[i].args[key]
                for smaller in (0, v // 2, v - 1):
                    if smaller < 0 or smaller >= v:
                        continue
                    new = Step(steps[i].op, dict(steps[i].args, **{key: smaller}))
                    cand = steps[:i] + [new] + steps[i + 1:]
                    if self.test(cand, colour):
                        steps = cand
                        break
        return steps

    def shrink(self, steps: list[Step], colour: int) -> tuple[list[Step], int]:
        steps = self.ddmin(list(steps), colour)
        if colour != 0 and self.test(steps, 0):
            colour = 0
        steps = self.args(steps, colour)
        steps = self.one_by_one(steps, colour)
        return steps, colour
