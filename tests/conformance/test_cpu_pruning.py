"""CPU-feature pruning (dsl/generate/prune.py) is sound and prunes.

* the decision-tree walk on synthetic runs: the leaves partition the
  combinations, one run per leaf, and a feature read only under another
  one's value is branched on only there;
* the fixture tests/fixtures/pruning/prune3.arch (three features, only `a`
  read, by flush_icache_pages): an exec scenario runs 2 combinations, not
  8, a scenario with no exec mapping 1; on the pure-Python runtime, in a
  child process, since mypyc's compiled `in` does not record reads;
* leaves with equal outcomes form one class (run once), leaves with
  different outcomes never do (synthetic runs; the prune3 fixture);
* every landed arch in generated/tests/cpu_pruning.json, on a sample of
  its scenarios: each of the 2^n combinations gives exactly the model
  outcome (violations, trace, each script's trace) of its leaf's
  representative and of its class's representative, and its C replay
  equals its model trace;
* the committed pruning data is current for the landed archs, so the
  generated tests really prune (a stale key runs every combination).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dsl.generate import prune
from dsl.generate.suite import Support, generated_gcc_flags

ROOT = Path(__file__).resolve().parents[2]


def _synthetic(cpu: frozenset[str]) -> str:
    # reads x; if x, reads y; always reads z last; w never read
    out = "x" if "x" in cpu else "-"
    if out == "x":
        out += "y" if "y" in cpu else "-"
    out += "z" if "z" in cpu else "-"
    return out


def test_walk_partitions_the_combinations() -> None:
    feats = ("w", "x", "y", "z")
    runs: list[str] = []

    def run(c: frozenset[str]) -> None:
        runs.append(_synthetic(c))
    leaves = prune.walk(feats, run)
    # x off: z matters (2); x on: y and z matter (4); w never
    assert len(leaves) == len(runs) == 6
    results = {}
    for leaf in leaves:
        results[leaf] = _synthetic(frozenset(leaf[0]))
    for m in range(16):
        cpu = frozenset(f for i, f in enumerate(feats) if m & (1 << i))
        assert results[prune.leaf_of(leaves, cpu)] == _synthetic(cpu)
    assert all("w" not in on + off for on, off in leaves)


def test_walk_without_reads_is_one_run() -> None:
    assert prune.walk(("a", "b", "c"), lambda c: None) == [((), ())]


def test_classes_merge_equal_outcomes_only() -> None:
    """x is read (a cache kind picked) but changes the outcome only when y
    is on; z is read and always changes it."""
    def run(cpu: frozenset[str]) -> str:
        x = "x" in cpu
        y = "y" in cpu
        z = "z" in cpu
        return ("X" if x and y else "-") + ("Y" if y else "-") + ("Z" if z else "-")
    results: dict[prune.Leaf, object] = {}
    leaves = prune.walk(("x", "y", "z"), run, results)
    assert len(leaves) == 8                    # every feature is read on every path
    reps = prune.classes(leaves, {lf: str(r) for lf, r in results.items()})
    by_rep: dict[tuple[str, ...], set[str]] = {}
    for leaf, rep in zip(leaves, reps):
        by_rep.setdefault(rep, set()).add(run(frozenset(leaf[0])))
        assert run(frozenset(leaf[0])) == run(frozenset(rep)), (leaf, rep)
    assert all(len(v) == 1 for v in by_rep.values())     # a class has one outcome
    assert len(by_rep) == 6                    # x is merged away where y is off
    # every combination's outcome is its class representative's
    for m in range(8):
        cpu = frozenset(f for i, f in enumerate(("x", "y", "z")) if m & (1 << i))
        leaf = prune.leaf_of(leaves, cpu)
        assert run(cpu) == run(frozenset(reps[leaves.index(leaf)]))


def test_outcome_sees_every_difference() -> None:
    """prune.outcome tells runs apart by violations, trace, script traces,
    scripts (not their cpu line) and work."""
    from types import SimpleNamespace as NS
    v = NS(check="stale_insn", where="pfn=0x1", expected="2", seen="1")

    def r(**kw: Any) -> Any:
        base: dict[str, Any] = dict(violations=[], trace=lambda: ["a"], traces=[["a"]],
                                    scripts=["ptdl-script 1\ncpu x\ncall a\n"],
                                    work=NS(text=lambda: "w"))
        base.update(kw)
        return NS(**base)
    same = prune.outcome(r())
    assert prune.outcome(r(scripts=["ptdl-script 1\ncpu y\ncall a\n"])) == same
    for other in (r(violations=[v]), r(trace=lambda: ["b"]), r(traces=[["b"]]),
                  r(scripts=["ptdl-script 1\ncpu x\ncall b\n"]), r(work=NS(text=lambda: "v"))):
        assert prune.outcome(other) != same


CHILD = r"""
import json, sys, types
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
from dsl.generate.suite import install_interpreted
install_interpreted(root)
from dsl.generate import prune, pymod
from dsl.project import load
p = load(root, [sys.argv[2]])
a = p.archs["prune3"]
mod = types.ModuleType("generated.runtime.prune3")
sys.modules[mod.__name__] = mod
exec(compile(pymod.render(a, sys.argv[2]), mod.__name__, "exec"), mod.__dict__)
import runtime.conformance as conf
out = {}
for name in ("exec_direct_order4", "props_basic"):
    sc = conf.scenario_named(name)
    runs = []
    results = {}
    def run(c):
        runs.append(conf.run(mod.ARCH, c, sc))
        return runs[-1]
    leaves = prune.walk(a.cpu_features, run, results)
    classes = prune.classes(leaves, {lf: prune.outcome(r) for lf, r in results.items()})
    full = {}
    for cpu in conf.cpu_combinations(mod.ARCH.cpu_features):
        r = conf.run(mod.ARCH, frozenset(cpu), sc)
        full["+".join(cpu)] = [sorted(r.checks()), r.trace()]
    reps = {}
    for on, off in leaves:
        r = conf.run(mod.ARCH, frozenset(on), sc)
        reps["+".join(on) + "|" + "+".join(off)] = [sorted(r.checks()), r.trace()]
    out[name] = {"runs": len(runs), "leaves": [[list(on), list(off)] for on, off in leaves],
                 "classes": [list(c) for c in classes],
                 "full": full, "reps": reps}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def prune3() -> dict[str, Any]:
    env = dict(os.environ, PTDL_INTERPRETED="1")
    r = subprocess.run([sys.executable, "-c", CHILD, str(ROOT),
                        "tests/fixtures/pruning/prune3.arch"],
                       capture_output=True, text=True, env=env, timeout=600, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr[-3000:]
    got: dict[str, Any] = json.loads(r.stdout.splitlines()[-1])
    return got


def test_three_features_one_read_is_two_runs(prune3: dict[str, Any]) -> None:
    ex = prune3["exec_direct_order4"]
    assert ex["runs"] == 2 and len(ex["full"]) == 8
    assert sorted(map(tuple, (tuple(map(tuple, lf)) for lf in ex["leaves"]))) == [
        ((), ("a",)), (("a",), ())]
    # the two leaves really differ (a is read and matters), and every full
    # combination equals its leaf's representative
    assert ex["reps"]["|a"] != ex["reps"]["a|"]
    assert sorted(map(tuple, ex["classes"])) == [(), ("a",)]    # not merged: they differ
    for cpu, outcome in ex["full"].items():
        key = "a|" if "a" in cpu.split("+") else "|a"
        assert outcome == ex["reps"][key], cpu
    props = prune3["props_basic"]
    assert props["runs"] == 1 and props["leaves"] == [[[], []]]
    assert all(o == props["reps"]["|"] for o in props["full"].values())


def _outcome(r: Any) -> tuple[Any, ...]:
    return (tuple(sorted((v.check, v.where, v.expected, v.seen) for v in r.violations)),
            tuple(r.trace()), tuple(tuple(t) for t in r.traces))


DATA = prune.load(ROOT)
SAMPLE: list[tuple[str, str]] = []
for _arch in sorted(DATA):
    _sc = sorted(DATA[_arch]["scenarios"])
    _pruned = [s for s in _sc if len(DATA[_arch]["scenarios"][s]) > 1]
    # scenarios whose leaves were merged into fewer classes
    _merged = [s for s in _sc
               if len({tuple(lf[2]) for lf in DATA[_arch]["scenarios"][s] if len(lf) > 2})
               < len(DATA[_arch]["scenarios"][s])]
    # two scenarios with more than one leaf, one pruned to few and one whose
    # leaves were merged, spread over the list by the arch's name so
    # different archs sample differently
    _off = sum(map(ord, _arch))
    for _s in (_pruned[_off % len(_pruned)] if _pruned else None,
               _pruned[(_off * 7 + 3) % len(_pruned)] if _pruned else None,
               _sc[(_off * 13) % len(_sc)],
               _merged[(_off * 5 + 1) % len(_merged)] if _merged else None):
        if _s is not None and (_arch, _s) not in SAMPLE:
            SAMPLE.append((_arch, _s))


def test_landed_archs_have_current_pruning_data() -> None:
    from dsl.project import load
    p = load(ROOT)
    with_features = sorted(n for n, a in p.archs.items() if a.cpu_features)
    assert sorted(DATA) == with_features
    stale = [n for n in with_features if DATA[n]["key"] != prune.inputs_key(ROOT, n)]
    assert not stale, (f"{stale}: generated/tests/cpu_pruning.json is stale (the suite runs "
                       "every combination for them); run `make prune` (python -m "
                       "dsl.generate.prune) and `ptdl generate`")


_SUPPORT: dict[str, Support] = {}


def _support(arch: str) -> Support:
    """One Support per arch and worker (one C harness process per arch),
    with the harness flags its generated test module carries."""
    s = _SUPPORT.get(arch)
    if s is None:
        s = _SUPPORT[arch] = Support(ROOT, arch, generated_gcc_flags(ROOT, arch))
    return s


@pytest.mark.parametrize("arch,scenario", SAMPLE, ids=[f"{a}-{s}" for a, s in SAMPLE])
def test_pruned_runs_equal_full_enumeration(arch: str, scenario: str) -> None:
    entry = DATA[arch]
    if entry["key"] != prune.inputs_key(ROOT, arch):
        pytest.skip("pruning data stale: the generated tests run every combination")
    support = _support(arch)
    conf = importlib.import_module("runtime.conformance")
    mod = importlib.import_module("generated.runtime." + arch)
    rows = entry["scenarios"][scenario]
    leaves = [(tuple(lf[0]), tuple(lf[1])) for lf in rows]
    rep_of: dict[tuple[tuple[str, ...], ...], frozenset[str]] = {
        (tuple(lf[0]), tuple(lf[1])): frozenset(lf[2] if len(lf) > 2 else lf[0]) for lf in rows}
    # every combination runs once (a leaf's representative -- its features
    # on, the rest off -- is one of them) on the model and in C
    outcomes: dict[frozenset[str], tuple[Any, ...]] = {}
    for cpu in conf.cpu_combinations(mod.ARCH.cpu_features):
        r = support.run(scenario, tuple(cpu), keep=False)
        outcomes[frozenset(cpu)] = _outcome(r)
        support.check_c_trace(r)
    assert set(outcomes) == {frozenset(c) for c in
                             (tuple(f for i, f in enumerate(sorted(mod.ARCH.cpu_features))
                                    if m & (1 << i))
                              for m in range(1 << len(mod.ARCH.cpu_features)))}
    for cpu, got in outcomes.items():
        leaf = prune.leaf_of(leaves, cpu)
        assert got == outcomes[frozenset(leaf[0])], (
            f"{arch} / {scenario}: cpu {sorted(cpu)} differs from its leaf {leaf}'s "
            "representative")
        assert got == outcomes[rep_of[leaf]], (
            f"{arch} / {scenario}: cpu {sorted(cpu)} differs from its class's "
            f"representative {sorted(rep_of[leaf])}")
