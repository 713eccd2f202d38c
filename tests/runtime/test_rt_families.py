"""runtime/scenarios.py (the loader) and the family registry of
runtime/conformance.py: every file parsed once, the API dsl/ will use, bad
files refused with the file named, every family registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import conformance, scenarios
from runtime.arch import VM_EXEC, VM_READ, VM_SHARED
from runtime.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted((ROOT / "runtime" / "scenarios").glob("*.yaml"))


def test_registry_covers_every_family() -> None:
    assert sorted(conformance.FAMILY_REGISTRY) == sorted(scenarios.FAMILIES)
    for name, fam in conformance.FAMILY_REGISTRY.items():
        assert fam.name == name
    # every family module under runtime/families/ is registered
    mods = sorted(p.stem for p in (ROOT / "runtime" / "families").glob("*.py")
                  if p.stem not in ("__init__", "base"))
    assert mods == sorted(scenarios.FAMILIES)


def test_loader_reads_every_file_in_order() -> None:
    got = scenarios.load_scenarios()
    # count the entries independently: "  - name:" lines of the files
    want = [line.split(":", 1)[1].strip() for f in SCENARIO_FILES
            for line in f.read_text(encoding="utf-8").splitlines()
            if line.startswith("  - name:")]
    assert [s.name for s in got] == want
    assert scenarios.families() == [
        f.read_text(encoding="utf-8").split("family:", 1)[1].split()[0] for f in SCENARIO_FILES]
    by = scenarios.scenarios_by_name()
    assert list(by) == want
    assert scenarios.scenario_named(want[0]) is by[want[0]]
    with pytest.raises(KeyError):
        scenarios.scenario_named("no_such_scenario")
    for fam in scenarios.families():
        assert all(s.family == fam for s in scenarios.scenarios_of(fam))
    with pytest.raises(KeyError):
        scenarios.scenarios_of("no_such_family")


def test_parsed_once_per_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = tmp_path / "sc"
    d.mkdir()
    (d / "a.yaml").write_text("family: tlb\nscenarios:\n  - name: t1\n    description: x\n"
                              "    params: {pattern: remap}\n")
    first = scenarios.load_scenarios(str(d))
    (d / "a.yaml").write_text("family: tlb\nscenarios:\n  - name: t2\n    description: y\n")
    assert [s.name for s in scenarios.load_scenarios(str(d))] == ["t1"]      # cached
    assert scenarios.scenario_named("t1", str(d)) is first[0]
    scenarios.clear_cache()
    assert [s.name for s in scenarios.load_scenarios(str(d))] == ["t2"]


@pytest.mark.parametrize("text,msg", [
    ("family: nope\nscenarios:\n  - {name: a, description: b}\n", "unknown family 'nope'"),
    ("family: tlb\nscenarios: []\n", "no scenarios"),
    ("family: tlb\nscenarios:\n  - {name: a}\n", "scenario a has no description"),
    ("family: tlb\nscenarios:\n  - {name: a, description: b, colour: 3}\n", "unknown key 'colour'"),
    ("family: tlb\nscenarios:\n  - {name: a, description: b, params: [1]}\n", "params must be a mapping"),
    ("- just a list\n", "expected a mapping"),
])
def test_bad_files_are_refused(tmp_path: Path, text: str, msg: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ValueError) as ei:
        scenarios.load_scenarios(str(tmp_path))
    assert msg in str(ei.value) and str(p) in str(ei.value)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    for n in ("a", "b"):
        (tmp_path / f"{n}.yaml").write_text(
            "family: tlb\nscenarios:\n  - {name: same, description: d}\n")
    with pytest.raises(ValueError, match="duplicate scenario name same"):
        scenarios.load_scenarios(str(tmp_path))


def test_typed_params() -> None:
    sc = Scenario("s", "tlb", "d", {"n": 3, "b": True, "s": "rx", "l": [0, "max"],
                                    "f": ["r-xs", 1]})
    assert sc.get_int("n", 0) == 3 and sc.get_int("missing", 7) == 7
    assert sc.get_bool("b", False) and sc.get_str("s", "") == "rx"
    assert sc.get_ints("l", []) == [0, -1]
    assert sc.vm_flags("f", []) == [VM_READ | VM_EXEC | VM_SHARED, VM_READ]
    for bad in (lambda: sc.get_int("b", 0), lambda: sc.get_bool("n", False),
                lambda: sc.get_str("n", ""), lambda: sc.get_ints("n", [])):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        scenarios.parse_vm_flags("rq")


def test_findings_and_direct_scenarios() -> None:
    """The helpers dsl/ can use instead of reading the YAML itself."""
    mips = scenarios.findings("mips")
    raw: list[tuple[str, dict[str, object]]] = []
    for s in scenarios.load_scenarios():
        got = s.params.get("findings")
        for f in got if isinstance(got, list) else []:
            if isinstance(f, dict) and f.get("arch") == "mips":
                raw.append((s.name, f))
    assert raw, "the shipped files document mips findings"
    assert [(f.scenario, f.check) for f in mips] == [(n, str(f["check"])) for n, f in raw]
    assert scenarios.findings("no_such_arch") == []
    direct = scenarios.direct_scenarios()
    assert direct and all(s.params.get("path") == "direct" for s in direct)
    for s in direct:
        flags = scenarios.kernel_write_vm_flags(s)
        if "vm_flags" not in s.params:
            assert flags == (VM_READ | VM_EXEC if s.family == "exec_after_kernel_write"
                             else VM_READ | VM_SHARED)
