"""The declarations of an archdef as parsed, before resolution, and the
cached way to them.

Place in the flow: dsl/project.py reads each archdef with ``parse_file``;
a clean parse of the same text by the same code was stored in the ptdl
cache (dsl/diskcache.py) by an earlier process, so it is unpickled here
without importing Lark, the grammar or the transformer; only a miss (or a
file with errors: diagnostics are never cached) calls dsl/parse.py
``parse_text``.  ``ArchDecl`` lives here, not in dsl/parse.py, so that
unpickling it does not import Lark either; dsl/parse.py re-exports it,
``decode`` and ``parse_file``.
"""

from __future__ import annotations

import importlib.util
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from . import diskcache
from .model import (Call, Choice, Cite, Derived, Expr, Field, KConfig, KernelDiff, Kind,
                    Mutator, NameList, Primitive, ProtEntry, ProtItem, ProtWhen, Setting,
                    Transform)
from .source import Diagnostic, Loc

MAX_FILE_BYTES = 1 << 20


@dataclass
class ArchDecl:
    """One `arch NAME [extends P] { ... }` as written, before resolution."""

    name: str
    loc: Loc
    parent: str | None = None
    parent_loc: Loc | None = None
    settings: list[tuple[str, Setting]] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    mutators: list[Mutator] = field(default_factory=list)
    transforms: list[Transform] = field(default_factory=list)
    drops: list[tuple[str, Loc]] = field(default_factory=list)
    prot: list[ProtItem] = field(default_factory=list)
    prot_entries: list[ProtEntry] = field(default_factory=list)
    prot_when: list[ProtWhen] = field(default_factory=list)
    none_ignores: list[NameList] = field(default_factory=list)
    pfn_pte_applies: list[NameList] = field(default_factory=list)
    pfn_nones: list[Transform] = field(default_factory=list)
    cache: list[tuple[str, Choice]] = field(default_factory=list)
    tlb: list[Kind] = field(default_factory=list)
    lazy_mmu: list[Kind] = field(default_factory=list)
    advance: list[tuple[str, Loc]] = field(default_factory=list)
    pg_arch_1: list[tuple[str, str | None, Loc]] = field(default_factory=list)
    cpu: list[tuple[str, Loc]] = field(default_factory=list)
    cpu_drops: list[tuple[str, Loc]] = field(default_factory=list)
    prefault: list[tuple[Expr | None, Loc]] = field(default_factory=list)
    primitives: list[Primitive] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    cites: list[Cite] = field(default_factory=list)
    empty: list[ProtItem] = field(default_factory=list)
    sw_mkyoung: list[Loc] = field(default_factory=list)
    highmem: list[tuple[str, Loc]] = field(default_factory=list)
    configs: list[KConfig] = field(default_factory=list)
    kernel_diffs: list[KernelDiff] = field(default_factory=list)
    kernel_diff_drops: list[tuple[str, Loc]] = field(default_factory=list)


def decode(path: str, data: bytes) -> tuple[str | None, list[Diagnostic]]:
    """Bytes to text, or a located diagnostic saying why not."""
    if len(data) > MAX_FILE_BYTES:
        return None, [Diagnostic(Loc(path, 1, 1),
                                 f"file is {len(data)} bytes; archdefs are limited to {MAX_FILE_BYTES}")]
    nul = data.find(b"\0")
    if nul >= 0:
        return None, [Diagnostic(Loc.of_byte(path, data, nul), "binary data (NUL byte) in an archdef")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, [Diagnostic(Loc.of_byte(path, data, e.start),
                                 f"invalid UTF-8 (byte 0x{data[e.start]:02x}); archdefs are UTF-8 text")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def parse_file(path: str, shown: str | None = None) -> tuple[list[ArchDecl], list[Diagnostic], str | None]:
    """Read and parse one file; locations use `shown` (default: path)."""
    name = shown if shown is not None else path
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return [], [Diagnostic(Loc(name, 1, 1), f"cannot read: {e.strerror}")], None
    text, diags = decode(name, data)
    if text is None:
        return [], diags, None
    key = diskcache.key_of(_code_fingerprint(), name, text)
    hit = diskcache.get("parse", key)
    if hit is not None:
        try:
            cached = pickle.loads(hit)
        except Exception:     # a damaged entry is a miss, never a failure
            cached = None
        if isinstance(cached, list) and all(isinstance(d, ArchDecl) for d in cached):
            return cached, [], text
    from . import parse        # Lark: only when the cache cannot answer
    decls, pdiags = parse.parse_text(name, text)
    if not pdiags:
        # Only clean parses are stored: diagnostics are always made afresh.
        diskcache.put("parse", key, pickle.dumps(decls, protocol=pickle.HIGHEST_PROTOCOL))
    return decls, pdiags, text


def _code_fingerprint() -> str:
    """What the declarations parse_file caches are derived from: the grammar,
    the parser, this module and the modules its records come from, and Lark
    (its package's __init__, which carries the version: found, not imported)."""
    here = Path(__file__).resolve().parent
    files = tuple(str(here / n) for n in
                  ("grammar.lark", "parse.py", "decls.py", "model.py", "catalog.py", "source.py"))
    spec = importlib.util.find_spec("lark")
    lark_init = spec.origin if spec is not None and spec.origin else "lark: not installed"
    return diskcache.fingerprint(files + (lark_init,))
