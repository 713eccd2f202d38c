"""The actions of an explored sequence: what a user process and the kernel
may do to the small machine of ``world``.

Place in the flow: ``search`` draws steps with ``generate`` (arguments
chosen from the world's current state, so they mean something), and
``apply`` runs one step; the shrinker and ``--replay`` re-run recorded
steps, whose arguments are then resolved modulo what exists
(``world.World``).

Every action is built from the public ``runtime.kernel.Kernel`` methods
and the kernel code paths they stand for (Linux 6.6/6.12 behaviour, own
code):

* ``mmap`` (``fixed``: a private file mapping at any colour, as MAP_FIXED
  allows) / ``munmap`` / ``exit`` (exit_mmap: every VMA; zap with flush_cache_page + TLB flush, as
  unmap_region's tlb_start_vma / zap_pte_range), ``dontneed``
  (MADV_DONTNEED: zap a range);
* ``mprotect``: mm/mprotect.c change_pte_range -- per present entry
  ptep_modify_prot_start (get-and-clear) and ptep_modify_prot_commit
  (asm-generic: ``set_pte_at``) of ``pte_modify(old, newprot)``, then the
  TLB flush; no update_mmu_cache (the kernel calls none there);
* ``fork``: kernel/fork.c dup_mmap + mm/memory.c copy_present_pte --
  flush_cache_dup_mm; only VMAs that need a copy (anonymous, or private
  with anonymous pages: vma_needs_copy) get their entries copied; a COW
  mapping's writable entry is write-protected in the parent
  (ptep_set_wrprotect = set_pte_at(pte_wrprotect)) and the child;
  shared entries are cleaned; the child's are old; set_pte_at in the
  child; flush_tlb_mm(parent);
* ``read`` / ``write`` / ``exec``: user accesses (the fault path: fault-
  around, COW, do_wp_page, do_set_pmd...); ``fault_around`` sets
  fault_around_bytes (debugfs);
* ``file_write``: write(2) into the page cache (copy + flush_dcache_folio);
  ``cache``: a folio of some order read into the page cache (filled,
  flush_dcache_folio), at a freed pfn when ``reuse``;
* ``truncate``: mm/truncate.c -- unmap_mapping_range (every VMA of the
  file, COW copies included) from the truncation point, then the folios
  leave the page cache and are freed;
* ``replace``: the file's content changes under the same index (a new
  binary installed): unmap, drop the folio, read a new one (at the freed
  pfn when ``reuse``: the allocator hands the same page out again);
* ``reclaim``: mm/vmscan.c shrink_folio_list of a file folio --
  try_to_unmap (flush_cache_page, ptep_clear_flush), __remove_mapping,
  free;
* ``migrate``: mm/migrate.c -- try_to_migrate (clear + flush every
  mapping), folio_copy into a new folio (a coherent CPU copy, as the
  model's COW copy), the page cache slot moves, remove_migration_pte:
  ``mk_pte(new, vm_page_prot)``, old unless young, dirty if dirty,
  writable if it was, set_pte_at, update_mmu_cache; PG_arch_1 is not
  carried over (folio_migrate_flags does not copy it);
* ``remap``: the VMA is zapped and points at another (colour-congruent)
  file offset (mmap MAP_FIXED over it / remap_file_pages);
* ``prealloc``: a PTE table exists before the fault (PTE-mapping a PMD
  folio instead of do_set_pmd);
* ``secure`` (PG_arch_1 ``secure`` archs only): the Ultravisor makes one
  4 KiB page secure (arch/s390/kernel/uv.c make_page_secure).

Not modelled (need runtime support; listed in the README): swap-out of
anonymous folios (swap entries), mremap moves, huge-PMD splitting.
Deliberate limits keep the search on the kernel's side of the contract:
no ``w`` + ``x`` VMA (self-modifying code must flush the I-cache itself,
and stale_insn for a version a user stored is not reported), no write(2)
to a file page an exec VMA maps (ETXTBSY / user-visible text rewrite).

(Over 500 lines on purpose: the action table and its generators are one
vocabulary, kept side by side so each action's meaning and its argument
drawing are read together.)
"""

