"""Issue 16, items 2 and 5: CLI conventions.  `--version`; every
subcommand's --help has a description, shows defaults and the exit codes;
directory arguments expand to their *.arch; paths in messages are relative
to the (effective) current directory; generated files get the umask's
modes; the registry is what `ptdl --help` lists."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import dsl
from dsl.cli import COMMANDS, build_parser
from frontend_util import FIXTURES, ROOT, run_ptdl


def test_version() -> None:
    r = run_ptdl("--version", cwd="/", root=None)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"ptdl {dsl.__version__}\n", "")


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_every_subcommand_help(name: str) -> None:
    r = run_ptdl(name, "--help", cwd="/", root=None)   # help needs no project
    assert r.returncode == 0, r.stderr
    cmd = next(c for c in COMMANDS if c.name == name)
    first_desc_line = cmd.description.splitlines()[0]
    assert first_desc_line in r.stdout
    assert "exit status:" in r.stdout and "2    usage" in r.stdout
    assert "(default: auto)" in r.stdout        # --color, on every subcommand
    for action in build_parser()._subparsers._group_actions[0].choices[name]._actions:  # type: ignore[union-attr]
        if action.help and action.default not in (None, False, [], "==SUPPRESS==") \
                and action.option_strings:
            assert f"(default: {action.default})" in r.stdout, (name, action.dest)


def test_top_level_help_lists_the_registry() -> None:
    r = run_ptdl("--help", cwd="/", root=None)
    assert r.returncode == 0
    for c in COMMANDS:
        assert f"    {c.name}" in r.stdout and c.help in r.stdout.replace("\n" + " " * 24, " ")
    assert "exit status:" in r.stdout


def test_registry_accepts_a_new_command() -> None:
    """What another module does: build a Command, add one entry."""
    import argparse
    from dsl.command import Command, root_of
    seen: list[Path] = []

    def run(args: argparse.Namespace) -> int:
        seen.append(root_of(args))
        return 0

    extra = Command("hello", "say hello", "Says hello.", run,
                    lambda p: p.add_argument("--loud", action="store_true", help="loudly"))
    ap = build_parser(COMMANDS + (extra,))
    args = ap.parse_args(["hello", "--loud"])
    args.root = ROOT
    assert args.func(args) == 0 and seen == [ROOT] and args.loud


def test_check_directory_argument(tmp_path: Path) -> None:
    r = run_ptdl("check", "archdefs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    n = len(list((ROOT / "archdefs").glob("*.arch")))
    assert r.stdout.startswith(f"ptdl: {n} files, ")
    d = tmp_path / "defs"
    d.mkdir()
    shutil.copy(FIXTURES / "overlap.arch", d)
    shutil.copy(FIXTURES / "unknown_role.arch", d)
    r = run_ptdl("check", str(d), cwd=tmp_path)
    assert r.returncode == 1
    assert f"{d}/overlap.arch:" in r.stderr and f"{d}/unknown_role.arch:" in r.stderr
    empty = tmp_path / "none"
    empty.mkdir()
    r = run_ptdl("check", str(empty), cwd=tmp_path)
    assert r.returncode == 2 and "no *.arch files in this directory" in r.stderr


def test_messages_use_relative_paths() -> None:
    """Inside the project, every path is relative to the root, however it was given."""
    r = run_ptdl("check", str(FIXTURES / "overlap.arch"), cwd="/")
    assert r.returncode == 1
    assert str(ROOT) not in r.stderr
    r = run_ptdl("check", str(ROOT / "no" / "such.arch"), cwd="/")
    assert r.returncode == 2
    assert r.stderr == "ptdl: error: no/such.arch: no such file or directory\n"
    r = run_ptdl("check", "tests/fixtures/check", cwd=ROOT, root=None)
    assert r.returncode == 1 and str(ROOT) not in r.stderr


def test_generated_files_follow_the_umask(tmp_path: Path) -> None:
    from dsl.generate.writer import Output, write_atomic
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path, Output("a/b.py", "x = 1\n"))
        assert stat.S_IMODE((tmp_path / "a" / "b.py").stat().st_mode) == 0o644
        os.umask(0o077)
        write_atomic(tmp_path, Output("a/c.py", "x = 1\n"))
        assert stat.S_IMODE((tmp_path / "a" / "c.py").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_show_svg_into_missing_directory_is_clean(tmp_path: Path) -> None:
    r = run_ptdl("show", "x86", "--svg", str(tmp_path / "sub" / "x.svg"), cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "sub" / "x.svg").exists()
