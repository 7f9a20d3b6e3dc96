// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"
#include "wire.h"

struct codec {
	enum codec_mode mode;
	int level;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

void codec_level_range(int *min, int *max)
{
	*min = ZSTD_minCLevel();
	*max = ZSTD_maxCLevel();
}

int codec_new(enum codec_mode mode, int level, struct codec **out)
{
	struct codec *c;
	int min, max;

	codec_level_range(&min, &max);
	if (mode == CODEC_ZSTD && (level < min || level > max || !level))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mode = mode;
	c->level = level;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx) {
		codec_free(c);
		return -ENOMEM;
	}
	/* No checksum or size in the frame: our header carries both. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(
		    c->cctx, ZSTD_c_compressionLevel, level ? level : 1)) ||
	    ZSTD_isError(
		    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag,
						0))) {
		codec_free(c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

void codec_free(struct codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c);
}

size_t codec_bound(size_t len)
{
	return ZSTD_compressBound(len);
}

int codec_is_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t acc = 0;
	size_t i = 0;

	/* 64 bytes at a time, one branch per block: memory speed */
	for (; i + 64 <= len; i += 64) {
		uint64_t w[8];

		memcpy(w, b + i, sizeof(w));
		acc = w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
		if (acc)
			return 0;
	}
	for (; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

long codec_store(const void *raw, size_t len, uint8_t *codec)
{
	*codec = codec_is_zero(raw, len) ? WIRE_CODEC_ZERO : WIRE_CODEC_RAW;
	return *codec == WIRE_CODEC_ZERO ? 0 : (long)len;
}

long codec_encode(struct codec *c, const void *raw, size_t len, void *out,
		  size_t cap, uint8_t *codec)
{
	long stored = codec_store(raw, len, codec);
	size_t n, keep;

	if (c->mode == CODEC_NONE || !stored)
		return stored;
	/* Worth it only if it saves clearly: otherwise decompression is
	 * pure cost on the other side. */
	keep = len - len / 64;
	n = ZSTD_compress2(c->cctx, out, cap < keep ? cap : keep, raw, len);
	if (ZSTD_isError(n)) {
		if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
			return (long)len;
		return -EIO;
	}
	if (n >= keep)
		return (long)len;
	*codec = WIRE_CODEC_ZSTD;
	return (long)n;
}

int codec_decode(struct codec *c, uint8_t codec, const void *enc,
		 size_t enc_len, void *raw, size_t raw_len, char *err,
		 size_t es)
{
	size_t n;

	if (codec == WIRE_CODEC_ZERO) {
		memset(raw, 0, raw_len);
		return 0;
	}
	if (codec != WIRE_CODEC_ZSTD) {
		snprintf(err, es, "cannot decode codec %u", codec);
		return -EINVAL;
	}
	/* @raw_len bounds the output whatever the frame claims. */
	n = ZSTD_decompressDCtx(c->dctx, raw, raw_len, enc, enc_len);
	if (ZSTD_isError(n)) {
		snprintf(err, es, "zstd frame does not decode: %s%s",
			 ZSTD_getErrorName(n),
			 ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ?
				 " (longer than the header says)" :
				 "");
		return -EBADMSG;
	}
	if (n != raw_len) {
		snprintf(err, es,
			 "zstd frame decodes to %zu bytes, the header says %zu",
			 n, raw_len);
		return -EBADMSG;
	}
	return 0;
}
