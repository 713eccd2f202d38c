"""CLI command of the generators: `ptdl generate`.

Place in the flow: registered in dsl/cli.py's COMMANDS (as `GENERATE`).
`generate` loads and checks the whole project and the scenario files,
renders everything in memory, and writes all or nothing (or with
`--check`, compares).  (`ptdl test` is
dsl/testcmd.py.)
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

from ..command import Command, root_of as _root


def cmd_generate(args: argparse.Namespace) -> int:
    root = _root(args)
    t0 = time.monotonic()
    # A bounded batch that makes many short-lived objects and few cycles:
    # the cyclic collector only costs time here (refcounting frees them).
    gc.disable()
    try:
        return _generate(args, root, t0)
    finally:
        gc.enable()


def _generate(args: argparse.Namespace, root: Path, t0: float) -> int:
    # Imported here, not at the top: every `ptdl` command imports this
    # module for its registry entry, and only `generate` needs the backends.
    from ..project import load
    from ..source import render as render_diags
    from . import writer
    p = load(root)
    if not p.ok:
        sys.stderr.write(render_diags(p.diags, p.sources))
        sys.stderr.write("ptdl generate: errors in the archdefs; generated/ left as it was\n")
        return 1
    if args.arch is not None and args.arch not in p.archs:
        sys.stderr.write(f"ptdl: error: no arch '{args.arch}' (known: {', '.join(sorted(p.archs))})\n")
        return 2
    from . import scenarios
    try:
        # One reading of the scenario files, checked before anything is
        # rendered, serves every backend and arch.
        with scenarios.frozen():
            scenarios.check()
            outs = writer.render_all(p.archs, p.decl_files, args.arch,
                                     jobs=args.jobs if args.jobs is not None else default_jobs())
    except scenarios.ScenarioError as e:
        sys.stderr.write(e.render())
        sys.stderr.write("ptdl generate: errors in the scenario files; generated/ left as it was\n")
        return 1
    except writer.BackendError as e:
        sys.stderr.write(f"ptdl generate: error: {e}\n")
        sys.stderr.write("ptdl generate: nothing written or checked\n")
        return 1
    if args.check:
        problems = writer.check_tree(root, outs, p.archs, args.arch)
        for line in problems:
            sys.stderr.write(f"ptdl generate --check: {line}\n")
        if problems:
            sys.stderr.write("ptdl generate --check: generated/ is stale; run `ptdl generate`\n")
            return 1
        if not args.quiet:
            print(f"ptdl generate --check: {len(outs)} files up to date")
        return 0
    try:
        changed = writer.write_all(root, outs)
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        sys.stderr.write(f"ptdl generate: error: cannot write{where}: {e.strerror or e}\n")
        sys.stderr.write("ptdl generate: nothing written; generated/ left as it was\n")
        return 1
    try:
        removed = writer.remove_stale(root, p.archs) if args.arch is None else []
    except OSError as e:
        sys.stderr.write(f"ptdl generate: error: cannot remove stale {e.filename}: "
                         f"{e.strerror or e}\n")
        return 1
    if not args.quiet:
        for path in changed:
            print(f"  wrote {path}")
        for path in removed:
            print(f"  removed stale {path}")
        dt = time.monotonic() - t0
        print(f"ptdl generate: {len(p.archs)} archs, {len(outs)} files, "
              f"{len(changed)} changed, {len(removed)} removed ({dt:.2f} s)")
    return 0


def default_jobs() -> int:
    """2 render processes when a core is idle, else 1.  The second process
    (a fork rendering every other arch) shortens the run only if it gets a
    core of its own; on a busy machine it adds the fork and the pickled
    result (about 8 % more CPU) and no speed (at a load of 11 on 2 cores:
    -j2 1.32 s, -j1 1.23 s median wall)."""
    cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    try:
        load = os.getloadavg()[0]
    except OSError:          # no load average on this system: assume idle
        return 2
    return 2 if load <= cpus - 1 else 1


def _configure(g: argparse.ArgumentParser) -> None:
    g.add_argument("--arch", help="only this arch")
    g.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if generated/ is stale or edited by hand")
    g.add_argument("-j", "--jobs", type=int, default=None,
                   help="processes rendering at once (the output is the same; default 2 "
                        "when a core is idle, else 1)")
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


GENERATE = Command(
    "generate", "generate runtime modules, kernel headers and conformance tests",
    "Render generated/ from the archdefs: the runtime module, the kernel header and\n"
    "the conformance tests of every arch.  Nothing is written if any archdef has an\n"
    "error; files are replaced atomically; stale files of removed archs go.",
    cmd_generate, _configure)
