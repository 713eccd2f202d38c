/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's generic range-API defaults (Linux 6.6), included after the
 * arch header as include/linux/pgtable.h and include/linux/cacheflush.h
 * follow asm/pgtable.h: each applies only where the arch header did not
 * define the call (`#define set_ptes set_ptes` and friends).
 * Written from include/linux/pgtable.h (set_ptes, pte_next_pfn since
 * 6.6-rc4 ce60f27bb62d) and include/asm-generic/cacheflush.h.
 */
#ifndef PTDL_GENERIC_H
#define PTDL_GENERIC_H

#ifndef PFN_PTE_SHIFT
#define PFN_PTE_SHIFT PAGE_SHIFT
#endif

#ifndef pte_next_pfn
static inline pte_t pte_next_pfn(pte_t pte)
{
	return __pte(pte_val(pte) + ((pteval_t)1 << PFN_PTE_SHIFT));
}
#endif

#ifndef set_ptes
static inline void set_ptes(struct mm_struct *mm, unsigned long addr,
		pte_t *ptep, pte_t pte, unsigned int nr)
{
	(void)addr;
	page_table_check_ptes_set(mm, ptep, pte, nr);

	arch_enter_lazy_mmu_mode();
#ifdef PTDL_SET_PTE_RUNS
	if (ptdl_lazy) {
		/*
		 * The shim's deferring lazy MMU mode (x86's Xen PV reading): the
		 * set_pte() calls of the loop below as one deferred run, logged
		 * once (first entry, first value, nr), as runtime/archcalls.py's
		 * generic set_ptes does (LazyMmu.defer_run); leave stores it
		 * stepping with pte_next_pfn() as the loop would: the same trace
		 * lines, the same values in the same order, stored at leave.
		 */
		ptdl_defer(ptep, pte, nr);
#ifndef PTDL_NO_TRACE
		for (;;) {
			ptdl_trace_set_pte(ptep, pte);
			if (--nr == 0)
				break;
			ptep++;
			pte = pte_next_pfn(pte);
		}
#endif
		ptdl_lazy_mmu_leave_with(pte_next_pfn);
		return;
	}
#endif
	for (;;) {
		set_pte(ptep, pte);
		if (--nr == 0)
			break;
		ptep++;
		pte = pte_next_pfn(pte);
	}
	arch_leave_lazy_mmu_mode();
}
#endif

#ifndef update_mmu_cache_range
static inline void update_mmu_cache_range(struct vm_fault *vmf,
		struct vm_area_struct *vma, unsigned long addr,
		pte_t *ptep, unsigned int nr)
{
}
#endif

#ifndef flush_dcache_folio
static inline void flush_dcache_folio(struct folio *folio)
{
}
#endif

#ifndef flush_icache_pages
static inline void flush_icache_pages(struct vm_area_struct *vma,
		struct page *page, unsigned int nr)
{
}
#endif

/* the PMD hook pair of do_set_pmd: store the leaf / nothing */
#ifndef set_pmd_at
static inline void set_pmd_at(struct mm_struct *mm, unsigned long addr,
		pmd_t *pmdp, pmd_t pmd)
{
	(void)mm;
	(void)addr;
	set_pmd(pmdp, pmd);
}
#endif

#ifndef update_mmu_cache_pmd
static inline void update_mmu_cache_pmd(struct vm_area_struct *vma,
		unsigned long addr, pmd_t *pmdp)
{
}
#endif

/* the cache calls around the range API: no-ops (include/asm-generic/cacheflush.h) */
#ifndef flush_cache_mm
static inline void flush_cache_mm(struct mm_struct *mm)
{
}
#endif

#ifndef flush_cache_dup_mm
static inline void flush_cache_dup_mm(struct mm_struct *mm)
{
}
#endif

#ifndef flush_cache_range
static inline void flush_cache_range(struct vm_area_struct *vma,
		unsigned long start, unsigned long end)
{
}
#endif

#ifndef flush_cache_page
static inline void flush_cache_page(struct vm_area_struct *vma,
		unsigned long addr, unsigned long pfn)
{
}
#endif

/* include/linux/highmem.h: kmap_local_page() and copy_user_page() /
 * clear_user_page(), i.e. copy_page() / clear_page() through the kernel
 * addresses */
#ifndef __HAVE_ARCH_COPY_USER_HIGHPAGE
static inline void copy_user_highpage(struct page *to, struct page *from,
		unsigned long vaddr, struct vm_area_struct *vma)
{
	ptdl_prim_copy_page(to, from, vaddr, 0);
}
#endif

#ifndef clear_user_highpage
static inline void clear_user_highpage(struct page *page, unsigned long vaddr)
{
	ptdl_prim_clear_page(page, vaddr, 0);
}
#endif

#endif /* PTDL_GENERIC_H */
