// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "device.h"
#include "session.h"
#include "tls.h"

int io_write_all(const struct conn *c, const void *buf, size_t len,
		 int timeout_ms)
{
	if (c->tls)
		return tls_write_all(c->tls, buf, len, timeout_ms);
	return io_send_all(c->fd, buf, len, c->cancel,
			   now_ms() + (uint64_t)timeout_ms);
}

int io_read_all(const struct conn *c, void *buf, size_t len, int timeout_ms)
{
	unsigned char *p = buf;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		int ret = 0;

		if (c->tls) {
			uint64_t now = now_ms();

			n = now >= deadline ?
				    -ETIMEDOUT :
				    tls_read(c->tls, p + got, len - got,
					     (int)(deadline - now));
			if (n < 0)
				return (int)n;
		} else {
			ret = io_wait(c->fd, POLLIN, c->cancel, deadline);
			if (ret < 0)
				return ret;
			n = read(c->fd, p + got, len - got);
		}
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return got ? -ECONNRESET : -ENODATA;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

int io_read_some(const struct conn *c, void *p, size_t len, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	if (c->tls)
		return (int)tls_read(c->tls, p, len, timeout_ms);
	for (;;) {
		int ret = io_wait(c->fd, POLLIN, c->cancel, deadline);
		ssize_t n;

		if (ret < 0)
			return ret;
		n = read(c->fd, p, len);
		if (n >= 0)
			return (int)n;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

int frame_send(const struct conn *c, enum wire_type type, uint16_t device,
	       const void *payload, uint32_t len, int timeout_ms)
{
	unsigned char buf[WIRE_HDR_LEN + 4 + WIRE_MAX_TEXT];
	unsigned char *b = buf;
	int ret;

	if (len > sizeof(buf) - WIRE_HDR_LEN) { /* a manifest */
		b = malloc(WIRE_HDR_LEN + len);
		if (!b)
			return -ENOMEM;
	}
	ret = io_write_all(c, b, wire_control(b, type, device, payload, len),
			   timeout_ms);
	if (b != buf)
		free(b);
	return ret;
}

static const char *peer_hint(const unsigned char *h)
{
	if (!memcmp(h, "GET ", 4) || !memcmp(h, "POST", 4) ||
	    !memcmp(h, "HEAD", 4) || !memcmp(h, "PUT ", 4))
		return " (an HTTP request?)";
	if (!memcmp(h, "SSH-", 4))
		return " (an SSH client?)";
	if (h[0] == 0x16 && h[1] == 0x03) /* a TLS handshake record */
		return " (a TLS handshake: the source uses TLS; give this side --tls-creds too)";
	return "";
}

int frame_recv(const struct conn *c, const struct wire_limits *lim,
	       struct wire_hdr *h, unsigned char *payload, size_t cap,
	       int timeout_ms, char *err, size_t es)
{
	unsigned char hb[WIRE_HDR_LEN];
	/* The magic first: garbage shorter than a header fails at once. */
	int ret = io_read_all(c, hb, 4, timeout_ms);

	if (ret == 0 && get_le32(hb) != WIRE_MAGIC)
		return set_errbuf(
			err, es, EBADMSG,
			"bad magic 0x%08x: not a vfio-migrate stream%s",
			get_le32(hb), peer_hint(hb));
	if (ret == 0)
		ret = io_read_all(c, hb + 4, sizeof(hb) - 4, timeout_ms);
	if (ret < 0 && c->tls && *tls_conn_error(c->tls))
		return set_errbuf(err, es, ret, "%s", tls_conn_error(c->tls));
	if (ret == -ENODATA)
		return set_errbuf(err, es, ECONNRESET,
				  "the peer closed the connection");
	if (ret == -ETIMEDOUT)
		return set_errbuf(err, es, ETIMEDOUT,
				  "the peer said nothing for %d ms",
				  timeout_ms);
	if (ret < 0)
		return set_errbuf(err, es, ret, "reading a frame: %s",
				  errno_name(ret));
	ret = wire_hdr_decode(hb, lim, h, err, es);
	if (ret < 0) {
		size_t n = strlen(err);

		snprintf(err + n, es - n, "%s", peer_hint(hb));
		return ret;
	}
	if (h->enc_len > cap)
		return set_errbuf(err, es, EPROTO,
				  "%s frame: %u bytes where %zu were expected",
				  wire_type_name(h->type), h->enc_len, cap);
	ret = io_read_all(c, payload, h->enc_len, timeout_ms);
	if (ret < 0 && c->tls && *tls_conn_error(c->tls))
		return set_errbuf(err, es, ret, "%s", tls_conn_error(c->tls));
	if (ret < 0)
		return set_errbuf(
			err, es, ret == -ENODATA ? -ECONNRESET : ret,
			"reading a %s frame: %s", wire_type_name(h->type),
			errno_name(ret == -ENODATA ? ECONNRESET : ret));
	if (h->type != WIRE_DATA)
		return wire_payload_check(h, payload, err, es);
	return 0;
}

const char *conn_error(const struct conn *c, int err)
{
	return c->tls && *tls_conn_error(c->tls) ? tls_conn_error(c->tls) :
						   errno_name(err);
}

void frame_send_error(const struct conn *c, enum wire_code code,
		      const char *text)
{
	unsigned char p[4 + WIRE_MAX_TEXT];
	struct conn q;

	if (!c || c->fd < 0)
		return;
	/* the last word goes out also when a cancel ended the rest */
	q = *c;
	q.cancel = -1;
	tls_conn_set_cancel(q.tls, -1);
	frame_send(&q, WIRE_ERROR, WIRE_NO_DEVICE, p,
		   wire_text_encode(code, text, p), 1000);
}

void manifest_build(struct vfmig_device *const *devs, unsigned n,
		    struct wire_device *out)
{
	for (unsigned i = 0; i < n; i++) {
		struct vfmig_device *d = devs[i];
		int flags = vfmig_device_migration_flags(d);
		uint64_t size = 0;
		char pos[16];

		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].name, sizeof(out[i].name), "%s",
			 device_id_or(d, i, pos, sizeof(pos)));
		snprintf(out[i].kind, sizeof(out[i].kind), "%.*s",
			 (int)WIRE_MAX_KIND, d->be->name);
		snprintf(out[i].ident, sizeof(out[i].ident), "%.*s",
			 (int)WIRE_MAX_IDENT, d->ident);
		out[i].flags = flags > 0 ? (uint32_t)flags : 0;
		if (vfmig_device_stopcopy_size(d, &size) == 0)
			out[i].size = size;
	}
}

int manifest_ids_unique(struct vfmig_device *const *devs, unsigned n, char *why,
			size_t ws)
{
	char a[16], b[16];

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(device_id_or(devs[i], i, a, sizeof(a)),
				    device_id_or(devs[j], j, b, sizeof(b))))
				return set_errbuf(
					why, ws, EINVAL,
					"devices %u and %u have the same id '%s'",
					j, i, a);
	return 0;
}