from __future__ import annotations

import random
from typing import Callable

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.memory import Folio, Mapping
from runtime.mm import Mm
from runtime.trace import hx

from .world import COLOUR_SPAN, FILE_PAGES, INITIAL_FILES, SLOTS, Step, World

MAX_MMS = 5

FLAG_SETS: tuple[str, ...] = ("r", "rx", "rs", "rws", "rw", "rxs", "none")
PAGES: tuple[int, ...] = (1, 2, 3, 4, 8, 16, 32, -1)       # -1: one PMD (+8)
PGOFFS: tuple[int, ...] = (0, 1, 4, 16, 33)
FAULT_AROUND_PAGES: tuple[int, ...] = (16, 1, 4)

USER_VIEW = "user_view"


def parse_flags(text: str) -> int:
    flags = 0
    for ch in "" if text == "none" else text:
        flags |= {"r": VM_READ, "w": VM_WRITE, "x": VM_EXEC, "s": VM_SHARED}[ch]
    return flags


def flag_text(flags: int) -> str:
    out = "".join(ch for ch, bit in (("r", VM_READ), ("w", VM_WRITE), ("x", VM_EXEC),
                                       ("s", VM_SHARED)) if flags & bit)
    return out if flags & (VM_READ | VM_WRITE | VM_EXEC) else "none"


# ---------------------------------------------------------------------------
# Kernel building blocks


def _mapped_ptes(w: World, folio: Folio) -> list[tuple[Mm, int, int]]:
    """rmap walk: (mm, addr, pte) of every present entry mapping a page of
    ``folio``, in mm then address order."""
    out: list[tuple[Mm, int, int]] = []
    arch = w.arch
    for mm in w.mms:
        for base in sorted(mm.tables):
            t = mm.tables[base]
            empty = t.empty
            for idx, val in enumerate(t.entries):
                if val != empty and arch.pte_present(val) and folio.contains(arch.pte_pfn(val)):
                    out.append((mm, t.addr_of(idx), val))
    return out


def _drop_pmd_leaves(w: World, mm: Mm, start: int, end: int) -> None:
    """zap_huge_pmd for PMD leaves overlapping [start, end)."""
    k = w.k
    pmd = 1 << k.pmd_shift
    for base in sorted(mm.pmd_leaves):
        if base < end and start < base + pmd:
            pfn = mm.pmd_leaves.pop(base)
            f = k.mem.folio_of(pfn)
            if f is not None:
                f.entire_mapcount -= 1
                f.refcount -= 1
                mm.file_pages -= f.nr_pages
            for i in range(0, pmd >> k.page_shift):
                k.tlb.drop(mm.id, (base >> k.page_shift) + i)


def _zap(w: World, mm: Mm, start: int, npages: int) -> None:
    """zap_pte_range with flush_cache_page and the TLB flush."""
    k = w.k
    _drop_pmd_leaves(w, mm, start, start + (npages << k.page_shift))
    for i in range(npages):
        addr = start + (i << k.page_shift)
        if k.arch.pte_present(k.pte_at(mm, addr)) or not k.arch.pte_none(k.pte_at(mm, addr)):
            k.ptep_clear(mm, addr, True)


def free_unmapped_anon(w: World) -> None:
    """Anonymous folios nobody maps are freed (their pfns may come back)."""
    for f in w.folios():
        if f.anon and f.total_mapcount() <= 0:
            w.release(f)


def _rmap_add(w: World, mm: Mm, f: Folio, i: int) -> None:
    f.mapcount[i] += 1
    if f.anon:
        mm.anon_pages += 1
    else:
        mm.file_pages += 1


def _pte_modify(w: World, old: int, prot: int) -> int:
    """pte_modify(old, newprot): the new protection, pfn, young and dirty kept."""
    a = w.arch
    e = a.pfn_pte(a.pte_pfn(old), prot)
    e = a.pte_mkyoung(e) if a.pte_young(old) else a.pte_mkold(e)
    if a.pte_dirty(old):
        e = a.pte_mkdirty(e)
    return e


