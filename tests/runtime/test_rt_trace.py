"""The compact trace (runtime/trace.py): records rendered on demand.

Place in the flow: a unit test of the lowest runtime layer.  Every emitter
records integers and the text is rendered when read; these tests hold the
rendered lines to the text an eager emitter produced, built independently
here from ``TRACE_FORMATS`` with a regular expression (``{x:dec}`` ->
``str``, ``{x:hex}`` -> ``hex``), for every event, for u64 values with bit
63 (and values no u64 holds; a PTE value, hole ``val``, arrives as its
i64 bit pattern and renders as the unsigned word), across renders (``mark``/``since``/``lines``
read between events, ``clear``, a caller clearing ``lines``), and with
``enabled=False``.  The fixed sequence is also run against mutants of
runtime/trace.py (a broken renderer, a lost side-list value, a miscounted
mark, ...): each must fail it.
"""

from __future__ import annotations

import os
import re
import types
from typing import Any, Callable, Union

import pytest
from hypothesis import given, settings, strategies as st
from librt.vecs import vec
from mypy_extensions import i64

import runtime.trace as T
from rt_mode import ROOT
from runtime.primitives import TRACE_FORMATS, py_format

HOLE = re.compile(r"\{(\w+):(dec|hex)\}")
# events whose field named ``bit`` takes a bool (the emitters' signature)
BOOL_HOLES = ("bit",)
# the hole of a PTE value: the emitters take its i64 bit pattern
VAL_HOLES = ("val",)


def holes(ev: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in HOLE.finditer(TRACE_FORMATS[ev])]


def expected_line(ev: str, args: tuple[int, ...]) -> str:
    """The line of ``ev`` with ``args``, built from the format text alone."""
    it = iter(args)

    def sub(m: re.Match[str]) -> str:
        v = int(next(it))
        if m.group(1) in VAL_HOLES:
            v %= 2**64          # the pattern's unsigned word
        return str(v) if m.group(2) == "dec" else hex(v)
    return HOLE.sub(sub, TRACE_FORMATS[ev])


def eager_line(ev: str, args: tuple[int, ...]) -> str:
    """What the eager emitters appended: the %-format applied at once."""
    fmt = py_format(TRACE_FORMATS[ev])
    vals = tuple(int(a) % 2**64 if name in VAL_HOLES else int(a)
                 for (name, _), a in zip(holes(ev), args))
    return fmt % vals if args else fmt


# -- operations on a trace and the lines they must give -----------------------
# ("ev", name, args) | ("run", pt, idx, vals) | ("raw", line) | ("mark",)
# | ("since", k) (the k-th mark taken, modulo) | ("lines",) | ("text",)
# | ("clear",) | ("lines_clear",)
Op = tuple[Any, ...]


def mismatches(cls: Callable[..., Any], ops: list[Op], enabled: bool = True) -> list[str]:
    """Run ``ops`` on ``cls(enabled)`` against a plain list of the expected
    lines; every difference found."""
    t = cls(enabled)
    exp: list[str] = []
    marks: list[int] = []
    bad: list[str] = []
    try:
        run_ops(t, ops, enabled, exp, marks, bad)
    except Exception as e:      # a broken trace may raise: that is a finding
        bad.append("raised %s: %s" % (type(e).__name__, e))
        return bad
    if t.lines != exp:
        bad.append("end: lines %r, want %r" % (t.lines, exp))
    if t.mark() != len(exp):
        bad.append("end: mark() %d, want %d" % (t.mark(), len(exp)))
    return bad


