// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stream format: every field is checked before it is used, and every
 * refusal names the field, so a peer that sends garbage gets a clear error
 * instead of a garbled device.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "crc32c.h"
#include "errors.h"
#include "wire.h"

static const char *const type_names[] = {
	[WIRE_HELLO] = "HELLO",
	[WIRE_ACCEPT] = "ACCEPT",
	[WIRE_REJECT] = "REJECT",
	[WIRE_MANIFEST] = "MANIFEST",
	[WIRE_MANIFEST_ACK] = "MANIFEST_ACK",
	[WIRE_DATA] = "DATA",
	[WIRE_INIT_DONE] = "INIT_DONE",
	[WIRE_SWITCHOVER_ACK] = "SWITCHOVER_ACK",
	[WIRE_PROGRESS] = "PROGRESS",
	[WIRE_NOP] = "NOP",
	[WIRE_DEVICE_END] = "DEVICE_END",
	[WIRE_DEVICE_LOADED] = "DEVICE_LOADED",
	[WIRE_DONE] = "DONE",
	[WIRE_ERROR] = "ERROR",
};

const char *wire_type_name(unsigned type)
{
	return type >= 1 && type <= WIRE_TYPE_MAX ? type_names[type] :
						    "unknown";
}

const char *wire_code_name(unsigned code)
{
	static const char *const names[] = {
		[WIRE_OK] = "ok",
		[WIRE_E_VERSION] = "version",
		[WIRE_E_CAPABILITY] = "capability",
		[WIRE_E_SESSION] = "session",
		[WIRE_E_MANIFEST] = "manifest",
		[WIRE_E_PROTOCOL] = "protocol",
		[WIRE_E_DEVICE] = "device",
		[WIRE_E_CANCELLED] = "cancelled",
		[WIRE_E_INTERNAL] = "internal",
	};

	return code <= WIRE_CODE_MAX ? names[code] : "unknown";
}

const char *wire_codec_name(unsigned codec)
{
	switch (codec) {
	case WIRE_CODEC_RAW:
		return "raw";
	case WIRE_CODEC_ZSTD:
		return "zstd";
	case WIRE_CODEC_ZERO:
		return "zero";
	}
	return "unknown";
}

/* --------------------------------------------------------- header */

void wire_hdr_encode(const struct wire_hdr *h, unsigned char *p)
{
	memset(p, 0, WIRE_HDR_LEN);
	put_le32(p, WIRE_MAGIC);
	p[4] = h->type;
	p[5] = h->flags;
	put_le16(p + 6, h->device);
	put_le64(p + 8, h->seq);
	put_le32(p + 16, h->raw_len);
	put_le32(p + 20, h->enc_len);
	p[24] = h->codec;
	put_le32(p + 28, h->crc);
	put_le32(p + 36, crc32c(0, p, 36));
}

