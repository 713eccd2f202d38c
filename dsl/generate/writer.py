"""`ptdl generate`: render every artefact in memory, then write atomically.

Place in the flow: after a clean check of the whole project.  Everything is
rendered first; if any archdef or scenario file has errors, or a backend
fails, nothing is written (exit 1 with the located diagnostics).
``write_all`` writes every changed file to a temp file beside it first
and renames them into place only when all are written, so a failed or
interrupted write leaves generated/ as it was and never a half-written
file.  `--check` compares instead of writing: it fails when a
file differs from what the archdefs produce, when a header's checksum line
does not match its body (a hand edit), or when generated/ holds files of an
arch that no longer exists (stale).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from .backends import BACKENDS, BackendError, load_all

if TYPE_CHECKING:
    from ..model import Arch

KERNEL_HEADER = "generated/kernel/arch/{arch}/include/asm/pgtable-range.h"
RUNTIME_MODULE = "generated/runtime/{arch}.py"
CONFORMANCE = "generated/tests/test_{arch}_conformance.py"
__all__ = ["BackendError", "Output", "render_arch", "render_all", "check_tree",
           "write_atomic", "write_all", "remove_stale"]
PACKAGE_INITS = {
    "generated/__init__.py": '"""Output of `ptdl generate`: committed, never edited by hand."""\n',
    "generated/runtime/__init__.py": '"""Generated arch modules (mypyc-compiled by `ptdl build`)."""\n',
    "generated/tests/__init__.py": "",
}


@dataclass(frozen=True)
class Output:
    path: str   # relative to the project root
    text: str
    checksummed: bool = False


def render_arch(a: Arch, source: str) -> list[Output]:
    """Every registered backend's file for arch a (BackendError if one
    cannot be loaded or fails: no backend is ever skipped)."""
    from . import common     # (Jinja, through templating: not for write_atomic's users)
    outs: list[Output] = []
    from .scenarios import ScenarioError
    for b, render in load_all():
        try:
            text = render(a, source)
        except (BackendError, ScenarioError):
            raise
        except Exception as e:     # a backend's bug: named, placed, and nothing written
            raise BackendError(f"backend '{b.name}' ({b.module}) failed on arch '{a.name}'"
                               f"{_where(e)}: {type(e).__name__}: {e}") from e
        if b.checksummed:
            text = common.with_checksum(text)
        outs.append(Output(b.output_path(a.name), text, b.checksummed))
    return outs


def _where(e: BaseException) -> str:
    """' at FILE:LINE' of the frame that raised e (for a backend's bug)."""
    import traceback
    frames = traceback.extract_tb(e.__traceback__)
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def render_all(archs: dict[str, Arch], sources: dict[str, str],
               only: str | None = None, jobs: int = 1) -> list[Output]:
    """Every file, in arch-name order.  jobs=2 renders every other arch in
    a forked child process (a pure function of the model: the same text;
    see _render_forked); 1, or no fork, renders in this process."""
    outs = [Output(p, t) for p, t in sorted(PACKAGE_INITS.items())]
    names = [n for n in sorted(archs) if only is None or n == only]
    done = _render_forked(archs, sources, names) if jobs > 1 and len(names) > 1 else {}
    for name in names:
        got = done.get(name)
        outs += got if got is not None else render_arch(archs[name], sources[name])
    return outs


def _render_forked(archs: dict[str, Arch], sources: dict[str, str],
                   names: list[str]) -> dict[str, list[Output]]:
    """Render names[0] and names[1::2] here and names[2::2] in a forked
    child, whose outputs come back pickled through a pipe.  Forking is skipped (an empty
    result: the caller renders everything) where it is not safe or not
    available: no os.fork, or other threads running (a lock held by one
    could never be released in the child).  The child never reports an
    error itself: if it fails, its archs are left out of the result and
    the caller renders them here, so errors read exactly as without
    forking."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return {}
    # The first arch is rendered before the fork: every backend is imported
    # (a BackendError is raised here) and the templates are loaded once,
    # for both processes.
    done: dict[str, list[Output]] = {names[0]: render_arch(archs[names[0]], sources[names[0]])}
    mine, theirs = names[1::2], names[2::2]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                        # the child
        code = 1
        try:
            os.close(r)
            data = pickle.dumps({n: render_arch(archs[n], sources[n]) for n in theirs},
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    try:
        for n in mine:
            done[n] = render_arch(archs[n], sources[n])
        with os.fdopen(r, "rb") as fh:
            r = -1
            data = fh.read()
    finally:
        if r >= 0:
            os.close(r)       # a child still writing gets EPIPE and exits
        _, status = os.waitpid(pid, 0)
    if status == 0:
        try:
            got = pickle.loads(data)
        except Exception:
            got = None
        if isinstance(got, dict):
            done.update(got)
    return done


def expected_paths(archs: dict[str, Arch]) -> set[str]:
    paths = set(PACKAGE_INITS)
    for name in archs:
        paths.update(b.output_path(name) for b in BACKENDS)
    return paths


def existing_generated(root: Path) -> set[str]:
    gen = root / "generated"
    if not gen.is_dir():
        return set()
    found: set[str] = set()
    for p in gen.rglob("*"):
        if p.is_file() and p.suffix in (".py", ".h") and "__pycache__" not in p.parts:
            found.add(str(p.relative_to(root)))
    return found


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(root: Path, out: Output) -> bool:
    """Write out.text to out.path unless identical; True if it changed."""
    return bool(write_all(root, [out]))


def _unchanged(dest: Path, text: str) -> bool:
    """dest holds exactly text (compared as bytes: a damaged, non-UTF-8
    file is just different)."""
    return dest.is_file() and dest.read_bytes() == text.encode("utf-8")


def write_all(root: Path, outs: list[Output]) -> list[str]:
    """Write every output that changed, all or nothing; the changed paths.

    Each changed file is first written to a temp file beside it (creating
    its directory if need be); only when every one is written are they
    renamed into place, each rename atomic.  If writing any of them fails
    (a full disk, a read-only directory, an interrupt) the temp files and
    the directories made for them are removed and the error raised:
    generated/ is left exactly as it was."""
    staged: list[tuple[str, str, Path]] = []      # (path, temp file, destination)
    made: list[Path] = []
    try:
        for out in outs:
            dest = root / out.path
            if _unchanged(dest, out.text):
                continue
            missing = [d for d in (dest.parent, *dest.parent.parents) if not d.exists()]
            dest.parent.mkdir(parents=True, exist_ok=True)
            made += reversed(missing)
            staged.append((out.path, _stage(dest, out.text), dest))
    except BaseException:
        for _, tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
        raise
    for _, tmp, dest in staged:
        os.replace(tmp, dest)
    return [path for path, _, _ in staged]


def _stage(dest: Path, text: str) -> str:
    """`text` in a new temp file beside dest (mode per the umask); its path."""
    fd, tmp = tempfile.mkstemp(prefix="." + dest.name + ".", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp creates 0600; honour the umask
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp


def check_tree(root: Path, outs: list[Output], archs: dict[str, Arch],
               only: str | None) -> list[str]:
    """Problems that make generated/ stale, one line each."""
    from . import common
    problems: list[str] = []
    for out in outs:
        dest = root / out.path
        if not dest.exists():
            problems.append(f"{out.path}: missing")
            continue
        text = dest.read_text(encoding="utf-8", errors="replace")
        if out.checksummed and not common.verify_checksum(text):
            problems.append(f"{out.path}: checksum does not match its contents (edited by hand?)")
        elif text != out.text:
            problems.append(f"{out.path}: differs from what the archdefs generate")
    if only is None:
        for stale in sorted(existing_generated(root) - expected_paths(archs)):
            problems.append(f"{stale}: stale (no archdef generates it)")
    return problems


def remove_stale(root: Path, archs: dict[str, Arch]) -> list[str]:
    removed: list[str] = []
    for stale in sorted(existing_generated(root) - expected_paths(archs)):
        (root / stale).unlink()
        removed.append(stale)
    return removed
