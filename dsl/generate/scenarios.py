"""The conformance scenarios as the generators see them: names, findings
and the `path: direct` scenarios' parameters (runtime/scenarios/*.yaml),
and the runtime constants their geometry uses.

Place in the flow: used by dsl/generate/ctests.py (the scenario list and
findings it spells out) and dsl/generate/expect.py (the direct
scenarios); `ptdl generate` calls ``check`` first.  The files are checked
by dsl/generate/scenario_check.py: anything malformed raises
ScenarioError with located diagnostics (file:line:col).  Constants are read from runtime/'s sources, never imported:
generation must not load the mypyc-compiled runtime.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import ast

from ..source import Diagnostic, Loc, SourceCache
from .scenario_check import ScenarioSet, validate, vm_flags

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"


def runtime_constant(module: str, name: str) -> int:
    """The integer constant `name` as runtime/<module>.py defines it, read
    from its source (generation must not import the mypyc-compiled runtime:
    its shared library lives at the project root, off the CLI's path)."""
    value = runtime_literal(module, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise LookupError(f"{RUNTIME_DIR / (module + '.py')}: no integer constant {name}")
    return value


def runtime_literal(module: str, name: str) -> int | tuple[str, ...]:
    """The constant `name` (an integer or a tuple of strings) as
    runtime/<module>.py assigns it, read from its source."""
    import json
    from .. import diskcache
    path = RUNTIME_DIR / f"{module}.py"
    text = path.read_text(encoding="utf-8")
    # Kept in the ptdl cache (as JSON), keyed by the source's text and this module.
    key = diskcache.key_of(diskcache.fingerprint((str(Path(__file__).resolve()),)),
                           str(path), name, text)
    hit = diskcache.get("constants", key)
    if hit is not None:
        try:
            got = json.loads(hit)
        except ValueError:        # a damaged entry is a miss
            got = None
        if isinstance(got, int) and not isinstance(got, bool):
            return got
        if isinstance(got, list) and all(isinstance(x, str) for x in got):
            return tuple(got)
    import ast
    tree = _SOURCES.get(path)
    if tree is None:           # each source parsed once per process
        tree = _SOURCES[path] = ast.parse(text, str(path))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) \
                    and node.value is not None:
                value = ast.literal_eval(node.value)
                if isinstance(value, int) and not isinstance(value, bool):
                    diskcache.put("constants", key, json.dumps(value).encode())
                    return value
                if isinstance(value, tuple) and all(isinstance(x, str) for x in value):
                    diskcache.put("constants", key, json.dumps(list(value)).encode())
                    return value
    raise LookupError(f"{path}: no integer or string-tuple constant {name}")


_SOURCES: dict[Path, "ast.Module"] = {}
DIRECT_PFN = runtime_constant("scenarios", "DIRECT_PFN")
KERNEL_BASE_64 = runtime_constant("arch", "KERNEL_BASE_64")
KERNEL_BASE_32 = runtime_constant("arch", "KERNEL_BASE_32")
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "runtime" / "scenarios"


class ScenarioError(Exception):
    """Malformed scenario files: located diagnostics (with the texts that
    quote them), printed by `ptdl generate`, which then writes nothing."""

    def __init__(self, diags: list[Diagnostic], sources: SourceCache) -> None:
        super().__init__(f"{len(diags)} error(s) in the scenario files")
        self.diags = diags
        self.sources = sources

    def render(self) -> str:
        from ..source import render
        return render(self.diags, self.sources)


def _checked(d: Path) -> tuple[tuple[tuple[str, object], ...], ScenarioSet]:
    """(file name, parsed YAML) of every scenario file in d, in name order,
    and what the generators read from them, checked (ScenarioError,
    file:line:col, if anything is malformed).  Parsed once per process
    (with libyaml's loader where PyYAML has it) per state of the files
    (``_stamp``: their names, sizes and mtimes, so an edited file is read
    again); callers must not mutate the documents.  Across processes the
    parsed documents are kept in the ptdl cache (dsl/diskcache.py), keyed
    by the files' names and text, this module and PyYAML."""
    if _FROZEN is not None:
        got = _FROZEN.get(str(d))
        if got is not None:
            return got
    stamp = _stamp(d)
    key = (str(d), stamp)
    hit = _DOCS.get(key)
    if hit is None:
        hit = _DOCS[key] = _load([d / name for name, _, _ in stamp])
    if _FROZEN is not None:
        _FROZEN[str(d)] = hit
    return hit


_FROZEN: dict[str, tuple[tuple[tuple[str, object], ...], ScenarioSet]] | None = None


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """Within this block each directory's files are read and checked once
    and not looked at again (`ptdl generate` renders from one reading;
    without it every call stats the files to see edits)."""
    global _FROZEN
    outer = _FROZEN
    _FROZEN = {} if outer is None else outer
    try:
        yield
    finally:
        _FROZEN = outer


def check_files(paths: list[Path]) -> None:
    """Raise ScenarioError if any of these scenario files is malformed
    (the check of `ptdl generate` on files of one's choosing)."""
    _load(paths)


def _load(paths: list[Path]) -> tuple[tuple[tuple[str, object], ...], ScenarioSet]:
    shown = {p.name: _shown(p) for p in paths}
    texts = [(p.name, _read(p, shown[p.name])) for p in paths]
    docs = _parse_yaml(texts, shown)
    families = runtime_literal("scenarios", "FAMILIES")
    if not isinstance(families, tuple):
        raise LookupError(f"{RUNTIME_DIR / 'scenarios.py'}: FAMILIES is not a tuple of names")
    checked, diags = validate([(shown[n], doc) for n, doc in docs], families,
                              {shown[n]: t for n, t in texts})
    if diags:
        raise ScenarioError(diags, _sources({shown[n]: t for n, t in texts}))
    return docs, checked


def _read(p: Path, shown: str) -> str:
    """The text of scenario file p, or ScenarioError (unreadable, not UTF-8)."""
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ScenarioError([Diagnostic(Loc(shown, 1, 1), f"cannot read: {e.strerror or e}")],
                            SourceCache()) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError([Diagnostic(Loc.of_byte(shown, data, e.start), f"invalid UTF-8 (byte "
                                        f"0x{data[e.start]:02x}); scenario files are UTF-8 text")],
                            SourceCache()) from None


def _shown(p: Path) -> str:
    """A scenario file's name in diagnostics: relative to the project root
    when it is inside it."""
    root = RUNTIME_DIR.parent
    try:
        return str(p.resolve().relative_to(root))
    except ValueError:
        return str(p)


def _sources(texts: dict[str, str]) -> SourceCache:
    cache = SourceCache()
    for name, text in texts.items():
        cache.add(name, text)
    return cache


def _parse_yaml(texts: list[tuple[str, str]],
                shown: dict[str, str] | None = None) -> tuple[tuple[str, object], ...]:
    """(name, document) of each (name, text); `shown` names the files in
    a syntax error's diagnostic."""
    import importlib.util
    import pickle
    from .. import diskcache
    spec = importlib.util.find_spec("yaml")     # its __init__ carries the version
    lib = (spec.origin,) if spec is not None and spec.origin else ()
    code = diskcache.fingerprint((str(Path(__file__).resolve()),) + lib)
    key = diskcache.key_of(code, *[part for name, text in texts for part in (name, text)])
    data = diskcache.get("scenarios", key)
    if data is not None:
        try:
            got = pickle.loads(data)
        except Exception:     # a damaged entry is a miss
            got = None
        if isinstance(got, tuple) and [n for n, _ in got] == [n for n, _ in texts]:
            return got
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs: list[tuple[str, object]] = []
    for name, text in texts:
        try:
            docs.append((name, yaml.load(text, Loader=loader)))
        except yaml.YAMLError as e:    # never cached: errors are made afresh
            where = (shown or {}).get(name, name)
            raise ScenarioError([_yaml_diagnostic(where, e)], _sources({where: text})) from None
    out = tuple(docs)
    diskcache.put("scenarios", key, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    return out


def _yaml_diagnostic(shown: str, e: Exception) -> Diagnostic:
    """A YAML syntax error at its position (libyaml and PyYAML both give
    ``problem_mark``; ``context_mark`` when there is no problem mark)."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    msg = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Diagnostic(Loc(shown, 1, 1), msg)
    return Diagnostic(Loc(shown, mark.line + 1, mark.column + 1), msg)


def _stamp(d: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime) of d's *.yaml files, in name order (one stat each)."""
    try:
        entries = [(e.name, e.stat()) for e in os.scandir(d)
                   if e.name.endswith(".yaml") and e.is_file()]
    except FileNotFoundError:
        return ()
    return tuple(sorted((n, st.st_size, st.st_mtime_ns) for n, st in entries))


_DOCS: dict[tuple[str, tuple[tuple[str, int, int], ...]],
            tuple[tuple[tuple[str, object], ...], ScenarioSet]] = {}


def check(directory: Path | None = None) -> None:
    """Raise ScenarioError if any scenario file is malformed (`ptdl
    generate` calls this before rendering anything)."""
    _checked(directory or SCENARIO_DIR)


def _set(directory: Path | None) -> ScenarioSet:
    return _checked(directory or SCENARIO_DIR)[1]


def parse_vm_flags(text: str | int) -> int:
    """VM flags from ``rwxs`` letters (``-``, ``p`` ignored), ``none`` or an
    integer (ValueError if malformed)."""
    got = vm_flags(text)
    if got is None:
        raise ValueError(f"bad VM flags {text!r} (letters r w x s, or none)")
    return got


def load_direct_scenarios(directory: Path | None = None) -> list[tuple[str, int, int, int]]:
    """(name, order, colour offset, vm_flags) of every ``path: direct``
    scenario in the scenario files (order -1: max)."""
    return list(_set(directory).direct)


def load_findings(arch: str, directory: Path | None = None
                  ) -> list[tuple[str, tuple[str, ...], str, str]]:
    """Documented findings for `arch`: (scenario, cpu, check, why).

    A scenario's `params.findings` lists runs in which the model reports a
    violation that we believe the kernel really has (not a model gap); the
    generated test asserts that exactly that check fires, so the finding
    stays reproduced and visible instead of silently skipped."""
    return list(_set(directory).documented["findings"].get(arch, ()))


def load_model_gaps(arch: str, directory: Path | None = None
                    ) -> list[tuple[str, tuple[str, ...], str, str]]:
    """Documented model gaps for `arch`, same shape as load_findings: a
    scenario's `params.model_gaps` lists runs in which the model reports a
    violation that comes from what runtime/ does not model (not a kernel
    finding); the generated test asserts exactly that check fires and
    reports the run as an expected failure, "model gap: <why>"."""
    return list(_set(directory).documented["model_gaps"].get(arch, ()))


def load_scenario_names(directory: Path | None = None) -> list[tuple[str, str, str]]:
    """(family, name, description) of every scenario, file then entry order."""
    return list(_set(directory).names)
