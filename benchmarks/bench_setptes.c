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
 *	prints "gen NS_PER_PTE plain NS_PER_PTE regions K ratio MEDIAN_RATIO
 *		clock_ns TIMER_COST deferred 0|1"
 *
 * Shape of one timed batch: K page tables, each starting with every entry
 * none (zero), as a fault maps them; one set_ptes(nr) per table at the
 * table's base address, all for one folio of nr pages at pfn 0x10000
 * (order log2(nr)).  The plain loop stores the same values into the same
 * tables.  The tables are cleared between batches, outside the timing.
 * Time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID: time the
 * scheduler gives other processes on a loaded machine does not count),
 * the two loops' batches interleaved one by one; ROUNDS rounds, see main.
 *
 * PTEVAL is pfn_pte(0x10000, vm_get_page_prot(VM_READ)) computed by the
 * Python model; STEP is what the plain loop adds per entry (the model's
 * pte_advance(pte, 1) - pte, which bench_c_setptes.py checks is linear over
 * nr).  After the runs every table set_ptes wrote must equal what the plain
 * loop wrote, every entry past nr must still be none, and the lazy MMU mode
 * must be off with nothing deferred: the stores happened and were not
 * optimised away (both loops end in an asm barrier on the table memory).
 * It also checks the header's closed-form __ptdl_pte_nth(pte, i) (the
 * entry `new` of `each pte` / any() in set_ptes bodies: O(1), no loop)
 * against i steps of __ptdl_pte_next_pfn for every i < nr.
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
#define MIN_TIME	0.02	/* seconds of CPU time of each loop per round */
#define ROUNDS		9

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

static double clock_cost;	/* what two cpu_now() calls in a row measure */

/* CPU seconds of one call of run_gen (gen) or run_plain, tables cleared first */
static double time_batch(bool gen, pte_t pte, unsigned int nr, pteval_t step)
{
	double t0, dt;

	clear_tables(nr);
	t0 = cpu_now();
	if (gen)
		run_gen(pte, nr);
	else
		run_plain(pte, nr, step);
	dt = cpu_now() - t0 - clock_cost;
	return dt > 0 ? dt : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* the median of 101 empty timings: subtracted from every batch */
static void calibrate(void)
{
	double d[101];

	for (int i = 0; i < 101; i++) {
		double t0 = cpu_now();

		d[i] = cpu_now() - t0;
	}
	qsort(d, 101, sizeof(d[0]), cmp_double);
	clock_cost = d[50];
}

int main(int argc, char **argv)
{
	unsigned int nr, order = 0, i, k;
	pte_t pte;
	pteval_t step;
	pte_t *gen_vals;
	double g, p, ratios[ROUNDS];

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
	/*
	 * A round: batches of the two loops interleaved one by one until each
	 * has MIN_TIME of CPU time (both see the same machine state); its ns
	 * per PTE and their ratio.  Printed: the best ns of each over the
	 * rounds and the median of the rounds' ratios.
	 */
	calibrate();
	g = p = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		double tg = 0, tp = 0;
		long n = 0;

		while (tg < MIN_TIME || tp < MIN_TIME) {
			tg += time_batch(true, pte, nr, step);
			if (n == 0)
				for (k = 0; k < nr_tabs; k++)
					memcpy(gen_vals + (size_t)k * PTDL_PTRS_PER_PTE,
					       tabs[k]->entries, sizeof(tabs[k]->entries));
			tp += time_batch(false, pte, nr, step);
			n++;
		}
		tg = tg * 1e9 / ((double)n * nr_tabs * nr);
		tp = tp * 1e9 / ((double)n * nr_tabs * nr);
		ratios[r] = tg / tp;
		if (tg < g)
			g = tg;
		if (tp < p)
			p = tp;
	}
	qsort(ratios, ROUNDS, sizeof(ratios[0]), cmp_double);
	if (ptdl_lazy || ptdl.nr_pend) {
		fprintf(stderr, "lazy MMU mode still on after set_ptes (%d deferred stores)\n",
			ptdl.nr_pend);
		return 1;
	}
	/* the closed-form entry i of set_ptes bodies (`new` in each pte / any())
	 * is i steps of the advance the store loop uses */
	{
		pte_t stepped = pte;

		for (i = 0; i < nr; i++) {
			if (pte_val(__ptdl_pte_nth(pte, i)) != pte_val(stepped)) {
				fprintf(stderr, "__ptdl_pte_nth(pte, %u) = 0x%llx, %u steps 0x%llx\n",
					i, (unsigned long long)pte_val(__ptdl_pte_nth(pte, i)), i,
					(unsigned long long)pte_val(stepped));
				return 1;
			}
			stepped = __ptdl_pte_next_pfn(stepped);
		}
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
	/* deferred: set_ptes entered lazy MMU mode and the shim held stores back */
	printf("gen %.3f plain %.3f regions %u ratio %.3f clock_ns %.0f deferred %d\n", g, p,
	       nr_tabs, ratios[ROUNDS / 2], clock_cost * 1e9, ptdl.cap_pend > 0);
	return 0;
}
