// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * shim-uapi: the driver's side of the VFIO migration uAPI, checked with raw
 * ioctls inside the VM (tests/vm/guest-test.sh runs it):
 *   shim-uapi UUID
 * The device is opened as a VMM opens it (container, group, device fd).
 * Prints "RESULT name PASS|FAIL detail" per check; exit status = failures.
 * Switches are set with `vfio-migrate shim set` (the tool is in $PATH).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "uapi/vfio_compat.h"
#include "vfmig.h"

static int fails;
static const char *uuid;
static int container = -1, group = -1;

static void result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT uapi-%s %s ", name, ok ? "PASS" : "FAIL");
	if (!ok) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		fails++;
	}
	printf("\n");
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void shim_set(const char *settings)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "vfio-migrate shim set %s %s", uuid,
		 settings);
	if (system(cmd) != 0)
		result(false, "shim-set", "%s failed", cmd);
}

/* container, group, device fd: what a VMM does before migrating */
static int open_device(void)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	ssize_t n;
	int fd;

	if (container < 0) {
		snprintf(path, sizeof(path),
			 "/sys/bus/mdev/devices/%s/iommu_group", uuid);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			return -errno;
		link[n] = 0;
		snprintf(path, sizeof(path), "/dev/vfio/%s",
			 strrchr(link, '/') + 1);
		container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		group = open(path, O_RDWR | O_CLOEXEC);
		if (container < 0 || group < 0 ||
		    ioctl(group, VFIO_GROUP_GET_STATUS, &st) ||
		    ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
		    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
			return -errno;
	}
	fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	return fd < 0 ? -errno : fd;
}

/* SET the state: the new data_fd (or -1), or -errno */
static int set_state(int dev, int state)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_state m;
	} a = { .f = { .argsz = sizeof(a),
		       .flags = VFIO_DEVICE_FEATURE_SET |
				VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE },
		.m = { .device_state = (uint32_t)state } };

	if (ioctl(dev, VFIO_DEVICE_FEATURE, &a))
		return -errno;
	return a.m.data_fd;
}

/* a transition on another thread: PRE_COPY -> STOP_COPY, two arcs */
struct slow {
	int dev, ret;
	double secs;
};

static void *slow_stop_copy(void *arg)
{
	struct slow *sl = arg;
	double t0 = now_s();

	sl->ret = set_state(sl->dev, VFMIG_STATE_STOP_COPY);
	sl->secs = now_s() - t0;
	return NULL;
}

static int get_state(int dev)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_state m;
	} a = { .f = { .argsz = sizeof(a),
		       .flags = VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE } };

	if (ioctl(dev, VFIO_DEVICE_FEATURE, &a))
		return -errno;
	return (int)a.m.device_state;
}

static int64_t data_size(int dev)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_data_size d;
	} a = { .f = { .argsz = sizeof(a),
		       .flags = VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIG_DATA_SIZE } };

	if (ioctl(dev, VFIO_DEVICE_FEATURE, &a))
		return -errno;
	return (int64_t)a.d.stop_copy_length;
}

static int precopy_info(int fd, struct vfio_precopy_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->argsz = sizeof(*pi);
	return ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, pi) ? -errno : 0;
}

/* read up to @max bytes: the count, stopping at the first error (in *err) */
static uint64_t drain(int fd, uint64_t max, int *err)
{
	static char buf[1 << 16];
	uint64_t got = 0;

	*err = 0;
	while (got < max) {
		size_t want = max - got < sizeof(buf) ? max - got : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n <= 0) {
			*err = n ? -errno : 0;
			break;
		}
		got += (uint64_t)n;
	}
	return got;
}

static int fresh(int dev)
{
	if (ioctl(dev, VFIO_DEVICE_RESET))
		return -errno;
	return get_state(dev);
}

/*
 * Every (from, to): the driver composes the arcs (6.1: our table, 6.2+: the
 * core's) as the library's model says, and returns a data_fd exactly when
 * the last arc opens a session.
 */
