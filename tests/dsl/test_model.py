"""Positive tests of the front end: the shipped archdefs check clean and
resolve to the exact values their kernel sources give; inheritance
semantics; and the PFN-advance proof (`advance_problem`) on hand-built
layouts, with its exact messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dsl.check import advance_problem
from dsl.model import Arch, Field, Transform, expr_text, Num, Ref
from dsl.parse import parse_text
from dsl.project import Project, archdef_files, load
from dsl.resolve import resolve
from dsl.source import Loc

from frontend_util import ROOT


@pytest.fixture(scope="module")
def project() -> Project:
    return load(ROOT)


def _fields(a: Arch) -> dict[str, tuple[int, int, str | None, bool]]:
    return {f.name: (f.lo, f.hi, f.role, f.inverted) for f in a.fields}


def test_shipped_archdefs_check_clean(project: Project) -> None:
    assert archdef_files(ROOT)
    assert [str(d) for d in project.diags] == []
    assert project.ok
    assert {"x86", "arm64", "arm64_64k"} <= set(project.archs)


def test_x86(project: Project) -> None:
    a = project.archs["x86"]
    assert (a.word_bits, a.page_shift, a.ptrs_per_pte, a.phys_bits) == (64, 12, 512, 52)
    assert (a.pfn_pte_shift, a.max_folio_order, a.page_size) == (12, 9, 4096)
    assert a.lineage == ("x86",) and a.parent is None
    assert [(f.name, f.lo, f.hi, f.pfn_offset) for f in a.pfn_fields] == [("pfn", 12, 51, 0)]
    assert a.pfn_bits == 40
    f = _fields(a)
    assert f["nx"] == (63, 63, "exec", True)
    assert f["valid"] == (0, 0, "valid", False)
    assert f["rw"] == (1, 1, "write", False)
    assert f["accessed"] == (5, 5, "young", False)
    assert f["global"] == (8, 8, "global", False)
    assert f["pkey"] == (59, 62, None, False)
    pn = a.field("pn")
    assert pn is not None and pn.overlaps == ("global",) and (pn.lo, pn.hi) == (8, 8)
    assert {d.name: expr_text(d.expr) for d in a.derived} == {
        "present": "valid or pn", "protnone": "pn and not valid",
        "dirty": "hwdirty or saveddirty"}
    assert [m.name for m in a.mutators] == ["mkclean", "mkdirty", "mkwrite", "wrprotect"]
    t = a.pfn_transform()
    assert t is not None and expr_text(t.cond) == "nonzero and not valid"
    assert a.cpu_features == ()
    assert (a.pg_arch_1_use, a.pg_arch_1_granularity) == ("none", "none")
    assert [k.name for _, k in a.dcache.options] == ["pipt"]
    assert [k.name for _, k in a.icache.options] == ["coherent"]
    assert a.tlb.name == "hardware"
    assert a.advance == "pfn_shift_invert_aware"
    assert a.prefault_old is None
    assert [(c.name, c.generic) for c in a.calls] == [
        ("set_ptes", True), ("update_mmu_cache_range", False),
        ("flush_dcache_folio", True), ("flush_icache_pages", True)]
    assert a.call("update_mmu_cache_range").body == ()  # type: ignore[union-attr]
    p = a.prot_item("none")
    assert p is not None and p.values == (("accessed", None), ("pn", None))


def test_arm64(project: Project) -> None:
    a = project.archs["arm64"]
    assert (a.word_bits, a.page_shift, a.ptrs_per_pte, a.phys_bits) == (64, 12, 512, 48)
    assert (a.pfn_pte_shift, a.max_folio_order) == (12, 9)
    assert a.setting("pfn_pte_shift") is None      # defaulted from the PFN field
    assert [(f.name, f.lo, f.hi, f.pfn_offset) for f in a.pfn_fields] == [("addr", 12, 47, 0)]
    f = _fields(a)
    assert f["uxn"] == (54, 54, "exec", True)
    assert f["ng"] == (11, 11, "global", True)
    assert f["dbm"] == (51, 51, "write", False)
    assert f["af"] == (10, 10, "young", False)
    assert f["attrindx"] == (2, 4, "cache", False)
    assert f["sh"] == (8, 9, None, False)
    assert {d.name: expr_text(d.expr) for d in a.derived} == {
        "present": "valid or pn", "protnone": "pn and not valid",
        "dirty": "swdirty or dbm and not rdonly"}
    assert a.cpu_features == ("dic", "hw_af", "idc")
    assert (a.pg_arch_1_use, a.pg_arch_1_granularity) == ("dcache_clean", "folio")
    assert [(expr_text(c) if c else None, k.name) for c, k in a.icache.options] == [
        ("cpu.idc and cpu.dic", "coherent"), (None, "needs_sync")]
    assert [k.name for _, k in a.dcache.options] == ["pipt"]
    assert a.prefault_old is not None and expr_text(a.prefault_old) == "cpu.hw_af"
    assert a.primitive("sync_icache", "x") == "sync_icache_aliases"
    assert [(c.name, c.generic) for c in a.calls] == [
        ("set_ptes", False), ("update_mmu_cache_range", False),
        ("flush_dcache_folio", False), ("flush_icache_pages", True),
        ("set_pmd_at", False), ("update_mmu_cache_pmd", True),
        ("copy_user_highpage", False)]
    assert a.advance == "pfn_shift"        # default; set_ptes overrides per store
    assert a.pfn_transform() is None


def test_arm64_64k_inherits_and_overrides(project: Project) -> None:
    a, parent = project.archs["arm64_64k"], project.archs["arm64"]
    assert a.lineage == ("arm64_64k", "arm64") and a.parent == "arm64"
    assert (a.page_shift, a.ptrs_per_pte, a.phys_bits) == (16, 8192, 52)
    assert (a.pfn_pte_shift, a.max_folio_order, a.page_size) == (16, 13, 65536)
    assert a.setting("word").origin == "arm64"           # type: ignore[union-attr]
    assert a.setting("page_shift").origin == "arm64_64k"  # type: ignore[union-attr]
    assert [(f.name, f.lo, f.hi, f.pfn_offset) for f in a.pfn_fields] == [
        ("addr", 16, 47, 0), ("addr_hi", 12, 15, 32)]
    assert a.pfn_bits == 36
    assert a.field("addr").origin == "arm64_64k"        # type: ignore[union-attr]
    assert a.field("uxn").origin == "arm64"             # type: ignore[union-attr]
    # calls, caches and features are inherited unchanged
    assert a.calls == parent.calls and a.icache == parent.icache
    assert a.cpu_features == parent.cpu_features
    # citations accumulate: the parent's five, then the child's own
    assert [c.origin for c in a.cites] == ["arm64"] * 5 + ["arm64_64k"]
    assert advance_problem(a, "page_size") is None


def _resolve(text: str) -> dict[str, Arch]:
    decls, diags = parse_text("t.arch", text)
    assert diags == []
    res = resolve(decls)
    assert res.diags == []
    return res.archs


BASE = """
arch base {
    source "a" seed "b"
    word 64 page_shift 12 ptrs_per_pte 512 phys_bits 40
    cpu f1
    pte { present 0 : present  extra 5  pfn 12..39 : pfn  hot = extra }
    tlb software
    set_ptes generic
    update_mmu_cache_range { }
    flush_dcache_folio generic
    flush_icache_pages generic
}
"""


def test_inheritance_semantics() -> None:
    archs = _resolve(BASE + """
