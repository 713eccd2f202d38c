"""A small on-disk cache of derived data, keyed by everything it derives from.

Place in the flow: used by dsl/parse.py (the parsed declarations of an
archdef) and dsl/generate/templating.py (Jinja's compiled templates), so a
`ptdl` process does not redo work an earlier process did.  It lives in the
user's ptdl cache (`$PTDL_CACHE`, else `$XDG_CACHE_HOME/ptdl`, else
`~/.cache/ptdl`; the kernel tree of `ptdl kernel setup` lives there too),
under `derived/<kind>/`.

Never stale by construction: an entry's name is a SHA-256 over its input
(the archdef text and the name it is shown by, the template's name and
file) *and* the fingerprint of the code that derives it (the bytes of the
source files that do the work, the library versions and the Python
version).  Editing a file, the grammar, the parser or the templating code
therefore changes the key, and the old entry is never read again.  Entries
are written through a temp file and renamed (parallel processes never read
half an entry); a damaged or unreadable entry is a miss; any OS error
(read-only or missing cache directory) turns the cache off for that call,
never into a failure.  `PTDL_NO_CACHE=1` turns it off entirely.  Each kind
keeps at most MAX_ENTRIES entries, the least recently used dropped first (a
hit marks its entry used, at most once an hour), so checkouts sharing the
cache do not evict each other's live entries.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

# Per kind: a generate run of 39 archdefs stores 39 parses; several
# checkouts (worktrees, branches) share the cache, each with its own code
# fingerprint, so the bound leaves room for a dozen of them.
MAX_ENTRIES = 1000
REFRESH_S = 3600.0
_MAGIC = b"ptdl-cache-1\n"
_FINGERPRINTS: dict[tuple[str, ...], str] = {}


def cache_root() -> Path:
    """The user's ptdl cache directory (it may not exist yet)."""
    env = os.environ.get("PTDL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ptdl"


def enabled() -> bool:
    return os.environ.get("PTDL_NO_CACHE", "") in ("", "0")


def fingerprint(files: tuple[str, ...], versions: tuple[str, ...] = ()) -> str:
    """SHA-256 over the bytes of `files` (the code that derives an entry),
    `versions` (its libraries') and the Python version; once per process."""
    key = files + ("\0",) + versions
    fp = _FINGERPRINTS.get(key)
    if fp is None:
        h = hashlib.sha256(sys.version.encode())
        for f in files:
            h.update(b"\0" + f.encode() + b"\0")
            h.update(Path(f).read_bytes())
        for v in versions:
            h.update(b"\0" + v.encode())
        fp = h.hexdigest()
        _FINGERPRINTS[key] = fp
    return fp


def key_of(code: str, *parts: str | bytes) -> str:
    """The entry name for input `parts` derived by code with fingerprint `code`."""
    h = hashlib.sha256(code.encode())
    for p in parts:
        b = p.encode("utf-8", "surrogatepass") if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _path(kind: str, key: str) -> Path:
    return cache_root() / "derived" / kind / key


def get(kind: str, key: str) -> bytes | None:
    """The stored bytes of entry `key`, or None (missing, damaged, disabled)."""
    if not enabled():
        return None
    try:
        with open(_path(kind, key), "rb") as fh:
            data = fh.read()
            _refresh(fh.fileno())
    except OSError:
        return None
    # An entry holds its own key: a truncated or foreign file is a miss.
    head = _MAGIC + key.encode() + b"\n"
    if not data.startswith(head):
        return None
    body = data[len(head):]
    if len(body) < 32 or hashlib.sha256(body[32:]).digest() != body[:32]:
        return None
    return body[32:]


def _refresh(fd: int) -> None:
    """Mark an entry used (its mtime: what _evict sorts by) if it was last
    marked over REFRESH_S ago, so eviction drops the least recently used
    entries, not the ones written first (one utime per entry per hour)."""
    try:
        st = os.fstat(fd)
        now = time.time()
        if now - st.st_mtime > REFRESH_S:
            os.utime(fd, (now, now))
    except OSError:
        pass


def put(kind: str, key: str, data: bytes) -> None:
    """Store `data` as entry `key` (atomically; silently not on OS errors)."""
    if not enabled():
        return
    dest = _path(kind, key)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC + key.encode() + b"\n" + hashlib.sha256(data).digest() + data)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        _evict(dest.parent)
    except OSError:
        return


def _evict(d: Path) -> None:
    """Keep at most MAX_ENTRIES entries in d, dropping the oldest."""
    try:
        entries = [e for e in os.scandir(d) if e.is_file() and not e.name.startswith(".")]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for e in entries[:len(entries) - MAX_ENTRIES // 2]:
            try:
                os.unlink(e.path)
            except FileNotFoundError:
                pass
    except OSError:
        return
