"""The catalog is complete: every entry has every rendering, a doc line,
expectation semantics where it has them, and is used by at least one
archdef or fixture; the README's vocabulary lists are the catalog's.

Walks dsl/catalog.py; the macro files are dsl/templates/{py,c}/*.j2
(dsl/catalog.py MACRO_FILES).  A new entry without its macros, its doc or a
user fails here, naming what is missing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsl import catalog
from dsl.generate import expect
from dsl.generate.templating import macros
from dsl.model import (AnyOf, Arch, BoolOp, Compare, Each, EffectStmt, Expr, FlagOp, Not,
                       Ref, Stmt, When, walk_expr, walk_stmts)
from dsl.project import load

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIRS = ("tests/fixtures/catalog", "tests/fixtures/broken", "tests/c/fixtures")


@functools.cache
def _all_archs() -> dict[str, Arch]:
    """The shipped archdefs and every fixture that checks clean (loaded on
    first use, not at collection: every xdist worker collects this file).
    The fixtures in one load, not one load each (46 loads re-read and
    re-checked the shipped archdefs every time: 1.5 s -> 0.1 s CPU); a name
    two fixtures share is a load error, so each arch is its own file's."""
    p = load(ROOT)
    assert p.ok
    archs = dict(p.archs)
    files = [str(f.relative_to(ROOT)) for d in FIXTURE_DIRS for f in sorted((ROOT / d).glob("*.arch"))]
    q = load(ROOT, files)
    assert q.ok, [str(x) for x in q.diags if x.severity == "error"]
    for f in files:
        names = q.archs_in(f)
        assert names, f"{f}: no arch"
        for n in names:
            archs[n] = q.archs[n]
    return archs


def _exprs(body: tuple[Stmt, ...]) -> Iterator[Expr]:
    for s in walk_stmts(body):
        if isinstance(s, When):
            yield from walk_expr(s.cond)


def _used() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {k: set() for k in ("effect", "predicate", "role", "kind",
                                                    "advance")}
    for a in _all_archs().values():
        used["role"].update(f.role for f in a.fields if f.role)
        used["role"].update(d.name for d in a.derived if d.name in catalog.ROLES)
        used["kind"].update(f"dcache.{k.name}" for _, k in a.dcache.options)
        used["kind"].update(f"icache.{k.name}" for _, k in a.icache.options)
        used["kind"].add(f"tlb.{a.tlb.name}")
        used["kind"].add(f"lazy_mmu.{a.lazy_mmu_kind()}")
        used["kind"].add(f"pg_arch_1.{a.pg_arch_1_use}")
        used["advance"].add(a.advance)
        for c in a.calls:
            for s in walk_stmts(c.body):
                if isinstance(s, EffectStmt):
                    used["effect"].add(s.name)
                    if s.name == "store":
                        used["advance"].add(s.param("advance", a.advance))
            for e in _exprs(c.body):
                if isinstance(e, Ref) and len(e.path) == 2 and e.path[0] in catalog.OBJECT_PREDICATES:
                    used["predicate"].add(e.text)
    return used


@functools.cache
def _uses() -> dict[str, set[str]]:
    return _used()


@pytest.mark.parametrize("name", list(catalog.EFFECTS))
def test_effect_complete(name: str) -> None:
    e = catalog.EFFECTS[name]
    assert e.doc.strip(), f"effect {name}: no doc line"
    assert e.trace and e.trace_format.split(" ")[0] in (e.trace, "{trace}"), \
        f"effect {name}: trace format {e.trace_format!r} does not print {e.trace!r}"
    fields = dict(pt=1, idx=2, pte=3, nr=4, pfn=5, mm=6, addr=7, page=8, val=9, new_pfn=10)
    assert catalog.trace_line(e, **fields).startswith(e.trace)
    assert e.shape in ("plain", "pages", "entry", "loop", "mapping")
    assert e.calls and set(e.calls) <= set(catalog.ALL_CALLS)
    for lang, path in catalog.MACRO_FILES["effect"].items():
        macro = e.py_macro if lang == "py" else e.c_macro
        assert macros(path).has(macro), f"effect {name}: no macro '{macro}' in {path}"
    assert name in _uses()["effect"], f"effect {name}: no archdef or fixture uses it"


