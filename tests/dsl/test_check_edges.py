"""Checker edge cases found while fuzzing (each was a crash, a hang or a
path-dependent answer), pinned down with exact messages and boundaries."""

from __future__ import annotations

from pathlib import Path

from dsl.check import check
from dsl.parse import parse_text
from dsl.project import load
from dsl.resolve import resolve

from frontend_util import ROOT

X86 = (ROOT / "archdefs" / "x86.arch").read_text(encoding="utf-8")


def _msgs(extra: str) -> list[str]:
    decls, diags = parse_text("archdefs/x86.arch", X86)
    d2, diags2 = parse_text("t.arch", extra)
    assert diags == diags2 == []
    res = resolve(decls + d2)
    return sorted(f"{d.loc.line}:{d.loc.col}: {d.message}" for d in res.diags + check(res)
                  if d.loc.path == "t.arch")


def test_value_fits_field_boundaries() -> None:
    assert _msgs("arch t extends x86 { pte { two 53..54 } prot { write = rw | two=3 } }") == []
    assert _msgs("arch t extends x86 { pte { two 53..54 } prot { write = rw | two=4 } }") == [
        "1:48: value 4 does not fit field 'two' (2 bits)"]
    assert _msgs("arch t extends x86 { pte { mkdirty { set hwdirty = 1 } } }") == []
    assert _msgs("arch t extends x86 { pte { mkdirty { set hwdirty = 2 } } }") == [
        "1:38: value 2 does not fit field 'hwdirty' (1 bits)"]


def test_huge_field_width_does_not_overflow() -> None:
    """`1 << width` with a 2**128-bit field raised OverflowError."""
    big = "0xffffffffffffffffffffffffffffffff"
    msgs = _msgs(f"arch t extends x86 {{ pte {{ big 0..{big} overlaps valid "
                 f"mkdirty {{ set big = 1 }} }} prot {{ write = big=1 }} "
                 f"set_ptes {{ set pte.big = 5 store(advance=pfn_shift_invert_aware) }} }}")
    assert msgs == ["1:28: bit range 0..340282366920938463463374607431768211455 lies outside "
                    "the 64-bit word"]


def test_huge_word_does_not_build_huge_masks() -> None:
    msgs = _msgs("arch t extends x86 { word 0x10000000000 pte { x 0..0xfffffffff } }")
    assert msgs == ["1:22: word must be 32 or 64, not 1099511627776"]


def test_overlap_reported_once_per_field_against_ancestor_first() -> None:
    msgs = _msgs("arch t extends x86 { pte { wide 57..62 } }")
    assert msgs == ["1:28: field 'wide' overlaps field 'devmap' (bit 57); "
                    "add `overlaps devmap` if intended"]


def test_overlap_answer_independent_of_path_spelling(tmp_path: Path) -> None:
    """An absolute path sorts before 'archdefs/...': the parent still counts first."""
    f = tmp_path / "o.arch"
    f.write_text("arch o extends x86 {\n    pte { soft 11 }\n}\n")
    p = load(ROOT, [str(f)])
    assert [(d.loc.line, d.message) for d in p.diags] == [
        (2, "field 'soft' overlaps field 'softdirty' (bit 11); "
            "add `overlaps softdirty` if intended")]


def test_rule_without_transformer_method_is_a_located_error() -> None:
    """A grammar rule added without its _Build method (e.g. when merging a
    new item) is reported, not turned into a half-built ArchDecl or a crash."""
    from lark import Token, Tree
    from dsl import parse
    tree = Tree("start", [Tree("arch", [Token("NAME", "x"), None,
                                        Tree("config_item", [Token("STRING", '"a"')])])])
    real = parse._parser

    class Fake:
        def parse(self, text: str) -> Tree:  # type: ignore[type-arg]
            return tree
    parse._parser = lambda: Fake()  # type: ignore[assignment,return-value]
    try:
        decls, diags = parse.parse_text("p.arch", "arch x { }")
    finally:
        parse._parser = real
    assert decls == []
    assert [d.message for d in diags] == [
        "internal: grammar rule 'config_item' has no method in dsl/parse.py _Build"]
