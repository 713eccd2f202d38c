"""Find, or install, the Linux tree and the compilers `ptdl verify` uses.

Place in the flow: the first step of `make kernel` / `ptdl kernel setup`,
and the lookup every verify run starts with.  The tree is Debian's
`linux-source-6.12` unpacked into the cache (default `~/.cache/ptdl/`,
`$PTDL_CACHE` overrides), or the user's own tree given as
`PTDL_KERNEL_TREE=DIR` (any version from 6.6 on).  Unpacking goes to a
temporary directory beside the target and is renamed into place, so the
cache never holds a half-unpacked tree.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TREE_NAME = "linux-source-6.12"
TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
BUILD_DEPS = ("make", "gcc", "flex", "bison", "bc", "libelf-dev", "libssl-dev",
              "perl", "xz-utils", "python3")
# Not for the kernel: the test suite renders `ptdl show --svg` with
# rsvg-convert (required under CI=true), and this is the project's one
# apt step, so `make kernel` brings it too.
TEST_DEPS = ("librsvg2-bin",)
# Debian package -> CROSS_COMPILE prefix (x86 and um use the host gcc)
CROSS_PACKAGES: dict[str, str] = {
    "gcc-aarch64-linux-gnu": "aarch64-linux-gnu-",
    "gcc-arm-linux-gnueabi": "arm-linux-gnueabi-",
    "gcc-mips64-linux-gnuabi64": "mips64-linux-gnuabi64-",
    "gcc-s390x-linux-gnu": "s390x-linux-gnu-",
    "gcc-riscv64-linux-gnu": "riscv64-linux-gnu-",
    "gcc-powerpc64-linux-gnu": "powerpc64-linux-gnu-",
    "gcc-sparc64-linux-gnu": "sparc64-linux-gnu-",
    "gcc-m68k-linux-gnu": "m68k-linux-gnu-",
    "gcc-sh4-linux-gnu": "sh4-linux-gnu-",
    "gcc-alpha-linux-gnu": "alpha-linux-gnu-",
    "gcc-hppa-linux-gnu": "hppa-linux-gnu-",
    "gcc-arc-linux-gnu": "arc-linux-gnu-",
}


class SetupError(Exception):
    """Setup cannot go on; the message says what to do.  Exit code 2."""


def cache_dir() -> Path:
    env = os.environ.get("PTDL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ptdl"


def tree_path() -> Path:
    """The tree verify uses (it may not exist yet)."""
    env = os.environ.get("PTDL_KERNEL_TREE")
    if env:
        return Path(env).expanduser().resolve()
    return cache_dir() / TREE_NAME


def tree_problem(tree: Path) -> str | None:
    """Why `tree` is not a usable kernel tree, or None."""
    if not (tree / "Makefile").is_file() or not (tree / "include" / "linux" / "kbuild.h").is_file():
        return f"{tree}: not a Linux source tree (no Makefile / include/linux/kbuild.h)"
    v = tree_version(tree)
    if v is None:
        return f"{tree}: cannot read VERSION/PATCHLEVEL from its Makefile"
    if (v[0], v[1]) < (6, 6):
        return f"{tree}: Linux {v[0]}.{v[1]} is older than 6.6 (the range API)"
    return None


def tree_version(tree: Path) -> tuple[int, int, int] | None:
    try:
        head = (tree / "Makefile").read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return None
    vals: dict[str, int] = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL"):
        m = re.search(rf"^{key}\s*=\s*(\d+)", head, re.M)
        if m is None:
            return None
        vals[key] = int(m.group(1))
    return vals["VERSION"], vals["PATCHLEVEL"], vals["SUBLEVEL"]


def tree_id(tree: Path) -> str:
    """`6.12.117-1a2b3c4d`: the version and where the tree is."""
    v = tree_version(tree) or (0, 0, 0)
    h = hashlib.sha256(str(tree.resolve()).encode()).hexdigest()[:8]
    return f"{v[0]}.{v[1]}.{v[2]}-{h}"


def have_compiler(prefix: str) -> bool:
    return shutil.which(f"{prefix}gcc") is not None


def _installed(pkg: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    # ${Status} is "want ok state": only the state "installed" counts; a
    # package dpkg knows but has not installed reads "unknown ok
    # not-installed" (or "deinstall ok config-files"), which ends with
    # "installed" too
    words = r.stdout.split()
    return r.returncode == 0 and len(words) == 3 and words[2] == "installed"


def _say(msg: str) -> None:
    sys.stderr.write(f"ptdl kernel: {msg}\n")
    sys.stderr.flush()


def _manual_hint(missing: list[str]) -> str:
    return ("install them as root: apt-get update && apt-get install -y "
            + " ".join(missing)
            + "; or point PTDL_KERNEL_TREE at a Linux tree (6.6 or later)")


def setup() -> Path:
    """Install what is missing, unpack the tree; return the tree path."""
    env_tree = os.environ.get("PTDL_KERNEL_TREE")
    pkgs = list(BUILD_DEPS) + list(TEST_DEPS) + list(CROSS_PACKAGES)
    if env_tree is None:
        pkgs.insert(0, TREE_NAME)
    missing = [p for p in pkgs if not _installed(p)]
    if missing:
        if shutil.which("apt-get") is None:
            raise SetupError(f"missing packages {', '.join(missing)} and no apt-get; "
                             + _manual_hint(missing))
        if os.geteuid() != 0:
            raise SetupError(f"missing packages {', '.join(missing)}, and installing "
                             "needs root; " + _manual_hint(missing))
        _say("apt-get update")
        if subprocess.run(["apt-get", "update"]).returncode != 0:
            raise SetupError("apt-get update failed (is a Debian mirror reachable?)")
        _say(f"apt-get install {len(missing)} packages: {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                           env=env)
        if r.returncode != 0:
            raise SetupError("apt-get install failed; " + _manual_hint(missing))
    else:
        _say(f"{len(pkgs)} packages already installed")
    if env_tree is not None:
        tree = tree_path()
        why = tree_problem(tree)
        if why is not None:
            raise SetupError(f"PTDL_KERNEL_TREE: {why}")
        _say(f"using PTDL_KERNEL_TREE={tree}")
        return tree
    return unpack()


def unpack(tarball: Path = TARBALL, dest_root: Path | None = None) -> Path:
    """Unpack the Debian tarball into the cache, atomically (temp dir + rename)."""
    root = dest_root if dest_root is not None else cache_dir()
    dest = root / TREE_NAME
    if dest.is_dir():
        why = tree_problem(dest)
        if why is None:
            _say(f"tree already unpacked: {dest}")
            return dest
        raise SetupError(f"{why}; remove {dest} and run `make kernel` again")
    if not tarball.is_file():
        raise SetupError(f"{tarball} not found; install linux-source-6.12 "
                         "(apt-get install linux-source-6.12) or set PTDL_KERNEL_TREE")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{TREE_NAME}.", dir=root))
    try:
        _say(f"unpacking {tarball} into {dest} (about 30 s; one dot per 10000 files)")
        r = subprocess.run(["tar", "-xf", str(tarball), "-C", str(tmp),
                            "--checkpoint=10000", "--checkpoint-action=dot"])
        sys.stderr.write("\n")
        if r.returncode != 0:
            raise SetupError(f"tar failed on {tarball}")
        inner = tmp / TREE_NAME
        if not inner.is_dir():
            found = [p.name for p in tmp.iterdir()]
            raise SetupError(f"{tarball}: expected a top directory {TREE_NAME}/, found {found}")
        why = tree_problem(inner)
        if why is not None:
            raise SetupError(why)
        os.rename(inner, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _say(f"tree ready: {dest}")
    return dest


def main() -> int:
    """`python3 -m dsl.verify.kernel_setup`: `make kernel` without the venv."""
    try:
        tree = setup()
    except SetupError as e:
        sys.stderr.write(f"ptdl kernel setup: error: {e}\n")
        return 2
    missing = [p for p in CROSS_PACKAGES.values() if not have_compiler(p)]
    print(f"ptdl kernel setup: tree {tree}; "
          f"{len(CROSS_PACKAGES) - len(missing)}/{len(CROSS_PACKAGES)} cross compilers"
          + (f" (missing: {' '.join(missing)})" if missing else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
