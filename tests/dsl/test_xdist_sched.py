"""tests/xdist_sched.py: the default `load` mode becomes work stealing, an
explicit --dist stands, and a real `pytest -n 2` run says which scheduler
it used."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from tests.xdist_sched import dist_given, make_scheduler

from frontend_util import ROOT


def _config(dist: str, args: tuple[str, ...]) -> Any:
    return SimpleNamespace(getvalue=lambda name: dist if name == "dist" else None,
                           invocation_params=SimpleNamespace(args=args))


def test_default_load_becomes_worksteal(monkeypatch: Any) -> None:
    import xdist.scheduler
    made: list[tuple[Any, Any]] = []

    class Fake:
        def __init__(self, config: Any, log: Any) -> None:
            made.append((config, log))

    monkeypatch.setattr(xdist.scheduler, "WorkStealingScheduling", Fake)
    cfg = _config("load", ("-n", "2"))
    assert isinstance(make_scheduler(cfg, "log"), Fake) and made == [(cfg, "log")]
    assert make_scheduler(_config("load", ("-n", "2", "--dist", "load")), "log") is None
    assert make_scheduler(_config("load", ("-n2", "--dist=load")), "log") is None
    assert make_scheduler(_config("loadfile", ("-n", "2")), "log") is None
    assert make_scheduler(_config("no", ()), "log") is None
    assert dist_given(["--dist", "each"]) and not dist_given(["-n", "2", "tests"])


def test_a_real_run_steals_work() -> None:
    r = subprocess.run([sys.executable, "-m", "pytest", "-v", "-n", "2", "-p", "no:cacheprovider",
                        "tests/dsl/test_xdist_sched.py::test_default_load_becomes_worksteal"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "scheduling tests via WorkStealingScheduling" in r.stdout, r.stdout
