"""Family ``user_copy``: the pages mm/ fills for a user address --
copy_user_highpage on COW (wp_page_copy, do_cow_fault) and
clear_user_highpage on an anonymous fault (vma_alloc_zeroed_movable_folio)
-- checked by what the user then sees at that address (issue 10 item 2).

Place in the flow: registered in runtime/conformance.py.  The callers are
the model's (runtime/mmcallers.py ``_cow_copy`` / ``zero_fill``); the
arch's hooks decide which D-cache aliases the copy reads and writes
(runtime/effects.py ``copy_page`` / ``clear_page``) and what is flushed.

Expectations, never from the archdef: Documentation/core-api/cachetlb.rst
("copy_user_page / clear_user_page ... the user virtual address is passed
so that the implementation can ... avoid aliasing"); mm/memory.c: the new
page holds what the user saw at the source (its newest data), a zeroed
anonymous page reads as zero.  Both are the folio's ``latest`` version,
which the caller sets from the source (or a fresh zero version) before the
arch's hook runs; a user load or instruction fetch that sees anything else
is ``stale_data`` / ``stale_insn``.

The fault is taken without the user's own store (``handle_mm_fault`` with
write=1, then loads): the store goes to a word the scenario does not read,
so the page's words it reads keep the copied (or zeroed) data -- the model
tracks one version per page, so a modelled store would hide the copy.

``pattern``:
* ``cow_shared_writer`` -- a task writes a page-cache page through a
  shared writable mapping (its line is dirty at the user colour, which
  colour-aligned mmap gives every mapping of the page), another mm maps
  the file private writable at the same colour, reads it, then takes a
  write fault (COW: copy from the page-cache page) and reads;
* ``cow_exec`` -- a task executes a page-cache page through a private
  PROT_READ|PROT_EXEC mapping; a debugger's PTRACE_POKETEXT
  (access_process_vm: GUP with FOLL_FORCE|FOLL_WRITE, a write fault on the
  non-writable private VMA: do_wp_page -> wp_page_copy) replaces it by a
  copy, and the task executes again: the copy's instructions must reach
  the I-cache (the debugger's own store goes through copy_to_user_page,
  which flushes what it wrote; the rest of the page is the copy);
* ``anon_zero`` -- an anonymous private writable VMA takes a write fault
  (clear_user_highpage) and the page is read.  (Executing a zeroed page
  is not checked: cachetlb.rst promises no I-cache coherence for it, and
  user space flushes what it writes before executing it);
* ``cow_anon_fork`` -- an anonymous page written by the parent at its user
  colour, fork, the child takes the write fault (COW from the parent's
  page) and reads.
``colour_offsets``: user addresses this many pages from a PMD-aligned base
(colours beyond the arch's are dropped).
"""

from __future__ import annotations

from runtime.arch import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
from runtime.families.base import USER_VIEW, Family, Run, file_with, region
from runtime.kernel import Kernel
from runtime.mm import Mm, Vmf
from runtime.scenarios import Scenario
from runtime.trace import hx

PATTERNS: tuple[str, ...] = ("cow_shared_writer", "cow_exec", "anon_zero", "cow_anon_fork")


def _fault_write(run: Run, k: Kernel, mm: Mm, addr: int) -> None:
    """A write fault without the store (see the module doc)."""
    k.switch_to(mm)
    if not k.handle_mm_fault(mm, addr, True, False):
        run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                    "the write fault succeeds", "SIGSEGV", addr)


def _load(run: Run, k: Kernel, mm: Mm, addr: int, exec_: bool = False) -> None:
    v = k.user_exec(mm, addr) if exec_ else k.user_read(mm, addr)
    if v < 0:
        run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(addr)),
                    "the access succeeds", "SIGSEGV", addr)