def run_ops(t: Any, ops: list[Op], enabled: bool, exp: list[str], marks: list[int],
            bad: list[str]) -> None:
    def want(line: str) -> None:
        if enabled:
            exp.append(line)

    for n, op in enumerate(ops):
        kind = op[0]
        if kind == "ev":
            ev, args = op[1], op[2]
            getattr(t, ev)(*args)
            want(expected_line(ev, args))
        elif kind == "run":
            pt, idx, vals = op[1], op[2], vec[i64](op[3])
            t.set_pte_run(pt, idx, vals)
            for i, v in enumerate(vals):
                want(expected_line("set_pte", (pt, idx + i, v)))
            for i in range(len(vals)):      # the caller reuses its list
                vals[i] = 0x5A5A
        elif kind == "raw":
            t.emit(op[1])
            want(op[1])
        elif kind == "mark":
            m = t.mark()
            if m != len(exp):
                bad.append("op %d: mark() %d, want %d" % (n, m, len(exp)))
            marks.append(len(exp))
        elif kind == "since":
            if marks:
                m = marks[op[1] % len(marks)]
                got = t.since(m)
                if got != exp[m:]:
                    bad.append("op %d: since(%d) %r, want %r" % (n, m, got, exp[m:]))
        elif kind == "lines":
            if t.lines != exp:
                bad.append("op %d: lines %r, want %r" % (n, t.lines, exp))
        elif kind == "text":
            want_text = "".join(x + "\n" for x in exp)
            if t.text() != want_text:
                bad.append("op %d: text %r, want %r" % (n, t.text(), want_text))
        elif kind == "clear":
            t.clear()
            exp.clear()
            marks.clear()
        elif kind == "lines_clear":
            t.lines.clear()
            exp.clear()
            marks.clear()
        else:
            raise AssertionError(op)


# values at the edges of the record encoding (mypyc's short ints end at
# 2**62 - 1, i64 at 2**63 - 1, u64 at 2**64 - 1) and past them
EDGES: tuple[int, ...] = (0, 1, 0x1067, 2**62 - 1, 2**62, 2**63 - 1, 2**63,
                          0x8000000000001067, 2**64 - 1, 2**64, -1, -(2**63))
# PTE value patterns at the edges: short ints end at 2**62 - 1; bit 63 set
# reads negative
VAL_EDGES: tuple[int, ...] = (0, 1, 0x1067, 2**62 - 1, 2**62, 2**63 - 1, -(2**63),
                              0x8000000000001067 - 2**64, -1, -2, -(2**62) - 1)


def fixed_args(ev: str, k: int) -> tuple[int, ...]:
    out: list[int] = []
    for j, (name, kind) in enumerate(holes(ev)):
        if name in BOOL_HOLES:
            out.append(bool((k + j) & 1))
        elif name in VAL_HOLES:
            out.append(VAL_EDGES[(k + 3 * j) % len(VAL_EDGES)])
        elif kind == "hex":
            out.append(EDGES[(k + 3 * j) % len(EDGES)])
        else:
            out.append((k * 7 + j) % 600)
    return tuple(out)


def fixed_ops() -> list[Op]:
    """Every event with edge values, runs, raw lines, and the reads in
    between (renders), clears and marks across them."""
    ops: list[Op] = [("mark",)]
    for k, ev in enumerate(TRACE_FORMATS):
        ops.append(("ev", ev, fixed_args(ev, k)))
        if k % 5 == 0:
            ops.append(("mark",))
        if k % 7 == 3:
            ops.append(("lines",))
        if k % 11 == 4:
            ops.append(("since", k))
    ops += [("run", 1, 0, [0x8000000001000025 - 2**64 + (i << 12) for i in range(16)]),
            ("mark",), ("raw", "a raw line 100%"), ("since", 0), ("since", -1),
            ("run", 7, 500, [1, 2**62, -1, 3]), ("run", 2, 9, []),
            ("lines",), ("mark",)]
    for k, ev in enumerate(TRACE_FORMATS):      # after a render: fresh side lists
        ops.append(("ev", ev, fixed_args(ev, k + 1)))
    ops += [("since", 2), ("text",), ("lines_clear",), ("mark",),
            ("ev", "tsb_insert", (3, 2**63 + 5, -2)), ("since", 0),
            ("ev", "set_pte", (1, 2, -(2**63))), ("clear",),
            ("ev", "ptc_set", (1, 16, 0x8000000001010025 - 2**64, 16)), ("mark",),
            ("run", 1, 16, [0x8000000001010025 - 2**64]), ("since", 0), ("text",)]
    return ops


