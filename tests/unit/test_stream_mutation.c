// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mutated valid streams fed to the frame checks for a bounded time: no
 * crash, no overread (ASan build), and the property that matters: a
 * stream the checks accept delivers exactly the device bytes that were
 * sent.  (Not necessarily the same stream bytes: a zstd frame can differ
 * in a header bit and decode the same, which is why integrity is checked
 * on decoded bytes.)
 * (tests/fuzz holds the coverage-guided fuzzer.)
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "crc32c.h"
#include "wire.h"

#define NDEV 2
#define CHUNK 4096u
#define CHUNKS 6 /* per device */

struct stream {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->p = realloc(s->p, s->cap);
		cr_assert(s->p);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

static void control(struct stream *s, enum wire_type t, uint16_t dev,
		    const void *payload, uint32_t n)
{
	unsigned char b[WIRE_HDR_LEN + 512];

	cr_assert_leq(n, 512);
	put(s, b, wire_control(b, t, dev, payload, n));
}

/* Device @d's raw bytes: zero, text-like and random chunks. */
static void device_bytes(int d, unsigned char *out)
{
	uint64_t st = 99 + (uint64_t)d;

	for (unsigned i = 0; i < CHUNKS * CHUNK; i++) {
		unsigned k = i / CHUNK;

		st = st * 6364136223846793005ull + 1442695040888963407ull;
		out[i] = k % 3 == 0 ? 0 :
			 k % 3 == 1 ? (unsigned char)("migrate "[i % 8]) :
				      (unsigned char)(st >> 56);
	}
}

static struct stream build(void)
{
	struct wire_hello h = { .major = 1,
				.caps = WIRE_CAP_ZSTD | WIRE_CAP_ZERO,
				.session = { 1, 2, 3 },
				.nchannels = 1,
				.max_chunk = CHUNK };
	struct wire_device devs[NDEV] = { { "a", "sim", "sim size=24576", 7,
					    24576 },
					  { "b", "sim", "", 1, 0 } };
	static unsigned char raw[CHUNKS * CHUNK], enc[2 * CHUNK], p[512];
	struct stream s = { 0 };
	struct codec *c;

