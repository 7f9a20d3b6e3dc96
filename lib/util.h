/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small things every file of lib/ may use. */
#ifndef VFMIG_LIB_UTIL_H
#define VFMIG_LIB_UTIL_H

#include <stddef.h>

/* The struct of type @type whose @member @ptr points at. */
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* 64 TiB: no device holds more state; a driver's larger figure (a size,
 * PRECOPY_INFO) is garbage. */
#define PLAUSIBLE_STATE_MAX (1ull << 46)

#endif
