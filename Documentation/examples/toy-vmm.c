// SPDX-License-Identifier: MIT
/*
 * toy-vmm: how a VMM drives libvfmig from its own event loop, at either
 * end of a migration.
 *
 *   toy-vmm -t tcp:HOST:PORT [-c CHANNELS] [-r RAM] [-b RAM_RATE]
 *           [-w RAM_DIRTY_RATE] [-l LIMIT_MS] DEVICE...     (source)
 *   toy-vmm -L tcp:HOST:PORT DEVICE...                  (destination)
 *
 * DEVICE is pci:DDDD:BB:DD.F or mdev:UUID, which the VMM opens itself
 * (container, group, device fd) and hands to the library as fd:N, or a
 * sim:... device for trying it without hardware.  The VMM "migrates its
 * RAM" (a model: RAM pending falls at RAM_RATE and grows at
 * RAM_DIRTY_RATE), tells the library every tick, prints the estimate, and
 * switches over itself once the expected downtime is within LIMIT_MS.  As
 * the destination it listens (a port of 0: it prints the one it got),
 * loads the devices from its loop, and prints their state hashes.
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

struct vmm {
	struct vfmig_device *devs[MAX_DEV];
	int vfio_fd[MAX_DEV], group[MAX_DEV];
	int container, ndev;
};

/* The VMM's devices: VFIO ones it opens itself, or simulated ones. */
static int open_devices(struct vmm *v, char **specs, int n)
{
	v->container = -1;
	for (v->ndev = 0; v->ndev < n; v->ndev++) {
		struct vfmig_device_opts dopts = { .size = sizeof(dopts) };
		const char *spec = specs[v->ndev];
		int i = v->ndev, ret;
		char fdspec[32], why[256];

		dopts.errbuf = why;
		dopts.errbuf_size = sizeof(why);
		v->vfio_fd[i] = v->group[i] = -1;
		if (!strncmp(spec, "pci:", 4) || !strncmp(spec, "mdev:", 5)) {
			ret = open_vfio(spec, &v->container, &v->group[i]);
			if (ret < 0) {
				fprintf(stderr, "toy-vmm: %s: %s\n", spec,
					strerror(-ret));
				return -1;
			}
			v->vfio_fd[i] = ret;
			snprintf(fdspec, sizeof(fdspec), "fd:%d", ret);
		}
		ret = vfmig_device_open(v->vfio_fd[i] >= 0 ? fdspec : spec,
					&dopts, &v->devs[i]);
		if (ret < 0) {
			fprintf(stderr, "toy-vmm: %s\n", why);
			return -1;
		}
		if (v->vfio_fd[i] >= 0) /* fd:N says nothing of itself */
			identify(v->devs[i], spec);
	}
	return 0;
}

static void close_devices(struct vmm *v)
{
	for (int i = 0; i < v->ndev; i++) {
		vfmig_device_close(v->devs[i]);
		if (v->vfio_fd[i] >= 0)
			close(v->vfio_fd[i]);
		if (v->group[i] >= 0)
			close(v->group[i]);
	}
	if (v->container >= 0)
		close(v->container);
}

static void print_hashes(struct vmm *v)
{
	for (int i = 0; i < v->ndev; i++) {
		uint64_t h;

		if (vfmig_device_state_hash(v->devs[i], &h) == 0)
			printf("toy-vmm: %s state-hash %016" PRIx64 "\n",
			       vfmig_device_name(v->devs[i]), h);
	}
}

/* Where the VMM takes part: a real one pauses its vCPUs between the
 * devices' quiescing and their stop, and resumes them once all are
 * loaded; this one says so. */
static int vcpus_stop(void *arg, int p2p)
{
	(void)arg;
	printf("toy-vmm: devices quiesced%s: stopping the vCPUs\n",
	       p2p ? " (P2P)" : " (no P2P: their DMA is not quiesced)");
	fflush(stdout);
	return 0;
}

static int vcpus_start(void *arg, int p2p)
{
	(void)arg;
	printf("toy-vmm: every device loaded%s: starting the vCPUs\n",
	       p2p ? " (in RUNNING_P2P)" : " (in STOP)");
	fflush(stdout);
	return 0;
}

