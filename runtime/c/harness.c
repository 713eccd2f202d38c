// SPDX-License-Identifier: GPL-2.0-only
/*
 * ptdl harness: replay a call script (runtime/script.py, version 1) on a
 * generated pgtable-range.h and print the trace, one line per primitive,
 * exactly as the Python model (runtime/kernel.py) prints it.
 *
 * Build (dsl/generate/charness.py does this):
 *   gcc -Wall -Werror -O1 -DPAGE_SHIFT=12 -DPTDL_WORD_BITS=64 ...
 *       -DPTDL_HEADER='"path/to/pgtable-range.h"' -Iruntime/c harness.c
 * Run: ./harness < script     (exit 0; 2 on a malformed script)
 *      ./harness --serve        (many scripts, see serve())
 *
 * State records (mm, vma, folio, page_arch1, table, pte) set up the
 * machine; `call` records run one arch call; `expect` lines are ignored
 * (the driver compares); `end` stops.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptdl_shim.h"

#ifndef PTDL_HEADER
#error "compile with -DPTDL_HEADER='\"pgtable-range.h\"'"
#endif
#include PTDL_HEADER

#include "ptdl_generic.h"

#define MAX_FIELDS 32

struct rec {
	char kind[64];
	char word[64];			/* first positional word (call NAME, cpu X) */
	int nr;
	char key[MAX_FIELDS][32];
	char val[MAX_FIELDS][64];
};

static int lineno;

static void bad(const char *why, const char *what)
{
	fprintf(stderr, "ptdl harness: line %d: %s%s%s\n", lineno, why,
		what ? ": " : "", what ? what : "");
	exit(2);
}

static bool has_field(const struct rec *r, const char *key)
{
	int i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->key[i], key))
			return true;
	return false;
}

static const char *field(const struct rec *r, const char *key)
{
	int i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->key[i], key))
			return r->val[i];
	bad("missing field", key);
	return NULL;
}

static unsigned long long num(const struct rec *r, const char *key)
{
	const char *s = field(r, key);
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0')
		bad("not a number", s);
	return v;
}

static void parse(char *line, struct rec *r)
{
	char *tok, *save = NULL;
	bool first = true;

	memset(r, 0, sizeof(*r));
	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (first) {
			snprintf(r->kind, sizeof(r->kind), "%s", tok);
			first = false;
		} else if (eq) {
			if (r->nr == MAX_FIELDS)
				bad("too many fields", NULL);
			*eq = '\0';
			snprintf(r->key[r->nr], sizeof(r->key[0]), "%s", tok);
			snprintf(r->val[r->nr], sizeof(r->val[0]), "%s", eq + 1);
			r->nr++;
		} else if (!r->word[0]) {
			snprintf(r->word, sizeof(r->word), "%s", tok);
		}
	}
}

static struct mm_struct *mm_by_id(int id)
{
	if (id == 0)
		return &init_mm;
	if (id < 0 || id >= ptdl.nr_mms || !ptdl.mms[id])
		bad("unknown mm", NULL);
	return ptdl.mms[id];
}

static struct vm_area_struct *vma_by_id(int id)
{
	if (id <= 0 || id >= ptdl.nr_vmas || !ptdl.vmas[id])
		bad("unknown vma", NULL);
	return ptdl.vmas[id];
}

static struct ptdl_table *table_by_id(int pt)
{
	if (pt <= 0 || pt >= ptdl.nr_tables || !ptdl.tables[pt])
		bad("unknown table", NULL);
	return ptdl.tables[pt];
}

static pte_t *pte_ref(const struct rec *r)
{
	struct ptdl_table *t = table_by_id((int)num(r, "pt"));
	unsigned long long idx = num(r, "idx");

	if (idx >= PTDL_PTRS_PER_PTE)
		bad("idx outside the table", NULL);
	return &t->entries[idx];
}

static void rec_mm(const struct rec *r)
{
	int id = (int)num(r, "id");
	struct mm_struct *mm;

	if (id == 0) {
		init_mm.pgste = num(r, "pgste") != 0;
		return;
	}
	ptdl.mms = ptdl_grow(ptdl.mms, &ptdl.nr_mms, id + 1, sizeof(*ptdl.mms));
	if (!ptdl.mms[id]) {
		ptdl.mms[id] = calloc(1, sizeof(*mm));
		if (!ptdl.mms[id])
			bad("out of memory", NULL);
	}
	mm = ptdl.mms[id];
	mm->id = id;
	mm->pgste = num(r, "pgste") != 0;
}

