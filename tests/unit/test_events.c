// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VMM's callbacks (vfmig_stream_opts.events): its vCPUs stop with the
 * devices quiesced and none in STOP_COPY, and start with every device
 * loaded and none RUNNING; each device's events come in the state
 * machine's order, and a failing callback fails the migration with
 * nothing lost.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define NDEV 2
#define MAX_LOG 32

/* What one end's callbacks saw, in order: an event's type (or STOP /
 * START for the vCPU callbacks), its device, the devices' states then. */
enum { LOG_STOP = 100, LOG_START = 101 };

struct entry {
	int what;
	unsigned index;
	uint64_t bytes, downtime_us;
	char reason[128];
	int state[NDEV];
};

struct side_log {
	struct vfmig_device **devs;
	struct entry e[MAX_LOG];
	unsigned n;
	int p2p; /* the vCPU callback's argument */
	int fail; /* what the vCPU callback returns */
};

static struct entry *log_add(struct side_log *l, int what, unsigned index)
{
	struct entry *e = &l->e[l->n < MAX_LOG ? l->n++ : MAX_LOG - 1];

	memset(e, 0, sizeof(*e));
	e->what = what;
	e->index = index;
	for (unsigned i = 0; i < NDEV; i++)
		e->state[i] = vfmig_device_get_state(l->devs[i]);
	return e;
}

static int vcpus_stop(void *arg, int p2p)
{
	struct side_log *l = arg;

	log_add(l, LOG_STOP, 0);
	l->p2p = p2p;
	return l->fail;
}

static int vcpus_start(void *arg, int p2p)
{
	struct side_log *l = arg;

	log_add(l, LOG_START, 0);
	l->p2p = p2p;
	return l->fail;
}

static void device_event(void *arg, const struct vfmig_device_event *ev)
{
	struct entry *e = log_add(arg, ev->type, ev->index);

	cr_expect_eq(ev->size, sizeof(*ev));
	cr_expect_eq(ev->dev, ((struct side_log *)arg)->devs[ev->index],
		     "the event's device is the caller's device %u", ev->index);
	e->bytes = ev->bytes;
	e->downtime_us = ev->downtime_us;
	if (ev->reason)
		snprintf(e->reason, sizeof(e->reason), "%s", ev->reason);
}

/* The position of the first entry of @what (for @index, or any: -1). */
static int first(const struct side_log *l, int what, int index)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->e[i].what == what &&
		    (index < 0 || l->e[i].index == (unsigned)index))
			return (int)i;
	return -1;
}

static int count(const struct side_log *l, int what)
{
	int n = 0;

	for (unsigned i = 0; i < l->n; i++)
		n += l->e[i].what == what;
	return n;
}

struct pair {
	struct vfmig_device *src[NDEV], *dst[NDEV];
	struct side_log slog, dlog;
	struct vfmig_events sev, dev;
	struct vfmig_sink *k;
	int sret, kret;
	char serr[512], kerr[512];
};

static void *sink_main(void *arg)
{
	struct pair *p = arg;

	p->kret = vfmig_sink_run(p->k);
	snprintf(p->kerr, sizeof(p->kerr), "%s", vfmig_sink_strerror(p->k));
	return NULL;
}