def _remove_from_cache(f: Folio) -> None:
    m = f.mapping
    if m is not None:
        m.remove(f)
    f.mapping = None


def _unmap_folio(w: World, f: Folio) -> None:
    """try_to_unmap / unmap_mapping_folio: every PTE and PMD mapping it."""
    k = w.k
    for mm, addr, _ in _mapped_ptes(w, f):
        k.ptep_clear(mm, addr, True)
    for mm in w.mms:
        for base, pfn in sorted(mm.pmd_leaves.items()):
            if f.contains(pfn):
                _drop_pmd_leaves(w, mm, base, base + 1)


def _file_vma_pages(w: World, m: Mapping, first_index: int) -> list[tuple[Mm, int]]:
    """unmap_mapping_range(first_index..EOF, even_cows): the user addresses
    of every file VMA of ``m`` at or beyond ``first_index``."""
    out: list[tuple[Mm, int]] = []
    k = w.k
    for mm in w.mms:
        for v in mm.vmas:
            if v.mapping is not m:
                continue
            for i in range((v.end - v.start) >> k.page_shift):
                if v.pgoff + i >= first_index:
                    out.append((mm, v.start + (i << k.page_shift)))
    return out


def _pick_folio(w: World, s: Step, file_only: bool = False) -> Folio | None:
    """``file=F folio=I``: the I-th folio (by index) of file F, or with
    F = INITIAL_FILES the I-th anonymous folio (by pfn).  Naming folios per
    file keeps a step's target stable when the shrinker drops steps that
    touch other files."""
    fi = s.get("file") % (INITIAL_FILES if file_only else INITIAL_FILES + 1)
    if fi == INITIAL_FILES:
        fs = [f for f in w.folios() if f.anon]
    else:
        m = w.files[fi]
        fs = [m.folios[i] for i in sorted(m.folios)]
    if not fs:
        return None
    return fs[s.get("folio") % len(fs)]


def _place(w: World, m: Mapping, index: int, order: int, reuse: bool) -> Folio | None:
    n = 1 << order
    if index & (n - 1):
        return None
    for i in range(n):
        if m.folio_at(index + i) is not None:
            return None
    pfn = w.free_pfn(order) if reuse else -1
    f = w.k.add_to_page_cache(m, index, order, pfn=pfn)
    w.take(f)
    return f


# ---------------------------------------------------------------------------
# The actions


def _mmap(w: World, s: Step) -> None:
    k = w.k
    mm = w.mm(s.get("mm"))
    fi = s.get("file") % (INITIAL_FILES + 1)
    mapping = None if fi == INITIAL_FILES else w.files[fi]
    flags = parse_flags(FLAG_SETS[s.get("flags") % len(FLAG_SETS)])
    pages = PAGES[s.get("pages") % len(PAGES)]
    if mapping is None:
        flags &= ~VM_SHARED            # shared anonymous memory is shmem
        pgoff = 0
    elif pages < 0:
        pgoff = 0
    else:
        pgoff = PGOFFS[s.get("pgoff") % len(PGOFFS)]
    if pages < 0:
        pages = w.pmd_pages + 8
    if mapping is not None and not (s.get("fixed") & 1 and not flags & VM_SHARED):
        off = (pgoff + w.colour) % COLOUR_SPAN
    else:
        # anonymous memory, or a private MAP_FIXED file mapping: any colour
        # (arch/mips/mm/mmap.c refuses a misaligned MAP_FIXED only if shared)
        off = s.get("at") % COLOUR_SPAN
    start = w.slot_base(s.get("slot")) + (off << k.page_shift)
    end = start + (pages << k.page_shift)
    for v in mm.vmas:
        if start < v.end and v.start < end:
            return
    k.mmap(mm, start, pages << k.page_shift, flags, mapping, pgoff)


def _munmap(w: World, s: Step) -> None:
    vma = w.vma(s.get("mm"), s.get("vma"))
    if vma is None:
        return
    mm = vma.mm
    _zap(w, mm, vma.start, (vma.end - vma.start) >> w.k.page_shift)
    mm.vmas.remove(vma)
    if vma.mapping is not None:
        vma.mapping.nr_vmas -= 1


