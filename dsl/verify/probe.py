"""Render the probe C file and read the kernel's values back from its assembly.

Place in the flow: compare.py gives a list of facts; `render` writes one
`PTDL_FACT(fN, expr);` per line (so a compiler error names its fact by
line), in functions of FACTS_PER_FN.  Each fact is stored in a local first
and DEFINE()d (include/linux/kbuild.h, the asm-offsets technique) only if
`__builtin_constant_p` says it folded; otherwise the probe emits
`->fN__rt`, i.e. the kernel computes it at run time.  `parse` reads the
`->` lines of the `.s` file.  `assume_prelude` renders the assumptions
(karch.py) placed before every header in the second probe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .facts import Fact
from .karch import Assumption

FACTS_PER_FN = 256
INCLUDES = ("linux/kbuild.h", "linux/mm.h", "linux/pgtable.h")

_PRELUDE = """\
/*
 * ptdl verify probe: generated, compiled to assembly only, never linked.
 * Each fact is DEFINE()d when it folds to a constant; otherwise ->fN__rt.
 */
#define PTDL_FACT(sym, expr) do {						\\
	unsigned long long __ptdl_v = (unsigned long long)(expr);		\\
	if (__builtin_constant_p(__ptdl_v))					\\
		DEFINE(sym, __ptdl_v);						\\
	else									\\
		DEFINE(sym##__rt, 0);						\\
} while (0)
#if defined(pte_user_exec)
#define PTDL_PTE_EXEC(p) pte_user_exec(p)
#elif defined(pte_no_exec)
#define PTDL_PTE_EXEC(p) (!pte_no_exec(p))
#else
#define PTDL_PTE_EXEC(p) pte_exec(p)
#endif
#ifdef PFN_PTE_SHIFT
#define PTDL_PFN_PTE_SHIFT PFN_PTE_SHIFT
#else
#define PTDL_PFN_PTE_SHIFT ptdl_kernel_has_no_PFN_PTE_SHIFT
#endif
"""


@dataclass(frozen=True)
class Probe:
    text: str
    line_of: dict[int, int]        # fact index -> line in text
    fact_at: dict[int, int]        # line -> fact index


def assume_prelude(assumptions: Sequence[Assumption]) -> list[str]:
    out = ["/* assumptions (ptdl dsl/verify/karch.py) */"]
    for a in assumptions:
        if a.kind == "macro":
            out.append(f"#define {a.symbol} ({a.value})")
        else:
            var = f"ptdl_assume_{a.symbol}"
            out.append(f"static {a.ctype} {var} __attribute__((unused)) = {a.value};")
            out.append(f"#define {a.symbol} {var}")
    return out


def render(facts: Sequence[Fact], indices: Sequence[int], macros: Sequence[str] = (),
           assumptions: Sequence[Assumption] = ()) -> Probe:
    lines: list[str] = []
    if assumptions:
        lines += assume_prelude(assumptions)
    lines += [f"#include <{h}>" for h in INCLUDES]
    lines += _PRELUDE.splitlines()
    lines += list(macros)
    line_of: dict[int, int] = {}
    fact_at: dict[int, int] = {}
    chunks = [list(indices[i:i + FACTS_PER_FN]) for i in range(0, len(indices), FACTS_PER_FN)]
    for n, chunk in enumerate(chunks):
        lines.append(f"void ptdl_probe_{n}(void);")
        lines.append(f"void ptdl_probe_{n}(void)")
        lines.append("{")
        for i in chunk:
            c = facts[i].c_assume if assumptions and facts[i].c_assume else facts[i].c
            lines.append(f"\tPTDL_FACT(f{i}, {c});")
            line_of[i] = len(lines)
            fact_at[len(lines)] = i
        lines.append("}")
    return Probe("\n".join(lines) + "\n", line_of, fact_at)


_DEF = re.compile(r'"->f(\d+)(__rt)?\s+[$#]?(-?\d+)')


def parse(asm: str, word_bits: int = 64) -> dict[int, int | None]:
    """fact index -> folded value (masked to unsigned), or None (run time)."""
    out: dict[int, int | None] = {}
    mask = (1 << 64) - 1
    for m in _DEF.finditer(asm):
        i = int(m.group(1))
        out[i] = None if m.group(2) else int(m.group(3)) & mask
    return out


_ERR = re.compile(r"^[^:\s]*?([A-Za-z0-9_]+)\.c:(\d+):(?:\d+:)?\s*(error|fatal error):\s*(.*)$",
                  re.M)


def errors_by_line(stderr: str, name: str) -> dict[int, str]:
    """Line -> first error message, for errors reported in probe `name`.c."""
    out: dict[int, str] = {}
    for m in _ERR.finditer(stderr):
        if m.group(1) != name:
            continue
        line = int(m.group(2))
        out.setdefault(line, m.group(4).strip())
    return out


def attribute_errors(stderr: str, name: str, probe: Probe) -> dict[int, str]:
    """Fact index -> error, mapping errors inside macro expansions to the
    probe line whose expansion they came from ("in expansion of macro")."""
    out: dict[int, str] = {}
    direct = errors_by_line(stderr, name)
    for line, msg in direct.items():
        if line in probe.fact_at:
            out.setdefault(probe.fact_at[line], msg)
    # errors located in a header are followed by "note: in expansion of macro
    # ... at name.c:LINE" or preceded by "In function"; take every probe line
    # the compiler mentions after an error
    cur: str | None = None
    for raw in stderr.splitlines():
        m = re.search(r"error:\s*(.*)$", raw)
        if m:
            cur = m.group(1).strip()
        m2 = re.search(rf"{re.escape(name)}\.c:(\d+):", raw)
        if m2 and cur is not None:
            line = int(m2.group(1))
            if line in probe.fact_at:
                out.setdefault(probe.fact_at[line], cur)
    return out
