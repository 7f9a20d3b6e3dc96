/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transports: where a stream goes.  tcp:HOST:PORT, unix:PATH, file:PATH and
 * fd:N[,N...] (already-connected sockets or open files handed over by a
 * VMM).  Every function returns -errno and writes a message naming the
 * URI and the step.
 */
#ifndef VFMIG_LIB_CHANNEL_H
#define VFMIG_LIB_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAN_MAX 64 /* channels in one session */
#define CHAN_HOST_MAX 256
#define CHAN_PATH_MAX 4096

enum chan_kind { CHAN_TCP, CHAN_UNIX, CHAN_FILE, CHAN_FD };

struct chan_uri {
	enum chan_kind kind;
	char host[CHAN_HOST_MAX]; /* tcp: "" means any address (listen) */
	unsigned port;
	char path[CHAN_PATH_MAX]; /* unix, file */
	int fds[CHAN_MAX]; /* fd */
	int nfds;
	char text[64]; /* the URI as given, shortened, for messages */
};

int chan_uri_parse(const char *uri, struct chan_uri *u, char *err,
		   size_t err_size);

/*
 * Source side, before the privileges go: @n sockets for a tcp URI, of the
 * family its host resolves to first, sized for streaming (buffers above
 * net.core.wmem_max take CAP_NET_ADMIN).  Unix URIs get -1s (nothing to
 * size).  -errno when the host does not resolve.
 */
int chan_prepare(const struct chan_uri *u, int n, int *fds, char *err,
		 size_t err_size);
/* Source side: @n connections to a tcp or unix URI, each within
 * @timeout_ms, given up (-ECANCELED) once @cancel (an eventfd, or -1) is
 * readable.  @fds[i] on entry: a socket from chan_prepare() to use, or -1;
 * on return the connections.  On failure none is left open (prepared ones
 * included). */
int chan_connect(const struct chan_uri *u, int n, int timeout_ms, int cancel,
		 int *fds, char *err, size_t err_size);

/* Destination side: a listening socket for a tcp or unix URI (a stale
 * unix socket file is replaced; a live one is EADDRINUSE). */
int chan_listen(const struct chan_uri *u, char *err, size_t err_size);
/* The port a tcp listener got (for port 0), or -errno. */
int chan_listen_port(int lfd);
/* One connection within @timeout_ms (-ETIMEDOUT; -ECANCELED once
 * @cancel, an eventfd or -1, is readable), tuned for streaming. */
int chan_accept(int lfd, int timeout_ms, int cancel, char *err,
		size_t err_size);

/* A file for save (created, truncated) or load. */
int chan_open_file(const char *path, bool write, char *err, size_t err_size);

/* Socket options for bulk streaming (best effort). */
void chan_tune(int fd);

/* The bytes a TCP socket has received so far (acknowledged, read by us
 * or not); -EOPNOTSUPP for other fds. */
int chan_rx_bytes(int fd, uint64_t *bytes);

#endif