def _exit(w: World, s: Step) -> None:
    """exit_mmap: every VMA of the mm goes (the mm object stays, empty)."""
    mm = w.mm(s.get("mm"))
    while mm.vmas:
        _munmap(w, Step("munmap", {"mm": w.mms.index(mm), "vma": 0}))


def _dontneed(w: World, s: Step) -> None:
    vma = w.vma(s.get("mm"), s.get("vma"))
    if vma is None:
        return
    n = (vma.end - vma.start) >> w.k.page_shift
    first = s.get("page") % n
    count = 1 + s.get("n") % (n - first)
    _zap(w, vma.mm, vma.start + (first << w.k.page_shift), count)


def _mprotect(w: World, s: Step) -> None:
    k = w.k
    a = w.arch
    vma = w.vma(s.get("mm"), s.get("vma"))
    if vma is None:
        return
    flags = parse_flags(FLAG_SETS[s.get("flags") % len(FLAG_SETS)])
    if vma.mapping is None:
        flags &= ~VM_SHARED
    if (vma.flags & VM_SHARED) != (flags & VM_SHARED):
        return                         # mprotect cannot change MAP_SHARED
    vma.flags = flags
    vma.page_prot = a.vm_get_page_prot_cpu(flags, k.cpu)
    mm = vma.mm
    _drop_pmd_leaves(w, mm, vma.start, vma.end)
    for i in range((vma.end - vma.start) >> k.page_shift):
        addr = vma.start + (i << k.page_shift)
        old = k.pte_at(mm, addr)
        if not a.pte_present(old):
            continue
        ptep = k.pte_ref(mm, addr)
        assert ptep is not None
        new = _pte_modify(w, old, vma.page_prot)
        k.ptep_clear(mm, addr, True)                   # ptep_modify_prot_start
        f = k.mem.folio_of(a.pte_pfn(old))
        if f is not None and not a.pte_special(old):
            _rmap_add(w, mm, f, a.pte_pfn(old) - f.pfn)
        k.set_pte_at(mm, addr, ptep, new)              # ptep_modify_prot_commit


def _fork(w: World, s: Step) -> None:
    k = w.k
    a = w.arch
    if len(w.mms) >= MAX_MMS:
        return
    parent = w.mm(s.get("mm"))
    child = k.new_mm()
    w.mms.append(child)
    if not k.dcache.coherent:                           # flush_cache_dup_mm
        for v in parent.vmas:
            for i in range((v.end - v.start) >> k.page_shift):
                addr = v.start + (i << k.page_shift)
                pte = k.pte_at(parent, addr)
                if a.pte_present(pte):
                    k.dcache_flush_user(parent, addr, a.pte_pfn(pte), 1)
    for v in list(parent.vmas):
        cv = k.mmap(child, v.start, v.end - v.start, v.flags, v.mapping, v.pgoff)
        n = (v.end - v.start) >> k.page_shift
        present: list[tuple[int, int]] = []
        for i in range(n):
            addr = v.start + (i << k.page_shift)
            pte = k.pte_at(parent, addr)
            if a.pte_present(pte) and k.mem.folio_of(a.pte_pfn(pte)) is not None:
                present.append((addr, pte))
        needs_copy = v.anon or any(k.pfn_folio(a.pte_pfn(p)).anon for _, p in present)
        if not needs_copy:
            continue                                    # the child faults them in
        for addr, pte in present:
            cow = not v.shared
            if cow and a.pte_write(pte):
                ptep = k.pte_ref(parent, addr)
                assert ptep is not None
                k.set_pte_at(parent, addr, ptep, a.pte_wrprotect(pte))  # ptep_set_wrprotect
                pte = a.pte_wrprotect(pte)
            if v.shared:
                pte = a.pte_mkclean(pte)
            pte = a.pte_mkold(pte)
            cptep = k.pte_ref(child, addr, True)
            assert cptep is not None
            f = k.pfn_folio(a.pte_pfn(pte))
            _rmap_add(w, child, f, a.pte_pfn(pte) - f.pfn)
            k.set_pte_at(child, addr, cptep, pte)
        del cv
    for v in parent.vmas:                               # flush_tlb_mm(oldmm)
        for i in range((v.end - v.start) >> k.page_shift):
            k.tlb.drop(parent.id, (v.start >> k.page_shift) + i)


