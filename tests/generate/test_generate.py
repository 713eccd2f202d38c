"""`ptdl generate`: up to date, deterministic, atomic, and hand edits caught.

These run the CLI in this process (tests/ptdl_runner.py, no traceback
allowed) on the project and on throw-away copies of it; the real `ptdl` process, its exit statuses and
`generate --check`, are tested in tests/dsl/test_cli.py and
test_never_stale.py.  The hand edits and the removed arch share one copy
and one `generate --check`: each must be reported on its own line, and
nothing else.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsl.generate import common
from gen_util import project, rendered
from tests.ptdl_runner import run_ptdl_checked

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(ROOT / "archdefs", dest / "archdefs")
    shutil.copytree(ROOT / "generated", dest / "generated",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    return dest


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / "generated").rglob("*"))
            if p.is_file() and p.suffix in (".py", ".h")}


def ptdl_in(*args: str) -> tuple[int, str, str]:
    """`ptdl ARGS` (with -C in ARGS) run in this process by the shared runner
    (tests/ptdl_runner.py: no colour, no traceback): status, stdout, stderr."""
    return run_ptdl_checked(*args, cwd=ROOT, root=None)


def test_committed_generated_tree_is_up_to_date() -> None:
    rc, out, err = ptdl_in("-C", str(ROOT), "generate", "--check")
    assert rc == 0, err
    assert "up to date" in out


def test_generation_is_deterministic(copy: Path) -> None:
    """Twice in one process (no state carried from one run to the next),
    and equal to the committed tree, which another process wrote (another
    hash seed)."""
    before = tree(copy)
    assert ptdl_in("-C", str(copy), "generate", "-q")[0] == 0
    first = tree(copy)
    assert ptdl_in("-C", str(copy), "generate", "-q")[0] == 0
    assert tree(copy) == first
    assert first == before  # the committed tree is what the archdefs produce


# One project copy carries every hand edit below and a removed arch (s390);
# one `generate --check` must report each of them on its own line, naming
# the file, and nothing else; then one `generate` removes the stale files.
# Each test asserts its own edit on that shared run.
STALE_ARCH = "s390"


@dataclass
class Edited:
    root: Path
    victims: dict[str, str]          # what was edited -> its path
    check: tuple[int, str, str]      # generate --check: rc, stdout, stderr
    write: tuple[int, str, str]      # then generate


def _first(files: list[str], prefix: str, suffix: str = "") -> str:
    got = [p for p in files if p.startswith(prefix) and p.endswith(suffix)
           and not p.endswith("__init__.py")
           and f"/{STALE_ARCH}/" not in p and f"_{STALE_ARCH}_" not in p
           and not p.endswith(f"/{STALE_ARCH}.py")]
    assert got, f"no {prefix}*{suffix} files"
    return got[0]


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Edited:
    root = tmp_path_factory.mktemp("edited") / "proj"
    shutil.copytree(ROOT / "archdefs", root / "archdefs")
    shutil.copytree(ROOT / "generated", root / "generated",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    files = list(tree(root))
    victims = {kind: _first(files, f"generated/{kind}/") for kind in KINDS}
    for path in victims.values():            # a hand edit: one more line
        victim = root / path
        victim.write_text(victim.read_text() + "\n", encoding="utf-8")
    # a header edit that keeps the layout (another header than the kernel kind's)
    headers = [p for p in files if p.endswith(".h") and p != victims["kernel"]
               and f"/{STALE_ARCH}/" not in p]
    assert headers, "no headers generated"
    h = root / headers[0]
    text = h.read_text()
    assert common.verify_checksum(text)
    h.write_text(text.replace("static inline", "static  inline", 1))
    victims["layout"] = headers[0]
    (root / "archdefs" / f"{STALE_ARCH}.arch").unlink()
    check = ptdl_in("-C", str(root), "generate", "--check")
    write = ptdl_in("-C", str(root), "generate")
    return Edited(root, victims, check, write)


KINDS = ["runtime", "kernel", "tests"]


def _problems(err: str) -> dict[str, str]:
    """generate --check's problem lines, by path."""
    pre = "ptdl generate --check: "
    out: dict[str, str] = {}
    for line in err.splitlines():
        if line.startswith(pre + "generated/"):
            path, _, why = line[len(pre):].partition(": ")
            if " " in path:                  # the closing "generated/ is stale" line
                continue
            assert path not in out, line
            out[path] = why
    return out