/* Our ids, "gpu0, gpu1", for a message. */
static void our_ids(struct vfmig_device *const *devs, unsigned n, char *buf,
		    size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && at + 1 < size; i++) {
		char pos[16];
		int w = snprintf(buf + at, size - at, "%s%s", i ? ", " : "",
				 device_id_or(devs[i], i, pos, sizeof(pos)));

		at += w > 0 ? (size_t)w : 0;
	}
}

/* The local device with id @id, or -1. */
static int find_id(struct vfmig_device *const *devs, unsigned n, const char *id)
{
	char pos[16];

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(device_id_or(devs[i], i, pos, sizeof(pos)), id))
			return (int)i;
	return -1;
}

int manifest_check(const struct wire_device *got, int n,
		   struct vfmig_device *const *devs, unsigned ndev,
		   unsigned *map, char *why, size_t ws)
{
	char ours[256], pos[16];
	bool taken[WIRE_MAX_DEVICES] = { false };

	our_ids(devs, ndev, ours, sizeof(ours));
	for (int i = 0; i < n; i++) {
		int j = find_id(devs, ndev, got[i].name);

		for (int k = 0; k < i; k++)
			if (!strcmp(got[k].name, got[i].name))
				return set_errbuf(
					why, ws, EINVAL,
					"the source names device %s twice",
					got[i].name);
		if (j < 0)
			return set_errbuf(
				why, ws, EINVAL,
				"the source's device %s (%s %s) has no device with that id here (this side has %s)",
				got[i].name, got[i].kind,
				got[i].ident[0] ? got[i].ident : "-", ours);
		map[i] = (unsigned)j;
		taken[j] = true;
	}
	for (unsigned j = 0; j < ndev; j++)
		if (!taken[j])
			return set_errbuf(
				why, ws, EINVAL,
				"device %s here is not in the source's manifest (the source sends %d device%s, this side has %u)",
				device_id_or(devs[j], j, pos, sizeof(pos)), n,
				n == 1 ? "" : "s", ndev);
	for (int i = 0; i < n; i++) {
		const struct vfmig_device *d = devs[map[i]];

		if (strcmp(got[i].kind, d->be->name) ||
		    strcmp(got[i].ident, d->ident))
			return set_errbuf(
				why, ws, EINVAL,
				"device %s: the source's is %s %s, this side's is %s %s (%s)",
				got[i].name, got[i].kind,
				got[i].ident[0] ? got[i].ident : "-",
				d->be->name, d->ident[0] ? d->ident : "-",
				d->name);
	}
	return 0;
}

void session_id(uint8_t id[16])
{
	uint64_t t = now_ms();

	/* Unique per session is what matters; getrandom is best. */
	if (getrandom(id, 16, GRND_NONBLOCK) != 16) {
		for (int i = 0; i < 16; i++)
			id[i] = (uint8_t)((t >> (i % 8 * 8)) ^
					  (uint64_t)getpid() ^
					  (uint64_t)i * 131);
	}
}

void transfer_add(struct vfmig_transfer *sum, const struct vfmig_transfer *x)
{
	sum->raw_bytes += x->raw_bytes;
	sum->wire_bytes += x->wire_bytes;
	sum->precopy_bytes += x->precopy_bytes;
	sum->stopcopy_bytes += x->stopcopy_bytes;
	sum->frames += x->frames;
}
