"""A header's merged one-bit predicates (dsl/generate/cwriter.py all_bits:
`new.p and new.user and new.exec` as one `__ptdl_pte_p_and_user_and_exec`,
every bit set) give what the conjunction of the archdef's predicates gives.

For every shipped arch whose committed header has such a predicate, a small
C program (the shim, the header, gcc -Wall -Werror) prints it for a set of
entry values: each predicate's own bits in every combination, the rest
random; the expected value is dsl/generate/encode.py's pte_test (the
archdef's fields read by its own encoder, not the C header) of each
conjunct, and-ed.  The C differential only sees entries its scenarios map;
this covers every combination of the bits.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from c_util import ROOT, project
from dsl.generate import charness
from dsl.generate.encode import pte_test

GCC = os.environ.get("CC", "gcc")
_PRED = re.compile(r"static inline bool __ptdl_pte_(\w+_and_\w+)\(pte_t pte\)\n\{\n"
                   r"[^}]*?__ptdl_pteval_t m = ([^;]*);", re.S)


def _header(name: str) -> Path:
    return ROOT / "generated" / "kernel" / "arch" / name / "include" / "asm" / \
        "pgtable-range.h"


def _merged(name: str) -> list[tuple[str, list[str]]]:
    """(predicate, its mask macros) of every merged predicate in the header."""
    text = _header(name).read_text()
    return [(m.group(1), [x.strip() for x in m.group(2).split("|")])
            for m in _PRED.finditer(text)]


ARCHS = [n for n in sorted(project().archs) if _header(n).exists() and _merged(n)]


def test_some_headers_merge_bits() -> None:
    assert "ia64" in ARCHS


@pytest.mark.parametrize("name", ARCHS)
def test_merged_bits_equal_the_conjunction(name: str, tmp_path: Path) -> None:
    a = project().archs[name]
    preds = _merged(name)
    rng = random.Random(name)
    word = (1 << a.word_bits) - 1
    fields = {f.name: f for f in a.fields}
    values: list[int] = []
    for _, macros in preds:
        bits = [fields[m.rsplit("_PTE_", 1)[1].lower()].mask for m in macros]
        for k in range(1 << len(bits)):
            chosen = sum(b for j, b in enumerate(bits) if k >> j & 1)
            for _ in range(4):
                v = rng.getrandbits(a.word_bits) & ~sum(bits) & word
                values.append(v | chosen)
    calls = "\n".join(f'\t\tprintf("%d", (int)__ptdl_pte_{p}(pte));' for p, _ in preds)
    src = tmp_path / "bits.c"
    src.write_text(f"""#include "ptdl_shim.h"
#include PTDL_HEADER
#include "ptdl_generic.h"

int main(void)
{{
\tunsigned long long v;

\twhile (scanf("%llx", &v) == 1) {{
\t\tpte_t pte = __pte(v);

{calls}
\t\tprintf("\\n");
\t}}
\treturn 0;
}}
""")
    exe = tmp_path / "bits"
    subprocess.run([GCC, "-std=gnu11", "-Wall", "-Werror", "-O1", *charness.gcc_flags(a),
                    f'-DPTDL_HEADER="{_header(name)}"', f"-I{charness.C_DIR}",
                    f"-I{charness.STUB_DIR}", str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    r = subprocess.run([str(exe)], input="".join(f"{v:x}\n" for v in values),
                       capture_output=True, text=True, check=True)
    want = ["".join(str(int(all(pte_test(a, attr, v) for attr in p.split("_and_"))))
                    for p, _ in preds) for v in values]
    assert r.stdout.splitlines() == want
