"""What must hold after every explored step.

Place in the flow: ``search.run_sequence`` calls ``check_step`` after each
action.  It returns the violations of

* ``runtime.oracle.check_all`` (everything the Kernel recorded while the
  step ran, plus the end-of-run scans: TLB, lazy MMU, page_table_check
  recount, PG_arch_1 meaning), and ``user_view`` (``actions``: an access
  the VMA permits got SIGSEGV, or a PROT_NONE access succeeded);
* ``pte_property`` on *live* entries: mm/debug_vm_pgtable.c
  pte_basic_tests' identities (mkyoung/mkold, mkdirty/mkclean,
  mkwrite/wrprotect, the pfn kept, pfn_pte(pte_pfn, pte_pgprot)) applied
  to every distinct present entry the kernel has installed so far, not
  only to the 16 vm_get_page_prot values;
* ``pg_arch_1_state`` for per-page ``secure`` tracking (s390,
  arch/s390/kernel/uv.c): in a step that is not the Ultravisor's, a
  page's bit changes only if the step wrote a PTE mapping that page; and
  once the arch has cleared (exported) a page it mapped, every page it
  maps later must be clear too.

Not reported (the kernel's contract does not promise it): stale
instructions whose expected version a *user* stored, and a "clean"
PG_arch_1 (dcache_clean / icache_clean) over user-stored data
(self-modifying code and JITs flush the I-cache themselves).
"""

from __future__ import annotations

from runtime.oracle import check_all
from runtime.pteval import u64
from runtime.violation import PG_ARCH_1_STATE, STALE_INSN, Violation
from runtime.trace import hx

from .world import World

PTE_PROPERTY = "pte_property"


def _user_stored(w: World, v: Violation) -> bool:
    """Instructions a user stored: the user must sync the I-cache itself
    (arm64 PG_dcache_clean tracks the kernel's writes, arch/arm64/mm/
    flush.c; a JIT writing through a second, writable mapping calls
    __clear_cache), so neither stale instructions of a user-stored
    version nor a PG_arch_1 "clean" flag over user-stored data count."""
    if v.check == STALE_INSN and v.expected.startswith("version "):
        try:
            return int(v.expected.split()[1]) in w.user_versions
        except ValueError:
            return False
    if v.check == PG_ARCH_1_STATE and v.pfn >= 0 and w.arch.pg_arch_1_use in (
            "dcache_clean", "icache_clean"):
        f = w.k.mem.folio_of(v.pfn)
        return f is not None and f.latest[v.pfn - f.pfn] in w.user_versions
    return False


def _live_pte_props(w: World) -> list[Violation]:
    a = w.arch
    out: list[Violation] = []
    fresh: set[int] = set()
    for mm in w.mms:
        for base in sorted(mm.tables):
            fresh.update(mm.tables[base].entries)
    fresh -= w.checked_ptes
    w.checked_ptes |= fresh
    for val in sorted(fresh, key=u64):      # unsigned order (i64 patterns)
        if not a.pte_present(val):
            continue
        pfn = a.pte_pfn(val)
        checks = (
            ("pte_young(pte_mkyoung(pte))", a.pte_young(a.pte_mkyoung(val))),
            ("!pte_young(pte_mkold(pte))", not a.pte_young(a.pte_mkold(val))),
            ("pte_dirty(pte_mkdirty(pte))", a.pte_dirty(a.pte_mkdirty(val))),
            ("!pte_dirty(pte_mkclean(pte))", not a.pte_dirty(a.pte_mkclean(val))),
            ("pte_write(pte_mkwrite(pte))", a.pte_write(a.pte_mkwrite(val))),
            ("!pte_write(pte_wrprotect(pte))", not a.pte_write(a.pte_wrprotect(val))),
            ("pte_pfn(pte_mk*(pte)) == pte_pfn(pte)",
             all(a.pte_pfn(x) == pfn for x in (
                 a.pte_mkyoung(val), a.pte_mkold(val), a.pte_mkdirty(val),
                 a.pte_mkclean(val), a.pte_mkwrite(val), a.pte_wrprotect(val)))),
            # the pfn round trip (not the whole entry: pfn_pte() may add
            # bits of its own, as s390's mk_pte_phys makes entries young)
            ("pte_pfn(pfn_pte(pte_pfn(pte), pte_pgprot(pte))) == pte_pfn(pte)",
             a.pte_pfn(a.pfn_pte(pfn, a.pte_pgprot(val))) == pfn),
        )
        for what, good in checks:
            if not good:
                out.append(Violation(PTE_PROPERTY, a.name, "live pte=%s pfn=%s"
                                     % (hx(val), hx(pfn)), what, "false", pfn=pfn))
    return out


def arch1_bits(w: World) -> dict[int, tuple[int, bool]]:
    """Per-page PG_arch_1 of every live page, with the identity of its
    folio (a freed and reallocated pfn starts afresh), for the secure rules."""
    out: dict[int, tuple[int, bool]] = {}
    if w.arch.pg_arch_1_use != "secure":
        return out
    for f in w.folios():
        for i in range(f.nr_pages):
            out[f.pfn + i] = (id(f), f.page_arch1[i])
    return out


def _mapped_pfns(w: World, mark: int) -> list[int]:
    """pfns of the entries the step's set_pte / pgste_set_pte lines wrote."""
    a = w.arch
    out: list[int] = []
    for line in w.k.trace.since(mark):
        if not (line.startswith("set_pte ") or line.startswith("pgste_set_pte ")):
            continue
        for part in line.split():
            if part.startswith("val="):
                val = int(part[4:], 16)
                if a.pte_present(val):
                    out.append(a.pte_pfn(val))
    return out


def _secure(w: World, op: str, mark: int,
            before: dict[int, tuple[int, bool]]) -> list[Violation]:
    if w.arch.pg_arch_1_use != "secure":     # per 4 KiB page whatever is declared
        return []
    after = arch1_bits(w)
    mapped = _mapped_pfns(w, mark)
    out: list[Violation] = []
    name = w.arch.name
    if op != "secure":
        for pfn in sorted(after):
            b = before.get(pfn)
            if b is not None and b[0] == after[pfn][0] and b[1] != after[pfn][1] \
                    and pfn not in mapped:
                out.append(Violation(PG_ARCH_1_STATE, name, "page=%s" % hx(pfn),
                                     "secure bit unchanged (no PTE of this step maps the page)",
                                     "%d -> %d" % (int(b[1]), int(after[pfn][1])), pfn=pfn))
    for pfn in mapped:
        if pfn not in after:
            continue
        b = before.get(pfn)
        if b is not None and b[0] == after[pfn][0] and b[1] and not after[pfn][1]:
            if pfn not in w.secure_exported:
                w.secure_exported.append(pfn)
        elif after[pfn][1] and w.secure_exported and pfn not in w.secure_exported:
            out.append(Violation(PG_ARCH_1_STATE, name, "page=%s" % hx(pfn),
                                 "made accessible on mapping (as page(s) %s were)"
                                 % ",".join(hx(p) for p in w.secure_exported[:4]),
                                 "still secure after set_ptes", pfn=pfn))
    return out


def check_step(w: World, op: str, mark: int,
               before: dict[int, tuple[int, bool]]) -> list[Violation]:
    out = [v for v in check_all(w.k) if not _user_stored(w, v)]
    out += _live_pte_props(w)
    out += _secure(w, op, mark, before)
    return out
