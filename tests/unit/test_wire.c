// SPDX-License-Identifier: GPL-2.0-or-later
/* The stream format: round trips, and every refusal naming its field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "crc32c.h"
#include "wire.h"

static const struct wire_limits lim = {
	.caps = WIRE_CAP_ZSTD | WIRE_CAP_ZERO,
	.max_chunk = 1 << 20,
	.ndevices = 4,
};

static char err[256];

static struct wire_hdr data_hdr(void)
{
	return (struct wire_hdr){ .type = WIRE_DATA,
				  .flags = WIRE_FLAG_STOPCOPY,
				  .codec = WIRE_CODEC_ZSTD,
				  .device = 3,
				  .seq = 0x123456789aull,
				  .raw_len = 1 << 20,
				  .enc_len = 5000,
				  .crc = 0xdeadbeef };
}

Test(wire, data_header_round_trip)
{
	struct wire_hdr h = data_hdr(), g;
	unsigned char b[WIRE_HDR_LEN];

	wire_hdr_encode(&h, b);
	cr_expect_eq(get_le32(b), WIRE_MAGIC);
	cr_assert_eq(wire_hdr_decode(b, &lim, &g, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect(g.type == h.type && g.flags == h.flags &&
		  g.codec == h.codec && g.device == h.device &&
		  g.seq == h.seq && g.raw_len == h.raw_len &&
		  g.enc_len == h.enc_len && g.crc == h.crc);
}

/* Encode @h, let @mangle touch the bytes, expect @ret and @text. */
static void refused(struct wire_hdr h, void (*mangle)(unsigned char *), int ret,
		    const char *text)
{
	unsigned char b[WIRE_HDR_LEN];
	struct wire_hdr g;

	wire_hdr_encode(&h, b);
	if (mangle) {
		mangle(b);
		put_le32(b + 36, crc32c(0, b, 36)); /* a well-formed lie */
	}
	cr_expect_eq(wire_hdr_decode(b, &lim, &g, err, sizeof(err)), ret,
		     "'%s' (expected %s)", err, text);
	cr_expect(strstr(err, text), "'%s' lacks '%s'", err, text);
}

static void bad_magic(unsigned char *b)
{
	b[0] = 'X';
}

static void reserved(unsigned char *b)
{
	b[33] = 1;
}

Test(wire, header_refusals_name_the_field)
{
	struct wire_hdr h = data_hdr();
	unsigned char b[WIRE_HDR_LEN];
	struct wire_hdr g;

	refused(h, bad_magic, -EBADMSG, "not a vfio-migrate stream");
	refused(h, reserved, -EPROTO,
		"frame header: reserved bytes 32..35 are not 0");
	wire_hdr_encode(&h, b);
	b[9] ^= 4; /* the sequence number, without fixing the check */
	cr_expect_eq(wire_hdr_decode(b, &lim, &g, err, sizeof(err)), -EBADMSG);
	cr_expect(strstr(err, "frame header check failed"), "%s", err);

	h = data_hdr(), h.type = 99;
	refused(h, NULL, -EPROTO, "unknown frame type 99");
	h = data_hdr(), h.flags = 0x80;
	refused(h, NULL, -EPROTO, "DATA frame: flags 0x80 are reserved");
	h = data_hdr(), h.flags = 0x81; /* stop-copy and a reserved bit */
	refused(h, NULL, -EPROTO, "DATA frame: flags 0x80 are reserved");
	h = data_hdr(), h.device = 4;
	refused(h, NULL, -EPROTO,
		"DATA frame: device 4 out of range (4 devices)");
	h = data_hdr(), h.codec = 7;
	refused(h, NULL, -EPROTO, "DATA frame: unknown codec 7");
	h = data_hdr(), h.raw_len = (1 << 20) + 1;
	refused(h, NULL, -EPROTO, "raw length 1048577 outside 1..1048576");
	h = data_hdr(), h.raw_len = 0;
	refused(h, NULL, -EPROTO, "raw length 0 outside");
	h = data_hdr(), h.enc_len = h.raw_len;
	refused(h, NULL, -EPROTO,
		"encoded length 1048576 is impossible for codec zstd");
	h = data_hdr(), h.codec = WIRE_CODEC_RAW, h.enc_len = 4096;
	refused(h, NULL, -EPROTO, "impossible for codec raw");
	h = data_hdr(), h.codec = WIRE_CODEC_ZERO, h.enc_len = 1;
	refused(h, NULL, -EPROTO, "impossible for codec zero");
}

