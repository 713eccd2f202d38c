"""The explorer's machine: one ``Kernel`` plus what the actions need to
find their objects again (mms, files, freed pfns), and ``Step``, one
action of a sequence.

Place in the flow: ``search`` and ``scenario`` build a ``World`` for an
arch, a CPU feature set and a colour; ``actions.apply`` runs ``Step``s on
it; ``invariants`` inspect it after each step.

A step names its objects by small integers that are resolved *modulo*
what exists when it runs (``pick``), so every subsequence of a valid
sequence is again a valid sequence -- what the shrinker needs.  A step
whose objects do not exist, or whose kernel precondition does not hold
(an overlapping mmap, an occupied page-cache index), does nothing.

Address space: ``SLOTS`` regions per mm, each four PMDs apart (a VMA
never spans two slots).  File VMAs are colour-aligned as
arch_get_unmapped_area does on aliasing caches (arch/mips/mm/mmap.c:
``do_color_align`` for file and shared mappings): the user address's
page number is congruent to ``pgoff + colour`` modulo ``COLOUR_SPAN``, so
all user mappings of one file page share a colour; ``colour`` (per
sequence) sets their colour relative to the kernel alias.  A private
``fixed`` mapping (MAP_FIXED) may take any colour.
"""

from __future__ import annotations

from runtime.arch import Arch
from runtime.kernel import Kernel
from runtime.memory import Folio, Mapping
from runtime.mm import Mm, Vma
from runtime.script import ScriptWriter

SLOTS = 6
COLOUR_SPAN = 8          # a multiple of every modelled colour count
INITIAL_MMS = 2
INITIAL_FILES = 3
FILE_PAGES = 64          # page-cache indices used for small folios


class Step:
    """One action: an op name and named small-integer arguments."""

    op: str
    args: dict[str, int]

    def __init__(self, op: str, args: dict[str, int]) -> None:
        self.op = op
        self.args = dict(args)

    def get(self, key: str) -> int:
        return self.args.get(key, 0)

    def text(self) -> str:
        """``op k=v k=v`` (the scenario file form)."""
        return " ".join([self.op] + ["%s=%d" % (k, v) for k, v in self.args.items()])

    @staticmethod
    def parse(text: str) -> Step:
        words = text.split()
        if not words:
            raise ValueError("empty step")
        args: dict[str, int] = {}
        for w in words[1:]:
            key, eq, val = w.partition("=")
            if not eq or not key:
                raise ValueError("step %r: %r is not key=value" % (text, w))
            try:
                args[key] = int(val, 0)
            except ValueError:
                raise ValueError("step %r: %r is not an integer" % (text, val)) from None
        return Step(words[0], args)

    def __repr__(self) -> str:
        return "Step(%s)" % self.text()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Step) and other.op == self.op and other.args == self.args

    def __hash__(self) -> int:
        return hash(self.text())


class World:
    """A Kernel and the explorer's handles on it."""

    k: Kernel
    arch: Arch
    cpu: frozenset[str]
    colour: int
    mms: list[Mm]
    files: list[Mapping]
    freed: set[int]
    user_versions: set[int]
    secure_exported: list[int]
    checked_ptes: set[int]
    record: bool

    def __init__(self, arch: Arch, cpu: frozenset[str], colour: int,
                 record: bool = False) -> None:
        self.arch = arch
        self.cpu = cpu
        self.colour = colour
        self.k = Kernel(arch, cpu)
        # A script is always attached: its ``call`` records give the
        # coverage of arch calls; ``record`` keeps it whole (C replay).
        self.k.script = ScriptWriter(self.k)
        self.record = record
        self.mms = [self.k.new_mm() for _ in range(INITIAL_MMS)]
        self.files = [self.k.new_file("f%d" % i) for i in range(INITIAL_FILES)]
        self.freed = set()
        self.user_versions = set()
        self.secure_exported = []
        self.checked_ptes = set()

    # -- geometry ----------------------------------------------------------
    @property
    def pmd_pages(self) -> int:
        return self.arch.ptrs_per_pte

    def base(self) -> int:
        k = self.k
        pmd = 1 << k.pmd_shift
        b = 0x10000000 if self.arch.word_bits == 32 else 0x4000000000
        return (b + pmd - 1) & ~(pmd - 1)

    def slot_base(self, slot: int) -> int:
        return self.base() + (slot % SLOTS) * 4 * (1 << self.k.pmd_shift)

    def orders(self) -> list[int]:
        """Folio orders the explorer uses on this arch."""
        out = [o for o in (0, 1, 2, 3, 4) if o <= self.arch.max_folio_order]
        if self.arch.max_folio_order not in out:
            out.append(self.arch.max_folio_order)
        return out

    # -- objects -----------------------------------------------------------
    def mm(self, i: int) -> Mm:
        return self.mms[i % len(self.mms)]

    def file(self, i: int) -> Mapping:
        return self.files[i % len(self.files)]

    def vma(self, mm_i: int, vma_i: int) -> Vma | None:
        mm = self.mm(mm_i)
        if not mm.vmas:
            return None
        return mm.vmas[vma_i % len(mm.vmas)]

    def folios(self) -> list[Folio]:
        """Every live folio, by pfn."""
        return [self.k.mem.folios[p] for p in sorted(self.k.mem.folios)]

    def file_folios(self) -> list[Folio]:
        return [f for f in self.folios() if f.mapping is not None and not f.anon]

    def folio(self, i: int, file_only: bool = False) -> Folio | None:
        fs = self.file_folios() if file_only else self.folios()
        if not fs:
            return None
        return fs[i % len(fs)]

    def free_pfn(self, order: int) -> int:
        """A freed, suitably aligned pfn run of ``1 << order`` pages to
        reuse (the buddy allocator hands freed pages out again), or -1."""
        n = 1 << order
        mem = self.k.mem
        for p in sorted(self.freed):
            if p & (n - 1):
                continue
            if all((p + i) in self.freed and mem.folio_of(p + i) is None for i in range(n)):
                return p
        return -1

    def take(self, f: Folio) -> None:
        for i in range(f.nr_pages):
            self.freed.discard(f.pfn + i)

    def release(self, f: Folio) -> None:
        """Free a folio that nothing maps any more."""
        if f.pfn in self.k.mem.folios:
            self.k.mem.free(f)
        for i in range(f.nr_pages):
            self.freed.add(f.pfn + i)
