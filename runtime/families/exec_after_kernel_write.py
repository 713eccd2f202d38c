"""Family ``exec_after_kernel_write`` (and, with reads, the shared body of
``read_after_kernel_write``): the kernel writes page-cache folios, several
mms map them at several D-cache colours and execute / read them ->
``stale_insn`` / ``stale_data`` (and ``user_view``).

Place in the flow: registered in runtime/conformance.py.  Per (folio
order, colour offset) the fixture is one machine: a file folio the kernel
filled (and flush_dcache_folio'd), ``mms`` x ``vmas_per_mm`` VMAs at the
same colour.  ``path: direct`` maps each folio with one set_pte_range (the
deterministic form whose events dsl/generate/expect.py predicts), else the
accesses fault.  ``rewrite`` then unmaps, has the kernel rewrite the file
(``in_place``: write(2)) or replace its folio (``replace``), and maps and
accesses again; ``mapped`` write(2)s every touched page while the
mappings stay (reads only) and reads again.  Each colour offset gets its own machine: all user
mappings of a file page share one colour, as arch_get_unmapped_area's
colour alignment (SHMLBA / shm_align_mask) keeps them on aliasing caches;
what varies is their colour relative to the kernel alias.
"""

from __future__ import annotations

from runtime.families.base import (
    Family, Run, access, file_with, map_direct, region, touch,
)
from runtime.kernel import Kernel
from runtime.memory import Folio, Mapping
from runtime.mm import Mm, Vma
from runtime.scenarios import DIRECT_PFN, Scenario, kernel_write_vm_flags


def replace_folio(k: Kernel, m: Mapping, f: Folio) -> Folio:
    """The file's content is replaced (a new binary installed, a truncate
    and re-read): the old folio leaves the page cache, a new folio at a
    new pfn is filled by the kernel (and flush_dcache_folio'd)."""
    if not m.remove(f):
        raise KeyError(f.index)
    f.mapping = None
    return k.add_to_page_cache(m, f.index, f.order)


def kernel_write(run: Run, sc: Scenario, exec_: bool) -> None:
    a = run.arch
    orders = sc.orders(a, default=[0, 2, 4])
    path = sc.get_str("path", "fault")
    nmms = sc.get_int("mms", 2)
    offsets = sc.get_ints("colour_offsets", [0, 1, 2, 3])
    vmas_per_mm = sc.get_int("vmas_per_mm", 2)
    limit = sc.get_int("touch_all_up_to", 16)
    flags = kernel_write_vm_flags(sc)
    rewrite = sc.get_str("rewrite", "none")
    colours = max(a.dcache_colours(run.cpu), 1)
    direct = path == "direct"
    for order in orders:
        for off in (offsets if not direct else offsets[:1]):
            # the fixture
            k = run.kernel()
            if direct:
                m, folios, pages = file_with(k, [order], first_pfn=DIRECT_PFN)
            else:
                m, folios, pages = file_with(k, [order])
            f = folios[0]
            n = f.nr_pages
            mms: list[Mm] = [k.new_mm() for _ in range(nmms if not direct else 1)]
            vmas: list[Vma] = []
            r = 1
            for mm in mms:
                for _ in range(vmas_per_mm if not direct else 1):
                    # same colour (mod the colour count) for every VMA
                    start = region(k, r, n + 4 * colours) + (off << k.page_shift)
                    r += 1
                    vmas.append(k.mmap(mm, start, n << k.page_shift, flags, m))
            pages_touched = touch(n, limit)
            # the checks: every mapping sees the kernel's data
            for vma in vmas:
                if direct:
                    map_direct(k, vma, f, vma.start)
                access(run, k, vma, pages_touched, exec_)
            if rewrite == "none" or direct:
                continue
            if rewrite == "mapped":
                # write(2) into the folio while user space maps it (no
                # unmap): flush_dcache_folio must reach the live user
                # aliases; a task of the first mm writes
                if exec_:
                    raise ValueError("%s: rewrite: mapped is for reads (a writer of "
                                     "mapped text gets ETXTBSY)" % sc.name)
                for i in pages_touched:
                    k.file_write(m, i, writer=mms[0])
                for vma in reversed(vmas):
                    access(run, k, vma, pages_touched, exec_)
                continue
            # The mappings go (a writer of running text gets ETXTBSY), the
            # kernel writes the file (write(2): copy + flush_dcache_folio)
            # or replaces its content, then everyone maps it again.
            for vma in vmas:
                k.zap_range(vma.mm, vma.start, n)
            if rewrite == "in_place":
                for i in pages_touched:
                    k.file_write(m, i)
            elif rewrite == "replace":
                replace_folio(k, m, f)
            else:
                raise ValueError("%s: rewrite must be none, in_place or replace" % sc.name)
            for vma in reversed(vmas):
                access(run, k, vma, pages_touched, exec_)


class ExecAfterKernelWrite(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        kernel_write(run, sc, True)


FAMILY: Family = ExecAfterKernelWrite("exec_after_kernel_write")
