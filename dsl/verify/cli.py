"""`ptdl verify [ARCH|FILE...] [--dropin]` and `ptdl kernel setup`.

Place in the flow: registered by dsl/cli.py through `register(sub)`.
verify loads the project (plus any archdef FILEs given), picks the archs
(default: every arch with a `config` line whose compiler is installed),
runs compare.verify_arch for each (two at a time), prints the located
mismatches, the notes (run-time dependent facts, absent kernel helpers),
the declared differences apart, then one table row per arch.  Exit 0 when
everything matched or was declared, 1 on any mismatch, 2 when there is no
tree (or, with PTDL_REQUIRE_KERNEL=1, a tree or compiler is missing: 1).
"""

from __future__ import annotations

from ..command import Command, root_of

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .compare import Result

# The probes, kbuild and the kernel setup are imported by the two commands
# themselves: every `ptdl` command imports this module for its registry
# entries.


def require_kernel() -> bool:
    return os.environ.get("PTDL_REQUIRE_KERNEL") == "1"


def _err(msg: str) -> None:
    sys.stderr.write(f"ptdl verify: {msg}\n")


def cmd_kernel(args: argparse.Namespace) -> int:
    from . import kernel_setup
    t0 = time.monotonic()
    try:
        tree = kernel_setup.setup()
    except kernel_setup.SetupError as e:
        sys.stderr.write(f"ptdl kernel setup: error: {e}\n")
        return 2
    missing = [p for p in kernel_setup.CROSS_PACKAGES.values() if not kernel_setup.have_compiler(p)]
    print(f"ptdl kernel setup: tree {tree} (Linux "
          f"{'.'.join(map(str, kernel_setup.tree_version(tree) or (0, 0, 0)))}), "
          f"{len(kernel_setup.CROSS_PACKAGES) - len(missing)} cross compilers"
          + (f", missing: {' '.join(missing)}" if missing else "")
          + f" ({time.monotonic() - t0:.1f} s)")
    return 0


def table(results: list[Result]) -> str:
    head = f"{'arch':<12} {'compared':>8} {'matched':>8} {'run-time':>8} {'declared':>8} {'errors':>6} {'time':>7}  configuration"
    out = [head, "-" * len(head)]
    for r in results:
        if r.skipped is not None:
            out.append(f"{r.arch:<12} {'skipped: ' + r.skipped}")
            continue
        errs = len([d for d in r.diags if d.severity == "error"])
        out.append(f"{r.arch:<12} {r.compared:>8} {r.matched:>8} {r.runtime:>8} "
                   f"{r.declared:>8} {errs:>6} {r.seconds:>6.1f}s  {r.config}")
    return "\n".join(out) + "\n"


