"""Project-wide pytest set-up, for every test path (tests/ and
generated/tests/): the xdist scheduler is work stealing unless --dist is
given (tests/xdist_sched.py says why).  Everything else lives in the
conftest.py of each test directory."""

from __future__ import annotations

from typing import Any

import pytest

from tests.xdist_sched import make_scheduler


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return make_scheduler(config, log)