def test_event_ids_are_positions_in_trace_formats() -> None:
    ids = {name[2:].lower(): getattr(T, name) for name in dir(T)
           if name.startswith("E_") and name not in ("E_RUN", "E_RAW")}
    assert sorted(ids) == sorted(TRACE_FORMATS)
    for ev, i in ids.items():
        assert T.EVENTS[i] == ev
    assert min(T.E_RUN, T.E_RAW) >= len(TRACE_FORMATS)


def test_the_oracle_is_the_eager_formatting() -> None:
    # the regular-expression oracle equals the %-format the eager emitters
    # applied, for every event and the edge values
    for k, ev in enumerate(TRACE_FORMATS):
        for d in range(4):
            args = fixed_args(ev, k + d)
            assert expected_line(ev, args) == eager_line(ev, args)
    assert expected_line("set_pte", (1, 5, -(2**63))) == "set_pte pt=1 idx=5 val=0x8000000000000000"


def test_fixed_sequence() -> None:
    assert mismatches(T.Trace, fixed_ops()) == []


def test_disabled_records_nothing() -> None:
    assert mismatches(T.Trace, fixed_ops(), enabled=False) == []
    t = T.Trace(False)
    t.set_pte(1, 2, 3)
    t.set_pte_run(1, 2, vec[i64]([3, 4]))
    t.emit("x")
    assert t.mark() == 0 and t.lines == [] and t.text() == ""


def test_a_caller_clearing_lines_clears_the_trace() -> None:
    t = T.Trace()
    t.dcache_flush(0x1000, 16)
    t.lines.clear()
    t.dcache_flush_all()
    assert t.lines == ["dcache_flush_all"]
    assert t.mark() == 1


# -- property: random sequences -----------------------------------------------
value = st.one_of(st.sampled_from(EDGES), st.integers(0, 2**64 - 1),
                  st.integers(-(2**70), 2**70))
pattern = st.one_of(st.sampled_from(VAL_EDGES), st.integers(-(2**63), 2**63 - 1))


@st.composite
def event_op(draw: st.DrawFn) -> Op:
    ev = draw(st.sampled_from(list(TRACE_FORMATS)))
    args: list[Union[int, bool]] = []
    for name, kind in holes(ev):
        if name in BOOL_HOLES:
            args.append(draw(st.booleans()))
        elif name in VAL_HOLES:
            args.append(draw(pattern))
        elif kind == "hex":
            args.append(draw(value))
        else:
            args.append(draw(st.one_of(st.integers(0, 1 << 20), value)))
    return ("ev", ev, tuple(args))


op = st.one_of(
    event_op(), event_op(), event_op(),
    st.tuples(st.just("run"), st.integers(0, 1 << 16), st.integers(0, 511),
              st.lists(pattern, max_size=20)),
    st.tuples(st.just("raw"), st.text(max_size=12)),
    st.just(("mark",)), st.tuples(st.just("since"), st.integers(0, 50)),
    st.just(("lines",)), st.just(("text",)), st.just(("clear",)),
    st.just(("lines_clear",)))


@settings(max_examples=200, deadline=None)
@given(st.lists(op, max_size=40), st.booleans())
def test_records_render_as_the_eager_lines(ops: list[Op], enabled: bool) -> None:
    assert mismatches(T.Trace, ops, enabled) == []


# -- the checks fail on broken traces -----------------------------------------
SOURCE = os.path.join(ROOT, "runtime", "trace.py")

