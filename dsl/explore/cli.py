"""``ptdl explore``: the subcommand (registered by dsl/cli.py).

Place in the flow: parses the options, loads each arch's generated
runtime module from the project, runs ``search.Explorer``, replays each
finding on the C header (``creplay``), writes the scenarios
(``scenario.write``) and prints the report; ``--replay FILE`` reruns an
``explored`` scenario file instead.

Exit codes: 0 no new violation (known findings and model gaps are
reported but do not fail), 1 violations found, 2 usage.
Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

from ..command import Command, root_of

import argparse
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsl.project import Project
    from runtime.arch import Arch


class UsageError(Exception):
    pass


def _configure(e: argparse.ArgumentParser) -> None:
    e.add_argument("--arch", action="append", default=[], metavar="A",
                   help="arch to explore (repeatable; default: every arch)")
    e.add_argument("--cpu", metavar="F,...", default=None,
                   help="CPU features to enable ('-' for none; default: every combination)")
    g = e.add_mutually_exclusive_group()
    g.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="search time per arch (default 10)")
    g.add_argument("--runs", type=int, default=None, metavar="N",
                   help="number of sequences per arch (fully deterministic)")
    e.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    e.add_argument("--max-len", type=int, default=40, metavar="N",
                   help="longest sequence, in steps (default 40)")
    e.add_argument("--out", default="explored", metavar="DIR",
                   help="where scenarios, traces and the summary go (default: explored/)")
    e.add_argument("--no-c", action="store_true", help="do not replay findings on the C header")
    e.add_argument("--replay", metavar="FILE", default=None,
                   help="rerun an explored scenario file instead of searching")



# ---------------------------------------------------------------------------


def load_arch(root: Path, name: str) -> Arch:
    """The generated runtime module of ``name`` in project ``root``: the
    compiled one when ``root`` is this checkout, else its .py source."""
    path = root / "generated" / "runtime" / ("%s.py" % name)
    if not path.exists():
        raise UsageError("no generated/runtime/%s.py (run `ptdl generate`)" % name)
    import runtime
    here = Path(runtime.__file__).resolve().parent.parent
    if here == root:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        mod: ModuleType = importlib.import_module("generated.runtime." + name)
    else:
        modname = "ptdl_explore_%s" % name
        spec = importlib.util.spec_from_file_location(modname, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
    from runtime.arch import Arch as ArchBase
    arch = getattr(mod, "ARCH", None)
    if not isinstance(arch, ArchBase):
        raise UsageError("generated/runtime/%s.py has no ARCH" % name)
    return arch


def _arch_names(root: Path, wanted: list[str], p: Project | None = None) -> list[str]:
    from dsl.project import load
    if p is None:
        p = load(root)
    if not p.ok:
        raise UsageError("the archdefs have errors (run `ptdl check`)")
    names = sorted(p.archs)
    for w in wanted:
        if w not in names:
            raise UsageError("no arch '%s' (known: %s)" % (w, ", ".join(names)))
    return wanted or names


def _cpus(arch: Arch, spec: str | None) -> list[frozenset[str]]:
    from runtime.conformance import cpu_combinations
    if spec is None:
        return [frozenset(c) for c in cpu_combinations(arch.cpu_features)]
    feats = [] if spec.strip() in ("", "-", "none") else [f.strip() for f in spec.split(",")]
    for f in feats:
        if f not in arch.cpu_features:
            raise UsageError("%s: unknown cpu feature '%s' (known: %s)"
                             % (arch.name, f, ", ".join(arch.cpu_features) or "none"))
    return [frozenset(feats)]


def cmd_explore(args: argparse.Namespace) -> int:
    # mypyc's shared group module sits next to runtime/ at the package root
    pkg = str(Path(__file__).resolve().parents[2])
    if pkg not in sys.path:
        sys.path.insert(0, pkg)
    try:
        root = root_of(args)
        if args.replay is not None:
            return _replay(root, args)
    except UsageError as e:
        sys.stderr.write("ptdl explore: error: %s\n" % e)
        return 2
    try:
        if args.runs is not None and args.runs < 1:
            raise UsageError("--runs must be at least 1")
        if args.budget is not None and args.budget <= 0:
            raise UsageError("--budget must be positive")
        if args.max_len < 1:
            raise UsageError("--max-len must be at least 1")
        from dsl.project import load
        project = load(root)        # once: the arch names and every C replay read it
        names = _arch_names(root, args.arch, project)
        archs = [load_arch(root, n) for n in names]
        plans = [(a, _cpus(a, args.cpu)) for a in archs]
    except UsageError as e:
        sys.stderr.write("ptdl explore: error: %s\n" % e)
        return 2
    return _search(root, args, plans, project)


def _search(root: Path, args: argparse.Namespace,
            plans: list[tuple[Arch, list[frozenset[str]]]],
            project: Project | None = None) -> int:
    from . import known, scenario
    from .creplay import replay
    from .search import ARCH_CALLS, Explorer
    from .world import World
    from .actions import ACTIONS
    docs = known.documented()

    def classify(w: World, v: Any) -> str:
        return known.classify(w, v, docs)

    out_dir = str(root / args.out) if not os.path.isabs(args.out) else args.out
    budget = 10.0 if args.budget is None else args.budget
    runs = 0 if args.runs is None else args.runs
    summary: list[dict[str, Any]] = []
    new = 0
    for arch, cpus in plans:
        ex = Explorer(arch, cpus, seed=args.seed, budget=budget, runs=runs,
                      max_len=args.max_len, known=classify)
        findings = ex.explore()
        st = ex.stats
        print("ptdl explore: %s: %d sequences, %d steps, %d violating sequences, "
              "%d distinct (%d new, %d known)"
              % (arch.name, st.sequences, st.steps, st.violations, len(findings),
                 sum(1 for f in findings if not f.known),
                 sum(1 for f in findings if f.known)))
        for f in findings:
            if not args.no_c:
                f.c_replay = replay(root, arch, frozenset(f.cpu), f.colour, f.steps,
                                    project=project)
            path = scenario.write(f, out_dir, arch)
            rel = os.path.relpath(path, str(root)) if path.startswith(str(root)) else path
            v = f.violation
            print("  %-8s %-22s cpu=%-24s %5.1fs %2d steps  %s"
                  % (("gap" if known.is_model_gap(f.known) else "known") if f.known else "NEW",
                     f.check, ",".join(f.cpu) or "-",
                     f.elapsed, len(f.steps), rel))
            print("           at %s: expected %s, saw %s" % (v.where, v.expected, v.seen))
            if f.known:
                print("           %s" % f.known)
            if f.c_replay:
                print("           C replay: %s" % f.c_replay)
            if not f.known:
                new += 1
            summary.append({"arch": f.arch, "cpu": list(f.cpu), "check": f.check,
                            "known": f.known, "model_gap": known.is_model_gap(f.known),
                            "seconds": round(f.elapsed, 3),
                            "steps": len(f.steps), "original_steps": f.original_len,
                            "sequence": f.sequence, "scenario": rel,
                            "c_replay": f.c_replay, "where": v.where})
        # coverage: actions x arch calls
        print("  coverage (steps run per action; arch calls made from it):")
        for op in ACTIONS:
            cells = ["%s=%d" % (c, st.coverage.get((op, c), 0)) for c in ARCH_CALLS
                     if st.coverage.get((op, c), 0)]
            print("    %-12s %6d  %s" % (op, st.actions.get(op, 0), " ".join(cells) or "-"))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "explore-summary.json"), "w", encoding="utf-8") as fh:
        json.dump({"seed": args.seed, "budget": budget, "runs": runs, "findings": summary},
                  fh, indent=1, sort_keys=True)
        fh.write("\n")
    return 1 if new else 0


def _replay(root: Path, args: argparse.Namespace) -> int:
    from . import known, scenario
    from .creplay import replay
    try:
        scs = scenario.load(args.replay)
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None
    docs = known.documented()
    bad = 0
    project: Project | None = None      # loaded once, at the first scenario
    for sc in scs:
        name = args.arch[0] if args.arch else str(scenario.found(sc).get("arch", ""))
        if not name:
            raise UsageError("%s: no arch (give --arch)" % sc.name)
        if project is None:
            from dsl.project import load
            project = load(root)
        _arch_names(root, [name], project)
        arch = load_arch(root, name)
        raw = sc.params.get("cpu") or []
        if args.cpu is not None or name != scenario.found(sc).get("arch"):
            cpus = _cpus(arch, args.cpu)      # another arch: every combination
        else:
            cpus = [frozenset(str(x) for x in raw) if isinstance(raw, list) else frozenset()]
        for cpu in cpus:
            for feat in cpu:
                if feat not in arch.cpu_features:
                    raise UsageError("%s: unknown cpu feature '%s'" % (arch.name, feat))
            o = scenario.run_scenario(arch, cpu, sc)
            label = "%s on %s cpu=%s" % (sc.name, arch.name, ",".join(sorted(cpu)) or "-")
            if not o.violations:
                print("%s: ok (%d steps)" % (label, len(o.steps)))
            for v in o.violations:
                why = known.classify(o.world, v, docs)
                print("%s: %s %s at step %d (%s): at %s: expected %s, saw %s"
                      % (label, "known" if why else "VIOLATION", v.check, o.failed_at + 1,
                         o.steps[o.failed_at].text(), v.where, v.expected, v.seen))
                if why:
                    print("  %s" % why)
                else:
                    bad += 1
            if not args.no_c:
                print("  C replay: %s" % replay(root, arch, cpu, scenario.colour(sc),
                                               scenario.steps(sc), project=project))
    return 1 if bad else 0


EXPLORE = Command(
    "explore", "search sequences of kernel and user actions for violations; shrink them "
    "and write them as scenarios",
    "Seeded search over sequences of kernel and user actions (mmap, faults,\n"
    "fault-around, write(2), fork, truncate, migration, ...) on a small machine,\n"
    "checking the oracle's invariants after every step; violations are shrunk\n"
    "and written out as `explored` scenarios (YAML + trace).",
    cmd_explore, _configure)
