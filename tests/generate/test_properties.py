"""The property tests the conformance generator writes (debug_vm_pgtable
style) pass on the shipped archs and fail on broken inputs: the
x86_mkdirty_no_dirty fixture, and generated modules with one helper
broken on purpose.

Each case renders the arch's module and its test module in memory
(dsl/generate/pymod.py, ctests.py), runs the module's property tests
directly, and expects them to pass, or to fail with the named check.
"""

from __future__ import annotations

import functools
import sys
import types
from types import CodeType
from pathlib import Path
from typing import Any, Callable

import pytest

from dsl.generate import ctests, pymod
from gen_util import project

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _code(path: str, name: str) -> tuple[CodeType, CodeType]:
    """The arch's module and test module, rendered and compiled once per
    process (each test executes them into fresh module objects)."""
    p = project() if path.startswith("archdefs/") else project(path)
    assert p.ok
    a = p.archs[name]
    return (compile(pymod.render(a, path), f"generated.runtime.{name}", "exec"),
            compile(ctests.render(a, path), f"ptdl_props_{name}", "exec"))


def _tests_for(path: str, name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    mod_code, tests_code = _code(path, name)
    mod = types.ModuleType(f"generated.runtime.{name}")
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    exec(mod_code, mod.__dict__)
    t = types.ModuleType(f"ptdl_props_{name}")
    t.__file__ = str(ROOT / "generated" / "tests" / f"test_{name}_conformance.py")
    exec(tests_code, t.__dict__)
    return t


def _run_properties(t: Any) -> list[str]:
    """Names of the property tests that fail."""
    failed: list[str] = []
    cases: list[tuple[str, Callable[[], None]]] = []
    for f in range(16):
        cases.append(("vm_get_page_prot_roles", lambda f=f: t.test_vm_get_page_prot_roles(f)))
    for role, mk, un in t.MUTATOR_PAIRS:
        cases.append((f"mutators[{mk}]", lambda r=role, m=mk, u=un: t.test_mutators(r, m, u)))
    for pfn in t.BOUNDARY_PFNS:
        cases.append(("pfn_round_trip", lambda p=pfn: t.test_pfn_round_trip(p)))
        cases.append(("advance_is_next_pfn", lambda p=pfn: t.test_advance_is_next_pfn(p)))
    for name, fn in cases:
        try:
            fn()
        except AssertionError:
            if name not in failed:
                failed.append(name)
    return failed


SHIPPED = [("archdefs/arm64.arch", "arm64"), ("archdefs/arm64.arch", "arm64_64k"),
           ("archdefs/mips.arch", "mips"), ("archdefs/s390.arch", "s390"),
           ("archdefs/x86.arch", "x86")]


@pytest.mark.parametrize("path,name", SHIPPED, ids=[n for _, n in SHIPPED])
def test_properties_hold_on_shipped_archs(path: str, name: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run_properties(_tests_for(path, name, monkeypatch)) == []


def test_mkdirty_that_does_not_dirty_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    t = _tests_for("tests/fixtures/broken/x86_mkdirty_no_dirty.arch", "x86_mkdirty_no_dirty",
                   monkeypatch)
    assert _run_properties(t) == ["mutators[mkdirty]"]


def _break(t: Any, method: str, wrap: Callable[[Any, Callable[..., int]], Callable[..., Any]]
           ) -> None:
    base = type(t.ARCH)
    orig = getattr(base, method)
    broken = type("Broken", (base,), {method: wrap(orig, orig)})
    t.ARCH = broken()


BREAKAGES: dict[str, tuple[str, Callable[..., Any], str]] = {
    # a step that skips a page after the first one: set_ptes != nr x set_pte_at
    "advance_skips": ("pte_advance", lambda o, _: lambda self, pte, n: o(self, pte, n + (n > 1)),
                      "advance_is_next_pfn"),
    # pfn_pte that drops PFN bit 0
    "pfn_pte_drops_bit": ("pfn_pte", lambda o, _: lambda self, pfn, prot: o(self, pfn & ~1, prot),
                          "pfn_round_trip"),
    # vm_get_page_prot that makes every protection writable
    "prot_always_writable": ("vm_get_page_prot",
                             lambda o, _: lambda self, f: self.pte_mkwrite(o(self, f)),
                             "vm_get_page_prot_roles"),
    # mkold that leaves the entry young
    "mkold_noop": ("pte_mkold", lambda o, _: lambda self, pte: pte, "mutators[mkyoung]"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_broken_helper_is_caught(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    method, wrap, check = BREAKAGES[case]
    t = _tests_for("archdefs/x86.arch", "x86", monkeypatch)
    _break(t, method, wrap)
    assert check in _run_properties(t)