# (what is broken, text in runtime/trace.py, its broken replacement)
MUTANTS: tuple[tuple[str, str, str], ...] = (
    ("side-list values ignored", "        return next(big)\n", "        return w\n"),
    ("a big value dropped", "        self._big.append(a)\n        return append(rec, BIG)\n",
     "        return append(rec, BIG)\n"),
    ("u64 values as i64 patterns", "return u64(next(pat))", "return next(pat)"),
    ("a pattern value dropped", "        self._pat = append(self._pat, v)\n", ""),
    ("run values rendered as patterns", "u64(vals[j])", "vals[j]"),
    ("short range check lost", "        if 0 <= v <= SMALL_MAX:\n            return append(rec, v)\n",
     "        if v <= SMALL_MAX:\n            return append(rec, v)\n"),
    ("run counted one line", "self._pending += len(vals) - 1", "pass"),
    ("run values aliased", "self._runs.append(vals[0:len(vals)])", "self._runs.append(vals)"),
    ("run ignores enabled", "if self.enabled and vals:", "if vals:"),
    ("side list kept across renders", "        self._reset()\n\n    # -- one emitter",
     "        self._rec = vec[i64]()\n        self._runs = []\n        self._raw = []\n"
     "        self._pending = 0\n\n    # -- one emitter"),
    ("only the first read renders", "        if self._pending:\n            self._render()",
     "        if self._pending and not self._text:\n            self._render()"),
    ("render forgets pending records", "        self._reset()\n\n    # -- one emitter",
     "        self._rec = vec[i64]()\n\n    # -- one emitter"),
    ("two fields swapped", "out.append(fmt % (a, b, _field(rec[i + 2], big, pat)))",
     "out.append(fmt % (b, a, _field(rec[i + 2], big, pat)))"),
    ("wrong event id", "E_TSB_INSERT: Final = 24", "E_TSB_INSERT: Final = 23"),
    ("bool recorded inverted", "self._r2(E_FOLIO_TEST_ARCH1, pfn, 1 if bit else 0)",
     "self._r2(E_FOLIO_TEST_ARCH1, pfn, 0 if bit else 1)"),
    ("run renderer repeats the first index", "str(idx + j)", "str(idx)"),
    ("run renderer drops the pt", "head = _SP_A + str(pt) + _SP_B", "head = _SP_A + _SP_B"),
    ("set_pte renderer swaps pt and idx", "out.append(_SP_A + str(a) + _SP_B + str(b) + _SP_C",
     "out.append(_SP_A + str(b) + _SP_B + str(a) + _SP_C"),
    ("set_pte renderer prints val in decimal", "+ hex(_field(rec[i + 2], big, pat)) + _SP_D)",
     "+ str(_field(rec[i + 2], big, pat)) + _SP_D)"),
    ("mark ignores pending records", "return len(self._text) + self._pending",
     "return len(self._text)"),
)


def mutant(old: str, new: str) -> Callable[..., Any]:
    """runtime/trace.py with ``old`` replaced by ``new``, run interpreted."""
    with open(SOURCE) as f:
        src = f.read()
    assert old in src, "mutation target gone from runtime/trace.py: %r" % old
    mod = types.ModuleType("trace_mutant")
    exec(compile(src.replace(old, new, 1), SOURCE, "exec"), mod.__dict__)
    cls: Callable[..., Any] = mod.Trace
    return cls


def test_unmutated_source_passes() -> None:
    assert mismatches(mutant("", ""), fixed_ops()) == []


@pytest.mark.parametrize("what,old,new", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_each_broken_trace_fails(what: str, old: str, new: str) -> None:
    broken = mutant(old, new)
    assert (mismatches(broken, fixed_ops()) != []
            or mismatches(broken, fixed_ops(), enabled=False) != []), what


@pytest.mark.parametrize("fmt", ["set_pte pt=%d val=%#x", "set_pte pt=%d idx=%d val=%d",
                                 "set_pte pt=%d idx=%d val=%#x nr=%d",
                                 "set_pte pt=%s idx=%d val=%#x"])
def test_set_pte_fast_renderer_refuses_another_format_shape(fmt: str) -> None:
    # the concatenating renderer of set_pte lines holds only while the
    # format is `pt=%d idx=%d val=%#x` around literal text
    with pytest.raises(ValueError, match="not 'pt=%d idx=%d val=%#x'"):
        T._set_pte_parts(fmt)
    assert T._set_pte_parts("set_pte pt=%d idx=%d val=%#x 100%%") == (
        "set_pte pt=", " idx=", " val=", " 100%")
