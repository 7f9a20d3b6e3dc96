/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The chunk codec: an all-zero chunk becomes a zero frame, anything else is
 * compressed with zstd and sent raw unless that saves clearly.  One codec
 * per worker thread; a codec is not shared between threads.
 */
#ifndef VFMIG_LIB_CODEC_H
#define VFMIG_LIB_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct codec;

/* Compression: none, or zstd at @level (negative levels are the fast
 * modes; see codec_level_range()). */
enum codec_mode { CODEC_NONE, CODEC_ZSTD };

void codec_level_range(int *min, int *max);
int codec_new(enum codec_mode mode, int level, struct codec **out);
void codec_free(struct codec *c);

/* The buffer codec_encode() needs for a chunk of @len bytes. */
size_t codec_bound(size_t len);

/*
 * Encode @len raw bytes.  Sets *codec (a WIRE_CODEC_*) and returns the
 * encoded length: 0 for a zero chunk, @len for raw (the bytes to send are
 * @raw itself: nothing is copied), or the zstd frame's length in @out
 * (cap >= codec_bound(len)).  Compressed output is kept only if it saves
 * at least 1/64 of the chunk.  Negative errno on failure.
 */
long codec_encode(struct codec *c, const void *raw, size_t len, void *out,
		  size_t cap, uint8_t *codec);
/* codec_encode() without compressing: ZERO (0) or RAW (@len). */
long codec_store(const void *raw, size_t len, uint8_t *codec);

/*
 * Decode a ZSTD or ZERO chunk into exactly @raw_len bytes at @raw.  A frame
 * that decodes to any other length, or not at all, is -EBADMSG with a
 * message.  (RAW chunks need no decoding.)
 */
int codec_decode(struct codec *c, uint8_t codec, const void *enc,
		 size_t enc_len, void *raw, size_t raw_len, char *err,
		 size_t err_size);

/* Whether @len bytes at @p are all zero (@p 8-byte aligned, fast). */
int codec_is_zero(const void *p, size_t len);

#endif
