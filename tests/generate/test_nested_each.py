"""`each page` nested in a store body and in `each pte` (the page the
entry maps, issue 10 item 11), the whole-I-cache primitives and a fence for
some entries only: dsl/generate/expect.py's reading of the statements
gives the events the generated module traces on the deterministic direct
scenarios (the C header's agreement with the module is
tests/c/test_c_differential.py on the same fixture, tests/c/fixtures/shapes.arch).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "c"))

from c_util import python_arch  # noqa: E402
from dsl.generate import expect  # noqa: E402
from gen_util import project  # noqa: E402

FIXTURE = "tests/c/fixtures/shapes.arch"


@pytest.mark.parametrize("scenario,order", [("exec_direct_order0", 0),
                                            ("exec_direct_order4", 4)])
def test_expect_agrees_with_module(scenario: str, order: int) -> None:
    from runtime import conformance
    p = project(FIXTURE)
    assert p.ok
    a = p.archs["shapes"]
    arch = python_arch(a, FIXTURE)
    r = conformance.run(arch, frozenset(), conformance.scenario_named(scenario))  # type: ignore[arg-type]
    assert r.ok, r.first_violation()
    want = expect.summarize(expect.direct_events(a, frozenset(), order, 1, 5))
    assert expect.summarize(r.trace()) == want
    # the nested loop ran once per entry, at the entry's page
    n = 1 << order
    syncs = [ln for ln in r.trace() if ln.startswith("icache_sync ")]
    assert syncs == [f"icache_sync pfn={expect.DIRECT_PFN + i:#x} nr=1" for i in range(n)]
    assert r.trace().count("icache_flush_local") == 1
    assert r.trace().count("icache_flush_all") == 1