/* Two pre-copying devices into two, with both ends' callbacks. */
static void migrate(struct pair *p)
{
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = "tcp:127.0.0.1:0",
					.workers = 1,
					.timeout_ms = 10000,
					.events = &p->dev };
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.workers = 1,
					.channels = 2,
					.timeout_ms = 10000,
					.events = &p->sev };
	struct vfmig_source *s;
	pthread_t th;
	char uri[64];

	p->src[0] = open_ok("sim:size=8M,pattern=fb,seed=41,name=a,dirty=4M/s");
	p->src[1] = open_ok("sim:size=4M,pattern=random,seed=42,name=b");
	p->dst[0] = open_ok("sim:size=8M,name=a");
	p->dst[1] = open_ok("sim:size=4M,name=b");
	p->slog.devs = p->src;
	p->dlog.devs = p->dst;
	p->sev = (struct vfmig_events){ .size = sizeof(p->sev),
					.arg = &p->slog,
					.vcpus_stop = vcpus_stop,
					.device = device_event };
	p->dev = (struct vfmig_events){ .size = sizeof(p->dev),
					.arg = &p->dlog,
					.vcpus_start = vcpus_start,
					.device = device_event };
	cr_assert_eq(vfmig_sink_new(p->dst, NDEV, &ko, &p->k), 0);
	cr_assert_eq(vfmig_sink_listen(p->k), 0);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", vfmig_sink_port(p->k));
	so.uri = uri;
	cr_assert_eq(pthread_create(&th, NULL, sink_main, p), 0);
	cr_assert_eq(vfmig_source_new(p->src, NDEV, &so, &s), 0);
	p->sret = vfmig_source_run(s);
	snprintf(p->serr, sizeof(p->serr), "%s", vfmig_source_strerror(s));
	pthread_join(th, NULL);
	vfmig_source_free(s);
	vfmig_sink_free(p->k);
}

static void close_pair(struct pair *p)
{
	for (unsigned i = 0; i < NDEV; i++) {
		vfmig_device_close(p->src[i]);
		vfmig_device_close(p->dst[i]);
	}
}

Test(events, vcpus_and_devices_in_the_state_machines_order, .timeout = 60)
{
	static struct pair p;
	const struct side_log *s = &p.slog, *d = &p.dlog;
	int stop, start;

	memset(&p, 0, sizeof(p));
	migrate(&p);
	cr_assert_eq(p.sret, 0, "source: %s", p.serr);
	cr_assert_eq(p.kret, 0, "sink: %s", p.kerr);

	/* source: both quiesced, neither stopped, when the vCPUs stop */
	stop = first(s, LOG_STOP, -1);
	cr_assert_geq(stop, 0, "vcpus_stop was not called");
	cr_expect_eq(count(s, LOG_STOP), 1);
	cr_expect_eq(p.slog.p2p, 1, "sim devices support P2P");
	for (unsigned i = 0; i < NDEV; i++) {
		int st = s->e[stop].state[i];

		cr_expect(st == VFMIG_STATE_PRE_COPY_P2P ||
				  st == VFMIG_STATE_RUNNING_P2P,
			  "device %u in %s at vcpus_stop", i,
			  vfmig_state_name(st));
		cr_expect_lt(first(s, VFMIG_EVENT_INITIAL_ACKED, (int)i), stop,
			     "device %u's initial data acked before the stop",
			     i);
		cr_expect_gt(first(s, VFMIG_EVENT_STOPCOPY_DONE, (int)i), stop,
			     "device %u's stop-copy ended after the stop", i);
		cr_expect_gt(first(s, VFMIG_EVENT_LOADED, (int)i),
			     first(s, VFMIG_EVENT_STOPCOPY_DONE, (int)i),
			     "device %u loaded after its stop-copy", i);
		cr_expect_gt(
			s->e[first(s, VFMIG_EVENT_LOADED, (int)i)].downtime_us,
			0);
	}
	cr_expect_eq(count(s, VFMIG_EVENT_FAILED), 0);

	/* sink: both loaded and neither running when the vCPUs start */
	start = first(d, LOG_START, -1);
	cr_assert_geq(start, 0, "vcpus_start was not called");
	cr_expect_eq(count(d, LOG_START), 1);
	cr_expect_eq(p.dlog.p2p, 1);
	for (unsigned i = 0; i < NDEV; i++) {
		int loaded = first(d, VFMIG_EVENT_LOADED, (int)i);

		cr_expect_eq(d->e[start].state[i], VFMIG_STATE_RUNNING_P2P,
			     "device %u in %s at vcpus_start", i,
			     vfmig_state_name(d->e[start].state[i]));
		cr_expect(loaded >= 0 && loaded < start,
			  "device %u loaded before the start", i);
		cr_expect_eq(d->e[loaded].state[i], VFMIG_STATE_STOP,
			     "device %u waits in STOP once loaded", i);
		cr_expect_eq(d->e[loaded].bytes,
			     s->e[first(s, VFMIG_EVENT_LOADED, (int)i)].bytes,
			     "device %u: the bytes loaded are the bytes sent",
			     i);
		cr_expect_eq(vfmig_device_get_state(p.dst[i]),
			     VFMIG_STATE_RUNNING, "device %u runs after", i);
		cr_expect_eq(hash_of(p.dst[i]), hash_of(p.src[i]));
	}
	close_pair(&p);
}

