"""The per-fault structures of the model against brute-force references:
folio lookup by pfn (PhysMem.folio_of), the page cache by index
(Mapping.folio_at), the TLB's packed int keys, in_range's word fast path
and page_table_check's one-folio fast path.

Place in the flow: tests/runtime (compiled by default, PTDL_INTERPRETED=1
for the .py sources).  Each reference below is a plain scan or the
defining formula, written here, not taken from the code under test.
"""

from __future__ import annotations

import random

import pytest

from runtime.memory import Folio, Mapping, PhysMem
from runtime.mmcallers import in_range
from runtime.ptcheck import PageTableCheck
from runtime.tlb import PairsTlb, Tlb, tlb_key
from runtime.violation import Violation

# a user or kernel virtual page number: a 64-bit address, 4 KiB pages
VBITS = 64 - 12


def _scan_pfn(mem: PhysMem, pfn: int) -> Folio | None:
    hits = [f for f in mem.folios.values() if f.pfn <= pfn < f.pfn + f.nr_pages]
    assert len(hits) <= 1
    return hits[0] if hits else None


@pytest.mark.parametrize("seed", range(6))
def test_folio_of_matches_a_scan_over_random_layouts(seed: int) -> None:
    rng = random.Random(seed)
    mem = PhysMem(9, first_pfn=0x1000)
    live: list[Folio] = []
    for _ in range(120):
        if live and rng.random() < 0.3:
            f = live.pop(rng.randrange(len(live)))
            mem.free(f)
            continue
        order = rng.choice([0, 0, 1, 2, 4, 9])
        if rng.random() < 0.5:
            live.append(mem.alloc(order, rng.random() < 0.5))
            continue
        # a placed folio, often across a 512-pfn chunk edge or far away
        pfn = rng.choice([0x800, 0x1000 + rng.randrange(1 << 14),
                          rng.randrange(1 << 40)]) & ~((1 << order) - 1)
        try:
            live.append(mem.alloc_at(pfn, order, False))
        except ValueError:
            pass
    probes = {0, 1, 0x7ff, 0x800, 0x801}
    for f in live:
        probes.update((f.pfn - 1, f.pfn, f.pfn + f.nr_pages - 1, f.pfn + f.nr_pages))
    probes.update(rng.randrange(0x1000, 0x1000 + (1 << 15)) for _ in range(2000))
    for p in sorted(probes):
        assert mem.folio_of(p) is _scan_pfn(mem, p), hex(p)
        assert mem.pfn_valid(p) == (_scan_pfn(mem, p) is not None)


def test_folio_of_after_free_and_reuse() -> None:
    mem = PhysMem(9)
    a = mem.alloc_at(0x11fc, 2, False)     # 0x11fc..0x11ff, below a chunk edge
    b = mem.alloc_at(0x1200, 4, False)     # 0x1200.., the next chunk
    assert mem.folio_of(0x11ff) is a and mem.folio_of(0x1200) is b
    mem.free(a)
    assert mem.folio_of(0x11fd) is None and mem.folio_of(0x1201) is b
    c = mem.alloc_at(0x11fc, 1, True)
    assert mem.folio_of(0x11fd) is c and mem.folio_of(0x11fe) is None


def _scan_index(m: Mapping, index: int) -> Folio | None:
    hits = [f for f in m.folios.values() if f.index <= index < f.index + f.nr_pages]
    assert len(hits) <= 1
    return hits[0] if hits else None


