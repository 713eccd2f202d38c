"""`make`'s venv step: no ensurepip when the host pip can install into it.

Place in the flow: tests of the Makefile's setup rules (the first ~10 s of
a cold `make`).  The venv is created without its own pip (ensurepip costs
about 3 CPU s) only when $(PYTHON)'s pip can install into another
interpreter (`pip --python`, pip >= 22.3); a host Python without a usable
pip gets the plain venv and its own pip, as before.  Each case runs the
Makefile's venv rule with VENV in tmp_path and checks from outside what it
made (does the venv's interpreter import pip?) or ran.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make_venv(tmp: Path, python: str) -> Path:
    venv = tmp / "venv"
    subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), f"PYTHON={python}",
                    f"VENV={venv}", f"{venv}/bin/python"],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return venv


def has_pip(venv: Path) -> bool:
    r = subprocess.run([str(venv / "bin" / "python"), "-c", "import pip"],
                       capture_output=True, text=True)
    return r.returncode == 0


def host_pip_ok() -> bool:
    try:
        import pip
    except ImportError:
        return False
    major, minor = (int(x) for x in pip.__version__.split(".")[:2])
    return (major, minor) >= (22, 3)


@pytest.mark.skipif(not host_pip_ok(), reason="this Python's pip is older than 22.3")
def test_venv_without_ensurepip_when_the_host_pip_can_install(tmp_path: Path) -> None:
    venv = make_venv(tmp_path, sys.executable)
    assert (venv / "bin" / "python").exists()
    assert not has_pip(venv)     # the install step's host pip puts one in


def test_plain_venv_when_the_host_has_no_pip(tmp_path: Path) -> None:
    # a host Python whose pip does not import (-S: no site-packages); its
    # `-m venv` is recorded, not run (ensurepip would cost ~3 CPU s here)
    log = tmp_path / "venv-args"
    host = tmp_path / "python-without-pip"
    host.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        if [ "$1" = -m ] && [ "$2" = venv ]; then
            echo "$@" > {log}
            for last; do :; done
            mkdir -p "$last/bin" && ln -s {sys.executable} "$last/bin/python"
            exit 0
        fi
        exec {sys.executable} -S "$@"
        """))
    host.chmod(0o755)
    assert subprocess.run([str(host), "-c", "import pip"],
                          capture_output=True).returncode != 0
    make_venv(tmp_path, str(host))
    assert log.read_text().split() == ["-m", "venv", str(tmp_path / "venv")]
