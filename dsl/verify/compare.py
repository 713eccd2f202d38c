"""Run the probes for one arch and compare the kernel's values with the archdef's.

Place in the flow: cli.py calls `verify_arch` per arch.  It finds the kernel
arch and configuration, makes sure the build is prepared (kbuild.py), builds
the fact list (facts.py) from the generated runtime module, compiles the
probe (probe.py) -- dropping, group by group, facts the kernel cannot
compile -- then a second probe for the facts that did not fold, with the
arch's assumptions, and classifies every fact: matched, mismatched
(a located error), run-time dependent (compared under an assumption, or
not at all, and said so), a declared 6.6 -> 6.12 difference, or absent
from this kernel (a note).  Probe results are cached by probe text and
compiler command.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Arch
from ..source import Diagnostic, Loc
from . import kbuild, probe
from .facts import Fact, facts_for, pfn_pte_loc, prot_loc
from .karch import KArch, read_protection_map

SHOW_PER_GROUP = 3
USE_CACHE = True       # `ptdl verify --no-cache` recompiles every probe


@dataclass
class Result:
    arch: str
    config: str = ""
    compared: int = 0
    matched: int = 0
    runtime: int = 0
    declared: int = 0
    mismatched: int = 0
    skipped: str | None = None       # why the arch was not verified
    diags: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    declared_lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


def runtime_arch(root: Path, a: Arch, source: str) -> tuple[Any, str | None]:
    """The arch object of generated/runtime/<arch>.py, executed from its
    source (never a compiled .so, which may predate the source: verify is
    never stale).  When the committed module is stale or absent (e.g. a
    fixture) a fresh rendering of the archdef is used instead, with a
    warning.  Returns (ARCH, warning)."""
    from ..generate import pymod
    text = pymod.render(a, source)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    committed = root / "generated" / "runtime" / f"{a.name}.py"
    warn = None
    if committed.is_file() and committed.read_text(encoding="utf-8") == text:
        path = committed
    else:
        if committed.is_file():
            warn = (f"{committed.relative_to(root)} is stale; compared with a fresh "
                    "rendering (run `ptdl generate`)")
        tmp = Path(tempfile.mkdtemp(prefix="ptdl-verify-rt-"))
        path = tmp / f"ptdl_verify_rt_{a.name}.py"
        path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"ptdl_verify_rt_{a.name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ARCH, warn


def _version(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", s)[:2])


def _fmt(f: Fact, v: int) -> str:
    return str(v) if f.boolean else f"0x{v:x}"


@dataclass
class _Run:
    values: dict[int, int | None]
    group_errors: dict[str, str]


def _cached_compile(b: kbuild.Build, name: str, text: str) -> kbuild.Compiled:
    cache = b.dir / kbuild.PROBE_DIR / "results"
    cache.mkdir(exist_ok=True)
    cmd = (b.dir / kbuild.PROBE_DIR / "command.txt")
    key = hashlib.sha256((text + (cmd.read_text() if cmd.is_file() else "")
                          + b.karch.forced_flags()).encode()).hexdigest()
    hit = cache / f"{key}.json"
    if USE_CACHE and hit.is_file():
        d = json.loads(hit.read_text())
        return kbuild.Compiled(bool(d["ok"]), str(d["asm"]), str(d["errors"]), "cached")
    c = kbuild.compile_c(b, name, text)
    if c.command != "kbuild":
        # keep only the ->lines: the cache stays small
        asm = "\n".join(line for line in c.asm.splitlines() if "->" in line)
        hit.write_text(json.dumps({"ok": c.ok, "asm": asm, "errors": c.errors}))
    return c


def _probe_facts(b: kbuild.Build, name: str, facts: list[Fact], indices: list[int],
                 macros: tuple[str, ...], assumptions: tuple[Any, ...] = ()) -> _Run:
    """Compile until the probe builds, removing a whole fact group on error."""
    group_errors: dict[str, str] = {}
    todo = list(indices)
    for _ in range(12):
        if not todo:
            return _Run({}, group_errors)
        pr = probe.render(facts, todo, macros, assumptions)
        c = _cached_compile(b, name, pr.text)
        if c.ok:
            return _Run(probe.parse(c.asm), group_errors)
        errs = probe.attribute_errors(c.errors, name, pr)
        if not errs:
            head = "\n  ".join(c.errors.strip().splitlines()[:20])
            raise kbuild.BuildError(f"probe {name}.c does not compile in {b.dir}:\n  {head}")
        for i, msg in errs.items():
            group_errors.setdefault(facts[i].group, msg)
        todo = [i for i in todo if facts[i].group not in group_errors]
    raise kbuild.BuildError(f"probe {name}.c: too many compile rounds")


def verify_arch(root: Path, tree: Path, a: Arch, source: str, k: KArch,
                tree_version: tuple[int, int, int]) -> Result:
    res = Result(a.name)
    cfg = a.config
    assert cfg is not None
    res.config = " ".join([cfg.defconfig] + list(cfg.fragments))
    for frag in cfg.fragments:
        why = kbuild.fragment_problem(frag)
        if why is not None:
            res.diags.append(Diagnostic(cfg.loc, why))
            return res
    rt, warn = runtime_arch(root, a, source)
    if warn:
        res.notes.append(warn)
    pm = read_protection_map(tree, k)
    if isinstance(pm, str):
        res.notes.append(f"vm_get_page_prot not compared: {pm}")
        pm_ok = None
    else:
        pm_ok = pm
    try:
        b = kbuild.ensure(tree, k, cfg)
    except kbuild.BuildError as e:
        res.diags.append(Diagnostic(cfg.loc, f"kernel build for {cfg.defconfig}: {e}"))
        return res
    facts = facts_for(a, rt, k, pm_ok)
    macros = pm_ok.macros if pm_ok is not None else ()
    name = f"probe_{a.name}"
    try:
        run = _probe_facts(b, name, facts, list(range(len(facts))), macros)
        rt_idx = [i for i, v in run.values.items() if v is None]
        assumed: dict[int, int | None] = {}
        if rt_idx and k.assumptions:
            arun = _probe_facts(b, name + "_assume", facts, sorted(rt_idx), macros,
                                k.assumptions)
            assumed = arun.values
    except kbuild.BuildError as e:
        res.diags.append(Diagnostic(cfg.loc, str(e)))
        return res
    # -- classify -------------------------------------------------------
    diffs_applicable = [d for d in a.kernel_diffs
                        if tree_version[:2] >= _version(d.version)]
    bad: dict[tuple[Loc, str], list[tuple[Fact, int, str]]] = {}
    declared: dict[int, list[tuple[Fact, int]]] = {}
    gone: dict[int, str] = {}     # declared differences where the kernel lacks the fact
    unfolded: list[Fact] = []
    absent: dict[str, str] = {}
    for g, msg in run.group_errors.items():
        sample = next(f for f in facts if f.group == g)
        di = next((i for i, d in enumerate(diffs_applicable) if d.fact in (g, sample.what)), -1)
        if sample.optional is not None:
            absent[g] = msg
        elif di >= 0:
            gone[di] = msg
            res.declared += 1
        else:
            n = sum(1 for f in facts if f.group == g)
            res.diags.append(Diagnostic(sample.loc, f"{sample.what}: the kernel cannot "
                                        f"evaluate it ({msg}); {n} fact(s) not compared"))
    for i, f in enumerate(facts):
        if f.group in run.group_errors:
            continue
        v = run.values.get(i, -1)
        how = ""
        if v == -1:
            res.diags.append(Diagnostic(f.loc, f"{f.what}: no value in the probe output"))
            continue
        if v is None:
            res.runtime += 1
            av = assumed.get(i)
            if av is None:
                unfolded.append(f)
                continue
            v = av
            how = "under the assumptions"
        elif f.runtime is not None:
            res.runtime += 1
            how = f.runtime
        res.compared += 1
        kv = int(bool(v)) if f.boolean else v & ((1 << a.word_bits) - 1)
        if kv == f.expected:
            res.matched += 1
            continue
        for di, d in enumerate(diffs_applicable):
            if d.fact in (f.group, f.what):
                declared.setdefault(di, []).append((f, kv))
                res.declared += 1
                break
        else:
            res.mismatched += 1
            loc = f.loc
            if f.prot_flags >= 0:
                loc = prot_loc(a, f.prot_flags, kv ^ f.expected)
            elif f.group == "pfn_pte":
                loc = pfn_pte_loc(a, kv ^ f.expected, f.loc)
            bad.setdefault((loc, f.group), []).append((f, kv, how))
    for (loc, group), items in sorted(bad.items(), key=lambda x: (x[0][0], x[0][1])):
        f, kv, how = items[0]
        msg = f"{f.what}: kernel {_fmt(f, kv)}, archdef {_fmt(f, f.expected)}"
        if how:
            msg += f" ({how})"
        if len(items) > 1:
            more = ", ".join(f"{g.what}: kernel {_fmt(g, v)}, archdef {_fmt(g, g.expected)}"
                             for g, v, _ in items[1:SHOW_PER_GROUP])
            msg += f"; also {more}"
            if len(items) > SHOW_PER_GROUP:
                msg += f" (and {len(items) - SHOW_PER_GROUP} more)"
        res.diags.append(Diagnostic(loc, msg))
    for di, d in enumerate(diffs_applicable):
        got = declared.get(di, [])
        if di in gone:
            res.declared_lines.append(f"{d.loc}: {d.fact}: the kernel has no such value in "
                                      f"{d.version} ({gone[di]}) ({d.commit})")
            continue
        if not got:
            res.diags.append(Diagnostic(d.loc, f"kernel_diff {d.fact!r}: declared for "
                                        f"{d.version} but the kernel agrees with the archdef"))
            continue
        f, kv = got[0]
        res.declared_lines.append(
            f"{d.loc}: {d.fact}: {len(got)} value(s) differ in {d.version} "
            f"({d.commit}); e.g. {f.what}: kernel {_fmt(f, kv)}, archdef {_fmt(f, f.expected)}")
    for d in a.kernel_diffs:
        if d not in diffs_applicable:
            res.notes.append(f"{d.loc}: kernel_diff {d.fact!r} is for {d.version}; "
                             f"this tree is {'.'.join(map(str, tree_version))}")
    for g, msg in sorted(absent.items()):
        res.notes.append(f"the kernel has no {facts_group_optional(g)} ({msg}); "
                         f"{g} not compared")
    if unfolded:
        for g in sorted({f.group for f in unfolded}):
            fs = [f for f in unfolded if f.group == g]
            res.notes.append(f"{len(fs)} {g} fact(s) are run-time dependent and do not fold "
                             f"even under the assumptions: {k.cause(g) or 'cause unknown'}; "
                             f"not compared, e.g. {fs[0].what}")
    causes = sorted({g for g in {facts[i].group for i in rt_idx} if k.cause(g)})
    for g in causes:
        res.notes.append(f"{g}: run-time dependent because of {k.cause(g)}")
    if res.runtime:
        if k.assumptions:
            res.notes.append(f"{res.runtime} fact(s) are run-time dependent; compared assuming: "
                             + "; ".join(f"{x.symbol}={x.value}: {x.text}" for x in k.assumptions))
        forced = sorted({f.runtime for f in facts if f.runtime})
        for why in forced:
            res.notes.append(f"run-time dependent: {why}; compared with the static initializer")
    return res


def facts_group_optional(g: str) -> str:
    from .facts import OPTIONAL
    return OPTIONAL.get(g, g)
