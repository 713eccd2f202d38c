"""Pieces of the typed views shared by every backend.

Place in the flow: each backend builds a view (frozen dataclasses) of one
resolved dsl.model.Arch and renders its template with it; the banner and
the `ptdl-gen:` marker (as YNL's YNL-GEN line: the generator's inputs and
how to regenerate) are the same for all three kinds of file and rendered
by the one macro `banner` of dsl/templates/common.j2.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Arch

GENERATOR_VERSION = "1"

KINDS = ("runtime-module", "kernel-header", "conformance-tests")


def marker(arch: str, source: str, kind: str) -> str:
    return (f"ptdl-gen: kind={kind} arch={arch} input={source} "
            f"generator={GENERATOR_VERSION} regenerate='ptdl generate --arch {arch}'")


@dataclass(frozen=True)
class Banner:
    arch: str
    source: str
    kind: str
    marker: str
    cite_groups: tuple[tuple[str, tuple[str, ...]], ...]   # (title, texts), non-empty


def banner(a: Arch, source: str, kind: str) -> Banner:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of generated file {kind!r}")
    groups: list[tuple[str, tuple[str, ...]]] = []
    for ck, title in (("source", "Kernel sources:"), ("seed", "Seed patches:")):
        texts = tuple(c.text for c in a.cites if c.kind == ck)
        if texts:
            groups.append((title, texts))
    return Banner(a.name, source, kind, marker(a.name, source, kind), tuple(groups))