def _access(kind: str) -> Callable[[World, Step], None]:
    def run(w: World, s: Step) -> None:
        k = w.k
        vma = w.vma(s.get("mm"), s.get("vma"))
        if vma is None:
            return
        n = (vma.end - vma.start) >> k.page_shift
        addr = vma.start + ((s.get("page") % n) << k.page_shift)
        mm = vma.mm
        if kind == "read":
            v = k.user_read(mm, addr)
            want = VM_READ
        elif kind == "write":
            v = k.user_write(mm, addr)
            if v >= 0:
                w.user_versions.add(v)
            want = VM_WRITE
        else:
            v = k.user_exec(mm, addr)
            want = VM_EXEC
        allowed = bool(vma.flags & want)
        if allowed and v < 0:
            k.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                      "the %s succeeds (vm_flags %s)" % (kind, flag_text(vma.flags)),
                      "SIGSEGV", addr)
        elif not (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) and v >= 0:
            k.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                      "SIGSEGV (PROT_NONE)", "the %s succeeded" % kind, addr)
    return run


def _exec_mapped(w: World, m: Mapping, index: int) -> bool:
    for mm in w.mms:
        for v in mm.vmas:
            if v.mapping is m and v.exec and v.pgoff <= index < v.pgoff + (
                    (v.end - v.start) >> w.k.page_shift):
                return True
    return False


def _file_write(w: World, s: Step) -> None:
    m = w.file(s.get("file"))
    index = s.get("index") % FILE_PAGES
    f = m.folio_at(index)
    if _exec_mapped(w, m, index):
        return                                          # ETXTBSY
    if f is None:
        # write_begin allocates an order-0 folio (reusing a freed pfn when
        # there is one, as the page allocator would)
        f = _place(w, m, index, 0, True)
        if f is None:
            return
    w.k.file_write(m, index)


def _cache(w: World, s: Step) -> None:
    orders = w.orders()
    order = orders[s.get("order") % len(orders)]
    m = w.file(s.get("file"))
    n = 1 << order
    if order == w.arch.max_folio_order and n > FILE_PAGES:
        index = 0
    else:
        index = (s.get("index") * n) % FILE_PAGES
    _place(w, m, index, order, bool(s.get("reuse") & 1))


def _file_folios_of(w: World, m: Mapping) -> list[Folio]:
    return [m.folios[i] for i in sorted(m.folios)]


def _truncate(w: World, s: Step) -> None:
    k = w.k
    m = w.file(s.get("file"))
    fs = _file_folios_of(w, m)
    if not fs:
        return
    first = fs[s.get("folio") % len(fs)].index
    for mm, addr in _file_vma_pages(w, m, first):
        _drop_pmd_leaves(w, mm, addr, addr + 1)
        pte = k.pte_at(mm, addr)
        if not k.arch.pte_none(pte):
            k.ptep_clear(mm, addr, True)
    for f in fs:
        if f.index >= first:
            _unmap_folio(w, f)
            _remove_from_cache(f)
            w.release(f)


def _replace(w: World, s: Step) -> None:
    m = w.file(s.get("file"))
    fs = _file_folios_of(w, m)
    if not fs:
        return
    f = fs[s.get("folio") % len(fs)]
    _unmap_folio(w, f)
    _remove_from_cache(f)
    w.release(f)
    _place(w, m, f.index, f.order, bool(s.get("reuse") & 1))


def _reclaim(w: World, s: Step) -> None:
    f = _pick_folio(w, s, file_only=True)
    if f is None:
        return
    _unmap_folio(w, f)
    _remove_from_cache(f)
    w.release(f)