@pytest.mark.parametrize("key", list(catalog.PREDICATES))
def test_predicate_complete(key: str) -> None:
    p = catalog.PREDICATES[key]
    assert p.doc.strip(), f"predicate {key}: no doc line"
    assert p.obj in catalog.OBJECT_PREDICATES and p.name in catalog.OBJECT_PREDICATES[p.obj]
    assert macros(catalog.MACRO_FILES["predicate"]["py"]).has(p.py_macro), key
    assert macros(catalog.MACRO_FILES["predicate"]["c"]).has(p.c_macro), key
    assert p.expect in expect.PREDICATES, f"predicate {key}: expect.py does not interpret it"
    assert key in _uses()["predicate"], f"predicate {key}: no archdef or fixture uses it"


@pytest.mark.parametrize("name", list(catalog.ROLES))
def test_role_complete(name: str) -> None:
    r = next(x for x in catalog.ROLE_ENTRIES if x.name == name)
    assert r.doc.strip()
    assert macros(catalog.MACRO_FILES["role"]["py"]).has(r.py_macro)
    assert macros(catalog.MACRO_FILES["role"]["c"]).has(r.c_macro)
    assert name in _uses()["role"], f"role {name}: no archdef or fixture has a field with it"


@pytest.mark.parametrize("kind", [f"{k.group}.{k.name}" for k in catalog.KIND_ENTRIES])
def test_kind_complete(kind: str) -> None:
    group, name = kind.split(".")
    k = next(x for x in catalog.KIND_ENTRIES if x.group == group and x.name == name)
    assert k.doc.strip()
    assert macros(catalog.MACRO_FILES["kind"]["py"]).has(k.py_macro)
    assert kind in _uses()["kind"], f"{group} kind {name}: no archdef or fixture uses it"


def test_runtime_implements_every_kind() -> None:
    """The Python rendering of a kind is its name: the runtime must know it."""
    from runtime import cache, tlb
    for name in catalog.DCACHE_KINDS:
        cache.DCache(name, 4, 12)
    for name in catalog.ICACHE_KINDS:
        cache.ICache(name)
    assert set(catalog.TLB_KINDS) == set(tlb.TLB_KINDS)


@pytest.mark.parametrize("name", list(catalog.ADVANCES))
def test_advance_complete(name: str) -> None:
    x = next(y for y in catalog.ADVANCE_ENTRIES if y.name == name)
    assert x.doc.strip()
    assert macros(catalog.MACRO_FILES["advance"]["py"]).has(x.py_macro)
    c = macros(catalog.MACRO_FILES["advance"]["c"])
    assert c.has(x.c_macro) and c.has("nth_" + x.c_macro), name
    assert name in expect.ADVANCES, f"advance {name}: expect.py does not interpret it"
    assert name in _uses()["advance"], f"advance {name}: no archdef or fixture uses it"


def test_macro_files_have_no_orphans() -> None:
    """Every macro of the per-construct files belongs to a catalog entry
    (or is a documented shape helper)."""
    shapes = {"store_set_pte", "store_set_pte_at", "store_pgste", "store_set_pte_ext", "pte_clear",
              "pte_set", "pte_set_value", "folio_flag", "page_flag", "pg_flag", "_pages",
              "_store_loop"}
    names = {e.name for e in catalog.EFFECTS.values()} | shapes
    for lang in ("py", "c"):
        mod = macros(catalog.MACRO_FILES["effect"][lang]).module
        for m in dir(mod):
            if callable(getattr(mod, m)) and not m.startswith("__"):
                assert m in names, f"{lang}/effects.j2: macro {m} is no catalog entry"
        pmod = macros(catalog.MACRO_FILES["predicate"][lang]).module
        for m in dir(pmod):
            if callable(getattr(pmod, m)) and not m.startswith("__"):
                assert any(p.py_macro == m for p in catalog.PREDICATE_ENTRIES), m


