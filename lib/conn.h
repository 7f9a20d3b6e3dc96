/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A channel's transport (an fd, and TLS on it) and blocking framed I/O on
 * it with a timeout: what the handshake and last words use, outside the
 * event loops.  Below session.c and the pipelines, above io.c and tls.c.
 */
#ifndef VFMIG_LIB_CONN_H
#define VFMIG_LIB_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "wire.h"

struct tls_conn;

/* A channel's transport: its fd and, over TLS, the session on it; and
 * the eventfd whose count cancels every wait on it (-1: none). */
struct conn {
	int fd;
	struct tls_conn *tls;
	int cancel;
};

/* Write or read exactly @len bytes within @timeout_ms.  Reading: -ENODATA
 * for a clean end before the first byte, -ECONNRESET after it. */
int conn_write_all(const struct conn *c, const void *p, size_t len,
		   int timeout_ms);
int conn_read_all(const struct conn *c, void *p, size_t len, int timeout_ms);
/* What is there, up to @len bytes, waiting up to @timeout_ms for the
 * first: a count, 0 at the end, or -errno (-ETIMEDOUT). */
int conn_read_some(const struct conn *c, void *p, size_t len, int timeout_ms);
/* Why I/O on @c failed with @err: TLS's reason, or the errno's name. */
const char *conn_error(const struct conn *c, int err);

int frame_send(const struct conn *c, enum wire_type type, uint16_t device,
	       const void *payload, uint32_t len, int timeout_ms);
/* A checked frame into @h and @payload (up to @cap bytes); -errno with a
 * message naming what was wrong. */
int frame_recv(const struct conn *c, const struct wire_limits *lim,
	       struct wire_hdr *h, unsigned char *payload, size_t cap,
	       int timeout_ms, char *err, size_t err_size);
/* ERROR with @text, best effort, short timeout, even after a cancel (it
 * says so); @c NULL: nobody to tell (a file). */
void frame_send_error(const struct conn *c, enum wire_code code,
		      const char *text);

#endif