static void rec_vma(const struct rec *r)
{
	int id = (int)num(r, "id");
	struct vm_area_struct *v;

	ptdl.vmas = ptdl_grow(ptdl.vmas, &ptdl.nr_vmas, id + 1, sizeof(*ptdl.vmas));
	if (!ptdl.vmas[id]) {
		ptdl.vmas[id] = calloc(1, sizeof(*v));
		if (!ptdl.vmas[id])
			bad("out of memory", NULL);
	}
	v = ptdl.vmas[id];
	v->id = id;
	v->vm_mm = mm_by_id((int)num(r, "mm"));
	v->vm_start = num(r, "start");
	v->vm_end = num(r, "end");
	v->vm_flags = num(r, "flags");
	v->vm_pgoff = num(r, "pgoff");
}

static void rec_folio(const struct rec *r)
{
	unsigned long pfn = num(r, "pfn");
	unsigned int order = (unsigned int)num(r, "order");
	struct folio *f = ptdl_folio_at(pfn);
	unsigned long i;

	if (!f || f->pfn != pfn || f->order != order)
		f = ptdl_new_folio(pfn, order);
	for (i = 0; i < (1UL << order); i++)
		f->pages[i].flags = 0;
	f->anon = num(r, "anon") != 0;
	f->mapping.id = (int)num(r, "mapping");
	f->has_mapping = f->mapping.id != 0;
	f->mapping.mapped = num(r, "mapped") != 0;
	f->highmem = has_field(r, "highmem") && num(r, "highmem") != 0;
	f->user_mapped = has_field(r, "user_mapped") && num(r, "user_mapped") != 0;
	f->phantom = false;
	if (num(r, "arch1"))
		f->pages[0].flags |= 1UL << PG_arch_1;
	f->index = has_field(r, "index") ? num(r, "index") : 0;
	f->mapping.i_mmap.id = f->mapping.id;
}

/* i_mmap file=ID vmas=ID,ID,... (or vmas=-): the VMAs mapping file ID */
static void rec_i_mmap(const struct rec *r)
{
	int id = (int)num(r, "file");
	const char *s = field(r, "vmas");
	int n = 0, *ids;

	if (id <= 0)
		bad("bad file id", NULL);
	ptdl.i_mmap = ptdl_grow(ptdl.i_mmap, &ptdl.nr_i_mmap, id + 1, sizeof(*ptdl.i_mmap));
	ids = realloc(ptdl.i_mmap[id], (strlen(s) + 2) * sizeof(*ids));
	if (!ids)
		bad("out of memory", NULL);
	while (strcmp(s, "-") && *s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s)
			bad("bad vma list", s);
		vma_by_id((int)v);
		ids[n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
	}
	ids[n] = -1;
	ptdl.i_mmap[id] = ids;
}

static void rec_page_arch1(const struct rec *r)
{
	unsigned long pfn = num(r, "pfn");
	struct folio *f = ptdl_folio_at(pfn);

	if (!f)
		bad("page_arch1 outside every folio", NULL);
	if (num(r, "val"))
		f->pages[pfn - f->pfn].flags |= 1UL << PG_arch_1;
	else
		f->pages[pfn - f->pfn].flags &= ~(1UL << PG_arch_1);
}

static void rec_table(const struct rec *r)
{
	int pt = (int)num(r, "pt");
	struct ptdl_table *t;

	if (pt <= 0)
		bad("bad table id", NULL);
	ptdl.tables = ptdl_grow(ptdl.tables, &ptdl.nr_tables, pt + 1, sizeof(*ptdl.tables));
	if (!ptdl.tables[pt]) {
		ptdl.tables[pt] = malloc(sizeof(*t));
		if (!ptdl.tables[pt])
			bad("out of memory", NULL);
	}
	t = ptdl.tables[pt];
	memset(t, 0, sizeof(*t));
	if (has_field(r, "empty")) {	/* every entry starts as the arch's none value */
		pte_t empty = __pte(num(r, "empty"));
		int i;

		for (i = 0; i < PTDL_PTRS_PER_PTE; i++)
			t->entries[i] = empty;
	}
	t->pt = pt;
	t->mm = (int)num(r, "mm");
	t->base = num(r, "base");
}

