/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ptdl kernel shim: just enough of the kernel for a generated
 * pgtable-range.h to compile and run in userspace.
 *
 * Place in the flow: harness.c includes this file, then the generated
 * header (PTDL_HEADER), then ptdl_generic.h (the kernel's generic
 * defaults, as include/linux/pgtable.h follows asm/pgtable.h).  Every
 * primitive prints exactly the trace line runtime/kernel.py emits for it
 * (docs/runtime-interface.md), so a C trace compares line by line with
 * the Python model's.
 *
 * Configuration (-D flags, set by dsl/generate/charness.py from the model):
 *   PAGE_SHIFT, PTDL_WORD_BITS (32|64), PTDL_PTRS_PER_PTE,
 *   PTDL_DCACHE_COLOURS (a C expression, may use cpu_has_*),
 *   PTDL_PAIRS_GLOBAL_MASK / PTDL_PAIRS_GLOBAL_INVERTED (software_pairs TLB
 *   with a global field: set_pte's buddy store), PTDL_LAZY_STORES_AT_ONCE
 *   (a lazy MMU kind that defers no store: none, batch), cpu_has_<feature>, and
 *   NAME=ptdl_prim_<key> for every primitive an arch renames.
 *
 * Not the kernel: struct folio here is a separate object whose `flags`
 * word is only a handle (a bit op on it acts on the head page's flags), so
 * the shim can tell a folio flag operation from a page one, as the trace
 * does ("pg_arch_1 test folio=..." vs "page=...").
 */
#ifndef PTDL_SHIM_H
#define PTDL_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PAGE_SHIFT
#error "compile with -DPAGE_SHIFT=..."
#endif
#ifndef PTDL_WORD_BITS
#define PTDL_WORD_BITS 64
#endif
#ifndef PTDL_PTRS_PER_PTE
#define PTDL_PTRS_PER_PTE 512
#endif
#ifndef PTDL_DCACHE_COLOURS
#define PTDL_DCACHE_COLOURS 1
#endif

#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PTRS_PER_PTE	PTDL_PTRS_PER_PTE

#if PTDL_WORD_BITS == 64
typedef unsigned long long pteval_t;
#define PTDL_KERNEL_BASE	0xffff800000000000UL
#else
typedef unsigned int pteval_t;
#define PTDL_KERNEL_BASE	0xc0000000UL
#endif

typedef unsigned long pgoff_t;
typedef struct { pteval_t pte; } pte_t;
typedef struct { pteval_t pgprot; } pgprot_t;

#define __pte(x)	((pte_t) { (pteval_t)(x) })
#define pte_val(x)	((x).pte)
/* a PMD leaf: the same layout as an entry (pmd_pte(); riscv, arm64, loongarch) */
typedef struct { pteval_t pmd; } pmd_t;
#define __pmd(x)	((pmd_t) { (pteval_t)(x) })
#define pmd_val(x)	((x).pmd)
#define HPAGE_PMD_NR	PTDL_PTRS_PER_PTE
#define __pgprot(x)	((pgprot_t) { (pteval_t)(x) })
#define pgprot_val(x)	((x).pgprot)

#define VM_READ		0x1UL
#define VM_WRITE	0x2UL
#define VM_EXEC		0x4UL
#define VM_SHARED	0x8UL

#define PG_arch_1	9	/* any bit number: only PG_arch_1 is used */

#define __PTDL_PICK2(_1, _2, NAME, ...) NAME

/*
 * Every trace line goes through ptdl_trace.  -DPTDL_NO_TRACE compiles the
 * trace out (benchmarks/bench_setptes.c: the cost of the calls alone); the
 * arguments are then type-checked but never evaluated.
 */
#ifdef PTDL_NO_TRACE
#define ptdl_trace(...)	do { if (0) printf(__VA_ARGS__); } while (0)
#else
#define ptdl_trace	printf
#endif

/* ---------------------------------------------------------------- objects */

/* i_mmap: the harness's list of the VMAs mapping file `id` (script record
 * `i_mmap`), walked by vma_interval_tree_foreach below */
struct rb_root_cached {
	int id;
};

struct address_space {
	int id;
	bool mapped;		/* mapping_mapped(): i_mmap not empty */
	struct rb_root_cached i_mmap;
};

struct folio;

struct page {
	unsigned long flags;
	unsigned long pfn;
	struct folio *folio;
};

struct folio {
	unsigned long flags;	/* handle: bit ops act on pages[0].flags */
	unsigned long pfn;
	unsigned int order;
	bool anon;
	bool has_mapping;
	bool highmem;		/* PageHighMem: no permanent kernel address */
	bool user_mapped;	/* folio_mapped(): a page of it in a user page table */
	bool phantom;		/* made up for a pfn with no struct page */
	pgoff_t index;		/* the file page of pages[0] (script field index=) */
	struct address_space mapping;
	struct page *pages;
};

struct mm_struct {
	int id;
	bool pgste;
};

struct vm_area_struct {
	int id;
	struct mm_struct *vm_mm;
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_flags;
	unsigned long vm_pgoff;
};

struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;
	pgoff_t pgoff;
};

struct ptdl_table {
	int pt;
	int mm;
	unsigned long base;
	/* aligned to a pair of entries, as the kernel's page-aligned tables
	 * are: an entry's buddy is its address with bit log2(sizeof(pte_t))
	 * flipped (ptdl_buddy) */
	pte_t entries[PTDL_PTRS_PER_PTE] __attribute__((aligned(2 * sizeof(pte_t))));
};

_Static_assert(offsetof(struct ptdl_table, entries) % (2 * sizeof(pte_t)) == 0,
	       "table entries pair-aligned");

/* ------------------------------------------------------------ machine state */

struct ptdl_state {
	struct mm_struct **mms;		/* by id; [0] is &init_mm */
	int nr_mms;
	struct vm_area_struct **vmas;	/* by id */
	int nr_vmas;
	struct folio **folios;
	int nr_folios;
	struct ptdl_table **tables;	/* by pt id */
	int nr_tables;
	char cpu[32][64];
	int nr_cpu;
	struct mm_struct *current_mm;	/* local_flush_tlb_page's address space */
	pmd_t pmd;			/* the PMD entry of a set_pmd_at / update_mmu_cache_pmd call */
	unsigned long pmd_addr;		/* its address (the PMD-aligned haddr) */
	struct mm_struct *active_mm;	/* current->active_mm (the model's current task) */
	int **i_mmap;			/* by file id: VMA ids, -1 terminated */
	int nr_i_mmap;
	struct ptdl_table *last_table;	/* ptdl_table_of's last hit */
	struct folio *last_folio;	/* ptdl_folio_at's last hit */
	bool folios_overlap;		/* a folio was made over another's pages: no last hit */
	/*
	 * lazy MMU mode: the deferred stores as runs, in store order.  Run r
	 * stores at run_at[r] + i for i < run_nr[r]: the values
	 * pend_val[run_first[r] + i] (set_pte one at a time), or, a stepped
	 * run (the generic set_ptes' range, logged once), pend_val[run_first[r]]
	 * and each next one the arch's pte_next_pfn() of the one before, as
	 * the set_ptes loop computes them.
	 */
	pte_t **run_at;
	unsigned int *run_first;
	unsigned int *run_nr;
	bool *run_stepped;
	int nr_runs;
	int cap_runs;
	pte_t *pend_val;	/* nr_pend values */
	int nr_pend;
	int cap_pend;
};

static struct mm_struct init_mm __attribute__((unused)) = { .id = 0, .pgste = false };
static struct ptdl_state ptdl __attribute__((unused));
/*
 * lazy MMU mode on (ptdl_prim_lazy_mmu_enter) and deferring stores: a
 * variable of its own whose address is never taken, so gcc knows no
 * store through a pointer changes it and hoists its test out of a store
 * loop
 */
static bool ptdl_lazy __attribute__((unused));

static inline void *ptdl_grow(void *arr, int *nr, int want, size_t size)
{
	if (want <= *nr)
		return arr;
	arr = realloc(arr, (size_t)want * size);
	if (!arr) {
		fprintf(stderr, "ptdl harness: out of memory\n");
		exit(2);
	}
	memset((char *)arr + (size_t)*nr * size, 0, (size_t)(want - *nr) * size);
	*nr = want;
	return arr;
}

static inline void ptdl_die(const char *what, unsigned long long v)
{
	fprintf(stderr, "ptdl harness: %s 0x%llx\n", what, v);
	exit(2);
}

static inline bool ptdl_cpu_has(const char *feature)
{
	int i;

	for (i = 0; i < ptdl.nr_cpu; i++)
		if (!strcmp(ptdl.cpu[i], feature))
			return true;
	return false;
}

/* The folio holding pfn (the first in ptdl.folios), or NULL.  While no two
 * folios overlap, the last one found is tried first: O(1) for the pages of
 * one folio, as the kernel's pfn_to_page arithmetic is. */
static inline struct folio *ptdl_folio_at(unsigned long pfn)
{
	struct folio *f = ptdl.last_folio;
	int i;

	if (f && !ptdl.folios_overlap && pfn - f->pfn < (1UL << f->order))
		return f;
	for (i = 0; i < ptdl.nr_folios; i++) {
		f = ptdl.folios[i];
		if (f && pfn >= f->pfn && pfn - f->pfn < (1UL << f->order)) {
			ptdl.last_folio = f;
			return f;
		}
	}
	return NULL;
}

/* Create (or replace) the folio at pfn; PG_arch_1 bits all clear. */
static inline struct folio *ptdl_new_folio(unsigned long pfn, unsigned int order)
{
	unsigned long n = 1UL << order, i;
	struct folio *f = ptdl_folio_at(pfn);
	int slot = -1, k;

	for (k = 0; k < ptdl.nr_folios; k++) {
		if (ptdl.folios[k] == f && f) {
			slot = k;
			free(f->pages);
			free(f);
			break;
		}
	}
	if (slot < 0) {
		slot = ptdl.nr_folios;
		ptdl.folios = ptdl_grow(ptdl.folios, &ptdl.nr_folios, slot + 1,
					sizeof(*ptdl.folios));
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		ptdl_die("out of memory at pfn", pfn);
	f->pages = calloc(n, sizeof(*f->pages));
	if (!f->pages)
		ptdl_die("out of memory at pfn", pfn);
	f->pfn = pfn;
	f->order = order;
	for (i = 0; i < n; i++) {
		f->pages[i].pfn = pfn + i;
		f->pages[i].folio = f;
	}
	ptdl.folios[slot] = f;
	ptdl.last_folio = NULL;
	for (k = 0; k < ptdl.nr_folios; k++) {
		struct folio *g = ptdl.folios[k];

		if (g && g != f && g->pfn < pfn + n && pfn < g->pfn + (1UL << g->order))
			ptdl.folios_overlap = true;
	}
	return f;
}

/* The table holding ptep (the last one found is tried first: O(1) in a loop). */
static inline struct ptdl_table *ptdl_table_of(const pte_t *ptep, int *idx)
{
	struct ptdl_table *t = ptdl.last_table;
	int i;

	if (t && ptep >= t->entries && ptep < t->entries + PTDL_PTRS_PER_PTE) {
		*idx = (int)(ptep - t->entries);
		return t;
	}
	for (i = 0; i < ptdl.nr_tables; i++) {
		t = ptdl.tables[i];
		if (t && ptep >= t->entries && ptep < t->entries + PTDL_PTRS_PER_PTE) {
			*idx = (int)(ptep - t->entries);
			ptdl.last_table = t;
			return t;
		}
	}
	ptdl_die("pte pointer outside every table:", (unsigned long long)(unsigned long)ptep);
	return NULL;
}

/* ----------------------------------------------------------- kernel API */

static inline unsigned long ptdl_kaddr(unsigned long pfn)
{
	return PTDL_KERNEL_BASE + (pfn << PAGE_SHIFT);
}

static inline unsigned long ptdl_kaddr_pfn(unsigned long kaddr)
{
	return (kaddr - PTDL_KERNEL_BASE) >> PAGE_SHIFT;
}

/*
 * An unknown pfn (no struct page: remap_pfn_range of device memory) gets
 * an order-0 stand-in folio, as the Python model's pfn_folio() does (which
 * also reports no_struct_page): the kernel would read garbage there.
 */
static inline struct page *pfn_to_page(unsigned long pfn)
{
	struct folio *f = ptdl_folio_at(pfn);

	if (!f) {
		f = ptdl_new_folio(pfn, 0);
		f->phantom = true;
	}
	return &f->pages[pfn - f->pfn];
}

static inline bool pfn_valid(unsigned long pfn)
{
	struct folio *f = ptdl_folio_at(pfn);

	return f && !f->phantom;
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return page->pfn;
}

#define pte_page(pte)		pfn_to_page(__ptdl_pte_pfn(pte))
#define page_folio(p)		((p)->folio)
#define folio_page(f, n)	(&(f)->pages[n])
#define nth_page(p, n)		((p) + (n))

/* NULL for a highmem page (not kmapped: the model's kmaps never outlive a call) */
static inline void *page_address(const struct page *page)
{
	if (page->folio->highmem)
		return NULL;
	return (void *)ptdl_kaddr(page->pfn);
}

#define PageHighMem(page)	((page)->folio->highmem)
#define folio_test_highmem(f)	((f)->highmem)

/*
 * kmap_local_page(): the linear address of a lowmem page; a highmem page
 * gets a fixmap slot address, remembered so the primitive given it can
 * print the pfn.  Slots are not reused within a run (the model's kmaps do
 * not nest and the trace needs only the pfn).
 */
#define PTDL_KMAP_SLOTS	64
#define PTDL_KMAP_BASE	(PTDL_KERNEL_BASE - PTDL_KMAP_SLOTS * PAGE_SIZE)

static unsigned long ptdl_kmap_pfn[PTDL_KMAP_SLOTS];
static unsigned int ptdl_kmap_next;

static inline void *kmap_local_page(struct page *page)
{
	unsigned int slot;

	if (!page->folio->highmem)
		return (void *)ptdl_kaddr(page->pfn);
	slot = ptdl_kmap_next++ % PTDL_KMAP_SLOTS;
	ptdl_kmap_pfn[slot] = page->pfn;
	return (void *)(PTDL_KMAP_BASE + slot * PAGE_SIZE);
}

static inline void kunmap_local(const void *addr)
{
	(void)addr;
}

static inline unsigned long ptdl_kmap_addr_pfn(unsigned long kva)
{
	if (kva >= PTDL_KMAP_BASE && kva < PTDL_KERNEL_BASE)
		return ptdl_kmap_pfn[(kva - PTDL_KMAP_BASE) >> PAGE_SHIFT];
	return ptdl_kaddr_pfn(kva);
}

static inline void *folio_address(const struct folio *folio)
{
	return (void *)ptdl_kaddr(folio->pfn);
}

static inline long folio_nr_pages(const struct folio *folio)
{
	return 1L << folio->order;
}

static inline size_t folio_size(const struct folio *folio)
{
	return PAGE_SIZE << folio->order;
}

static inline bool folio_test_large(const struct folio *folio)
{
	return folio->order > 0;
}

static inline bool folio_test_anon(const struct folio *folio)
{
	return folio->anon;
}

static inline struct address_space *folio_flush_mapping(struct folio *folio)
{
	if (folio->anon || !folio->has_mapping)
		return NULL;
	return &folio->mapping;
}

static inline bool mapping_mapped(const struct address_space *mapping)
{
	return mapping && mapping->mapped;
}

static inline bool folio_mapped(const struct folio *folio)
{
	return folio->user_mapped;
}

static inline bool mm_has_pgste(const struct mm_struct *mm)
{
	return mm->pgste;
}

static inline bool pages_do_alias(unsigned long a, unsigned long b)
{
	unsigned long c = (unsigned long)(PTDL_DCACHE_COLOURS);

	if (c <= 1)
		return false;
	return ((a >> PAGE_SHIFT) % c) != ((b >> PAGE_SHIFT) % c);
}

/* PG_arch_1: find the flags word's owner, print, then act on the bit. */
static inline unsigned long *ptdl_flags_of(struct folio *f, const volatile unsigned long *addr,
					   const char **what, unsigned long *pfn)
{
	if (addr == &f->flags) {
		*what = "folio";
		*pfn = f->pfn;
		return &f->pages[0].flags;
	}
	if ((const volatile void *)addr >= (void *)f->pages &&
	    (const volatile void *)addr < (void *)(f->pages + (1UL << f->order))) {
		struct page *p = (struct page *)((char *)addr - offsetof(struct page, flags));

		*what = "page";
		*pfn = p->pfn;
		return &p->flags;
	}
	return NULL;
}

/* (the folio ptdl_folio_at found last is tried first) */
static inline unsigned long *ptdl_flags_owner(const volatile unsigned long *addr,
					      const char **what, unsigned long *pfn)
{
	unsigned long *w;
	int i;

	if (ptdl.last_folio) {
		w = ptdl_flags_of(ptdl.last_folio, addr, what, pfn);
		if (w)
			return w;
	}
	for (i = 0; i < ptdl.nr_folios; i++) {
		if (!ptdl.folios[i])
			continue;
		w = ptdl_flags_of(ptdl.folios[i], addr, what, pfn);
		if (w)
			return w;
	}
	ptdl_die("bit op on an unknown flags word", (unsigned long long)(unsigned long)addr);
	return NULL;
}

static inline bool ptdl_test_bit(long nr, const volatile unsigned long *addr)
{
	const char *what;
	unsigned long pfn, *w = ptdl_flags_owner(addr, &what, &pfn);
	bool v = (*w >> nr) & 1;

	if (nr == PG_arch_1)
		ptdl_trace("pg_arch_1 test %s=0x%lx -> %d\n", what, pfn, (int)v);
	return v;
}

static inline void ptdl_change_bit(long nr, volatile unsigned long *addr, bool set)
{
	const char *what;
	unsigned long pfn, *w = ptdl_flags_owner(addr, &what, &pfn);

	if (nr == PG_arch_1)
		ptdl_trace("pg_arch_1 %s %s=0x%lx\n", set ? "set" : "clear", what, pfn);
	if (set)
		*w |= 1UL << nr;
	else
		*w &= ~(1UL << nr);
}

#define test_bit(nr, addr)	ptdl_test_bit(nr, addr)
#define set_bit(nr, addr)	ptdl_change_bit(nr, addr, true)
#define clear_bit(nr, addr)	ptdl_change_bit(nr, addr, false)

/* --------------------------------------------------------------- primitives */

static inline pte_t ptep_get(pte_t *ptep)
{
	return *ptep;
}

/* Room for vals deferred values and runs runs in all (doubling). */
static __attribute__((noinline)) void ptdl_defer_grow(int vals, int runs)
{
	int cap;

	if (vals > ptdl.cap_pend) {
		cap = ptdl.cap_pend;
		ptdl.pend_val = ptdl_grow(ptdl.pend_val, &cap,
					  vals > cap * 2 + 64 ? vals : cap * 2 + 64,
					  sizeof(*ptdl.pend_val));
		ptdl.cap_pend = cap;
	}
	if (runs > ptdl.cap_runs) {
		int want = runs > ptdl.cap_runs * 2 + 16 ? runs : ptdl.cap_runs * 2 + 16;

		cap = ptdl.cap_runs;
		ptdl.run_at = ptdl_grow(ptdl.run_at, &cap, want, sizeof(*ptdl.run_at));
		cap = ptdl.cap_runs;
		ptdl.run_first = ptdl_grow(ptdl.run_first, &cap, want, sizeof(*ptdl.run_first));
		cap = ptdl.cap_runs;
		ptdl.run_nr = ptdl_grow(ptdl.run_nr, &cap, want, sizeof(*ptdl.run_nr));
		cap = ptdl.cap_runs;
		ptdl.run_stepped = ptdl_grow(ptdl.run_stepped, &cap, want,
					     sizeof(*ptdl.run_stepped));
		ptdl.cap_runs = cap;
	}
}

/*
 * Defer the store of pte at ptep (the last run grows when ptep follows
 * it), or with nr > 1 a stepped run of nr entries from ptep, pte the
 * first value: O(1) but for the doubling of the arrays.  Nothing reads
 * the deferred values before leave (a raw read in the mode sees the old
 * entry, as runtime/lazy.py's strict and defer kinds say).
 */
static inline void ptdl_defer(pte_t *ptep, pte_t pte, unsigned int nr)
{
	int n = ptdl.nr_runs, first = ptdl.nr_pend;

	if (__builtin_expect(first == ptdl.cap_pend || n == ptdl.cap_runs, 0))
		ptdl_defer_grow(first + 1, n + 1);
	ptdl.pend_val[first] = pte;
	ptdl.nr_pend = first + 1;
	if (nr == 1 && n > 0 && !ptdl.run_stepped[n - 1] &&
	    ptdl.run_at[n - 1] + ptdl.run_nr[n - 1] == ptep) {
		ptdl.run_nr[n - 1]++;
		return;
	}
	ptdl.run_at[n] = ptep;
	ptdl.run_first[n] = (unsigned int)first;
	ptdl.run_nr[n] = nr;
	ptdl.run_stepped[n] = nr > 1;
	ptdl.nr_runs = n + 1;
}

/*
 * Apply the deferred runs in store order (a later store to an entry wins,
 * as it would in memory) and forget them.  next is the advance of the
 * stepped runs (the generic set_ptes' pte_next_pfn: inlined into it, a
 * constant), NULL where none can be pending.
 */
static inline __attribute__((always_inline)) void ptdl_defer_apply(pte_t (*next)(pte_t))
{
	int r;

	for (r = 0; r < ptdl.nr_runs; r++) {
		const pte_t *v = ptdl.pend_val + ptdl.run_first[r];
		pte_t *at = ptdl.run_at[r];
		unsigned int n = ptdl.run_nr[r];

		if (ptdl.run_stepped[r]) {
			pte_t x = *v;

			if (!next)
				ptdl_die("stepped deferred run left without its advance at",
					 (unsigned long long)(unsigned long)at);
			for (;;) {
				*at = x;
				if (--n == 0)
					break;
				at++;
				x = next(x);
			}
		} else {
			memcpy(at, v, n * sizeof(*at));
		}
	}
	ptdl.nr_runs = 0;
	ptdl.nr_pend = 0;
}

/* Store *ptep; in lazy MMU mode defer it (a run of one, or the last run's
 * next entry). */
static inline void ptdl_store(pte_t *ptep, pte_t pte)
{
#ifdef PTDL_LAZY_STORES_AT_ONCE	/* the mode is never on (ptdl_prim_lazy_mmu_enter) */
	*ptep = pte;
	return;
#endif
	if (__builtin_expect(!ptdl_lazy, 1)) {
		*ptep = pte;
		return;
	}
	ptdl_defer(ptep, pte, 1);
}

/* the other entry of ptep's even/odd pair (mips, loongarch ptep_buddy()) */
static inline pte_t *ptdl_buddy(pte_t *ptep)
{
	return (pte_t *)((unsigned long)ptep ^ sizeof(pte_t));
}

/* set_pte's trace line (the table lookup is compiled out with the trace) */
static inline void ptdl_trace_set_pte(const pte_t *ptep, pte_t pte)
{
#ifndef PTDL_NO_TRACE
	int idx;
	struct ptdl_table *t = ptdl_table_of(ptep, &idx);

	ptdl_trace("set_pte pt=%d idx=%d val=0x%llx\n", t->pt, idx,
		   (unsigned long long)pte_val(pte));
#else
	(void)ptep;
	(void)pte;
#endif
}

/*
 * set_pte(ptep, pte).  Traced, it names the entry by table and index (a
 * lookup, O(1) in a loop: ptdl_table_of); with -DPTDL_NO_TRACE it is the
 * store and the buddy rule alone, as in the kernel.
 */
static inline void ptdl_prim_set_pte(pte_t *ptep, pte_t pte)
{
	ptdl_trace_set_pte(ptep, pte);
	ptdl_store(ptep, pte);
#ifdef PTDL_PAIRS_GLOBAL_MASK
	{
		pteval_t g = (pteval_t)(PTDL_PAIRS_GLOBAL_MASK);
		bool global = (pte_val(pte) & g) != 0;
		pte_t *b = ptdl_buddy(ptep);
#ifdef PTDL_PAIRS_GLOBAL_INVERTED
		global = !global;
		pteval_t gval = 0;
#else
		pteval_t gval = g;
#endif
		if (__builtin_expect(global, 0) && (pte_val(*b) & ~g) == 0) {
#ifndef PTDL_NO_TRACE
			int idx;
			struct ptdl_table *t = ptdl_table_of(ptep, &idx);

			ptdl_trace("set_pte_buddy pt=%d idx=%d val=0x%llx\n", t->pt, idx ^ 1,
				   (unsigned long long)gval);
#endif
			*b = __pte(gval);
		}
	}
#endif
}

/* arm's set_pte_ext(ptep, pte, ext): ext holds bits of the hardware entry
 * only (PTE_EXT_NG), which the model does not keep: a plain set_pte. */
static inline void ptdl_prim_set_pte_ext(pte_t *ptep, pte_t pte, unsigned long ext)
{
	(void)ext;
	ptdl_prim_set_pte(ptep, pte);
}
#ifndef TASK_SIZE
#define TASK_SIZE (~0UL)
#endif
#ifndef PTE_EXT_NG
#define PTE_EXT_NG (1UL << 11)
#endif

static inline void ptdl_prim_pgste_set_pte(struct mm_struct *mm, unsigned long addr,
					   pte_t *ptep, pte_t pte)
{
#ifndef PTDL_NO_TRACE
	int idx;
	struct ptdl_table *t = ptdl_table_of(ptep, &idx);

	ptdl_trace("pgste_set_pte pt=%d idx=%d val=0x%llx\n", t->pt, idx,
		   (unsigned long long)pte_val(pte));
#endif
	(void)mm;
	(void)addr;
	ptdl_store(ptep, pte);
}

static inline void ptdl_prim_page_table_check(struct mm_struct *mm, pte_t *ptep,
					      pte_t pte, unsigned int nr)
{
#ifndef PTDL_NO_TRACE
	int idx;
	struct ptdl_table *t = ptdl_table_of(ptep, &idx);

	ptdl_trace("ptc_set pt=%d idx=%d val=0x%llx nr=%u\n", t->pt, idx,
		   (unsigned long long)pte_val(pte), nr);
#endif
	(void)mm;
	(void)ptep;
	(void)pte;
	(void)nr;
}

static inline void ptdl_prim_lazy_mmu_enter(void)
{
	ptdl_trace("lazy_mmu enter\n");
#ifndef PTDL_LAZY_STORES_AT_ONCE	/* lazy_mmu none | batch: nothing deferred */
	ptdl_lazy = true;
#endif
}

/* Apply the deferred stores and leave (no trace line: Kernel._end's repair). */
static inline void ptdl_prim_lazy_mmu_leave_quiet(void)
{
	ptdl_defer_apply(NULL);
	ptdl_lazy = false;
}

/* leave, next the advance of a stepped run pending (ptdl_defer_apply) */
static inline __attribute__((always_inline)) void ptdl_lazy_mmu_leave_with(pte_t (*next)(pte_t))
{
	ptdl_trace("lazy_mmu leave\n");
	ptdl_defer_apply(next);
	ptdl_lazy = false;
}

static inline void ptdl_prim_lazy_mmu_leave(void)
{
	ptdl_lazy_mmu_leave_with(NULL);
}

static inline void ptdl_cache_op(const char *op, unsigned long start, unsigned long end)
{
	ptdl_trace("%s pfn=0x%lx nr=%lu\n", op, ptdl_kaddr_pfn(start),
	       (end - start) >> PAGE_SHIFT);
}

static inline void ptdl_icache_sync_range(unsigned long s, unsigned long e)
{
	ptdl_cache_op("icache_sync", s, e);
}

static inline void ptdl_icache_sync_page(unsigned long s)
{
	ptdl_cache_op("icache_sync", s, s + PAGE_SIZE);
}

static inline void ptdl_dcache_flush_range(unsigned long s, unsigned long e)
{
	ptdl_cache_op("dcache_flush", s, e);
}

static inline void ptdl_dcache_flush_page(unsigned long s)
{
	ptdl_cache_op("dcache_flush", s, s + PAGE_SIZE);
}

static inline void ptdl_dcache_clean_range(unsigned long s, unsigned long e)
{
	ptdl_cache_op("dcache_clean", s, e);
}

static inline void ptdl_dcache_clean_page(unsigned long s)
{
	ptdl_cache_op("dcache_clean", s, s + PAGE_SIZE);
}

static inline void ptdl_icache_inval_range(unsigned long s, unsigned long e)
{
	ptdl_cache_op("icache_inval", s, e);
}

static inline void ptdl_icache_inval_page(unsigned long s)
{
	ptdl_cache_op("icache_inval", s, s + PAGE_SIZE);
}

static inline void ptdl_prim_flush_dcache_kmap(unsigned long kva)
{
	ptdl_trace("dcache_flush_kmap pfn=0x%lx nr=1\n", ptdl_kmap_addr_pfn(kva));
}

/* a flush of one page's lines at every colour, by physical tag: sparc64's
 * __flush_dcache_page(kaddr, flush_icache) (the header passes 0: the
 * I-cache is the archdef's own statement) */
static inline void ptdl_prim_flush_dcache_all_colours(void *kaddr, int flush_icache)
{
	(void)flush_icache;
	ptdl_trace("dcache_flush_phys pfn=0x%lx nr=1\n", ptdl_kaddr_pfn((unsigned long)kaddr));
}

static inline void ptdl_prim_flush_dcache_user(struct mm_struct *mm, unsigned long addr,
					       struct page *page)
{
	ptdl_trace("dcache_flush_user mm=%d addr=0x%lx pfn=0x%lx nr=1\n", mm->id, addr,
	       page->pfn);
}

/* flush_icache_user_page(vma, page, addr, len) on alpha: a new ASN for the
 * VMA's mm, i.e. every I-cache line of that address space */
static inline void ptdl_prim_inval_icache_mm(struct vm_area_struct *vma, struct page *page,
					     unsigned long addr, int len)
{
	(void)page;
	(void)addr;
	(void)len;
	ptdl_trace("icache_inval_mm mm=%d\n", vma->vm_mm->id);
}

static inline void ptdl_prim_tlb_preload(struct vm_area_struct *vma, unsigned long addr,
					 pte_t pte)
{
	ptdl_trace("tlb_preload mm=%d addr=0x%lx val=0x%llx\n", vma->vm_mm->id, addr,
	       (unsigned long long)pte_val(pte));
}

static inline void ptdl_prim_tlb_flush_page(unsigned long addr)
{
	ptdl_trace("tlb_flush_page mm=%d addr=0x%lx\n", ptdl.current_mm->id, addr);
}

/* the whole I-cache, every CPU / this CPU (no argument) */
static inline void ptdl_prim_icache_flush_all(void)
{
	ptdl_trace("icache_flush_all\n");
}

static inline void ptdl_prim_icache_flush_local(void)
{
	ptdl_trace("icache_flush_local\n");
}

/* hash page table / TSB insertion and the batched flush (runtime/effects.py) */
static inline void ptdl_prim_hpte_insert(struct vm_area_struct *vma, unsigned long addr,
					 pte_t pte)
{
	ptdl_trace("hpte_insert mm=%d addr=0x%lx val=0x%llx\n", vma->vm_mm->id, addr,
	       (unsigned long long)pte_val(pte));
}

static inline void ptdl_prim_tsb_insert(struct vm_area_struct *vma, unsigned long addr,
					pte_t pte)
{
	ptdl_trace("tsb_insert mm=%d addr=0x%lx val=0x%llx\n", vma->vm_mm->id, addr,
	       (unsigned long long)pte_val(pte));
}

static inline void ptdl_prim_tlb_batch_add(struct mm_struct *mm, unsigned long addr)
{
	ptdl_trace("tlb_batch_add mm=%d addr=0x%lx\n", mm->id, addr);
}

/*
 * set_pmd(pmdp, pmd): the harness's one PMD slot.  A macro, so the pfn is
 * decoded by the generated header's __ptdl_pte_pfn() where it is used.
 */
static inline void ptdl_store_pmd(pmd_t *pmdp, pmd_t pmd, unsigned long pfn)
{
	*pmdp = pmd;
	ptdl_trace("set_pmd mm=%d addr=0x%lx pfn=0x%lx\n", ptdl.current_mm->id, ptdl.pmd_addr,
		   pfn);
}
#define ptdl_prim_store_pmd(pmdp, pmd) \
	ptdl_store_pmd(pmdp, pmd, __ptdl_pte_pfn(__pte(pmd_val(pmd))))

static inline void ptdl_prim_tlb_flush_all(void)
{
	ptdl_trace("tlb_flush_all\n");
}

/* (start, end) over kernel addresses, or (kaddr) for one page */
#define ptdl_prim_sync_icache(...) \
	__PTDL_PICK2(__VA_ARGS__, ptdl_icache_sync_range, ptdl_icache_sync_page, _)(__VA_ARGS__)
#define ptdl_prim_flush_dcache(...) \
	__PTDL_PICK2(__VA_ARGS__, ptdl_dcache_flush_range, ptdl_dcache_flush_page, _)(__VA_ARGS__)
#define ptdl_prim_clean_dcache(...) \
	__PTDL_PICK2(__VA_ARGS__, ptdl_dcache_clean_range, ptdl_dcache_clean_page, _)(__VA_ARGS__)
#define ptdl_prim_inval_icache(...) \
	__PTDL_PICK2(__VA_ARGS__, ptdl_icache_inval_range, ptdl_icache_inval_page, _)(__VA_ARGS__)

/* the (kernel pointer, size) forms: primitives { X = "name(ptr, size)" } */
#define ptdl_prim_sync_icache_ps(p, n) \
	ptdl_icache_sync_range((unsigned long)(p), (unsigned long)(p) + (n))
#define ptdl_prim_flush_dcache_ps(p, n) \
	ptdl_dcache_flush_range((unsigned long)(p), (unsigned long)(p) + (n))
#define ptdl_prim_clean_dcache_ps(p, n) \
	ptdl_dcache_clean_range((unsigned long)(p), (unsigned long)(p) + (n))
#define ptdl_prim_inval_icache_ps(p, n) \
	ptdl_icache_inval_range((unsigned long)(p), (unsigned long)(p) + (n))

/* ------------------------------------------------ i_mmap walk, current task */

#ifndef max
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif
#ifndef min
#define min(a, b) ((a) < (b) ? (a) : (b))
#endif

static inline unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

static inline unsigned long folio_pfn(const struct folio *folio)
{
	return folio->pfn;
}

/* the next VMA of file root->id overlapping file pages [first, last], in
 * the order of the script's i_mmap record (the model's: by VMA id) */
static inline struct vm_area_struct *ptdl_i_mmap_next(const struct rb_root_cached *root,
						      int *pos, pgoff_t first, pgoff_t last)
{
	const int *ids;

	if (root->id <= 0 || root->id >= ptdl.nr_i_mmap || !ptdl.i_mmap[root->id])
		return NULL;
	ids = ptdl.i_mmap[root->id];
	while (ids[*pos] >= 0) {
		struct vm_area_struct *v = ptdl.vmas[ids[(*pos)++]];

		if (v->vm_pgoff <= last && v->vm_pgoff + vma_pages(v) - 1 >= first)
			return v;
	}
	return NULL;
}

#define vma_interval_tree_foreach(vma, root, start, last)			\
	for (int __ptdl_pos = 0;						\
	     ((vma) = ptdl_i_mmap_next((root), &__ptdl_pos, (start), (last))) != NULL; )

#define flush_dcache_mmap_lock(mapping)		do { (void)(mapping); } while (0)
#define flush_dcache_mmap_unlock(mapping)	do { (void)(mapping); } while (0)

struct task_struct {
	struct mm_struct *active_mm;
};

static inline struct task_struct *ptdl_current(void)
{
	static struct task_struct task;

	task.active_mm = ptdl.active_mm;
	return &task;
}
#define current ptdl_current()

/* flush_cache_pages(vma, user address, pfn, nr): the user-alias lines of
 * nr pages (arch/arm/mm/flush.c) */
static inline void ptdl_prim_flush_user_alias(struct vm_area_struct *vma, unsigned long addr,
					      unsigned long pfn, unsigned int nr)
{
	ptdl_trace("dcache_flush_user mm=%d addr=0x%lx pfn=0x%lx nr=%u\n", vma->vm_mm->id, addr,
	       pfn, nr);
}

/* flush_cache_range / flush_cache_page: mm's user lines of nr pages from
 * addr; flush_cache_mm: all of mm's user lines */
static inline void ptdl_prim_flush_user_cache(struct mm_struct *mm, unsigned long start,
					      unsigned long end)
{
	ptdl_trace("dcache_flush_user_range mm=%d addr=0x%lx nr=%lu\n", mm->id, start,
	       (end - start) >> PAGE_SHIFT);
}

/* the (vma, start, end) form: primitives { flush_user_cache = "name(vma, start, end)" } */
#define ptdl_prim_flush_user_cache_vr(vma, start, end) \
	ptdl_prim_flush_user_cache((vma)->vm_mm, (start), (end))

/* the one-page form: primitives { flush_user_alias = "name(vma, addr, pfn)" } */
#define ptdl_prim_flush_user_alias_pp(vma, addr, pfn) \
	ptdl_prim_flush_user_alias((vma), (addr), (pfn), 1)

/* an aliasing I-cache: the lines of page at the user address's colour */
static inline void ptdl_prim_inval_icache_user(struct mm_struct *mm, unsigned long addr,
					       struct page *page)
{
	ptdl_trace("icache_inval_user mm=%d addr=0x%lx pfn=0x%lx nr=1\n", mm->id, addr,
	       page->pfn);
}

#ifndef inval_icache_page_user
#define inval_icache_page_user ptdl_prim_inval_icache_user
#endif

/* the user-page hooks' copy / clear (mode bit 0: read, bit 1: write
 * through a kernel mapping at vaddr's colour; 0: kmap_local_page) */
static inline void ptdl_prim_copy_page(struct page *to, struct page *from,
				       unsigned long vaddr, int mode)
{
	ptdl_trace("copy_page from=0x%lx to=0x%lx addr=0x%lx mode=%d\n", from->pfn, to->pfn,
	       vaddr, mode);
}

static inline void ptdl_prim_clear_page(struct page *page, unsigned long vaddr, int mode)
{
	ptdl_trace("clear_page pfn=0x%lx addr=0x%lx mode=%d\n", page->pfn, vaddr, mode);
}

#define __ptdl_copy_page_m0(to, from, vaddr) ptdl_prim_copy_page((to), (from), (vaddr), 0)
#define __ptdl_copy_page_m1(to, from, vaddr) ptdl_prim_copy_page((to), (from), (vaddr), 1)
#define __ptdl_copy_page_m2(to, from, vaddr) ptdl_prim_copy_page((to), (from), (vaddr), 2)
#define __ptdl_copy_page_m3(to, from, vaddr) ptdl_prim_copy_page((to), (from), (vaddr), 3)
#define __ptdl_clear_page_m0(page, vaddr) ptdl_prim_clear_page((page), (vaddr), 0)
#define __ptdl_clear_page_m2(page, vaddr) ptdl_prim_clear_page((page), (vaddr), 2)
#define __ptdl_flush_user_page(vma, vaddr, page) \
	ptdl_prim_flush_dcache_user((vma)->vm_mm, (vaddr), (page))

static inline void ptdl_prim_flush_cache_all(void)
{
	ptdl_trace("cache_flush_all\n");
}

static inline void ptdl_prim_flush_dcache_all(void)
{
	ptdl_trace("dcache_flush_all\n");
}

static inline void ptdl_prim_flush_user_cache_mm(struct mm_struct *mm)
{
	ptdl_trace("dcache_flush_user_mm mm=%d\n", mm->id);
}

/* The catalog's default C names (dsl/catalog.py Effect.c_default). */
#ifndef set_pte
#define set_pte ptdl_prim_set_pte
#define __PTDL_SHIM_SET_PTE 1
#endif
#ifndef __set_pte_at
/* powerpc, sparc64: the arch's own single-entry store (store using=set_pte_at) */
#define __set_pte_at(mm, addr, ptep, pte, full) ptdl_prim_set_pte(ptep, pte)
#endif
#ifndef ptep_set_pte_at
#define ptep_set_pte_at ptdl_prim_pgste_set_pte
#endif
#ifndef set_pte_ext
#define set_pte_ext ptdl_prim_set_pte_ext
#endif
#ifndef page_table_check_ptes_set
#define page_table_check_ptes_set ptdl_prim_page_table_check
#endif
#ifndef arch_enter_lazy_mmu_mode
#define arch_enter_lazy_mmu_mode ptdl_prim_lazy_mmu_enter
#endif
#ifndef arch_leave_lazy_mmu_mode
#define arch_leave_lazy_mmu_mode ptdl_prim_lazy_mmu_leave
#define __PTDL_SHIM_LAZY_LEAVE 1
#endif
/*
 * set_pte is the shim's store alone (no buddy store), the mode may defer
 * it and leave is the shim's: the generic set_ptes defers its range as one
 * stepped run (ptdl_generic.h)
 */
#if defined(__PTDL_SHIM_SET_PTE) && defined(__PTDL_SHIM_LAZY_LEAVE) && \
	!defined(PTDL_PAIRS_GLOBAL_MASK) && !defined(PTDL_LAZY_STORES_AT_ONCE)
#define PTDL_SET_PTE_RUNS 1
#endif
#ifndef sync_icache_aliases
#define sync_icache_aliases ptdl_prim_sync_icache
#endif
#ifndef flush_dcache_page_kaddr
#define flush_dcache_page_kaddr ptdl_prim_flush_dcache
#endif
#ifndef clean_dcache_page_kaddr
#define clean_dcache_page_kaddr ptdl_prim_clean_dcache
#endif
#ifndef flush_icache_range_kaddr
#define flush_icache_range_kaddr ptdl_prim_inval_icache
#endif
#ifndef flush_icache_all
#define flush_icache_all ptdl_prim_icache_flush_all
#endif
#ifndef local_flush_icache_all
#define local_flush_icache_all ptdl_prim_icache_flush_local
#endif
#ifndef flush_dcache_page_user
#define flush_dcache_page_user ptdl_prim_flush_dcache_user
#endif
#ifndef flush_icache_user_page
#define flush_icache_user_page ptdl_prim_inval_icache_mm
#endif
#ifndef flush_dcache_page_kmap
#define flush_dcache_page_kmap ptdl_prim_flush_dcache_kmap
#endif
#ifndef flush_cache_pages
#define flush_cache_pages ptdl_prim_flush_user_alias
#endif
#ifndef flush_user_cache_range
#define flush_user_cache_range ptdl_prim_flush_user_cache
#endif
#ifndef __flush_cache_all
#define __flush_cache_all ptdl_prim_flush_cache_all
#endif
#ifndef __flush_dcache_all
#define __flush_dcache_all ptdl_prim_flush_dcache_all
#endif
#ifndef flush_user_cache_mm
#define flush_user_cache_mm ptdl_prim_flush_user_cache_mm
#endif
#ifndef __update_tlb
#define __update_tlb ptdl_prim_tlb_preload
#endif
#ifndef local_flush_tlb_page
#define local_flush_tlb_page ptdl_prim_tlb_flush_page
#endif
#ifndef hash_preload
#define hash_preload ptdl_prim_hpte_insert
#endif
#ifndef update_mmu_tsb_insert
#define update_mmu_tsb_insert ptdl_prim_tsb_insert
#endif
#ifndef tlb_batch_add
#define tlb_batch_add ptdl_prim_tlb_batch_add
#endif
#ifndef set_pmd
#define set_pmd ptdl_prim_store_pmd
#endif
#ifndef flush_tlb_all
#define flush_tlb_all ptdl_prim_tlb_flush_all
#endif
#ifndef flush_dcache_page_phys
#define flush_dcache_page_phys ptdl_prim_flush_dcache_all_colours
#endif

#endif /* PTDL_SHIM_H */
