"""`ptdl generate`'s default -j (dsl/generate/cli.py default_jobs): a second
render process only when a core is idle (the output is the same either
way: tests/generate/test_gen_caches.py test_forked_render_is_the_serial_render)."""

from __future__ import annotations

import os

import pytest

from dsl.generate import cli


def _no_load() -> tuple[float, float, float]:
    raise OSError("no load average")


@pytest.mark.parametrize("cpus,load,want", [
    (2, 0.2, 2),      # quiet 2-core machine: fork
    (2, 1.0, 2),      # one core busy, one idle
    (2, 1.6, 1),      # both busy: no fork
    (2, 11.0, 1),     # the shared machine of issue 15's figures
    (8, 3.0, 2),
    (1, 0.0, 1),      # one core: never
    (None, 0.0, 1),   # unknown core count
])
def test_default_jobs_follows_idle_cores(monkeypatch: pytest.MonkeyPatch, cpus: int | None,
                                         load: float, want: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert cli.default_jobs() == want


def test_default_jobs_without_a_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", _no_load)
    assert cli.default_jobs() == 2
