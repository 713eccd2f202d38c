"""The scenario files as the generators read them, checked: every malformed
entry is a located diagnostic (file:line:col), never a KeyError.

Place in the flow: dsl/generate/scenarios.py passes the parsed YAML of
runtime/scenarios/*.yaml to ``validate``, which returns the checked
``ScenarioSet`` the backends read (scenario names, the ``path: direct``
parameters, the documented findings and model gaps per arch) together
with the diagnostics of everything malformed.  `ptdl generate` prints those
and writes nothing (dsl/generate/cli.py).

The walk works on the plain parsed documents (the fast path, cached
across processes, carries no positions); only when something is wrong is
the offending file composed again with positions (``_locate``) to turn the
path of the bad node into a line and column.  The rules are the runtime
loader's (runtime/scenarios.py: a mapping with a known ``family`` and a
non-empty ``scenarios`` list, each entry a mapping with a ``name`` and a
``description`` and no other key but ``params``, names unique across the
files) plus what the generators read: the direct scenarios' ``orders``,
``colour_offsets`` and ``vm_flags``, and every ``findings`` /
``model_gaps`` entry (``arch``, ``check``, ``why`` non-empty strings,
``cpu`` a list of names, no other key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence, Union

from ..source import Diagnostic, Loc, Note

# A path into a document: mapping keys and list indices; a trailing KEY
# marker points at the last key itself rather than its value.
Step = Union[str, int]
KEY = "\0key"
Documented = tuple[str, tuple[str, ...], str, str]      # scenario, cpu, check, why

ENTRY_KEYS = ("name", "description", "params")
FINDING_KEYS = ("arch", "cpu", "check", "why")
DOCUMENTED_KINDS = ("findings", "model_gaps")


@dataclass(frozen=True)
class ScenarioSet:
    """What the generators read from the scenario files (all checked)."""

    names: tuple[tuple[str, str, str], ...] = ()          # family, name, description
    direct: tuple[tuple[str, int, int, int], ...] = ()    # name, order, colour offset, vm_flags
    # kind ("findings", "model_gaps") -> arch -> entries, file then entry order
    documented: dict[str, dict[str, tuple[Documented, ...]]] = field(default_factory=dict)


@dataclass
class _Problem:
    file: str
    path: tuple[Step, ...]
    message: str
    first: tuple[str, tuple[Step, ...]] | None = None    # "first defined here"


class _Walk:
    def __init__(self, families: Sequence[str]) -> None:
        self.families = tuple(families)
        self.problems: list[_Problem] = []
        self.names: list[tuple[str, str, str]] = []
        self.direct: list[tuple[str, int, int, int]] = []
        self.documented: dict[str, dict[str, list[Documented]]] = {k: {} for k in DOCUMENTED_KINDS}
        self.seen: dict[str, tuple[str, tuple[Step, ...]]] = {}

    def bad(self, file: str, path: tuple[Step, ...], message: str) -> None:
        self.problems.append(_Problem(file, path, message))

    def doc(self, file: str, doc: object) -> None:
        if not isinstance(doc, dict):
            self.bad(file, (), "a scenario file is a mapping with `family` and `scenarios`")
            return
        family = doc.get("family")
        if "family" not in doc:
            self.bad(file, (), "no `family` (a scenario file is a mapping with "
                     "`family` and `scenarios`)")
            return
        if not isinstance(family, str) or family not in self.families:
            from ..suggest import did_you_mean
            hint = did_you_mean(family, self.families) if isinstance(family, str) else ""
            self.bad(file, ("family",), f"unknown family {family!r}{hint} "
                     f"(known: {', '.join(self.families)})")
            return
        entries = doc.get("scenarios")
        if not isinstance(entries, list) or not entries:
            self.bad(file, ("scenarios",) if "scenarios" in doc else (),
                     "`scenarios` must be a non-empty list of scenarios")
            return
        for i, e in enumerate(entries):
            self.entry(file, family, ("scenarios", i), e)

    def entry(self, file: str, family: str, at: tuple[Step, ...], e: object) -> None:
        if not isinstance(e, dict):
            self.bad(file, at, "each scenario is a mapping with `name` and `description`")
            return
        name = e.get("name")
        if not isinstance(name, str) or not name.strip():
            self.bad(file, at + ("name",) if "name" in e else at,
                     "a scenario needs a `name` (a non-empty string)")
            return
        desc = e.get("description")
        if not isinstance(desc, str) or not desc.strip():
            self.bad(file, at + ("description",) if "description" in e else at,
                     f"scenario '{name}' needs a `description` (a non-empty string)")
        for k in e:
            if k not in ENTRY_KEYS:
                self.bad(file, at + (str(k), KEY),
                         f"scenario '{name}': unknown key {k!r} (known: {', '.join(ENTRY_KEYS)})")
        first = self.seen.get(name)
        if first is not None:
            self.problems.append(_Problem(file, at + ("name",),
                                          f"duplicate scenario name '{name}'", first))
        else:
            self.seen[name] = (file, at + ("name",))
        self.names.append((family, name, " ".join(str(desc).split())))
        params = e.get("params")
        if params is None:
            return
        if not isinstance(params, dict):
            self.bad(file, at + ("params",), f"scenario '{name}': `params` must be a mapping")
            return
        at = at + ("params",)
        if params.get("path") == "direct":
            self.direct_params(file, family, name, at, params)
        for kind in DOCUMENTED_KINDS:
            self.documented_entries(file, name, kind, at, params)

    def direct_params(self, file: str, family: str, name: str, at: tuple[Step, ...],
                      params: dict[Any, Any]) -> None:
        orders = params.get("orders", [0])
        offs = params.get("colour_offsets", [0])
        ok = True
        if not isinstance(orders, list) or not orders or \
                not all(o == "max" or _natural(o) for o in orders):
            self.bad(file, at + ("orders",), f"scenario '{name}': `orders` must be a "
                     "non-empty list of folio orders (integers >= 0, or max)")
            ok = False
        if not isinstance(offs, list) or not offs or not all(_natural(o) for o in offs):
            self.bad(file, at + ("colour_offsets",), f"scenario '{name}': `colour_offsets` "
                     "must be a non-empty list of integers >= 0")
            ok = False
        default = "rx" if family == "exec_after_kernel_write" else "rs"
        flags = params.get("vm_flags", default)
        vm = vm_flags(flags)
        if vm is None:
            self.bad(file, at + ("vm_flags",), f"scenario '{name}': bad VM flags {flags!r} "
                     "(letters r w x s, or none)")
            ok = False
        if ok and vm is not None:
            order = -1 if orders[0] == "max" else int(orders[0])
            self.direct.append((name, order, int(offs[0]), vm))

    def documented_entries(self, file: str, name: str, kind: str, at: tuple[Step, ...],
                           params: dict[Any, Any]) -> None:
        rows = params.get(kind)
        if rows is None:
            return
        what = "a finding" if kind == "findings" else "a model gap"
        if not isinstance(rows, list):
            self.bad(file, at + (kind,), f"scenario '{name}': `{kind}` must be a list")
            return
        for i, f in enumerate(rows):
            here = at + (kind, i)
            if not isinstance(f, dict):
                self.bad(file, here, f"scenario '{name}': {what} is a mapping with "
                         "`arch`, `check` and `why` (and optionally `cpu`)")
                continue
            ok = True
            for k in f:
                if k not in FINDING_KEYS:
                    self.bad(file, here + (str(k), KEY), f"scenario '{name}': unknown key "
                             f"{k!r} in {what} (known: {', '.join(FINDING_KEYS)})")
                    ok = False
            for k in ("arch", "check", "why"):
                v = f.get(k)
                if k not in f:
                    self.bad(file, here, f"scenario '{name}': {what} needs `{k}`")
                    ok = False
                elif not isinstance(v, str) or not v.strip():
                    self.bad(file, here + (k,),
                             f"scenario '{name}': `{k}` of {what} must be a non-empty string")
                    ok = False
            cpu = f.get("cpu", [])
            if cpu is None:
                cpu = []
            if not isinstance(cpu, list) or not all(isinstance(c, str) and c for c in cpu):
                self.bad(file, here + ("cpu",), f"scenario '{name}': `cpu` of {what} must "
                         "be a list of CPU feature names")
                ok = False
            if ok:
                self.documented[kind].setdefault(str(f["arch"]), []).append(
                    (name, tuple(sorted(cpu)), str(f["check"]), " ".join(str(f["why"]).split())))


def _natural(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def vm_flags(text: object) -> int | None:
    """The VM flags of `text` (letters r w x s, ``-`` and ``p`` ignored,
    "none", or an integer), or None if malformed."""
    from .layout import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if text >= 0 else None
    if not isinstance(text, str):
        return None
    if text == "none":
        return 0
    bits = {"r": VM_READ, "w": VM_WRITE, "x": VM_EXEC, "s": VM_SHARED}
    if any(ch not in bits and ch not in "-p" for ch in text):     # as runtime/scenarios.py
        return None
    return sum(bits[ch] for ch in set(text) if ch in bits)


def validate(docs: Sequence[tuple[str, object]], families: Sequence[str],
             texts: dict[str, str]) -> tuple[ScenarioSet, list[Diagnostic]]:
    """Check the parsed documents (shown file name, document); `texts`
    (shown name -> text) places the diagnostics."""
    w = _Walk(families)
    for file, doc in docs:
        w.doc(file, doc)
    diags = [_diagnostic(p, texts) for p in w.problems]
    out = ScenarioSet(tuple(w.names), tuple(w.direct),
                      {k: {a: tuple(v) for a, v in by.items()} for k, by in w.documented.items()})
    return out, diags


def _diagnostic(p: _Problem, texts: dict[str, str]) -> Diagnostic:
    notes: tuple[Note, ...] = ()
    if p.first is not None:
        notes = (Note(_locate(p.first[0], texts.get(p.first[0], ""), p.first[1]),
                      "first defined here"),)
    return Diagnostic(_locate(p.file, texts.get(p.file, ""), p.path), p.message, notes=notes)


def _locate(file: str, text: str, path: tuple[Step, ...]) -> Loc:
    """The position of the node at `path` in `text` (the deepest node of
    the path that exists; 1:1 if the text does not compose)."""
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node: Any = yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        node = None
    if node is None:
        return Loc(file, 1, 1)
    for i, step in enumerate(path):
        nxt: Any = None
        if step == KEY:
            break
        if isinstance(node, yaml.MappingNode):
            want_key = i + 1 < len(path) and path[i + 1] == KEY
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(step):
                    nxt = k if want_key else v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and 0 <= step < len(node.value):
            nxt = node.value[step]
        if nxt is None:
            break
        node = nxt
    mark = node.start_mark
    return Loc(file, mark.line + 1, mark.column + 1)