static bool zero_bytes(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Payload length a control frame of @type must have: [min, max]. */
static void control_len(unsigned type, uint32_t *min, uint32_t *max)
{
	switch (type) {
	case WIRE_HELLO:
		*min = *max = WIRE_HELLO_LEN;
		break;
	case WIRE_ACCEPT:
		*min = *max = WIRE_ACCEPT_LEN;
		break;
	case WIRE_INIT_DONE:
	case WIRE_SWITCHOVER_ACK:
		*min = *max = WIRE_COUNT_LEN;
		break;
	/* two messages whose lengths happen to be equal */
	case WIRE_DEVICE_END: // NOLINT(bugprone-branch-clone)
		*min = *max = WIRE_DEVICE_END_LEN;
		break;
	case WIRE_PROGRESS:
		*min = *max = WIRE_PROGRESS_LEN;
		break;
	case WIRE_REJECT:
	case WIRE_ERROR:
	case WIRE_DEVICE_LOADED:
		*min = 4;
		*max = 4 + WIRE_MAX_TEXT;
		break;
	case WIRE_MANIFEST:
		*min = 4;
		*max = WIRE_MAX_CONTROL;
		break;
	default: /* MANIFEST_ACK, DONE, NOP */
		*min = *max = 0;
		break;
	}
}

static bool per_device(unsigned type)
{
	return type == WIRE_INIT_DONE || type == WIRE_SWITCHOVER_ACK ||
	       type == WIRE_DEVICE_END || type == WIRE_DEVICE_LOADED ||
	       type == WIRE_PROGRESS;
}

static int check_data(const struct wire_hdr *h, const struct wire_limits *lim,
		      char *err, size_t es)
{
	uint32_t need = 0;

	if (h->flags & ~WIRE_FLAG_STOPCOPY)
		return set_errbuf(err, es, -EPROTO,
				  "DATA frame: flags 0x%02x are reserved",
				  h->flags & ~WIRE_FLAG_STOPCOPY);
	if (h->device >= lim->ndevices)
		return set_errbuf(
			err, es, -EPROTO,
			"DATA frame: device %u out of range (%u devices)",
			h->device, lim->ndevices);
	switch (h->codec) {
	case WIRE_CODEC_RAW:
		break;
	case WIRE_CODEC_ZSTD:
		need = WIRE_CAP_ZSTD;
		break;
	case WIRE_CODEC_ZERO:
		need = WIRE_CAP_ZERO;
		break;
	default:
		return set_errbuf(err, es, -EPROTO,
				  "DATA frame: unknown codec %u", h->codec);
	}
	if (need && !(lim->caps & need))
		return set_errbuf(err, es, -EPROTO,
				  "DATA frame: codec %s was not negotiated",
				  wire_codec_name(h->codec));
	if (!h->raw_len || h->raw_len > lim->max_chunk)
		return set_errbuf(err, es, -EPROTO,
				  "DATA frame: raw length %u outside 1..%u",
				  h->raw_len, lim->max_chunk);
	if ((h->codec == WIRE_CODEC_RAW && h->enc_len != h->raw_len) ||
	    (h->codec == WIRE_CODEC_ZERO && h->enc_len) ||
	    (h->codec == WIRE_CODEC_ZSTD &&
	     (!h->enc_len || h->enc_len >= h->raw_len)))
		return set_errbuf(
			err, es, -EPROTO,
			"DATA frame: encoded length %u is impossible for codec %s and raw length %u",
			h->enc_len, wire_codec_name(h->codec), h->raw_len);
	return 0;
}

int wire_hdr_decode(const unsigned char *p, const struct wire_limits *lim,
		    struct wire_hdr *h, char *err, size_t es)
{
	uint32_t magic = get_le32(p), min, max;
	const char *name;

	if (magic != WIRE_MAGIC)
		return set_errbuf(err, es, -EBADMSG,
				  "bad magic 0x%08x: not a vfio-migrate stream",
				  magic);
	if (get_le32(p + 36) != crc32c(0, p, 36))
		return set_errbuf(err, es, -EBADMSG,
				  "frame header check failed");
	if (!zero_bytes(p + 25, 3) || !zero_bytes(p + 32, 4))
		return set_errbuf(err, es, -EPROTO,
				  "frame header: reserved bytes %s are not 0",
				  zero_bytes(p + 25, 3) ? "32..35" : "25..27");
	h->type = p[4];
	h->flags = p[5];
	h->device = get_le16(p + 6);
	h->seq = get_le64(p + 8);
	h->raw_len = get_le32(p + 16);
	h->enc_len = get_le32(p + 20);
	h->codec = p[24];
	h->crc = get_le32(p + 28);
	if (h->type < 1 || h->type > WIRE_TYPE_MAX)
		return set_errbuf(err, es, -EPROTO, "unknown frame type %u",
				  h->type);
	if (h->type == WIRE_DATA)
		return check_data(h, lim, err, es);

	name = wire_type_name(h->type);
	if (h->flags || h->codec || h->seq || h->raw_len)
		return set_errbuf(
			err, es, -EPROTO,
			"%s frame: %s is %llu, and only DATA frames use it",
			name,
			h->flags ? "flags" :
			h->codec ? "codec" :
			h->seq	 ? "seq" :
				   "raw_len",
			(unsigned long long)(h->flags ? h->flags :
					     h->codec ? h->codec :
					     h->seq   ? h->seq :
							h->raw_len));
	control_len(h->type, &min, &max);
	if (h->enc_len < min || h->enc_len > max)
		return set_errbuf(
			err, es, -EPROTO,
			"%s frame: payload of %u bytes, expected %u..%u", name,
			h->enc_len, min, max);
	if (per_device(h->type) ? h->device >= lim->ndevices :
				  h->device != WIRE_NO_DEVICE)
		return set_errbuf(
			err, es, -EPROTO,
			"%s frame: device %u out of range (%u devices)", name,
			h->device, lim->ndevices);
	return 0;
}

size_t wire_control(unsigned char *out, enum wire_type type, uint16_t device,
		    const void *payload, uint32_t len)
{
	struct wire_hdr h = {
		.type = (uint8_t)type,
		.device = device,
		.enc_len = len,
		.crc = crc32c(0, payload, len),
	};

	wire_hdr_encode(&h, out);
	if (len)
		memmove(out + WIRE_HDR_LEN, payload, len);
	return WIRE_HDR_LEN + len;
}

int wire_payload_check(const struct wire_hdr *h, const void *payload, char *err,
		       size_t es)
{
	if (crc32c(0, payload, h->enc_len) != h->crc)
		return set_errbuf(err, es, -EBADMSG,
				  "%s frame: payload check failed",
				  wire_type_name(h->type));
	return 0;
}

/* ------------------------------------------------------- payloads */

void wire_hello_encode(const struct wire_hello *m, unsigned char *p)
{
	memset(p, 0, WIRE_HELLO_LEN);
	put_le16(p, m->major);
	put_le16(p + 2, m->minor);
	put_le32(p + 4, m->caps);
	memcpy(p + 8, m->session, 16);
	put_le16(p + 24, m->channel);
	put_le16(p + 26, m->nchannels);
	put_le32(p + 28, m->max_chunk);
}

int wire_hello_decode(const unsigned char *p, uint32_t len,
		      struct wire_hello *m, char *err, size_t es)
{
	if (len != WIRE_HELLO_LEN)
		return set_errbuf(err, es, -EPROTO, "HELLO: %u bytes", len);
	m->major = get_le16(p);
	m->minor = get_le16(p + 2);
	m->caps = get_le32(p + 4);
	memcpy(m->session, p + 8, 16);
	m->channel = get_le16(p + 24);
	m->nchannels = get_le16(p + 26);
	m->max_chunk = get_le32(p + 28);
	/* Reserved bytes are ignored: a later minor version may use them. */
	if (!m->nchannels)
		return set_errbuf(err, es, -EPROTO,
				  "HELLO: channel count 0 (1 or more)");
	if (m->channel >= m->nchannels)
		return set_errbuf(
			err, es, -EPROTO,
			"HELLO: channel index %u is not below the channel count %u",
			m->channel, m->nchannels);
	if (!m->max_chunk)
		return set_errbuf(err, es, -EPROTO,
				  "HELLO: largest raw_len 0 (1 or more)");
	return 0;
}

void wire_accept_encode(const struct wire_accept *m, unsigned char *p)
{
	memset(p, 0, WIRE_ACCEPT_LEN);
	put_le16(p, m->major);
	put_le16(p + 2, m->minor);
	put_le32(p + 4, m->caps);
	put_le32(p + 8, m->max_chunk);
}

int wire_accept_decode(const unsigned char *p, uint32_t len,
		       struct wire_accept *m, char *err, size_t es)
{
	if (len != WIRE_ACCEPT_LEN)
		return set_errbuf(err, es, -EPROTO, "ACCEPT: %u bytes", len);
	m->major = get_le16(p);
	m->minor = get_le16(p + 2);
	m->caps = get_le32(p + 4);
	m->max_chunk = get_le32(p + 8);
	if (m->major != WIRE_VERSION_MAJOR)
		return set_errbuf(
			err, es, -EPROTO,
			"ACCEPT: version %u.%u, this side speaks %u.x",
			m->major, m->minor, WIRE_VERSION_MAJOR);
	if (m->caps & ~WIRE_CAPS_KNOWN)
		return set_errbuf(err, es, -EPROTO,
				  "ACCEPT: grants unknown capabilities 0x%x",
				  m->caps & ~WIRE_CAPS_KNOWN);
	if (!m->max_chunk || m->max_chunk > WIRE_MAX_CHUNK)
		return set_errbuf(err, es, -EPROTO,
				  "ACCEPT: chunk size %u outside 1..%u",
				  m->max_chunk, WIRE_MAX_CHUNK);
	return 0;
}

static uint16_t min16(uint16_t a, uint16_t b)
{
	return a < b ? a : b;
}

int wire_negotiate(const struct wire_hello *h, uint32_t our_caps,
		   uint32_t our_max_chunk, struct wire_accept *out, char *why,
		   size_t ws)
{
	if (h->major != WIRE_VERSION_MAJOR) {
		/* a protocol code for the REJECT, not an errno */
		set_errbuf(
			why, ws, EPROTONOSUPPORT,
			"unsupported stream version %u.%u: this side speaks %u.0 to %u.%u",
			h->major, h->minor, WIRE_VERSION_MAJOR,
			WIRE_VERSION_MAJOR, WIRE_VERSION_MINOR);
		return WIRE_E_VERSION;
	}
	out->major = WIRE_VERSION_MAJOR;
	out->minor = min16(h->minor, WIRE_VERSION_MINOR);
	out->caps = h->caps & our_caps & WIRE_CAPS_KNOWN;
	out->max_chunk = h->max_chunk < our_max_chunk ? h->max_chunk :
							our_max_chunk;
	if (out->max_chunk > WIRE_MAX_CHUNK)
		out->max_chunk = WIRE_MAX_CHUNK;
	return WIRE_OK;
}

uint32_t wire_text_encode(enum wire_code code, const char *text,
			  unsigned char *p)
{
	size_t n = text ? strnlen(text, WIRE_MAX_TEXT) : 0;

	put_le32(p, (uint32_t)code);
	if (n)
		memcpy(p + 4, text, n);
	return (uint32_t)(4 + n);
}

int wire_text_decode(const unsigned char *p, uint32_t len, uint32_t *code,
		     char *text, size_t ts, char *err, size_t es)
{
	uint32_t n;

	if (len < 4 || len - 4 > WIRE_MAX_TEXT)
		return set_errbuf(err, es, -EPROTO, "message of %u bytes", len);
	*code = get_le32(p);
	if (*code > WIRE_CODE_MAX)
		return set_errbuf(err, es, -EPROTO, "unknown code %u", *code);
	n = len - 4;
	if (ts) {
		if (n >= ts)
			n = (uint32_t)ts - 1;
		/* Peer text is printed: keep it to printable ASCII. */
		for (uint32_t i = 0; i < n; i++)
			text[i] = p[4 + i] >= 0x20 && p[4 + i] < 0x7f ?
					  (char)p[4 + i] :
					  '?';
		text[n] = '\0';
	}
	return 0;
}

static uint32_t str_field(unsigned char *p, const char *s)
{
	uint16_t n = (uint16_t)strlen(s);

	put_le16(p, n);
	/* length-prefixed: no terminator on the wire */
	memcpy(p + 2, s, n); // NOLINT(bugprone-not-null-terminated-result)
	return 2u + n;
}

uint32_t wire_manifest_size(const struct wire_device *d, uint32_t n)
{
	uint32_t len = 4;

	for (uint32_t i = 0; i < n; i++)
		len += 6 + (uint32_t)strlen(d[i].name) +
		       (uint32_t)strlen(d[i].kind) +
		       (uint32_t)strlen(d[i].ident) + 16;
	return len;
}

uint32_t wire_manifest_encode(const struct wire_device *d, uint32_t n,
			      unsigned char *p)
{
	uint32_t off = 4;

	put_le16(p, (uint16_t)n);
	put_le16(p + 2, 0);
	for (uint32_t i = 0; i < n; i++) {
		off += str_field(p + off, d[i].name);
		off += str_field(p + off, d[i].kind);
		off += str_field(p + off, d[i].ident);
		put_le32(p + off, d[i].flags);
		put_le32(p + off + 4, 0);
		put_le64(p + off + 8, d[i].size);
		off += 16;
	}
	return off;
}

/* A length-prefixed printable string of at most @max bytes. */
static int get_str(const unsigned char *p, uint32_t len, uint32_t *off,
		   char *out, uint32_t max, bool empty_ok)
{
	uint16_t n;

	if (len - *off < 2)
		return -1;
	n = get_le16(p + *off);
	*off += 2;
	if (n > max || len - *off < n || (!n && !empty_ok))
		return -1;
	for (uint16_t i = 0; i < n; i++) {
		unsigned char c = p[*off + i];

		if (c < 0x20 || c >= 0x7f)
			return -1;
		out[i] = (char)c;
	}
	out[n] = '\0';
	*off += n;
	return 0;
}

int wire_manifest_decode(const unsigned char *p, uint32_t len,
			 struct wire_device *d, char *err, size_t es)
{
	uint32_t n, off = 4;

	if (len < 4)
		return set_errbuf(err, es, -EPROTO, "MANIFEST: %u bytes", len);
	n = get_le16(p);
	if (!n || n > WIRE_MAX_DEVICES)
		return set_errbuf(err, es, -EPROTO,
				  "MANIFEST: %u devices (1..%u)", n,
				  WIRE_MAX_DEVICES);
	for (uint32_t i = 0; i < n; i++) {
		if (get_str(p, len, &off, d[i].name, WIRE_MAX_NAME, false) ||
		    get_str(p, len, &off, d[i].kind, WIRE_MAX_KIND, false) ||
		    get_str(p, len, &off, d[i].ident, WIRE_MAX_IDENT, true) ||
		    len - off < 16)
			return set_errbuf(err, es, -EPROTO,
					  "MANIFEST: device %u is malformed",
					  i);
		d[i].flags = get_le32(p + off);
		d[i].size = get_le64(p + off + 8);
		off += 16;
	}
	if (off != len)
		return set_errbuf(err, es, -EPROTO,
				  "MANIFEST: %u bytes after the last device",
				  len - off);
	return (int)n;
}

void wire_count_encode(uint64_t v, unsigned char *p)
{
	put_le64(p, v);
}

int wire_count_decode(const unsigned char *p, uint32_t len, uint64_t *v,
		      char *err, size_t es)
{
	if (len != WIRE_COUNT_LEN)
		return set_errbuf(err, es, -EPROTO, "count of %u bytes", len);
	*v = get_le64(p);
	return 0;
}

void wire_progress_encode(const struct wire_progress *m, unsigned char *p)
{
	put_le64(p, m->loaded);
	put_le64(p + 8, m->busy_us);
	put_le64(p + 16, m->received);
}

int wire_progress_decode(const unsigned char *p, uint32_t len,
			 struct wire_progress *m, char *err, size_t es)
{
	if (len != WIRE_PROGRESS_LEN)
		return set_errbuf(err, es, -EPROTO, "PROGRESS of %u bytes",
				  len);
	m->loaded = get_le64(p);
	m->busy_us = get_le64(p + 8);
	m->received = get_le64(p + 16);
	if (m->loaded > m->received)
		return set_errbuf(
			err, es, -EPROTO,
			"PROGRESS: %llu bytes loaded of %llu received",
			(unsigned long long)m->loaded,
			(unsigned long long)m->received);
	return 0;
}

void wire_device_end_encode(const struct wire_device_end *m, unsigned char *p)
{
	put_le64(p, m->raw_bytes);
	put_le64(p + 8, m->frames);
	put_le32(p + 16, m->crc);
	put_le32(p + 20, 0);
}

int wire_device_end_decode(const unsigned char *p, uint32_t len,
			   struct wire_device_end *m, char *err, size_t es)
{
	if (len != WIRE_DEVICE_END_LEN)
		return set_errbuf(err, es, -EPROTO, "DEVICE_END: %u bytes",
				  len);
	m->raw_bytes = get_le64(p);
	m->frames = get_le64(p + 8);
	m->crc = get_le32(p + 16);
	if (m->frames > m->raw_bytes)
		return set_errbuf(err, es, -EPROTO,
				  "DEVICE_END: %llu frames for %llu bytes",
				  (unsigned long long)m->frames,
				  (unsigned long long)m->raw_bytes);
	return 0;
}
