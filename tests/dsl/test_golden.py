"""Golden diagnostics: `ptdl check tests/fixtures/check/NAME.arch` prints
exactly NAME.expected on stderr and exits 1.

Run with PTDL_UPDATE_GOLDEN=1 to rewrite the .expected files (then review
the diff by eye: each fixture must show the error it is named for)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dsl.cli import main
from dsl.project import load
from dsl.source import render

from frontend_util import FIXTURES, ROOT

CASES = sorted(p.stem for p in FIXTURES.glob("*.arch") if not p.stem.startswith("lint_"))
# lint_*: warnings only (issue 10 item 11): exit 0, the warning printed
LINTS = sorted(p.stem for p in FIXTURES.glob("lint_*.arch"))
UPDATE = os.environ.get("PTDL_UPDATE_GOLDEN") == "1"

# The message each fixture exists for: a golden that loses it is wrong even
# if someone regenerates it.
EXPECTED_MESSAGE = {
    "advance_split_carry": "advance 'page_size' can carry out of PFN field 'pfn_lo' (6 bits)",
    "advance_wrong_step": "adds 1 << 13 to the entry, but PFN bit 0 is PTE bit 12",
    "any_outside_set_ptes": "any() is only available in set_ptes, not flush_dcache_folio",
    "bad_colours": "vipt_aliasing needs colours=N with N a power of two >= 2",
    "did_you_mean_field": "unknown field or predicate 'hwdirt' (did you mean 'hwdirty'?)",
    "did_you_mean_predicate": "unknown predicate 'folio.pg_arch1' (did you mean 'folio.pg_arch_1'?)",
    "did_you_mean_role": "unknown role 'yuong' (did you mean 'young'?)",
    "pfn_range_reversed": "bit range 51..12 is reversed; write it low..high (12..51)",
    "unknown_setting": "unknown setting 'pagee_shift' (did you mean 'page_shift'?)",
    "word_invalid": "word must be 32 or 64, not 48",
    "derived_cycle": "derived predicate 'loopy' depends on itself",
    "derived_role_mutators": "role 'young' is derived; define mutator 'mkyoung'",
    "duplicate_names": "duplicate field or predicate 'extra'",
    "drop_cpu_unknown": "drop cpu: no inherited CPU feature 'hw_aff' (did you mean 'hw_af'?)",
    "inheritance_cycle": "inheritance cycle: cyc_a -> cyc_b -> cyc_c -> cyc_a",
    "missing_call": "missing required call 'update_mmu_cache_range'",
    "missing_citations": "no `seed` citation",
    "old_new_outside": "'old' is only bound inside any() or `each pte`",
    "overlap": "field 'soft' overlaps field 'softdirty' (bit 11)",
    "parent_missing": "arch 'bad_orphan' extends unknown arch 'arm65'",
    "pfn_too_narrow": "PFN fields hold 36 bits, but phys_bits 52 with page_shift 12 needs 40",
    "pg_arch_1_granularity": "per-folio PG_arch_1 used by an arch that declares it per page",
    "primitive_not_c_ident": "primitive name 'sync-icache aliases' is not a C identifier",
    "primitive_form_wrong_effect": "primitive 'flush_dcache' cannot take (vma, start, end)",
    "none_ignores_errors": "none_ignores names unknown field 'dirrty'",
    "pfn_pte_applies_errors": "pfn_pte applies unknown mutator 'mkshiny'",
    "cpu_primitive_errors": "names undeclared CPU feature 'dc_alias'",
    "pfn_none_errors": "unknown field or predicate 'iospace'",
    "prot_entry_errors": "unknown VM flag 'exce' in prot entry",
    "prot_unknown_field": "prot entry 'write' names unknown field 'rwx'",
    "prot_when_errors": "a prot `when` condition may only test CPU features (cpu.NAME)",
    "range_outside_word": "bit range 60..70 lies outside the 64-bit word",
    "range_reversed": "bit range 62..59 is reversed",
    "store_paths": "set_ptes must run `store` exactly once on every path (some path runs it 0 times)",
    "store_twice": "(some path runs it 2 times)",
    "syntax_bad_range": "4:22: error: unexpected ':'; expected a number",
    "syntax_error": "unexpected end of file; expected",
    "unknown_cache_kind": "unknown icache kind 'snooping'",
    "unknown_lazy_mmu_kind": "unknown lazy_mmu kind 'batched' (did you mean 'batch'?)",
    "unknown_cpu_feature": "unknown cpu feature 'dc_alias' (did you mean 'dc_aliases'?)",
    "unknown_effect": "unknown effect 'sync_icahce' (did you mean 'sync_icache'?)",
    "unknown_mutator": "unknown mutator 'mkshiny'",
    "unknown_predicate": "unknown predicate 'pte.shiny'",
    "unknown_role": "unknown role 'writeprotect'",
    "unknown_tlb_kind": "unknown tlb kind 'tlbless'",
    "x86_seed_advance": "advance 'pfn_shift' adds to the raw entry, but the PFN is stored inverted",
    "lint_tlb_no_fence": "warning: tlb caches_invalid, but no call fences a new mapping",
    "lint_icache_no_sync": "warning: icache needs_sync, but no call syncs it",
    "lint_secure_per_folio": "warning: PG_arch_1 'secure' per folio",
    "lint_flag_never_tested": "warning: folio.pg_arch_1 is set here but no call tests it",
}


@pytest.mark.parametrize("name", LINTS)
def test_lint_golden(name: str, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A lint is a located warning: `ptdl check` prints it and exits 0."""
    monkeypatch.chdir(ROOT)
    rc = main(["check", _rel(name)])
    _, err = capsys.readouterr()
    golden = FIXTURES / f"{name}.expected"
    if UPDATE:
        golden.write_text(err, encoding="utf-8")
    assert rc == 0
    assert err == golden.read_text(encoding="utf-8")
    assert EXPECTED_MESSAGE[name] in err
    assert err.splitlines()[0].startswith(f"{_rel(name)}:")
    assert ": error: " not in err and err.endswith("\n1 warning\n")


