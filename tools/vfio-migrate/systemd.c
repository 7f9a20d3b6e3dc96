// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The wire facts come from sd_listen_fds(3) and sd_notify(3): passed
 * sockets start at fd 3, LISTEN_PID guards against a variable inherited
 * by the wrong process, and the notify socket is a path or, with a
 * leading '@', an abstract name.  Two small protocols do not need a
 * library; libsystemd would be the tool's only use of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "systemd.h"

#define SD_LISTEN_FDS_START 3

static int say(char *err, size_t es, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int say(char *err, size_t es, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, es, fmt, ap);
	va_end(ap);
	return ret;
}

/* A whole decimal number, or -1. */
static long number(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 ? -1 : v;
}

int sd_listen_uri(char *uri, size_t size, char *err, size_t es)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long n = number(fds);
	int fl;

	if (!pid || !fds)
		return say(
			err, es, -ENOENT,
			"-l systemd: no socket was passed (LISTEN_PID and LISTEN_FDS are not set): start recv from a .socket unit or systemd-socket-activate, or give an address");
	if (number(pid) != (long)getpid())
		return say(
			err, es, -ESRCH,
			"-l systemd: LISTEN_PID=%s is not this process (%ld): the sockets were passed to another",
			pid, (long)getpid());
	if (n != 1)
		return say(
			err, es, -EINVAL,
			"-l systemd: LISTEN_FDS=%s: expected exactly one socket (one ListenStream= in the .socket unit)",
			fds);
	fl = fcntl(SD_LISTEN_FDS_START, F_GETFD);
	if (fl < 0)
		return say(err, es, -EBADF,
			   "-l systemd: fd %d, the passed socket, is not open",
			   SD_LISTEN_FDS_START);
	/* ours alone: no child inherits the socket or the variables */
	fcntl(SD_LISTEN_FDS_START, F_SETFD, fl | FD_CLOEXEC);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	snprintf(uri, size, "fd:%d", SD_LISTEN_FDS_START);
	return 0;
}

int sd_ready(const char *status, char *err, size_t es)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = path ? strlen(path) : 0;
	char msg[512];
	int fd, len, ret = 0;

	if (!n)
		return 0;
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return say(
			err, es, -EINVAL,
			"NOTIFY_SOCKET='%s' is not a unix socket path or @name",
			path);
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract */
	len = snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s\nMAINPID=%ld\n",
		       status, (long)getpid());
	if (len >= (int)sizeof(msg))
		len = (int)sizeof(msg) - 1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return say(err, es, -errno, "NOTIFY_SOCKET: socket: %s",
			   strerror(errno));
	if (sendto(fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		ret = say(err, es, -errno, "NOTIFY_SOCKET=%s: %s", path,
			  strerror(errno));
	close(fd);
	return ret;
}
