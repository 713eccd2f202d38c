// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drive the shim's store primitive and lazy MMU mode directly
 * (tests/c/test_c_lazy.py).  stdin, one op a line:
 *   e            arch_enter_lazy_mmu_mode
 *   l            arch_leave_lazy_mmu_mode
 *   s PT IDX VAL set_pte on entry IDX of table PT
 *   d PT         print every nonzero entry of table PT as "entry PT IDX VAL"
 * stdout: the shim's trace lines and the dumps.
 */
#include "ptdl_shim.h"

int main(void)
{
	char op;
	int pt, idx;
	unsigned long long val;
	int i;

	for (pt = 1; pt <= 2; pt++) {
		ptdl.tables = ptdl_grow(ptdl.tables, &ptdl.nr_tables, pt + 1,
					sizeof(*ptdl.tables));
		ptdl.tables[pt] = calloc(1, sizeof(struct ptdl_table));
		if (!ptdl.tables[pt])
			return 2;
		ptdl.tables[pt]->pt = pt;
	}
	while (scanf(" %c", &op) == 1) {
		switch (op) {
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
