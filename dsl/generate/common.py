"""Helpers shared by the backends: banners, markers, checksums, escaping.

Place in the flow: used by every backend and by writer.py.  A generated
file starts with an SPDX line and a banner naming its archdef, carries a
`ptdl-gen:` marker line naming the generator inputs (so a tool can
regenerate it, as YNL's YNL-GEN), and C headers end with a checksum line
over everything before it (as scripts/atomic's headers do), which
`ptdl generate --check` verifies to catch hand edits.
"""

from __future__ import annotations

import hashlib
import re

GENERATOR_VERSION = "1"
CHECKSUM_PREFIX = "// ptdl-checksum: sha256:"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """An archdef name used as a C or Python identifier; refuse anything else.

    The checker already rejects such names; this is the backends' own guard
    so nothing in an archdef can inject code into a generated file."""
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    return name


def c_comment(text: str) -> str:
    """Text safe inside a /* ... */ comment (no terminator, printable)."""
    text = text.replace("*/", "* /").replace("/*", "/ *")
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)


def py_comment(text: str) -> str:
    """Text safe inside a # comment (one line, printable)."""
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)


def marker(arch: str, source: str, kind: str) -> str:
    return (f"ptdl-gen: kind={kind} arch={arch} input={source} "
            f"generator={GENERATOR_VERSION} regenerate='ptdl generate --arch {arch}'")


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def with_checksum(body: str) -> str:
    """Append the checksum line to a C header body (which ends in newline)."""
    assert body.endswith("\n")
    return body + CHECKSUM_PREFIX + checksum(body) + "\n"


def verify_checksum(text: str) -> bool:
    """True if text ends with a checksum line matching the rest."""
    if not text.endswith("\n"):
        return False
    head, sep, last = text[:-1].rpartition("\n")
    if not sep or not last.startswith(CHECKSUM_PREFIX):
        return False
    return last[len(CHECKSUM_PREFIX):] == checksum(head + "\n")
