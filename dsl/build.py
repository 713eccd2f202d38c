"""`ptdl build`: compile runtime/ and generated/runtime/ with mypyc, in place.

Place in the flow: after `ptdl generate`.  Incremental, in three layers:

1. A stamp (`.ptdl-build-stamp`) holds a hash of every module's source,
   the module list, the group layout, and the Python and mypy versions.
   If it matches and every module's extension exists, `ptdl build` is a
   no-op that never starts mypyc (well under a second).
2. Otherwise mypyc runs in *separate compilation* mode with one group per
   job: the hand-written runtime (every `runtime/**/*.py`, one group, so
   its hot cross-module calls stay direct C calls) and one group per
   generated arch module (`generated/runtime/*.py`).  mypy's incremental
   cache (`build/mypyc-cache`) re-checks only changed modules and their
   dependents; mypyc rewrites a group's C only when it changed.
3. setuptools' build_ext links an extension only when its C sources or
   the headers they include (mypyc records cross-group headers, so a change
   to runtime.arch's layout recompiles every arch that subclasses it) are
   newer than the built library, and within a group compiles only the C
   files newer than their object (or whose group headers are): changing one
   archdef compiles one arch group's two C files; a runtime function body
   changed compiles that module's C file and relinks the runtime group.

C optimisation: the runtime group at mypyc's level (MYPYC_OPT_LEVEL, 2);
the arch groups and the runtime modules off the fault path (COLD_RUNTIME:
the scenario drivers and the modules that run almost none of the
fault-around loop) at ARCH_OPT_LEVEL (1; PTDL_ARCH_OPT_LEVEL): about 45 %
less gcc time there.

The compile step runs in a child process (`python -m dsl.build --setup`),
two gcc processes at a time, largest C file and largest group first.  It
prints a progress line per phase with the elapsed time (mypy's type check,
mypyc's C generation, each group started and finished); the parent prints
what is still running (the child's status lines: which C files, since when)
whenever HEARTBEAT seconds pass without one, so no phase is silent.  The
list of compiled groups and C files goes to `build/ptdl-build-report.json`
(tests read it).  Stale
extensions of removed modules and old group libraries are deleted.  A lock
(`build/.lock`) serialises concurrent builds of one tree; a failed build
is retried once with an empty mypyc cache (mypyc trusts the C files on disk
for groups its cache calls fresh).  `python -m dsl.build` is `ptdl build`
without the CLI's start-up (make's build step).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

STAMP = ".ptdl-build-stamp"
BUILD_DIR = "build"
REPORT = "ptdl-build-report.json"
SPEC = "ptdl-build-spec.json"
FLAGS = "ptdl-build-flags"
# Bump when the group layout or build options change (invalidates the stamp).
LAYOUT_VERSION = "2"
RUNTIME_GROUP = "ptdl_runtime"
GEN_GROUP_PREFIX = "ptdl_gen_"
PROGRESS = "ptdl build: "
# The child's silent state lines: what it is doing now (the parent's heartbeat text).
STATUS = "ptdl build-status: "
# Seconds without a progress line before the parent prints what is running.
HEARTBEAT = 10.0
# C debug info off by default (-g0 compiles the largest module ~30 % faster
# than mypyc's default -g1; Python tracebacks do not need it).
# MYPYC_OPT_LEVEL / MYPYC_DEBUG_LEVEL override, as for the mypyc command.
DEBUG_LEVEL = "0"
# The arch groups' C optimisation level (PTDL_ARCH_OPT_LEVEL overrides; the
# runtime group keeps mypyc's, MYPYC_OPT_LEVEL, default 2).  An arch module
# is PTE bit helpers and tables: gcc -O1 compiles it in about 60 % of the
# -O2 CPU time (measured: x86 1.52 -> 0.98 s, mips 3.65 -> 2.06 s) and the
# fault-around benchmark, which runs the x86 group, does not tell them apart.
ARCH_OPT_LEVEL = "1"
# Appended after an arch group's -O flag: marks the flag as ours, so the
# shared runtime objects (one compile for every group) drop it again.
ARCH_MARK = "-DPTDL_ARCH_GROUP=1"


# Runtime modules off the fault path compile at the arch level too: the
# scenario families and their drivers (what the conformance suite runs once
# per scenario, not per PTE), and the modules that run at most
# COLD_LINE_SHARE of the fault-around benchmark loop's Python lines, trace
# off and on (tests/build/test_opt_levels.py measures it on the interpreted
# runtime; at this commit cache 1.1 %, tlb 0.7 %, primitives, layout,
# oracle, violation none).  Every other runtime module (MM callers, arch
# calls, page_table_check, effects, kernel, lazy MMU, machine, memory, mm,
# page tables, trace) keeps mypyc's level.  Measured (callgrind, the
# benchmark's compiled child, trace off): the whole runtime at -O1 runs 0.8 %
# more instructions than at -O2; the cache and TLB code is 0.17 % of them.
# gcc CPU time of the six at -O2 ~6.5 s, at -O1 ~3.5 s (of ~73 s a cold build).
COLD_RUNTIME = ("runtime/families/", "runtime/script.py", "runtime/scenarios.py",
                "runtime/conformance.py",
                "runtime/cache.py", "runtime/tlb.py", "runtime/primitives.py",
                "runtime/layout.py", "runtime/oracle.py", "runtime/violation.py")
# The most of the benchmark loop's executed lines one such module may run.
COLD_LINE_SHARE = 0.015


def c_file_of(module_path: str) -> str:
    """mypyc's C file name for a module (multi_file): runtime/a/b.py ->
    __native_runtime___a___b.c."""
    return "__native_" + module_path[:-3].replace("/", "___") + ".c"


def arch_opt_level() -> str:
    return os.environ.get("PTDL_ARCH_OPT_LEVEL", ARCH_OPT_LEVEL)
# One C file per module (the runtime group's modules compile two at a time).
MULTI_FILE = True


# ------------------------------------------------------------------ discovery

def runtime_modules(root: Path) -> list[str]:
    """Every hand-written runtime module, subpackages included (glob)."""
    base = root / "runtime"
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.py")
                  if p.name != "__init__.py" and "__pycache__" not in p.parts)


def generated_modules(root: Path) -> list[str]:
    gen = root / "generated" / "runtime"
    if not gen.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in gen.glob("*.py")
                  if p.name != "__init__.py")


def modules(root: Path) -> list[str]:
    return runtime_modules(root) + generated_modules(root)


def groups(root: Path) -> list[tuple[str, list[str]]]:
    """(group name, module paths): the runtime, then one per generated arch."""
    out: list[tuple[str, list[str]]] = []
    rt = runtime_modules(root)
    if rt:
        out.append((RUNTIME_GROUP, rt))
    for m in generated_modules(root):
        out.append((GEN_GROUP_PREFIX + Path(m).stem, [m]))
    return out


# ---------------------------------------------------------------- the stamp

def _digest(root: Path, mods: list[str]) -> str:
    import mypy.version
    h = hashlib.sha256()
    h.update(sys.version.encode())
    h.update(mypy.version.__version__.encode())
    h.update(LAYOUT_VERSION.encode() + str(MULTI_FILE).encode())
    h.update(os.environ.get("MYPYC_OPT_LEVEL", "2").encode())
    h.update(os.environ.get("MYPYC_DEBUG_LEVEL", DEBUG_LEVEL).encode())
    h.update(b"arch O" + arch_opt_level().encode() + " ".join(COLD_RUNTIME).encode())
    for name, ms in groups(root):
        h.update(b"group " + name.encode() + b"\0")
        for m in ms:
            h.update(m.encode() + b"\0")
            h.update(hashlib.sha256((root / m).read_bytes()).digest())
    return h.hexdigest()


def _ext_suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def _compiled(root: Path, mods: list[str]) -> bool:
    suf = _ext_suffix()
    libs = [root / (RUNTIME_GROUP + "__mypyc" + suf)] if runtime_modules(root) else []
    libs += [root / (GEN_GROUP_PREFIX + Path(m).stem + "__mypyc" + suf)
             for m in generated_modules(root)]
    return all((root / (m[:-3] + suf)).exists() for m in mods) and \
        all(p.exists() for p in libs)


def _remove_stale(root: Path, mods: list[str]) -> None:
    """Delete extensions whose .py is gone and group libraries not in use."""
    suf = _ext_suffix()
    for d in (root / "runtime", root / "generated" / "runtime"):
        if not d.is_dir():
            continue
        for so in d.rglob("*" + suf):
            if not so.with_name(so.name[: -len(suf)] + ".py").exists():
                so.unlink()
    wanted = {name + "__mypyc" + suf for name, _ in groups(root)}
    for so in root.glob("*__mypyc*" + suf):
        if so.name not in wanted:
            so.unlink()


# ------------------------------------------------------------------ the build

def _up_to_date(root: Path, mods: list[str], digest: str) -> bool:
    stamp = root / STAMP
    return stamp.exists() and stamp.read_text() == digest and _compiled(root, mods)


def build(root: Path, force: bool = False, quiet: bool = False) -> int:
    """Bring the compiled modules up to date; 0 ok, 1 failure."""
    t0 = time.perf_counter()
    mods = modules(root)
    if not mods:
        sys.stderr.write("ptdl build: no modules under runtime/\n")
        return 1
    digest = _digest(root, mods)
    if not force and _up_to_date(root, mods, digest):
        if not quiet:
            print(f"ptdl build: {len(mods)} modules up to date")
        return 0
    bdir = root / BUILD_DIR
    bdir.mkdir(exist_ok=True)
    with open(bdir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)    # one build of a tree at a time
        if not force and _up_to_date(root, mods, digest):   # built meanwhile
            if not quiet:
                print(f"ptdl build: {len(mods)} modules up to date")
            return 0
        rc = _compile(root, mods, force, quiet)
        if rc != 0 and any(bdir.glob("mypyc-cache-*")):
            # mypyc trusts C files on disk for groups its cache calls
            # fresh; if those were removed or damaged, start over once.
            for c in bdir.glob("mypyc-cache-*"):
                shutil.rmtree(c, ignore_errors=True)
            if not quiet:
                print("ptdl build: retrying with an empty mypyc cache", flush=True)
            rc = _compile(root, mods, True, quiet)    # every object again too
        if rc != 0:
            sys.stderr.write("ptdl build: mypyc failed\n")
            return 1
        (root / STAMP).write_text(digest)
    if not quiet:
        try:
            done = json.loads((bdir / REPORT).read_text())["compiled"]
        except (OSError, ValueError, KeyError):
            done = []
        print(f"ptdl build: {len(mods)} modules, {len(done)} of {len(groups(root))} groups"
              f" compiled ({time.perf_counter() - t0:.1f} s)")
    return 0


def _compile(root: Path, mods: list[str], force: bool, quiet: bool) -> int:
    """One run of the child; its output on failure goes to stderr."""
    stamp = root / STAMP
    if stamp.exists():
        stamp.unlink()          # a failed build never leaves a valid stamp
    _remove_stale(root, mods)
    bdir = root / BUILD_DIR
    (bdir / REPORT).unlink(missing_ok=True)
    grps = groups(root)
    # setuptools does not track compiler flags: when the build options
    # differ from the last successful build's, recompile everything.
    flags = _flags_key()
    fpath = bdir / FLAGS
    if not fpath.exists() or fpath.read_text() != flags:
        fpath.unlink(missing_ok=True)
        force = True
    started = time.time()
    spec = {"groups": grps, "force": force, "multi_file": MULTI_FILE,
            "opt_level": os.environ.get("MYPYC_OPT_LEVEL", "2"),
            "debug_level": os.environ.get("MYPYC_DEBUG_LEVEL", DEBUG_LEVEL),
            "arch_opt_level": arch_opt_level(),
            "started": started}
    (bdir / SPEC).write_text(json.dumps(spec))
    if not quiet:
        print(f"{PROGRESS}mypyc: checking {len(mods)} modules in {len(grps)} groups ...",
              flush=True)
    # unbuffered: mypyc's verbose lines (its phases) arrive as they happen
    proc = subprocess.Popen([sys.executable, "-m", "dsl.build", "--setup", str(bdir / SPEC)],
                            cwd=root, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = relay(proc, started, quiet)
    rc = proc.wait()
    if rc != 0:
        sys.stderr.write("".join(log))
    else:
        fpath.write_text(flags)
    return rc


def relay(proc: subprocess.Popen[str], started: float, quiet: bool,
          heartbeat: float = HEARTBEAT) -> list[str]:
    """Print the child's progress lines as they come; after `heartbeat`
    seconds without one, say what is still running (the child's last
    status line) with the elapsed time, so no phase is silent for long.
    Returns the child's other output (its log, shown on failure)."""
    import queue
    import threading
    assert proc.stdout is not None
    out = proc.stdout
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in out:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    log: list[str] = []
    status = "mypyc: starting"
    last = time.monotonic()
    while True:
        try:
            line = lines.get(timeout=max(0.05, heartbeat - (time.monotonic() - last)))
        except queue.Empty:
            if not quiet:
                print(f"{PROGRESS}... {status} ({time.time() - started:.1f} s)", flush=True)
            last = time.monotonic()
            continue
        if line is None:
            return log
        if line.startswith(STATUS):
            status = line[len(STATUS):].strip()
        elif line.startswith(PROGRESS):
            if not quiet:
                print(line.rstrip("\n"), flush=True)
            last = time.monotonic()
        else:
            log.append(line)