def cmd_verify(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from ..project import load
    from ..source import Diagnostic, render
    from . import kernel_setup
    from .compare import Result, verify_arch
    from .karch import KArch, for_lineage
    root = root_of(args)
    t0 = time.monotonic()
    tree = kernel_setup.tree_path()
    why = kernel_setup.tree_problem(tree)
    if why is not None:
        _err(f"no kernel tree: {why}; run `make kernel` (or `ptdl kernel setup`), "
             "or set PTDL_KERNEL_TREE=DIR")
        return 1 if require_kernel() else 2
    if args.no_build:
        print("ptdl verify: --no-build: using generated/ and the compiled runtime as they "
              "are (they may be stale)")
    else:
        # never stale: the archdef side runs the generated module on the
        # compiled runtime, so bring both up to date first (a no-op when
        # nothing changed)
        from ..uptodate import ensure_up_to_date
        rep = ensure_up_to_date(root, None, prefix="ptdl verify")
        if not rep.ok:
            sys.stderr.write(rep.error)
            return 1
    files = [t for t in args.targets if t.endswith(".arch")]
    names = [t for t in args.targets if not t.endswith(".arch")]
    abs_files = [f if Path(f).is_absolute() else str((root / f).resolve()) for f in files]
    for f in abs_files:
        if not Path(f).is_file():
            _err(f"{f}: no such file")
            return 2
    p = load(root, abs_files or None)
    if not p.ok:
        sys.stderr.write(render(p.diags, p.sources))
        _err("errors in the archdefs; nothing verified")
        return 1
    if files:
        wanted = sorted({n for f in abs_files for n in p.archs_in(os.path.relpath(f, root))}
                        | set(names))
    else:
        wanted = names or sorted(p.archs)
    for n in wanted:
        if n not in p.archs:
            _err(f"no arch '{n}' (known: {', '.join(sorted(p.archs))})")
            return 2
    explicit = bool(args.targets)
    if args.no_cache:
        from . import compare
        compare.USE_CACHE = False
    version = kernel_setup.tree_version(tree) or (0, 0, 0)
    jobs: list[tuple[str, KArch]] = []
    results: dict[str, Result] = {}
    diags: list[Diagnostic] = []
    for n in wanted:
        a = p.archs[n]
        k = for_lineage(a.lineage)
        if k is None:
            results[n] = Result(n, skipped=f"verify does not know kernel arch {a.lineage[-1]!r} (dsl/verify/karch.py)")
            continue
        if a.config is None:
            if explicit:
                diags.append(Diagnostic(a.loc, f"arch '{n}' has no `config \"DEFCONFIG\"` line; "
                                        "verify needs the kernel configuration it models"))
            results[n] = Result(n, skipped="no `config` line in the archdef")
            continue
        cc = f"{k.cross}gcc"
        if k.unavailable:
            results[n] = Result(n, skipped=k.unavailable)
            continue
        if not kernel_setup.have_compiler(k.cross):
            results[n] = Result(n, skipped=f"no compiler {cc} (run `make kernel`)")
            continue
        jobs.append((n, k))

    def one(job: tuple[str, KArch]) -> Result:
        n, k = job
        t = time.monotonic()
        r = verify_arch(root, tree, p.archs[n], p.decl_files[n], k, version)
        for name, why in k.forced:
            r.notes.insert(0, f"forced on the compiler command line: -D{name}=1 ({why})")
        # the dropin compile needs the build, not agreeing facts: it runs
        # when the probes ran (compared > 0), mismatches or not
        if args.dropin and (r.compared > 0 or not [d for d in r.diags if d.severity == "error"]):
            from .dropin import dropin
            r.diags += dropin(root, tree, p.archs[n], k, r)
        r.seconds = time.monotonic() - t
        return r

    with ThreadPoolExecutor(max_workers=max(1, min(2, args.jobs))) as ex:
        for r in ex.map(one, jobs):
            results[r.arch] = r
    ordered = [results[n] for n in wanted]
    for r in ordered:
        diags += r.diags
    if diags:
        sys.stderr.write(render(diags, p.sources))
    for r in ordered:
        for line in r.notes:
            print(f"{r.arch}: note: {line}")
    decl = [(r.arch, line) for r in ordered for line in r.declared_lines]
    if decl:
        print("declared differences (the kernel changed these after 6.6):")
        for arch, line in decl:
            print(f"  {arch}: {line}")
    print(f"ptdl verify: Linux {'.'.join(map(str, version))} at {tree}")
    sys.stdout.write(table(ordered))
    skipped = [r for r in ordered if r.skipped is not None]
    for r in skipped:
        print(f"ptdl verify: SKIPPED {r.arch}: {r.skipped}")
    errors = [d for d in diags if d.severity == "error"]
    print(f"ptdl verify: {len(ordered) - len(skipped)} verified, {len(skipped)} skipped, "
          f"{len(errors)} error(s) ({time.monotonic() - t0:.1f} s)")
    if errors:
        return 1
    if skipped and require_kernel() and any("compiler" in (r.skipped or "") for r in skipped):
        _err("PTDL_REQUIRE_KERNEL=1 and a compiler is missing")
        return 1
    return 0


def _configure_verify(v: argparse.ArgumentParser) -> None:
    v.add_argument("targets", nargs="*", metavar="ARCH|FILE",
                   help="archs or archdef files (default: every arch with a compiler)")
    v.add_argument("--dropin", action="store_true",
                   help="also compile the generated header inside the kernel build, "
                   "and run checkpatch.pl on it")
    v.add_argument("--no-cache", action="store_true",
                   help="recompile every probe (the kernel builds stay cached)")
    v.add_argument("-j", "--jobs", type=int, default=2, help="archs verified at once (max 2)")
    v.add_argument("--no-build", action="store_true",
                   help="do not regenerate or rebuild first; compare with what is there")


def _configure_kernel(k: argparse.ArgumentParser) -> None:
    ks = k.add_subparsers(dest="kernel_cmd", metavar="SUBCOMMAND")
    ks.required = True
    s = ks.add_parser("setup", help="install linux-source-6.12 and the cross compilers, "
                      "unpack the tree into the cache (as `make kernel`)")
    s.set_defaults(func=cmd_kernel)


VERIFY = Command(
    "verify", "compare archdefs with a real kernel tree (probes built with the kernel's "
    "own compilers)",
    "Build (out of tree, cached) a probe inside the kernel's own build for each arch\n"
    "and configuration and compare layout constants, field masks, predicates,\n"
    "mutators, pfn_pte/pte_pfn and vm_get_page_prot with the archdef; mismatches\n"
    "are located errors (exit 1).  --dropin also compiles the generated header\n"
    "inside the kernel build.",
    cmd_verify, _configure_verify)
KERNEL = Command(
    "kernel", "kernel tree and cross compilers for `ptdl verify`",
    "`ptdl kernel setup`: install linux-source-6.12 and the cross compilers and\n"
    "unpack the tree into ~/.cache/ptdl (as `make kernel`); PTDL_KERNEL_TREE=DIR\n"
    "uses your own tree instead.",
    cmd_kernel, _configure_kernel, needs_project=False)
