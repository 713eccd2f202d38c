"""C vs Python: the generated header, run in the harness on the call
script the Python model wrote, prints the Python model's trace line for
line -- for every shipped arch, every scenario and every combination of
its CPU features.  And a header that differs from the model (arm64
without its I-cache sync) is caught."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import replace

import pytest

from c_util import arch_names, header, model, python_arch
from dsl.generate import charness
from dsl.model import Arch, Call, EffectStmt, Stmt, When
from c_scenarios import SCENARIOS, cpu_sets, script_of



def _fits(name: str) -> bool:
    """The hand-written scenarios address entries 0..31 of one PTE table
    and map order-4 folios.  An arch with smaller tables (m68k Sun-3: 16
    entries, folios up to order 3) cannot host them; its C header is still
    replayed against the model on every scenario by the generated
    conformance tests (`c_trace`)."""
    a = model(name)
    return a.ptrs_per_pte >= 32 and a.max_folio_order >= 4


CASES = [(name, sc, cpu)
         for name in arch_names() if _fits(name)
         for sc in SCENARIOS
         for cpu in cpu_sets(model(name).cpu_features)]


def _id(case: tuple[str, str, frozenset[str]]) -> str:
    name, sc, cpu = case
    return f"{name}-{sc}-{'+'.join(sorted(cpu)) or 'nocpu'}"


_SERVERS: dict[tuple[str, str], charness.Server] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_servers() -> Iterator[None]:
    yield
    for s in _SERVERS.values():
        s.close()
    _SERVERS.clear()


def replay(a: Arch, hdr: str, script: str) -> list[str]:
    """charness.replay's trace, from one harness process per header (a
    charness.Server: each script runs in a child forked from the pristine
    harness, as tests/c/test_c_server.py shows equal to one process each)."""
    key = (a.name, hdr)
    if key not in _SERVERS:
        _SERVERS[key] = charness.Server(charness.build(a, hdr))
    return _SERVERS[key].run(script)


def diff(a: Arch, script: str, hdr: str) -> list[str]:
    want = charness.expected(script)
    got = replay(a, hdr, script)
    return list(difflib.unified_diff(want, got, "python", "c", lineterm="", n=3))


_PY: dict[str, object] = {}


def py(name: str) -> object:
    if name not in _PY:
        _PY[name] = python_arch(model(name))
    return _PY[name]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_c_trace_equals_python_trace(case: tuple[str, str, frozenset[str]]) -> None:
    name, sc, cpu = case
    a = model(name)
    script = script_of(py(name), cpu, sc)
    assert charness.expected(script), "scenario made no arch call"
    d = diff(a, script, header(a))
    assert not d, "\n".join(d[:80])


def _drop(body: tuple[Stmt, ...], effect: str) -> tuple[Stmt, ...]:
    out: list[Stmt] = []
    for s in body:
        if isinstance(s, EffectStmt) and s.name == effect:
            if s.body:
                out.append(replace(s, body=_drop(s.body, effect)))
            continue
        if isinstance(s, When):
            s = replace(s, then=_drop(s.then, effect), orelse=_drop(s.orelse, effect))
        elif isinstance(s, EffectStmt) and s.body:
            s = replace(s, body=_drop(s.body, effect))
        out.append(s)
    return tuple(out)


def _without(a: Arch, call: str, effect: str) -> Arch:
    calls: list[Call] = []
    for c in a.calls:
        if c.name == call:
            c = replace(c, body=_drop(c.body, effect))
        calls.append(c)
    return replace(a, calls=tuple(calls))


@pytest.mark.skipif("arm64" not in arch_names(), reason="no arm64 archdef")
def test_wrong_header_is_caught() -> None:
    """arm64's header rendered from a model whose set_ptes lost its
    sync_icache: the C trace misses icache_sync, the differential fails."""
    a = model("arm64")
    bad = _without(a, "set_ptes", "sync_icache")
    assert bad != a
    script = script_of(py("arm64"), frozenset(), "file_exec")
    assert not diff(a, script, header(a))
    d = diff(a, script, header(bad))
    assert d and any(line.startswith("-icache_sync ") for line in d), d[:20]


@pytest.mark.skipif("x86" not in arch_names(), reason="no x86 archdef")
def test_wrong_advance_is_caught() -> None:
    """x86 with the seed's plain `+ 1 << PFN_PTE_SHIFT` advance: PROT_NONE
    runs (PFN stored inverted) store the wrong PFNs in C."""
    a = model("x86")
    bad = replace(a, advance="pfn_shift")
    script = script_of(py("x86"), frozenset(), "direct")
    assert not diff(a, script, header(a))
    d = diff(a, script, header(bad))
    assert d and any(line.startswith("-set_pte ") for line in d), d[:20]