static void state_pairs(int dev, uint32_t flags)
{
	static const int from[] = { 1, 2, 3, 4, 5, 6, 7 };
	int bad = 0, tried = 0;
	char first[160] = "";

	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		for (int to = 0; to < VFMIG_STATE_COUNT; to++) {
			int s = from[i], cur = s, ok = 1, opens = 0, fd, got;
			const char *want;
			bool good;

			if (fresh(dev) != VFMIG_STATE_RUNNING) {
				bad++;
				continue;
			}
			fd = set_state(dev, s);
			if (fd == -EINVAL &&
			    vfmig_state_next_hop(flags, 2, s) < 0)
				continue; /* the start itself is unsupported */
			if (fd < -1 || get_state(dev) != s) {
				bad++;
				snprintf(first, sizeof(first),
					 "cannot reach %s: %d",
					 vfmig_state_name(s), fd);
				continue;
			}
			if (fd >= 0)
				close(fd);
			/* the model's path, and whether its last arc opens */
			while (ok && cur != to) {
				int next = vfmig_state_next_hop(flags, cur, to);

				if (next < 0) {
					ok = 0;
					break;
				}
				opens = (cur == 1 &&
					 (next == 3 || next == 4)) ||
					(cur == 2 && next == 6) ||
					(cur == 5 && next == 7);
				cur = next;
			}
			tried++;
			fd = set_state(dev, to);
			got = get_state(dev);
			if (s == VFMIG_STATE_RESUMING && ok && to != s) {
				/* leaving RESUMING checks the stream, here
				 * empty: EINVAL, and the device in ERROR */
				want = "EINVAL and ERROR";
				good = fd == -EINVAL &&
				       got == VFMIG_STATE_ERROR;
			} else if (ok) {
				want = opens ? "a data_fd" : "no data_fd";
				good = fd >= -1 && got == to &&
				       (fd >= 0) == opens;
			} else {
				/* refused, and nothing moved */
				want = "EINVAL, state unchanged";
				good = fd == -EINVAL && got == s;
			}
			if (!good) {
				bad++;
				if (!first[0])
					snprintf(
						first, sizeof(first),
						"%s -> %s: data_fd %d, state %s, expected %s",
						vfmig_state_name(s),
						vfmig_state_name(to), fd,
						vfmig_state_name(got), want);
			}
			if (fd >= 0)
				close(fd);
		}
	}
	result(!bad && tried > 20, "state-pairs", "%d of %d wrong; first: %s",
	       bad, tried, first);
}

/*
 * --remove: a session's fd outlives its device fd and the mdev itself
 * (removed while the fd is open): it answers ENODEV, and closing it last
 * frees the device without a kernel warning (the caller checks dmesg).
 */
static int outlive(void)
{
	struct vfio_precopy_info pi;
	char path[PATH_MAX];
	int dev = open_device(), fd, rfd, err;

	fd = dev < 0 ? dev : set_state(dev, VFMIG_STATE_PRE_COPY);
	if (fd < 0) {
		result(false, "outlive", "no session: %s", strerror(-fd));
		return 1;
	}
	close(dev);
	close(group);
	close(container);
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	rfd = open(path, O_WRONLY);
	err = rfd < 0 || write(rfd, "1", 1) != 1 ? errno : 0;
	if (rfd >= 0)
		close(rfd);
	result(!err && access(path, F_OK) != 0, "outlive-remove", "%s",
	       strerror(err));
	err = read(fd, &pi, 8) < 0 ? errno : 0;
	result(err == ENODEV, "outlive-read", "read: %s", strerror(err));
	err = precopy_info(fd, &pi);
	result(err == -ENODEV, "outlive-ioctl", "PRECOPY_INFO: %s",
	       strerror(-err));
	close(fd);
	return fails;
}

