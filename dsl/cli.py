"""The `ptdl` command line.

Place in the flow: the user's entry point.  Works on the project in the
current directory or `-C DIR` (which acts like `cd DIR`, as with git -C and
make -C), never on the package's own location.  `main()` computes the
project root once, checks that it is a ptdl project (it has `archdefs/`;
otherwise exit 2 and nothing is done) and passes it to the command as
`args.root`.

Exit codes (contract): 0 ok, 1 diagnostics or failures, 2 usage (bad
arguments, not a project, unknown arch), 130 interrupted.

Adding a subcommand (the registry)
----------------------------------
A subcommand lives in its own module and builds a `dsl.command.Command`:

    # dsl/verify.py
    from .command import Command, root_of

    def _configure(p: argparse.ArgumentParser) -> None:
        p.add_argument("archs", nargs="*", metavar="ARCH", help="archs to verify")

    def _run(args: argparse.Namespace) -> int:
        root = root_of(args)            # validated project root
        ...

    VERIFY = Command("verify", "compare archdefs with a real kernel tree",
                     "Longer description shown by `ptdl verify --help`.",
                     _run, _configure)

then it is registered here with one import and one entry in `COMMANDS`:

    from . import verify
    COMMANDS = (..., verify.VERIFY)

A command that does not need archdefs/ (`kernel setup`) passes
`needs_project=False`.  Nested words (`ptdl kernel setup`) are sub-parsers
the command's `configure` adds itself.  Options get a help text; defaults
are shown by the help formatter.  Commands that run conformance call
`dsl.uptodate.ensure_up_to_date(root, archs)` first (never stale).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

from . import __version__
from .command import Command, load_ok, need_arch, report, root_of, shown, use_color
from .generate import cli as generate_cli
from .project import archdefs_in, load, project_problem
from . import diffcmd, doccmd, testcmd
from .explore import cli as explore_cli
from .verify import cli as verify_cli

EXIT_CODES = """\
exit status:
  0    success (no diagnostics, all tests passed)
  1    diagnostics in the archdefs, failed tests, or stale generated/
  2    usage: bad arguments, not a ptdl project, unknown arch or file
  130  interrupted"""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks; options show their defaults."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        h = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "%(default)" in h:
            return h
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return h + " (default: %(default)s)"
        return h


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"ptdl: error: {message}\n")
        raise SystemExit(2)


# -- the front-end commands ---------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    root = root_of(args)
    # Relative FILEs are taken relative to the project root: -C DIR behaves
    # like running in DIR.  A directory stands for its *.arch files.
    files: list[str] = []
    for f in args.files:
        full = f if os.path.isabs(f) else str((root / f))
        if os.path.isdir(full):
            found = archdefs_in(Path(full))
            if not found:
                sys.stderr.write(f"ptdl: error: {shown(full, root)}: no *.arch files in "
                                 "this directory\n")
                return 2
            files += found
        elif os.path.isfile(full):
            files.append(os.path.normpath(full))
        else:
            sys.stderr.write(f"ptdl: error: {shown(full, root)}: no such file or directory\n")
            return 2
    p = load(root, files or None)
    if p.diags:
        report(p)
        if not p.ok:
            return 1
    if not args.quiet:
        checked = files or p.files
        print(f"ptdl: {len(checked)} file{'s' if len(checked) != 1 else ''}, "
              f"{len(p.archs)} arch{'s' if len(p.archs) != 1 else ''}: no errors")
    return 0


def _check_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("files", nargs="*", metavar="FILE|DIR",
                   help="archdefs to check; a directory stands for its *.arch files "
                   "(default: archdefs/*.arch)")
    c.add_argument("-q", "--quiet", action="store_true", help="print nothing when clean")


def cmd_export(args: argparse.Namespace) -> int:
    from .export import dumps
    p = load_ok(root_of(args))
    if p is None:
        return 1
    if not need_arch(p, args.arch):
        return 2
    sys.stdout.write(dumps(p.archs[args.arch], args.format))
    return 0


def _export_args(e: argparse.ArgumentParser) -> None:
    e.add_argument("arch", metavar="ARCH", help="the arch to export")
    e.add_argument("--format", choices=("json", "yaml"), default="json", help="output format")


def cmd_show(args: argparse.Namespace) -> int:
    from .show import render as show
    root = root_of(args)
    p = load_ok(root)
    if p is None:
        return 1
    if not need_arch(p, args.arch):
        return 2
    a = p.archs[args.arch]
    if args.svg is not None:
        from .svg import render_svg
        from .generate.writer import Output, write_atomic
        dest = (root / args.svg).resolve()
        write_atomic(dest.parent, Output(dest.name, render_svg(a)))
        print(f"ptdl show: wrote {shown(dest, root)}")
        return 0
    text = show(a)
    if args.color:
        from .lexer import highlight_show
        text = highlight_show(text, a)
    sys.stdout.write(text)
    return 0


def _show_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("arch", metavar="ARCH", help="the arch to show")
    s.add_argument("--svg", metavar="FILE",
                   help="write the PTE layout as an SVG bit diagram to FILE instead")


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build
    return build(root_of(args), force=args.force)


def _build_args(b: argparse.ArgumentParser) -> None:
    b.add_argument("--force", action="store_true", help="recompile even if up to date")


def cmd_list(args: argparse.Namespace) -> int:
    from .describe import one_line
    p = load(root_of(args))
    for name in sorted(p.archs):
        print(one_line(p.archs[name]))
    if p.diags:
        report(p)
        return 1 if not p.ok else 0
    return 0


CHECK = Command(
    "check", "parse and check archdefs; print located errors",
    "Parse, resolve and check archdefs.  Every error is printed as\n"
    "PATH:LINE:COL: error: MESSAGE with the source line and a caret; follow-on\n"
    "errors of one cause are left out, near-miss names get \"did you mean\".",
    cmd_check, _check_args)
EXPORT = Command(
    "export", "print the resolved model of ARCH (JSON or YAML)",
    "The resolved model of ARCH (inheritance applied, defaults filled in) as\n"
    "JSON or YAML; the schema is in the README (contract).",
    cmd_export, _export_args)
SHOW = Command(
    "show", "draw ARCH's PTE layout and describe its behaviour",
    "ARCH's PTE layout as a bit diagram with a legend, its caches, TLB and\n"
    "PG_arch_1, and what each of the four calls does, in words.  Colour on a\n"
    "terminal (see --color); --svg FILE writes an SVG bit diagram instead.",
    cmd_show, _show_args)
LIST = Command(
    "list", "one line per arch: layout, caches, TLB, PG_arch_1",
    "One summary line per arch (what `make` prints).", cmd_list)
BUILD = Command(
    "build", "compile runtime/ and generated/runtime/ with mypyc",
    "mypyc-compile runtime/ and generated/runtime/ in place.  A stamp of all\n"
    "inputs makes a second run with nothing changed a no-op.",
    cmd_build, _build_args)

# The registry: one entry per subcommand, in the order `ptdl --help` lists them.
COMMANDS: tuple[Command, ...] = (
    CHECK,
    EXPORT,
    SHOW,
    LIST,
    generate_cli.GENERATE,
    BUILD,
    testcmd.TEST,
    doccmd.DOC,
    diffcmd.DIFF,
    verify_cli.VERIFY,
    verify_cli.KERNEL,
    explore_cli.EXPLORE,
)


def build_parser(commands: tuple[Command, ...] = COMMANDS) -> argparse.ArgumentParser:
    ap = _Parser(prog="ptdl", formatter_class=_Formatter, epilog=EXIT_CODES,
                 description="Page-table description language for the Linux page table "
                 "range API.\nRun from the project root (the directory holding archdefs/) "
                 "or pass -C DIR.")
    ap.add_argument("--version", action="version", version=f"ptdl {__version__}")
    ap.add_argument("-C", dest="directory", default=None, metavar="DIR",
                    help="project root; acts like `cd DIR` (default: the current directory)")
    ap.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                    help="colour terminal output; auto honours NO_COLOR and needs a tty")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for c in commands:
        p = sub.add_parser(c.name, help=c.help, description=c.description,
                           formatter_class=_Formatter, epilog=EXIT_CODES)
        c.configure(p)
        p.add_argument("--color", choices=("auto", "always", "never"), default=argparse.SUPPRESS,
                       help="as `ptdl --color` (default: auto)")
        p.set_defaults(func=c.run, needs_project=c.needs_project)
    return ap


def _project_root(args: argparse.Namespace) -> Path | None:
    """The validated root, or None after printing why (exit 2)."""
    given = args.directory
    root = Path(given if given is not None else os.getcwd()).resolve()
    shown_dir = given if given is not None else str(root)
    if not root.is_dir():
        sys.stderr.write(f"ptdl: error: -C {given}: not a directory\n")
        return None
    if args.needs_project:
        why = project_problem(root)
        if why is not None:
            sys.stderr.write(f"ptdl: {shown_dir} is not a ptdl project ({why}); "
                             "run from the project root or pass -C\n")
            return None
    return root


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    root = _project_root(args)
    if root is None:
        return 2
    args.root = root
    args.color = use_color(args.color)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("ptdl: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