/* A VMM that cannot stop its vCPUs: nothing stops, nothing is lost. */
Test(events, a_failing_vcpus_stop_fails_the_migration, .timeout = 60)
{
	static struct pair p;

	memset(&p, 0, sizeof(p));
	p.slog.fail = -EBUSY;
	migrate(&p);
	cr_expect_eq(p.sret, -EBUSY, "source: %s", p.serr);
	cr_expect(strstr(p.serr, "vcpus_stop"), "%s", p.serr);
	cr_expect_neq(p.kret, 0, "the sink failed too: %s", p.kerr);
	cr_expect_eq(count(&p.slog, VFMIG_EVENT_STOPCOPY_DONE), 0);
	cr_expect_eq(count(&p.slog, VFMIG_EVENT_FAILED), NDEV);
	cr_expect_eq(count(&p.dlog, VFMIG_EVENT_FAILED), NDEV);
	cr_expect_eq(count(&p.dlog, LOG_START), 0);
	for (unsigned i = 0; i < NDEV; i++) {
		cr_expect_eq(vfmig_device_get_state(p.src[i]),
			     VFMIG_STATE_RUNNING);
		cr_expect_neq(vfmig_device_get_state(p.dst[i]),
			      VFMIG_STATE_RESUMING);
	}
	cr_expect(strstr(p.slog.e[first(&p.slog, VFMIG_EVENT_FAILED, 0)].reason,
			 "vcpus_stop"),
		  "the event says why");
	close_pair(&p);
}

/* A destination VMM that cannot start its vCPUs: the source, told, runs
 * on; the destination's devices keep what they loaded. */
Test(events, a_failing_vcpus_start_leaves_both_ends_whole, .timeout = 60)
{
	static struct pair p;

	memset(&p, 0, sizeof(p));
	p.dlog.fail = -EIO;
	migrate(&p);
	cr_expect_eq(p.kret, -EIO, "sink: %s", p.kerr);
	cr_expect(strstr(p.kerr, "vcpus_start"), "%s", p.kerr);
	cr_expect_neq(p.sret, 0, "the source failed too: %s", p.serr);
	cr_expect(strstr(p.serr, "vcpus_start"), "told why: %s", p.serr);
	cr_expect_eq(count(&p.dlog, VFMIG_EVENT_LOADED), NDEV);
	cr_expect_eq(count(&p.dlog, VFMIG_EVENT_FAILED), 0,
		     "loaded devices did not fail");
	cr_expect_eq(count(&p.slog, VFMIG_EVENT_FAILED), NDEV);
	for (unsigned i = 0; i < NDEV; i++) {
		cr_expect_eq(vfmig_device_get_state(p.src[i]),
			     VFMIG_STATE_RUNNING);
		cr_expect_eq(vfmig_device_get_state(p.dst[i]),
			     VFMIG_STATE_RUNNING_P2P, "left as it was");
	}
	/* device b does not dirty: running again, it still holds what the
	 * destination loaded */
	cr_expect_eq(hash_of(p.dst[1]), hash_of(p.src[1]));
	close_pair(&p);
}
