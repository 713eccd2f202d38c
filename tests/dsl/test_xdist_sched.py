"""tests/xdist_sched.py: the default `load` mode becomes work stealing, an
explicit --dist stands, and the root conftest.py answers xdist's hook."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.xdist_sched import dist_given, make_scheduler


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


def test_the_root_conftest_answers_the_hook(request: pytest.FixtureRequest,
                                           monkeypatch: Any) -> None:
    """The hook as xdist's controller calls it (firstresult) reaches the
    root conftest.py first (`pytest -v -n 2` prints "scheduling tests via
    WorkStealingScheduling")."""
    hook = getattr(request.config.hook, "pytest_xdist_make_scheduler", None)
    if hook is None or getattr(hook, "spec", None) is None:      # no xdist hookspec
        pytest.skip("pytest-xdist not loaded (-p no:xdist)")
    import xdist.scheduler

    class Fake:
        def __init__(self, config: Any, log: Any) -> None:
            pass

    monkeypatch.setattr(xdist.scheduler, "WorkStealingScheduling", Fake)
    assert isinstance(hook(config=_config("load", ("-n", "2")), log=None), Fake)
