"""runtime/primitives.py is the contract: Kernel satisfies the Primitives
Protocol, generated code calls nothing else, the trace emitters and the C
shim's printf strings follow TRACE_FORMATS, the catalog's kind names are
the constants, and docs/runtime-interface.md is in step.  Each check is
also run on a broken input to show it can fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from runtime import primitives as P
from runtime.kernel import Kernel
from runtime.primitives import Primitives
from runtime.pteval import s64
from runtime.trace import Trace

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "runtime" / "c" / "ptdl_shim.h"
HARNESS = ROOT / "runtime" / "c" / "harness.c"
DOC = ROOT / "docs" / "runtime-interface.md"

if TYPE_CHECKING:
    # mypy --strict (make test) checks that Kernel structurally satisfies
    # the Protocol the generated modules can be typed against.
    def _kernel_is_primitives(k: Kernel) -> Primitives:
        return k


def _x86_kernel() -> Kernel:
    import importlib
    arch = importlib.import_module("generated.runtime.x86").ARCH
    return Kernel(arch)


# ---------------------------------------------------------------------------
# The Protocol


def protocol_members() -> list[str]:
    src = (ROOT / "runtime" / "primitives.py").read_text(encoding="utf-8")
    body = src.split("class Primitives(Protocol):", 1)[1].split("\n\n\n", 1)[0]
    return re.findall(r"^    def (\w+)\(", body, re.M)


def missing_members(obj: object, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if not callable(getattr(obj, n, None))]


def test_protocol_lists_its_names() -> None:
    assert protocol_members() == list(P.PRIMITIVE_NAMES + P.QUERY_NAMES)
    assert not set(P.PRIMITIVE_NAMES) & set(P.QUERY_NAMES)


def test_kernel_has_every_member() -> None:
    k = _x86_kernel()
    assert missing_members(k, P.PRIMITIVE_NAMES + P.QUERY_NAMES) == []
    # the check can fail
    assert missing_members(object(), P.PRIMITIVE_NAMES) == list(P.PRIMITIVE_NAMES)


# `make test`'s options (tests/dsl/test_typing.py): with another per-module
# option (--follow-imports=silent was one) mypy re-checks and rewrites the
# cache entries of every runtime module these files import, and the next
# whole-tree run re-checks them again.
_MYPY = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(ROOT / ".mypy_cache"),
         "--no-error-summary"]


def test_mypy_proves_kernel_is_primitives(tmp_path: Path) -> None:
    """The structural check is mypy's; a class missing one primitive is
    refused, Kernel is accepted."""
    good = tmp_path / "good_prims.py"
    good.write_text("from runtime.kernel import Kernel\n"
                    "from runtime.primitives import Primitives\n"
                    "def f(k: Kernel) -> Primitives:\n    return k\n")
    bad = tmp_path / "bad_prims.py"
    bad.write_text("from runtime.primitives import Primitives\n"
                   "class Half:\n"
                   "    def cpu_has(self, feature: str) -> bool:\n        return False\n"
                   "def f(k: Half) -> Primitives:\n    return k\n")
    env = dict(os.environ, MYPYPATH=str(ROOT))
    cmd = _MYPY
    ok = subprocess.run(cmd + [str(good)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ko = subprocess.run(cmd + [str(bad)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert ko.returncode == 1 and "Primitives" in ko.stdout, ko.stdout + ko.stderr


def test_generated_modules_type_check_against_primitives(tmp_path: Path) -> None:
    """The generated modules (and runtime/arch.py's defaults) are typed
    against the Protocol, not the whole Kernel, and type-check that way:
    arch code can reach the model only through runtime/primitives.py.
    (The whole-tree `mypy --strict` in `make test` checks them too; this
    test also proves the check can fail.)"""
    pkg = tmp_path / "protocheck"
    pkg.mkdir()
    files = sorted((ROOT / "generated" / "runtime").glob("*.py"))
    files = [f for f in files if f.name != "__init__.py"]
    assert files
    for f in files + [ROOT / "runtime" / "arch.py"]:
        text = f.read_text(encoding="utf-8")
        assert "from runtime.primitives import Primitives" in text, f
        assert "from runtime.kernel import Kernel" not in text, f
        (pkg / ("gen_" + f.name)).write_text(text)
    env = dict(os.environ, MYPYPATH=str(ROOT))
    cmd = _MYPY
    r = subprocess.run(cmd + sorted(str(p) for p in pkg.iterdir()), capture_output=True,
                       text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # the check can fail: a module reaching past the Protocol
    bad = pkg / "gen_bad.py"
    bad.write_text("from runtime.primitives import Primitives\n"
                   "def f(k: Primitives) -> int:\n    return len(k.violations)\n")
    r = subprocess.run(cmd + [str(bad)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 1 and "violations" in r.stdout, r.stdout + r.stderr


CALL = re.compile(r"\bk\.([A-Za-z_][A-Za-z_0-9]*)")


def calls_outside(text: str) -> set[str]:
    """``k.NAME`` uses in arch code that the Protocol does not allow."""
    allowed = set(P.PRIMITIVE_NAMES + P.QUERY_NAMES)
    return {n for n in CALL.findall(text) if n not in allowed}


def test_generated_modules_call_only_primitives() -> None:
    files = sorted((ROOT / "generated" / "runtime").glob("*.py")) + [ROOT / "runtime" / "arch.py"]
    assert len(files) > 2
    for f in files:
        assert calls_outside(f.read_text(encoding="utf-8")) == set(), f
    # what the generator can emit: k.NAME inside its string literals (and
    # in Python templates, once there are any), k.{prim}(...) included
    gen = (ROOT / "dsl" / "generate" / "pymod.py").read_text(encoding="utf-8")
    used = set(re.findall(r"""["'][^"'\n]*?\bk\.([A-Za-z_][A-Za-z_0-9]*)""", gen))
    for tpl in sorted((ROOT / "dsl" / "templates").glob("**/*.j2")):
        if "py" in tpl.parts or tpl.name.endswith(".py.j2"):
            used |= set(CALL.findall(tpl.read_text(encoding="utf-8")))
    used -= {"folio_", "page_"}
    for prefix in ("folio_", "page_"):
        for op in ("test", "set", "clear"):
            used.add("%s%s_arch1" % (prefix, op))
    used |= set(re.findall(r'"(?:sync_icache|flush_dcache|clean_dcache|inval_icache)": "(\w+)"', gen))
    assert {"set_pte", "read_pte", "cpu_has", "icache_sync", "tlb_preload"} <= used
    assert used - set(P.PRIMITIVE_NAMES + P.QUERY_NAMES) == set()
    # the check can fail: a generated module reaching into the machine
    assert calls_outside("k.set_pte(p, v)\nk.violate('x')\nk.mem.alloc(0)") == {"violate", "mem"}


# ---------------------------------------------------------------------------
# Trace formats


def test_formats_are_well_formed() -> None:
    for ev, fmt in P.TRACE_FORMATS.items():
        for name, kind in P.holes(fmt):
            assert name and kind in P.HOLE_KINDS, (ev, fmt)
        P.py_format(fmt)
    with pytest.raises(ValueError):
        P.py_format("set_pte pt={pt:int}")
    assert set(P.MODEL_ONLY_EVENTS) <= set(P.TRACE_FORMATS)


def _emit_all(t: Trace) -> dict[str, str]:
    """One line per emitter, with values chosen to show each hole's radix."""
    t.set_pte(1, 5, s64(0x8000000000001067))    # bit 63: a negative i64 pattern
    t.set_pte_buddy(1, 4, 0x100)
    t.pgste_set_pte(2, 17, 0x1000)
    t.ptc_set(1, 5, 0x1067, 16)
    t.lazy_mmu_enter()
    t.lazy_mmu_leave()
    t.dcache_flush(0x1000, 16)
    t.dcache_flush_user(1, 0x400000, 0x1003, 1)
    t.dcache_clean(0x10, 2)
    t.dcache_flush_kmap(0x10, 1)
    t.icache_sync(0x1000, 16)
    t.icache_inval(0xabc, 1)
    t.icache_flush_all()
    t.icache_flush_local()
    t.icache_inval_mm(2)
    t.folio_test_arch1(0x1000, True)
    t.folio_set_arch1(0x1000)
    t.folio_clear_arch1(0x1000)
    t.page_test_arch1(0x1003, False)
    t.page_set_arch1(0x1003)
    t.page_clear_arch1(0x1003)
    t.tlb_preload(1, 0x400000, 0x100001f)
    t.tlb_flush_page(3, 0x7000)
    t.hpte_insert(1, 0x400000, 0x100001f)
    t.tsb_insert(2, 0x402000, s64(0x8000000000001067))
    t.tlb_batch_add(1, 0x403000)
    t.dcache_flush_user_range(2, 0x400000, 16)
    t.dcache_flush_user_mm(2)
    t.cache_flush_all()
    t.dcache_flush_phys(0x1002, 1)
    t.icache_inval_user(1, 0x400000, 0x1003, 1)
    t.copy_page(0x1003, 0x2000, 0x400000, 1)
    t.clear_page(0x2001, 0x401000, 2)
    t.dcache_flush_all()
    t.pte_clear(1, 12)
    t.set_pmd(1, 0x200000, 0x0)
    return dict(zip(P.TRACE_FORMATS, t.lines))


# Written out by hand from the README / docs trace examples (independent
# of the formats under test).
EXPECTED_LINES: dict[str, str] = {
    "set_pte": "set_pte pt=1 idx=5 val=0x8000000000001067",
    "set_pte_buddy": "set_pte_buddy pt=1 idx=4 val=0x100",
    "pgste_set_pte": "pgste_set_pte pt=2 idx=17 val=0x1000",
    "ptc_set": "ptc_set pt=1 idx=5 val=0x1067 nr=16",
    "lazy_mmu_enter": "lazy_mmu enter",
    "lazy_mmu_leave": "lazy_mmu leave",
    "dcache_flush": "dcache_flush pfn=0x1000 nr=16",
    "dcache_flush_user": "dcache_flush_user mm=1 addr=0x400000 pfn=0x1003 nr=1",
    "dcache_clean": "dcache_clean pfn=0x10 nr=2",
    "dcache_flush_kmap": "dcache_flush_kmap pfn=0x10 nr=1",
    "icache_sync": "icache_sync pfn=0x1000 nr=16",
    "icache_inval": "icache_inval pfn=0xabc nr=1",
    "icache_flush_all": "icache_flush_all",
    "icache_flush_local": "icache_flush_local",
    "icache_inval_mm": "icache_inval_mm mm=2",
    "folio_test_arch1": "pg_arch_1 test folio=0x1000 -> 1",
    "folio_set_arch1": "pg_arch_1 set folio=0x1000",
    "folio_clear_arch1": "pg_arch_1 clear folio=0x1000",
    "page_test_arch1": "pg_arch_1 test page=0x1003 -> 0",
    "page_set_arch1": "pg_arch_1 set page=0x1003",
    "page_clear_arch1": "pg_arch_1 clear page=0x1003",
    "tlb_preload": "tlb_preload mm=1 addr=0x400000 val=0x100001f",
    "tlb_flush_page": "tlb_flush_page mm=3 addr=0x7000",
    "hpte_insert": "hpte_insert mm=1 addr=0x400000 val=0x100001f",
    "tsb_insert": "tsb_insert mm=2 addr=0x402000 val=0x8000000000001067",
    "tlb_batch_add": "tlb_batch_add mm=1 addr=0x403000",
    "dcache_flush_user_range": "dcache_flush_user_range mm=2 addr=0x400000 nr=16",
    "dcache_flush_user_mm": "dcache_flush_user_mm mm=2",
    "cache_flush_all": "cache_flush_all",
    "dcache_flush_phys": "dcache_flush_phys pfn=0x1002 nr=1",
    "icache_inval_user": "icache_inval_user mm=1 addr=0x400000 pfn=0x1003 nr=1",
    "copy_page": "copy_page from=0x1003 to=0x2000 addr=0x400000 mode=1",
    "clear_page": "clear_page pfn=0x2001 addr=0x401000 mode=2",
    "dcache_flush_all": "dcache_flush_all",
    "pte_clear": "pte_clear pt=1 idx=12",
    "set_pmd": "set_pmd mm=1 addr=0x200000 pfn=0x0",
}


def test_emitters_follow_the_formats() -> None:
    t = Trace()
    got = _emit_all(t)
    assert list(got) == list(EXPECTED_LINES)
    assert got == EXPECTED_LINES
    for ev, line in got.items():
        assert P.event_of(line) == ev, line
    off = Trace(False)
    _emit_all(off)
    assert off.lines == []
    # the matcher can fail
    assert P.event_of("set_pte pt=1 idx=5 val=4199") == ""
    assert P.event_of("set_pte pt=1 idx=5") == ""
    assert P.event_of("dcache_flush pfn=0x10 nr=0x2") == ""


# --- the C shim ------------------------------------------------------------

# printf, or the shim's ptdl_trace (printf unless -DPTDL_NO_TRACE)
PRINTF = re.compile(r'(?<![fn\w])(?:printf|ptdl_trace)\(\s*"((?:[^"\\]|\\.)*)"\s*((?:,[^;]*)?)\);', re.S)
# %s arguments: what each can be, read from the source
STRING_ARGS: dict[str, str] = {
    "op": r'ptdl_cache_op\("(\w+)"',
    "what": r'\*what = "(\w+)"',
}


def _split_args(args: str) -> list[str]:
    out: list[str] = []
    depth = 0
    cur = ""
    for ch in args.lstrip(","):
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "(["
        depth -= ch in ")]"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def c_trace_lines(src: str) -> list[str]:
    """Every trace line shape the C source can print: printf formats with
    %s expanded to the strings its argument can hold, numbers as holes
    ``<dec>`` / ``<hex>``."""
    out: list[str] = []
    for m in PRINTF.finditer(src):
        fmt = m.group(1)
        if not fmt.endswith("\\n"):
            raise AssertionError("trace printf without a newline: %r" % fmt)
        fmt = fmt[:-2]
        args = _split_args(m.group(2))
        specs = re.findall(r"%(?:ll|l)?[dusx]", fmt)
        assert len(specs) == len(args), (fmt, args)
        variants = [""]
        pos = 0
        for spec, arg in zip(specs, args):
            i = fmt.index(spec, pos)
            lit = fmt[pos:i]
            pos = i + len(spec)
            if spec == "%s":
                alt = re.findall(r'"(\w+)"', arg) or (
                    re.findall(STRING_ARGS[arg], src) if arg in STRING_ARGS else [])
                assert alt, "unknown %%s argument %r in %r" % (arg, fmt)
                variants = [v + lit + a for v in variants for a in alt]
            elif spec.endswith("x"):
                if not lit.endswith("0x"):
                    raise AssertionError("hex without 0x in %r" % fmt)
                variants = [v + lit[:-2] + "<hex>" for v in variants]
            else:
                variants = [v + lit + "<dec>" for v in variants]
        out += [v + fmt[pos:] for v in variants]
    return out


def _format_pattern(fmt: str) -> re.Pattern[str]:
    rx = ""
    i = 0
    for m in re.finditer(r"\{(\w+):(\w+)\}", fmt):
        rx += re.escape(fmt[i:m.start()])
        rx += "<hex>" if m.group(2) == "hex" else r"(?:<dec>|\d+)"
        i = m.end()
    return re.compile(rx + re.escape(fmt[i:]) + r"\Z")


def shim_mismatches(lines: list[str]) -> list[str]:
    """C trace lines that match no format (or several), and formats the C
    side never prints (other than the model-only events)."""
    pats = {ev: _format_pattern(f) for ev, f in P.TRACE_FORMATS.items()}
    bad: list[str] = []
    seen: set[str] = set()
    for line in lines:
        hits = [ev for ev, p in pats.items() if p.match(line)]
        if len(hits) != 1:
            bad.append("C line %r matches %s" % (line, hits or "no format"))
        seen.update(hits)
    for ev in P.TRACE_FORMATS:
        if ev not in seen and ev not in P.MODEL_ONLY_EVENTS:
            bad.append("format %s is never printed by the C shim" % ev)
    return bad


def test_c_shim_prints_the_formats() -> None:
    src = SHIM.read_text(encoding="utf-8") + HARNESS.read_text(encoding="utf-8")
    lines = c_trace_lines(src)
    assert "set_pte pt=<dec> idx=<dec> val=<hex>" in lines
    assert "pg_arch_1 clear page=<hex>" in lines
    assert shim_mismatches(lines) == []


def test_c_shim_check_catches_drift() -> None:
    src = SHIM.read_text(encoding="utf-8")
    assert 'ptdl_trace("set_pte pt=%d idx=%d val=0x%llx\\n"' in src
    for old, new in (('"set_pte pt=%d idx=%d val=0x%llx\\n"', '"set_pte pt=%d index=%d val=0x%llx\\n"'),
                     ('"set_pte pt=%d idx=%d val=0x%llx\\n"', '"set_pte pt=%d idx=%d val=%llu\\n"'),
                     ('ptdl_cache_op("icache_inval", s, e);', 'ptdl_cache_op("icache_invalidate", s, e);')):
        broken = src.replace(old, new)
        assert broken != src
        assert shim_mismatches(c_trace_lines(broken)) != [], new


# ---------------------------------------------------------------------------
# Kind constants == the catalog's names


def catalog_mismatches(cat: object) -> list[str]:
    """Where the catalog's vocabulary differs from runtime.primitives."""
    pairs: list[tuple[str, tuple[str, ...]]] = [
        ("DCACHE_KINDS", P.DCACHE_KINDS), ("ALIASING_DCACHE", P.ALIASING_DCACHE_KINDS),
        ("ICACHE_KINDS", P.ICACHE_KINDS), ("TLB_KINDS", P.TLB_KINDS),
        ("PG_ARCH_1_USES", P.PG_ARCH_1_USES), ("GRANULARITIES", P.PG_ARCH_1_GRANULARITIES),
        ("ADVANCES", P.ADVANCES), ("ADDITIVE_ADVANCES", P.ADDITIVE_ADVANCES),
    ]
    out: list[str] = []
    for name, want in pairs:
        got = getattr(cat, name, None)
        if got is None:
            out.append("catalog has no %s" % name)
        elif tuple(got) != want:
            out.append("catalog %s %r != runtime.primitives %r" % (name, tuple(got), want))
    effects = getattr(cat, "EFFECTS", {})
    words = {f.split(" ", 1)[0] for f in P.TRACE_FORMATS.values()}
    for e in getattr(effects, "values", lambda: [])():
        tr = getattr(e, "trace", "")
        if tr and tr not in words:
            out.append("effect %s traces %r, no such event" % (getattr(e, "name", "?"), tr))
    return out


def test_catalog_names_are_the_runtime_constants() -> None:
    from dsl import catalog
    assert catalog_mismatches(catalog) == []


def test_catalog_check_catches_drift() -> None:
    from dsl import catalog

    class Fake:
        pass

    fake = Fake()
    for name in dir(catalog):
        if name.isupper():
            setattr(fake, name, getattr(catalog, name))
    fake.TLB_KINDS = dict(catalog.TLB_KINDS, software_pair="typo")  # type: ignore[attr-defined]
    fake.ADVANCES = {k: v for k, v in catalog.ADVANCES.items() if k != "repack"}  # type: ignore[attr-defined]
    got = catalog_mismatches(fake)
    assert any("TLB_KINDS" in g for g in got) and any("ADVANCES" in g for g in got), got


# ---------------------------------------------------------------------------
# docs/runtime-interface.md


def doc_mismatches(text: str) -> list[str]:
    out: list[str] = []
    want = P.interface_markdown()
    if want not in text:
        out.append("the generated section differs from runtime.primitives.interface_markdown()")
    head = text.split(P.DOC_BEGIN, 1)[0]
    prims = head.split("## Primitives", 1)[1].split("\n## ", 1)[0] if "## Primitives" in head else ""
    rows = re.findall(r"^\| `(\w+)\(", prims, re.M)
    rows += re.findall(r"^\| `\w+\([^`]*\)` / `(\w+)\(", prims, re.M)
    queries = prims.split("Queries (no trace line):", 1)[-1].split("\n\n", 1)[0]
    rows += [n for n in re.findall(r"`(\w+)(?:\([^`]*\))?(?: -> \w+)?`", queries)]
    names = set(P.PRIMITIVE_NAMES + P.QUERY_NAMES)
    for n in sorted(names - set(rows)):
        out.append("primitive %s is not documented" % n)
    for n in sorted(set(rows) - names - {"folio", "mm", "vma"}):
        out.append("documented %s is not in the Primitives protocol" % n)
    for line in re.findall(r"^\| `[^`]*` \| `([a-z_0-9]+ [^`|]*)`", prims, re.M):
        if "..." in line:
            continue
        if P.event_of(line) == "":
            out.append("example trace line %r matches no format" % line)
    return out


def test_doc_is_in_step() -> None:
    """PTDL_UPDATE_DOCS=1 rewrites the generated section in place."""
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("PTDL_UPDATE_DOCS") == "1" and P.DOC_BEGIN in text:
        head = text.split(P.DOC_BEGIN, 1)[0]
        tail = text.split(P.DOC_END, 1)[1].lstrip("\n") if P.DOC_END in text else ""
        text = head + P.interface_markdown() + tail
        DOC.write_text(text, encoding="utf-8")
    assert doc_mismatches(text) == [], (
        "regenerate the section: PTDL_UPDATE_DOCS=1 pytest tests/runtime/test_rt_primitives.py")


def test_doc_check_catches_drift() -> None:
    text = DOC.read_text(encoding="utf-8")
    broken = text.replace("| `icache_inval` | `icache_inval pfn={pfn:hex} nr={nr:dec}` | yes |",
                          "| `icache_inval` | `icache_inval pfn={pfn:dec} nr={nr:dec}` | yes |")
    assert broken != text and doc_mismatches(broken)
    broken = text.replace("| `dcache_clean(pfn, nr)` |", "| `dcache_wash(pfn, nr)` |")
    assert broken != text
    got = doc_mismatches(broken)
    assert any("dcache_clean" in g for g in got) and any("dcache_wash" in g for g in got), got
