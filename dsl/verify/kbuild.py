"""Configured, prepared, cached out-of-tree kernel builds, and probe compiles in them.

Place in the flow: compare.py and dropin.py ask for the build of an arch's
configuration; it lives in `<cache>/build/<tree-id>/<ARCH>/<config-hash>`
(`make O=...` of the defconfig, the fragments applied with olddefconfig and
checked, `make prepare`) and is valid once its stamp exists, so an
interrupted build is redone, never used half-made.  A probe is compiled to
assembly by kbuild the first time (`make O=... ptdl_probe/NAME.s`); its
compiler command is saved and later probes call the compiler directly,
with exactly the kernel's flags.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..model import KConfig
from .karch import KArch
from .kernel_setup import cache_dir, tree_id

PROBE_DIR = "ptdl_probe"
STAMP = ".ptdl-prepared"
_CMD_NAME = "ptdlcmdzero"


class BuildError(Exception):
    """The kernel build could not be set up; the message says why."""


@dataclass(frozen=True)
class Build:
    tree: Path
    karch: KArch
    config: KConfig
    dir: Path

    def make_args(self) -> list[str]:
        args = ["make", "-s", "-C", str(self.tree), f"O={self.dir}", f"ARCH={self.karch.karch}"]
        if self.karch.cross:
            args.append(f"CROSS_COMPILE={self.karch.cross}")
        args.extend(self.karch.make_vars)
        return args


def config_hash(k: KArch, c: KConfig) -> str:
    spec = json.dumps([k.karch, k.cross, c.defconfig, list(c.fragments)]
                      + list(k.make_vars))
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def build_path(tree: Path, k: KArch, c: KConfig) -> Path:
    return cache_dir() / "build" / tree_id(tree) / k.karch / config_hash(k, c)


def _frag(line: str) -> tuple[str, str] | None:
    m = re.fullmatch(r"(CONFIG_[A-Za-z0-9_]+)=(.*)", line)
    return (m.group(1), m.group(2)) if m else None


def fragment_problem(line: str) -> str | None:
    return None if _frag(line) is not None else \
        f"config fragment {line!r} is not CONFIG_NAME=VALUE"


def _run(args: list[str], log: Path, what: str) -> None:
    with log.open("a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(args)}\n")
        f.flush()
        r = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise BuildError(f"{what} failed (exit {r.returncode}); log {log}:\n  "
                         + "\n  ".join(tail))


def _honoured(dotconfig: str, name: str, value: str) -> bool:
    if value == "n":
        return re.search(rf"^{name}=", dotconfig, re.M) is None
    return re.search(rf"^{re.escape(name)}={re.escape(value)}$", dotconfig, re.M) is not None


def ensure(tree: Path, k: KArch, c: KConfig, progress: bool = True) -> Build:
    """The prepared build for (k, c), making it if needed."""
    d = build_path(tree, k, c)
    b = Build(tree, k, c, d)
    d.parent.mkdir(parents=True, exist_ok=True)
    spec = json.dumps({"defconfig": c.defconfig, "fragments": list(c.fragments),
                       "arch": k.karch, "cross": k.cross, "tree": str(tree)}, indent=1)
    with open(str(d) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = d / STAMP
        if stamp.is_file() and stamp.read_text(encoding="utf-8") == spec:
            return b
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        log = d / "ptdl-build.log"
        frags = f" + {len(c.fragments)} fragment(s)" if c.fragments else ""
        if progress:
            sys.stderr.write(f"ptdl verify: {k.karch}: configuring {c.defconfig}{frags} in {d}\n")
            sys.stderr.flush()
        _run(b.make_args() + [c.defconfig], log, f"make {c.defconfig}")
        if c.fragments:
            with (d / ".config").open("a", encoding="utf-8") as f:
                for line in c.fragments:
                    fr = _frag(line)
                    if fr is None:
                        raise BuildError(fragment_problem(line) or line)
                    name, value = fr
                    f.write(f"# {name} is not set\n" if value == "n" else f"{line}\n")
            _run(b.make_args() + ["olddefconfig"], log, "make olddefconfig")
            text = (d / ".config").read_text(encoding="utf-8", errors="replace")
            lost = [line for line in c.fragments
                    if (fr := _frag(line)) is not None and not _honoured(text, *fr)]
            if lost:
                raise BuildError("the kernel's Kconfig did not keep " + ", ".join(lost)
                                 + f" (a dependency is missing?); see {d / '.config'}")
        if progress:
            sys.stderr.write(f"ptdl verify: {k.karch}: make prepare (once per configuration)\n")
            sys.stderr.flush()
        jobs = str(min(2, os.cpu_count() or 1))
        _run(b.make_args() + ["-j", jobs, "prepare"], log, "make prepare")
        (d / PROBE_DIR).mkdir(exist_ok=True)
        (d / PROBE_DIR / "Kbuild").write_text("# ptdl verify probes (compiled one by one)\n")
        stamp.write_text(spec, encoding="utf-8")
    return b


def dotconfig(b: Build) -> str:
    return (b.dir / ".config").read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Compiled:
    ok: bool
    asm: str
    errors: str
    command: str


def _saved_command(b: Build) -> str | None:
    p = b.dir / PROBE_DIR / "command.txt"
    return p.read_text(encoding="utf-8") if p.is_file() else None


def compile_c(b: Build, name: str, text: str, extra: str = "") -> Compiled:
    """Compile PROBE_DIR/name.c to assembly inside the kernel build."""
    pd = b.dir / PROBE_DIR
    pd.mkdir(exist_ok=True)
    if not (pd / "Kbuild").is_file():
        (pd / "Kbuild").write_text("# ptdl verify probes (compiled one by one)\n")
    cmd = _saved_command(b)
    if cmd is None:
        # first probe in this build: let kbuild compile it, keep its command
        (pd / f"{_CMD_NAME}.c").write_text("int ptdl_cmd_probe;\n", encoding="utf-8")
        r = subprocess.run(b.make_args() + [f"{PROBE_DIR}/{_CMD_NAME}.s"],
                           capture_output=True, text=True)
        saved = pd / f".{_CMD_NAME}.s.cmd"
        if r.returncode != 0 or not saved.is_file():
            return Compiled(False, "", r.stdout + r.stderr, "kbuild")
        m = re.search(r"^savedcmd_\S+\s*:=\s*(.*)$", saved.read_text(encoding="utf-8"), re.M)
        if m is None:
            return Compiled(False, "", f"{saved}: no savedcmd line", "kbuild")
        cmd = m.group(1)
        (pd / "command.txt").write_text(cmd, encoding="utf-8")
    src = pd / f"{name}.c"
    out = pd / f"{name}.s"
    src.write_text(text, encoding="utf-8")
    if out.exists():
        out.unlink()
    real = cmd.replace(_CMD_NAME, name)
    extra = " ".join(x for x in (b.karch.forced_flags(), extra) if x)
    if extra:
        real = real.replace(" -S -o ", f" {extra} -S -o ", 1)
    r = subprocess.run(real, shell=True, cwd=b.dir, capture_output=True, text=True)
    if r.returncode != 0 or not out.is_file():
        return Compiled(False, "", r.stdout + r.stderr, real)
    return Compiled(True, out.read_text(encoding="utf-8", errors="replace"),
                    r.stderr, real)


def macros(b: Build, name: str, text: str, extra: str = "") -> dict[str, str] | None:
    """The macros defined after preprocessing PROBE_DIR/name.c with the
    kernel's command (`-E -dM`); None if it does not preprocess.  Needs a
    saved command: call compile_c once before."""
    cmd = _saved_command(b)
    if cmd is None:
        return None
    pd = b.dir / PROBE_DIR
    src = pd / f"{name}.c"
    out = pd / f"{name}.i"
    src.write_text(text, encoding="utf-8")
    extra = " ".join(x for x in (b.karch.forced_flags(), extra) if x)
    real = cmd.replace(_CMD_NAME, name).replace(" -S -o ", f" {extra} -E -dM -o ", 1)
    real = real.replace(f"{PROBE_DIR}/{name}.s", f"{PROBE_DIR}/{name}.i")
    r = subprocess.run(real, shell=True, cwd=b.dir, capture_output=True, text=True)
    if r.returncode != 0 or not out.is_file():
        return None
    found: dict[str, str] = {}
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"#define (\w+)(\([^)]*\))?(?: (.*))?$", line)
        if m:
            found[m.group(1)] = (m.group(2) or "") + " " + (m.group(3) or "")
    for p in (src, out):
        p.unlink(missing_ok=True)
    return found
