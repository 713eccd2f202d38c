"""Robustness of the front end against bad input: truncated, binary,
non-UTF-8, absurdly large or deep, empty and duplicated archdefs, and a
deterministic mutation fuzz of the shipped archdefs.  Every input must give
located diagnostics (path:line:col inside the file), exit 1 (or 0) from the
CLI, and never a traceback or a hang.  The CLI runs in this process
(frontend_util.run_ptdl: an escaping exception is a traceback on stderr, a
hang is stopped by its guard; test_cli shows it equals the console
script)."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.parse import MAX_TREE_DEPTH, decode, parse_text
from dsl.project import load
from dsl.resolve import resolve
from dsl.check import check
from dsl.source import Diagnostic

from frontend_util import ROOT, run_ptdl

X86 = (ROOT / "archdefs" / "x86.arch").read_bytes()
SHIPPED = sorted((ROOT / "archdefs").glob("*.arch"))
LOC = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): error: ", re.M)


def _assert_located(diags: list[Diagnostic], path: str, data: bytes) -> None:
    nlines = data.count(b"\n") + 1
    for d in diags:
        for loc in [d.loc] + [n.loc for n in d.notes]:
            if loc.path != path:
                continue
            assert 1 <= loc.line <= nlines + 1, (d, nlines)
            assert loc.col >= 1, d


def _cli_check(tmp_path: Path, name: str, data: bytes) -> subprocess.CompletedProcess[str]:
    f = tmp_path / name
    f.write_bytes(data)
    r = run_ptdl("check", str(f), cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    return r


def _errors(r: subprocess.CompletedProcess[str], path: str) -> list[tuple[int, int]]:
    return [(int(m["line"]), int(m["col"])) for m in LOC.finditer(r.stderr)
            if m["path"] == path]


# -- hand-picked nasty inputs, through the real CLI ------------------------

NASTY: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "1:1: error: no `arch` declaration in this file"),
    "comments": (b"# only\n# comments\n", "1:1: error: no `arch` declaration in this file"),
    "garbage": (bytes(range(1, 256)) * 3, "error: invalid UTF-8 (byte 0x80)"),
    "latin1": ("arch x {\n  pte { \u00e9t\u00e9 0 }\n}\n".encode("latin-1"),
               "2:9: error: invalid UTF-8 (byte 0xe9)"),
    "nul": (b"arch a {\n  word 64\x00\n}\n", "2:10: error: binary data (NUL byte)"),
    "huge_decimal": (b"arch a { word 99999999999999999999999999999999999999999999 }\n",
                     "1:15: error: number too large"),
    "huge_hex": (b"arch a { pte { f 0x" + b"f" * 200 + b" } }\n",
                 "1:18: error: number too large (more than 128 bits)"),
    "braces": (b"arch a { " + b"{" * 10000 + b"}" * 10000 + b" }\n",
               "1:73: error: nesting deeper than 64 levels"),
    "parens": (b"arch a { set_ptes { when " + b"(" * 10000 + b"pte.present" + b")" * 10000
               + b" { } } }\n", "1:88: error: nesting deeper than 64 levels"),
    "not_chain": (b"arch a extends x86 { update_mmu_cache_range { when " + b"not " * 10000
                  + b"vma.exec { } } }\n", "error: nested too deeply"),
    "else_when_chain": (b"arch a extends x86 { update_mmu_cache_range { when vma.exec { } "
                        + b"else when vma.exec { } " * 10000 + b"} }\n",
                        "error: nested too deeply"),
    "duplicated_x86": (X86 + X86, "error: duplicate arch 'x86'"),
    "huge_field_in_prot": (b"arch w extends x86 {\n pte { big 0..0xffffffffffffffffffffffffffffffff"
                           b" overlaps valid }\n prot { write = big=1 }\n}\n",
                           "2:8: error: bit range 0..340282366920938463463374607431768211455 "
                           "lies outside the 64-bit word"),
    "huge_word": (b"arch w extends x86 {\n word 0x10000000000\n pte { x 0..0xfffffffff }\n}\n",
                  "2:2: error: word must be 32 or 64, not 1099511627776"),
    "many_overlaps": (b"arch m extends x86 { pte { "
                      + b" ".join(b"f%d 60" % i for i in range(3000)) + b" } }\n",
                      "many_overlaps.arch:1:28: error: field 'f0' overlaps field 'pkey' (bit 60)"),
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_input_cli(tmp_path: Path, name: str) -> None:
    data, needle = NASTY[name]
    r = _cli_check(tmp_path, f"{name}.arch", data)
    assert r.returncode == 1, r.stderr[-2000:]
    assert needle in r.stderr
    errs = _errors(r, str(tmp_path / f"{name}.arch"))
    assert errs, r.stderr[:2000]
    n = data.count(b"\n") + 1
    assert all(1 <= line <= n + 1 and col >= 1 for line, col in errs)


def test_many_overlaps_one_error_per_field(tmp_path: Path) -> None:
    """3000 fields on one bit: one diagnostic each, not one per pair."""
    root = tmp_path
    (root / "archdefs").mkdir()
    (root / "archdefs" / "x86.arch").write_bytes(X86)
    (root / "m.arch").write_bytes(NASTY["many_overlaps"][0])
    p = load(root, ["m.arch"])
    overlaps = [d for d in p.diags if "overlaps field" in d.message]
    assert len(overlaps) == 3000
    assert overlaps[1].message == ("field 'f1' overlaps field 'pkey' (bit 60); "
                                   "add `overlaps pkey` if intended")


def test_tree_depth_limit_admits_legitimate_nesting() -> None:
    """60 nested `when` blocks (inside the 64-level brace limit) still parse."""
    body = "when vma.exec { " * 60 + "}" * 60
    text = f"arch a {{ update_mmu_cache_range {{ {body} }} }}"
    decls, diags = parse_text("t.arch", text)
    assert diags == [] and len(decls) == 1
    deep = "arch a { update_mmu_cache_range { when " + "not " * (MAX_TREE_DEPTH + 5) + \
        "vma.exec { } } }"
    decls, diags = parse_text("t.arch", deep)
    assert decls == [] and len(diags) == 1 and "nested too deeply" in diags[0].message


# -- truncation ---------------------------------------------------------------

CUTS = [i * len(X86) // 40 for i in range(40)]


def _load_one(tmp_path: Path, name: str, data: bytes):  # type: ignore[no-untyped-def]
    """load() a project whose only archdef is `data` (fast: one file)."""
    root = tmp_path / name
    (root / "archdefs").mkdir(parents=True)
    (root / "archdefs" / "a.arch").write_bytes(data)
    return load(root)


def test_truncated_x86_in_process(tmp_path: Path) -> None:
    for cut in CUTS:
        p = _load_one(tmp_path, f"cut{cut}", X86[:cut])
        assert p.diags, f"prefix of {cut} bytes checked clean"
        assert any(d.loc.path == "archdefs/a.arch" for d in p.diags)
        _assert_located(p.diags, "archdefs/a.arch", X86[:cut])


@pytest.mark.parametrize("cut", CUTS[::8] + [len(X86) - 3])
def test_truncated_x86_cli(tmp_path: Path, cut: int) -> None:
    r = _cli_check(tmp_path, "t.arch", X86[:cut])
    assert r.returncode == 1
    assert _errors(r, str(tmp_path / "t.arch"))


# -- mutation fuzz -------------------------------------------------------------

KEYWORDS = ["arch", "extends", "{", "}", "(", ")", "pte", "when", "else", "each", "store",
            "set", "clear", "any", "not", "and", "or", "..", ":", "@", "=", "|", ",",
            "generic", "drop", "invert", "overlaps", "inverted", "cpu", "cache", "tlb",
            "prot", "0", "64", "0x10", "999", "-", '"', "#", ".", "pg_arch_1", "per",
            "page", "folio", "old.present", "new.pfn", "==", "!=", "reverse", "of"]
TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def mutate(r: random.Random, text: str) -> bytes:
    kind = r.randrange(8)
    if kind == 0:                                     # byte flips
        b = bytearray(text.encode())
        for _ in range(r.randint(1, 5)):
            b[r.randrange(len(b))] = r.randrange(256)
        return bytes(b)
    if kind == 7:                                     # truncation
        return text.encode()[:r.randrange(len(text))]
    if kind == 4:                                     # line shuffle
        lines = text.splitlines(True)
        i = r.randrange(len(lines))
        j = min(len(lines), i + r.randint(2, 12))
        seg = lines[i:j]
        r.shuffle(seg)
        lines[i:j] = seg
        return "".join(lines).encode()
    toks = TOKEN.findall(text)
    for _ in range(r.randint(1, 5)):
        i = r.randrange(len(toks))
        if kind == 1:                                 # token deletion
            del toks[i]
        elif kind == 2:                               # token duplication
            toks.insert(i, toks[i])
        elif kind == 3:                               # token swap
            j = r.randrange(len(toks))
            toks[i], toks[j] = toks[j], toks[i]
        elif kind == 5:                               # number change
            nums = [k for k, t in enumerate(toks) if t.isdigit()]
            toks[r.choice(nums)] = str(r.choice([0, 1, 7, 13, 31, 32, 63, 64, 65, 128,
                                                 2 ** 70, r.randrange(1000)]))
        else:                                         # keyword/punctuation insertion
            toks.insert(i, f" {r.choice(KEYWORDS)} ")
    return "".join(toks).encode()


def mutants(n: int, seed: int) -> list[tuple[str, bytes]]:
    r = random.Random(seed)
    srcs = [(p.stem, p.read_text(encoding="utf-8")) for p in SHIPPED]
    out = []
    for i in range(n):
        stem, text = srcs[i % len(srcs)]
        out.append((f"{stem}_{i}", mutate(r, text)))
    return out


N_MUTANTS = 400


def test_fuzz_mutants_in_process(tmp_path: Path) -> None:
    crashes: list[str] = []
    with_diags = 0
    ms = mutants(N_MUTANTS, seed=20231108)
    assert len({m for _, m in ms}) > 390            # really different inputs
    for name, data in ms:
        try:
            p = _load_one(tmp_path, name, data)
        except Exception as e:  # noqa: BLE001 - the point is to catch anything
            crashes.append(f"{name}: {type(e).__name__}: {e}")
            continue
        if p.diags:
            with_diags += 1
        _assert_located(p.diags, "archdefs/a.arch", data)
    print(f"\nfuzz: {len(ms)} mutants, {len(crashes)} crashes, {with_diags} with diagnostics")
    assert crashes == []
    assert with_diags > len(ms) // 2


@pytest.mark.parametrize("name, data", mutants(12, seed=7))
def test_fuzz_mutants_cli(tmp_path: Path, name: str, data: bytes) -> None:
    r = _cli_check(tmp_path, f"{name}.arch", data)
    assert r.returncode in (0, 1)
    if r.returncode == 1:
        assert r.stderr.rstrip().splitlines()[-1].endswith(("error", "errors"))


# -- hypothesis: arbitrary bytes and token soups ---------------------------------

FAST = settings(derandomize=True, deadline=None, database=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    text, diags = decode("r.arch", data)
    if text is not None:
        decls, diags = parse_text("r.arch", text)
        res = resolve(decls)
        diags = diags + res.diags + check(res)
    _assert_located(diags, "r.arch", data)


VOCAB = KEYWORDS + ["x86", "arm64", "word", "page_shift", "ptrs_per_pte", "phys_bits",
                    "present", "pfn", "12..51", "valid", "exec", "set_ptes",
                    "update_mmu_cache_range", "flush_dcache_folio", "flush_icache_pages",
                    "sync_icache", "advance", "page_size", "pte.present", "folio.pg_arch_1",
                    "cpu.f", "\n", "source", '"s"', "primitives", "dcache", "vivt",
                    "colours", "mkdirty", "nonzero"]


@FAST
@given(st.lists(st.sampled_from(VOCAB), max_size=60))
def test_token_soup_never_raises(toks: list[str]) -> None:
    text = "arch fz extends x86 { " + " ".join(toks) + " }"
    decls, diags = parse_text("s.arch", text)
    res = resolve(decls)
    diags = diags + res.diags + check(res)
    _assert_located(diags, "s.arch", text.encode())
