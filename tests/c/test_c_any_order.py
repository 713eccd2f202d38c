"""any() is evaluated in the same order in the generated Python module and
in the generated C header (issue 10 item 12): where it stands inside its
`and`/`or` chain, only when reached, entry 0 first, stopping at the first
entry that holds.

The fixture (tests/c/fixtures/any_order.arch) tests folio.pg_arch_1 both
outside and inside any(); each test prints a `pg_arch_1 test` line, so the
number of such lines before each effect tells how the condition was
evaluated.  The expected traces below are written out from the
short-circuit rule itself, not taken from either generator: an eager any()
(the whole loop before the condition) or a reversed order prints more
lines, a non-short-circuit loop inside any() too.
"""

from __future__ import annotations

import functools

import pytest

from c_util import ROOT, header, python_arch
from dsl.generate import charness
from dsl.project import load
from runtime.arch import VM_EXEC, VM_READ
from runtime.kernel import Kernel
from runtime.script import ScriptWriter

FIXTURE = "tests/c/fixtures/any_order.arch"
BASE = 0x400000
NR = 4


@functools.cache
def _model():  # type: ignore[no-untyped-def]
    p = load(ROOT, [FIXTURE])
    assert p.ok, [str(d) for d in p.diags]
    return p.archs["any_order"]


def _script(flag: bool) -> tuple[str, int]:
    """set_ptes of an order-2 exec folio with PG_arch_1 clear or set."""
    a = _model()
    arch = python_arch(a, FIXTURE)
    k = Kernel(arch, frozenset())  # type: ignore[arg-type]
    mm = k.new_mm()
    f = k.new_file("any")
    folio = k.add_to_page_cache(f, 0, 2)
    folio.page_arch1[0] = flag                 # the folio's PG_arch_1, untraced
    k.mmap(mm, BASE, 16 * k.page_size, VM_READ | VM_EXEC, f, 0)
    ptep = k.pte_ref(mm, BASE, True)
    assert ptep is not None
    k.script = ScriptWriter(k)                 # record the set_ptes call only
    pte = arch.pfn_pte(folio.pfn, arch.vm_get_page_prot(VM_READ | VM_EXEC))  # type: ignore[attr-defined]
    k.set_ptes(mm, BASE, ptep, pte, NR)
    return k.script.text(), folio.pfn


def _want(flag: bool, pfn: int) -> list[str]:
    t = f"pg_arch_1 test folio={pfn:#x} -> {int(flag)}"
    if not flag:
        # `folio.pg_arch_1 and any(...)`: the left operand is false, any()
        # is not reached; `not folio.pg_arch_1 or any(...)`: true at once
        return [t, t, f"dcache_flush pfn={pfn:#x} nr={NR}"]
    # flag set: left operand, then any() stops at entry 0 (exec, flag set);
    # `not flag` is false, any(folio.pg_arch_1) stops at entry 0
    return [t, t, f"dcache_clean pfn={pfn:#x} nr={NR}", t, t,
            f"dcache_flush pfn={pfn:#x} nr={NR}"]


def _arch_lines(trace: list[str]) -> list[str]:
    return [ln for ln in trace if ln.split(" ")[0] in ("pg_arch_1", "dcache_flush", "dcache_clean")]


@pytest.mark.parametrize("flag", [False, True], ids=["pg_arch_1_clear", "pg_arch_1_set"])
def test_python_any_is_short_circuit_in_order(flag: bool) -> None:
    script, pfn = _script(flag)
    assert _arch_lines(charness.expected(script)) == _want(flag, pfn)


@pytest.mark.parametrize("flag", [False, True], ids=["pg_arch_1_clear", "pg_arch_1_set"])
def test_c_any_is_short_circuit_in_order(flag: bool) -> None:
    script, pfn = _script(flag)
    a = _model()
    got = charness.replay(a, header(a, FIXTURE), script)
    assert _arch_lines(got) == _want(flag, pfn)
    assert got == charness.expected(script)