static void device_event(void *arg, const struct vfmig_device_event *ev)
{
	const char *name = vfmig_device_name(ev->dev);

	(void)arg;
	switch (ev->type) {
	case VFMIG_EVENT_INITIAL_ACKED:
		printf("toy-vmm: %s: initial data acknowledged\n", name);
		break;
	case VFMIG_EVENT_STOPCOPY_DONE:
		printf("toy-vmm: %s: stop-copy done, %" PRIu64 " bytes\n", name,
		       ev->bytes);
		break;
	case VFMIG_EVENT_LOADED:
		if (ev->downtime_us) /* the source hears it */
			printf("toy-vmm: %s: loaded there, its downtime %.1f ms\n",
			       name, ev->downtime_us / 1000.0);
		else /* here the VMM would restore its own config of it */
			printf("toy-vmm: %s: loaded, %" PRIu64 " bytes\n", name,
			       ev->bytes);
		break;
	case VFMIG_EVENT_FAILED:
		printf("toy-vmm: %s: failed: %s\n", name, ev->reason);
		break;
	}
	fflush(stdout);
}

static const struct vfmig_events events = {
	.size = sizeof(events),
	.vcpus_stop = vcpus_stop,
	.vcpus_start = vcpus_start,
	.device = device_event,
};

static int tick_timer(void)
{
	struct itimerspec it = { .it_interval.tv_nsec = TICK_MS * 1000000,
				 .it_value.tv_nsec = TICK_MS * 1000000 };
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (tfd >= 0)
		timerfd_settime(tfd, 0, &it, NULL);
	return tfd;
}

/* What the source side models of its own RAM migration. */
struct ram {
	uint64_t pending, rate, dirty, limit_ms;
	int ticks, asked;
};

/* A tick of the VMM's timer: its RAM moved on; tell the estimator, and
 * switch over once the expected downtime is within the limit. */
static void source_tick(struct vfmig_source *src, struct ram *r)
{
	struct vfmig_estimate e = { .size = sizeof(e) };
	uint64_t sent = r->rate * TICK_MS / 1000;
	uint64_t dirtied = r->dirty * TICK_MS / 1000;

	r->pending = (r->pending > sent ? r->pending - sent : 0) + dirtied;
	vfmig_source_set_ram(src, r->pending, r->dirty);
	r->ticks++;
	if (vfmig_source_estimate(src, &e) == 0) {
		printf("toy-vmm: %4.1f s  ram %" PRIu64
		       " MiB  expected downtime %" PRIu64
		       " ms  remaining %" PRIu64 " MiB  %s\n",
		       r->ticks * TICK_MS / 1000.0, r->pending >> 20,
		       e.expected_downtime_ms, e.remaining >> 20,
		       vfmig_verdict_name(e.verdict));
		if (!r->asked && e.expected_downtime_ms <= r->limit_ms) {
			printf("toy-vmm: expected %" PRIu64 " ms <= %" PRIu64
			       " ms: switching over\n",
			       e.expected_downtime_ms, r->limit_ms);
			vfmig_source_switchover(src);
			r->asked = 1;
		}
	}
	fflush(stdout);
}

static int run_source(struct vmm *v, struct vfmig_stream_opts *o, struct ram *r)
{
	struct vfmig_source *src = NULL;
	int ret, tfd;

	/* The VMM decides the switchover; the library tells it when ready. */
	o->switchover = VFMIG_SWITCHOVER_MANUAL;
	o->ram_pending = r->pending;
	o->ram_dirty_rate = r->dirty;
	o->events = &events;
	ret = vfmig_source_new(v->devs, (unsigned)v->ndev, o, &src);
	/* returns at once: the connection is made while we loop */
	if (ret == 0)
		ret = vfmig_source_start(src);
	if (ret < 0) {
		fprintf(stderr, "toy-vmm: %s\n",
			src ? vfmig_source_strerror(src) : strerror(-ret));
		vfmig_source_free(src);
		return 1;
	}
	tfd = tick_timer();
	/* The VMM's own loop: its timer and the library's fd. */
	for (ret = 1; ret == 1;) {
		struct pollfd p[2] = {
			{ .fd = vfmig_source_fd(src), .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
		};
		uint64_t expirations;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN &&
		    read(tfd, &expirations, sizeof(expirations)) > 0)
			source_tick(src, r);
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
		       v->ndev, v->ndev == 1 ? "" : "s",
		       vfmig_source_downtime_ms(src));
		print_hashes(v);
	}
	vfmig_source_free(src);
	close(tfd);
	return ret < 0 ? 1 : 0;
}

