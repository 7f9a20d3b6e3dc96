// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Both ends driven from the caller's own poll loop (vfmig_*_start, _fd,
 * _step): a step never waits for the peer, the set-up included, and a
 * cancel from another thread ends either end cleanly in any phase.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define SLOW_STEP_US 5000 /* the bound for one step */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* How long the steps took: every one, to judge the slowest and the
 * median apart (a loaded machine may preempt any single call). */
struct steps {
	uint64_t us[8192];
	unsigned n;
};

static void step_took(struct steps *st, uint64_t t0)
{
	if (st->n < sizeof(st->us) / sizeof(st->us[0]))
		st->us[st->n++] = now_us() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A step that waited for the peer would take the whole timeout (seconds);
 * one that does not takes microseconds, and its median stays under the
 * 5 ms bound however loaded the machine. */
static void expect_never_blocked(struct steps *st, const char *what)
{
	cr_assert_gt(st->n, 0, "%s: no steps", what);
	qsort(st->us, st->n, sizeof(st->us[0]), cmp_u64);
	cr_expect_lt(st->us[st->n / 2], SLOW_STEP_US, "%s: median step %llu us",
		     what, (unsigned long long)st->us[st->n / 2]);
	cr_expect_lt(st->us[st->n - 1], 500000,
		     "%s: a step took %llu us: it waited for the peer", what,
		     (unsigned long long)st->us[st->n - 1]);
}

/* One step of the source @s, or else of the sink @k, timed into @st. */
static int step_timed(struct vfmig_source *s, struct vfmig_sink *k,
		      struct steps *st)
{
	uint64_t t0 = now_us();
	int ret = s ? vfmig_source_step(s) : vfmig_sink_step(k);

	step_took(st, t0);
	return ret;
}

/* Step @s (or else @k) until it ends, polling its fd. */
static int until_end(struct vfmig_source *s, struct vfmig_sink *k,
		     struct steps *st)
{
	int ret;

	do {
		struct pollfd p = { .fd = s ? vfmig_source_fd(s) :
					      vfmig_sink_fd(k),
				    .events = POLLIN };

		cr_assert_geq(poll(&p, 1, 1000), 0);
		ret = step_timed(s, k, st);
	} while (ret == 1);
	return ret;
}

/* Both ends stepped from one poll loop until each has its result. */
static void both_until_end(struct vfmig_source *s, struct vfmig_sink *k,
			   struct steps *st, int *sret, int *kret)
{
	*sret = *kret = 1;
	while (*sret == 1 || *kret == 1) {
		struct pollfd p[2] = {
			{ .fd = vfmig_source_fd(s), .events = POLLIN },
			{ .fd = vfmig_sink_fd(k), .events = POLLIN },
		};

		cr_assert_geq(poll(p, 2, 1000), 0);
		if (*sret == 1)
			*sret = step_timed(s, NULL, st);
		if (*kret == 1)
			*kret = step_timed(NULL, k, st);
	}
}

/*
 * A VMM's one thread runs both ends (as a local migration would): were
 * any step to wait for the other end, the loop would deadlock.  With
 * pre-copy, so steps move data, acks and the switchover too.
 */
Test(event_loop, both_ends_in_one_poll_loop, .timeout = 60)
{
	struct vfmig_device *a =
		open_ok("sim:size=24M,pattern=fb,seed=31,dirty=8M/s");
	struct vfmig_device *b = open_ok("sim:size=24M");
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = "tcp:127.0.0.1:0",
					.workers = 1,
					.timeout_ms = 10000 };
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.workers = 1,
					.channels = 2,
					.timeout_ms = 10000 };
	static struct steps st;
	struct vfmig_source *s;
	struct vfmig_sink *k;
	int sret, kret;
	char uri[64];

	st.n = 0;
	cr_assert_eq(vfmig_sink_new(&b, 1, &ko, &k), 0);
	cr_expect_eq(vfmig_sink_fd(k), -EINVAL, "no fd before a start");
	cr_expect_eq(vfmig_sink_step(k), -EINVAL, "no step before a start");
	cr_assert_eq(vfmig_sink_start(k), 0, "%s", vfmig_sink_strerror(k));
	cr_expect_eq(vfmig_sink_start(k), -EALREADY);
	cr_expect_eq(vfmig_sink_run(k), -EALREADY);
	/* it listened in start(): the port is known at once */
	cr_assert_gt(vfmig_sink_port(k), 0);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", vfmig_sink_port(k));
	so.uri = uri;
	cr_assert_eq(vfmig_source_new(&a, 1, &so, &s), 0);
	cr_assert_eq(vfmig_source_start(s), 0, "%s", vfmig_source_strerror(s));
	both_until_end(s, k, &st, &sret, &kret);
	cr_expect_eq(sret, 0, "source: %s", vfmig_source_strerror(s));
	cr_expect_eq(kret, 0, "sink: %s", vfmig_sink_strerror(k));
	cr_expect_eq(vfmig_sink_step(k), kret, "the result again");
	cr_expect_eq(hash_of(b), hash_of(a), "restored state differs");
	cr_expect_eq(vfmig_device_get_state(b), VFMIG_STATE_RUNNING);
	expect_never_blocked(&st, "both ends");
	vfmig_source_free(s);
	vfmig_sink_free(k);
	vfmig_device_close(a);
	vfmig_device_close(b);
}

