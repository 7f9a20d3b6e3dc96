// SPDX-License-Identifier: MIT
/*
 * toy-vmm: how a VMM drives libvfmig from its own event loop.
 *
 *   toy-vmm -t tcp:HOST:PORT [-c CHANNELS] [-r RAM] [-b RAM_RATE]
 *           [-w RAM_DIRTY_RATE] [-l LIMIT_MS] DEVICE...
 *
 * DEVICE is pci:DDDD:BB:DD.F or mdev:UUID, which the VMM opens itself
 * (container, group, device fd) and hands to the library as fd:N, or a
 * sim:... device for trying it without hardware.  The VMM "migrates its
 * RAM" (a model: RAM pending falls at RAM_RATE and grows at
 * RAM_DIRTY_RATE), tells the library every tick, prints the estimate, and
 * switches over itself once the expected downtime is within LIMIT_MS.
 * Build: cc toy-vmm.c $(pkg-config --cflags --libs libvfmig)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <vfmig.h>

#define MAX_DEV 16
#define TICK_MS 100

/* The VMM owns its devices: container, group, device fd. */
static int open_vfio(const char *spec, int *container, int *group)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	const char *name = strchr(spec, ':') + 1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s/iommu_group",
		 strncmp(spec, "pci:", 4) ? "mdev" : "pci", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	*group = open(path, O_RDWR | O_CLOEXEC);
	if (*group < 0)
		return -errno;
	if (*container < 0) {
		*container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (*container < 0)
			return -errno;
	}
	if (ioctl(*group, VFIO_GROUP_GET_STATUS, &st) ||
	    ioctl(*group, VFIO_GROUP_SET_CONTAINER, container))
		return -errno;
	/* the first group sets the IOMMU model; later ones share it */
	if (ioctl(*container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) &&
	    errno != EBUSY)
		return -errno;
	fd = ioctl(*group, VFIO_GROUP_GET_DEVICE_FD, name);
	return fd < 0 ? -errno : fd;
}

/*
 * What the destination will compare: the mdev's type or the PCI function's
 * driver, as libvfmig reads it when it opens a device itself.
 */
static void identify(struct vfmig_device *dev, const char *spec)
{
	const char *name = strchr(spec, ':') + 1;
	int mdev = !strncmp(spec, "mdev:", 5);
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s/%s",
		 mdev ? "mdev" : "pci", name, mdev ? "mdev_type" : "driver");
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		vfmig_device_set_identity(dev, strrchr(link, '/') + 1);
	}
	vfmig_device_set_name(dev, name);
}

