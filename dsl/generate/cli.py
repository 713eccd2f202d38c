"""CLI commands of the generators: `ptdl generate` and `ptdl test`.

Place in the flow: registered by dsl/cli.py.  `generate` loads and checks
the whole project, renders everything in memory, and writes (or with
`--check`, compares).  `test` runs the generated conformance tests under
pytest and prints a per-arch summary table.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..cli import _root
from ..project import load
from ..source import render as render_diags
from . import writer


def cmd_generate(args: argparse.Namespace) -> int:
    root = _root(args)
    t0 = time.monotonic()
    p = load(root)
    if not p.ok:
        sys.stderr.write(render_diags(p.diags, p.sources))
        sys.stderr.write("ptdl generate: errors in the archdefs; generated/ left as it was\n")
        return 1
    if args.arch is not None and args.arch not in p.archs:
        sys.stderr.write(f"ptdl: error: no arch '{args.arch}' (known: {', '.join(sorted(p.archs))})\n")
        return 2
    try:
        outs = writer.render_all(p.archs, p.decl_files, args.arch)
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
    changed = [o.path for o in outs if writer.write_atomic(root, o)]
    removed = writer.remove_stale(root, p.archs) if args.arch is None else []
    if not args.quiet:
        for path in changed:
            print(f"  wrote {path}")
        for path in removed:
            print(f"  removed stale {path}")
        dt = time.monotonic() - t0
        print(f"ptdl generate: {len(p.archs)} archs, {len(outs)} files, "
              f"{len(changed)} changed, {len(removed)} removed ({dt:.2f} s)")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from .report import run_conformance
    return run_conformance(_root(args), args.arch, args.pytest_args)


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    g = sub.add_parser("generate", help="generate runtime modules, kernel headers and "
                       "conformance tests from the archdefs")
    g.add_argument("--arch", help="only this arch")
    g.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if generated/ is stale or edited by hand")
    g.add_argument("-q", "--quiet", action="store_true")
    g.set_defaults(func=cmd_generate)

    t = sub.add_parser("test", help="run the generated conformance tests (pytest)")
    t.add_argument("--arch", help="only this arch")
    t.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")
    t.set_defaults(func=cmd_test)
