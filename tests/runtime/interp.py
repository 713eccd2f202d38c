"""Run ``runtime`` interpreted: a meta-path finder that loads
``runtime``, ``runtime.*`` and ``generated.runtime.*`` from their ``.py``
sources even when mypyc's ``.so`` files sit next to them.  Installed by conftest.py when
``PTDL_INTERPRETED=1``; must run before anything imports ``runtime``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Sequence


class SourceOnlyFinder(importlib.abc.MetaPathFinder):
    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not (fullname == "runtime" or fullname.startswith("runtime.")
                or fullname.startswith("generated.runtime.")):
            return None
        parts = fullname.split(".")
        base = os.path.join(self.root, *parts)
        if os.path.isfile(os.path.join(base, "__init__.py")):
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(base, "__init__.py"),
                submodule_search_locations=[base])
        if os.path.isfile(base + ".py"):
            return importlib.util.spec_from_file_location(fullname, base + ".py")
        return None


def install(root: str) -> None:
    if not any(isinstance(f, SourceOnlyFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceOnlyFinder(root))
