"""The `ptdl` command line, run from a directory other than the project
(with -C ROOT): exit codes (0 clean, 1 diagnostics, 2 usage), the export
schema, `show`, and never a traceback.  The tests run the CLI in this
process (tests/ptdl_runner.py's run_ptdl, through frontend_util); the real
console script in a subprocess is checked to give the same status, stdout
and stderr for each kind of exit in tests/dsl/test_ptdl_runner.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

import pytest
import yaml

from frontend_util import FIXTURES, ROOT, no_traceback, run_ptdl

Run = Callable[..., subprocess.CompletedProcess[str]]


def _no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    no_traceback(r)


def test_check_clean(ptdl: Run) -> None:
    r = ptdl("check")
    _no_traceback(r)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith("ptdl: ") and r.stdout.endswith(": no errors\n")
    q = ptdl("check", "-q")
    assert (q.returncode, q.stdout, q.stderr) == (0, "", "")


def test_check_explicit_shipped_file(ptdl: Run) -> None:
    r = ptdl("check", str(ROOT / "archdefs" / "x86.arch"))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("ptdl: 1 file, ")
    assert r.stdout.endswith("no errors\n")
    # the same file spelt differently is still one file (not a duplicate arch)
    r2 = ptdl("check", "archdefs/x86.arch", str(ROOT / "archdefs" / "x86.arch"))
    assert (r2.returncode, r2.stderr) == (0, "")


def test_check_fixture_by_absolute_path_matches_golden(ptdl: Run) -> None:
    r = ptdl("check", str(FIXTURES / "overlap.arch"))
    _no_traceback(r)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == (FIXTURES / "overlap.expected").read_text(encoding="utf-8")


def test_check_relative_path_is_relative_to_C_dir(ptdl: Run) -> None:
    """-C DIR behaves like running in DIR (git -C, make -C)."""
    r = ptdl("check", "tests/fixtures/check/range_reversed.arch")
    assert r.returncode == 1
    assert r.stderr == (FIXTURES / "range_reversed.expected").read_text(encoding="utf-8")


def test_check_from_root_without_C(tmp_path: Path) -> None:
    r = run_ptdl("check", "tests/fixtures/check/unknown_role.arch", cwd=ROOT, root=None)
    assert r.returncode == 1
    assert r.stderr == (FIXTURES / "unknown_role.expected").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, needle", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
    (["export"], "the following arguments are required: ARCH"),
    (["show"], "the following arguments are required: ARCH"),
    (["export", "x86", "--format", "xml"], "invalid choice: 'xml'"),
    (["export", "zzqq99"], "ptdl: error: no arch 'zzqq99' (known: "),
    (["show", "zzqq99"], "ptdl: error: no arch 'zzqq99' (known: "),
    (["check", "no/such/file.arch"], "no such file"),
])
def test_usage_errors_exit_2(ptdl: Run, args: list[str], needle: str) -> None:
    r = ptdl(*args)
    _no_traceback(r)
    assert r.returncode == 2
    assert needle in r.stderr
    assert r.stdout == ""


def test_nonexistent_C_dir_exits_2(tmp_path: Path) -> None:
    r = run_ptdl("check", cwd=tmp_path, root=tmp_path / "nowhere")
    _no_traceback(r)
    assert r.returncode == 2
    assert r.stderr == f"ptdl: error: -C {tmp_path / 'nowhere'}: not a directory\n"


@pytest.mark.parametrize("args", [["list"], ["check"], ["generate"], ["generate", "--check"],
                                  ["build"], ["test"], ["show", "x86"], ["export", "x86"],
                                  ["doc", "--all", "-o", "docs"], ["diff", "x86", "arm64"]])
@pytest.mark.parametrize("with_C", [True, False])
def test_not_a_project_exits_2_and_writes_nothing(tmp_path: Path, args: list[str],
                                                  with_C: bool) -> None:
    """Issue 16: an empty directory is not silently a project of 0 archs."""
    r = run_ptdl(*args, cwd=tmp_path, root=tmp_path if with_C else None)
    _no_traceback(r)
    assert r.returncode == 2
    shown = str(tmp_path)
    assert r.stderr == (f"ptdl: {shown} is not a ptdl project (no archdefs/ directory); "
                        "run from the project root or pass -C\n")
    assert r.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_a_broken_project(tmp_path: Path) -> None:
    (tmp_path / "archdefs").mkdir()
    (tmp_path / "archdefs" / "bad.arch").write_text("arch bad { word 48 }\n")
    r = run_ptdl("export", "bad", cwd=tmp_path, root=tmp_path)
    _no_traceback(r)
    assert r.returncode == 1
    assert "archdefs/bad.arch:1:12: error: word must be 32 or 64, not 48\n" in r.stderr
    assert "archdefs/bad.arch:1:6: error: missing required call 'set_ptes'" in r.stderr
    assert r.stderr.endswith("\n14 errors\n")
    assert r.stdout == ""


@pytest.fixture(scope="module")
def x86_json(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    r = run_ptdl("export", "x86", "--format", "json", cwd=tmp_path_factory.mktemp("cwd"))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert isinstance(data, dict)
    return data


def test_export_json_schema(x86_json: dict) -> None:  # type: ignore[type-arg]
    d = x86_json
    for key in ("name", "word_bits", "page_shift", "pfn_pte_shift", "fields", "predicates",
                "pg_arch_1", "cache", "tlb", "calls", "source"):
        assert key in d
    assert (d["name"], d["word_bits"], d["page_shift"], d["pfn_pte_shift"]) == ("x86", 64, 12, 12)
    text = (ROOT / "archdefs" / "x86.arch").read_text().splitlines()
    assert d["source"] == {"file": "archdefs/x86.arch",
                           "line": text.index("arch x86 {") + 1}
    for f in d["fields"]:
        assert set(f) >= {"name", "lo", "hi", "role", "inverted", "source"}
        assert f["source"]["file"] == "archdefs/x86.arch" and f["source"]["line"] > 0
    by = {f["name"]: f for f in d["fields"]}
    assert {k: by["nx"][k] for k in ("lo", "hi", "role", "inverted")} == \
        {"lo": 63, "hi": 63, "role": "exec", "inverted": True}
    assert {k: by["pfn"][k] for k in ("lo", "hi", "role", "inverted")} == \
        {"lo": 12, "hi": 51, "role": "pfn", "inverted": False}
    assert by["hwdirty"]["role"] is None
    assert by["pn"]["overlaps"] == ["global"]
    assert d["predicates"] == {"present": "valid or pn", "protnone": "pn and not valid",
                               "dirty": "hwdirty or saveddirty"}
    assert d["pg_arch_1"]["use"] == "none" and d["pg_arch_1"]["granularity"] == "none"
    assert d["pg_arch_1"]["source"]["file"] == "archdefs/x86.arch"
    assert [o["kind"] for o in d["cache"]["dcache"]] == ["pipt"]
    assert [o["kind"] for o in d["cache"]["icache"]] == ["coherent"]
    assert d["tlb"]["kind"] == "hardware" and d["tlb"]["source"]["line"] > 0
    assert list(d["calls"]) == ["set_ptes", "update_mmu_cache_range", "flush_dcache_folio",
                                "flush_icache_pages"]
    assert d["calls"]["set_ptes"]["generic"] is True
    assert d["calls"]["update_mmu_cache_range"]["generic"] is False
    assert d["calls"]["update_mmu_cache_range"]["body"] == []
    for c in d["calls"].values():
        assert c["source"]["file"] == "archdefs/x86.arch" and c["source"]["line"] > 0


def test_export_yaml_equals_json(ptdl: Run, x86_json: dict) -> None:  # type: ignore[type-arg]
    r = ptdl("export", "x86", "--format", "yaml")
    assert r.returncode == 0
    assert yaml.safe_load(r.stdout) == x86_json


def test_export_arm64_json_calls(ptdl: Run) -> None:
    r = ptdl("export", "arm64")          # json is the default
    d = json.loads(r.stdout)
    sp = d["calls"]["set_ptes"]
    assert [s.get("effect") for s in sp["body"]] == ["page_table_check", "store"]
    store = sp["body"][1]
    assert store["params"] == {"advance": "page_size"}
    assert store["per_entry"][0]["when"] == "new.present and new.exec and not new.special"
    assert d["pg_arch_1"] == {"use": "dcache_clean", "granularity": "folio",
                              "source": d["pg_arch_1"]["source"]}
    assert d["cache"]["icache"][0]["when"] == "cpu.idc and cpu.dic"


ARM64_DIAGRAM = [
    "  63    56 55    48 47    40 39    32",
    "  .....qpo nmlkji.. ######## ########",
    "  31    24 23    16 15     8 7      0",
    "  ######## ######## ####hgff ed.cccba",
]


def test_show_arm64(ptdl: Run) -> None:
    r = ptdl("show", "arm64")
    _no_traceback(r)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == ("arm64: 64-bit PTE, 4 KiB pages (page_shift 12), 512 PTEs per table, "
                        "PFN_PTE_SHIFT 12, 48-bit physical addresses")
    assert lines[1] == ""
    assert lines[2:6] == ARM64_DIAGRAM
    for legend in ("  key bits     field         role",
                   "  m   54       uxn           exec (inverted: set means not)",
                   "  #   12..47   addr          pfn (PFN bits 0..35)",
                   "  h   11       ng            global (inverted: set means not)",
                   "  a   0        valid         valid",
                   "  derived   dirty = swdirty or dbm and not rdonly",
                   "D-cache:   pipt",
                   "I-cache:   coherent when cpu.idc and cpu.dic else needs_sync",
                   "PG_arch_1: dcache_clean per folio",
                   "CPU:       dic, hw_af, idc",
                   "prefaulted PTEs old: cpu.hw_af",
                   "flush_icache_pages (generic):"):
        assert legend in lines


def test_show_arm64_64k_split_pfn(ptdl: Run) -> None:
    r = ptdl("show", "arm64_64k")
    lines = r.stdout.splitlines()
    assert lines[1] == "extends arm64"
    assert lines[3:7] == ARM64_DIAGRAM      # same bits as arm64: only PFN parts move
    assert "  #   12..15   addr_hi       pfn (PFN bits 32..35)" in lines
    assert "  #   16..47   addr          pfn (PFN bits 0..31)" in lines


def test_all_fixtures_in_one_run(ptdl: Run) -> None:
    """Every negative fixture at once: exit 1, no traceback, and exactly the
    goldens one after another (diagnostics sort by path) with one total."""
    names = sorted(p.stem for p in FIXTURES.glob("*.arch"))
    r = ptdl("check", *(f"tests/fixtures/check/{n}.arch" for n in names))
    _no_traceback(r)
    assert r.returncode == 1 and r.stdout == ""
    body, total, warnings = "", 0, 0
    for n in names:
        *lines, last = (FIXTURES / f"{n}.expected").read_text(encoding="utf-8").splitlines()
        body += "".join(line + "\n" for line in lines)
        if last.endswith("warning") or last.endswith("warnings"):   # lint_* fixtures
            warnings += int(last.split()[0])
        else:
            total += int(last.split()[0])
    assert r.stderr == body + f"{total} errors, {warnings} warnings\n"
