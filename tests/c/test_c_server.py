"""The harness's --serve mode (dsl/generate/charness.py Server, used by the
generated conformance tests) prints, for each script, exactly what a fresh
`harness < script` process prints: scripts do not see each other's state,
a malformed script is reported with its exit status and does not stop the
server, and the traces are the model's."""

from __future__ import annotations

import pytest

from c_scenarios import SCENARIOS, script_of
from c_util import header, model, python_arch
from dsl.generate import charness

ARCH = "mips"           # software TLB, aliasing D-cache: the most state per script


@pytest.fixture(scope="module")
def exe() -> object:
    a = model(ARCH)
    return charness.build(a, header(a))


def _scripts() -> list[str]:
    py = python_arch(model(ARCH))
    out = [script_of(py, frozenset(), sc) for sc in SCENARIOS]
    assert len(out) >= 2, "need several scenarios to show isolation"
    return out


def test_serve_equals_one_process_per_script(exe: object) -> None:
    scripts = _scripts()
    srv = charness.Server(exe)       # type: ignore[arg-type]
    try:
        # twice over, in two orders: each script's trace is independent of
        # what ran before it in the same server
        for s in scripts + scripts[::-1]:
            want = charness.run(exe, s)      # type: ignore[arg-type]
            assert want == charness.expected(s), "fresh process differs from the model"
            assert srv.run(s) == want
    finally:
        srv.close()


def test_serve_reports_a_malformed_script_and_goes_on(exe: object) -> None:
    good = _scripts()[0]
    srv = charness.Server(exe)       # type: ignore[arg-type]
    try:
        with pytest.raises(charness.HarnessError, match=r"exited 2(.|\n)*unknown record"):
            srv.run("ptdl-script 1\nnonsense x=1\nend\n")
        assert srv.run(good) == charness.expected(good)
    finally:
        srv.close()