class UserCopy(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        pattern = sc.get_str("pattern", "cow_shared_writer")
        if pattern not in PATTERNS:
            raise ValueError("%s: pattern must be one of %s" % (sc.name, ", ".join(PATTERNS)))
        colours = max(run.arch.dcache_colours(run.cpu), 1)
        offsets = [o for o in sc.get_ints("colour_offsets", [0, 1]) if o < colours or o == 0]
        for off in offsets:
            if pattern == "cow_shared_writer":
                _cow_shared_writer(run, off)
            elif pattern == "cow_exec":
                _cow_exec(run, off)
            elif pattern == "anon_zero":
                _anon_zero(run, off)
            else:
                _cow_anon_fork(run, off)


def _cow_shared_writer(run: Run, off: int) -> None:
    k = run.kernel()
    ps = k.page_size
    m, folios, _ = file_with(k, [0])
    writer = k.new_mm()
    cow = k.new_mm()
    # the same file page at the same colour in both mms (pgoff 0)
    wstart = region(k, 1, 8) + (off << k.page_shift)
    cstart = region(k, 3, 8) + (off << k.page_shift)
    k.mmap(writer, wstart, ps, VM_READ | VM_WRITE | VM_SHARED, m)
    k.mmap(cow, cstart, ps, VM_READ | VM_WRITE, m)
    if k.user_write(writer, wstart) < 0:
        run.violate(USER_VIEW, "mm=%d addr=%s" % (writer.id, hx(wstart)),
                    "the access succeeds", "SIGSEGV", wstart)
    _load(run, k, cow, cstart)                 # the page-cache page, read-only
    _fault_write(run, k, cow, cstart)          # COW: copy_user_highpage
    _load(run, k, cow, cstart)


def _cow_exec(run: Run, off: int) -> None:
    k = run.kernel()
    ps = k.page_size
    m, folios, _ = file_with(k, [0])
    mm = k.new_mm()
    start = region(k, 1, 8) + (off << k.page_shift)
    vma = k.mmap(mm, start, ps, VM_READ | VM_EXEC, m)
    _load(run, k, mm, start, True)             # the page-cache page's instructions
    ptep = k.pte_ref(mm, start)
    if ptep is None:
        run.violate(USER_VIEW, "mm=%d addr=%s" % (mm.id, hx(start)),
                    "a present entry after the exec fault", "none", start)
        return
    # GUP FOLL_FORCE|FOLL_WRITE on the private non-writable VMA: the
    # write fault's do_wp_page copies (mm/gup.c faultin_page, 6.12)
    k.switch_to(mm)
    vmf = Vmf(vma, start, vma.pgoff, True, False)
    vmf.pte = ptep
    vmf.orig_pte = ptep.table.entries[ptep.idx]
    k.do_wp_page(vmf, ptep)
    _load(run, k, mm, start, True)             # the copy's instructions
    _load(run, k, mm, start)


def _anon_zero(run: Run, off: int) -> None:
    k = run.kernel()
    ps = k.page_size
    mm = k.new_mm()
    start = region(k, 1, 8) + (off << k.page_shift)
    k.mmap(mm, start, ps, VM_READ | VM_WRITE, None)
    _fault_write(run, k, mm, start)            # do_anonymous_page: clear_user_highpage
    _load(run, k, mm, start)


def _cow_anon_fork(run: Run, off: int) -> None:
    k = run.kernel()
    ps = k.page_size
    parent = k.new_mm()
    start = region(k, 1, 8) + (off << k.page_shift)
    k.mmap(parent, start, ps, VM_READ | VM_WRITE, None)
    if k.user_write(parent, start) < 0:
        run.violate(USER_VIEW, "mm=%d addr=%s" % (parent.id, hx(start)),
                    "the access succeeds", "SIGSEGV", start)
    child = k.fork_mm(parent)
    _fault_write(run, k, child, start)         # COW from the parent's page
    _load(run, k, child, start)
    _load(run, k, parent, start)


FAMILY: Family = UserCopy("user_copy")
