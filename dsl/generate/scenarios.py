"""The conformance scenarios as the generators see them: names, findings
and the `path: direct` scenarios' parameters (runtime/scenarios/*.yaml),
and the runtime constants their geometry uses.

Place in the flow: used by dsl/generate/ctests.py (the scenario list and
findings it spells out) and dsl/generate/expect.py (the direct
scenarios).  Constants are read from runtime/'s sources, never imported:
generation must not load the mypyc-compiled runtime.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ast

from .layout import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"


def runtime_constant(module: str, name: str) -> int:
    """The integer constant `name` as runtime/<module>.py defines it, read
    from its source (generation must not import the mypyc-compiled runtime:
    its shared library lives at the project root, off the CLI's path)."""
    from .. import diskcache
    path = RUNTIME_DIR / f"{module}.py"
    text = path.read_text(encoding="utf-8")
    # Kept in the ptdl cache, keyed by the source's text and this module.
    key = diskcache.key_of(diskcache.fingerprint((str(Path(__file__).resolve()),)),
                           str(path), name, text)
    hit = diskcache.get("constants", key)
    if hit is not None and hit.lstrip(b"-").isdigit():
        return int(hit)
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
                if isinstance(value, int):
                    diskcache.put("constants", key, str(value).encode())
                    return value
    raise LookupError(f"{path}: no integer constant {name}")


_SOURCES: dict[Path, "ast.Module"] = {}
DIRECT_PFN = runtime_constant("scenarios", "DIRECT_PFN")
KERNEL_BASE_64 = runtime_constant("arch", "KERNEL_BASE_64")
KERNEL_BASE_32 = runtime_constant("arch", "KERNEL_BASE_32")
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "runtime" / "scenarios"


def _read_docs(d: Path) -> tuple[tuple[str, object], ...]:
    """(file name, parsed YAML) of every scenario file in d, in name order:
    parsed once per process (with libyaml's loader where PyYAML has it) and
    keyed by the files' names, sizes and mtimes, so an edited file is read
    again.  Callers must not mutate the documents.  Across processes the
    parsed documents are kept in the ptdl cache (dsl/diskcache.py), keyed
    by the files' names and text, this module and PyYAML."""
    stamp = _stamp(d)
    key = (str(d), stamp)
    hit = _DOCS.get(key)
    if hit is None:
        texts = [(name, (d / name).read_text(encoding="utf-8")) for name, _, _ in stamp]
        hit = _parse_yaml(texts)
        _DOCS[key] = hit
    return hit


def _parse_yaml(texts: list[tuple[str, str]]) -> tuple[tuple[str, object], ...]:
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
    docs = tuple((name, yaml.load(text, Loader=loader)) for name, text in texts)
    diskcache.put("scenarios", key, pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL))
    return docs


def _stamp(d: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime) of d's *.yaml files, in name order (one stat each)."""
    try:
        entries = [(e.name, e.stat()) for e in os.scandir(d)
                   if e.name.endswith(".yaml") and e.is_file()]
    except FileNotFoundError:
        return ()
    return tuple(sorted((n, st.st_size, st.st_mtime_ns) for n, st in entries))


_DOCS: dict[tuple[str, tuple[tuple[str, int, int], ...]], tuple[tuple[str, object], ...]] = {}


def _docs(directory: Path | None) -> list[dict[str, Any]]:
    return [doc for _, doc in _read_docs(directory or SCENARIO_DIR) if isinstance(doc, dict)]


def parse_vm_flags(text: str | int) -> int:
    if isinstance(text, int):
        return text
    if text == "none":
        return 0
    bits = {"r": VM_READ, "w": VM_WRITE, "x": VM_EXEC, "s": VM_SHARED}
    return sum(bits[ch] for ch in text if ch in bits)


def load_direct_scenarios(directory: Path | None = None) -> list[tuple[str, int, int, int]]:
    """(name, order, colour offset, vm_flags) of every ``path: direct``
    scenario in the scenario files."""
    out: list[tuple[str, int, int, int]] = []
    for doc in _docs(directory):
        for e in doc.get("scenarios", []):
            params = e.get("params") or {}
            if params.get("path") != "direct":
                continue
            orders = params.get("orders", [0])
            offs = params.get("colour_offsets", [0])
            default = "rx" if doc.get("family") == "exec_after_kernel_write" else "rs"
            out.append((e["name"], int(orders[0]) if orders[0] != "max" else -1,
                        int(offs[0]), parse_vm_flags(params.get("vm_flags", default))))
    return out


def load_findings(arch: str, directory: Path | None = None
                  ) -> list[tuple[str, tuple[str, ...], str, str]]:
    """Documented findings for `arch`: (scenario, cpu, check, why).

    A scenario's `params.findings` lists runs in which the model reports a
    violation that we believe the kernel really has (not a model gap); the
    generated test asserts that exactly that check fires, so the finding
    stays reproduced and visible instead of silently skipped."""
    return _documented(arch, "findings", directory)


def load_model_gaps(arch: str, directory: Path | None = None
                    ) -> list[tuple[str, tuple[str, ...], str, str]]:
    """Documented model gaps for `arch`, same shape as load_findings: a
    scenario's `params.model_gaps` lists runs in which the model reports a
    violation that comes from what runtime/ does not model (not a kernel
    finding); the generated test asserts exactly that check fires and
    reports the run as an expected failure, "model gap: <why>"."""
    return _documented(arch, "model_gaps", directory)


def _documented(arch: str, kind: str, directory: Path | None
                ) -> list[tuple[str, tuple[str, ...], str, str]]:
    out: list[tuple[str, tuple[str, ...], str, str]] = []
    for doc in _docs(directory):
        for e in doc.get("scenarios", []):
            for f in (e.get("params") or {}).get(kind, []) or []:
                if f.get("arch") == arch:
                    out.append((str(e["name"]), tuple(sorted(f.get("cpu", []))),
                                str(f["check"]), " ".join(str(f["why"]).split())))
    return out


def load_scenario_names(directory: Path | None = None) -> list[tuple[str, str, str]]:
    """(family, name, description) of every scenario, file then entry order."""
    out: list[tuple[str, str, str]] = []
    for doc in _docs(directory):
        for e in doc.get("scenarios", []):
            out.append((str(doc.get("family")), str(e["name"]),
                        " ".join(str(e.get("description", "")).split())))
    return out