def _flags_key() -> str:
    import mypy.version
    return " ".join([LAYOUT_VERSION, f"multi_file={MULTI_FILE}",
                     "O" + os.environ.get("MYPYC_OPT_LEVEL", "2"),
                     "g" + os.environ.get("MYPYC_DEBUG_LEVEL", DEBUG_LEVEL),
                     "arch-O" + arch_opt_level(), "cold=" + ",".join(COLD_RUNTIME),
                     mypy.version.__version__, sys.version.split()[0]])


# ----------------------------------------------------- the child (setuptools)

def unloadable(paths: list[str]) -> list[tuple[str, str]]:
    """(path, loader error) for each shared library that does not load with
    every symbol bound now (RTLD_NOW): a group library linked against a
    damaged runtime object fails here, at build time, not at import."""
    import ctypes
    out: list[tuple[str, str]] = []
    for p in paths:
        try:
            ctypes.CDLL(p, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        except OSError as e:
            out.append((p, str(e)))
    return out


def _c_size(sources: list[str]) -> int:
    """Bytes of a group's own C (the shared runtime files excepted)."""
    from mypyc.common import RUNTIME_C_FILES
    shared = {os.path.basename(f) for f in RUNTIME_C_FILES}
    return sum(os.path.getsize(f) for f in sources
               if os.path.basename(f) not in shared and os.path.exists(f))


class MypycPhases:
    """The child's sys.stdout while mypycify runs (verbose): mypyc's phase
    lines become progress lines with the elapsed build time, its per-SCC
    "Compiling ..." lines a running count (a progress line at most every
    `every` seconds, a status line each); anything else passes through."""

    def __init__(self, out: Any, started: float, every: float = 5.0) -> None:
        self.out = out
        self.started = started
        self.every = every
        self.buf = ""
        self.modules = 0
        self.shown = time.monotonic()

    def _emit(self, kind: str, text: str) -> None:
        when = f" ({time.time() - self.started:.1f} s)" if kind == PROGRESS else ""
        self.out.write(f"{kind}{text}{when}\n")
        self.out.flush()

    def _line(self, line: str) -> None:
        if line.startswith("Parsed and typechecked in "):
            self._emit(PROGRESS, f"mypyc: type-checked in {line.split()[-1]}")
            self._emit(STATUS, "mypyc: compiling modules to C")
        elif line.startswith("Compiling "):
            names = line[len("Compiling "):].split(", ")
            self.modules += len(names)
            self._emit(STATUS, f"mypyc: {self.modules} modules compiled to C, now {names[0]}")
            if time.monotonic() - self.shown >= self.every:
                self._emit(PROGRESS, f"mypyc: {self.modules} modules compiled to C")
                self.shown = time.monotonic()
        elif line.startswith("Compiled to C in "):
            self._emit(PROGRESS, f"mypyc: {self.modules} modules compiled to C in "
                                 f"{line.split()[-1]}")
        else:
            self.out.write(line + "\n")

    def write(self, s: str) -> int:
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            self._line(line)
        return len(s)

    def flush(self) -> None:
        self.out.flush()


def _setup(spec_path: str) -> None:
    """Run mypycify + build_ext --inplace for the groups in the spec."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from setuptools import setup  # type: ignore[import-untyped]
    from setuptools.command.build_ext import build_ext  # type: ignore[import-untyped]
    from setuptools.modified import newer_group  # type: ignore[import-untyped]

    import mypy.version
    from mypyc.build import mypycify
    from mypyc.common import RUNTIME_C_FILES

    spec = json.loads(Path(spec_path).read_text())
    grps: list[tuple[str, list[str]]] = [(n, list(ms)) for n, ms in spec["groups"]]
    bdir = os.path.abspath(str(Path(spec_path).parent))
    libs = {name + "__mypyc": name for name, _ in grps}
    compiled: list[str] = []
    total = len(grps)
    jobs = max(1, min(2, os.cpu_count() or 1))
    gate = threading.BoundedSemaphore(jobs)     # gcc processes at once
    locks: dict[str, threading.Lock] = {}
    locks_guard = threading.Lock()
    shared_rt = {os.path.join(bdir, f) for f in RUNTIME_C_FILES}
    # Shared runtime objects compiled by this run: each is compiled at most
    # once per run, even under --force, so no group's link ever reads an
    # object another group is rewriting (a cold build forces every group).
    rt_done: set[str] = set()
    rt_keys: dict[str, str] = {}      # object -> the flags it was compiled (or found) with
    rt_compiles: list[str] = []       # every compile of one (the report counts them)
    opt_used: dict[str, str] = {}     # C file -> its last -O flag (the report)
    c_compiled: list[str] = []        # the groups' own C files compiled this run
    headers_seen: set[str] = set()    # headers the groups' objects depend on (the report)
    cold = {c_file_of(m) for _, ms in grps for m in ms if m.startswith(COLD_RUNTIME)}

    def lock_for(obj: str) -> threading.Lock:
        with locks_guard:
            return locks.setdefault(obj, threading.Lock())

    # C files queued / compiled and the ones in gcc now: the status line
    # the parent prints when a group takes long (the runtime group's ~50 files).
    files = {"queued": 0, "done": 0}
    running: dict[str, float] = {}      # C file path -> its start (s since the build began)
    out_lock = threading.Lock()

    def say(kind: str, text: str) -> None:
        with out_lock:      # one write per line: extensions build on two threads
            when = f" ({time.time() - started:.1f} s)" if kind == PROGRESS else ""
            sys.stdout.write(f"{kind}{text}{when}\n")
            sys.stdout.flush()

    def gated(compile_one: Any, obj: str, src: str, *rest: Any) -> None:
        name = os.path.abspath(src)
        with gate:
            with out_lock:
                running[name] = time.time() - started
                text = status()
            say(STATUS, text)
            try:
                compile_one(obj, src, *rest)
            finally:
                with out_lock:
                    del running[name]

    def counted(one: Any, *args: Any) -> None:
        try:
            one(*args)
        finally:
            with out_lock:
                files["done"] += 1
                text = status()
            say(STATUS, text)

    def status() -> str:
        """(under out_lock) files done, and the ones in gcc since when."""
        busy = ", ".join(f"{os.path.basename(n)} (since {t0:.1f} s)"
                         for n, t0 in running.items())
        return f"gcc: {files['done']}/{files['queued']} C files done" + \
            (f"; running {busy}" if busy else "")

    class ProgressBuildExt(build_ext):  # type: ignore[misc]
        """build_ext that says which group it compiles, compiles a group's
        C files two at a time, and compiles mypyc's runtime library (the
        same sources and flags in every group) once, not once per group."""

        def build_extensions(self) -> None:
            cc = self.compiler
            orig_compile = cc._compile

            def one(obj: str, src: str, ext: str, cc_args: list[str],
                    extra_postargs: list[str], pp_opts: list[str]) -> None:
                if os.path.abspath(src) not in shared_rt:
                    if os.path.basename(src) in cold:
                        extra_postargs = [*extra_postargs, f"-O{spec['arch_opt_level']}"]
                    gated(orig_compile, obj, src, ext, cc_args, extra_postargs, pp_opts)
                    with out_lock:
                        c_compiled.append(os.path.basename(src))
                        opt_used[os.path.basename(src)] = [
                            a for a in [*cc_args, *extra_postargs] if a.startswith("-O")][-1]
                    return
                if extra_postargs[-1:] == [ARCH_MARK]:
                    extra_postargs = extra_postargs[:-2]    # the group's own -O
                key_text = "\0".join(
                    [mypy.version.__version__, *cc_args, *extra_postargs, *pp_opts,
                     *cc.compiler_so])
                key = hashlib.sha256(key_text.encode()).hexdigest()
                mark = obj + ".key"
                with lock_for(obj):
                    fresh = (os.path.exists(obj) and os.path.exists(mark)
                             and Path(mark).read_text() == key
                             and os.path.getmtime(obj) >= os.path.getmtime(src))
                    if obj in rt_done:
                        # Compiled by this run, after mypyc wrote every C
                        # file: the same flags mean the same object, whatever
                        # the clocks say of the two files' times.
                        if rt_keys[obj] == key_text:
                            return
                        # Same object, other flags, in one run: two groups
                        # would race on one file.  mypyc gives every group
                        # the same flags; refuse rather than corrupt a link.
                        old_args, new_args = rt_keys[obj].split("\0"), key_text.split("\0")
                        raise RuntimeError(
                            f"ptdl build: {obj}: compiled twice with different flags in one "
                            f"run: first {[a for a in old_args if a not in new_args]}, then "
                            f"{[a for a in new_args if a not in old_args]}")
                    if fresh and not self.force:
                        rt_done.add(obj)
                        rt_keys[obj] = key_text
                        return
                    gated(orig_compile, obj, src, ext, cc_args, extra_postargs, pp_opts)
                    Path(mark).write_text(key)
                    rt_done.add(obj)
                    rt_keys[obj] = key_text
                    rt_compiles.append(obj)

            def compile_all(sources: list[str], output_dir: str | None = None,
                            macros: Any = None, include_dirs: Any = None, debug: bool = False,
                            extra_preargs: Any = None, extra_postargs: Any = None,
                            depends: Any = None) -> list[str]:
                macros, objects, extra_postargs, pp_opts, todo = cc._setup_compile(
                    output_dir, macros, include_dirs, sources, depends, extra_postargs)
                cc_args = cc._get_cc_args(pp_opts, debug, extra_preargs)
                deps = [d for d in (depends or []) if os.path.exists(d)]
                with out_lock:
                    headers_seen.update(os.path.basename(d) for d in deps)

                digests: dict[str, str] = {}

                def stale(obj: str) -> bool:
                    """A group's own C file is compiled again only when its
                    text, a header the group includes or the flags differ from
                    those its object was compiled from (a digest beside the
                    object, ``.o.src``): one runtime module changed, one C file
                    compiled.  By content, not file times: mypyc may write a C
                    file again with the same text.  The shared runtime files
                    have their own check (in `one`)."""
                    src = todo[obj][0]
                    if os.path.abspath(src) in shared_rt:
                        return True
                    h = hashlib.sha256("\0".join(
                        [*cc_args, *(extra_postargs or []), *pp_opts]).encode())
                    for p in (src, *deps):
                        h.update(b"\0" + Path(p).read_bytes())
                    digests[obj] = h.hexdigest()
                    mark = obj + ".src"
                    return (self.force or not os.path.exists(obj) or not os.path.exists(mark)
                            or Path(mark).read_text() != digests[obj])

                # largest C file first (the runtime group's range 30-650 KB)
                mine = sorted((obj for obj in objects if obj in todo and stale(obj)),
                              key=lambda o: -os.path.getsize(todo[o][0]))
                with out_lock:
                    files["queued"] += len(mine)
                with ThreadPoolExecutor(jobs) as pool:
                    futs = [pool.submit(counted, one, obj, todo[obj][0], todo[obj][1], cc_args,
                                        extra_postargs, pp_opts)
                            for obj in mine]
                    for f in futs:
                        f.result()
                for obj in mine:      # compiled: the digest it was compiled from
                    if obj in digests:
                        Path(obj + ".src").write_text(digests[obj])
                return list(objects)

            cc.compile = compile_all
            super().build_extensions()

        def build_extension(self, ext: Any) -> None:
            group = libs.get(ext.name)
            if group is not None:
                path = self.get_ext_fullpath(ext.name)
                if self.force or newer_group(list(ext.sources) + list(ext.depends),
                                             path, "newer"):
                    with out_lock:
                        compiled.append(group)
                        i = len(compiled)
                    say(PROGRESS, f"[{i}/{total}] compiling {group}")
                    t0 = time.monotonic()
                    super().build_extension(ext)
                    say(PROGRESS, f"[{i}/{total}] {group} compiled and linked in "
                                  f"{time.monotonic() - t0:.1f} s")
                    return
            super().build_extension(ext)

    t = time.perf_counter()
    started = float(spec.get("started", time.time()))
    # mypyc reuses C files on disk for groups its cache calls fresh: the
    # cache must belong to one layout (group split, multi_file, opt level).
    cache = f"{bdir}/mypyc-cache-{LAYOUT_VERSION}-{int(bool(spec['multi_file']))}-O{spec['opt_level']}-g{spec['debug_level']}"
    sys.stdout.write(f"{STATUS}mypyc: type-checking {sum(len(ms) for _, ms in grps)} modules\n")
    real_stdout = sys.stdout
    sys.stdout = MypycPhases(real_stdout, started)
    try:
        exts = mypycify([f"--cache-dir={cache}", *[m for _, ms in grps for m in ms]],
                        opt_level=str(spec["opt_level"]), debug_level=str(spec["debug_level"]),
                        separate=[(ms, n) for n, ms in grps],
                        multi_file=bool(spec["multi_file"]), include_runtime_files=False,
                        target_dir=os.path.relpath(bdir), verbose=True)
    finally:
        sys.stdout = real_stdout
    # Every C file in more than one group (mypyc's runtime library and the
    # source files its primitives pull in, e.g. str_extra_ops.c) is one
    # object compiled once per run, under its lock.
    from collections import Counter
    uses = Counter(os.path.abspath(src) for e in exts if e.name in libs for src in e.sources)
    shared_rt.update(p for p, n in uses.items() if n > 1)
    for e in exts:
        # multi_file + separate: mypyc's internal header holds a tentative
        # definition of each imported group's export table (one per C file).
        # (a new list each: mypyc gives every extension the same list object)
        own = [f"-O{spec['arch_opt_level']}", ARCH_MARK] \
            if e.name.startswith(GEN_GROUP_PREFIX) and e.name in libs else []
        e.extra_compile_args = [*e.extra_compile_args, "-fcommon", *own]
    # Longest first: the runtime library, then the arch groups by C size,
    # so the two compile slots finish together.
    exts.sort(key=lambda e: (e.name != RUNTIME_GROUP + "__mypyc",
                             not e.name.endswith("__mypyc"), -_c_size(e.sources)))
    print(f"{PROGRESS}mypyc: C generated in {time.perf_counter() - t:.1f} s"
          f" ({time.time() - started:.1f} s)", flush=True)
    print(f"{STATUS}gcc: starting", flush=True)
    args = ["build_ext", "--inplace", "--build-temp", f"{bdir}/temp",
            "--build-lib", f"{bdir}/lib", "-j", str(jobs)]
    if spec["force"]:
        args.append("--force")
    setup(name="ptdl_runtime_build", ext_modules=exts, script_args=args,
          cmdclass={"build_ext": ProgressBuildExt})
    broken = unloadable([os.path.abspath(e.name + _ext_suffix()) for e in exts
                         if e.name in libs])
    for path, why in broken:
        sys.stdout.write(f"{PROGRESS}{os.path.basename(path)} does not load: {why}\n")
        os.unlink(path)         # so that the retry links it again
    if broken:
        sys.exit(1)
    (Path(bdir) / REPORT).write_text(json.dumps({"compiled": sorted(compiled),
                                                 "runtime_objects": len(rt_compiles),
                                                 "shared_files": len(shared_rt),
                                                 "opt": dict(sorted(opt_used.items())),
                                                 "c_files": sorted(c_compiled),
                                                 "headers": sorted(headers_seen)}))


if __name__ == "__main__":
    # `python -m dsl.build [--force]` is `ptdl build` without the CLI's
    # imports (the archdef front end): `make`'s build step, a no-op in
    # well under a second when nothing changed.
    if len(sys.argv) == 3 and sys.argv[1] == "--setup":
        _setup(sys.argv[2])
    elif sys.argv[1:] in ([], ["--force"]):
        sys.exit(build(Path.cwd(), force=sys.argv[1:] == ["--force"]))
    else:
        sys.exit("usage: python -m dsl.build [--force]  (or --setup SPEC, run by the build)")
