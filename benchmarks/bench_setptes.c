// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark: the generated set_ptes() against a plain store loop.
 *
 * Place in the flow: built and run by benchmarks/bench_c_setptes.py, once
 * per arch, with the arch's -D flags (dsl/generate/charness.py gcc_flags),
 * -O2 and -DPTDL_NO_TRACE (the shim's trace lines compiled out, so what is
 * measured is the generated code and the shim's primitives: the same
 * runtime/c/ptdl_shim.h the C differential tests compile, without printf).
 *
 *   ./bench_setptes NR PTEVAL STEP
 *	prints "gen NS_PER_PTE plain NS_PER_PTE regions K"
 *
 * Shape of one timed batch: K page tables, each starting with every entry
 * none (zero), as a fault maps them; one set_ptes(nr) per table at the
 * table's base address, all for one folio of nr pages at pfn 0x10000
 * (order log2(nr)).  The plain loop stores the same values into the same
 * tables.  The tables are cleared between batches, outside the timing.
 * Time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID: time the
 * scheduler gives other processes on a loaded machine does not count);
 * each figure is the best of ROUNDS, the two loops alternating.
 *
 * PTEVAL is pfn_pte(0x10000, vm_get_page_prot(VM_READ)) computed by the
 * Python model; STEP is what the plain loop adds per entry (the model's
 * pte_advance(pte, 1) - pte, which bench_c_setptes.py checks is linear over
 * nr).  After the runs every table set_ptes wrote must equal what the plain
 * loop wrote, every entry past nr must still be none, and the lazy MMU mode
 * must be off with nothing deferred: the stores happened and were not
 * optimised away (both loops end in an asm barrier on the table memory).
 */
#define PTDL_NO_TRACE 1
#include <time.h>

#include "ptdl_shim.h"

#ifndef PTDL_HEADER
#error "compile with -DPTDL_HEADER='\"pgtable-range.h\"'"
#endif
#include PTDL_HEADER

#include "ptdl_generic.h"

#define USER_BASE	0x7f0000000000UL
#define TABLE_SPAN	((unsigned long)PTDL_PTRS_PER_PTE << PAGE_SHIFT)
#define BATCH_PTES	8192	/* PTEs per timed batch: K = BATCH_PTES / nr tables */
#define MIN_TIME	0.02	/* seconds of CPU time per timed run */
#define ROUNDS		9	/* the two loops alternate; the best of each is kept */

static struct mm_struct bench_mm = { .id = 1, .pgste = false };
static struct ptdl_table **tabs;
static unsigned int nr_tabs;

static __attribute__((noinline)) void run_gen(pte_t pte, unsigned int nr)
{
	unsigned int k;

	for (k = 0; k < nr_tabs; k++)
		set_ptes(&bench_mm, tabs[k]->base, tabs[k]->entries, pte, nr);
	__asm__ volatile("" : : : "memory");
}

static __attribute__((noinline)) void run_plain(pte_t pte, unsigned int nr, pteval_t step)
{
	unsigned int i, k;

	for (k = 0; k < nr_tabs; k++) {
		pte_t *ptep = tabs[k]->entries;

		for (i = 0; i < nr; i++)
			ptep[i] = __pte(pte_val(pte) + (pteval_t)i * step);
	}
	__asm__ volatile("" : : : "memory");
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void clear_tables(unsigned int nr)
{
	unsigned int k;

	for (k = 0; k < nr_tabs; k++)
		memset(tabs[k]->entries, 0, nr * sizeof(pte_t));
}

/* one timed run of at least MIN_TIME: ns per PTE (clearing not counted) */
#define TIME_ONCE(CALL, nr)						\
	({								\
		long batches = 0;					\
		double dt = 0;						\
		do {							\
			double t0;					\
									\
			clear_tables(nr);				\
			t0 = cpu_now();					\
			CALL;						\
			dt += cpu_now() - t0;				\
			batches++;					\
		} while (dt < MIN_TIME);				\
		dt * 1e9 / ((double)batches * nr_tabs * (nr));		\
	})

int main(int argc, char **argv)
{
	unsigned int nr, order = 0, i, k;
	pte_t pte;
	pteval_t step;
	pte_t *gen_vals;
	double g, p;

	if (argc != 4)
		return 2;
	nr = (unsigned int)strtoul(argv[1], NULL, 0);
	pte = __pte(strtoull(argv[2], NULL, 0));
	step = (pteval_t)strtoull(argv[3], NULL, 0);
	if (nr == 0 || nr > PTDL_PTRS_PER_PTE || (nr & (nr - 1)))
		return 2;
	while ((1U << order) < nr)
		order++;

	nr_tabs = BATCH_PTES / nr ? BATCH_PTES / nr : 1;
	tabs = calloc(nr_tabs, sizeof(*tabs));
	ptdl.tables = ptdl_grow(ptdl.tables, &ptdl.nr_tables, (int)nr_tabs + 1,
				sizeof(*ptdl.tables));
	if (!tabs)
		return 2;
	for (k = 0; k < nr_tabs; k++) {
		struct ptdl_table *t = calloc(1, sizeof(*t));

		if (!t)
			return 2;
		t->pt = (int)k + 1;
		t->mm = 1;
		t->base = USER_BASE + k * TABLE_SPAN;
		ptdl.tables[k + 1] = t;
		tabs[k] = t;
	}
	ptdl.mms = ptdl_grow(ptdl.mms, &ptdl.nr_mms, 2, sizeof(*ptdl.mms));
	ptdl.mms[1] = &bench_mm;
	ptdl.current_mm = &bench_mm;
	ptdl.active_mm = &bench_mm;
	ptdl_new_folio(0x10000, order);

	gen_vals = malloc((size_t)nr_tabs * PTDL_PTRS_PER_PTE * sizeof(*gen_vals));
	if (!gen_vals)
		return 2;
	g = p = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		double x = TIME_ONCE(run_gen(pte, nr), nr);

		if (x < g)
			g = x;
		for (k = 0; k < nr_tabs; k++)
			memcpy(gen_vals + (size_t)k * PTDL_PTRS_PER_PTE, tabs[k]->entries,
			       sizeof(tabs[k]->entries));
		x = TIME_ONCE(run_plain(pte, nr, step), nr);
		if (x < p)
			p = x;
	}
	if (ptdl.lazy || ptdl.nr_pend) {
		fprintf(stderr, "lazy MMU mode still on after set_ptes (%d deferred stores)\n",
			ptdl.nr_pend);
		return 1;
	}
	for (k = 0; k < nr_tabs; k++) {
		for (i = 0; i < PTDL_PTRS_PER_PTE; i++) {
			pteval_t gv = pte_val(gen_vals[(size_t)k * PTDL_PTRS_PER_PTE + i]);
			pteval_t pv = i < nr ? pte_val(tabs[k]->entries[i]) : 0;

			if (gv != pv || (i < nr && gv == 0)) {
				fprintf(stderr, "table %u entry %u: set_ptes stored 0x%llx, "
					"plain loop 0x%llx\n", k, i, (unsigned long long)gv,
					(unsigned long long)pv);
				return 1;
			}
		}
	}
	printf("gen %.3f plain %.3f regions %u\n", g, p, nr_tabs);
	return 0;
}
