// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drive the shim's store primitive and lazy MMU mode directly
 * (tests/c/test_c_lazy.py) and, built with -DPTDL_HEADER="<arch header>",
 * the generic set_ptes() of runtime/c/ptdl_generic.h over that header in
 * the shim's deferring lazy MMU mode (tests/c/test_c_lazy_runs.py; where
 * the shim defines PTDL_SET_PTE_RUNS the generic set_ptes logs its range
 * as one stepped run that leave applies).  stdin, one op a line:
 *   e                arch_enter_lazy_mmu_mode
 *   l                arch_leave_lazy_mmu_mode
 *   s PT IDX VAL     set_pte on entry IDX of table PT
 *   d PT             print every nonzero entry of table PT as "entry PT IDX VAL"
 *   p PT IDX VAL NR  (with PTDL_HEADER) set_ptes(nr) on entry IDX of table
 *                    PT, first value VAL
 * stdout: the shim's trace lines and the dumps.
 */
#include "ptdl_shim.h"
#ifdef PTDL_HEADER
#include PTDL_HEADER
#include "ptdl_generic.h"

#if !defined(PTDL_LAZY_STORES_AT_ONCE) && !defined(PTDL_SET_PTE_RUNS)
#error "set_ptes would not defer its range as one run: nothing to test"
#endif

static struct mm_struct drv_mm = { .id = 1, .pgste = false };
#endif

int main(void)
{
	char op;
	int pt, idx, i;
	unsigned long long val;
#ifdef PTDL_HEADER
	unsigned int nr;
#endif

	for (pt = 1; pt <= 2; pt++) {
		ptdl.tables = ptdl_grow(ptdl.tables, &ptdl.nr_tables, pt + 1,
					sizeof(*ptdl.tables));
		ptdl.tables[pt] = calloc(1, sizeof(struct ptdl_table));
		if (!ptdl.tables[pt])
			return 2;
		ptdl.tables[pt]->pt = pt;
		ptdl.tables[pt]->mm = 1;
	}
	while (scanf(" %c", &op) == 1) {
		switch (op) {
#ifdef PTDL_HEADER
		case 'p':
			if (scanf("%d %d %llx %u", &pt, &idx, &val, &nr) != 4)
				return 2;
			set_ptes(&drv_mm, 0, &ptdl.tables[pt]->entries[idx], __pte(val), nr);
			if (ptdl_lazy || ptdl.nr_pend || ptdl.nr_runs)
				return 3;	/* set_ptes left the mode on or stores pending */
			break;
#endif
		case 'e':
			arch_enter_lazy_mmu_mode();
			break;
		case 'l':
			arch_leave_lazy_mmu_mode();
			break;
		case 's':
			if (scanf("%d %d %llx", &pt, &idx, &val) != 3)
				return 2;
			set_pte(&ptdl.tables[pt]->entries[idx], __pte(val));
			break;
		case 'd':
			if (scanf("%d", &pt) != 1)
				return 2;
			for (i = 0; i < PTDL_PTRS_PER_PTE; i++)
				if (pte_val(ptdl.tables[pt]->entries[i]))
					printf("entry %d %d 0x%llx\n", pt, i,
					       (unsigned long long)pte_val(ptdl.tables[pt]->entries[i]));
			break;
		default:
			return 2;
		}
	}
	return 0;
}