int main(int argc, char **argv)
{
	struct vfio_device_feature_migration mig;
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_migration m;
	} a = { .f = { .argsz = sizeof(a),
		       .flags = VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIGRATION } };
	struct vfio_precopy_info pi;
	int dev, fd, err;
	int64_t total, left;
	uint64_t got;
	struct pollfd pfd;

	if (argc == 3 && !strcmp(argv[1], "--remove")) {
		uuid = argv[2];
		return outlive();
	}
	if (argc != 2) {
		fprintf(stderr, "usage: shim-uapi UUID | --remove UUID\n");
		return 2;
	}
	uuid = argv[1];
	shim_set(
		"size=1M dirty-rate=0 end=enomsg read=nonblock gated=off size-report=exact precopy=on fail=none");
	dev = open_device();
	if (dev < 0) {
		result(false, "open", "%s", strerror(-dev));
		return 1;
	}
	if (ioctl(dev, VFIO_DEVICE_FEATURE, &a)) {
		result(false, "migration-flags", "%s", strerror(errno));
		return 1;
	}
	mig = a.m;
	result(mig.flags == (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			     VFIO_MIGRATION_PRE_COPY),
	       "migration-flags", "0x%llx", (unsigned long long)mig.flags);
	state_pairs(dev, (uint32_t)mig.flags);

	/* MIG_DATA_SIZE: exact, and what STOP_COPY then reads to its end */
	fresh(dev);
	total = data_size(dev);
	result(total == 32 + 16 + (1 << 20) + 16, "data-size", "%lld",
	       (long long)total);
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	result(fd >= 0 && !precopy_info(fd, &pi) &&
		       pi.initial_bytes == (uint64_t)total - 16 &&
		       !pi.dirty_bytes,
	       "precopy-info", "fd %d initial %llu dirty %llu", fd,
	       (unsigned long long)pi.initial_bytes,
	       (unsigned long long)pi.dirty_bytes);
	got = drain(fd, 100000, &err);
	left = data_size(dev);
	result(left == total - (int64_t)got, "data-size-left",
	       "%lld after reading %llu of %lld", (long long)left,
	       (unsigned long long)got, (long long)total);
	got += drain(fd, UINT64_MAX, &err);
	result(err == -ENOMSG && got == (uint64_t)total - 16, "end-enomsg",
	       "read %llu, then %s", (unsigned long long)got, strerror(-err));
	result(set_state(dev, VFMIG_STATE_STOP_COPY) == -1, "same-session",
	       "PRE_COPY -> STOP_COPY opened a new fd");
	got = drain(fd, UINT64_MAX, &err);
	result(!err && got == 16, "stop-copy-end", "%llu more, then %s",
	       (unsigned long long)got, strerror(-err));
	/* a reset cuts the session: ENODEV on its fd */
	fresh(dev);
	err = (int)read(fd, &pi, 8) < 0 ? errno : 0;
	result(err == ENODEV, "enodev-after-reset", "read: %s", strerror(err));
	err = precopy_info(fd, &pi);
	result(err == -ENODEV, "enodev-ioctl", "PRECOPY_INFO: %s",
	       strerror(-err));
	close(fd);

	/* end=zero */
	shim_set("end=zero");
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	got = drain(fd, UINT64_MAX, &err);
	result(!err && got == (uint64_t)total - 16, "end-zero",
	       "read %llu, then %s", (unsigned long long)got, strerror(-err));
	close(fd);

	/* gated: dirtied pages show only after PRECOPY_INFO */
	fresh(dev);
	shim_set("end=enomsg gated=on dirty-rate=64M/s");
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	drain(fd, UINT64_MAX, &err);
	usleep(100000);
	got = drain(fd, UINT64_MAX, &err);
	result(!got && err == -ENOMSG, "gated-nothing", "read %llu (%s)",
	       (unsigned long long)got, strerror(-err));
	precopy_info(fd, &pi);
	got = drain(fd, UINT64_MAX, &err);
	result(got > 0 && pi.dirty_bytes > 0, "gated-after-info",
	       "dirty %llu, read %llu", (unsigned long long)pi.dirty_bytes,
	       (unsigned long long)got);
	close(fd);

	/* read=block: waits, EAGAIN with O_NONBLOCK, and .poll */
	fresh(dev);
	shim_set("gated=off dirty-rate=0 read=block");
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	drain(fd, UINT64_MAX, &err);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	result(err == -EAGAIN && poll(&pfd, 1, 50) == 0, "block-eagain",
	       "%s, poll %d", strerror(-err), pfd.revents);
	shim_set("dirty-rate=16M/s");
	pfd.revents = 0;
	result(poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLIN), "block-poll",
	       "revents 0x%x", pfd.revents);
	fcntl(fd, F_SETFL, 0);
	got = drain(fd, 4096, &err);
	result(got == 4096, "block-read", "%llu (%s)", (unsigned long long)got,
	       strerror(-err));
	close(fd);

	/* garbage size reports, as configured */
	fresh(dev);
	shim_set("dirty-rate=0 read=nonblock size-report=huge");
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	precopy_info(fd, &pi);
	result(pi.initial_bytes == 1ull << 62 && data_size(dev) == 1ll << 62,
	       "size-huge", "initial %llu",
	       (unsigned long long)pi.initial_bytes);
	close(fd);

	/* a failing arc into ERROR; reset brings RUNNING back */
	fresh(dev);
	shim_set("size-report=exact fail=running-p2p-stop:error");
	err = set_state(dev, VFMIG_STATE_STOP);
	result(err == -EIO && get_state(dev) == VFMIG_STATE_ERROR, "arc-error",
	       "%d, state %s", err, vfmig_state_name(get_state(dev)));
	result(fresh(dev) == VFMIG_STATE_RUNNING, "reset-from-error", "%s",
	       vfmig_state_name(get_state(dev)));
	shim_set("fail=none");

	/* deferred reset: while a slow transition holds the device's lock
	 * (arc-delay), VFIO_DEVICE_RESET returns at once and the holder
	 * resets on unlock: the session's fd then gives ENODEV */
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	shim_set("arc-delay=400");
	{
		struct slow sl = { .dev = dev };
		pthread_t th;
		double t0, t1;

		pthread_create(&th, NULL, slow_stop_copy, &sl);
		usleep(100000);
		t0 = now_s();
		err = ioctl(dev, VFIO_DEVICE_RESET) ? errno : 0;
		t1 = now_s();
		pthread_join(th, NULL);
		err = err ? err : (read(fd, &pi, 8) < 0 ? errno : 0);
		result(t1 - t0 < 0.2 && sl.secs > 0.7 && err == ENODEV &&
			       get_state(dev) == VFMIG_STATE_RUNNING,
		       "deferred-reset",
		       "reset took %.3f s during a %.3f s transition (%d), then read: %s, state %s",
		       t1 - t0, sl.secs, sl.ret, strerror(err),
		       vfmig_state_name(get_state(dev)));
	}
	close(fd);
	shim_set("arc-delay=0");

	/* closing the device ends the session: ENODEV, and RUNNING again */
	fd = set_state(dev, VFMIG_STATE_PRE_COPY);
	close(dev);
	err = (int)read(fd, &pi, 8) < 0 ? errno : 0;
	result(err == ENODEV, "enodev-after-close", "read: %s", strerror(err));
	close(fd);
	dev = open_device();
	result(dev >= 0 && get_state(dev) == VFMIG_STATE_RUNNING,
	       "reopen-running", "%d", dev);
	close(dev);
	close(group);
	close(container);
	return fails;
}
