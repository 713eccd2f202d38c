"""runtime.layout (the oracle's independent codec) and in_range()."""

from __future__ import annotations

from hypothesis import given, strategies as st

from runtime.arch import Field
from runtime.kernel import in_range
from runtime.layout import Layout

from fixture_archs import generated


def test_x86_pfn_pte_exact() -> None:
    lay = Layout(generated("x86").fields, 64)
    prot = (1 << 63) | 0x25
    assert lay.pfn_pte(0x1234, prot) == 0x8000000001234025
    assert lay.pfn_of(0x8000000001234025) == 0x1234
    assert lay.prot_of(0x8000000001234025) == 0x8000000000000025
    assert not lay.test(0x8000000001234025, "exec")      # NX set
    assert lay.test(0x1234025, "exec")
    assert lay.with_role(0x25, "exec", False) == 0x8000000000000025
    assert lay.test(0x25, "young") and not lay.test(0x25, "dirty")
    assert not lay.test(0xFFF, "protnone")               # role absent -> False
    assert lay.with_role(0x25, "protnone", True) == 0x25


def test_split_pfn_field() -> None:
    # PFN bits 0..3 at 12..15 and PFN bits 4..7 at 32..35
    fields = (Field("lo", 12, 15, "pfn", pfn_offset=0),
              Field("hi", 32, 35, "pfn", pfn_offset=4),
              Field("v", 0, 0, "present"))
    lay = Layout(fields, 64)
    assert lay.pfn_bits(0xAB) == (0xB << 12) | (0xA << 32)
    assert lay.pfn_of(lay.pfn_pte(0xAB, 1)) == 0xAB
    assert lay.pfn_pte(0xAB, 0xFFFF_FFFF_FFFF_FFFF) == (
        0xFFFF_FFFF_FFFF_FFFF & ~((0xF << 12) | (0xF << 32))) | lay.pfn_bits(0xAB)
    assert lay.fits(0xFF) and not lay.fits(0x100)


def test_in_range_wraps() -> None:
    assert in_range(5, 3, 3)
    assert not in_range(6, 3, 3)
    assert not in_range(2, 3, 3)
    # start + len overflows 64 bits: the unsigned form still answers
    top = (1 << 64) - 0x1000
    assert in_range(0x10, top, 0x2000)
    assert in_range(0x10, (1 << 32) - 0x1000, 0x2000, bits=32)
    assert not in_range(0x10, (1 << 32) - 0x1000, 0x2000, bits=64)


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_in_range_matches_reference(val: int, start: int, length: int) -> None:
    # reference: the set {start, start+1, ..., start+len-1} modulo 2**64
    end = start + length
    if end <= 2**64:
        ref = start <= val < end
    else:
        ref = val >= start or val < end - 2**64
    assert in_range(val, start, length) == ref


@given(st.integers(0, 2**40 - 1), st.integers(0, 2**64 - 1))
def test_codec_roundtrip(pfn: int, prot: int) -> None:
    lay = Layout(generated("x86").fields, 64)
    val = lay.pfn_pte(pfn, prot)
    assert lay.pfn_of(val) == pfn
    assert lay.prot_of(val) == lay.prot_of(prot)
