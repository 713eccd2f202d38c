"""The shared state of the arch checker, and the PFN-advance proof.

Place in the flow: dsl/check.py's checker is `CheckerBase` plus the layout
checks (dsl/check_layout.py) and the behaviour checks
(dsl/check_behaviour.py).  The base holds the arch, the names it defines,
the root causes found so far (`word_ok`, `bad_fields`: checks that would
only repeat them skip) and the diagnostics.

The PFN-advance proof (`advance_problem`) is the correctness claim behind
additive store loops, written out in the README: adding 2^s to the raw
entry steps the PFN by one iff PFN bit 0 sits at PTE bit s, the PFN is not
stored transformed, and the low PFN field is wide enough that stepping
within the largest naturally aligned folio never carries out of it.
"""

from __future__ import annotations

from . import catalog
from .model import Arch, expr_text
from .source import Diagnostic, Loc, Note

Found = tuple[Diagnostic, str]   # diagnostic, origin arch of the element


def advance_problem(a: Arch, strategy: str) -> str | None:
    """Why an additive PFN advance is not provably safe for a's layout."""
    if strategy not in catalog.ADVANCES or strategy == "repack":
        return None
    shift = a.page_shift if strategy == "page_size" else a.pfn_pte_shift
    low = [f for f in a.role_fields("pfn") if f.pfn_offset == 0]
    if not low:
        return None
    f = low[0]
    if f.lo != shift:
        return (f"advance '{strategy}' adds 1 << {shift} to the entry, but PFN bit 0 "
                f"is PTE bit {f.lo} (field '{f.name}')")
    t = a.pfn_transform()
    if t is not None and strategy != "pfn_shift_invert_aware":
        return (f"advance '{strategy}' adds to the raw entry, but the PFN is stored "
                f"inverted when {expr_text(t.cond)} ({t.loc}); such a PFN would move "
                f"backwards: use pfn_shift_invert_aware or repack")
    if f.width < a.max_folio_order:
        rest = [g for g in a.role_fields("pfn") if g is not f]
        split = f"; PFN bits {f.width} and up live in '{rest[0].name}'" if rest else ""
        return (f"advance '{strategy}' can carry out of PFN field '{f.name}' "
                f"({f.width} bits) within a folio of order {a.max_folio_order}{split}")
    return None



class CheckerBase:
    def __init__(self, a: Arch) -> None:
        self.a = a
        self.found: list[Found] = []
        self.field_names = {f.name for f in a.fields}
        self.names = self.field_names | {d.name for d in a.derived}
        self.roles = {f.role for f in a.fields if f.role} | \
            {d.name for d in a.derived if d.name in catalog.ROLES}
        # Root causes found so far; checks that would only repeat them skip.
        self.word_ok = True
        self.bad_fields: set[str] = set()

    def err(self, loc: Loc, msg: str, origin: str, notes: tuple[Note, ...] = ()) -> None:
        self.found.append((Diagnostic(loc, msg, notes=notes), origin))

    def warn(self, loc: Loc, msg: str, origin: str, notes: tuple[Note, ...] = ()) -> None:
        """A lint: located, printed by `ptdl check`, never blocks generation."""
        self.found.append((Diagnostic(loc, msg, severity="warning", notes=notes), origin))
