// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark: the generated set_ptes() against a plain store loop.
 *
 * Place in the flow: built and run by benchmarks/bench_c_setptes.py, once
 * per arch, with the arch's -D flags (dsl/generate/charness.py gcc_flags),
 * -O2 and -DPTDL_NO_TRACE (the shim's trace lines compiled out, so what is
 * measured is the generated code and the shim's store primitive).
 *
 *   ./bench_setptes NR PTEVAL STEP     prints "gen NS_PER_PTE plain NS_PER_PTE"
 *
 * The two loops run alternately, ROUNDS times each; the best of each counts.
 * One table, one folio of nr pages at pfn 0x10000 (order log2(nr)), one
 * mm; PTEVAL is pfn_pte(0x10000, vm_get_page_prot(VM_READ)) computed by the
 * Python model; STEP is what the plain loop adds per entry (the arch's PFN
 * step, so both loops store the same values -- checked after the runs).
 */
#define PTDL_NO_TRACE 1
#include <time.h>

#include "ptdl_shim.h"

#ifndef PTDL_HEADER
#error "compile with -DPTDL_HEADER='\"pgtable-range.h\"'"
#endif
#include PTDL_HEADER

#include "ptdl_generic.h"

static struct mm_struct bench_mm = { .id = 1, .pgste = false };

static __attribute__((noinline)) void run_gen(pte_t *ptep, pte_t pte, unsigned int nr)
{
	set_ptes(&bench_mm, 0x7f0000000000UL, ptep, pte, nr);
	__asm__ volatile("" : : "r"(ptep) : "memory");
}

static __attribute__((noinline)) void run_plain(pte_t *ptep, pte_t pte, unsigned int nr,
						 pteval_t step)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		ptep[i] = __pte(pte_val(pte) + (pteval_t)i * step);
	__asm__ volatile("" : : "r"(ptep) : "memory");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* one timed run of at least 10 ms: ns per PTE */
#define TIME_ONCE(CALL, nr)						\
	({								\
		long iters = 0;						\
		double t0 = now(), dt;					\
		do {							\
			for (int k = 0; k < 64; k++)			\
				CALL;					\
			iters += 64;					\
			dt = now() - t0;				\
		} while (dt < 0.01);					\
		dt * 1e9 / ((double)iters * (nr));			\
	})

#define ROUNDS 9	/* the two loops alternate; the best of each is kept */

int main(int argc, char **argv)
{
	unsigned int nr, order = 0, i;
	pte_t pte;
	pteval_t step;
	struct ptdl_table *t;
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

	ptdl.tables = ptdl_grow(ptdl.tables, &ptdl.nr_tables, 2, sizeof(*ptdl.tables));
	t = calloc(1, sizeof(*t));
	if (!t)
		return 2;
	t->pt = 1;
	t->mm = 1;
	t->base = 0x7f0000000000UL;
	ptdl.tables[1] = t;
	ptdl.mms = ptdl_grow(ptdl.mms, &ptdl.nr_mms, 2, sizeof(*ptdl.mms));
	ptdl.mms[1] = &bench_mm;
	ptdl.current_mm = &bench_mm;
	ptdl_new_folio(0x10000, order);

	gen_vals = malloc(nr * sizeof(*gen_vals));
	if (!gen_vals)
		return 2;
	g = p = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		double x = TIME_ONCE(run_gen(t->entries, pte, nr), nr);

		if (x < g)
			g = x;
		memcpy(gen_vals, t->entries, nr * sizeof(*gen_vals));
		memset(t->entries, 0, sizeof(t->entries));
		x = TIME_ONCE(run_plain(t->entries, pte, nr, step), nr);
		if (x < p)
			p = x;
	}
	for (i = 0; i < nr; i++) {
		if (pte_val(gen_vals[i]) != pte_val(t->entries[i])) {
			fprintf(stderr, "entry %u: set_ptes stored 0x%llx, plain loop 0x%llx\n", i,
				(unsigned long long)pte_val(gen_vals[i]),
				(unsigned long long)pte_val(t->entries[i]));
			return 1;
		}
	}
	printf("gen %.3f plain %.3f\n", g, p);
	return 0;
}