/*
 * fd:N naming a listening socket (systemd's socket activation passes one):
 * the sink accepts its channels there, says its address, and leaves the
 * caller's own fd open.  Before 0.4 the listener was taken for a channel
 * and refused for sending no HELLO.
 */
Test(event_loop, a_listening_fd_is_listened_on, .timeout = 60)
{
	struct vfmig_device *a = open_ok("sim:size=8M,pattern=text,seed=35");
	struct vfmig_device *b = open_ok("sim:size=8M");
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_storage got;
	socklen_t len = sizeof(sa), glen = sizeof(got);
	struct vfmig_stream_opts ko = { .size = sizeof(ko), .workers = 1 };
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.workers = 1,
					.channels = 3 };
	static struct steps st;
	struct vfmig_source *s;
	struct vfmig_sink *k;
	char kuri[32], suri[64];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), sret, kret;

	st.n = 0;
	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(kuri, sizeof(kuri), "fd:%d", lfd);
	snprintf(suri, sizeof(suri), "tcp:127.0.0.1:%d", ntohs(sa.sin_port));
	ko.uri = kuri;
	so.uri = suri;
	cr_assert_eq(vfmig_sink_new(&b, 1, &ko, &k), 0);
	cr_expect_eq(vfmig_sink_address(k, (struct sockaddr *)&got, &glen),
		     -ENOTCONN, "an address before listening");
	cr_expect_eq(vfmig_sink_address(NULL, (struct sockaddr *)&got, &glen),
		     -EINVAL);
	cr_assert_eq(vfmig_sink_start(k), 0, "%s", vfmig_sink_strerror(k));
	cr_expect_eq(vfmig_sink_port(k), ntohs(sa.sin_port));
	cr_assert_eq(vfmig_sink_address(k, (struct sockaddr *)&got, &glen), 0);
	cr_expect_eq(glen, len);
	cr_expect_eq(memcmp(&got, &sa, len), 0, "not the socket's address");
	cr_assert_eq(vfmig_source_new(&a, 1, &so, &s), 0);
	cr_assert_eq(vfmig_source_start(s), 0, "%s", vfmig_source_strerror(s));
	both_until_end(s, k, &st, &sret, &kret);
	cr_expect_eq(sret, 0, "source: %s", vfmig_source_strerror(s));
	cr_expect_eq(kret, 0, "sink: %s", vfmig_sink_strerror(k));
	cr_expect_eq(vfmig_sink_channels(k), 3);
	cr_expect_eq(hash_of(b), hash_of(a), "restored state differs");
	cr_expect_eq(vfmig_sink_address(k, (struct sockaddr *)&got, &glen),
		     -ENOTCONN, "the session's own copy is closed at its end");
	cr_expect_geq(fcntl(lfd, F_GETFD), 0, "the caller's fd was closed");
	vfmig_source_free(s);
	vfmig_sink_free(k);
	close(lfd);
	vfmig_device_close(a);
	vfmig_device_close(b);
}

