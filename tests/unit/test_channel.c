// SPDX-License-Identifier: GPL-2.0-or-later
/* Transports: URIs, and real connections over loopback and unix sockets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"

static char err[512];

static struct chan_uri ok(const char *s)
{
	struct chan_uri u;

	cr_assert_eq(chan_uri_parse(s, &u, err, sizeof(err)), 0, "%s: %s", s,
		     err);
	return u;
}

static void bad(const char *s, const char *text)
{
	struct chan_uri u;

	cr_expect_lt(chan_uri_parse(s, &u, err, sizeof(err)), 0, "%s accepted",
		     s);
	cr_expect(strstr(err, text), "'%s': '%s' lacks '%s'", s, err, text);
}

Test(channel, uris)
{
	struct chan_uri u;

	u = ok("tcp:127.0.0.1:5000");
	cr_expect(u.kind == CHAN_TCP && !strcmp(u.host, "127.0.0.1") &&
		  u.port == 5000);
	u = ok("tcp:[::1]:0");
	cr_expect(!strcmp(u.host, "::1") && u.port == 0);
	u = ok("tcp:localhost:65535");
	cr_expect_eq(u.port, 65535);
	u = ok("tcp::7000");
	cr_expect(!u.host[0] && u.port == 7000, "no host: any address");
	u = ok("unix:/run/vfio-migrate.sock");
	cr_expect(u.kind == CHAN_UNIX &&
		  !strcmp(u.path, "/run/vfio-migrate.sock"));
	u = ok("file:/var/tmp/vm.state");
	cr_expect(u.kind == CHAN_FILE);
	u = ok("fd:3,4,17");
	cr_expect(u.kind == CHAN_FD && u.nfds == 3 && u.fds[2] == 17);

	bad("tcp:host", "bad address 'tcp:host'");
	bad("tcp:host:99999", "bad port '99999' in 'tcp:host:99999'");
	bad("tcp:host:-1", "bad port '-1'");
	bad("tcp:host:", "bad port ''");
	bad("tcp:::1:5", "bad address 'tcp:::1:5'");
	bad("tcp:[::1:5", "bad address");
	bad("unix:", "no path in 'unix:'");
	bad("file:", "no path in 'file:'");
	bad("fd:", "bad fd list ''");
	bad("fd:3,,4", "bad fd list '3,,4'");
	bad("fd:x", "bad fd list 'x'");
	bad("ftp://x", "bad address 'ftp://x'");
	bad("", "bad address ''");
	char longpath[200] = "unix:/";
	memset(longpath + 6, 'a', 150);
	bad(longpath, "is longer than 107 bytes");
}

/* Connect @n channels to @lfd's listener and move bytes over each. */
static void exchange(const char *prefix, int lfd, int n)
{
	char uri[128];
	struct chan_uri u;
	int c[4] = { -1, -1, -1, -1 }, s[4];

	snprintf(uri, sizeof(uri), "%s%d", prefix, chan_listen_port(lfd));
	u = ok(uri);
	cr_assert_eq(chan_connect(&u, n, 2000, -1, c, err, sizeof(err)), 0,
		     "%s", err);
	for (int i = 0; i < n; i++) {
		char b[8] = "";

		s[i] = chan_accept(lfd, 2000, -1, err, sizeof(err));
		cr_assert_geq(s[i], 0, "%s", err);
		cr_assert_eq(write(c[i], "ping", 4), 4);
		cr_assert_eq(read(s[i], b, 4), 4);
		cr_expect_str_eq(b, "ping");
		cr_assert_eq(write(s[i], "pong", 4), 4);
		cr_assert_eq(read(c[i], b, 4), 4);
		cr_expect_str_eq(b, "pong");
		close(c[i]);
		close(s[i]);
	}
}

Test(channel, tcp_v4_and_any)
{
	struct chan_uri u = ok("tcp:127.0.0.1:0");
	int lfd = chan_listen(&u, err, sizeof(err));

	cr_assert_geq(lfd, 0, "%s", err);
	cr_expect_gt(chan_listen_port(lfd), 0);
	exchange("tcp:127.0.0.1:", lfd, 3);
	close(lfd);

	/* listening on every address reaches 127.0.0.1 (and ::1) */
	u = ok("tcp::0");
	lfd = chan_listen(&u, err, sizeof(err));
	cr_assert_geq(lfd, 0, "%s", err);
	exchange("tcp:localhost:", lfd, 2);
	close(lfd);
}

