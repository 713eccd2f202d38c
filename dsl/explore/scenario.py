"""The ``explored`` scenario family: write a shrunk finding as a scenario
file (plus its trace and call script), read it back, and run it.

Place in the flow: ``cli`` writes each ``search.Finding`` with ``write``
into ``--out`` and reruns files with ``--replay`` (``load`` +
``run_scenario``).  ``run_family`` is the runner for the conformance
suite: it takes a ``runtime.conformance.Scenario`` of family ``explored``
and returns a ``runtime.conformance.Result`` (violations, call scripts and
their traces) like every other family.

File format (one family per file, as runtime/scenarios/*.yaml)::

    family: explored
    scenarios:
      - name: explored_mips_stale_insn_3f2a9c01     # generated, unique
        description: >                              # generated from the steps
          ...
        params:
          cpu: [dc_aliases]       # CPU features of the run (conformance runs
                                  # every combination; this one is the finding's)
          colour: 0               # user colour offset (world.World)
          steps:                  # actions (dsl/explore/actions.py), in order
            - mmap mm=0 slot=0 file=0 flags=0 pages=0 pgoff=0 at=0
            - read mm=0 vma=0 page=0
          found:                  # what explore saw (informational)
            arch: mips
            check: stale_insn
            where: mm=1 addr=0x4000003000 pfn=0x1000
            expected: version 1
            seen: version 0
            seed: 0
            sequence: 14
            known: ''             # why it is known (documented finding / model gap)

Step arguments are small integers resolved modulo what exists when the
step runs, so a scenario runs on any arch (orders index the arch's
orders; a missing object makes the step a no-op).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from runtime.arch import Arch
from runtime.conformance import Result, Scenario

from .actions import FLAG_SETS, PAGES
from .search import Finding, Outcome, run_steps
from .world import INITIAL_FILES, Step

FAMILY = "explored"


def _words(s: Step) -> str:
    a = s.args
    op = s.op
    if op == "mmap":
        fi = a.get("file", 0) % (INITIAL_FILES + 1)
        what = "anonymous memory" if fi == INITIAL_FILES else "file %d" % fi
        pages = PAGES[a.get("pages", 0) % len(PAGES)]
        size = "a PMD" if pages < 0 else "%d page%s" % (pages, "s" if pages != 1 else "")
        return "process %d maps %s of %s %s" % (a.get("mm", 0), size, what,
                                           FLAG_SETS[a.get("flags", 0) % len(FLAG_SETS)])
    if op in ("read", "write", "exec"):
        return "process %d %ss page %d of its VMA %d" % (a.get("mm", 0),
                                                        "execute" if op == "exec" else op,
                                                   a.get("page", 0), a.get("vma", 0))
    if op == "file_write":
        return "write(2) to page %d of file %d" % (a.get("index", 0), a.get("file", 0))
    if op == "cache":
        return "file %d reads a folio (order index %d) into the page cache%s" % (
            a.get("file", 0), a.get("order", 0), " at a freed pfn" if a.get("reuse", 0) & 1 else "")
    if op in ("munmap", "mprotect", "remap", "dontneed", "prealloc"):
        extra = ""
        if op == "mprotect":
            extra = " to %s" % FLAG_SETS[a.get("flags", 0) % len(FLAG_SETS)]
        return "process %d: %s VMA %d%s" % (a.get("mm", 0), op, a.get("vma", 0), extra)
    if op in ("fork", "exit"):
        return "process %d %ss" % (a.get("mm", 0), op)
    if op in ("truncate", "replace"):
        return "%s file %d at folio %d%s" % (op, a.get("file", 0), a.get("folio", 0),
                                             " (pfn reused)" if a.get("reuse", 0) & 1 else "")
    if op in ("reclaim", "migrate", "secure"):
        fi = a.get("file", 0) % (INITIAL_FILES + 1)
        return "%s folio %d of %s" % (op, a.get("folio", 0),
                                      "anonymous memory" if fi == INITIAL_FILES else "file %d" % fi)
    return s.text()


def describe(f: Finding) -> str:
    steps = "; ".join(_words(s) for s in f.steps)
    v = f.violation
    return ("Found by ptdl explore on %s (cpu: %s; seed %d, sequence %d; shrunk from %d to "
            "%d steps): %s. Then %s at %s: expected %s, saw %s."
            % (f.arch, ", ".join(f.cpu) or "none", f.seed, f.sequence, f.original_len,
               len(f.steps), steps, v.check, v.where, v.expected, v.seen))


def name_of(f: Finding) -> str:
    h = hashlib.sha256(("%s|%s|%d|%s" % (f.arch, ",".join(f.cpu), f.colour,
                                         "|".join(s.text() for s in f.steps))).encode())
    return "explored_%s_%s_%s" % (f.arch, f.check, h.hexdigest()[:8])


def to_yaml(f: Finding) -> str:
    import yaml
    v = f.violation
    doc: dict[str, Any] = {
        "family": FAMILY,
        "scenarios": [{
            "name": name_of(f),
            "description": describe(f),
            "params": {
                "cpu": list(f.cpu),
                "colour": f.colour,
                "steps": [s.text() for s in f.steps],
                "found": {"arch": f.arch, "check": v.check, "where": v.where,
                          "expected": v.expected, "seen": v.seen, "seed": f.seed,
                          "sequence": f.sequence, "known": f.known},
            },
        }],
    }
    if f.known and not f.known.startswith("model gap"):
        # a kernel finding: the conformance suite's documented-findings form
        doc["scenarios"][0]["params"]["findings"] = [
            {"arch": f.arch, "cpu": list(f.cpu), "check": f.check, "why": f.known}]
    head = ("# Generated by `ptdl explore` -- family `explored` (format: "
            "dsl/explore/scenario.py).\n")
    return head + yaml.safe_dump(doc, sort_keys=False, width=88)


def _atomic(path: str, text: str) -> None:
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write(f: Finding, out_dir: str, arch: Arch) -> str:
    """``<name>.yaml``, ``<name>.trace`` (every trace line of the run) and
    ``<name>.script`` (the call script the C harness replays); returns the
    YAML path."""
    os.makedirs(out_dir, exist_ok=True)
    name = name_of(f)
    o = run_steps(arch, frozenset(f.cpu), f.colour, f.steps, record=True)
    base = os.path.join(out_dir, name)
    _atomic(base + ".trace", _trace_text(o))
    s = o.world.k.script
    if s is not None:
        _atomic(base + ".script", s.text())
    _atomic(base + ".yaml", to_yaml(f))
    return base + ".yaml"


def _trace_text(o: Outcome) -> str:
    lines: list[str] = []
    k = o.world.k
    lines.append("# steps:")
    for s in o.steps:
        lines.append("#   " + s.text())
    lines.extend(k.trace.lines)
    for v in o.violations:
        lines.append("# violation %s at %s: expected %s, saw %s" % (v.check, v.where,
                                                                    v.expected, v.seen))
    return "".join(x + "\n" for x in lines)


# ---------------------------------------------------------------------------
# Reading and running


def parse(text: str, path: str) -> list[Scenario]:
    """An ``explored`` file -> scenarios (same checks as the other families,
    plus: every step parses)."""
    import yaml
    doc: Any = yaml.safe_load(text)
    if not isinstance(doc, dict) or doc.get("family") != FAMILY:
        raise ValueError("%s: not an %s scenario file (family: %s)" % (path, FAMILY, FAMILY))
    entries = doc.get("scenarios")
    if not isinstance(entries, list) or not entries:
        raise ValueError("%s: no scenarios" % path)
    out: list[Scenario] = []
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            raise ValueError("%s: each scenario needs a name" % path)
        desc = e.get("description")
        if not isinstance(desc, str) or not desc.strip():
            raise ValueError("%s: scenario %s has no description" % (path, e["name"]))
        params = e.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError("%s: scenario %s: params must be a mapping" % (path, e["name"]))
        steps(Scenario(e["name"], FAMILY, desc, params))        # validates
        out.append(Scenario(e["name"], FAMILY, " ".join(desc.split()), dict(params)))
    return out


def load(path: str) -> list[Scenario]:
    with open(path, encoding="utf-8") as fh:
        return parse(fh.read(), path)


def steps(sc: Scenario) -> list[Step]:
    raw = sc.params.get("steps")
    if not isinstance(raw, list) or not raw:
        raise ValueError("%s: params.steps must be a non-empty list" % sc.name)
    out: list[Step] = []
    from .actions import APPLY
    for r in raw:
        if not isinstance(r, str):
            raise ValueError("%s: step %r is not a string" % (sc.name, r))
        s = Step.parse(r)
        if s.op not in APPLY:
            raise ValueError("%s: unknown action %r" % (sc.name, s.op))
        out.append(s)
    return out


def colour(sc: Scenario) -> int:
    return sc.get_int("colour", 0)


def found(sc: Scenario) -> dict[str, Any]:
    f = sc.params.get("found")
    return f if isinstance(f, dict) else {}


def run_scenario(arch: Arch, cpu: frozenset[str], sc: Scenario) -> Outcome:
    return run_steps(arch, cpu, colour(sc), steps(sc), record=True)


def run_family(arch: Arch, cpu: frozenset[str], sc: Scenario) -> Result:
    """The conformance runner for family ``explored``: a Result with the
    violations of the run, its call script and the script's trace."""
    o = run_scenario(arch, cpu, sc)
    r = Result(arch.name, tuple(sorted(cpu)), sc.name, sc.family)
    r.violations = list(o.violations)
    s = o.world.k.script
    if s is not None:
        r.scripts.append(s.text())
        r.traces.append([ln[7:] for ln in s.lines if ln.startswith("expect ")])
    return r
