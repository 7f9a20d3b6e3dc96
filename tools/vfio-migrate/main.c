// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-migrate: move the migration state of VFIO devices. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"

const char *prog = "vfio-migrate";

const char sim_keys_help[] =
	"Simulated device: sim:KEY=VALUE,... with keys\n"
	"  size=SIZE        state size, a multiple of 4K (default 16M, at most 64G)\n"
	"  pattern=P        zero | random | fb (framebuffer-like, default) | text\n"
	"  seed=N           content seed (default 1)\n"
	"  dirty=RATE       pages dirtied while running, e.g. 32M/s (default 0)\n"
	"  precopy=on|off   offer PRE_COPY (default on)\n"
	"  p2p=on|off       offer the P2P states (default on)\n"
	"  end=enomsg|zero  how a PRE_COPY read says \"no data now\": a failed read\n"
	"                   (EAGAIN: a pipe cannot return ENOMSG) or 0 (default enomsg)\n"
	"  sizes=MODE       size reports: exact (default) | zero | huge | random | stale\n"
	"  faults=F[+F...]  fail:FROM:TO (the arc fails, EIO) | error:FROM:TO (and the\n"
	"                   device lands in ERROR) | eio:SIZE (the stream breaks after\n"
	"                   SIZE bytes; resuming, writes fail after SIZE bytes) |\n"
	"                   slow:RATE (the stream is produced at RATE)\n"
	"  check=on|off     hash pages as they stream and check the restored state\n"
	"                   at RESUMING->STOP (default on; off for benchmarks that\n"
	"                   compare state hashes afterwards)\n"
	"  name=NAME        the device's name (default sim)\n";

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int open_device(const char *spec, struct vfmig_device **out)
{
	char why[512] = "";
	struct vfmig_device_opts opts = {
		.size = sizeof(opts),
		.errbuf = why,
		.errbuf_size = sizeof(why),
	};
	int ret = vfmig_device_open(spec, &opts, out);

	if (ret == 0)
		return EXIT_OK;
	err_msg("%s", why[0] ? why : strerror(-ret));
	/* -EINVAL is a spec the user mistyped: a usage error. */
	return ret == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
}

int size_arg(const char *what, const char *text, uint64_t *out, bool rate)
{
	char err[256];
	int ret = rate ? vfmig_parse_rate(text, out, err, sizeof(err)) :
			 vfmig_parse_size(text, out, err, sizeof(err));

	if (ret < 0) {
		err_msg("%s: %s", what, err);
		return -1;
	}
	return 0;
}

int time_arg(const char *what, const char *text, uint64_t unit_ms,
	     uint64_t min_ms, uint64_t max_ms, uint64_t *out)
{
	char err[256];

	if (vfmig_parse_time(text, unit_ms, out, err, sizeof(err)) < 0) {
		err_msg("%s: %s", what, err);
		return -1;
	}
	if (*out < min_ms || *out > max_ms) {
		err_msg("%s: '%s' is outside %llu ms..%llu ms", what, text,
			(unsigned long long)min_ms, (unsigned long long)max_ms);
		return -1;
	}
	return 0;
}

int ratio_arg(const char *what, const char *text, double *out)
{
	char *end;

	*out = strtod(text, &end);
	if (end == text || *end || !(*out > 0 && *out <= 2)) {
		err_msg("%s: bad value '%s' (wire/raw, above 0, at most 2)",
			what, text);
		return -1;
	}
	return 0;
}

int print_version(void)
{
	printf("%s %s (libvfmig %s)\n", prog, VFMIG_MIGRATE_VERSION,
	       vfmig_version());
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND [OPTIONS]\n"
		"       %s -h | -V\n"
		"\n"
		"Commands:\n"
		"  send   migrate devices' state to a recv at an address\n"
		"  recv   receive a migration into devices\n"
		"  save   save devices' state to a file\n"
		"  load   load devices' state from a file\n"
		"  info   show a device's migration capabilities, state and sizes\n"
		"  list   this host's VFIO devices that support migration\n"
		"  estimate  the expected downtime of a planned migration\n"
		"  bench  measure scenarios against baselines, or a device's driver\n"
		"  demo   migrate a simulated device locally and compare state hashes\n"
		"  shim   list, inspect and configure vfio_shim test devices\n"
		"\n"
		"'%s COMMAND -h' describes a command; vfio-migrate(8) has the details.\n",
		prog, prog, prog);
}

/*
 * VFMIG_CHECK_LEAKS=1 (set by the tests): once a command is done, every fd
 * it opened is closed and no thread of ours is left (the library's own
 * cleanup, on every path, is what a long-running VMM relies on).
 */
#define LEAK_MAX_FD 4096

static void list_fds(bool *open_fds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(open_fds, 0, LEAK_MAX_FD * sizeof(bool));
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (end != e->d_name && !*end && fd != dirfd(d) && fd >= 0 &&
		    fd < LEAK_MAX_FD)
			open_fds[fd] = true;
	}
	closedir(d);
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int leak_check(const bool *before, int status)
{
	static bool after[LEAK_MAX_FD];
	int leaks = 0, threads;

	list_fds(after);
	for (int fd = 0; fd < LEAK_MAX_FD; fd++) {
		char link[64], target[256] = "?";
		ssize_t n;

		if (!after[fd] || before[fd])
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		err_msg("leak check: fd %d (%s) is still open", fd, target);
		leaks++;
	}
	/* io_uring's workers leave on their own shortly after the ring */
	for (int i = 0; (threads = count_threads()) > 1 && i < 100; i++)
		usleep(10000);
	if (threads != 1) {
		err_msg("leak check: %d threads left, expected 1", threads);
		leaks++;
	}
	return leaks ? EXIT_LEAK : status;
}

int main(int argc, char **argv)
{
	static bool fds_before[LEAK_MAX_FD];
	const char *check = getenv("VFMIG_CHECK_LEAKS");
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "send", cmd_send },	      { "recv", cmd_recv },
		{ "save", cmd_save },	      { "load", cmd_load },
		{ "info", cmd_info },	      { "list", cmd_list },
		{ "estimate", cmd_estimate }, { "demo", cmd_demo },
		{ "shim", cmd_shim },	      { "bench", cmd_bench },
	};

	/* Writes to a closed pipe or socket are errors we report. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return print_version();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int status;

		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (check && *check == '1')
			list_fds(fds_before);
		status = cmds[i].fn(argc - 1, argv + 1);
		fflush(stdout);
		return check && *check == '1' ? leak_check(fds_before, status) :
						status;
	}
	{
		const char *names[sizeof(cmds) / sizeof(cmds[0]) + 1];
		const char *near;

		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			names[i] = cmds[i].name;
		names[sizeof(cmds) / sizeof(cmds[0])] = NULL;
		near = opt_nearest(argv[1], names);
		if (near)
			err_msg("unknown command '%s'; did you mean '%s'? (see '%s -h')",
				argv[1], near, prog);
		else
			err_msg("unknown command '%s' (see '%s -h')", argv[1],
				prog);
	}
	return EXIT_USAGE;
}