/* A destination that takes the connection and never answers: start()
 * returns at once, every step is short, and the run ends at the timeout
 * with the device running, as vfmig_source_run() would. */
Test(event_loop, the_source_never_waits_for_a_mute_destination, .timeout = 30)
{
	struct vfmig_device *a = open_ok("sim:size=1M,seed=32");
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.timeout_ms = 1000 };
	static struct steps st;
	struct vfmig_source *s;
	char uri[64];
	int lfd = mute_listener(uri, sizeof(uri)), ret;
	uint64_t t0;

	st.n = 0;
	so.uri = uri;
	cr_assert_eq(vfmig_source_new(&a, 1, &so, &s), 0);
	t0 = now_us();
	cr_assert_eq(vfmig_source_start(s), 0, "%s", vfmig_source_strerror(s));
	step_took(&st, t0);
	ret = until_end(s, NULL, &st);
	cr_expect_eq(ret, -ETIMEDOUT, "%d: %s", ret, vfmig_source_strerror(s));
	cr_expect_eq(vfmig_device_get_state(a), VFMIG_STATE_RUNNING);
	/* the 200 ms beat: a step at least every 200 ms of the 1 s */
	cr_expect_geq(st.n, 4, "only %u steps in a second", st.n);
	expect_never_blocked(&st, "source");
	vfmig_source_free(s);
	close(lfd);
	vfmig_device_close(a);
}

static void *cancel_source(void *arg)
{
	vfmig_source_cancel(arg);
	return NULL;
}

static void *cancel_sink(void *arg)
{
	vfmig_sink_cancel(arg);
	return NULL;
}

/* A cancel ends a wait at once: within half the 20 s timeout (a wait
 * that missed it runs the whole timeout, and would still say "cancelled"). */
#define CANCEL_TIMEOUT_MS 20000

static void expect_prompt(uint64_t t0, const char *what)
{
	uint64_t ms = (now_us() - t0) / 1000;

	cr_expect_lt(ms, CANCEL_TIMEOUT_MS / 2,
		     "%s took %llu ms: a wait ignored the cancel", what,
		     (unsigned long long)ms);
}

/* The VMM's other thread cancels while the set-up waits on the peer (its
 * ACCEPT, here). */
Test(event_loop, a_cancel_from_another_thread_ends_the_source_set_up,
     .timeout = 30)
{
	struct vfmig_device *a = open_ok("sim:size=1M,seed=33");
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.timeout_ms = CANCEL_TIMEOUT_MS };
	static struct steps st;
	struct vfmig_source *s;
	pthread_t th;
	char uri[64];
	int lfd = mute_listener(uri, sizeof(uri)), ret, cfd;
	uint64_t t0;

	st.n = 0;
	so.uri = uri;
	cr_assert_eq(vfmig_source_new(&a, 1, &so, &s), 0);
	cr_assert_eq(vfmig_source_start(s), 0, "%s", vfmig_source_strerror(s));
	cr_assert_eq(vfmig_source_step(s), 1, "still connecting");
	cfd = hello_seen(lfd);
	cr_assert_eq(vfmig_source_step(s), 1, "still waiting for the ACCEPT");
	t0 = now_us();
	cr_assert_eq(pthread_create(&th, NULL, cancel_source, s), 0);
	ret = until_end(s, NULL, &st);
	pthread_join(th, NULL);
	expect_prompt(t0, "the source's end after a cancel");
	close(cfd);
	cr_expect_eq(ret, -ECANCELED, "%d: %s", ret, vfmig_source_strerror(s));
	cr_expect_str_eq(vfmig_source_strerror(s), "cancelled");
	cr_expect_eq(vfmig_device_get_state(a), VFMIG_STATE_RUNNING);
	expect_never_blocked(&st, "source");
	vfmig_source_free(s);
	close(lfd);
	vfmig_device_close(a);
}

