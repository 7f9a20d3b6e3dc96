// SPDX-License-Identifier: GPL-2.0-or-later
/* The chunk buffers' memory: aligned for huge pages, offered to THP. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bufmem.h"

/* The VmFlags line of the mapping that starts at @p in /proc/self/smaps. */
static bool vmflags_of(const void *p, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	cr_assert(f, "/proc/self/smaps: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo == (uintptr_t)p;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, n, "%s", line + 8);
			found = true;
		}
	}
	fclose(f);
	return found;
}

Test(bufmem, aligned_writable_and_advised_for_huge_pages)
{
	const size_t len = (size_t)40 << 20; /* not a multiple of 2 MiB */
	unsigned char *p = bufmem_alloc(len + 4096);
	char flags[512];

	if (access("/sys/kernel/mm/transparent_hugepage", F_OK))
		cr_skip("this kernel has no transparent huge pages");
	cr_assert_not_null(p);
	cr_expect_eq((uintptr_t)p % ((size_t)2 << 20), 0, "%p", (void *)p);
	memset(p, 0xa5, len + 4096); /* all of it is ours */
	cr_expect_eq(p[len + 4095], 0xa5);
	cr_assert(vmflags_of(p, flags, sizeof(flags)),
		  "no mapping starts at %p", (void *)p);
	/* "hg": madvise(MADV_HUGEPAGE) took; whether the kernel found huge
	 * pages depends on its memory, not on us */
	cr_expect(strstr(flags, " hg") != NULL, "VmFlags:%s", flags);
	bufmem_free(p, len + 4096);
	bufmem_free(NULL, len);
}
