// SPDX-License-Identifier: GPL-2.0-or-later
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_baseline.h"
#include "bench_util.h"
#include "cli.h"

int baseline_stream_file(struct vfmig_device **src, unsigned n, char *path,
			 size_t len)
{
	static char buf[1 << 20];
	int out, ret = 0;

	snprintf(path, len, "/dev/shm/vfmig-bench-XXXXXX");
	out = mkstemp(path);
	if (out < 0) {
		snprintf(path, len, "/tmp/vfmig-bench-XXXXXX");
		out = mkstemp(path);
	}
	if (out < 0)
		return -1;
	for (unsigned i = 0; !ret && i < n; i++) {
		int fd = -1;
		ssize_t r;

		if (vfmig_device_set_state(src[i], VFMIG_STATE_STOP_COPY, &fd) <
		    0) {
			ret = -1;
			break;
		}
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)r) != r) {
				ret = -1;
				break;
			}
		if (r < 0)
			ret = -1;
		vfmig_device_recover(src[i]);
	}
	close(out);
	if (ret)
		unlink(path);
	return ret;
}

/* Whether something listens on 127.0.0.1:@port (/proc/net/tcp). */
static bool listening(int port)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/net/tcp", "r");
	bool yes = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), ":%04X 00000000:0000 0A", port);
	while (!yes && fgets(line, sizeof(line), f))
		yes = strstr(line, want) != NULL;
	fclose(f);
	return yes;
}

static pid_t shell(const char *cmd)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

double baseline_pipeline(const char *path, bool compress)
{
	char rx[256], tx[512];
	int port = 20000 + (int)(bench_now_s() * 1000) % 30000, st1, st2;
	pid_t r, t;
	double t0;

	if (compress) {
		snprintf(rx, sizeof(rx),
			 "nc -l 127.0.0.1 %d | zstd -q -d -c >/dev/null", port);
		snprintf(tx, sizeof(tx),
			 "zstd -q -1 -T2 -c <'%s' | nc -N 127.0.0.1 %d", path,
			 port);
	} else {
		snprintf(rx, sizeof(rx), "nc -l 127.0.0.1 %d >/dev/null", port);
		snprintf(tx, sizeof(tx), "cat '%s' | nc -N 127.0.0.1 %d", path,
			 port);
	}
	r = shell(rx);
	for (int i = 0; i < 500 && !listening(port); i++)
		usleep(10000);
	t0 = bench_now_s();
	t = shell(tx);
	if (r < 0 || t < 0 || waitpid(t, &st1, 0) < 0 ||
	    waitpid(r, &st2, 0) < 0 || st1 || st2) {
		err_msg("bench: the %s pipeline failed (are zstd and netcat-openbsd installed? make deps)",
			compress ? "zstd | nc" : "cat | nc");
		return -1;
	}
	return bench_now_s() - t0;
}
