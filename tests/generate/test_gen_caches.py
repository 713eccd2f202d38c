"""The caches and the forked render behind `ptdl generate`'s speed (issue 15
item 3) are never stale and never change a byte of output.

dsl/diskcache.py keys every entry by its input and the fingerprint of the
code deriving it; each test here edits one of those and checks the old
entry is not used, or damages an entry and checks it is a miss.  The
forked render (writer.render_all(jobs=2)) must give exactly the serial
text, and a failure in the child must read exactly as without forking.
No test here times anything: the figures live in the report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from dsl import decls, diskcache, parse
from dsl.generate import scenarios, templating

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PTDL_CACHE", str(d))
    monkeypatch.delenv("PTDL_NO_CACHE", raising=False)
    return d


# -- dsl/diskcache.py ---------------------------------------------------------

def test_round_trip_and_key_parts() -> None:
    k = diskcache.key_of("code", "a", "b")
    diskcache.put("t", k, b"value")
    assert diskcache.get("t", k) == b"value"
    # parts are length-prefixed: ("ab", "") is not ("a", "b")
    assert diskcache.key_of("code", "ab", "") != k
    assert diskcache.key_of("other code", "a", "b") != k
    assert diskcache.get("t", diskcache.key_of("other code", "a", "b")) is None


def test_fingerprint_follows_file_bytes(tmp_path: Path) -> None:
    f = tmp_path / "gen.py"
    f.write_text("x = 1\n")
    one = diskcache.fingerprint((str(f),))
    diskcache._FINGERPRINTS.clear()
    f.write_text("x = 2\n")
    assert diskcache.fingerprint((str(f),)) != one
    assert diskcache.fingerprint((str(f),), ("lib 1",)) != diskcache.fingerprint((str(f),), ("lib 2",))


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_damaged_entry_is_a_miss(_own_cache: Path, damage: str) -> None:
    k = diskcache.key_of("code", "x")
    diskcache.put("t", k, b"0123456789" * 10)
    p = _own_cache / "derived" / "t" / k
    data = p.read_bytes()
    if damage == "truncate":
        p.write_bytes(data[:-3])
    elif damage == "flip":
        p.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:      # another key's entry copied under this name
        k2 = diskcache.key_of("code", "y")
        diskcache.put("t", k2, b"other")
        p.write_bytes((_own_cache / "derived" / "t" / k2).read_bytes())
    assert diskcache.get("t", k) is None


def test_disabled_and_unwritable(_own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTDL_NO_CACHE", "1")
    k = diskcache.key_of("code", "x")
    diskcache.put("t", k, b"v")
    assert not _own_cache.exists()
    monkeypatch.delenv("PTDL_NO_CACHE")
    _own_cache.write_text("a file where the directory should be")
    diskcache.put("t", k, b"v")          # no exception
    assert diskcache.get("t", k) is None


def test_eviction_keeps_at_most_max_entries(_own_cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diskcache, "MAX_ENTRIES", 10)
    for i in range(25):
        diskcache.put("t", diskcache.key_of("code", str(i)), b"v")
    left = [p for p in (_own_cache / "derived" / "t").iterdir()]
    assert 0 < len(left) <= 10
    assert not [p for p in left if p.name.startswith(".tmp-")]


# -- the parse cache (dsl/parse.py parse_file) ----------------------------------

ARCH_TEXT = (ROOT / "archdefs" / "x86.arch").read_text(encoding="utf-8")


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = parse.parse_text

    def counting(path: str, text: str) -> tuple[list[parse.ArchDecl], list[object]]:
        seen.append(text)
        return real(path, text)  # type: ignore[return-value]
    monkeypatch.setattr(parse, "parse_text", counting)
    return seen


def test_parse_cache_hit_equals_a_fresh_parse(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "x86.arch"
    f.write_text(ARCH_TEXT, encoding="utf-8")
    seen = _count_parses(monkeypatch)
    first = parse.parse_file(str(f), "archdefs/x86.arch")
    second = parse.parse_file(str(f), "archdefs/x86.arch")
    assert len(seen) == 1, "the second read must come from the cache"
    assert second == first and first[0] and not first[1]
    # another shown name is another input (locations carry it)
    third = parse.parse_file(str(f), "other/x86.arch")
    assert len(seen) == 2 and third[0][0].loc.path == "other/x86.arch"


def test_parse_cache_never_returns_an_edited_files_old_decls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "x86.arch"
    f.write_text(ARCH_TEXT, encoding="utf-8")
    before = parse.parse_file(str(f), "x.arch")[0]
    # same size, same name: only the text differs (page 12 -> 13 would be
    # an error; rename the arch instead)
    edited = ARCH_TEXT.replace("arch x86", "arch x87", 1)
    assert len(edited) == len(ARCH_TEXT) and edited != ARCH_TEXT
    f.write_text(edited, encoding="utf-8")
    after = parse.parse_file(str(f), "x.arch")[0]
    assert [d.name for d in before] == ["x86"] and [d.name for d in after] == ["x87"]


def test_parse_cache_code_fingerprint_is_part_of_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "x86.arch"
    f.write_text(ARCH_TEXT, encoding="utf-8")
    parse.parse_file(str(f), "x.arch")
    seen = _count_parses(monkeypatch)
    # (parse_file and its fingerprint live in dsl/decls.py; parse re-exports them)
    monkeypatch.setattr(decls, "_code_fingerprint", lambda: "a changed parser")
    parse.parse_file(str(f), "x.arch")
    assert len(seen) == 1, "a changed parser must parse again"


def test_parse_cache_covers_the_grammar_and_the_parser() -> None:
    here = ROOT / "dsl"
    diskcache._FINGERPRINTS.clear()
    parse._code_fingerprint()
    files = {Path(f).name for key in diskcache._FINGERPRINTS for f in key}
    assert {"grammar.lark", "parse.py", "model.py", "catalog.py", "source.py",
            "__init__.py"} <= files
    assert (here / "grammar.lark").is_file()


HIT_SCRIPT = r"""
import sys
from dsl import decls
got = decls.parse_file(sys.argv[1], "archdefs/x86.arch")
assert got[0] and not got[1], got[1]
print(" ".join(sorted(m for m in sys.modules if m == "lark" or m.startswith("lark.")
                      or m == "dsl.parse")))
