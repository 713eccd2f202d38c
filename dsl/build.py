"""`ptdl build`: compile runtime/ and generated/runtime/ with mypyc, in place.

Place in the flow: after `ptdl generate`.  One mypyc invocation compiles
every module (the generated arch classes subclass runtime.arch.Arch, so
they belong to one compilation group).  A stamp holding a hash of every
input (and the Python and mypy versions) makes a second run with nothing
changed a no-op; stale .so files of removed modules are deleted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

STAMP = ".ptdl-build-stamp"


def modules(root: Path) -> list[str]:
    # runtime/*.py and its subpackages (runtime/families/); package
    # __init__.py files stay interpreted
    mods = sorted(str(p.relative_to(root)) for p in (root / "runtime").rglob("*.py")
                  if p.name != "__init__.py")
    gen = root / "generated" / "runtime"
    if gen.is_dir():
        mods += sorted(str(p.relative_to(root)) for p in gen.glob("*.py")
                       if p.name != "__init__.py")
    return mods


def _digest(root: Path, mods: list[str]) -> str:
    import mypy.version
    h = hashlib.sha256()
    h.update(sys.version.encode())
    h.update(mypy.version.__version__.encode())
    for m in mods:
        h.update(m.encode() + b"\0")
        h.update((root / m).read_bytes())
    return h.hexdigest()


def _ext_suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def _compiled(root: Path, mods: list[str]) -> bool:
    suf = _ext_suffix()
    return all((root / (m[:-3] + suf)).exists() for m in mods)


def build(root: Path, force: bool = False, quiet: bool = False) -> int:
    mods = modules(root)
    if not mods:
        sys.stderr.write("ptdl build: no modules under runtime/\n")
        return 1
    digest = _digest(root, mods)
    stamp = root / STAMP
    if not force and stamp.exists() and stamp.read_text() == digest and _compiled(root, mods):
        if not quiet:
            print(f"ptdl build: {len(mods)} modules up to date")
        return 0
    # Remove .so files whose .py is gone (a removed arch).
    suf = _ext_suffix()
    for d in ("runtime", "runtime/families", "generated/runtime"):
        for so in (root / d).glob("*" + suf) if (root / d).is_dir() else []:
            if not so.with_name(so.name[: -len(suf)] + ".py").exists():
                so.unlink()
    groups = [("runtime + generated/runtime", mods)]   # one group: arch classes subclass runtime.arch.Arch
    t0 = time.monotonic()
    if not quiet:
        for i, (what, ms) in enumerate(groups, 1):
            print(f"ptdl build: [{i}/{len(groups)}] mypyc {what}: {len(ms)} modules ...", flush=True)
    env = dict(os.environ)
    env.setdefault("MYPYC_OPT_LEVEL", "2")
    mypyc = shutil.which("mypyc", path=str(Path(sys.executable).parent)) or "mypyc"
    proc = subprocess.run([mypyc, *mods], cwd=root, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        sys.stderr.write("ptdl build: mypyc failed\n")
        if stamp.exists():
            stamp.unlink()
        return 1
    stamp.write_text(digest)
    if not quiet:
        print(f"ptdl build: compiled {len(mods)} modules in {time.monotonic() - t0:.0f} s")
    return 0
