"""The pytest-xdist scheduler of the suite: work stealing unless --dist is
given (installed by the project's root conftest.py, so it holds for
`make test`, `pytest -n N` and `ptdl test` alike).

Place in the flow: tests only.  xdist's default `load` scheduler hands each
worker its share of the remaining tests in chunks; once the pool is empty a
worker that finishes early idles while the other still works through its
queue.  On this 2-core machine that tail was 11-26 s of one idle worker in
a ~150 s loaded run (the last tests are ~5000 generated conformance tests,
queued by the hundred).  `worksteal` (xdist >= 3.2) lets the idle worker
take half of the other's queue.  Which tests run, and their results, do
not change: only which worker runs them.
"""

from __future__ import annotations

from typing import Any

import pytest


def dist_given(args: tuple[str, ...] | list[str]) -> bool:
    """Whether the command line chose a --dist mode itself (then it stands)."""
    return any(a == "--dist" or a.startswith("--dist=") for a in args)


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The body of the root conftest's pytest_xdist_make_scheduler: a
    WorkStealingScheduling for the default `load` mode, else None (xdist's
    own choice)."""
    if config.getvalue("dist") != "load" or dist_given(list(config.invocation_params.args)):
        return None
    from xdist.scheduler import WorkStealingScheduling
    return WorkStealingScheduling(config, log)
