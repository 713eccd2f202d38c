"""The kernel header takes the entry's folio past the guards that do not
read it (dsl/generate/cwriter.py _folio_guard).

ia64's set_pte() (arch/ia64/include/asm/pgtable.h, 6.1.192 L289-301)
looks at the folio (__ia64_sync_icache_dcache) only for a present exec
user entry; its archdef writes `when new.p and new.user and new.exec and
not folio.pg_arch_1` inside the per-entry store, so the header must test
the entry bits before page_folio(pte_page(pte)), not look the folio up for
every entry.  The split keeps the tests and their order (the C
differential compares the traces); a condition whose first conjunct reads
the folio, or a `when` with an else, is left as it is.
"""

from __future__ import annotations

from c_util import header, model

from dsl.generate.cwriter import _folio_guard
from dsl.model import BoolOp, Expr, Not, Ref, Stmt, When
from dsl.source import NOWHERE


def _set_ptes(text: str) -> str:
    start = text.index("PTDL_RANGE_NAME(set_ptes)(")
    return text[start:text.index("\n}\n", start)]


def test_ia64_tests_the_entry_before_taking_the_folio() -> None:
    body = _set_ptes(header(model("ia64")))
    # (p, user and exec: one-bit tests merged into one, cwriter.all_bits)
    exec_test = body.index("__ptdl_pte_p_and_user_and_exec(pte)")
    folio = body.index("page_folio(pte_page(pte))")
    assert exec_test < folio
    assert body.index("test_bit(PG_arch_1, &folio->flags)") > folio


L = NOWHERE


def _ref(*path: str) -> Ref:
    return Ref(path, L)


def _when(cond: Expr, orelse: tuple[Stmt, ...] = ()) -> When:
    return When(cond, (), orelse, L)


def test_split_keeps_the_conjuncts_in_order() -> None:
    a, b, f = _ref("new", "exec"), _ref("new", "user"), Not(_ref("folio", "pg_arch_1"), L)
    w = _when(BoolOp("and", (a, b, f), L))
    (outer,) = _folio_guard((w,))
    assert isinstance(outer, When) and isinstance(outer.cond, BoolOp)
    assert outer.cond.args == (a, b)
    (inner,) = outer.then
    assert isinstance(inner, When) and inner.cond == f and inner.then == w.then


def test_no_split_when_the_folio_comes_first_or_there_is_an_else() -> None:
    f, a = _ref("folio", "pg_arch_1"), _ref("new", "exec")
    first: tuple[Stmt, ...] = (_when(BoolOp("and", (f, a), L)),)
    assert _folio_guard(first) == first
    other: tuple[Stmt, ...] = (_when(BoolOp("and", (a, f), L), (_when(a),)),)
    assert _folio_guard(other) == other
