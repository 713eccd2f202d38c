"""PTE values as native 64-bit integers: the u64 bit pattern held in an ``i64``.

Place in the flow: every PTE value inside the model (``PteTable`` entries,
the arch helpers of ``runtime.arch`` and generated/runtime/<arch>.py, the
set_ptes / lazy-MMU / store path) is an ``i64`` holding the word's bits, so
that mypyc keeps it unboxed: a 64-bit entry with bit 63 set (x86's NX,
sparc64's valid bit, ...) reads as a negative number.  32-bit words and
64-bit entries below bit 63 are the same number either way.  The
boundaries convert with the helpers here:

* ``s64(x)``: an unsigned value (a scenario's, ``runtime.layout``'s, a
  test's) as the pattern; ``x`` is taken modulo 2**64;
* ``u64(v)``: the pattern as the unsigned value (what trace lines, the C
  replay's script and violation texts print: ``hx`` does it);
* ``wrap(v)``: the result of an addition or left shift folded back into
  64 bits.  Compiled, i64 arithmetic already wraps and this is the
  identity; interpreted (PTDL_INTERPRETED=1) a Python int does not, so
  the generated advance and every sum of PTE values pass through it.

Bitwise and/or/xor/not and arithmetic right shifts of patterns give
patterns in both modes, so bit tests need no conversion.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

# the sign bit of the pattern, and the bits below it
SIGN: Final[i64] = -0x8000_0000_0000_0000
LOW63: Final[i64] = 0x7FFF_FFFF_FFFF_FFFF
U64_MASK: Final = 0xFFFF_FFFF_FFFF_FFFF
_TWO63: Final = 1 << 63
_TWO64: Final = 1 << 64


def s64(x: int) -> i64:
    """The i64 pattern of ``x``'s low 64 bits (an unsigned value, or one
    already a pattern)."""
    x &= U64_MASK
    if x >= _TWO63:
        return x - _TWO64
    return x


def u64(v: int) -> int:
    """The unsigned value of a pattern (a non-negative value is itself)."""
    if v < 0:
        return v & U64_MASK
    return v


def wrap(v: i64) -> i64:
    """``v`` folded into 64 bits: bit 63 becomes the sign, higher bits go
    (identity on an i64 already in range, as compiled code's are)."""
    return (v & LOW63) | (((v >> 63) & 1) * SIGN)