def _migrate(w: World, s: Step) -> None:
    k = w.k
    a = w.arch
    f = _pick_folio(w, s)
    if f is None or f.entire_mapcount > 0:
        return
    maps = _mapped_ptes(w, f)
    for mm, addr, _ in maps:                            # try_to_migrate
        k.ptep_clear(mm, addr, True)
    new = k.alloc_folio(f.order, f.anon)
    for i in range(f.nr_pages):                         # folio_copy
        new.ram[i] = f.latest[i]
        new.latest[i] = f.latest[i]
    m = f.mapping
    if m is not None and not f.anon:
        idx = f.index
        _remove_from_cache(f)
        new.mapping = m
        new.index = idx
        m.add(new)
    for mm, addr, old in maps:                          # remove_migration_pte
        vma = mm.find_vma(addr)
        if vma is None:
            continue
        i = a.pte_pfn(old) - f.pfn
        pte = a.pfn_pte(new.pfn + i, vma.page_prot)
        pte = a.pte_mkyoung(pte) if a.pte_young(old) else a.pte_mkold(pte)
        if a.pte_dirty(old):
            pte = a.pte_mkdirty(pte)
        if a.pte_write(old):
            pte = a.pte_mkwrite(pte)
        ptep = k.pte_ref(mm, addr)
        assert ptep is not None
        _rmap_add(w, mm, new, i)
        k.set_pte_at(mm, addr, ptep, pte)
        k.update_mmu_cache(vma, addr, ptep)
    w.release(f)


def _remap(w: World, s: Step) -> None:
    vma = w.vma(s.get("mm"), s.get("vma"))
    if vma is None or vma.mapping is None:
        return
    _zap(w, vma.mm, vma.start, (vma.end - vma.start) >> w.k.page_shift)
    # a multiple of COLOUR_SPAN keeps the address congruent to pgoff + colour
    vma.pgoff = (vma.pgoff + COLOUR_SPAN * (1 + s.get("by") % 4)) % (FILE_PAGES * 2)


def _fault_around(w: World, s: Step) -> None:
    pages = FAULT_AROUND_PAGES[s.get("pages") % len(FAULT_AROUND_PAGES)]
    w.k.fault_around_bytes = pages << w.k.page_shift


def _prealloc(w: World, s: Step) -> None:
    vma = w.vma(s.get("mm"), s.get("vma"))
    if vma is None:
        return
    n = (vma.end - vma.start) >> w.k.page_shift
    addr = vma.start + ((s.get("page") % n) << w.k.page_shift)
    base = (addr >> w.k.pmd_shift) << w.k.pmd_shift
    if base not in vma.mm.pmd_leaves:
        w.k.pte_ref(vma.mm, addr, True)


def _secure(w: World, s: Step) -> None:
    if w.arch.pg_arch_1_use != "secure":
        return
    f = _pick_folio(w, s)
    if f is None:
        return
    f.page_arch1[s.get("page") % f.nr_pages] = True


APPLY: dict[str, Callable[[World, Step], None]] = {
    "mmap": _mmap, "munmap": _munmap, "exit": _exit, "dontneed": _dontneed,
    "mprotect": _mprotect,
    "fork": _fork, "read": _access("read"), "write": _access("write"),
    "exec": _access("exec"), "file_write": _file_write, "cache": _cache,
    "truncate": _truncate, "replace": _replace, "reclaim": _reclaim,
    "migrate": _migrate, "remap": _remap, "fault_around": _fault_around,
    "prealloc": _prealloc, "secure": _secure,
}

ACTIONS: tuple[str, ...] = tuple(APPLY)


def apply(w: World, s: Step) -> None:
    fn = APPLY.get(s.op)
    if fn is None:
        raise ValueError("unknown action %r (known: %s)" % (s.op, ", ".join(ACTIONS)))
    fn(w, s)
    free_unmapped_anon(w)


# ---------------------------------------------------------------------------
# Generation


