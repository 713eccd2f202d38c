"""Near-miss names: the "did you mean" of every diagnostic.

Place in the flow: used by dsl/check.py (settings, roles, effects,
predicates, fields, CPU features) and the CLI (arch names).
"""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to `name`, if it is near enough."""
    pool = sorted(set(known))
    best = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if best:
        return best[0]
    low = {k.lower(): k for k in pool}
    return low.get(name.lower())


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' or ''."""
    best = closest(name, known)
    return f" (did you mean '{best}'?)" if best is not None and best != name else ""