def _readme_block(text: str, name: str) -> str:
    m = re.search(rf"<!-- catalog:{name} -->\n(.*?)\n<!-- /catalog:{name} -->", text, re.S)
    assert m, f"README.md has no <!-- catalog:{name} --> block"
    return m.group(1)


@pytest.mark.parametrize("name", list(catalog.vocabulary_markdown()))
def test_readme_vocabulary_is_the_catalog(name: str) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _readme_block(text, name) == catalog.vocabulary_markdown()[name], (
        f"README.md's {name} list differs from dsl/catalog.py; paste "
        f"`python -c 'from dsl.catalog import vocabulary_markdown as v; print(v()[\"{name}\"])'`")


def test_catalog_docs_reach_show() -> None:
    """`ptdl show` / describe say what an effect does with its catalog doc."""
    from dsl.describe import call_summary
    a = _all_archs()["kitchen"]
    text = "\n".join(line for c in a.calls for line in call_summary(a, c))
    for name in ("sync_icache", "tlb_flush_page", "clean_dcache"):
        assert catalog.EFFECTS[name].doc in text


_ = (AnyOf, BoolOp, Compare, Each, FlagOp, Not)


# The vocabulary fixture's arch names, read from its text so that collection
# needs no project load; test_vocab_names_are_the_loaded_ones keeps it honest.
VOCAB_SRC = "tests/fixtures/catalog/vocabulary.arch"
VOCAB = re.findall(r"^arch\s+(vocab_\w+)", (ROOT / VOCAB_SRC).read_text(encoding="utf-8"),
                   re.MULTILINE)


def test_vocab_names_are_the_loaded_ones() -> None:
    assert VOCAB
    assert sorted(VOCAB) == sorted(n for n in _all_archs() if n.startswith("vocab_"))


@pytest.mark.parametrize("name", VOCAB)
def test_vocabulary_fixture_renders_compiles_and_runs(name: str) -> None:
    """The entries only the vocabulary fixture uses are rendered by every
    backend; the header compiles in the C harness, the module executes."""
    import shutil
    import sys
    import types

    from dsl.generate import charness, writer
    a = _all_archs()[name]
    src = VOCAB_SRC
    outs = {o.path: o.text for o in writer.render_arch(a, src)}
    mod = types.ModuleType(f"ptdl_vocab_{name}")
    sys.modules[mod.__name__] = mod
    exec(compile(outs[f"generated/runtime/{name}.py"], mod.__name__, "exec"), mod.__dict__)
    assert mod.ARCH.name == name
    compile(outs[f"generated/tests/test_{name}_conformance.py"], "t", "exec")
    if shutil.which(charness.GCC) is None:
        pytest.skip("gcc not available")
    charness.build(a, outs[f"generated/kernel/arch/{name}/include/asm/pgtable-range.h"])


@pytest.mark.parametrize("name", list(catalog.EFFECTS))
def test_effect_has_a_c_harness_primitive(name: str) -> None:
    """The shim implements every effect's primitive under the catalog's name."""
    from dsl.generate import charness
    e = catalog.EFFECTS[name]
    assert charness.SHIM_PRIMITIVES.get(name) == e.shim
    shim = (ROOT / "runtime" / "c" / "ptdl_shim.h").read_text(encoding="utf-8")
    assert re.search(rf"\b{e.shim}\s*\(", shim), f"runtime/c/ptdl_shim.h: no {e.shim}()"
    assert e.trace in shim, f"runtime/c/ptdl_shim.h never prints {e.trace!r}"
