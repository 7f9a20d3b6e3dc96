// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-migrate demo: a real migration on this machine.  A destination
 * process receives four simulated 256 MiB devices from a source process
 * over two loopback TCP channels, with pre-copy while the source devices
 * dirty pages; then both sides' state hashes are compared.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "migrate.h"
#include "print.h"

#define NDEV 4

struct answer {
	int ret;
	uint64_t hash[NDEV];
	char error[256];
};

/* The destination: listen, tell the parent the port, receive, answer. */
static int destination(int to_parent)
{
	struct vfmig_device *devs[NDEV];
	struct vfmig_stream_opts o = { .size = sizeof(o),
				       .uri = "tcp:127.0.0.1:0" };
	struct answer ans = { 0 };
	struct vfmig_sink *k;
	char spec[96];
	int port;

	for (int i = 0; i < NDEV; i++) {
		snprintf(spec, sizeof(spec),
			 "sim:size=256M,pattern=zero,name=gpu%d", i);
		if (open_device(spec, &devs[i]))
			_exit(EXIT_FAILED);
	}
	if (vfmig_sink_new(devs, NDEV, &o, &k) < 0 ||
	    vfmig_sink_listen(k) < 0) {
		err_msg("demo: destination: %s", vfmig_sink_strerror(k));
		port = -1;
		if (write(to_parent, &port, sizeof(port)) < 0)
			_exit(EXIT_FAILED);
		_exit(EXIT_FAILED);
	}
	port = vfmig_sink_port(k);
	if (write(to_parent, &port, sizeof(port)) != sizeof(port))
		_exit(EXIT_FAILED);
	ans.ret = vfmig_sink_run(k);
	snprintf(ans.error, sizeof(ans.error), "%s", vfmig_sink_strerror(k));
	for (int i = 0; i < NDEV; i++)
		vfmig_device_state_hash(devs[i], &ans.hash[i]);
	if (write(to_parent, &ans, sizeof(ans)) != sizeof(ans))
		_exit(EXIT_FAILED);
	vfmig_sink_free(k);
	mig_close(devs, NDEV);
	_exit(ans.ret ? EXIT_FAILED : EXIT_OK);
}

int cmd_demo(int argc, char **argv)
{
	struct vfmig_device *devs[NDEV];
	struct mig_args a = { .mode = MIG_SEND, .ndev = NDEV };
	struct mig_result r = { .have_wire = true,
				.have_downtime = true,
				.channels = 2 };
	struct answer ans;
	struct vfmig_source *s;
	char spec[NDEV][96];
	int fds[2], port = -1, status, equal = 0;
	pid_t pid;

	if (argc > 1 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: %s demo\n\n"
		       "Migrate four simulated 256 MiB devices (framebuffer-like content,\n"
		       "dirtying 32 MiB/s) from a source process to a destination process\n"
		       "over two loopback TCP channels with pre-copy and zstd:-1, and compare\n"
		       "the state hashes on both sides.\n",
		       prog);
		return EXIT_OK;
	}
	if (argc > 1 &&
	    (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")))
		return print_version();
	if (argc > 1) {
		err_msg("demo: unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}
	if (pipe(fds) < 0) {
		err_msg("demo: pipe: %s", strerror(errno));
		return EXIT_FAILED;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		err_msg("demo: fork: %s", strerror(errno));
		return EXIT_FAILED;
	}
	if (pid == 0) {
		close(fds[0]);
		destination(fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], &port, sizeof(port)) != sizeof(port) || port < 0) {
		err_msg("demo: the destination did not start");
		waitpid(pid, &status, 0);
		return EXIT_FAILED;
	}

	for (int i = 0; i < NDEV; i++) {
		snprintf(
			spec[i], sizeof(spec[i]),
			"sim:size=256M,pattern=fb,dirty=32M/s,seed=%d,name=gpu%d",
			i + 1, i);
		a.spec[i] = spec[i];
	}
	snprintf(a.uri, sizeof(a.uri), "tcp:127.0.0.1:%d", port);
	a.o = (struct vfmig_stream_opts){ .size = sizeof(a.o),
					  .uri = a.uri,
					  .channels = 2,
					  .codec = VFMIG_CODEC_ZSTD,
					  .level = -1,
					  .precopy = 1,
					  .progress = mig_progress,
					  .progress_arg = &a,
					  .interval_ms = 200 };
	printf("destination  process %d, listening on 127.0.0.1:%d\n", (int)pid,
	       port);
	printf("source       process %d: 4 x sim:size=256M,pattern=fb,dirty=32M/s; 2 channels, zstd:-1\n\n",
	       (int)getpid());
	fflush(stdout);
	if (mig_open(&a, devs)) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
		return EXIT_FAILED;
	}
	r.ret = vfmig_source_new(devs, NDEV, &a.o, &s);
	if (!r.ret)
		r.ret = vfmig_source_run(s);
	r.error = vfmig_source_strerror(s);
	r.total_ms = vfmig_source_total_ms(s);
	r.downtime_ms = vfmig_source_downtime_ms(s);
	r.downtime_us = vfmig_source_downtime_us(s);
	r.total.size = sizeof(r.total);
	vfmig_source_transfer(s, -1, &r.total);
	for (int i = 0; i < NDEV; i++) {
		r.dev[i].size = sizeof(r.dev[i]);
		vfmig_source_transfer(s, i, &r.dev[i]);
	}
	if (r.ret)
		err_msg("demo: %s", r.error);
	mig_report(&a, devs, &r);

	memset(&ans, 0, sizeof(ans));
	if (read(fds[0], &ans, sizeof(ans)) != sizeof(ans))
		ans.ret = -EIO;
	waitpid(pid, &status, 0);
	printf("\n%-8s %-18s %-18s\n", "device", "source hash",
	       "destination hash");
	for (int i = 0; i < NDEV; i++) {
		uint64_t h = 0;

		vfmig_device_state_hash(devs[i], &h);
		equal += h == ans.hash[i];
		printf("%-8s %016llx   %016llx   %s\n",
		       vfmig_device_name(devs[i]), (unsigned long long)h,
		       (unsigned long long)ans.hash[i],
		       h == ans.hash[i] ? "equal" : "DIFFERENT");
	}
	if (ans.ret)
		err_msg("demo: destination: %s", ans.error);
	printf("\nresult       %s\n",
	       !r.ret && !ans.ret && equal == NDEV ?
		       "every device arrived bit for bit" :
		       "FAILED");
	vfmig_source_free(s);
	mig_close(devs, NDEV);
	close(fds[0]);
	return !r.ret && !ans.ret && equal == NDEV ? EXIT_OK : EXIT_FAILED;
}