print("ok")
"""


def test_a_parse_cache_hit_imports_no_lark(tmp_path: Path) -> None:
    """The first process parses (Lark) and stores; the second is answered
    from the cache and never imports Lark or dsl/parse.py."""
    f = tmp_path / "x86.arch"
    f.write_text(ARCH_TEXT, encoding="utf-8")
    runs = [subprocess.run([sys.executable, "-c", HIT_SCRIPT, str(f)], capture_output=True,
                           text=True, timeout=300, cwd=ROOT, env=dict(os.environ))
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0 and r.stdout.endswith("ok\n"), r.stderr
    assert "lark" in runs[0].stdout.split() and "dsl.parse" in runs[0].stdout.split()
    assert runs[1].stdout == "\nok\n", runs[1].stdout


def test_errors_are_never_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "bad.arch"
    f.write_text("arch bad {\n    page 12\n    oops\n}\n", encoding="utf-8")
    seen = _count_parses(monkeypatch)
    one = parse.parse_file(str(f), "bad.arch")
    two = parse.parse_file(str(f), "bad.arch")
    assert one[1] and one == two and len(seen) == 2


def test_damaged_parse_entry_is_parsed_again(tmp_path: Path, _own_cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "x86.arch"
    f.write_text(ARCH_TEXT, encoding="utf-8")
    want = parse.parse_file(str(f), "x.arch")
    key = diskcache.key_of(parse._code_fingerprint(), "x.arch", ARCH_TEXT)
    diskcache.put("parse", key, b"not a pickle")
    seen = _count_parses(monkeypatch)
    assert parse.parse_file(str(f), "x.arch") == want and len(seen) == 1


# -- Jinja's compiled templates --------------------------------------------------

def _env(d: Path) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(d)),
                              bytecode_cache=templating._DiskBytecode(),
                              undefined=jinja2.StrictUndefined)


def test_compiled_template_follows_its_source(tmp_path: Path) -> None:
    d = tmp_path / "t"
    d.mkdir()
    (d / "a.j2").write_text("one {{ x }}\n")
    assert _env(d).get_template("a.j2").render(x=1) == "one 1"
    assert _env(d).get_template("a.j2").render(x=1) == "one 1"     # from the cache
    (d / "a.j2").write_text("two {{ x }}\n")
    assert _env(d).get_template("a.j2").render(x=1) == "two 1"


def test_bytecode_key_covers_the_environment_module(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    d = tmp_path / "t"
    d.mkdir()
    (d / "a.j2").write_text("{{ x }}\n")
    _env(d).get_template("a.j2")
    stored = set((tmp_path / "cache" / "derived" / "jinja").iterdir())
    assert stored
    monkeypatch.setattr(diskcache, "fingerprint",
                        lambda files, versions=(): "another templating.py")
    _env(d).get_template("a.j2")
    assert set((tmp_path / "cache" / "derived" / "jinja").iterdir()) > stored


def test_shipped_templates_render_the_same_cached_and_uncached(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dsl.project import load
    from dsl.generate import writer
    p = load(ROOT)
    names = ["x86", "arm64", "sh"]
    templating.environment.cache_clear()
    templating.macros.cache_clear()
    monkeypatch.setenv("PTDL_NO_CACHE", "1")
    plain = [writer.render_arch(p.archs[n], p.decl_files[n]) for n in names]
    monkeypatch.delenv("PTDL_NO_CACHE")
    for _ in range(2):            # the first fills the cache, the second reads it
        templating.environment.cache_clear()
        templating.macros.cache_clear()
        assert [writer.render_arch(p.archs[n], p.decl_files[n]) for n in names] == plain
    templating.environment.cache_clear()
    templating.macros.cache_clear()


# -- scenario YAML and runtime constants ------------------------------------------

def test_scenario_docs_cached_equal_libyaml_and_follow_edits() -> None:
    import yaml
    texts = [(p.name, p.read_text(encoding="utf-8"))
             for p in sorted(scenarios.SCENARIO_DIR.glob("*.yaml"))]
    want = tuple((n, yaml.safe_load(t)) for n, t in texts)
    assert scenarios._parse_yaml(texts) == want
    assert scenarios._parse_yaml(texts) == want       # from the cache
    edited = [(texts[0][0], texts[0][1] + "\n# edited\nextra_key: 1\n")] + texts[1:]
    got = scenarios._parse_yaml(edited)
    assert isinstance(got[0][1], dict) and got[0][1]["extra_key"] == 1


def test_runtime_constants_cached_are_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.arch
    import runtime.scenarios
    for _ in range(2):
        assert scenarios.runtime_constant("scenarios", "DIRECT_PFN") == \
            runtime.scenarios.DIRECT_PFN
        assert scenarios.runtime_constant("arch", "KERNEL_BASE_64") == runtime.arch.KERNEL_BASE_64
    with pytest.raises(LookupError):
        scenarios.runtime_constant("arch", "NO_SUCH_CONSTANT")


# -- the forked render -------------------------------------------------------------

FORK_SCRIPT = r"""
import sys
from pathlib import Path
from dsl.project import load
from dsl.generate import writer
p = load(Path(sys.argv[1]))
names = ["alpha", "arm", "arm64", "m68k", "mips", "sh", "x86"]
archs = {n: p.archs[n] for n in names}
serial = writer.render_all(archs, p.decl_files, jobs=1)
got = writer._render_forked(archs, p.decl_files, sorted(names))
assert sorted(got) == sorted(names), sorted(got)       # the child's share came back
assert writer.render_all(archs, p.decl_files, jobs=2) == serial
if sys.argv[2] == "fail":
    real = writer.render_arch
    def broken(a, source):
        if a.name == "mips":                       # one of the child's archs
            raise ValueError("backend broke on mips")
        return real(a, source)
    writer.render_arch = broken
    try:
        writer.render_all(archs, p.decl_files, jobs=2)
    except ValueError as e:
        print("raised:", e)
