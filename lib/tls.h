/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS 1.3 on a channel, through GnuTLS with our own transport: GnuTLS
 * encrypts into and decrypts from buffers of ours (its push and pull
 * functions), and the socket I/O stays ours: blocking with a deadline
 * for the handshake and the control frames around the stream, io_uring
 * for the stream itself.  tls_send() and tls_recv() complete a caller's
 * ring_op as a sendmsg or a recv would (a count of plaintext bytes, 0 at
 * the end, or -errno), so the pipelines above them are the same with and
 * without TLS.
 */
#ifndef VFMIG_LIB_TLS_H
#define VFMIG_LIB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ring.h"
#include "vfmig.h"

struct tls_conn;

bool tls_is_server(const struct vfmig_tls *tls);
/* A client's x509 check needs a name: the handle's, or @host (the tcp
 * address's); -EINVAL with a message when there is none. */
int tls_check_host(const struct vfmig_tls *tls, const char *host, char *err,
		   size_t err_size);

/*
 * The handshake on connected socket @fd, within @timeout_ms, as @tls's
 * endpoint, given up once @cancel (an eventfd, or -1) is readable.
 * @host: what a client checks the server's certificate against
 * when the handle names no hostname (the tcp address's host; NULL for
 * unix and fd).  The connection keeps using @fd, which stays the
 * caller's.  -EPROTONOSUPPORT when the peer spoke the plaintext stream
 * protocol instead (a server may still answer it in plaintext).
 */
int tls_conn_open(const struct vfmig_tls *tls, int fd, const char *host,
		  int cancel, int timeout_ms, struct tls_conn **out, char *err,
		  size_t err_size);
void tls_conn_free(struct tls_conn *t);
/* The eventfd that cancels the connection's blocking waits (-1: none;
 * @t NULL: nothing). */
void tls_conn_set_cancel(struct tls_conn *t, int cancel);

/* Server: the client's identity against the handle's authz patterns;
 * -EACCES with a message naming it when none matches. */
int tls_conn_authorize(const struct tls_conn *t, char *err, size_t err_size);
/* Whether bytes of the peer's wait in our buffers or GnuTLS's (a poll of
 * the socket would not see them); false for NULL. */
bool tls_conn_pending(const struct tls_conn *t);
/* Why the last read or write failed, for an operator ("" if none did). */
const char *tls_conn_error(const struct tls_conn *t);

/* Blocking, within @timeout_ms: all of @len, or -errno. */
int tls_write_all(struct tls_conn *t, const void *p, size_t len,
		  int timeout_ms);
/* Blocking: 1 to @len bytes, 0 at the peer's end, or -errno
 * (-ETIMEDOUT). */
ssize_t tls_read(struct tls_conn *t, void *p, size_t len, int timeout_ms);

/*
 * Asynchronous, on @r: encrypt a bounded part of @iov and send it, or
 * receive and decrypt into @buf; @op completes with the plaintext count.
 * One of each in flight per connection.
 */
void tls_send(struct ring *r, struct tls_conn *t, struct ring_op *op,
	      const struct iovec *iov, int niov);
void tls_recv(struct ring *r, struct tls_conn *t, struct ring_op *op, void *buf,
	      size_t len);
/* Cancel both; the callers' ops complete with -ECANCELED. */
void tls_cancel(struct ring *r, struct tls_conn *t);

#endif
