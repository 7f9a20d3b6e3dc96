/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFMIG_LIB_BUFMEM_H
#define VFMIG_LIB_BUFMEM_H

#include <stddef.h>

/*
 * The chunk buffers of one end (its --memory): an anonymous mapping
 * aligned to 2 MiB and offered to transparent huge pages.  Returns NULL
 * when out of memory.  bufmem_free(NULL, n) does nothing.
 */
void *bufmem_alloc(size_t len);
void bufmem_free(void *p, size_t len);

#endif