@pytest.mark.parametrize("seed", range(6))
def test_page_cache_lookup_matches_a_scan(seed: int) -> None:
    rng = random.Random(100 + seed)
    mem = PhysMem(9)
    m = Mapping(1, "f")
    used: set[int] = set()
    for _ in range(150):
        cached = list(m.folios.values())
        if cached and rng.random() < 0.3:
            f = cached[rng.randrange(len(cached))]
            assert m.remove(f)
            assert not m.remove(f)                 # no longer the file's
            used.difference_update(range(f.index, f.index + f.nr_pages))
            continue
        order = rng.choice([0, 2, 4, 9])
        index = rng.choice([rng.randrange(1 << 12), rng.randrange(1 << 44)]) & ~((1 << order) - 1)
        if used & set(range(index, index + (1 << order))):
            continue
        f = mem.alloc(order, False)
        f.index = index
        m.add(f)
        used.update(range(index, index + (1 << order)))
    probes = {0, 511, 512}
    for f in m.folios.values():
        probes.update((f.index - 1, f.index, f.index + f.nr_pages - 1, f.index + f.nr_pages))
    probes.update(rng.randrange(1 << 13) for _ in range(2000))
    for i in sorted(p for p in probes if p >= 0):
        assert m.folio_at(i) is _scan_index(m, i), hex(i)


def test_tlb_keys_never_collide_across_mms_or_vpages() -> None:
    """Entries of different mms at vpages across every bit of the vpage
    range (and its top) stay apart; a packing with too few vpage bits
    makes some (mm, vpage) pairs share a key and fails here."""
    vpages = sorted({0, 1, (1 << VBITS) - 1, (1 << VBITS) - 2}
                    | {1 << b for b in range(VBITS)}
                    | {(1 << b) - 1 for b in range(1, VBITS)})
    mms = [0, 1, 2, 3, 7, 8, 1000, 65535]
    for cls in (Tlb, PairsTlb):
        t = cls()
        want: dict[tuple[int, int], int] = {}
        for mi, mm in enumerate(mms):
            for vi, vp in enumerate(vpages):
                t.load(mm, vp, mi * 1000 + vi)
                want[(mm, vp)] = mi * 1000 + vi
        assert len(t.entries) == len(want)
        for (mm, vp), v in want.items():
            assert t.lookup(mm, vp) == v
        # the oracle's scan: pairs back, in (mm, vpage) order
        assert t.items() == sorted(want.items())
        t.drop_mm(1)
        assert all(t.lookup(1, vp) is None for vp in vpages)
        assert all(t.lookup(2, vp) == want[(2, vp)] for vp in vpages)
    assert len({tlb_key(mm, vp) for mm in mms for vp in vpages}) == len(mms) * len(vpages)


def test_tlb_refuses_a_vpage_beyond_its_bits() -> None:
    t = Tlb()
    for bad in (1 << VBITS, -1):
        with pytest.raises(ValueError):
            t.load(0, bad, 1)
        with pytest.raises(ValueError):
            t.lookup(0, bad)


def test_pairs_tlb_drop_takes_both_halves_of_one_mm_only() -> None:
    t = PairsTlb()
    for mm in (1, 2):
        t.load(mm, 0x10, 1)
        t.load(mm, 0x11, 2)
    t.drop(1, 0x11)
    assert t.lookup(1, 0x10) is None and t.lookup(1, 0x11) is None
    assert t.lookup(2, 0x10) == 1 and t.lookup(2, 0x11) == 2


def _in_range_ref(val: int, start: int, length: int, bits: int) -> bool:
    m: int = 2 ** bits
    return bool((val - start) % m < length % m)


