// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pipeline under ThreadSanitizer (make tsan; Criterion's runner cannot
 * start under TSan): source and sink in one process, each with its
 * io_uring loop, codec workers and io-wq workers, over several shapes of
 * migration, repeated.  Any race report ends it (halt_on_error); a
 * restored state that differs fails it.
 */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vfmig.h"

#define NDEV 3

static void *sink_main(void *arg)
{
	return (void *)(intptr_t)vfmig_sink_run(arg);
}

/* The sink from its own poll loop: its set-up thread, then steps. */
static void *sink_stepped(void *arg)
{
	int ret = vfmig_sink_start(arg);

	if (ret)
		return (void *)(intptr_t)ret;
	while ((ret = vfmig_sink_step(arg)) == 1) {
		struct pollfd p = { .fd = vfmig_sink_fd(arg),
				    .events = POLLIN };

		poll(&p, 1, 100);
	}
	return (void *)(intptr_t)ret;
}

/* A VMM's other thread: its RAM model every ms, then the switchover, all
 * while the source's own thread runs it (the calls libvfmig(3) allows
 * from any thread). */
struct vmm {
	struct vfmig_source *s;
	int done;
};

static void *vmm_main(void *arg)
{
	struct vmm *v = arg;
	struct timespec ms = { .tv_nsec = 1000000 };

	for (int i = 0; !__atomic_load_n(&v->done, __ATOMIC_RELAXED); i++) {
		vfmig_source_set_ram(v->s, (uint64_t)(200 - i % 200) << 20,
				     16u << 20);
		if (i == 100)
			vfmig_source_switchover(v->s);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

enum drive {
	RUN, /* vfmig_*_run() */
	STEPPED, /* the source from a poll loop, switched over by it */
	CROSS, /* set_ram and switchover from another thread; the sink
		* stepped */
};

/* One migration of NDEV devices, driven as @drive says. */
static int migrate(const char *uri, unsigned channels, int precopy,
		   enum drive drive, const char *pattern)
{
	struct vfmig_device *src[NDEV], *dst[NDEV];
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = uri,
					.workers = 2,
					.memory = 8 << 20,
					.timeout_ms = 20000 };
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.channels = channels,
					.workers = 2,
					.memory = 8 << 20,
					.timeout_ms = 20000,
					.precopy = precopy };
	struct vfmig_source *s;
	struct vfmig_sink *k;
	char spec[128], real[64];
	pthread_t th;
	void *kret;
	int ret;

	for (int i = 0; i < NDEV; i++) {
		snprintf(spec, sizeof(spec),
			 "sim:size=4M,pattern=%s,dirty=16M/s,seed=%d,name=d%d",
			 pattern, i + 1, i);
		if (vfmig_device_open(spec, NULL, &src[i]))
			return -1;
		snprintf(spec, sizeof(spec), "sim:size=4M,name=d%d", i);
		if (vfmig_device_open(spec, NULL, &dst[i]))
			return -1;
	}
	if (vfmig_sink_new(dst, NDEV, &ko, &k) || vfmig_sink_listen(k))
		return -1;
	snprintf(real, sizeof(real), "tcp:127.0.0.1:%d", vfmig_sink_port(k));
	so.uri = real;
	so.switchover = drive != RUN ? VFMIG_SWITCHOVER_MANUAL :
				       VFMIG_SWITCHOVER_AUTO;
	pthread_create(&th, NULL, drive == CROSS ? sink_stepped : sink_main, k);
	if (vfmig_source_new(src, NDEV, &so, &s))
		return -1;
	if (drive == RUN) {
		ret = vfmig_source_run(s);
	} else if (drive == CROSS) {
		struct vmm v = { .s = s };
		pthread_t vt;

		pthread_create(&vt, NULL, vmm_main, &v);
		ret = vfmig_source_run(s);
		__atomic_store_n(&v.done, 1, __ATOMIC_RELAXED);
		pthread_join(vt, NULL);
	} else {
		int steps = 0;

		ret = vfmig_source_start(s);
		while (!ret && vfmig_source_step(s) == 1) {
			struct pollfd p = { .fd = vfmig_source_fd(s),
					    .events = POLLIN };

			poll(&p, 1, 100);
			if (++steps == 50)
				vfmig_source_switchover(s);
		}
		ret = ret ? ret : vfmig_source_step(s); /* the outcome */
	}
	pthread_join(th, &kret);
	if (ret || kret) {
		fprintf(stderr, "pipeline-race: %s / %s\n",
			vfmig_source_strerror(s), vfmig_sink_strerror(k));
		ret = -1;
	}
	for (int i = 0; !ret && i < NDEV; i++) {
		uint64_t a, b;

		vfmig_device_state_hash(src[i], &a);
		vfmig_device_state_hash(dst[i], &b);
		if (a != b) {
			fprintf(stderr, "pipeline-race: d%d differs\n", i);
			ret = -1;
		}
	}
	vfmig_source_free(s);
	vfmig_sink_free(k);
	for (int i = 0; i < NDEV; i++) {
		vfmig_device_close(src[i]);
		vfmig_device_close(dst[i]);
	}
	return ret;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;

	for (int r = 0; r < rounds; r++) {
		if (migrate("tcp:127.0.0.1:0", 2, 0, RUN, "fb") ||
		    migrate("tcp:127.0.0.1:0", 3, -1, RUN, "random") ||
		    migrate("tcp:127.0.0.1:0", 2, 0, STEPPED, "text") ||
		    migrate("tcp:127.0.0.1:0", 2, 0, CROSS, "fb"))
			return 1;
	}
	printf("pipeline-race: %d rounds of 4 migrations, no race, hashes equal\n",
	       rounds);
	return 0;
}
