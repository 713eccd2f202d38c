"""Helpers shared by the backends and writer.py: checksums, and the
identifier / comment guards (defined in templating.py, where the templates'
filters use them).

Place in the flow: used by writer.py (checksum lines), charness.py and the
tests.  A generated file starts with an SPDX line and a banner naming its
archdef and carries a `ptdl-gen:` marker line naming the generator inputs
(dsl/templates/common.j2, dsl/generate/view.py); C headers end with a
checksum line over everything before it (as scripts/atomic's headers do),
which `ptdl generate --check` verifies to catch hand edits.
"""

from __future__ import annotations

import hashlib

from .templating import c_comment, ident, py_comment
from .view import GENERATOR_VERSION, marker

__all__ = ["CHECKSUM_PREFIX", "GENERATOR_VERSION", "c_comment", "checksum", "ident",
           "marker", "py_comment", "verify_checksum", "with_checksum"]

CHECKSUM_PREFIX = "// ptdl-checksum: sha256:"


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def with_checksum(body: str) -> str:
    """Append the checksum line to a C header body (which ends in newline)."""
    if not body.endswith("\n"):
        raise ValueError("a header body must end with a newline")
    return body + CHECKSUM_PREFIX + checksum(body) + "\n"


def verify_checksum(text: str) -> bool:
    """True if text ends with a checksum line matching the rest."""
    if not text.endswith("\n"):
        return False
    head, sep, last = text[:-1].rpartition("\n")
    if not sep or not last.startswith(CHECKSUM_PREFIX):
        return False
    return last[len(CHECKSUM_PREFIX):] == checksum(head + "\n")
