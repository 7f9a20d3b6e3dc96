/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What source and sink share outside their event loops: blocking frame I/O
 * with timeouts (handshake, last words), and the manifest.
 */
#ifndef VFMIG_LIB_SESSION_H
#define VFMIG_LIB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "vfmig.h"
#include "wire.h"

/* Defaults of struct vfmig_stream_opts, the same at both ends. */
#define SESSION_DEFAULT_MEMORY (64ull << 20)
/* 64 TiB: no device holds more; a driver's larger size report is garbage */
#define SESSION_PLAUSIBLE_MAX (1ull << 46)
#define SESSION_DEFAULT_TIMEOUT_MS 30000
/* a destination's bound on a pre-copy (the source's own gives up at 120 s) */
#define SESSION_DEFAULT_PRECOPY_MAX_MS (600ull * 1000)
#define SESSION_DEFAULT_DOWNTIME_LIMIT_MS VFMIG_DOWNTIME_LIMIT_DEFAULT_MS

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
int io_write_all(const struct conn *c, const void *p, size_t len,
		 int timeout_ms);
int io_read_all(const struct conn *c, void *p, size_t len, int timeout_ms);
/* What is there, up to @len bytes, waiting up to @timeout_ms for the
 * first: a count, 0 at the end, or -errno (-ETIMEDOUT). */
int io_read_some(const struct conn *c, void *p, size_t len, int timeout_ms);

int frame_send(const struct conn *c, enum wire_type type, uint16_t device,
	       const void *payload, uint32_t len, int timeout_ms);
/* A checked frame into @h and @payload (up to @cap bytes); -errno with a
 * message naming what was wrong. */
int frame_recv(const struct conn *c, const struct wire_limits *lim,
	       struct wire_hdr *h, unsigned char *payload, size_t cap,
	       int timeout_ms, char *err, size_t err_size);
/* Why I/O on @c failed with @err: TLS's reason, or the errno's name. */
const char *conn_error(const struct conn *c, int err);
/* ERROR with @text, best effort, short timeout, even after a cancel (it
 * says so); @c NULL: nobody to tell (a file). */
void frame_send_error(const struct conn *c, enum wire_code code,
		      const char *text);

/* What the source tells the destination about its devices. */
void manifest_build(struct vfmig_device *const *devs, unsigned n,
		    struct wire_device *out);
/* Devices are matched by id: -EINVAL naming two of @devs that share one. */
int manifest_ids_unique(struct vfmig_device *const *devs, unsigned n, char *why,
			size_t why_size);
/* The destination's check: every id on both sides, once, and kind and
 * identity per matched pair; @map[i] is the local device of the
 * source's device i. */
int manifest_check(const struct wire_device *got, int n,
		   struct vfmig_device *const *devs, unsigned ndev,
		   unsigned *map, char *why, size_t why_size);

/* A 128-bit random session id. */
void session_id(uint8_t id[16]);

/* Add @x's byte and frame counts to @sum. */
void transfer_add(struct vfmig_transfer *sum, const struct vfmig_transfer *x);

#endif
