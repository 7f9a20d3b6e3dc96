// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Chunk buffer memory.  Reads run ahead of the wire until --memory is in
 * use, so even a small migration touches most of its pool: with 4 KiB
 * pages, 64 MiB is 16384 page faults, up to 30 ms of CPU at the 2 GB/s a
 * fresh page fills at here, on each end.  Huge pages fault 512 times
 * fewer (10 GB/s here) and their TLB reach covers a 4 MiB chunk: a
 * 4 x 16 MiB migration went from 1.22 to 1.45 GB/s on 2 CPUs.  Without THP in
 * the kernel madvise() fails, and with it set to "never" the advice is
 * ignored: the pool has small pages then, which is slower, not wrong.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "bufmem.h"

#define HUGE ((size_t)2 << 20)

void *bufmem_alloc(size_t len)
{
	size_t map = len + HUGE;
	char *p = mmap(NULL, map, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	/* keep [a, a + len) and give back the slack at both ends */
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + map > a + len)
		munmap(a + len, (size_t)(p + map - (a + len)));
	(void)madvise(a, len, MADV_HUGEPAGE);
	return a;
}

void bufmem_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}