def test_check_reports_exactly_the_edited_and_stale_files(edited: Edited) -> None:
    rc, _, err = edited.check
    assert rc == 1
    stale = {p for p in _problems(err) if STALE_ARCH in p}
    assert set(_problems(err)) - stale == set(edited.victims.values()), err
    assert "generated/ is stale; run `ptdl generate`" in err


@pytest.mark.parametrize("kind", KINDS)
def test_hand_edit_of_any_generated_file_fails_check(edited: Edited, kind: str) -> None:
    rc, _, err = edited.check
    assert rc == 1
    assert edited.victims[kind] in _problems(err), err


def test_header_checksum_detects_edit_that_keeps_layout(edited: Edited) -> None:
    rc, _, err = edited.check
    assert rc == 1
    assert _problems(err)[edited.victims["layout"]].startswith("checksum does not match"), err


def test_failing_archdef_leaves_generated_untouched(copy: Path) -> None:
    before = tree(copy)
    (copy / "archdefs" / "x86.arch").write_text(
        (copy / "archdefs" / "x86.arch").read_text().replace("pfn  12..51 : pfn", "pfn 52..12 : pfn"))
    rc, _, err = ptdl_in("-C", str(copy), "generate")
    assert rc == 1
    assert "archdefs/x86.arch:" in err and "is reversed" in err
    assert "generated/ left as it was" in err
    assert tree(copy) == before
    assert not list((copy / "generated").rglob("*.tmp"))


def test_stale_files_of_a_removed_arch_are_reported_then_removed(edited: Edited) -> None:
    rc, _, err = edited.check
    assert rc == 1
    assert _problems(edited.check[2])[f"generated/runtime/{STALE_ARCH}.py"].startswith("stale")
    rc, out, err = edited.write
    assert rc == 0, err
    assert f"removed stale generated/runtime/{STALE_ARCH}.py" in out
    assert not (edited.root / "generated" / "runtime" / f"{STALE_ARCH}.py").exists()
    # and the hand-edited files are written back as the archdefs produce them
    for path in edited.victims.values():
        assert f"wrote {path}" in out, out
        assert (edited.root / path).read_bytes() == (ROOT / path).read_bytes(), path


def test_checksum_helpers() -> None:
    body = "/* x */\nint a;\n"
    text = common.with_checksum(body)
    assert text.splitlines()[-1] == common.CHECKSUM_PREFIX + common.checksum(body)
    assert common.verify_checksum(text)
    assert not common.verify_checksum(text.replace("int a", "int b"))
    assert not common.verify_checksum(body)


def test_identifiers_are_guarded() -> None:
    assert common.ident("arm64_64k") == "arm64_64k"
    for bad in ("x; import os", "a-b", "", "1x", "a\nb"):
        with pytest.raises(ValueError):
            common.ident(bad)
    assert "*/" not in common.c_comment("evil */ code /* here")
    assert "\n" not in common.py_comment("line\nbreak")


def test_every_arch_renders_all_contract_paths() -> None:
    p = project()
    assert p.ok
    paths = {o.path for o in rendered()}
    for name in p.archs:
        assert f"generated/runtime/{name}.py" in paths


def test_generated_modules_are_compiled() -> None:
    if os.environ.get("PTDL_INTERPRETED") == "1":
        pytest.skip("interpreted run requested")
    import importlib
    p = project()
    for name in sorted(p.archs):
        mod = importlib.import_module(f"generated.runtime.{name}")
        assert mod.__file__ is not None and mod.__file__.endswith(".so"), mod.__file__
