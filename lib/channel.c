// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <linux/tcp.h> /* tcp_info's byte counts */
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#include "errors.h"
#include "io.h"

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static int parse_tcp(const char *rest, struct chan_uri *u, char *err, size_t es)
{
	const char *colon;
	size_t hlen;

	if (rest[0] == '[') { /* [v6 address]:port */
		const char *close = strchr(rest, ']');

		if (!close || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - rest - 1);
		if (!hlen || hlen >= sizeof(u->host))
			goto bad;
		memcpy(u->host, rest + 1, hlen);
		u->host[hlen] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - rest);
		if (hlen >= sizeof(u->host) || memchr(rest, ':', hlen))
			goto bad;
		memcpy(u->host, rest, hlen);
		u->host[hlen] = '\0';
	}
	if (parse_port(colon + 1, &u->port))
		return set_errbuf(err, es, EINVAL,
				  "bad port '%s' in '%s' (expected 0..65535)",
				  colon + 1, u->text);
	return 0;
bad:
	return set_errbuf(
		err, es, EINVAL,
		"bad address '%s' (expected tcp:HOST:PORT or tcp:[IPv6]:PORT)",
		u->text);
}

static int parse_fds(const char *rest, struct chan_uri *u, char *err, size_t es)
{
	const char *p = rest;

	u->nfds = 0;
	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v < 0 || v > INT_MAX ||
		    (*end && *end != ','))
			return set_errbuf(
				err, es, EINVAL,
				"bad fd list '%s' (expected fd:N[,N...])",
				rest);
		if (u->nfds == CHAN_MAX)
			return set_errbuf(err, es, EINVAL,
					  "more than %d fds in '%s'", CHAN_MAX,
					  u->text);
		u->fds[u->nfds++] = (int)v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int chan_uri_parse(const char *uri, struct chan_uri *u, char *err, size_t es)
{
	memset(u, 0, sizeof(*u));
	if (!uri)
		return set_errbuf(err, es, EINVAL, "no address given");
	snprintf(u->text, sizeof(u->text), "%s", uri);
	if (!strncmp(uri, "tcp:", 4)) {
		u->kind = CHAN_TCP;
		return parse_tcp(uri + 4, u, err, es);
	}
	if (!strncmp(uri, "unix:", 5) || !strncmp(uri, "file:", 5)) {
		const char *path = uri + 5;
		size_t max =
			uri[0] == 'u' ?
				sizeof(((struct sockaddr_un *)0)->sun_path) -
					1 :
				sizeof(u->path) - 1;

		u->kind = uri[0] == 'u' ? CHAN_UNIX : CHAN_FILE;
		if (!*path)
			return set_errbuf(err, es, EINVAL, "no path in '%s'",
					  uri);
		if (strlen(path) > max)
			return set_errbuf(
				err, es, ENAMETOOLONG,
				"path in '%s' is longer than %zu bytes",
				u->text, max);
		strcpy(u->path, path);
		return 0;
	}
	if (!strncmp(uri, "fd:", 3)) {
		u->kind = CHAN_FD;
		return parse_fds(uri + 3, u, err, es);
	}
	return set_errbuf(
		err, es, EINVAL,
		"bad address '%s' (expected tcp:HOST:PORT, unix:PATH, file:PATH or fd:N[,N...])",
		uri);
}

void chan_tune(int fd)
{
	int one = 1, size = 8 << 20;

	/* Small control frames must not wait behind Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Bigger buffers only where we may exceed the sysctl cap; setting a
	 * smaller size would switch off the kernel's autotuning. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
}

int chan_rx_bytes(int fd, uint64_t *bytes)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return errno == ENOPROTOOPT ? -EOPNOTSUPP : -errno;
	/* a kernel older than the counter (4.1) says less */
	if (len < offsetof(struct tcp_info, tcpi_bytes_received) +
			  sizeof(ti.tcpi_bytes_received))
		return -EOPNOTSUPP;
	*bytes = ti.tcpi_bytes_received;
	return 0;
}

/* Wait for a non-blocking connect; returns 0 or -errno. */
static int finish_connect(int fd, int cancel, int timeout_ms)
{
	socklen_t len = sizeof(int);
	int n, soerr = 0;

	n = io_wait(fd, POLLOUT, cancel, now_ms() + (uint64_t)timeout_ms);
	if (n < 0)
		return n;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -errno;
	return -soerr;
}

/* A socket for @family: @*pre when it is one (prepared earlier, with
 * its privileges; taken: *pre becomes -1), else a new one, tuned as this
 * process may. */
