/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Little-endian field access for on-the-wire and on-disk formats. */
#ifndef VFMIG_LIB_BYTES_H
#define VFMIG_LIB_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const unsigned char *p)
{
	return get_le16(p) | ((uint32_t)get_le16(p + 2) << 16);
}

static inline uint64_t get_le64(const unsigned char *p)
{
	return get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

#endif /* VFMIG_LIB_BYTES_H */