static void rec_pte(const struct rec *r)
{
	*pte_ref(r) = __pte(num(r, "val"));
}

/* the call runs in mm: local_flush_tlb_page's address space; current->active_mm
 * is the script's `current=` when given, else mm */
static void ptdl_enter(const struct rec *r, struct mm_struct *mm)
{
	ptdl.current_mm = mm;
	ptdl.active_mm = has_field(r, "current") ? mm_by_id((int)num(r, "current")) : mm;
}

static void rec_call(const struct rec *r)
{
	if (!strcmp(r->word, "set_ptes")) {
		struct mm_struct *mm = mm_by_id((int)num(r, "mm"));

		ptdl_enter(r, mm);
		set_ptes(mm, num(r, "addr"), pte_ref(r), __pte(num(r, "pte")),
			 (unsigned int)num(r, "nr"));
	} else if (!strcmp(r->word, "update_mmu_cache_range")) {
		struct vm_area_struct *vma = vma_by_id((int)num(r, "vma"));
		struct vm_fault vmf = { .vma = vma };
		const char *fault = field(r, "fault");

		ptdl_enter(r, vma->vm_mm);
		if (strcmp(fault, "none"))
			vmf.address = num(r, "fault");
		update_mmu_cache_range(strcmp(fault, "none") ? &vmf : NULL, vma,
				       num(r, "addr"), pte_ref(r), (unsigned int)num(r, "nr"));
	} else if (!strcmp(r->word, "flush_dcache_folio")) {
		unsigned long pfn = num(r, "folio");
		struct folio *f = ptdl_folio_at(pfn);

		if (!f || f->pfn != pfn)
			bad("flush_dcache_folio: no folio at", r->val[0]);
		ptdl_enter(r, &init_mm);
		flush_dcache_folio(f);
	} else if (!strcmp(r->word, "flush_icache_pages")) {
		struct vm_area_struct *vma = vma_by_id((int)num(r, "vma"));

		ptdl_enter(r, vma->vm_mm);
		flush_icache_pages(vma, pfn_to_page(num(r, "page")), (unsigned int)num(r, "nr"));
	} else if (!strcmp(r->word, "set_pmd_at")) {
		struct mm_struct *mm = mm_by_id((int)num(r, "mm"));

		ptdl.current_mm = mm;
		ptdl.pmd_addr = num(r, "addr");
		ptdl.pmd = __pmd(0);
		set_pmd_at(mm, ptdl.pmd_addr, &ptdl.pmd, __pmd(num(r, "pmd")));
	} else if (!strcmp(r->word, "update_mmu_cache_pmd")) {
		struct vm_area_struct *vma = vma_by_id((int)num(r, "vma"));

		ptdl.current_mm = vma->vm_mm;
		ptdl.pmd_addr = num(r, "addr");
		ptdl.pmd = __pmd(num(r, "pmd"));
		update_mmu_cache_pmd(vma, ptdl.pmd_addr, &ptdl.pmd);
	} else if (!strcmp(r->word, "flush_cache_mm")) {
		struct mm_struct *mm = mm_by_id((int)num(r, "mm"));

		ptdl_enter(r, mm);
		flush_cache_mm(mm);
	} else if (!strcmp(r->word, "flush_cache_dup_mm")) {
		struct mm_struct *mm = mm_by_id((int)num(r, "mm"));

		ptdl_enter(r, mm);
		flush_cache_dup_mm(mm);
	} else if (!strcmp(r->word, "flush_cache_range")) {
		struct vm_area_struct *vma = vma_by_id((int)num(r, "vma"));

		ptdl_enter(r, vma->vm_mm);
		flush_cache_range(vma, num(r, "start"), num(r, "end"));
	} else if (!strcmp(r->word, "copy_user_highpage")) {
		struct vm_area_struct *vma = vma_by_id((int)num(r, "vma"));

		ptdl_enter(r, vma->vm_mm);
		copy_user_highpage(pfn_to_page(num(r, "to")), pfn_to_page(num(r, "from")),
				   num(r, "addr"), vma);
	} else if (!strcmp(r->word, "clear_user_highpage")) {
		ptdl_enter(r, &init_mm);
		clear_user_highpage(pfn_to_page(num(r, "page")), num(r, "addr"));
	} else if (!strcmp(r->word, "flush_cache_page")) {
		struct vm_area_struct *vma = vma_by_id((int)num(r, "vma"));

		ptdl_enter(r, vma->vm_mm);
		flush_cache_page(vma, num(r, "addr"), num(r, "pfn"));
	} else {
		bad("unknown call", r->word);
	}

	if (ptdl_lazy)		/* as Kernel._end: force the mode off */
		ptdl_prim_lazy_mmu_leave_quiet();
	fflush(stdout);
}