static int stream_socket(int family, int *pre)
{
	int fd = *pre;
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == family) {
		*pre = -1;
		return fd;
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (family != AF_UNIX)
		chan_tune(fd);
	return fd;
}

static int connect_addr(const struct sockaddr *sa, socklen_t len, int family,
			int *pre, int cancel, int timeout_ms)
{
	int fd, ret, fl;

	fd = stream_socket(family, pre);
	if (fd < 0)
		return fd;
	ret = connect(fd, sa, len) < 0 ? -errno : 0;
	if (ret == -EINPROGRESS || ret == -EAGAIN)
		ret = finish_connect(fd, cancel, timeout_ms);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return (int)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int connect_one(const struct chan_uri *u, int timeout_ms, int cancel,
		       int *pre, char *err, size_t es)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char port[8];
	int fd = -ENOENT, r;

	if (u->kind == CHAN_UNIX) {
		struct sockaddr_un sa;
		int len = unix_addr(u->path, &sa);

		fd = connect_addr((struct sockaddr *)&sa, (socklen_t)len,
				  AF_UNIX, pre, cancel, timeout_ms);
	} else {
		if (!u->host[0])
			return set_errbuf(err, es, EINVAL,
					  "no host in '%s' to connect to",
					  u->text);
		snprintf(port, sizeof(port), "%u", u->port);
		r = getaddrinfo(u->host, port, &hints, &ai);
		if (r)
			return set_errbuf(err, es, EHOSTUNREACH,
					  "%s: cannot resolve '%s': %s",
					  u->text, u->host, gai_strerror(r));
		for (a = ai; a; a = a->ai_next) {
			fd = connect_addr(a->ai_addr, a->ai_addrlen,
					  a->ai_family, pre, cancel,
					  timeout_ms);
			if (fd >= 0 || fd == -ECANCELED)
				break;
		}
		freeaddrinfo(ai);
	}
	if (fd == -ECONNREFUSED || fd == -ENOENT)
		return set_errbuf(
			err, es, fd,
			"%s: nobody is listening (%s): is 'vfio-migrate recv' running there?",
			u->text, errno_name(fd));
	if (fd == -ETIMEDOUT)
		return set_errbuf(err, es, fd, "%s: no answer within %d ms",
				  u->text, timeout_ms);
	if (fd == -ECANCELED)
		return set_errbuf(err, es, fd, "%s: connecting: cancelled",
				  u->text);
	if (fd < 0)
		return set_errbuf(err, es, fd, "%s: cannot connect: %s",
				  u->text, errno_name(fd));
	return fd;
}

int chan_connect(const struct chan_uri *u, int n, int timeout_ms, int cancel,
		 int *fds, char *err, size_t es)
{
	if (u->kind != CHAN_TCP && u->kind != CHAN_UNIX)
		return set_errbuf(err, es, EINVAL, "%s: not a socket address",
				  u->text);
	if (n < 1 || n > CHAN_MAX)
		return set_errbuf(err, es, EINVAL, "%d channels (1..%d)", n,
				  CHAN_MAX);
	for (int i = 0; i < n; i++) {
		int pre = fds[i], fd;

		fd = connect_one(u, timeout_ms, cancel, &pre, err, es);
		if (pre >= 0) /* not of the family it reached */
			close(pre);
		fds[i] = fd;
		if (fd < 0) {
			for (int j = i + 1; j < n; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			while (i--)
				close(fds[i]);
			return fd;
		}
	}
	return 0;
}

int chan_prepare(const struct chan_uri *u, int n, int *fds, char *err,
		 size_t es)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char port[8];
	int r;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	if (u->kind != CHAN_TCP || !u->host[0])
		return 0; /* unix sockets are not tuned */
	snprintf(port, sizeof(port), "%u", u->port);
	r = getaddrinfo(u->host, port, &hints, &ai);
	if (r)
		return set_errbuf(err, es, EHOSTUNREACH,
				  "%s: cannot resolve '%s': %s", u->text,
				  u->host, gai_strerror(r));
	for (int i = 0; i < n; i++) {
		fds[i] = socket(ai->ai_family,
				SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fds[i] < 0)
			break;
		chan_tune(fds[i]);
	}
	freeaddrinfo(ai);
	return 0;
}

