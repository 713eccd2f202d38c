"""`ptdl test`: bring everything up to date, then run the conformance tests.

Place in the flow: registered in dsl/cli.py's COMMANDS.  First
dsl/uptodate.py regenerates generated/ for the archs it runs and rebuilds
the compiled modules (never a stale run); `--no-build` skips that and says
so.  Then dsl/generate/report.py runs pytest on generated/tests and prints
the per-arch summary -- what each arch costs: its tests, the seconds spent
on it (importing its module and running its tests) and their share of the
run -- with a readable account of every failure.
"""

from __future__ import annotations

import argparse
import sys

from .command import Command, root_of
from .uptodate import ensure_up_to_date


def cmd_test(args: argparse.Namespace) -> int:
    from .generate.report import run_conformance
    root = root_of(args)
    if args.no_build:
        print("ptdl test: --no-build: running generated/ and the compiled modules as they "
              "are (they may be stale)")
    else:
        rep = ensure_up_to_date(root, [args.arch] if args.arch else None, prefix="ptdl test")
        if not rep.ok:
            sys.stderr.write(rep.error)
            return 2 if "no arch" in rep.error else 1
    sys.stdout.flush()
    return run_conformance(root, args.arch, args.pytest_args)


def _configure(t: argparse.ArgumentParser) -> None:
    t.add_argument("--arch", metavar="A", help="only this arch (default: every arch)")
    t.add_argument("--no-build", action="store_true",
                   help="do not regenerate or rebuild first; run what is there")
    t.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARG",
                   help="extra arguments for pytest (after --)")


TEST = Command(
    "test", "regenerate and rebuild as needed, then run the conformance tests",
    "Run the generated conformance tests (pytest) and print a per-arch summary:\n"
    "each arch's tests, seconds (its module's import and its tests) and share.\n"
    "First brings generated/ and the mypyc-compiled modules up to date for the\n"
    "archs it runs, printing what it regenerated and rebuilt (never a stale run).\n"
    "Fast edit loop: PTDL_INTERPRETED=1 ptdl test --arch A (regenerates, no\n"
    "compile: the tests load the .py sources).",
    cmd_test, _configure)