/* The destination: the same loop, with the sink's fd in it. */
static int run_sink(struct vmm *v, struct vfmig_stream_opts *o)
{
	struct vfmig_sink *k = NULL;
	int ret, tfd, ticks = 0;

	o->events = &events;
	ret = vfmig_sink_new(v->devs, (unsigned)v->ndev, o, &k);
	/* listens and returns at once: the source is accepted meanwhile */
	if (ret == 0)
		ret = vfmig_sink_start(k);
	if (ret < 0) {
		fprintf(stderr, "toy-vmm: %s\n",
			k ? vfmig_sink_strerror(k) : strerror(-ret));
		vfmig_sink_free(k);
		return 1;
	}
	if (vfmig_sink_port(k) > 0)
		printf("toy-vmm: listening on port %d\n", vfmig_sink_port(k));
	fflush(stdout);
	tfd = tick_timer();
	for (ret = 1; ret == 1;) {
		struct pollfd p[2] = {
			{ .fd = vfmig_sink_fd(k), .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
		};
		struct vfmig_transfer t = { .size = sizeof(t) };
		uint64_t expirations;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN &&
		    read(tfd, &expirations, sizeof(expirations)) > 0 &&
		    ++ticks % 10 == 0 && vfmig_sink_transfer(k, -1, &t) == 0) {
			printf("toy-vmm: %4.1f s  received %" PRIu64 " MiB\n",
			       ticks * TICK_MS / 1000.0, t.raw_bytes >> 20);
			fflush(stdout);
		}
		ret = vfmig_sink_step(k);
	}
	if (ret < 0) {
		fprintf(stderr, "toy-vmm: receiving failed: %s\n",
			vfmig_sink_strerror(k));
	} else {
		printf("toy-vmm: loaded %d device%s\n", v->ndev,
		       v->ndev == 1 ? "" : "s");
		print_hashes(v);
	}
	vfmig_sink_free(k);
	close(tfd);
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct vfmig_stream_opts o = { .size = sizeof(o) };
	struct ram r = { .pending = 512ull << 20,
			 .rate = 256ull << 20,
			 .dirty = 16ull << 20,
			 .limit_ms = 300 };
	const char *listen = NULL;
	struct vmm v;
	int c, ret;

	while ((c = getopt(argc, argv, "t:L:c:r:b:w:l:")) != -1) {
		switch (c) {
		case 't':
			o.uri = optarg;
			break;
		case 'L':
			listen = optarg;
			break;
		case 'c':
			o.channels = (unsigned)atoi(optarg);
			break;
		case 'r':
			r.pending = arg_size(optarg, 0);
			break;
		case 'b':
			r.rate = arg_size(optarg, 1);
			break;
		case 'w':
			r.dirty = arg_size(optarg, 1);
			break;
		case 'l':
			r.limit_ms = strtoull(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (!o.uri == !listen || optind == argc || argc - optind > MAX_DEV) {
		fprintf(stderr,
			"usage: toy-vmm -t URI [-c N] [-r RAM] [-b RATE] [-w RATE] [-l MS] DEVICE...\n"
			"       toy-vmm -L URI DEVICE...\n");
		return 2;
	}
	if (open_devices(&v, argv + optind, argc - optind) < 0)
		ret = 1;
	else if (listen) {
		o.uri = listen;
		ret = run_sink(&v, &o);
	} else {
		ret = run_source(&v, &o, &r);
	}
	close_devices(&v);
	return ret;
}