/* Replay one script read from in; returns at its end record or EOF. */
static void replay(FILE *in)
{
	static char line[8192];
	struct rec r;

	ptdl.mms = ptdl_grow(ptdl.mms, &ptdl.nr_mms, 1, sizeof(*ptdl.mms));
	ptdl.mms[0] = &init_mm;
	ptdl.current_mm = &init_mm;
	ptdl.active_mm = &init_mm;
	while (fgets(line, sizeof(line), in)) {
		size_t n = strlen(line);

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#' || !strncmp(line, "expect ", 7))
			continue;
		parse(line, &r);
		if (!strcmp(r.kind, "ptdl-script")) {
			if (strcmp(r.word, "1"))
				bad("unsupported script version", r.word);
		} else if (!strcmp(r.kind, "folio_mapped")) {
			struct folio *f = ptdl_folio_at(num(&r, "pfn"));

			if (!f)
				bad("folio_mapped: no folio", NULL);
			f->user_mapped = num(&r, "val") != 0;
		} else if (!strcmp(r.kind, "arch")) {
			continue;
		} else if (!strcmp(r.kind, "cpu")) {
			if (ptdl.nr_cpu == 32)
				bad("too many cpu features", NULL);
			snprintf(ptdl.cpu[ptdl.nr_cpu++], sizeof(ptdl.cpu[0]), "%s", r.word);
		} else if (!strcmp(r.kind, "mm")) {
			rec_mm(&r);
		} else if (!strcmp(r.kind, "vma")) {
			rec_vma(&r);
		} else if (!strcmp(r.kind, "folio")) {
			rec_folio(&r);
		} else if (!strcmp(r.kind, "i_mmap")) {
			rec_i_mmap(&r);
		} else if (!strcmp(r.kind, "page_arch1")) {
			rec_page_arch1(&r);
		} else if (!strcmp(r.kind, "table")) {
			rec_table(&r);
		} else if (!strcmp(r.kind, "pte")) {
			rec_pte(&r);
		} else if (!strcmp(r.kind, "call")) {
			rec_call(&r);
		} else if (!strcmp(r.kind, "end")) {
			break;
		} else {
			bad("unknown record", r.kind);
		}
	}
}

/*
 * --serve: many scripts through one process.  Each script (up to and
 * including its end record) is read into memory and replayed by a forked
 * child, so every script starts from the pristine state whatever the
 * state records add; after the child's trace the parent prints
 * "ptdl-done STATUS" (the child's exit status: 0, or 2 on a malformed
 * script) and waits for the next script.
 */
static int serve(void)
{
	static char line[8192];
	char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		bool have = false, ended = false;
		int status;
		pid_t pid;

		len = 0;
		while (fgets(line, sizeof(line), stdin)) {
			size_t n = strlen(line);

			have = true;
			if (len + n + 1 > cap) {
				cap = 2 * (len + n + 1);
				buf = realloc(buf, cap);
				if (!buf)
					bad("out of memory", NULL);
			}
			memcpy(buf + len, line, n);
			len += n;
			if (!strcmp(line, "end\n") || !strcmp(line, "end")) {
				ended = true;
				break;
			}
		}
		if (!have)
			return 0;
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			bad("fork failed", NULL);
		if (pid == 0) {
			FILE *in = fmemopen(buf, len, "r");

			if (!in)
				bad("fmemopen failed", NULL);
			replay(in);
			fflush(stdout);
			exit(0);
		}
		if (waitpid(pid, &status, 0) < 0)
			bad("waitpid failed", NULL);
		fprintf(stdout, "ptdl-done %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fflush(stdout);
		if (!ended)
			return 0;
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--serve"))
		return serve();
	replay(stdin);
	return 0;
}
