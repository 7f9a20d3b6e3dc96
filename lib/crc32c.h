/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CRC-32C (Castagnoli), as iSCSI and ext4 use it. */
#ifndef VFMIG_LIB_CRC32C_H
#define VFMIG_LIB_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Update @crc with @len bytes: crc32c(crc32c(0, a), b) == crc32c(0, a||b).
 * Start from 0.  Thread-safe.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * The CRC of a||b from crc32c(0, a), crc32c(0, b) and the length of b,
 * without the data: crc(a||b) = crc(a) advanced over |b| zero bytes, xor
 * crc(b).  A few thousand operations for a 1 MiB b.
 */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The portable implementation, for tests to compare against. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/*
 * The implementations, slowest first; crc32c() uses the best this CPU
 * runs.  Tests compare each usable one against the table, and bench's
 * calibration names the one it measured.
 */
enum crc32c_impl {
	CRC32C_TABLE, /* byte-wise table, anywhere */
	CRC32C_SSE42, /* three chains of the crc32 instruction */
	CRC32C_FOLD512, /* AVX-512 VPCLMULQDQ folding */
};

bool crc32c_impl_usable(enum crc32c_impl impl);
enum crc32c_impl crc32c_impl_best(void);
const char *crc32c_impl_name(enum crc32c_impl impl);
/* crc32c() through @impl; the best usable one where @impl is not. */
uint32_t crc32c_with(enum crc32c_impl impl, uint32_t crc, const void *buf,
		     size_t len);

#endif