# Relative weights: accesses dominate (they drive the fault paths).
WEIGHTS: dict[str, int] = {
    "mmap": 8, "munmap": 2, "exit": 1, "dontneed": 2, "mprotect": 2, "fork": 2,
    "read": 10, "write": 6, "exec": 8, "file_write": 4, "cache": 6,
    "truncate": 1, "replace": 2, "reclaim": 2, "migrate": 3, "remap": 1,
    "fault_around": 1, "prealloc": 1, "secure": 4,
}


def _vma_args(rng: random.Random, w: World) -> dict[str, int]:
    mi = rng.randrange(len(w.mms))
    n = len(w.mm(mi).vmas)
    return {"mm": mi, "vma": rng.randrange(n) if n else 0}


def generate(rng: random.Random, w: World, enabled: list[str]) -> Step:
    """One step drawn from the enabled actions, its arguments fitted to
    the world as it is now."""
    ops = [o for o in enabled if o != "secure" or w.arch.pg_arch_1_use == "secure"]
    op = rng.choices(ops, [WEIGHTS[o] for o in ops])[0]
    args: dict[str, int] = {}
    if op == "mmap":
        args = {"mm": rng.randrange(len(w.mms)), "slot": rng.randrange(SLOTS),
                "file": rng.randrange(INITIAL_FILES + 1),
                "flags": rng.randrange(len(FLAG_SETS)),
                "pages": rng.choices(range(len(PAGES)), [3, 2, 1, 3, 3, 3, 1, 1])[0],
                "pgoff": rng.randrange(len(PGOFFS)), "at": rng.randrange(COLOUR_SPAN),
                "fixed": int(rng.random() < 0.2)}
    elif op in ("munmap", "remap", "mprotect", "prealloc", "dontneed",
                "read", "write", "exec"):
        args = _vma_args(rng, w)
        if op in ("read", "write", "exec", "prealloc", "dontneed"):
            args["page"] = rng.randrange(40)
        if op == "dontneed":
            args["n"] = rng.randrange(8)
        if op == "mprotect":
            args["flags"] = rng.randrange(len(FLAG_SETS))
        if op == "remap":
            args["by"] = rng.randrange(4)
    elif op in ("fork", "exit"):
        args = {"mm": rng.randrange(len(w.mms))}
    elif op == "file_write":
        args = {"file": rng.randrange(INITIAL_FILES), "index": rng.randrange(FILE_PAGES)}
    elif op == "cache":
        args = {"file": rng.randrange(INITIAL_FILES), "index": rng.randrange(FILE_PAGES),
                "order": rng.randrange(len(w.orders())), "reuse": rng.randrange(2)}
    elif op in ("truncate", "replace"):
        args = {"file": rng.randrange(INITIAL_FILES), "folio": rng.randrange(8)}
        if op == "replace":
            args["reuse"] = rng.randrange(2)
    elif op in ("reclaim", "migrate", "secure"):
        nfiles = INITIAL_FILES if op == "reclaim" else INITIAL_FILES + 1
        choices: list[tuple[int, int]] = []          # (file, folio) with a target
        for fi in range(nfiles):
            if fi == INITIAL_FILES:
                fs = [f for f in w.folios() if f.anon]
            else:
                fs = [w.files[fi].folios[i] for i in sorted(w.files[fi].folios)]
            for j, f in enumerate(fs):
                choices.append((fi, j))
        if op == "secure":                            # per-page tracking: large folios
            large = []
            for c in choices:
                tf = _pick_folio(w, Step(op, {"file": c[0], "folio": c[1]}))
                if tf is not None and tf.order > 0:
                    large.append(c)
            if large and rng.random() < 0.8:
                choices = large
        fi, j = rng.choice(choices) if choices else (rng.randrange(nfiles), 0)
        args = {"file": fi, "folio": j}
        if op == "secure":
            args["page"] = rng.randrange(16)
    elif op == "fault_around":
        args = {"pages": rng.randrange(len(FAULT_AROUND_PAGES))}
    return Step(op, args)


__all__ = ["ACTIONS", "APPLY", "WEIGHTS", "USER_VIEW", "apply", "generate",
           "parse_flags", "flag_text"]
