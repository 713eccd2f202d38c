"""The call script: arch calls recorded for the C harness to replay.

Place in the flow: attach ``ScriptWriter`` to a ``Kernel``
(``k.script = ScriptWriter(k)``); every checked wrapper around an arch call
(``Kernel.set_ptes``, ``update_mmu_cache_range``, ``flush_dcache_folio``,
``flush_icache_pages``) first writes the state the call needs, then the
call, then the trace lines the Python model produced for it.  The C
harness (runtime/c/) loads the state, runs the same call on the generated
header and prints its trace; it may also compare with the ``expect`` lines.

Format (version 1).  Line-oriented ASCII; one record per line; the first
word is the record kind; then ``key=value`` fields separated by single
spaces (numbers: ``0x`` hex for values/addresses/pfns, decimal for ids,
indices, counts, orders and booleans 0/1).  ``#`` starts a comment line.
Records, in the order they may appear:

    ptdl-script 1
    arch NAME
    cpu FEATURE                      (one per enabled CPU feature; none if none)
    mm id=1 pgste=0                  (define/update mm 1; id 0 is init_mm)
    vma id=1 mm=1 start=0x.. end=0x.. flags=0x5 pgoff=0x0 file=1 mapped=1
    folio pfn=0x1000 order=4 anon=0 mapping=1 mapped=1 arch1=0 index=0x0 [highmem=1]
    i_mmap file=1 vmas=1,4           (the VMAs mapping file 1, by id; vmas=- if none;
                                      after a file folio, with their mm/vma records)
    page_arch1 pfn=0x1003 val=1      (a tail page's PG_arch_1; only set bits)
    table pt=1 mm=1 base=0x... empty=0x0
                                     (reset table pt: every entry = empty)
    pte pt=1 idx=5 val=0x...         (one non-empty entry of the last table)
    call set_ptes mm=1 addr=0x.. pt=1 idx=5 pte=0x.. nr=16
    call update_mmu_cache_range vma=1 addr=0x.. pt=1 idx=5 nr=16 fault=0x..
                                     (fault=none: vmf is NULL)
    call flush_dcache_folio folio=0x1000
    call flush_icache_pages vma=1 page=0x1003 nr=16
    call set_pmd_at mm=1 addr=0x.. pmd=0x..   (the leaf, as pmd_pte(pmd))
    call update_mmu_cache_pmd vma=1 addr=0x.. pmd=0x..   (*pmdp)
                                     (every call also carries current=ID:
                                      current->active_mm)
    call flush_cache_mm mm=1          (flush_cache_dup_mm likewise)
    call flush_cache_range vma=1 start=0x.. end=0x..
    call flush_cache_page vma=1 addr=0x.. pfn=0x..
    folio_mapped pfn=0x.. val=1      (folio_mapped() of the copy's source)
    call copy_user_highpage to=0x.. from=0x.. addr=0x.. vma=1
    call clear_user_highpage page=0x.. addr=0x..
    expect <trace line>              (what the model traced for the last call)
    end

``mapping=`` is the file id (0 for none/anon); ``mapped`` is
mapping_mapped(); ``user_mapped=1`` (only when set) folio_mapped(); ``arch1`` is the folio's (head page's) PG_arch_1.  State
records before a ``call`` describe everything that call may read: the mm,
the VMA, the folio(s) involved and the full PTE table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.memory import Folio, Mapping
from runtime.pagetable import PteRef, PteTable
from runtime.trace import hx

if TYPE_CHECKING:
    from runtime.machine import Machine
    from runtime.memory import Page
    from runtime.mm import Mm, Vma, Vmf


class ScriptWriter:
    lines: list[str]
    i_mmap_seen: dict[int, str]     # file id -> the i_mmap state last written
    mms_seen: set[int]

    def __init__(self, k: Machine) -> None:
        self.i_mmap_seen = {}
        self.mms_seen = set()
        self.lines = ["ptdl-script 1", "arch " + k.arch.name]
        for feat in sorted(k.cpu):
            self.lines.append("cpu " + feat)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines) + "end\n"

    # --- state records --------------------------------------------------
    def _mm(self, mm: Mm) -> None:
        self.mms_seen.add(mm.id)
        self.lines.append("mm id=%d pgste=%d" % (mm.id, int(mm.has_pgste)))

    def _vma(self, k: Machine, vma: Vma) -> None:
        m = vma.mapping
        self.lines.append("vma id=%d mm=%d start=%s end=%s flags=%s pgoff=%s file=%d mapped=%d"
                          % (vma.id, vma.mm.id, hx(vma.start), hx(vma.end),
                             hx(vma.flags), hx(vma.pgoff), int(m is not None),
                             int(m is not None and m.nr_vmas > 0)))

    def _folio(self, k: Machine, f: Folio) -> None:
        m = f.mapping
        self.lines.append("folio pfn=%s order=%d anon=%d mapping=%d mapped=%d arch1=%d index=%s%s%s"
                          % (hx(f.pfn), f.order, int(f.anon),
                             0 if m is None else m.id,
                             int(k.mapping_mapped(f)), int(f.page_arch1[0]), hx(f.index),
                             " highmem=1" if f.highmem else "",
                             " user_mapped=1" if k.folio_mapped(f) else ""))
        for i in range(1, f.nr_pages):
            if f.page_arch1[i]:
                self.lines.append("page_arch1 pfn=%s val=1" % hx(f.pfn + i))
        if m is not None and not f.anon:
            self._i_mmap(k, m)

    def _i_mmap(self, k: Machine, m: Mapping) -> None:
        """The VMAs mapping file m (with their mm and vma records), when
        they changed since the script last said."""
        vmas = k.i_mmap(m)
        state = ";".join("%d:%x:%x:%x:%x" % (v.id, v.start, v.end, v.flags, v.pgoff)
                         for v in vmas)
        if self.i_mmap_seen.get(m.id) == state:
            return
        self.i_mmap_seen[m.id] = state
        for v in vmas:
            self._mm(v.mm)
            self._vma(k, v)
        self.lines.append("i_mmap file=%d vmas=%s"
                          % (m.id, ",".join(str(v.id) for v in vmas) if vmas else "-"))

    def _table(self, t: PteTable) -> None:
        self.lines.append("table pt=%d mm=%d base=%s empty=%s"
                          % (t.pt, t.mm_id, hx(t.base), hx(t.empty)))
        entries = t.entries
        empty = t.empty
        lines = self.lines
        pt = t.pt
        for idx, val in enumerate(entries):
            if val != empty:
                lines.append("pte pt=%d idx=%d val=%s" % (pt, idx, hx(val)))

    def _folio_of_pte(self, k: Machine, pte: int) -> None:
        if k.arch.pte_present(pte):
            f = k.mem.folio_of(k.arch.pte_pfn(pte))
            if f is not None:
                self._folio(k, f)

    def _current(self, k: Machine) -> None:
        """The mm a call's current=ID names must be defined."""
        if not k.current_mm.is_init and k.current_mm.id not in self.mms_seen:
            self._mm(k.current_mm)

    # --- calls --------------------------------------------------------------
    def call_set_ptes(self, k: Machine, mm: Mm, addr: int, ptep: PteRef,
                      pte: int, nr: int) -> None:
        self._mm(mm)
        vma = mm.find_vma(addr)
        if vma is not None:
            self._vma(k, vma)
        self._folio_of_pte(k, pte)
        self._table(ptep.table)
        self._current(k)
        self.lines.append("call set_ptes mm=%d addr=%s pt=%d idx=%d pte=%s nr=%d current=%d"
                          % (mm.id, hx(addr), ptep.table.pt, ptep.idx, hx(pte), nr,
                             k.current_mm.id))

    def call_update(self, k: Machine, vmf: Vmf | None, vma: Vma, addr: int,
                    ptep: PteRef, nr: int) -> None:
        self._mm(vma.mm)
        self._vma(k, vma)
        self._folio_of_pte(k, ptep.table.entries[ptep.idx])
        self._table(ptep.table)
        self._current(k)
        self.lines.append("call update_mmu_cache_range vma=%d addr=%s pt=%d idx=%d nr=%d fault=%s"
                          " current=%d"
                          % (vma.id, hx(addr), ptep.table.pt, ptep.idx, nr,
                             "none" if vmf is None else hx(vmf.address), k.current_mm.id))

    def call_flush_dcache_folio(self, k: Machine, folio: Folio) -> None:
        self._folio(k, folio)
        self._current(k)
        self.lines.append("call flush_dcache_folio folio=%s current=%d"
                          % (hx(folio.pfn), k.current_mm.id))

    def call_flush_icache_pages(self, k: Machine, vma: Vma, page: Page,
                                nr: int) -> None:
        self._mm(vma.mm)
        self._vma(k, vma)
        self._folio(k, page.folio)
        self._current(k)
        self.lines.append("call flush_icache_pages vma=%d page=%s nr=%d current=%d"
                          % (vma.id, hx(page.pfn), nr, k.current_mm.id))

    def call_flush_cache_mm(self, k: Machine, mm: Mm, name: str = "flush_cache_mm") -> None:
        self._mm(mm)
        self._current(k)
        self.lines.append("call %s mm=%d current=%d" % (name, mm.id, k.current_mm.id))

    def call_flush_cache_range(self, k: Machine, vma: Vma, start: int, end: int) -> None:
        self._mm(vma.mm)
        self._vma(k, vma)
        self._current(k)
        self.lines.append("call flush_cache_range vma=%d start=%s end=%s current=%d"
                          % (vma.id, hx(start), hx(end), k.current_mm.id))

    def call_flush_cache_page(self, k: Machine, vma: Vma, addr: int, pfn: int) -> None:
        self._mm(vma.mm)
        self._vma(k, vma)
        self._current(k)
        self.lines.append("call flush_cache_page vma=%d addr=%s pfn=%s current=%d"
                          % (vma.id, hx(addr), hx(pfn), k.current_mm.id))

    def call_set_pmd_at(self, k: Machine, mm: Mm, addr: int, pmdp: PteRef,
                        pmd: int) -> None:
        self._mm(mm)
        vma = mm.find_vma(addr)
        if vma is not None:
            self._vma(k, vma)
        self._folio_of_pte(k, pmd)
        self.lines.append("call set_pmd_at mm=%d addr=%s pmd=%s"
                          % (mm.id, hx(addr), hx(pmd)))

    def call_update_pmd(self, k: Machine, vma: Vma, addr: int, pmdp: PteRef) -> None:
        self._mm(vma.mm)
        self._vma(k, vma)
        pmd = pmdp.table.entries[pmdp.idx]
        self._folio_of_pte(k, pmd)
        self.lines.append("call update_mmu_cache_pmd vma=%d addr=%s pmd=%s"
                          % (vma.id, hx(addr), hx(pmd)))

    def call_copy_user_highpage(self, k: Machine, to: Page, src: Page, vaddr: int,
                                vma: Vma) -> None:
        self._mm(vma.mm)
        self._vma(k, vma)
        self._folio(k, src.folio)
        if src.folio.total_mapcount() > 0:
            self.lines.append("folio_mapped pfn=%s val=1" % hx(src.folio.pfn))
        self._folio(k, to.folio)
        self._current(k)
        self.lines.append("call copy_user_highpage to=%s from=%s addr=%s vma=%d current=%d"
                          % (hx(to.pfn), hx(src.pfn), hx(vaddr), vma.id, k.current_mm.id))

    def call_clear_user_highpage(self, k: Machine, page: Page, vaddr: int) -> None:
        self._folio(k, page.folio)
        self._current(k)
        self.lines.append("call clear_user_highpage page=%s addr=%s current=%d"
                          % (hx(page.pfn), hx(vaddr), k.current_mm.id))

    def expect(self, trace_lines: list[str]) -> None:
        for line in trace_lines:
            self.lines.append("expect " + line)


class Record:
    """One parsed script line: kind, positional words, key=value fields."""

    kind: str
    words: list[str]
    fields: dict[str, str]

    def __init__(self, kind: str, words: list[str], fields: dict[str, str]) -> None:
        self.kind = kind
        self.words = words
        self.fields = fields

    def num(self, key: str) -> int:
        return int(self.fields[key], 0)


def parse_script(text: str) -> list[Record]:
    """Parse a call script (the reference reader for the C harness)."""
    out: list[Record] = []
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        if line == "" or line.startswith("#"):
            continue
        if line.startswith("expect "):
            out.append(Record("expect", [line[len("expect "):]], {}))
            continue
        parts = line.split(" ")
        words: list[str] = []
        fields: dict[str, str] = {}
        for p in parts[1:]:
            if "=" in p:
                key, _, val = p.partition("=")
                fields[key] = val
            else:
                words.append(p)
        out.append(Record(parts[0], words, fields))
    return out