Test(channel, tcp_v6)
{
	struct chan_uri u = ok("tcp:[::1]:0");
	int lfd = chan_listen(&u, err, sizeof(err));

	if (lfd < 0)
		cr_skip_test("no IPv6 loopback here: %s", err);
	exchange("tcp:[::1]:", lfd, 2);
	close(lfd);
}

Test(channel, unix_sockets_and_stale_files)
{
	char path[64], uri[80];
	struct chan_uri u;
	int lfd, l2, c = -1;

	snprintf(path, sizeof(path), "/tmp/vfmig-test-%d.sock", getpid());
	snprintf(uri, sizeof(uri), "unix:%s", path);
	u = ok(uri);
	lfd = chan_listen(&u, err, sizeof(err));
	cr_assert_geq(lfd, 0, "%s", err);
	/* a second listener on a live socket is refused */
	cr_expect_eq(chan_listen(&u, err, sizeof(err)), -EADDRINUSE);
	cr_expect(strstr(err, "another process is listening on"), "%s", err);
	cr_assert_eq(chan_connect(&u, 1, 1000, -1, &c, err, sizeof(err)), 0,
		     "%s", err);
	close(c);
	close(lfd);
	/* the socket file is left over: a new listener replaces it */
	l2 = chan_listen(&u, err, sizeof(err));
	cr_expect_geq(l2, 0, "%s", err);
	close(l2);
	unlink(path);
	/* a regular file there is not ours to remove */
	close(creat(path, 0600));
	cr_expect_eq(chan_listen(&u, err, sizeof(err)), -EEXIST);
	cr_expect(strstr(err, "exists and is not a socket"), "%s", err);
	unlink(path);
}

Test(channel, connect_errors_say_what_to_do)
{
	struct chan_uri u = ok("tcp:127.0.0.1:0");
	int lfd = chan_listen(&u, err, sizeof(err)), port, fds[2] = { -1, -1 };
	char uri[64];

	/* a port nobody listens on: take one, then close it */
	cr_assert_geq(lfd, 0);
	port = chan_listen_port(lfd);
	close(lfd);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", port);
	u = ok(uri);
	cr_expect_eq(chan_connect(&u, 2, 1000, -1, fds, err, sizeof(err)),
		     -ECONNREFUSED);
	cr_expect(
		strstr(err,
		       "nobody is listening (ECONNREFUSED): is 'vfio-migrate recv' running there?"),
		"%s", err);
	u = ok("unix:/nonexistent/vfmig.sock");
	fds[0] = -1;
	cr_expect_eq(chan_connect(&u, 1, 1000, -1, fds, err, sizeof(err)),
		     -ENOENT);
	u = ok("tcp::5000");
	fds[0] = -1;
	cr_expect_eq(chan_connect(&u, 1, 1000, -1, fds, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "no host in 'tcp::5000'"), "%s", err);
}

Test(channel, accept_times_out)
{
	struct chan_uri u = ok("tcp:127.0.0.1:0");
	int lfd = chan_listen(&u, err, sizeof(err));

	cr_assert_geq(lfd, 0);
	cr_expect_eq(chan_accept(lfd, 50, -1, err, sizeof(err)), -ETIMEDOUT);
	cr_expect_str_eq(err, "no connection within 50 ms");
	close(lfd);
}

Test(channel, files)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/vfmig-test-%d.state", getpid());
	fd = chan_open_file(path, true, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(write(fd, "x", 1), 1);
	close(fd);
	fd = chan_open_file(path, false, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	unlink(path);
	cr_expect_eq(chan_open_file(path, false, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "cannot open /tmp/vfmig-test-"), "%s", err);
	cr_expect_eq(chan_open_file("/nonexistent/dir/f", true, err,
				    sizeof(err)),
		     -ENOENT);
}