Test(wire, codec_must_be_negotiated)
{
	struct wire_limits raw_only = { .caps = 0,
					.max_chunk = 1 << 20,
					.ndevices = 4 };
	struct wire_hdr h = data_hdr(), g;
	unsigned char b[WIRE_HDR_LEN];

	wire_hdr_encode(&h, b);
	cr_expect_eq(wire_hdr_decode(b, &raw_only, &g, err, sizeof(err)),
		     -EPROTO);
	cr_expect(strstr(err, "codec zstd was not negotiated"), "%s", err);
}

Test(wire, control_frames)
{
	unsigned char b[WIRE_HDR_LEN + 64], p[64] = { 1, 2, 3 };
	struct wire_hdr h, g;

	cr_assert_eq(wire_control(b, WIRE_HELLO, WIRE_NO_DEVICE, p, 64),
		     WIRE_HDR_LEN + 64);
	cr_assert_eq(wire_hdr_decode(b, &lim, &g, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(g.type, WIRE_HELLO);
	cr_expect_eq(wire_payload_check(&g, b + WIRE_HDR_LEN, err, sizeof(err)),
		     0);
	b[WIRE_HDR_LEN + 10] ^= 1;
	cr_expect_eq(wire_payload_check(&g, b + WIRE_HDR_LEN, err, sizeof(err)),
		     -EBADMSG);
	cr_expect(strstr(err, "HELLO frame: payload check failed"), "%s", err);

	/* lengths fixed by type */
	h = (struct wire_hdr){ .type = WIRE_HELLO,
			       .device = WIRE_NO_DEVICE,
			       .enc_len = 63 };
	refused(h, NULL, -EPROTO,
		"HELLO frame: payload of 63 bytes, expected 64..64");
	h = (struct wire_hdr){ .type = WIRE_ERROR,
			       .device = WIRE_NO_DEVICE,
			       .enc_len = 4 + WIRE_MAX_TEXT + 1 };
	refused(h, NULL, -EPROTO, "ERROR frame: payload of 1029 bytes");
	h = (struct wire_hdr){ .type = WIRE_MANIFEST,
			       .device = WIRE_NO_DEVICE,
			       .enc_len = WIRE_MAX_CONTROL + 1 };
	refused(h, NULL, -EPROTO, "MANIFEST frame: payload of");
	/* DATA fields on a control frame */
	h = (struct wire_hdr){ .type = WIRE_DONE,
			       .device = WIRE_NO_DEVICE,
			       .seq = 1 };
	refused(h, NULL, -EPROTO,
		"DONE frame: seq is 1, and only DATA frames use it");
	/* device ids */
	h = (struct wire_hdr){ .type = WIRE_DONE, .device = 0 };
	refused(h, NULL, -EPROTO, "DONE frame: device 0 out of range");
	h = (struct wire_hdr){ .type = WIRE_DEVICE_END,
			       .device = 9,
			       .enc_len = 24 };
	refused(h, NULL, -EPROTO,
		"DEVICE_END frame: device 9 out of range (4 devices)");
}

Test(wire, hello_accept_and_negotiation)
{
	struct wire_hello h = { .major = 1,
				.minor = 3,
				.caps = WIRE_CAP_ZSTD | WIRE_CAP_ZERO | 0x100,
				.session = { 7 },
				.channel = 1,
				.nchannels = 2,
				.max_chunk = 4 << 20 },
			  g;
	struct wire_accept a, b;
	unsigned char p[64];
	char why[256];

	wire_hello_encode(&h, p);
	cr_assert_eq(wire_hello_decode(p, 64, &g, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect(g.major == 1 && g.minor == 3 && g.caps == h.caps &&
		  g.session[0] == 7 && g.channel == 1 && g.nchannels == 2 &&
		  g.max_chunk == 4 << 20);

	cr_expect_eq(wire_negotiate(&g, WIRE_CAP_ZERO | WIRE_CAP_PRECOPY,
				    1 << 20, &a, why, sizeof(why)),
		     WIRE_OK);
	cr_expect_eq(a.minor, WIRE_VERSION_MINOR, "the lower minor version");
	cr_expect_eq(a.caps, WIRE_CAP_ZERO, "the common, known capabilities");
	cr_expect_eq(a.max_chunk, 1 << 20);
	wire_accept_encode(&a, p);
	cr_assert_eq(wire_accept_decode(p, 16, &b, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect(b.caps == a.caps && b.max_chunk == a.max_chunk);

	g.major = 2;
	cr_expect_eq(wire_negotiate(&g, 0, 1 << 20, &a, why, sizeof(why)),
		     WIRE_E_VERSION);
	cr_expect_str_eq(
		why,
		"unsupported stream version 2.3: this side speaks 1.0 to 1.1");

	h.channel = 2;
	wire_hello_encode(&h, p);
	cr_expect_eq(wire_hello_decode(p, 64, &g, err, sizeof(err)), -EPROTO);
	cr_expect_str_eq(
		err, "HELLO: channel index 2 is not below the channel count 2");
	h.channel = 0, h.max_chunk = 0;
	wire_hello_encode(&h, p);
	cr_expect_eq(wire_hello_decode(p, 64, &g, err, sizeof(err)), -EPROTO);
	cr_expect_str_eq(err, "HELLO: largest raw_len 0 (1 or more)");

	a.caps = 0x40;
	wire_accept_encode(&a, p);
	cr_expect_eq(wire_accept_decode(p, 16, &b, err, sizeof(err)), -EPROTO);
	cr_expect(strstr(err, "unknown capabilities 0x40"), "%s", err);
}

Test(wire, texts)
{
	unsigned char p[4 + WIRE_MAX_TEXT + 8];
	char text[64];
	uint32_t code, n;

	n = wire_text_encode(WIRE_E_MANIFEST, "device gpu0: \x01kind", p);
	cr_assert_eq(wire_text_decode(p, n, &code, text, sizeof(text), err,
				      sizeof(err)),
		     0);
	cr_expect_eq(code, WIRE_E_MANIFEST);
	cr_expect_str_eq(text, "device gpu0: ?kind",
			 "control bytes are masked");
	cr_expect_str_eq(wire_code_name(code), "manifest");
	/* a short buffer truncates, never overflows */
	cr_assert_eq(wire_text_decode(p, n, &code, text, 7, err, sizeof(err)),
		     0);
	cr_expect_str_eq(text, "device");
	put_le32(p, 99);
	cr_expect_eq(wire_text_decode(p, n, &code, text, sizeof(text), err,
				      sizeof(err)),
		     -EPROTO);
	cr_expect_eq(wire_text_decode(p, 3, &code, text, sizeof(text), err,
				      sizeof(err)),
		     -EPROTO);
}

Test(wire, manifest)
{
	struct wire_device d[3] = {
		{ "gpu0", "vfio", "mlx5_vfio_pci", 7, 1ull << 34 },
		{ "sim1", "sim", "sim size=268435456", 5, 268435456 },
		{ "x", "vfio", "", 1, 0 },
	};
	static struct wire_device got[WIRE_MAX_DEVICES];
	unsigned char p[1024];
	uint32_t n = wire_manifest_encode(d, 3, p);

	cr_expect_eq(n, wire_manifest_size(d, 3));
	cr_assert_eq(wire_manifest_decode(p, n, got, err, sizeof(err)), 3, "%s",
		     err);
	for (int i = 0; i < 3; i++) {
		cr_expect_str_eq(got[i].name, d[i].name);
		cr_expect_str_eq(got[i].kind, d[i].kind);
		cr_expect_str_eq(got[i].ident, d[i].ident);
		cr_expect_eq(got[i].flags, d[i].flags);
		cr_expect_eq(got[i].size, d[i].size);
	}
	cr_expect_eq(wire_manifest_decode(p, n - 1, got, err, sizeof(err)),
		     -EPROTO);
	cr_expect_str_eq(err, "MANIFEST: device 2 is malformed");
	p[n] = 0;
	cr_expect_eq(wire_manifest_decode(p, n + 1, got, err, sizeof(err)),
		     -EPROTO);
	cr_expect_str_eq(err, "MANIFEST: 1 bytes after the last device");
	p[6] = 0x07; /* a control character in the first name */
	cr_expect_eq(wire_manifest_decode(p, n, got, err, sizeof(err)),
		     -EPROTO);
	p[6] = 'g';
	put_le16(p + 4, 200); /* a name longer than the limit */
	cr_expect_eq(wire_manifest_decode(p, n, got, err, sizeof(err)),
		     -EPROTO);
	put_le16(p, 0);
	cr_expect_eq(wire_manifest_decode(p, n, got, err, sizeof(err)),
		     -EPROTO);
	cr_expect_str_eq(err, "MANIFEST: 0 devices (1..1024)");
	put_le16(p, 2000);
	cr_expect_eq(wire_manifest_decode(p, n, got, err, sizeof(err)),
		     -EPROTO);
}

Test(wire, device_end_and_counts)
{
	struct wire_device_end e = { 1 << 30, 1024, 0xabcdef01 }, f;
	unsigned char p[24];
	uint64_t v;

	wire_device_end_encode(&e, p);
	cr_assert_eq(wire_device_end_decode(p, 24, &f, err, sizeof(err)), 0);
	cr_expect(f.raw_bytes == e.raw_bytes && f.frames == e.frames &&
		  f.crc == e.crc);
	e.frames = e.raw_bytes + 1;
	wire_device_end_encode(&e, p);
	cr_expect_eq(wire_device_end_decode(p, 24, &f, err, sizeof(err)),
		     -EPROTO);
	wire_count_encode(42, p);
	cr_expect_eq(wire_count_decode(p, 8, &v, err, sizeof(err)), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(wire_count_decode(p, 7, &v, err, sizeof(err)), -EPROTO);
}

Test(wire, progress)
{
	struct wire_progress m = { .loaded = 3 << 20,
				   .busy_us = 12345,
				   .received = 5 << 20 },
			     n;
	unsigned char p[WIRE_PROGRESS_LEN];

	wire_progress_encode(&m, p);
	cr_assert_eq(wire_progress_decode(p, sizeof(p), &n, err, sizeof(err)),
		     0);
	cr_expect(n.loaded == m.loaded && n.busy_us == m.busy_us &&
		  n.received == m.received);
	cr_expect_eq(wire_progress_decode(p, 16, &n, err, sizeof(err)),
		     -EPROTO);
	/* loaded more than it received: a lie */
	m.loaded = m.received + 1;
	wire_progress_encode(&m, p);
	cr_expect_eq(wire_progress_decode(p, sizeof(p), &n, err, sizeof(err)),
		     -EPROTO);
	cr_expect(strstr(err, "loaded of"), "%s", err);
	cr_expect_str_eq(wire_type_name(WIRE_PROGRESS), "PROGRESS");
	cr_expect_str_eq(wire_type_name(WIRE_NOP), "NOP");
}