arch child extends base {
    source "c"
    page_shift 13
    cpu f2
    pte { drop extra  drop hot  extra2 6 }
    update_mmu_cache_range generic
}
""")
    b, c = archs["base"], archs["child"]
    assert (b.page_shift, c.page_shift) == (12, 13)
    assert c.word_bits == 64 and c.tlb.name == "software"
    assert c.field("extra") is None and c.derived_named("hot") is None
    assert b.field("extra") is not None and b.derived_named("hot") is not None
    assert c.field("extra2") is not None
    assert c.call("update_mmu_cache_range").generic is True     # type: ignore[union-attr]
    assert b.call("update_mmu_cache_range").generic is False    # type: ignore[union-attr]
    assert [x.text for x in c.cites] == ["a", "b", "c"]
    assert c.cpu_features == ("f1", "f2")
    assert c.lineage == ("child", "base")


def test_defaults() -> None:
    a = _resolve("arch bare { pte { p 0 : present  pfn 14..40 : pfn } }")["bare"]
    assert (a.word_bits, a.page_shift, a.ptrs_per_pte, a.phys_bits) == (64, 12, 512, 0)
    assert a.pfn_pte_shift == 14           # defaults to the PFN field's low bit
    assert a.max_folio_order == 9          # PMD order of 512 entries
    assert a.advance == "pfn_shift" and a.tlb.name == "hardware"
    assert [k.name for _, k in a.dcache.options] == ["pipt"]
    assert [k.name for _, k in a.icache.options] == ["coherent"]
    assert (a.pg_arch_1_use, a.pg_arch_1_granularity) == ("none", "none")
    assert a.calls == ()


def test_child_field_replaces_parent_predicate() -> None:
    archs = _resolve(BASE + "arch c2 extends base { pte { hot 7 } }")
    c = archs["c2"]
    assert c.derived_named("hot") is None
    assert (c.field("hot").lo, c.field("hot").origin) == (7, "c2")   # type: ignore[union-attr]


# -- the PFN-advance proof on hand-built layouts --------------------------

_L = Loc("t.arch", 1, 1)


def _layout(fields: list[tuple[str, int, int, int]], page_shift: int = 12,
            max_folio_order: int = 9, invert: bool = False) -> Arch:
    base = _resolve(BASE)["base"]
    fs = tuple(Field(n, lo, hi, "pfn", False, off, (), _L, "t") for n, lo, hi, off in fields)
    tr = (Transform("pfn", Ref(("nonzero",), _L), _L, "t"),) if invert else ()
    return dataclasses.replace(base, fields=fs, page_shift=page_shift,
                               pfn_pte_shift=min(f[1] for f in fields if f[3] == 0),
                               max_folio_order=max_folio_order, transforms=tr)


def test_advance_accepts_arm64_64k_layout() -> None:
    a = _layout([("addr", 16, 47, 0), ("addr_hi", 12, 15, 32)], page_shift=16,
                max_folio_order=13)
    assert advance_problem(a, "page_size") is None
    assert advance_problem(a, "pfn_shift") is None


def test_advance_accepts_exactly_wide_enough_low_field() -> None:
    a = _layout([("lo", 12, 20, 0), ("hi", 21, 50, 9)], max_folio_order=9)
    assert advance_problem(a, "page_size") is None


def test_advance_rejects_inversion() -> None:
    a = _layout([("pfn", 12, 51, 0)], invert=True)
    assert advance_problem(a, "pfn_shift") == (
        "advance 'pfn_shift' adds to the raw entry, but the PFN is stored inverted when "
        "nonzero (t.arch:1:1); such a PFN would move backwards: use pfn_shift_invert_aware "
        "or repack")
    assert advance_problem(a, "pfn_shift_invert_aware") is None
    assert advance_problem(a, "repack") is None


def test_advance_rejects_wrong_step() -> None:
    a = _layout([("pfn", 13, 51, 0)])
    assert advance_problem(a, "page_size") == (
        "advance 'page_size' adds 1 << 12 to the entry, but PFN bit 0 is PTE bit 13 "
        "(field 'pfn')")
    assert advance_problem(a, "pfn_shift") is None


def test_advance_rejects_narrow_low_field() -> None:
    a = _layout([("pfn_lo", 12, 19, 0), ("pfn_hi", 20, 51, 8)], max_folio_order=9)
    assert advance_problem(a, "page_size") == (
        "advance 'page_size' can carry out of PFN field 'pfn_lo' (8 bits) within a folio "
        "of order 9; PFN bits 8 and up live in 'pfn_hi'")
    single = _layout([("pfn", 12, 15, 0)], max_folio_order=9)
    assert advance_problem(single, "pfn_shift") == (
        "advance 'pfn_shift' can carry out of PFN field 'pfn' (4 bits) within a folio of order 9")


def test_advance_ignores_unknown_and_repack() -> None:
    a = _layout([("pfn", 13, 51, 0)])
    assert advance_problem(a, "repack") is None
    assert advance_problem(a, "no_such_strategy") is None


def test_expr_text_canonical() -> None:
    e = Num(16, _L)
    assert expr_text(e) == "0x10" and expr_text(Num(9, _L)) == "9"


def test_parse_is_a_pure_function() -> None:
    """What the tests' shipped-archdef parse memo (frontend_util) relies on:
    parsing a text twice gives equal results (the memo's answer is another
    real parse: an earlier one, or one made now if this process has none
    yet) and a pickled copy is equal."""
    import pickle
    import dsl.parse
    assert getattr(dsl.parse.parse_text, "_ptdl_memo", False)   # conftest's memo is on
    for rel in archdef_files(ROOT):
        text = (ROOT / rel).read_text(encoding="utf-8")
        first = parse_text(rel, text)          # the real parser (imported before the memo)
        assert first[0] and first[1] == []
        assert pickle.loads(pickle.dumps(first)) == first
        assert dsl.parse.parse_text(rel, text) == first


def test_parse_memo_notices_a_changed_result() -> None:
    import dsl.parse
    from frontend_util import memo_changed
    rel = archdef_files(ROOT)[0]
    decls, _ = dsl.parse.parse_text(rel, (ROOT / rel).read_text(encoding="utf-8"))
    assert memo_changed() == []
    name = decls[0].name
    decls[0].name = name + "_changed"
    try:
        assert memo_changed() == [rel]
    finally:
        decls[0].name = name
    assert memo_changed() == []


def test_parse_file_memo_hands_out_one_result_and_notices_a_change(tmp_path: Path) -> None:
    """project.load's entry point is memoized too (a shipped file by its
    name and bytes: the same objects again, no disk-cache unpickling);
    another file is parsed afresh, and a changed result is noticed."""
    import dsl.parse
    from frontend_util import memo_changed
    rel = archdef_files(ROOT)[0]
    first = dsl.parse.parse_file(str(ROOT / rel), rel)
    assert dsl.parse.parse_file(str(ROOT / rel), rel)[0] is first[0]
    copy = tmp_path / "copy.arch"
    copy.write_text((ROOT / rel).read_text(encoding="utf-8") + "\n", encoding="utf-8")
    a, b = dsl.parse.parse_file(str(copy)), dsl.parse.parse_file(str(copy))
    assert a[0] is not b[0] and a[0][0].name == first[0][0].name
    decl = first[0][0]
    name = decl.name
    decl.name = name + "_changed"
    try:
        assert memo_changed() == [rel]
    finally:
        decl.name = name
    assert memo_changed() == []
