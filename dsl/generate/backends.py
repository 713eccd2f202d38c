"""The explicit registry of backends: which file each one writes, and the
module that renders it.

Place in the flow: dsl/generate/writer.py renders every arch through every
backend listed here, in this order.  A backend is a module with a
`render(arch, source) -> str` function (build a typed view of the model,
render its template).  There is no fallback: a backend whose module fails
to import, or that has no `render`, raises `BackendError` naming it, and
`ptdl generate` (with or without `--check`) fails with that message
instead of quietly producing fewer files.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..model import Arch

Render = Callable[[Arch, str], str]


class BackendError(Exception):
    """A registered backend could not be loaded."""


@dataclass(frozen=True)
class Backend:
    name: str           # the kind of file (the ptdl-gen marker's kind=)
    path: str           # relative to the project root; {arch} is the arch name
    module: str         # the module whose render() produces the text
    checksummed: bool   # C headers end with a checksum line of the rest

    def output_path(self, arch: str) -> str:
        return self.path.format(arch=arch)

    def load(self) -> Render:
        try:
            mod = importlib.import_module(self.module)
        except Exception as e:   # any failure to load is this backend's failure
            raise BackendError(f"backend '{self.name}' ({self.module}) failed to load: "
                               f"{type(e).__name__}: {e}") from e
        render = getattr(mod, "render", None)
        if not callable(render):
            raise BackendError(f"backend '{self.name}' ({self.module}) has no render()")
        out: Render = render
        return out


BACKENDS: tuple[Backend, ...] = (
    Backend("runtime-module", "generated/runtime/{arch}.py", "dsl.generate.pymod", False),
    Backend("kernel-header", "generated/kernel/arch/{arch}/include/asm/pgtable-range.h",
            "dsl.generate.cheader", True),
    Backend("conformance-tests", "generated/tests/test_{arch}_conformance.py",
            "dsl.generate.ctests", False),
)


def backend(name: str) -> Backend:
    for b in BACKENDS:
        if b.name == name:
            return b
    raise BackendError(f"no backend '{name}' (known: {', '.join(b.name for b in BACKENDS)})")


def load_all() -> list[tuple[Backend, Render]]:
    """Every registered backend with its render function, or BackendError."""
    return [(b, b.load()) for b in BACKENDS]
