// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Blocking framed I/O on one channel, plain or TLS, each call bounded by a
 * timeout and the channel's cancel eventfd.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "conn.h"
#include "errors.h"
#include "tls.h"

int conn_write_all(const struct conn *c, const void *buf, size_t len,
		   int timeout_ms)
{
	if (c->tls)
		return tls_write_all(c->tls, buf, len, timeout_ms);
	return io_send_all(c->fd, buf, len, c->cancel,
			   now_ms() + (uint64_t)timeout_ms);
}

int conn_read_all(const struct conn *c, void *buf, size_t len, int timeout_ms)
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

int conn_read_some(const struct conn *c, void *p, size_t len, int timeout_ms)
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
	ret = conn_write_all(c, b, wire_control(b, type, device, payload, len),
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
	int ret = conn_read_all(c, hb, 4, timeout_ms);

	if (ret == 0 && get_le32(hb) != WIRE_MAGIC)
		return set_errbuf(
			err, es, EBADMSG,
			"bad magic 0x%08x: not a vfio-migrate stream%s",
			get_le32(hb), peer_hint(hb));
	if (ret == 0)
		ret = conn_read_all(c, hb + 4, sizeof(hb) - 4, timeout_ms);
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
	ret = conn_read_all(c, payload, h->enc_len, timeout_ms);
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
