"""Malformed scenario files are located errors for `ptdl generate`, never a
traceback (dsl/generate/scenario_check.py, dsl/generate/scenarios.py).

Each tests/fixtures/scenarios/NAME.yaml is one malformed input; the
diagnostics it must give are NAME.expected beside it (file:line:col, the
line and a caret).  Run with PTDL_UPDATE_GOLDEN=1 to rewrite the .expected
files, then review the diff by eye: each must show the error it is named
for (MESSAGE below guards that).  The CLI test runs `ptdl generate` with
one such file among the shipped scenarios: exit 1, the diagnostic, and
generated/ untouched.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest

from dsl.cli import main
from dsl.generate import scenarios

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "scenarios"
CASES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
UPDATE = os.environ.get("PTDL_UPDATE_GOLDEN") == "1"

# The message each fixture exists for (a regenerated golden must keep it).
MESSAGE = {
    "not_utf8": "4:21: error: invalid UTF-8 (byte 0xe9); scenario files are UTF-8 text",
    "not_yaml": "6:27: error: not valid YAML: did not find expected ',' or ']'",
    "not_a_mapping": "2:1: error: a scenario file is a mapping with `family` and `scenarios`",
    "no_family": "2:1: error: no `family`",
    "unknown_family": "1:9: error: unknown family 'tbl' (did you mean 'tlb'?)",
    "no_scenarios": "2:12: error: `scenarios` must be a non-empty list",
    "entry_not_mapping": "3:5: error: each scenario is a mapping",
    "no_name": "3:5: error: a scenario needs a `name`",
    "no_description": "4:18: error: scenario 't' needs a `description`",
    "unknown_entry_key": "5:5: error: scenario 't': unknown key 'colour'",
    "params_not_mapping": "5:13: error: scenario 't': `params` must be a mapping",
    "duplicate_name": "5:11: error: duplicate scenario name 't'",
    "direct_bad_orders": "7:15: error: scenario 't': `orders` must be a non-empty list",
    "direct_bad_colour_offsets": "7:23: error: scenario 't': `colour_offsets` must be",
    "direct_bad_vm_flags": "7:17: error: scenario 't': bad VM flags 'rwq'",
    "findings_not_list": "6:17: error: scenario 't': `findings` must be a list",
    "finding_not_mapping": "7:11: error: scenario 't': a finding is a mapping",
    "finding_missing_check": "8:11: error: scenario 't': a finding needs `check`",
    "finding_missing_why": "8:11: error: scenario 't': a finding needs `why`",
    "finding_bad_arch": "7:17: error: scenario 't': `arch` of a finding must be a non-empty",
    "finding_bad_cpu": "9:16: error: scenario 't': `cpu` of a finding must be a list",
    "finding_unknown_key": "8:11: error: scenario 't': unknown key 'cpus' in a finding",
    "model_gap_missing_why": "7:11: error: scenario 't': a model gap needs `why`",
}


def _diagnostics(path: Path) -> str:
    with pytest.raises(scenarios.ScenarioError) as ei:
        scenarios.check_files([path])
    return ei.value.render()


@pytest.mark.parametrize("name", CASES)
def test_malformed_scenario_file_is_a_located_error(name: str) -> None:
    got = _diagnostics(FIXTURES / f"{name}.yaml")
    golden = FIXTURES / f"{name}.expected"
    if UPDATE:
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")
    assert f"tests/fixtures/scenarios/{name}.yaml:{MESSAGE[name]}" in got


def test_every_fixture_has_its_expectation_and_message() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.expected")) == CASES
    assert sorted(MESSAGE) == CASES


def test_shipped_scenarios_are_well_formed() -> None:
    scenarios.check_files(sorted(scenarios.SCENARIO_DIR.glob("*.yaml")))


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(scenarios.ScenarioError) as ei:
        scenarios.check_files([tmp_path / "gone.yaml"])
    assert ei.value.render() == f"{tmp_path / 'gone.yaml'}:1:1: error: cannot read: " \
        "No such file or directory\n"


def test_errors_are_not_cached(tmp_path: Path) -> None:
    """A malformed directory raises on every call (no entry is kept), and
    once fixed it is read afresh."""
    d = tmp_path / "sc"
    d.mkdir()
    bad = (FIXTURES / "finding_missing_why.yaml").read_text(encoding="utf-8")
    (d / "a.yaml").write_text(bad, encoding="utf-8")
    for _ in range(2):
        with pytest.raises(scenarios.ScenarioError, match="1 error"):
            scenarios.load_findings("mips", d)
    (d / "a.yaml").write_text(bad + "          why: now documented\n", encoding="utf-8")
    assert scenarios.load_findings("mips", d) == [("t", (), "stale_tlb", "now documented")]


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    for n in ("a", "b"):
        (tmp_path / f"{n}.yaml").write_text(
            "family: tlb\nscenarios:\n  - {name: same, description: d}\n", encoding="utf-8")
    with pytest.raises(scenarios.ScenarioError) as ei:
        scenarios.load_scenario_names(tmp_path)
    text = ei.value.render()
    assert "b.yaml:3:12: error: duplicate scenario name 'same'" in text
    assert "a.yaml:3:12: note: first defined here" in text


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / "generated").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("check", [False, True])
def test_generate_with_a_malformed_scenario_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check: bool) -> None:
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "archdefs", proj / "archdefs")
    shutil.copytree(ROOT / "generated", proj / "generated",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    (proj / "archdefs" / "x86.arch").write_text(   # would change x86's files
        (ROOT / "archdefs" / "x86.arch").read_text(encoding="utf-8") + "\n# edited\n",
        encoding="utf-8")
    sc = tmp_path / "scenarios"
    shutil.copytree(scenarios.SCENARIO_DIR, sc)
    shutil.copy(FIXTURES / "finding_missing_check.yaml", sc / "zz_bad.yaml")
    monkeypatch.setattr(scenarios, "SCENARIO_DIR", sc)
    before = _tree(proj)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--color", "never", "-C", str(proj), "generate"] + (["--check"] if check else []))
    assert rc == 1
    want = (FIXTURES / "finding_missing_check.expected").read_text(encoding="utf-8")
    assert err.getvalue() == want.replace("tests/fixtures/scenarios/finding_missing_check.yaml",
                                          str(sc / "zz_bad.yaml")) + \
        "ptdl generate: errors in the scenario files; generated/ left as it was\n"
    assert "Traceback" not in err.getvalue() and out.getvalue() == ""
    assert _tree(proj) == before


def test_ptdl_test_regeneration_reports_a_malformed_scenario(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ptdl test` / `ptdl build` regenerate through dsl/uptodate.py: the
    same located error, nothing written, no build."""
    from dsl import uptodate
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "archdefs", proj / "archdefs")
    sc = tmp_path / "scenarios"
    shutil.copytree(scenarios.SCENARIO_DIR, sc)
    shutil.copy(FIXTURES / "finding_bad_cpu.yaml", sc / "zz_bad.yaml")
    monkeypatch.setattr(scenarios, "SCENARIO_DIR", sc)
    out = io.StringIO()
    rep = uptodate.ensure_up_to_date(proj, ["x86"], out=out)
    assert not rep.ok
    assert f"{sc / 'zz_bad.yaml'}:9:16: error: scenario 't': `cpu` of a finding" in rep.error
    assert rep.error.endswith("ptdl: errors in the scenario files; generated/ left as it was\n")
    assert not (proj / "generated").exists() and out.getvalue() == ""
