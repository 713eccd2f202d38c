"""The scenario loader: ``runtime/scenarios/*.yaml`` parsed once per process.

Place in the flow: the conformance runner (runtime/conformance.py) and the
families (runtime/families/) read scenarios through here, and so can
``dsl/`` (the generated tests list scenarios; dsl/generate/expect.py needs
their parameters).  The file format is the README's "Conformance
scenarios" section: ``family: NAME`` and ``scenarios:`` a list of
``{name, description, params}``.  Files are parsed with ``yaml.CSafeLoader``
when PyYAML has its C extension (else ``yaml.SafeLoader``) and cached per
directory for the life of the process.

API (stable; ``dsl/`` may rely on it):

* ``FAMILIES`` -- every family name a file may declare;
* ``load_scenarios(directory="") -> list[Scenario]`` -- every scenario, in
  file then entry order (names unique);
* ``scenario_named(name, directory="") -> Scenario`` (``KeyError``);
* ``scenarios_by_name(directory="") -> dict[str, Scenario]``;
* ``families(directory="") -> list[str]`` -- the families the files use,
  in first-use order;
* ``scenarios_of(family, directory="") -> list[Scenario]``;
* ``Scenario``: ``name``, ``family``, ``description``, ``params`` and the
  typed getters ``get_int`` / ``get_bool`` / ``get_str`` / ``get_ints`` /
  ``orders`` / ``vm_flags``;
* ``parse_vm_flags(text) -> int``; ``DIRECT_PFN``; ``SCENARIO_DIR``.
"""

from __future__ import annotations

import os
from typing import Any

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, Arch

FAMILIES: tuple[str, ...] = (
    "pgtable_props", "set_ptes_vs_set_pte_at", "pfn_advance", "fault_around",
    "exec_after_kernel_write", "read_after_kernel_write", "pg_arch_1_lifecycle",
    "page_table_check", "prefault", "tlb",
    "remap_present", "exec_after_read",     # issue 10 items 7, 8
    "lazy_callers", "flush_preload",
    "special_pages", "highmem", "pmd_map",
    "alias_mappings", "cache_calls",
    "user_copy",                            # issue 10 item 2: copy/clear_user_highpage
)

# The first pfn of the folio a ``path: direct`` scenario maps (aligned for
# every folio order up to 16); dsl/generate/expect.py relies on it.
DIRECT_PFN = 0x10000

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


class Scenario:
    """One entry of a scenario file."""

    name: str
    family: str
    description: str
    params: dict[str, object]

    def __init__(self, name: str, family: str, description: str,
                 params: dict[str, object]) -> None:
        self.name = name
        self.family = family
        self.description = description
        self.params = params

    def __repr__(self) -> str:
        return "Scenario(%s/%s)" % (self.family, self.name)

    # typed parameter access ---------------------------------------------
    def get_int(self, key: str, default: int) -> int:
        v = self.params.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("%s: parameter %s must be an integer" % (self.name, key))
        return v

    def get_bool(self, key: str, default: bool) -> bool:
        v = self.params.get(key, default)
        if not isinstance(v, bool):
            raise ValueError("%s: parameter %s must be true/false" % (self.name, key))
        return v

    def get_str(self, key: str, default: str) -> str:
        v = self.params.get(key, default)
        if not isinstance(v, str):
            raise ValueError("%s: parameter %s must be a string" % (self.name, key))
        return v

    def get_ints(self, key: str, default: list[int]) -> list[int]:
        """A list of integers; the word ``max`` stands for the arch's
        largest folio order (resolved by the caller through ``orders``)."""
        v = self.params.get(key, default)
        if not isinstance(v, list):
            raise ValueError("%s: parameter %s must be a list" % (self.name, key))
        out: list[int] = []
        for x in v:
            if isinstance(x, bool):
                raise ValueError("%s: parameter %s: booleans are not integers" % (self.name, key))
            if isinstance(x, int):
                out.append(x)
            elif x == "max":
                out.append(-1)
            else:
                raise ValueError("%s: parameter %s: %r is not an integer" % (self.name, key, x))
        return out

    def orders(self, arch: Arch, key: str = "orders",
               default: list[int] | None = None) -> list[int]:
        """Folio orders, ``max`` -> PMD order; orders above it dropped."""
        out: list[int] = []
        for o in self.get_ints(key, [0] if default is None else default):
            if o < 0:
                o = arch.max_folio_order
            if o <= arch.max_folio_order and o not in out:
                out.append(o)
        return out

    def vm_flags(self, key: str, default: list[int]) -> list[int]:
        """VM flag sets, written as ints or strings like ``r-xs`` / ``rx``."""
        v = self.params.get(key, default)
        if not isinstance(v, list):
            raise ValueError("%s: parameter %s must be a list" % (self.name, key))
        out: list[int] = []
        for x in v:
            if isinstance(x, int) and not isinstance(x, bool):
                out.append(x)
            elif isinstance(x, str):
                out.append(parse_vm_flags(x))
            else:
                raise ValueError("%s: parameter %s: bad VM flags %r" % (self.name, key, x))
        return out


def parse_vm_flags(text: str) -> int:
    """``rwxs`` letters (``-`` ignored) or ``none`` -> VM_* bits."""
    if text == "none":
        return 0
    flags = 0
    for ch in text:
        if ch == "r":
            flags |= VM_READ
        elif ch == "w":
            flags |= VM_WRITE
        elif ch == "x":
            flags |= VM_EXEC
        elif ch == "s":
            flags |= VM_SHARED
        elif ch != "-" and ch != "p":
            raise ValueError("bad VM flags %r (letters r w x s, or none)" % text)
    return flags