def test_in_range_matches_the_unsigned_formula() -> None:
    rng = random.Random(7)
    for bits in (32, 64):
        top = 2 ** bits
        edges = [0, 1, 2, 0x1000, top // 2, top - 0x1000, top - 2, top - 1]
        vals = edges + [rng.randrange(top) for _ in range(60)]
        lens = [0, 1, 0x1000, 0x10000, top // 2, top - 1, top, top + 5, -1, -0x1000]
        for v in vals + [-1, -0x1000, top, top + 0x1000]:
            for s in vals[:20] + [-0x1000, top + 1]:
                for n in lens:
                    assert in_range(v, s, n, bits) == _in_range_ref(v, s, n, bits), \
                        (hex(v), hex(s), hex(n), bits)


def _count_ref(mem: PhysMem, pfn: int, pgcnt: int, delta: int, rw: bool,
               out: list[tuple[int, str, str]]) -> None:
    """page_table_check_set/clear (mm/page_table_check.c, v6.6), page by
    page, on copies of the counters: (pfn, expected, seen) per rule hit."""
    head = _scan_pfn(mem, pfn)
    if head is None:
        return
    anon = head.anon
    for p in range(pfn, pfn + pgcnt):
        f = _scan_pfn(mem, p)
        if f is None:
            continue
        i = p - f.pfn
        mine = f.ptc_anon if anon else f.ptc_file
        other = f.ptc_file if anon else f.ptc_anon
        name, oname = ("anon", "file") if anon else ("file", "anon")
        if other[i]:
            out.append((p, "%s_map_count=0" % oname, "%s_map_count=%d" % (oname, other[i])))
        mine[i] += delta
        if mine[i] < 0:
            out.append((p, "%s_map_count>=0" % name, "%s_map_count=%d" % (name, mine[i])))
        elif delta > 0 and anon and rw and mine[i] > 1:
            out.append((p, "anon page mapped more than once is read-only",
                        "anon_map_count=%d writable" % mine[i]))


def _layout(seed: int) -> PhysMem:
    rng = random.Random(seed)
    mem = PhysMem(9)
    for _ in range(6):
        f = mem.alloc(rng.choice([0, 2, 4]), rng.random() < 0.5)
        for i in range(f.nr_pages):
            f.ptc_anon[i] = rng.choice([0, 0, 0, 1, 2])
            f.ptc_file[i] = rng.choice([0, 0, 0, 1])
    return mem


@pytest.mark.parametrize("seed", range(40))
def test_page_table_check_counts_match_the_page_by_page_rules(seed: int) -> None:
    rng = random.Random(seed)
    mem, ref = _layout(seed), _layout(seed)
    viol: list[Violation] = []
    ptc = PageTableCheck("x", mem, viol)
    seen: list[tuple[int, str, str]] = []
    for _ in range(30):
        folios = sorted(mem.folios)
        pfn = rng.choice(folios) + rng.randrange(16)
        pgcnt = rng.choice([1, 2, 4, 16])
        delta = rng.choice([1, -1])
        rw = rng.random() < 0.5
        if delta > 0:
            ptc.set(pfn, pgcnt, rw)
        else:
            ptc.clear(pfn, pgcnt)
        _count_ref(ref, pfn, pgcnt, delta, rw, seen)
    assert [(v.pfn, v.expected, v.seen) for v in viol] == seen
    for p, f in mem.folios.items():
        g = ref.folios[p]
        assert (f.ptc_anon, f.ptc_file) == (g.ptc_anon, g.ptc_file)


def test_pte_table_walks_match_the_tables_dict() -> None:
    """Machine.pte_table keeps the table it found last per mm: walks that
    alternate between PMDs and between mms at the same address must each
    get the table the mm's dict holds for that PMD."""
    from fixture_archs import generated
    from runtime.kernel import Kernel

    k = Kernel(generated("x86"))
    mms = [k.new_mm(), k.new_mm()]
    pmd = 1 << k.pmd_shift
    addrs = [0x400000, 0x400000 + pmd, 0x400000 + 5 * pmd + 0x3000, 0x400000 + pmd - 0x1000]
    rng = random.Random(3)
    for _ in range(300):
        mm = rng.choice(mms)
        a = rng.choice(addrs)
        base = (a >> k.pmd_shift) << k.pmd_shift
        alloc = rng.random() < 0.3
        had = mm.tables.get(base)
        t = k.pte_table(mm, a, alloc)
        want = mm.tables.get(base)
        assert t is want and (alloc or had is want), (mm.id, hex(a))
        if t is not None:
            assert t.mm_id == mm.id and t.base == base
            assert k.pte_at(mm, a) == t.entries[(a >> 12) & 511]
        else:
            assert k.pte_at(mm, a) == k.arch.empty_pte
