"""The `ptdl` command line.

Place in the flow: the user's entry point.  Works on the project in the
current directory or `-C DIR` (never on the package's own location).
Exit codes (contract): 0 ok, 1 diagnostics or failures, 2 usage.
Subcommands: check, export, show, generate, build, test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .project import Project, load
from .source import render


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"ptdl: error: {message}\n")
        raise SystemExit(2)


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.directory).resolve()
    if not root.is_dir():
        sys.stderr.write(f"ptdl: error: -C {args.directory}: not a directory\n")
        raise SystemExit(2)
    return root


def _report(p: Project) -> None:
    text = render(p.diags, p.sources)
    if text:
        sys.stderr.write(text)
        n = len(p.diags)
        sys.stderr.write(f"{n} error{'s' if n != 1 else ''}\n")


def _load_ok(root: Path, files: list[str] | None = None) -> Project | None:
    p = load(root, files)
    if not p.ok:
        _report(p)
        return None
    return p


def _need_arch(p: Project, name: str) -> bool:
    if name not in p.archs:
        known = ", ".join(sorted(p.archs)) or "none"
        sys.stderr.write(f"ptdl: error: no arch '{name}' (known: {known})\n")
        return False
    return True


def cmd_check(args: argparse.Namespace) -> int:
    root = _root(args)
    # Relative FILEs are taken relative to the project root, as with
    # `git -C` / `make -C`: -C DIR behaves like running in DIR.
    files = [f if Path(f).is_absolute() else str((root / f).resolve()) for f in args.files]
    for f in files:
        if not Path(f).is_file():
            sys.stderr.write(f"ptdl: error: {f}: no such file\n")
            return 2
    p = load(root, files or None)
    if p.diags:
        _report(p)
        return 1
    if not args.quiet:
        checked = files or p.files
        print(f"ptdl: {len(checked)} file{'s' if len(checked) != 1 else ''}, "
              f"{len(p.archs)} arch{'s' if len(p.archs) != 1 else ''}: no errors")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import dumps
    p = _load_ok(_root(args))
    if p is None:
        return 1
    if not _need_arch(p, args.arch):
        return 2
    sys.stdout.write(dumps(p.archs[args.arch], args.format))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .show import render as show
    p = _load_ok(_root(args))
    if p is None:
        return 1
    if not _need_arch(p, args.arch):
        return 2
    sys.stdout.write(show(p.archs[args.arch]))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build
    return build(_root(args), force=args.force)


def cmd_list(args: argparse.Namespace) -> int:
    from .describe import one_line
    p = load(_root(args))
    for name in sorted(p.archs):
        print(one_line(p.archs[name]))
    if p.diags:
        _report(p)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="ptdl", description="Page-table description language for the "
                 "Linux page table range API.")
    ap.add_argument("-C", dest="directory", default=".", metavar="DIR",
                    help="project root (default: the current directory)")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    c = sub.add_parser("check", help="parse and check archdefs; print located errors")
    c.add_argument("files", nargs="*", metavar="FILE",
                   help="archdefs to check (default: archdefs/*.arch)")
    c.add_argument("-q", "--quiet", action="store_true", help="print nothing when clean")
    c.set_defaults(func=cmd_check)

    e = sub.add_parser("export", help="print the resolved model of ARCH")
    e.add_argument("arch")
    e.add_argument("--format", choices=("json", "yaml"), default="json")
    e.set_defaults(func=cmd_export)

    s = sub.add_parser("show", help="draw ARCH's PTE layout and describe its behaviour")
    s.add_argument("arch")
    s.set_defaults(func=cmd_show)

    b = sub.add_parser("build", help="compile runtime/ and generated/runtime/ with mypyc")
    b.add_argument("--force", action="store_true", help="recompile even if up to date")
    b.set_defaults(func=cmd_build)

    ls = sub.add_parser("list", help="one line per arch: layout, caches, TLB, PG_arch_1")
    ls.set_defaults(func=cmd_list)

    _extra_commands(sub)
    from .verify.cli import register as register_verify   # ptdl verify, ptdl kernel
    register_verify(sub)
    from .explore.cli import register as register_explore    # ptdl explore (dsl/explore)
    register_explore(sub)
    return ap


def _extra_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Commands that live with the generators (added when they exist)."""
    try:
        from .generate.cli import add_commands
    except ImportError:
        return
    add_commands(sub)


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
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