# ---------------------------------------------------------------------------
# Parsing


def _scenario_from(entry: object, family: str, path: str) -> Scenario:
    if not isinstance(entry, dict):
        raise ValueError("%s: each scenario is a mapping" % path)
    name = entry.get("name")
    desc = entry.get("description", "")
    params = entry.get("params", {})
    if not isinstance(name, str) or not name:
        raise ValueError("%s: scenario without a name" % path)
    if not isinstance(desc, str) or not desc:
        raise ValueError("%s: scenario %s has no description" % (path, name))
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError("%s: scenario %s: params must be a mapping" % (path, name))
    clean: dict[str, object] = {}
    for k, v in params.items():
        clean[str(k)] = v
    for k in entry:
        if k not in ("name", "description", "params"):
            raise ValueError("%s: scenario %s: unknown key %r" % (path, name, k))
    return Scenario(name, family, " ".join(desc.split()), clean)


def _yaml_load(text: str) -> Any:
    import yaml
    loader: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    return yaml.load(text, Loader=loader)


def parse_scenario_file(text: str, path: str) -> list[Scenario]:
    """A scenario file: ``family: NAME`` and ``scenarios: [...]``."""
    doc: Any = _yaml_load(text)
    if not isinstance(doc, dict):
        raise ValueError("%s: expected a mapping with family and scenarios" % path)
    family = doc.get("family")
    if family not in FAMILIES:
        raise ValueError("%s: unknown family %r (known: %s)" % (path, family, ", ".join(FAMILIES)))
    entries = doc.get("scenarios")
    if not isinstance(entries, list) or not entries:
        raise ValueError("%s: no scenarios" % path)
    return [_scenario_from(e, str(family), path) for e in entries]


def _read_dir(d: str) -> list[Scenario]:
    out: list[Scenario] = []
    seen: set[str] = set()
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".yaml"):
            continue
        path = os.path.join(d, fn)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for s in parse_scenario_file(text, path):
            if s.name in seen:
                raise ValueError("%s: duplicate scenario name %s" % (path, s.name))
            seen.add(s.name)
            out.append(s)
    return out


# directory (absolute) -> its scenarios, parsed once per process
_CACHE: dict[str, list[Scenario]] = {}


def _cached(directory: str) -> list[Scenario]:
    d = os.path.abspath(directory or SCENARIO_DIR)
    got = _CACHE.get(d)
    if got is None:
        got = _read_dir(d)
        _CACHE[d] = got
    return got


def clear_cache() -> None:
    """Forget parsed files (tests that write scenario files)."""
    _CACHE.clear()


# ---------------------------------------------------------------------------
# The API


def load_scenarios(directory: str = "") -> list[Scenario]:
    """Every scenario of every ``*.yaml`` file, in file then entry order;
    names are unique.  A new list each call (the Scenarios are shared)."""
    return list(_cached(directory))


def scenarios_by_name(directory: str = "") -> dict[str, Scenario]:
    return {s.name: s for s in _cached(directory)}


def scenario_named(name: str, directory: str = "") -> Scenario:
    for s in _cached(directory):
        if s.name == name:
            return s
    raise KeyError(name)


def families(directory: str = "") -> list[str]:
    """The families the scenario files use, in first-use order."""
    out: list[str] = []
    for s in _cached(directory):
        if s.family not in out:
            out.append(s.family)
    return out


def scenarios_of(family: str, directory: str = "") -> list[Scenario]:
    if family not in FAMILIES:
        raise KeyError(family)
    return [s for s in _cached(directory) if s.family == family]


class Finding:
    """A documented finding (``params.findings`` of a scenario): a run in
    which the model reports a violation we believe the kernel has."""

    scenario: str
    arch: str
    cpu: tuple[str, ...]
    check: str
    why: str

    def __init__(self, scenario: str, arch: str, cpu: tuple[str, ...], check: str,
                 why: str) -> None:
        self.scenario = scenario
        self.arch = arch
        self.cpu = cpu
        self.check = check
        self.why = why


def findings(arch: str, directory: str = "") -> list[Finding]:
    """The documented findings for ``arch``, file then entry order."""
    out: list[Finding] = []
    for s in _cached(directory):
        got = s.params.get("findings")
        if got is None:
            continue
        if not isinstance(got, list):
            raise ValueError("%s: findings must be a list" % s.name)
        for f in got:
            if not isinstance(f, dict) or "check" not in f or "why" not in f:
                raise ValueError("%s: a finding needs arch, check and why" % s.name)
            if f.get("arch") != arch:
                continue
            cpu = f.get("cpu", [])
            if not isinstance(cpu, list):
                raise ValueError("%s: finding cpu must be a list" % s.name)
            out.append(Finding(s.name, arch, tuple(sorted(str(c) for c in cpu)),
                               str(f["check"]), " ".join(str(f["why"]).split())))
    return out


def kernel_write_vm_flags(s: Scenario) -> int:
    """The VM flags a kernel-write scenario maps with (its ``vm_flags``,
    by default ``rx`` for exec_after_kernel_write, else ``rs``)."""
    default = "rx" if s.family == "exec_after_kernel_write" else "rs"
    return parse_vm_flags(s.get_str("vm_flags", default))


def direct_scenarios(directory: str = "") -> list[Scenario]:
    """The ``path: direct`` scenarios (one set_pte_range per folio: the
    deterministic form whose events dsl/generate/expect.py predicts)."""
    return [s for s in _cached(directory) if s.params.get("path") == "direct"]