/* A unix socket file nobody accepts on is left over: replace it. */
static int clear_stale(const char *path, char *err, size_t es, const char *text)
{
	struct sockaddr_un sa;
	struct stat st;
	int len, fd;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return set_errbuf(err, es, EEXIST,
				  "%s: %s exists and is not a socket", text,
				  path);
	len = unix_addr(path, &sa);
	fd = connect_addr((struct sockaddr *)&sa, (socklen_t)len, AF_UNIX,
			  &(int){ -1 }, -1, 1000);
	if (fd >= 0) {
		close(fd);
		return set_errbuf(err, es, EADDRINUSE,
				  "%s: another process is listening on %s",
				  text, path);
	}
	unlink(path);
	return 0;
}

int chan_listen(const struct chan_uri *u, char *err, size_t es)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE },
			*ai;
	char port[8];
	int fd, one = 1, zero = 0, r;

	if (u->kind == CHAN_UNIX) {
		struct sockaddr_un sa;
		int len = unix_addr(u->path, &sa);

		r = clear_stale(u->path, err, es, u->text);
		if (r < 0)
			return r;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return set_errbuf(err, es, errno, "%s: socket: %s",
					  u->text, errno_name(errno));
		if (bind(fd, (struct sockaddr *)&sa, (socklen_t)len) < 0 ||
		    listen(fd, CHAN_MAX) < 0) {
			r = errno;
			close(fd);
			return set_errbuf(
				err, es, r, "%s: cannot listen: %s%s", u->text,
				errno_name(r),
				r == EACCES ?
					" (no write permission on the socket's directory: choose a path in a directory this user may write, or change its permissions)" :
					"");
		}
		return fd;
	}
	if (u->kind != CHAN_TCP)
		return set_errbuf(err, es, EINVAL, "%s: not a socket address",
				  u->text);
	snprintf(port, sizeof(port), "%u", u->port);
	/* No host: every address, v6 and v4 on one socket if possible. */
	hints.ai_family = u->host[0] ? AF_UNSPEC : AF_INET6;
	r = getaddrinfo(u->host[0] ? u->host : NULL, port, &hints, &ai);
	if (r && !u->host[0]) {
		hints.ai_family = AF_INET;
		r = getaddrinfo(NULL, port, &hints, &ai);
	}
	if (r)
		return set_errbuf(err, es, EADDRNOTAVAIL,
				  "%s: cannot resolve '%s': %s", u->text,
				  u->host, gai_strerror(r));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = errno;
		freeaddrinfo(ai);
		return set_errbuf(err, es, r, "%s: socket: %s", u->text,
				  errno_name(r));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* accepted sockets inherit the listener's buffers (and its TCP
	 * window scale, fixed at the SYN): set now, while this process may
	 * still exceed net.core.rmem_max, so it need not keep the right */
	chan_tune(fd);
	if (ai->ai_family == AF_INET6 && !u->host[0])
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, CHAN_MAX) < 0) {
		r = errno;
		freeaddrinfo(ai);
		close(fd);
		return set_errbuf(
			err, es, r, "%s: cannot listen: %s%s", u->text,
			errno_name(r),
			r == EADDRINUSE ?
				" (the port is taken)" :
			r == EACCES ?
				" (ports below net.ipv4.ip_unprivileged_port_start need CAP_NET_BIND_SERVICE: use a higher port, or run as root)" :
				"");
	}
	freeaddrinfo(ai);
	return fd;
}

int chan_listen_port(int lfd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	if (getsockname(lfd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

int chan_accept(int lfd, int timeout_ms, int cancel, char *err, size_t es)
{
	int n = io_wait(lfd, POLLIN, cancel, now_ms() + (uint64_t)timeout_ms),
	    fd;

	if (n == -ETIMEDOUT)
		return set_errbuf(err, es, ETIMEDOUT,
				  "no connection within %d ms", timeout_ms);
	if (n == -ECANCELED)
		return set_errbuf(err, es, ECANCELED,
				  "waiting for a connection: cancelled");
	if (n < 0)
		return set_errbuf(err, es, n, "poll: %s", errno_name(n));
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return set_errbuf(err, es, errno, "accept: %s",
				  errno_name(errno));
	chan_tune(fd);
	return fd;
}

int chan_open_file(const char *path, bool write, char *err, size_t es)
{
	int fd = write ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600) :
			 open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return set_errbuf(
			err, es, errno, "cannot %s %s: %s%s",
			write ? "create" : "open", path, errno_name(errno),
			errno != EACCES ? "" :
			write		? " (no write permission on the file or its directory for this user: choose another path or change the permissions)" :
					  " (no read permission for this user: change the file's permissions, or run as its owner)");
	return fd;
}