static uint64_t arg_size(const char *text, int rate)
{
	char why[128];
	uint64_t v;

	if ((rate ? vfmig_parse_rate(text, &v, why, sizeof(why)) :
		    vfmig_parse_size(text, &v, why, sizeof(why))) < 0) {
		fprintf(stderr, "toy-vmm: %s\n", why);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct vfmig_stream_opts o = { .size = sizeof(o) };
	struct vfmig_device *devs[MAX_DEV];
	int vfio_fd[MAX_DEV], group[MAX_DEV];
	uint64_t ram = 512ull << 20, ram_rate = 256ull << 20;
	uint64_t ram_dirty = 16ull << 20, limit_ms = 300;
	struct itimerspec it = { .it_interval.tv_nsec = TICK_MS * 1000000,
				 .it_value.tv_nsec = TICK_MS * 1000000 };
	int container = -1, ndev = 0, c, ret, tfd, ticks = 0;
	struct vfmig_source *src = NULL;
	int asked = 0;

	while ((c = getopt(argc, argv, "t:c:r:b:w:l:")) != -1) {
		switch (c) {
		case 't':
			o.uri = optarg;
			break;
		case 'c':
			o.channels = (unsigned)atoi(optarg);
			break;
		case 'r':
			ram = arg_size(optarg, 0);
			break;
		case 'b':
			ram_rate = arg_size(optarg, 1);
			break;
		case 'w':
			ram_dirty = arg_size(optarg, 1);
			break;
		case 'l':
			limit_ms = strtoull(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (!o.uri || optind == argc || argc - optind > MAX_DEV) {
		fprintf(stderr,
			"usage: toy-vmm -t URI [-c N] [-r RAM] [-b RATE] [-w RATE] [-l MS] DEVICE...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++, ndev++) {
		struct vfmig_device_opts dopts = { .size = sizeof(dopts) };
		char spec[32], why[256];

		dopts.errbuf = why;
		dopts.errbuf_size = sizeof(why);
		vfio_fd[ndev] = group[ndev] = -1;
		if (!strncmp(argv[i], "pci:", 4) ||
		    !strncmp(argv[i], "mdev:", 5)) {
			ret = open_vfio(argv[i], &container, &group[ndev]);
			if (ret < 0) {
				fprintf(stderr, "toy-vmm: %s: %s\n", argv[i],
					strerror(-ret));
				return 1;
			}
			vfio_fd[ndev] = ret;
			snprintf(spec, sizeof(spec), "fd:%d", ret);
		}
		ret = vfmig_device_open(vfio_fd[ndev] >= 0 ? spec : argv[i],
					&dopts, &devs[ndev]);
		if (ret < 0) {
			fprintf(stderr, "toy-vmm: %s\n", why);
			return 1;
		}
		if (vfio_fd[ndev] >= 0) /* fd:N says nothing of itself */
			identify(devs[ndev], argv[i]);
	}

	/* The VMM decides the switchover; the library tells it when ready. */
	o.switchover = VFMIG_SWITCHOVER_MANUAL;
	o.ram_pending = ram;
	o.ram_dirty_rate = ram_dirty;
	ret = vfmig_source_new(devs, (unsigned)ndev, &o, &src);
	if (ret == 0)
		ret = vfmig_source_start(src);
	if (ret < 0) {
		fprintf(stderr, "toy-vmm: %s\n",
			src ? vfmig_source_strerror(src) : strerror(-ret));
		return 1;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	timerfd_settime(tfd, 0, &it, NULL);

	/* The VMM's own loop: its timer and the library's fd. */
	for (ret = 1; ret == 1;) {
		struct pollfd p[2] = {
			{ .fd = vfmig_source_fd(src), .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
		};
		struct vfmig_estimate e = { .size = sizeof(e) };
		uint64_t expirations;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN &&
		    read(tfd, &expirations, sizeof(expirations)) > 0) {
			/* our RAM migration moved on: tell the estimator */
			uint64_t sent = ram_rate * TICK_MS / 1000;
			uint64_t dirtied = ram_dirty * TICK_MS / 1000;

			ram = (ram > sent ? ram - sent : 0) + dirtied;
			vfmig_source_set_ram(src, ram, ram_dirty);
			ticks++;
			if (vfmig_source_estimate(src, &e) == 0) {
				printf("toy-vmm: %4.1f s  ram %" PRIu64
				       " MiB  expected downtime %" PRIu64
				       " ms  remaining %" PRIu64 " MiB  %s\n",
				       ticks * TICK_MS / 1000.0, ram >> 20,
				       e.expected_downtime_ms,
				       e.remaining >> 20,
				       vfmig_verdict_name(e.verdict));
				if (!asked &&
				    e.expected_downtime_ms <= limit_ms) {
					printf("toy-vmm: expected %" PRIu64
					       " ms <= %" PRIu64
					       " ms: switching over\n",
					       e.expected_downtime_ms,
					       limit_ms);
					vfmig_source_switchover(src);
					asked = 1;
				}
			}
			fflush(stdout);
		}
		ret = vfmig_source_step(src);
	}
	if (ret < 0) {
		fprintf(stderr, "toy-vmm: migration failed: %s\n",
			vfmig_source_strerror(src));
	} else {
		/* the library's downtime is the devices'; a real VMM adds
		 * the time its last RAM pass took */
		printf("toy-vmm: migrated %d device%s, device downtime %" PRIu64
		       " ms\n",
		       ndev, ndev == 1 ? "" : "s",
		       vfmig_source_downtime_ms(src));
		for (int i = 0; i < ndev; i++) {
			uint64_t h;

			if (vfmig_device_state_hash(devs[i], &h) == 0)
				printf("toy-vmm: %s state-hash %016" PRIx64
				       "\n",
				       vfmig_device_name(devs[i]), h);
		}
	}
	vfmig_source_free(src);
	for (int i = 0; i < ndev; i++) {
		vfmig_device_close(devs[i]);
		if (vfio_fd[i] >= 0)
			close(vfio_fd[i]);
		if (group[i] >= 0)
			close(group[i]);
	}
	if (container >= 0)
		close(container);
	close(tfd);
	return ret < 0 ? 1 : 0;
}
