"""CPU-feature pruning of the conformance runs: which feature combinations
of a scenario can change its result.

Place in the flow: ``python -m dsl.generate.prune [ARCH ...]`` (run after
changing runtime/, a scenario or an archdef with CPU features; `make
prune`) runs every scenario of every arch that declares CPU features on
the pure-Python runtime, and writes generated/tests/cpu_pruning.json;
dsl/generate/ctests.py copies each arch's entry into its generated test
module (``PRUNED``, ``PRUNE_KEY``), and dsl/generate/suite.py
``scenario_cases`` runs only the leaves' representatives when the key
still matches the inputs (else every combination).

The rule (``RULE``): a run records which CPU features it *read* (``F in
cpu``: the prot block's ``when cpu.F``, ``when cpu.F`` in behaviours,
``cpu_has_F`` tests, the cache kinds chosen per CPU), in first-read order.
Unread features are off.  A feature that was not read under an assignment
cannot change that run: the run is deterministic and the features reach it
only through those reads.  So the combinations form a decision tree: run
with the fixed assignment; every feature read for the first time at
position i, unfixed, spawns the branch "fixed + earlier unfixed reads off +
this one on".  Each run is a leaf covering every combination that agrees
with its (fixed + read) assignment; the leaves partition the 2^n
combinations.  The representative of a leaf is the combination of its
features that are on.

Leaves whose representatives' runs have the same outcome (``outcome``:
the violations, the trace, each call script's trace and the scripts but
for their ``cpu`` line, the cache/TLB work) form one class, run once by
its first leaf's representative: every combination of every leaf in it
has that outcome while the inputs key holds (a feature read only to pick
a cache kind the scenario never exercises changes nothing).  The walk
already ran every representative, so the classes cost no extra run.

Soundness rests on every read going through ``__contains__`` of the set
passed in (true of the generated modules and runtime/ on the pure-Python
runtime; mypyc's compiled ``in`` bypasses it, which is why the walk runs
interpreted) and on the inputs being unchanged: the key is a hash of the
arch's generated module, runtime/**/*.py and the scenario files; a stale
key falls back to the full enumeration.  tests/conformance/test_cpu_pruning.py
checks, on a sample of every landed arch with features, that each
combination's model outcome and C replay equal its leaf representative's,
and that a three-feature fixture of which the scenario reads one runs 2
combinations, not 8.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence, TypeVar

RULE = ("run each scenario with unread CPU features off, recording the features it reads "
        "(first-read order); branch on each newly read feature (earlier new reads off, this "
        "one on); leaves whose representatives have the same outcome (violations, traces, "
        "call scripts but their cpu line, work) are one class; run one combination per class "
        "of that decision tree's leaves")

PRUNING_FILE = "generated/tests/cpu_pruning.json"


class ReadLog(frozenset[str]):
    """A CPU feature set that records every membership test on it."""

    log: list[str]

    def __new__(cls, on: Iterable[str], log: list[str]) -> ReadLog:
        self = super().__new__(cls, on)
        self.log = log
        return self

    def __contains__(self, feature: object) -> bool:
        if isinstance(feature, str) and feature not in self.log:
            self.log.append(feature)
        return frozenset.__contains__(self, feature)


# A leaf: (features on, features off), both sorted; every other feature is
# unread on its path.  In the data file and the generated modules a leaf
# carries a third entry: the features on of its class's representative.
Leaf = tuple[tuple[str, ...], tuple[str, ...]]


def walk(features: Iterable[str], run: Callable[[frozenset[str]], Any],
         results: dict[Leaf, Any] | None = None) -> list[Leaf]:
    """The decision tree of ``run`` over ``features`` (see the module
    docstring): one call of ``run`` per leaf, leaves in a fixed order;
    ``results`` (if given) receives what ``run`` returned for each leaf
    (the run of its representative)."""
    feats = set(features)
    leaves: list[Leaf] = []
    stack: list[dict[str, bool]] = [{}]
    while stack:
        fix = stack.pop()
        log: list[str] = []
        got = run(ReadLog(sorted(f for f, v in fix.items() if v), log))
        reads = [f for f in log if f in feats]
        assign = dict(fix)
        for f in reads:
            assign.setdefault(f, False)
        leaf = (tuple(sorted(f for f, v in assign.items() if v)),
                tuple(sorted(f for f, v in assign.items() if not v)))
        leaves.append(leaf)
        if results is not None:
            results[leaf] = got
        prefix: dict[str, bool] = {}
        branches: list[dict[str, bool]] = []
        for f in reads:
            if f in fix:
                continue
            branches.append({**fix, **prefix, f: True})
            prefix[f] = False
        stack.extend(reversed(branches))
    leaves.sort(key=lambda lf: (len(lf[0]), lf[0], lf[1]))
    return leaves


def classes(leaves: list[Leaf], outcomes: dict[Leaf, Hashable]) -> list[tuple[str, ...]]:
    """Per leaf (in order), the representative of its class: the features
    on of the first leaf with an equal outcome."""
    first: dict[Hashable, tuple[str, ...]] = {}
    return [first.setdefault(outcomes[leaf], leaf[0]) for leaf in leaves]


def outcome(r: Any) -> Hashable:
    """What a conformance run shows (runtime.conformance Result): every
    violation, the whole trace, each call script's trace and the script
    itself but for its ``cpu`` line (the C replay's input), the work."""
    work = getattr(r, "work", None)
    return (tuple(sorted((v.check, v.where, v.expected, v.seen) for v in r.violations)),
            tuple(r.trace()),
            tuple(tuple(t) for t in r.traces),
            tuple("\n".join(ln for ln in s.splitlines() if not ln.startswith("cpu "))
                  for s in r.scripts),
            work.text() if work is not None else "")


LeafT = TypeVar("LeafT", bound=tuple[tuple[str, ...], ...])


def leaf_of(leaves: Sequence[LeafT], cpu: Iterable[str]) -> LeafT:
    """The leaf a full combination falls in (a leaf may carry its class's
    representative as a third entry)."""
    on = set(cpu)
    for leaf in leaves:
        if set(leaf[0]) <= on and not (set(leaf[1]) & on):
            return leaf
    raise ValueError(f"no leaf covers {sorted(on)}: not a partition")


def _files(root: Path, arch: str) -> Iterator[Path]:
    yield root / "generated" / "runtime" / f"{arch}.py"
    rt = root / "runtime"
    for p in sorted(rt.rglob("*.py")):
        if "__pycache__" not in p.parts and "build" not in p.relative_to(rt).parts:
            yield p
    yield from sorted((rt / "scenarios").glob("*.yaml"))


_KEYS: dict[tuple[str, str], str] = {}


def inputs_key(root: Path, arch: str) -> str:
    """sha256 over what a run of ``arch`` depends on (names and contents)."""
    k = (str(root), arch)
    got = _KEYS.get(k)
    if got is None:
        h = hashlib.sha256()
        for p in _files(root, arch):
            h.update(str(p.relative_to(root)).encode())
            h.update(b"\0")
            h.update(p.read_bytes() if p.exists() else b"<missing>")
            h.update(b"\0")
        got = h.hexdigest()[:16]
        _KEYS[k] = got
    return got


_LOADED: dict[tuple[str, int, int], dict[str, Any]] = {}


def load(root: Path) -> dict[str, Any]:
    """The ``archs`` entry of root's pruning data ({} if there is none).
    Read once per process (`ptdl generate` asks once per arch) and kept
    under the file's path, size and mtime, so an edited file is read
    again; callers get a shallow copy and must not mutate the entries."""
    p = root / PRUNING_FILE
    try:
        st = p.stat()
    except FileNotFoundError:
        return {}
    k = (str(p), st.st_size, st.st_mtime_ns)
    got = _LOADED.get(k)
    if got is None:
        data: Any = json.loads(p.read_text(encoding="utf-8"))
        archs = data.get("archs", {}) if isinstance(data, dict) else {}
        got = archs if isinstance(archs, dict) else {}
        _LOADED.clear()
        _LOADED[k] = got
    return dict(got)


def compute(root: Path, arch_name: str) -> dict[str, Any]:
    """The leaves of every scenario for one arch (call with the
    pure-Python runtime loaded: suite.install_interpreted)."""
    import importlib
    conf = importlib.import_module("runtime.conformance")
    arch = importlib.import_module("generated.runtime." + arch_name).ARCH
    out: dict[str, list[list[list[str]]]] = {}
    for sc in conf.load_scenarios():
        results: dict[Leaf, Any] = {}
        leaves = walk(arch.cpu_features, lambda cpu: conf.run(arch, cpu, sc), results)
        reps = classes(leaves, {lf: outcome(r) for lf, r in results.items()})
        # [features on, features off, its class's representative]
        out[sc.name] = [[list(on), list(off), list(rep)]
                        for (on, off), rep in zip(leaves, reps)]
    return {"key": inputs_key(root, arch_name), "scenarios": out}


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    from .suite import install_interpreted
    install_interpreted(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import importlib
    from ..project import load as load_project
    p = load_project(root)
    names = argv or sorted(n for n, a in p.archs.items() if a.cpu_features)
    data = load(root)
    for n in names:
        if n not in p.archs:
            sys.stderr.write(f"prune: no arch '{n}'\n")
            return 2
        mod = importlib.import_module("generated.runtime." + n)
        if not str(mod.__file__).endswith(".py"):
            sys.stderr.write(f"prune: {mod.__file__} is compiled; reads are not recorded\n")
            return 1
        data[n] = compute(root, n)
        sc = data[n]["scenarios"]
        leaves = sum(len(v) for v in sc.values())
        runs = sum(len({tuple(lf[2]) for lf in v}) for v in sc.values())
        full = len(sc) * (1 << len(p.archs[n].cpu_features))
        print(f"prune: {n}: {runs} runs instead of {full} ({leaves} leaves)")
    text = json.dumps({"rule": RULE, "archs": dict(sorted(data.items()))}, indent=1,
                      sort_keys=True) + "\n"
    path = root / PRUNING_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    print(f"prune: wrote {PRUNING_FILE}; run `ptdl generate`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