/* A destination nobody connects to: steps return at once, and another
 * thread's cancel ends it; the device never entered RESUMING. */
Test(event_loop, a_cancel_from_another_thread_ends_a_waiting_sink,
     .timeout = 30)
{
	struct vfmig_device *b = open_ok("sim:size=1M");
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = "tcp:127.0.0.1:0",
					.timeout_ms = CANCEL_TIMEOUT_MS };
	static struct steps st;
	struct vfmig_sink *k;
	pthread_t th;
	uint64_t t0;
	int ret;

	st.n = 0;
	cr_assert_eq(vfmig_sink_new(&b, 1, &ko, &k), 0);
	cr_assert_eq(vfmig_sink_start(k), 0, "%s", vfmig_sink_strerror(k));
	cr_assert_eq(vfmig_sink_step(k), 1, "still waiting for a source");
	t0 = now_us();
	cr_assert_eq(pthread_create(&th, NULL, cancel_sink, k), 0);
	ret = until_end(NULL, k, &st);
	pthread_join(th, NULL);
	expect_prompt(t0, "the sink's end after a cancel");
	cr_expect_eq(ret, -ECANCELED, "%d: %s", ret, vfmig_sink_strerror(k));
	cr_expect_eq(vfmig_device_get_state(b), VFMIG_STATE_RUNNING);
	expect_never_blocked(&st, "sink");
	vfmig_sink_free(k);
	vfmig_device_close(b);
}

/* Freed while its set-up thread waits: the thread is cancelled and
 * joined, nothing leaks (ASan), the device is untouched. */
Test(event_loop, a_sink_freed_while_accepting, .timeout = 30)
{
	struct vfmig_device *b = open_ok("sim:size=1M");
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = "tcp:127.0.0.1:0",
					.timeout_ms = CANCEL_TIMEOUT_MS };
	struct vfmig_sink *k;
	uint64_t t0;

	cr_assert_eq(vfmig_sink_new(&b, 1, &ko, &k), 0);
	cr_assert_eq(vfmig_sink_start(k), 0, "%s", vfmig_sink_strerror(k));
	cr_assert_eq(vfmig_sink_step(k), 1);
	t0 = now_us();
	vfmig_sink_free(k);
	expect_prompt(t0, "freeing the sink");
	cr_expect_eq(vfmig_device_get_state(b), VFMIG_STATE_RUNNING);
	vfmig_device_close(b);
}

/* The same for a source whose destination does not answer. */
Test(event_loop, a_source_freed_while_connecting, .timeout = 30)
{
	struct vfmig_device *a = open_ok("sim:size=1M,seed=34");
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.timeout_ms = CANCEL_TIMEOUT_MS };
	struct vfmig_source *s;
	char uri[64];
	int lfd = mute_listener(uri, sizeof(uri)), cfd;
	uint64_t t0;

	so.uri = uri;
	cr_assert_eq(vfmig_source_new(&a, 1, &so, &s), 0);
	cr_assert_eq(vfmig_source_start(s), 0, "%s", vfmig_source_strerror(s));
	cr_assert_eq(vfmig_source_step(s), 1);
	cfd = hello_seen(lfd);
	t0 = now_us();
	vfmig_source_free(s);
	expect_prompt(t0, "freeing the source");
	close(cfd);
	cr_expect_eq(vfmig_device_get_state(a), VFMIG_STATE_RUNNING);
	close(lfd);
	vfmig_device_close(a);
}