print("ok")
"""


@pytest.mark.parametrize("mode", ["same", "fail"])
def test_forked_render_is_the_serial_render(mode: str) -> None:
    # A fresh process: pytest-xdist workers run threads, where
    # _render_forked declines to fork.
    r = subprocess.run([sys.executable, "-c", FORK_SCRIPT, str(ROOT), mode],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("ok\n")
    if mode == "fail":
        assert "raised: backend broke on mips" in r.stdout


# -- what each command imports ---------------------------------------------------

IMPORTS_SCRIPT = r"""
import contextlib, io, sys
from dsl.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(" ".join(sorted({m.split(".")[0] for m in sys.modules} |
                      {m for m in sys.modules if m.startswith("dsl.")})))
"""


@pytest.mark.parametrize("argv,absent", [
    (["--help"], ["jinja2", "lark", "yaml", "pygments", "runtime", "generated",
                  "dsl.parse", "dsl.check", "dsl.generate.writer", "dsl.verify.compare"]),
    (["check", "-q"], ["jinja2", "yaml", "pygments", "runtime", "generated",
                       "dsl.generate.writer", "dsl.verify.compare"]),
    (["list"], ["jinja2", "yaml", "pygments", "runtime", "generated", "dsl.generate.writer"]),
    (["show", "x86"], ["jinja2", "yaml", "pygments", "runtime", "generated"]),
    (["show", "x86", "--svg", "OUT"], ["jinja2", "yaml", "pygments", "runtime", "generated"]),
    (["export", "x86"], ["jinja2", "yaml", "pygments", "runtime", "generated"]),
])
def test_commands_import_only_what_they_use(argv: list[str], absent: list[str],
                                            tmp_path: Path) -> None:
    argv = [str(tmp_path / "x86.svg") if x == "OUT" else x for x in argv]
    r = subprocess.run([sys.executable, "-c", IMPORTS_SCRIPT, "-C", str(ROOT)] + argv,
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    loaded = set(r.stdout.split())
    assert "dsl.cli" in loaded
    assert sorted(set(absent) & loaded) == []
    if "--svg" in argv:
        assert (tmp_path / "x86.svg").read_text(encoding="utf-8").startswith("<")
