"""PTE values as i64 bit patterns (runtime/pteval.py, issue 15 item 1): the
boundary conversions, the trace text of bit-63 values, the generated
modules' wide constants and wrapping advance, vec[i64] tables.

Expected values are written out here as two's-complement facts (an i64
pattern of a u64 word w >= 2**63 is w - 2**64), not computed by the code
under test.  Each check was seen to fail on a broken conversion (u64 as the
identity, s64 without the 2**64 fold, wrap as the identity under
PTDL_INTERPRETED=1, pte_literal writing the unsigned word).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dsl.generate.pymod import wide_constants
from dsl.generate.pteword import pte_literal
from runtime.arch import VM_READ
from runtime.kernel import Kernel
from runtime.pagetable import PteTable
from runtime.pteval import s64, u64, wrap
from runtime.trace import Trace, hx

from fixture_archs import generated

ROOT = Path(__file__).resolve().parents[2]

# (unsigned word, its i64 pattern)
PAIRS = [
    (0, 0),
    (0x25, 0x25),
    ((1 << 62) - 1, (1 << 62) - 1),
    (1 << 62, 1 << 62),
    ((1 << 63) - 1, 9223372036854775807),
    (1 << 63, -9223372036854775808),
    (0x8000000000000025, -9223372036854775771),
    (0xfff0000000000fff, -4503599627366401),
    ((1 << 64) - 1, -1),
]


@pytest.mark.parametrize("word,pattern", PAIRS, ids=[hex(w) for w, _ in PAIRS])
def test_s64_u64_round_trip(word: int, pattern: int) -> None:
    assert s64(word) == pattern
    assert u64(pattern) == word
    assert u64(s64(word)) == word
    assert s64(pattern) == pattern          # a pattern is its own pattern


def test_s64_takes_the_low_64_bits() -> None:
    assert s64((1 << 64) + 5) == 5
    assert s64(-1) == -1


def test_wrap_is_the_identity_in_range() -> None:
    assert wrap(-1) == -1
    assert wrap(0x7fffffffffffffff) == 0x7fffffffffffffff
    assert wrap(-9223372036854775808) == -9223372036854775808


@pytest.mark.skipif(os.environ.get("PTDL_INTERPRETED") != "1",
                    reason="compiled, an i64 argument cannot be out of range")
def test_wrap_folds_python_ints_into_64_bits() -> None:
    # what compiled i64 arithmetic gives; an interpreted sum needs the fold
    assert wrap(1 << 63) == -9223372036854775808
    assert wrap((1 << 64) + 0x25) == 0x25
    assert wrap(0xffffffffffffffff) == -1


def test_hx_prints_the_unsigned_word() -> None:
    assert hx(-1) == "0xffffffffffffffff"
    assert hx(-9223372036854775771) == "0x8000000000000025"
    assert hx(0x1000) == "0x1000"


def test_trace_lines_of_bit63_patterns_are_unsigned_hex() -> None:
    t = Trace()
    t.set_pte(1, 5, -9223372036854775771)
    t.ptc_set(1, 5, -1, 2)
    t.tlb_preload(1, 0x400000, -9223372036854775808)
    assert t.lines == ["set_pte pt=1 idx=5 val=0x8000000000000025",
                       "ptc_set pt=1 idx=5 val=0xffffffffffffffff nr=2",
                       "tlb_preload mm=1 addr=0x400000 val=0x8000000000000000"]


def test_table_holds_bit63_patterns() -> None:
    t = PteTable(1, 1, 0, 4, 12)
    t.entries[2] = -9223372036854775771
    assert [u64(v) for v in t.entries] == [0, 0, 0x8000000000000025, 0]


def test_x86_set_ptes_bit63_round_trip() -> None:
    """VM_READ on x86 sets NX (bit 63): the prot, the stored entries and
    the trace text are the unsigned words the kernel would hold."""
    arch = generated("x86")
    prot = arch.vm_get_page_prot(VM_READ)
    assert prot == -9223372036854775771          # 0x8000000000000025
    k = Kernel(arch)
    mm = k.new_mm()
    f = k.new_file()
    folio = k.add_to_page_cache(f, 0, 2, fill=False)
    k.mmap(mm, 0x400000, 4 << 12, VM_READ, f)
    ptep = k.pte_ref(mm, 0x400000, True)
    assert ptep is not None
    pte = arch.pfn_pte(folio.pfn, prot)
    k.set_ptes(mm, 0x400000, ptep, pte, 4)
    want = [0x8000000000000025 | ((folio.pfn + i) << 12) for i in range(4)]
    assert [u64(e) for e in ptep.table.entries[:4]] == want
    assert [ln for ln in k.trace.lines if ln.startswith("set_pte ")] == [
        "set_pte pt=%d idx=%d val=%#x" % (ptep.table.pt, i, w) for i, w in enumerate(want)]
    assert not k.violations


def test_generated_advance_wraps_at_bit_63() -> None:
    """x86's pte_advance (+ 1 << 12) across bit 63 and past 2**64, in the
    compiled module and interpreted alike (the old `& WORD_MASK`)."""
    arch = generated("x86")
    assert arch.pte_advance(s64(0x7ffffffffffff025), 1) == -9223372036854775771
    assert u64(arch.pte_advance(s64(0xfffffffffffff025), 1)) == 0x25


@pytest.mark.skipif(os.environ.get("PTDL_INTERPRETED") == "1",
                    reason="only compiled code checks the i64 range")
def test_compiled_store_refuses_an_unconverted_word() -> None:
    """A u64 word that skipped s64 is refused by the compiled store path
    (never silently stored as a different number)."""
    k = Kernel(generated("x86"))
    mm = k.new_mm()
    ptep = k.pte_ref(mm, 0x400000, True)
    assert ptep is not None
    with pytest.raises((TypeError, ValueError, OverflowError)):
        k.set_pte(ptep, 0x8000000000000025)


def test_pte_literal_short_or_named() -> None:
    assert pte_literal(0x25) == "0x25"
    assert pte_literal(0xfff0000000000fff) == "-0xffffffffff001"     # a short int
    assert pte_literal(0x8000000000000000) == "W_8000000000000000"   # -2**63: no short int
    assert pte_literal(0x4000000000000000) == "W_4000000000000000"   # 2**62
    assert pte_literal((1 << 62) - 1) == "0x3fffffffffffffff"
    assert wide_constants("a W_8000000000000000 | W_4000000000000000 W_8000000000000000") == (
        "W_4000000000000000: Final[i64] = s64(0x4000000000000000)\n"
        "W_8000000000000000: Final[i64] = s64(0x8000000000000000)\n")


def test_generated_wide_constants_are_their_words() -> None:
    """Every W_<hex> a generated module defines holds the pattern of its
    name's word and is used; no literal in a module is beyond a short int."""
    import importlib
    seen = 0
    for py in sorted((ROOT / "generated" / "runtime").glob("*.py")):
        if py.name == "__init__.py":
            continue
        text = py.read_text(encoding="utf-8")
        mod = importlib.import_module("generated.runtime." + py.stem)
        for h in re.findall(r"^W_([0-9a-f]{16}): Final\[i64\]", text, re.M):
            word = int(h, 16)
            assert getattr(mod, "W_" + h) == (word - (1 << 64) if word >> 63 else word), (py, h)
            assert len(re.findall(r"\bW_%s\b" % h, text)) > 1, (py, h)
            seen += 1
        code = [ln for ln in text.splitlines()
                if not ln.lstrip().startswith("#") and not ln.startswith("WORD_MASK")
                and "s64(0x" not in ln]
        for ln in code:
            for lit in re.findall(r"0x[0-9a-f]+", ln.split("#", 1)[0]):
                assert int(lit, 16) < 1 << 62, (py.name, ln)
    assert seen > 0