def _rel(name: str) -> str:
    return f"tests/fixtures/check/{name}.arch"


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, capsys: pytest.CaptureFixture[str],
                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rc = main(["check", _rel(name)])
    out, err = capsys.readouterr()
    golden = FIXTURES / f"{name}.expected"
    if UPDATE:
        golden.write_text(err, encoding="utf-8")
    assert rc == 1
    assert out == ""
    assert err == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CASES)
def test_golden_shows_its_error(name: str) -> None:
    text = (FIXTURES / f"{name}.expected").read_text(encoding="utf-8")
    assert EXPECTED_MESSAGE[name] in text
    first = text.splitlines()[0]
    assert first.startswith(f"{_rel(name)}:")
    assert ": error: " in first
    n = text.count(": error: ")
    assert text.endswith(f"\n{n} error{'s' if n != 1 else ''}\n")
    assert "Traceback" not in text


# Fixtures whose one root cause must be the only error (issue 16: no
# follow-on errors such as "PFN fields hold -38 bits" or every field lying
# outside an invalid word).
SINGLE_CAUSE = ("word_invalid", "pfn_range_reversed", "range_reversed", "unknown_setting",
                "did_you_mean_role", "did_you_mean_field")


@pytest.mark.parametrize("name", SINGLE_CAUSE)
def test_root_cause_only(name: str) -> None:
    text = (FIXTURES / f"{name}.expected").read_text(encoding="utf-8")
    assert text.count(": error: ") == 1, text
    assert "-" + "38 bits" not in text and "outside the 48-bit word" not in text


def test_every_fixture_is_named_here() -> None:
    assert sorted(EXPECTED_MESSAGE) == sorted(CASES + LINTS)


@pytest.mark.parametrize("name", ["overlap", "pfn_too_narrow", "missing_call"])
def test_load_and_render_agree_with_cli(name: str) -> None:
    """The library path (load + render) gives the same text as the CLI."""
    p = load(ROOT, [_rel(name)])
    assert not p.ok
    text = render(p.diags, p.sources)
    golden = (FIXTURES / f"{name}.expected").read_text(encoding="utf-8")
    n = len(p.diags)
    assert text + f"{n} error{'s' if n != 1 else ''}\n" == golden
    assert all(d.loc.path == _rel(name) for d in p.diags)
    assert all(isinstance(d.loc.line, int) and d.loc.line >= 1 for d in p.diags)


def test_goldens_have_no_orphans() -> None:
    expected = sorted(p.stem for p in FIXTURES.glob("*.expected"))
    assert expected == sorted(CASES + LINTS)
    assert Path(FIXTURES / "x86_seed_advance.arch").exists()
