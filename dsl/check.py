"""Semantic checks over resolved models: every error, located and sorted.

Place in the flow: after dsl/resolve.py; backends run only on models this
module finds clean.  Each check reports at the element it concerns; an
error on an element inherited from a parent is reported at the child arch
with a note pointing at the parent's text (and not at all when the parent
itself already has the same error).

Diagnostics lead with the cause: an element that is itself wrong (an
invalid `word`, a reversed or out-of-word bit range) is reported once, and
the checks that would only repeat it (fields outside a wrong word, PFN
width sums over a reversed range, the advance proof over it) are skipped.
Near-miss names get "did you mean" (dsl/suggest.py).

The checks live in dsl/check_layout.py (settings, fields, predicates,
mutators, prot) and dsl/check_behaviour.py (caches, TLB, PG_arch_1, the
calls); dsl/check_base.py holds the shared state and the PFN-advance proof
(`advance_problem`, re-exported here).
"""

from __future__ import annotations

from .check_base import Found, advance_problem
from .check_behaviour import BehaviourChecks
from .check_layout import LayoutChecks
from .model import Arch
from .resolve import Resolved
from .source import Diagnostic, Loc, Note


class _ArchChecker(LayoutChecks, BehaviourChecks):
    def __init__(self, a: Arch) -> None:
        super().__init__(a)

    def run(self) -> list[Found]:
        self.settings()
        self.layout()
        self.derived()
        self.mutators()
        self.transforms()
        self.prot()
        self.prot_cpu()
        self.caches()
        self.misc()
        self.calls()
        self.advance()
        return self.found


def check(res: Resolved) -> list[Diagnostic]:
    """All diagnostics for the resolved archs (plus those from resolution)."""
    found: dict[str, set[tuple[Loc, str]]] = {}
    per_arch: dict[str, list[Found]] = {}
    for name, a in res.archs.items():
        per_arch[name] = _ArchChecker(a).run()
        found[name] = {(d.loc, d.message) for d, _ in per_arch[name]}
    out = list(res.diags)
    for name, items in per_arch.items():
        a = res.archs[name]
        for d, origin in items:
            if origin == name:
                out.append(d)
                continue
            if any((d.loc, d.message) in found.get(anc, set()) for anc in a.lineage[1:]):
                continue
            out.append(Diagnostic(a.loc, f"in arch '{name}': {d.message}",
                                  notes=(Note(d.loc, f"inherited from arch '{origin}' here"),)
                                  + d.notes))
    return out


__all__ = ["check", "advance_problem"]
