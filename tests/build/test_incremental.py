"""`ptdl build` is incremental and never leaves a stale extension in use.

Place in the flow: tests of dsl/build.py.  Each test builds a small
throw-away project (a runtime package with a subpackage, two generated
"arch" modules subclassing a runtime class) in tmp_path, so it neither
touches nor depends on the worktree's own compiled modules, and checks,
from the outside: which mypyc groups were compiled (the build report and
the libraries' mtimes), what the compiled modules return when imported by
a fresh interpreter, and which extension files exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from dsl import build as B

SUF = str(sysconfig.get_config_var("EXT_SUFFIX"))

BASE = '''
class Base:
    def __init__(self, n: int) -> None:
        self.n = n

    def value(self) -> int:
        return self.n * 10

def helper_sum(xs: list[int]) -> int:
    return sum(xs)
'''

GEN = '''
from runtime.base import Base
from runtime.sub.helpers import twice

class {cls}(Base):
    def value(self) -> int:
        return twice(self.n) + {k}

ARCH = {cls}(4)
'''

HELPERS = '''
def twice(x: int) -> int:
    return 2 * x
'''


def _write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text))


def make_project(root: Path) -> None:
    _write(root, "runtime/__init__.py", "")
    _write(root, "runtime/base.py", BASE)
    _write(root, "runtime/sub/__init__.py", "")
    _write(root, "runtime/sub/helpers.py", HELPERS)
    _write(root, "generated/__init__.py", "")
    _write(root, "generated/runtime/__init__.py", "")
    _write(root, "generated/runtime/alpha.py", GEN.format(cls="Alpha", k=1))
    _write(root, "generated/runtime/beta.py", GEN.format(cls="Beta", k=2))


def probe(root: Path) -> dict[str, object]:
    """Import the compiled modules in a fresh interpreter (root first on the path)."""
    code = textwrap.dedent('''
        import json, importlib
        out = {}
        for m in ("runtime.base", "runtime.sub.helpers", "generated.runtime.alpha",
                  "generated.runtime.beta"):
            try:
                mod = importlib.import_module(m)
            except ImportError as e:
                out[m] = {"error": str(e)}
                continue
            arch = getattr(mod, "ARCH", None)
            out[m] = {"file": mod.__file__,
                      "value": arch.value() if arch is not None else None}
        print(json.dumps(out))
    ''')
    env = dict(os.environ, PYTHONPATH=str(root))
    r = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                       capture_output=True, text=True, check=True)
    res: dict[str, object] = json.loads(r.stdout)
    return res


def report(root: Path) -> list[str]:
    got: list[str] = json.loads((root / "build" / B.REPORT).read_text())["compiled"]
    return got


def lib(root: Path, group: str) -> Path:
    return root / (group + "__mypyc" + SUF)


def test_discovery_is_glob_based(tmp_path: Path) -> None:
    make_project(tmp_path)
    _write(tmp_path, "runtime/families/__init__.py", "")
    _write(tmp_path, "runtime/families/fault.py", "X = 1\n")
    _write(tmp_path, "runtime/primitives.py", "Y = 2\n")
    assert B.runtime_modules(tmp_path) == [
        "runtime/base.py", "runtime/families/fault.py", "runtime/primitives.py",
        "runtime/sub/helpers.py"]
    assert [g for g, _ in B.groups(tmp_path)] == [
        "ptdl_runtime", "ptdl_gen_alpha", "ptdl_gen_beta"]


def test_incremental_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path
    make_project(root)
    # a scenario family: a runtime module off the fault path (B.COLD_RUNTIME)
    _write(root, "runtime/families/__init__.py", "")
    _write(root, "runtime/families/walk.py", "def walk(n: int) -> int:\n    return n + 1\n")

    # cold: every group compiled, one progress line per group
    assert B.build(root) == 0
    out = capsys.readouterr().out
    assert sorted(report(root)) == ["ptdl_gen_alpha", "ptdl_gen_beta", "ptdl_runtime"]
    for g in ("ptdl_runtime", "ptdl_gen_alpha", "ptdl_gen_beta"):
        assert f"compiling {g}" in out, out
        assert f"{g} compiled and linked in " in out, out
    # arch groups at their own -O level, the runtime group at mypyc's
    opt = {c: o for c, o in json.loads((root / "build" / B.REPORT).read_text())["opt"].items()
           if c.startswith("__native_")}     # the groups' C (not the import shims)
    assert opt == {"__native_generated___runtime___alpha.c": "-O" + B.ARCH_OPT_LEVEL,
                   "__native_generated___runtime___beta.c": "-O" + B.ARCH_OPT_LEVEL,
                   "__native_ptdl_gen_alpha.c": "-O" + B.ARCH_OPT_LEVEL,
                   "__native_ptdl_gen_beta.c": "-O" + B.ARCH_OPT_LEVEL,
                   "__native_ptdl_runtime.c": "-O2",
                   "__native_runtime___base.c": "-O2",
                   "__native_runtime___families___walk.c": "-O" + B.ARCH_OPT_LEVEL,
                   "__native_runtime___sub___helpers.c": "-O2"}, opt
    # every phase of the mypyc step has its line, with the elapsed time
    for phase in ("mypyc: type-checked in ", "modules compiled to C in ", "mypyc: C generated in "):
        assert any(phase in ln for ln in out.splitlines()), (phase, out)
    p = probe(root)
    for m, v in p.items():
        assert isinstance(v, dict) and str(v["file"]).endswith(SUF), (m, v)
    assert p["generated.runtime.alpha"]["value"] == 9      # type: ignore[index]
    assert p["generated.runtime.beta"]["value"] == 10      # type: ignore[index]

    # nothing changed: a no-op that never starts mypyc
    def no_popen(*a: object, **k: object) -> None:
        raise AssertionError("mypyc started on a no-op build")
    with monkeypatch.context() as mp:
        mp.setattr(subprocess, "Popen", no_popen)
        assert B.build(root) == 0
    assert "up to date" in capsys.readouterr().out

    # one generated module changed: only its group is compiled, and the
    # rebuilt extension (not a stale one) is what imports
    beta_mtime = lib(root, "ptdl_gen_beta").stat().st_mtime_ns
    rt_mtime = lib(root, "ptdl_runtime").stat().st_mtime_ns
    _write(root, "generated/runtime/alpha.py", GEN.format(cls="Alpha", k=100))
    assert B.build(root) == 0
    assert report(root) == ["ptdl_gen_alpha"]
    assert lib(root, "ptdl_gen_beta").stat().st_mtime_ns == beta_mtime
    assert lib(root, "ptdl_runtime").stat().st_mtime_ns == rt_mtime
    p = probe(root)
    assert p["generated.runtime.alpha"]["value"] == 108    # type: ignore[index]
    assert str(p["generated.runtime.alpha"]["file"]).endswith(SUF)  # type: ignore[index]

    # a runtime change (subpackage module) rebuilds the runtime group and
    # every module that now behaves differently shows it
    _write(root, "runtime/sub/helpers.py", HELPERS.replace("2 * x", "3 * x"))
    assert B.build(root) == 0
    assert "ptdl_runtime" in report(root)
    p = probe(root)
    assert p["generated.runtime.alpha"]["value"] == 112    # type: ignore[index]
    assert p["generated.runtime.beta"]["value"] == 14      # type: ignore[index]
    # ... and of its C files only the changed module's is compiled again
    rep = json.loads((root / "build" / B.REPORT).read_text())
    assert "__native_runtime___sub___helpers.c" in rep["c_files"], rep
    assert "__native_runtime___base.c" not in rep["c_files"], rep

    # a layout change (an attribute before the one the archs read): the
    # group headers change, so every C file including them is compiled
    # again; a stale subclass object would read the wrong slot
    _write(root, "runtime/base.py", BASE.replace(
        "        self.n = n", "        self.pad = 7\n        self.n = n"))
    assert B.build(root) == 0
    rep = json.loads((root / "build" / B.REPORT).read_text())
    assert sorted(rep["compiled"]) == ["ptdl_gen_alpha", "ptdl_gen_beta", "ptdl_runtime"], rep
    for c in ("__native_runtime___base.c", "__native_generated___runtime___alpha.c",
              "__native_generated___runtime___beta.c"):
        assert c in rep["c_files"], (c, rep)
    p = probe(root)
    assert p["generated.runtime.alpha"]["value"] == 112    # type: ignore[index]
    assert p["generated.runtime.beta"]["value"] == 14      # type: ignore[index]

    # a removed arch: its extension and group library are deleted
    (root / "generated/runtime/beta.py").unlink()
    assert B.build(root) == 0
    assert not (root / ("generated/runtime/beta" + SUF)).exists()
    assert not lib(root, "ptdl_gen_beta").exists()
    assert "error" in probe(root)["generated.runtime.beta"]    # type: ignore[operator]

    # other compiler flags (setuptools does not track them): everything again
    monkeypatch.setenv("MYPYC_DEBUG_LEVEL", "1")
    assert B.build(root) == 0
    assert report(root) == ["ptdl_gen_alpha", "ptdl_runtime"]


def test_failed_build_leaves_no_stamp(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path
    make_project(root)
    (root / "generated/runtime/beta.py").unlink()
    _write(root, "generated/runtime/alpha.py",
           "from runtime.base import Base\n\ndef f() -> int:\n    return 'not an int'\n")
    assert B.build(root) == 1
    err = capsys.readouterr().err
    assert "mypyc failed" in err and "alpha.py" in err, err
    assert not (root / B.STAMP).exists()


def test_forced_build_compiles_each_runtime_object_once(tmp_path: Path) -> None:
    """A cold build forces every group; mypyc's runtime library is still
    compiled once per run, so no group links an object another group is
    rewriting (the race behind an `undefined symbol: CPyPickle_SetState`
    import error on a fresh clone).  Every group library then loads with
    all its symbols bound."""
    from mypyc.common import RUNTIME_C_FILES
    root = tmp_path
    make_project(root)
    assert B.build(root, force=True) == 0
    rep = json.loads((root / "build" / B.REPORT).read_text())
    assert len(B.groups(root)) == 3
    # mypyc's runtime library and any file its primitives add: each once
    assert rep["shared_files"] >= len(RUNTIME_C_FILES)
    assert rep["runtime_objects"] == rep["shared_files"]
    libs = [str(lib(root, name)) for name, _ in B.groups(root)]
    assert B.unloadable(libs) == []


def test_unloadable_names_an_unbound_symbol(tmp_path: Path) -> None:
    """The post-link check: a library with an undefined symbol is reported
    (the build then deletes it and fails, so the retry links it again)."""
    src = tmp_path / "bad.c"
    src.write_text("int ptdl_no_such_symbol(void);\n"
                   "int ptdl_probe(void) { return ptdl_no_such_symbol(); }\n")
    bad, good = tmp_path / "bad.so", tmp_path / "good.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(bad), str(src)], check=True)
    (tmp_path / "good.c").write_text("int ptdl_probe(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(good), str(tmp_path / "good.c")],
                   check=True)
    got = B.unloadable([str(bad), str(good)])
    assert [p for p, _ in got] == [str(bad)]
    assert "ptdl_no_such_symbol" in got[0][1]


def test_relay_heartbeat_says_what_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """No silent phase: while the child prints nothing the parent repeats the
    child's last status line with the elapsed time; progress lines pass
    through, status lines stay silent, anything else is the log."""
    import time
    child = textwrap.dedent(f'''
        import sys, time
        print({B.STATUS!r} + "mypyc: type-checking 4 modules", flush=True)
        time.sleep(1.0)
        print({B.PROGRESS!r} + "mypyc: type-checked in 1.0s", flush=True)
        print("a log line", flush=True)
        print({B.STATUS!r} + "gcc: 1/3 C files done; running x.c (since 0.1 s)", flush=True)
        time.sleep(1.0)
    ''')
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    log = B.relay(proc, time.time(), quiet=False, heartbeat=0.3)
    assert proc.wait() == 0
    out = capsys.readouterr().out.splitlines()
    assert log == ["a log line\n"]
    assert "ptdl build: mypyc: type-checked in 1.0s" in out
    assert not any(B.STATUS in line for line in out), out
    i = out.index("ptdl build: mypyc: type-checked in 1.0s")
    before, after = out[:i], out[i + 1:]
    # (the first ones, before the child's first status line: "starting")
    assert before[-1].startswith("ptdl build: ... mypyc: type-checking 4 modules ("), out
    assert all(line.startswith(("ptdl build: ... mypyc: type-checking 4 modules (",
                                "ptdl build: ... mypyc: starting ("))
               and line.endswith(" s)") for line in before), out
    assert after and all(line.startswith("ptdl build: ... gcc: 1/3 C files done; running x.c")
                         for line in after), out


def test_mypyc_phase_lines() -> None:
    """mypyc's verbose output (type check, per-SCC compile, C done) becomes
    progress lines with the elapsed build time; other text passes through."""
    import io
    import time
    sink = io.StringIO()
    ph = B.MypycPhases(sink, time.time(), every=0.0)
    ph.write("Parsed and typechecked in 3.210s\nCompiling runtime.a, runtime.b\n")
    ph.write("Compil")
    ph.write("ing generated.runtime.x86\nrandom text\nCompiled to C in 0.5s\n")
    lines = sink.getvalue().splitlines()
    prog = [ln for ln in lines if ln.startswith(B.PROGRESS)]
    assert [ln.rsplit(" (", 1)[0] for ln in prog] == [
        "ptdl build: mypyc: type-checked in 3.210s",
        "ptdl build: mypyc: 2 modules compiled to C",
        "ptdl build: mypyc: 3 modules compiled to C",
        "ptdl build: mypyc: 3 modules compiled to C in 0.5s"]
    assert all(ln.endswith(" s)") for ln in prog)
    assert "random text" in lines
    assert f"{B.STATUS}mypyc: 3 modules compiled to C, now generated.runtime.x86" in lines
