"""How the generated runtime modules write a 64-bit PTE word (a mask or a
value): its i64 bit pattern (runtime/pteval.py).

Place in the flow: the ``pte`` filter of dsl/generate/templating.py (the
py/*.j2 macros) and dsl/generate/layout.py's ``pfn_pte_steps``; the
``W_<hex>`` names it returns are defined per module by dsl/generate/pymod.py
``wide_constants``.  No Jinja here, so the layout helpers stay light to
import (``ptdl show`` loads them without the template engine).
"""

from __future__ import annotations

SHORT_BITS = 62          # mypyc's short ints: -2**62 <= x < 2**62, unboxed


def pte_literal(v: int) -> str:
    """A literal when the pattern is a short int for mypyc (folded into
    the C code), else the name of a ``Final[i64]`` module constant
    ``W_<16 hex digits of the unsigned word>``."""
    u = v & ((1 << 64) - 1)
    s = u - (1 << 64) if u >= 1 << 63 else u
    if -(1 << SHORT_BITS) <= s < 1 << SHORT_BITS:
        return hex(s)
    return "W_%016x" % u
