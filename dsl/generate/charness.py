"""Build and run the C harness (runtime/c/) on a generated kernel header.

Place in the flow: tests/c/ (and anyone comparing C with Python) call
`replay(arch, header_text, script)`: the header is compiled into
runtime/c/harness.c with `gcc -Wall -Werror -O1` and the model's layout
parameters as -D flags (`gcc_flags`), the call script written by
runtime.script.ScriptWriter is fed on stdin, and the printed trace comes
back as a list of lines, to compare with the script's `expect` lines
(`expected`) -- the Python model's trace of the same calls.  `trace_diff`
renders a mismatch as a unified diff around the first difference (what
`ptdl test` prints).

Builds are cached by content hash (header, flags, shim sources, compiler)
under $PTDL_CBUILD_DIR or <tmp>/ptdl-charness-<uid>; a cached binary is
reused, a new one is written under a temporary name and renamed, so
concurrent test workers never see a half-written executable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..model import Arch, BoolOp, Expr, Not, Ref
from . import common

C_DIR = Path(__file__).resolve().parent.parent.parent / "runtime" / "c"
SOURCES = ("harness.c", "ptdl_shim.h", "ptdl_generic.h")
# stand-ins for the kernel headers a generated header includes (<linux/mm.h>, ...)
STUB_DIR = C_DIR / "include"
CFLAGS = ("-std=gnu11", "-Wall", "-Werror", "-O1")
GCC = os.environ.get("CC", "gcc")

# primitive key (dsl/catalog.py PRIMITIVE_KEYS) -> shim implementation
SHIM_PRIMITIVES = {
    "store": "ptdl_prim_set_pte",
    "set_pte": "ptdl_prim_set_pte",
    "pgste_set_pte": "ptdl_prim_pgste_set_pte",
    "set_pte_ext": "ptdl_prim_set_pte_ext",
    "page_table_check": "ptdl_prim_page_table_check",
    "lazy_mmu_enter": "ptdl_prim_lazy_mmu_enter",
    "lazy_mmu_leave": "ptdl_prim_lazy_mmu_leave",
    "sync_icache": "ptdl_prim_sync_icache",
    "flush_dcache": "ptdl_prim_flush_dcache",
    "clean_dcache": "ptdl_prim_clean_dcache",
    "flush_dcache_kmap": "ptdl_prim_flush_dcache_kmap",
    "inval_icache": "ptdl_prim_inval_icache",
    "inval_icache_user": "ptdl_prim_inval_icache_user",
    "icache_flush_all": "ptdl_prim_icache_flush_all",
    "icache_flush_local": "ptdl_prim_icache_flush_local",
    "inval_icache_mm": "ptdl_prim_inval_icache_mm",
    "flush_dcache_user": "ptdl_prim_flush_dcache_user",
    "flush_user_alias": "ptdl_prim_flush_user_alias",
    "flush_user_cache": "ptdl_prim_flush_user_cache",
    "flush_cache_all": "ptdl_prim_flush_cache_all",
    "flush_dcache_all": "ptdl_prim_flush_dcache_all",
    "flush_user_cache_mm": "ptdl_prim_flush_user_cache_mm",
    "tlb_preload": "ptdl_prim_tlb_preload",
    "tlb_flush_page": "ptdl_prim_tlb_flush_page",
    "hpte_insert": "ptdl_prim_hpte_insert",
    "tsb_insert": "ptdl_prim_tsb_insert",
    "tlb_batch_add": "ptdl_prim_tlb_batch_add",
    "tlb_flush_all": "ptdl_prim_tlb_flush_all",
    "store_pmd": "ptdl_prim_store_pmd",
    "flush_dcache_all_colours": "ptdl_prim_flush_dcache_all_colours",
    # reached through the header's __ptdl_copy_page_mN / __ptdl_clear_page_mN,
    # which the shim defines (an arch's copy_user_page name is not renamed)
    "copy_page": "ptdl_prim_copy_page",
    "clear_page": "ptdl_prim_clear_page",
}


class HarnessError(RuntimeError):
    """gcc or the harness failed; the message carries its stderr."""


def _cpu_expr(e: Expr) -> str:
    if isinstance(e, Ref):
        return "cpu_has_" + common.ident(e.path[-1])
    if isinstance(e, Not):
        return "!(" + _cpu_expr(e.arg) + ")"
    if isinstance(e, BoolOp):
        op = " && " if e.op == "and" else " || "
        return "(" + op.join(_cpu_expr(x) for x in e.args) + ")"
    raise ValueError(f"not a cpu-feature condition: {e!r}")


def _colours(a: Arch) -> str:
    expr = ""
    for cond, kind in reversed(a.dcache.options):
        n = kind.param("colours", "1") if kind.name in ("vipt_aliasing", "vivt") else "1"
        n = str(int(n, 0))
        expr = n if cond is None else f"({_cpu_expr(cond)} ? {n} : {expr or '1'})"
    return expr or "1"


def gcc_flags(a: Arch) -> list[str]:
    """-D flags describing arch a to the shim."""
    flags = [f"-DPAGE_SHIFT={a.page_shift}",
             f"-DPTDL_WORD_BITS={a.word_bits}",
             f"-DPTDL_PTRS_PER_PTE={a.ptrs_per_pte}",
             f"-DPTDL_DCACHE_COLOURS={_colours(a)}"]
    for feat in a.cpu_features:
        f = common.ident(feat)
        flags.append(f'-Dcpu_has_{f}=ptdl_cpu_has("{f}")')
    glob = a.role_fields("global")
    if a.tlb.name == "software_pairs" and glob:
        mask = 0
        for g in glob:
            mask |= g.mask
        flags.append(f"-DPTDL_PAIRS_GLOBAL_MASK=0x{mask:x}ULL")
        if glob[0].inverted:
            flags.append("-DPTDL_PAIRS_GLOBAL_INVERTED=1")
    if a.lazy_mmu_kind() in ("none", "batch"):
        # lazy MMU kinds whose mode defers no store (runtime/lazy.py)
        flags.append("-DPTDL_LAZY_STORES_AT_ONCE=1")
    for p in sorted(a.primitives, key=lambda p: p.key):
        impl = SHIM_PRIMITIVES.get(p.key)
        if p.key in ("copy_page", "clear_page"):
            continue
        if impl is not None and p.ptr_size:
            impl += "_ps"
        if impl is not None and p.vma_range:
            impl += "_vr"
        if impl is not None and p.per_page:
            # the header calls it as __ptdl_user_page (c/effects.j2)
            flags.append(f"-D__ptdl_user_page={impl}_pp")
            continue
        if impl is not None and common.ident(p.name) != impl:
            flags.append(f"-D{p.name}={impl}")
    return flags


def build_dir() -> Path:
    d = os.environ.get("PTDL_CBUILD_DIR")
    if d:
        return Path(d)
    return Path(tempfile.gettempdir()) / f"ptdl-charness-{os.getuid()}"


_GCC_VERSION: dict[str, str] = {}


def _gcc_version() -> str:
    """The compiler's first --version line (asked once per process)."""
    got = _GCC_VERSION.get(GCC)
    if got is not None:
        return got
    try:
        r = subprocess.run([GCC, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise HarnessError(f"cannot run {GCC}: {e}") from e
    got = r.stdout.splitlines()[0] if r.stdout else ""
    _GCC_VERSION[GCC] = got
    return got


def build(a: Arch, header: str, extra_flags: list[str] | None = None) -> Path:
    """Compile the harness with this header text; returns the executable."""
    return build_flags(a.name, gcc_flags(a), header, extra_flags)


def build_flags(name: str, arch_flags: list[str] | tuple[str, ...], header: str,
                extra_flags: list[str] | None = None) -> Path:
    """``build`` from arch ``name``'s ``gcc_flags`` computed beforehand (the
    generated test modules carry them, so a test worker never loads the
    project to replay a script)."""
    flags = list(CFLAGS) + list(arch_flags) + list(extra_flags or [])
    h = hashlib.sha256()
    for part in [header, "\0".join(flags), _gcc_version()] + \
            [(C_DIR / s).read_text() for s in SOURCES] + \
            [p.read_text() for p in sorted(STUB_DIR.rglob("*.h"))]:
        h.update(part.encode())
        h.update(b"\0\1")
    key = h.hexdigest()[:24]
    out = build_dir() / key
    exe = out / "harness"
    if exe.exists():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    hdr = out / "pgtable-range.h"
    tmp_h = out / f".hdr.{os.getpid()}"
    tmp_h.write_text(header)
    os.replace(tmp_h, hdr)
    tmp = out / f".harness.{os.getpid()}"
    cmd = [GCC, *flags, f'-DPTDL_HEADER="{hdr}"', f"-I{C_DIR}",
           f"-I{STUB_DIR}", str(C_DIR / "harness.c"), "-o", str(tmp)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise HarnessError(f"gcc failed for {name} ({' '.join(cmd)}):\n{r.stderr}")
    os.replace(tmp, exe)
    return exe


def run(exe: Path, script: str) -> list[str]:
    """Feed the call script to the harness; its trace lines."""
    r = subprocess.run([str(exe)], input=script, capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise HarnessError(f"harness exited {r.returncode}:\n{r.stderr}")
    return r.stdout.splitlines()


class Server:
    """One harness process (``harness --serve``) replaying many scripts:
    each script runs in a child the harness forks from its pristine state,
    so results equal ``run()``'s while a suite pays one exec per arch and
    worker instead of one per script."""

    def __init__(self, exe: Path) -> None:
        self.exe = exe
        self._err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""         # bytes read past the last "ptdl-done" line

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([str(self.exe), "--serve"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._err)
            self._pending = b""
        return self._proc

    def run(self, script: str) -> list[str]:
        """The trace of one script, as ``run(exe, script)`` would print it.
        The reply is read in large blocks up to its "ptdl-done STATUS"
        line (a trace is up to hundreds of thousands of lines)."""
        if not script.endswith("end\n"):
            script = script + ("" if script.endswith("\n") or not script else "\n") + "end\n"
        p = self._start()
        assert p.stdin is not None and p.stdout is not None
        self._err.seek(0)
        self._err.truncate()
        try:
            p.stdin.write(script.encode())
            p.stdin.flush()
        except BrokenPipeError as e:
            raise HarnessError(f"harness exited early: {self._stderr()}") from e
        fd = p.stdout.fileno()
        buf = bytearray(self._pending)
        start = 0                   # where to look for the done line next
        while True:
            at = buf.find(b"ptdl-done ", start)
            while at > 0 and buf[at - 1] != 0x0a:       # only at the start of a line
                at = buf.find(b"ptdl-done ", at + 1)
            if at >= 0:
                eol = buf.find(b"\n", at)
                if eol >= 0:
                    break
                start = at          # the done line is not complete yet
            else:
                start = max(0, len(buf) - len(b"ptdl-done "))
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise HarnessError("harness stopped without finishing the script:\n"
                                   + self._stderr())
            buf += chunk
        status = int(bytes(buf[at:eol]).split()[1])
        self._pending = bytes(buf[eol + 1:])
        if status != 0:
            raise HarnessError(f"harness exited {status}:\n{self._stderr()}")
        # as text mode would read it: universal newlines, one entry per line
        text = buf[:at].decode().replace("\r\n", "\n").replace("\r", "\n")
        return text.split("\n")[:-1] if text else []

    def _stderr(self) -> str:
        self._err.flush()
        self._err.seek(0)
        return self._err.read()

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.wait(timeout=60)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        self._err.close()


def replay(a: Arch, header: str, script: str) -> list[str]:
    """Compile (cached) and run: the C trace of the script's calls."""
    return run(build(a, header), script)


def expected(script: str) -> list[str]:
    """The Python model's trace recorded in the script (`expect` lines)."""
    return [line[len("expect "):] for line in script.splitlines()
            if line.startswith("expect ")]


def first_difference(py: list[str], c: list[str]) -> int | None:
    """Index of the first line where the two traces differ (None: equal)."""
    for i in range(max(len(py), len(c))):
        if (py[i] if i < len(py) else None) != (c[i] if i < len(c) else None):
            return i
    return None


def trace_diff(py: list[str], c: list[str], context: int = 3, max_lines: int = 40) -> str:
    """A unified diff of the Python and C traces around the first
    difference (`-` python model, `+` C header), at most max_lines long."""
    import difflib
    i = first_difference(py, c)
    if i is None:
        return "traces are equal"
    lines = list(difflib.unified_diff(py, c, "python (model)", "C (generated header)",
                                      n=context, lineterm=""))
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more diff lines)"]
    head = (f"C trace differs from Python at line {i + 1} "
            f"(python {len(py)} lines, C {len(c)} lines):")
    return "\n".join([head] + lines)


def clean() -> None:
    """Remove the build cache."""
    shutil.rmtree(build_dir(), ignore_errors=True)