	cr_assert_eq(codec_new(CODEC_ZSTD, 1, &c), 0);
	wire_hello_encode(&h, p);
	control(&s, WIRE_HELLO, WIRE_NO_DEVICE, p, WIRE_HELLO_LEN);
	control(&s, WIRE_MANIFEST, WIRE_NO_DEVICE, p,
		wire_manifest_encode(devs, NDEV, p));
	for (int d = 0; d < NDEV; d++) {
		struct wire_device_end end = { CHUNKS * CHUNK, CHUNKS, 0 };

		device_bytes(d, raw);
		for (unsigned k = 0; k < CHUNKS; k++) {
			struct wire_hdr hd = {
				.type = WIRE_DATA,
				.device = (uint16_t)d,
				.seq = k,
				.raw_len = CHUNK,
				.flags = k >= 3 ? WIRE_FLAG_STOPCOPY : 0
			};
			unsigned char hb[WIRE_HDR_LEN];
			long n = codec_encode(c, raw + k * CHUNK, CHUNK, enc,
					      sizeof(enc), &hd.codec);

			cr_assert_geq(n, 0);
			hd.enc_len = (uint32_t)n;
			hd.crc = crc32c(0, raw + k * CHUNK, CHUNK);
			wire_hdr_encode(&hd, hb);
			put(&s, hb, WIRE_HDR_LEN);
			put(&s,
			    hd.codec == WIRE_CODEC_RAW ? raw + k * CHUNK : enc,
			    (size_t)n);
		}
		end.crc = crc32c(0, raw, sizeof(raw));
		wire_device_end_encode(&end, p);
		control(&s, WIRE_DEVICE_END, (uint16_t)d, p,
			WIRE_DEVICE_END_LEN);
	}
	control(&s, WIRE_DONE, WIRE_NO_DEVICE, NULL, 0);
	codec_free(c);
	return s;
}

/*
 * A strict receiver: frames in order, every check the format defines,
 * sequence numbers contiguous, the device totals and CRCs matched.
 * Returns 1 when the stream is accepted whole.
 */
static unsigned char out[NDEV][CHUNKS * CHUNK];

static int receive(const unsigned char *p, size_t len, struct codec *c)
{
	static struct wire_device devs[WIRE_MAX_DEVICES];
	struct wire_limits lim = { .caps = WIRE_CAP_ZSTD | WIRE_CAP_ZERO,
				   .max_chunk = CHUNK,
				   .ndevices = 0 };
	uint64_t next[NDEV] = { 0 }, bytes[NDEV] = { 0 };
	bool ended[NDEV] = { false };
	char err[256];
	size_t off = 0;
	int step = 0;

	while (off + WIRE_HDR_LEN <= len) {
		struct wire_hdr h;
		const unsigned char *pl;

		if (wire_hdr_decode(p + off, &lim, &h, err, sizeof(err)))
			return 0;
		off += WIRE_HDR_LEN;
		if (len - off < h.enc_len)
			return 0;
		pl = p + off;
		off += h.enc_len;
		if (h.type != WIRE_DATA &&
		    wire_payload_check(&h, pl, err, sizeof(err)))
			return 0;
		if (step == 0) { /* HELLO first */
			struct wire_hello hello;

			if (h.type != WIRE_HELLO ||
			    wire_hello_decode(pl, h.enc_len, &hello, err,
					      sizeof(err)))
				return 0;
			step = 1;
		} else if (step == 1) { /* then the MANIFEST */
			int n;

			if (h.type != WIRE_MANIFEST)
				return 0;
			n = wire_manifest_decode(pl, h.enc_len, devs, err,
						 sizeof(err));
			if (n != NDEV)
				return 0;
			lim.ndevices = (uint32_t)n;
			step = 2;
		} else if (h.type == WIRE_DATA) {
			unsigned char *dst;

			if (ended[h.device] || h.seq != next[h.device] ||
			    bytes[h.device] + h.raw_len > sizeof(out[0]))
				return 0;
			dst = out[h.device] + bytes[h.device];
			if (h.codec == WIRE_CODEC_RAW)
				memcpy(dst, pl, h.raw_len);
			else if (codec_decode(c, h.codec, pl, h.enc_len, dst,
					      h.raw_len, err, sizeof(err)))
				return 0;
			if (crc32c(0, dst, h.raw_len) != h.crc)
				return 0;
			next[h.device]++;
			bytes[h.device] += h.raw_len;
		} else if (h.type == WIRE_DEVICE_END) {
			struct wire_device_end e;

			if (wire_device_end_decode(pl, h.enc_len, &e, err,
						   sizeof(err)) ||
			    ended[h.device] || e.frames != next[h.device] ||
			    e.raw_bytes != bytes[h.device] ||
			    e.crc != crc32c(0, out[h.device], bytes[h.device]))
				return 0;
			ended[h.device] = true;
		} else if (h.type == WIRE_DONE) {
			for (int d = 0; d < NDEV; d++)
				if (!ended[d])
					return 0;
			return off == len; /* nothing after DONE */
		} else {
			return 0;
		}
	}
	return 0; /* no DONE: truncated */
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(stream_mutation, accepted_means_identical, .timeout = 60)
{
	struct stream s = build();
	unsigned char *m = malloc(s.len + 64);
	struct codec *c;
	static unsigned char want[CHUNKS * CHUNK];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned tries = 0, accepted = 0;
	clock_t t0 = clock();

	cr_assert_eq(codec_new(CODEC_ZSTD, 1, &c), 0);
	cr_assert_eq(receive(s.p, s.len, c), 1, "the valid stream is accepted");
	/* about a second of CPU, at least 2000 mutations */
	while (tries < 2000 || (clock() - t0) < CLOCKS_PER_SEC) {
		size_t len = s.len, at = rnd(&seed) % s.len, n;

		memcpy(m, s.p, s.len);
		switch (rnd(&seed) % 5) {
		case 0: /* flip bits */
			for (n = 1 + rnd(&seed) % 3; n; n--)
				m[rnd(&seed) % len] ^=
					(unsigned char)(1u << (rnd(&seed) % 8));
			break;
		case 1: /* truncate */
			len = at;
			break;
		case 2: /* drop a range */
			n = 1 + rnd(&seed) % 64;
			if (at + n > len)
				n = len - at;
			memmove(m + at, m + at + n, len - at - n);
			len -= n;
			break;
		case 3: /* duplicate a range (a replayed frame, say) */
			n = 1 + rnd(&seed) % 64;
			if (at + n > len)
				n = len - at;
			if (n > 64)
				n = 64;
			memmove(m + at + n, m + at, len - at);
			len += n;
			break;
		default: /* overwrite with random bytes */
			for (n = 1 + rnd(&seed) % 8; n && at < len; n--)
				m[at++] = (unsigned char)rnd(&seed);
			break;
		}
		if (len > s.len + 64)
			len = s.len + 64;
		memset(out, 0xee, sizeof(out));
		if (receive(m, len, c)) {
			accepted++;
			for (int d = 0; d < NDEV; d++) {
				device_bytes(d, want);
				cr_assert(
					!memcmp(out[d], want, sizeof(want)),
					"try %u: accepted, but device %d differs",
					tries, d);
			}
		}
		tries++;
	}
	cr_log_info("%u mutations, %u accepted with identical device bytes",
		    tries, accepted);
	codec_free(c);
	free(m);
	free(s.p);
}
