// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-migrate demo: migrate a simulated device on this machine.
 *
 * For now a local round trip through a file: a 256 MiB framebuffer-like
 * source dirtying pages goes RUNNING -> PRE_COPY -> STOP_COPY, its stream is
 * saved, and a second device is taken STOP -> RESUMING -> RUNNING from it.
 * The two state hashes must be equal.  (The streaming pipeline replaces
 * this with a real migration between two processes.)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "print.h"

#define BUF_SIZE (1u << 20)
#define PRECOPY_DONE_BYTES (1u << 20) /* switch over below this */
#define PRECOPY_MAX_ROUNDS 50

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Copy what the save fd has now (PRE_COPY: until "no data now", which is
 * 0, ENOMSG or EAGAIN) or all of it (STOP_COPY: until 0).
 */
static int drain(int in, int out, char *buf, bool precopy, uint64_t *moved)
{
	for (;;) {
		ssize_t n = read(in, buf, BUF_SIZE);
		int ret;

		if (n > 0) {
			ret = write_all(out, buf, (size_t)n);
			if (ret < 0)
				return ret;
			*moved += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (precopy && (errno == ENOMSG || errno == EAGAIN))
			return 0;
		if (errno == EAGAIN) { /* a non-blocking STOP_COPY fd */
			struct pollfd p = { .fd = in, .events = POLLIN };

			poll(&p, 1, 100);
			continue;
		}
		return -errno;
	}
}

static int save(struct vfmig_device *src, int file, uint64_t *bytes,
		int *rounds)
{
	struct vfmig_precopy_info pi = { 0 };
	char *buf = malloc(BUF_SIZE);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	*bytes = 0;
	ret = vfmig_device_set_state(src, VFMIG_STATE_PRE_COPY, &fd);
	for (*rounds = 0; !ret && *rounds < PRECOPY_MAX_ROUNDS; (*rounds)++) {
		ret = drain(fd, file, buf, true, bytes);
		if (!ret)
			ret = vfmig_device_precopy_info(src, &pi);
		if (ret || (pi.initial_bytes == 0 &&
			    pi.dirty_bytes < PRECOPY_DONE_BYTES))
			break;
		usleep(20000);
	}
	if (!ret)
		ret = vfmig_device_set_state(src, VFMIG_STATE_STOP_COPY, NULL);
	if (!ret)
		ret = drain(vfmig_device_data_fd(src), file, buf, false, bytes);
	/* The fd ends early if the device failed: check it is still fine. */
	if (!ret && vfmig_device_get_state(src) != VFMIG_STATE_STOP_COPY)
		ret = -EIO;
	free(buf);
	return ret;
}

static int load(struct vfmig_device *dst, int file)
{
	char *buf = malloc(BUF_SIZE);
	int fd, ret;

	if (!buf)
		return -ENOMEM;
	ret = vfmig_device_set_state(dst, VFMIG_STATE_RESUMING, &fd);
	while (!ret) {
		ssize_t n = read(file, buf, BUF_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		ret = write_all(fd, buf, (size_t)n);
	}
	free(buf);
	if (ret)
		return ret;
	/* RESUMING -> STOP is where the device checks and loads the stream. */
	return vfmig_device_set_state(dst, VFMIG_STATE_RUNNING, NULL);
}

int cmd_demo(int argc, char **argv)
{
	const char *src_spec =
		"sim:size=256M,pattern=fb,dirty=32M/s,seed=7,name=source";
	const char *dst_spec =
		"sim:size=256M,pattern=fb,seed=99,name=destination";
	struct vfmig_device *src = NULL, *dst = NULL;
	uint64_t bytes = 0, hs = 0, hd = 0;
	int file = -1, rounds = 0, ret, status = EXIT_FAILED;
	char h[32];
	double t0, t1, t2;

	if (argc > 1 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: %s demo\n\n"
		       "Migrate a 256 MiB simulated device (fb pattern, dirtying 32 MiB/s)\n"
		       "through PRE_COPY and STOP_COPY into a second simulated device, and\n"
		       "compare their state hashes.\n",
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

	printf("source       %s\ndestination  %s\n", src_spec, dst_spec);
	ret = open_device(src_spec, &src);
	if (!ret)
		ret = open_device(dst_spec, &dst);
	if (ret)
		goto out;
	file = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (file < 0) {
		err_msg("demo: cannot create a temporary file in /tmp: %s",
			strerror(errno));
		goto out;
	}

	t0 = now_s();
	ret = save(src, file, &bytes, &rounds);
	if (ret) {
		err_msg("demo: saving: %s", vfmig_device_strerror(src)[0] ?
						    vfmig_device_strerror(src) :
						    strerror(-ret));
		vfmig_device_recover(src);
		goto out;
	}
	t1 = now_s();
	vfmig_device_state_hash(src, &hs);
	printf("saved        %s in %.2f s (%d pre-copy round%s), source now %s\n",
	       human_bytes(bytes, h, sizeof(h)), t1 - t0, rounds,
	       rounds == 1 ? "" : "s",
	       vfmig_state_name(vfmig_device_get_state(src)));

	if (lseek(file, 0, SEEK_SET) < 0 || load(dst, file)) {
		err_msg("demo: loading: %s", vfmig_device_strerror(dst));
		vfmig_device_recover(dst);
		goto out;
	}
	t2 = now_s();
	vfmig_device_state_hash(dst, &hd);
	printf("loaded       in %.2f s, destination now %s\n", t2 - t1,
	       vfmig_state_name(vfmig_device_get_state(dst)));
	printf("source hash       %016llx\ndestination hash  %016llx\n",
	       (unsigned long long)hs, (unsigned long long)hd);
	if (hs == hd) {
		printf("result       hashes equal: the state arrived bit for bit\n");
		status = EXIT_OK;
	} else {
		printf("result       HASHES DIFFER\n");
	}
	/* The source stays stopped, as after a migration. */
	vfmig_device_set_state(src, VFMIG_STATE_STOP, NULL);
out:
	if (file >= 0)
		close(file);
	vfmig_device_close(src);
	vfmig_device_close(dst);
	return ret == EXIT_USAGE ? EXIT_USAGE : status;
}
