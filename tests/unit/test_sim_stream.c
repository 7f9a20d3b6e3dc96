// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sim device's data_fd: VFIO read semantics, round trips with dirtying,
 * rejected streams, garbage size reports and injected faults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "helpers.h"

#define HDR 64
#define REC 32
#define PAGE 4096

/* Stream length of a first pass over @pages pages, header included. */
static uint64_t initial_len(uint64_t pages)
{
	return HDR + pages * PAGE + (pages + 255) / 256 * REC;
}

/*
 * Read a PRE_COPY fd until @want bytes arrived: reads may say "no data
 * now" while the producer catches up (as on a non-blocking mlx5 fd).
 */
static void read_initial(int fd, struct blob *b, uint64_t want)
{
	int end;

	for (int i = 0; i < 500 && b->len < want; i++) {
		read_now(fd, b, 8 << 20, &end);
		cr_assert(end == -EAGAIN || end == 0, "PRE_COPY read: %d", end);
		if (b->len < want)
			usleep(1000);
	}
	cr_assert_eq(b->len, want);
}

static void expect_state(struct vfmig_device *dev, int state)
{
	cr_expect_eq(vfmig_device_get_state(dev), state, "%s: state %s",
		     vfmig_device_name(dev),
		     vfmig_state_name(vfmig_device_get_state(dev)));
}

Test(data_fd, precopy_end_enomsg_mode_fails_the_read)
{
	struct vfmig_device *dev = open_ok("sim:size=1M,pattern=random");
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	struct blob b = { 0 };
	uint64_t sc;
	int fd, end;

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
	/* nothing read yet: all of it is initial data */
	cr_expect_eq(pi.initial_bytes, initial_len(256));
	cr_expect_eq(pi.dirty_bytes, 0);
	/* huge reads are served short, in pieces of the pipe */
	read_initial(fd, &b, initial_len(256));
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
	cr_expect_eq(b.len, initial_len(256));
	cr_expect_eq(pi.initial_bytes, 0);
	cr_expect_eq(pi.dirty_bytes, 0);
	cr_expect_eq(vfmig_device_stopcopy_size(dev, &sc), 0);
	cr_expect_eq(sc, REC, "only the END record is left: %llu",
		     (unsigned long long)sc);
	/* still "no data now", not an end */
	cr_expect_eq(read_now(fd, &b, 4096, &end), 0);
	cr_expect_eq(end, -EAGAIN);

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd),
		     0);
	cr_expect_eq(fd, -1, "PRE_COPY->STOP_COPY keeps the session fd");
	fd = vfmig_device_data_fd(dev);
	cr_expect_eq(read_now(fd, &b, 4096, &end), REC);
	cr_expect_eq(end, 0, "STOP_COPY ends with 0");
	cr_expect_eq(read_now(fd, &b, 4096, &end), 0);
	cr_expect_eq(end, 0, "and 0 for good");
	/* PRECOPY_INFO is a PRE_COPY call */
	cr_expect_eq(vfmig_device_precopy_info(dev, &pi), -EINVAL);
	blob_free(&b);
	vfmig_device_close(dev);
}

Test(data_fd, precopy_end_zero_mode_is_not_eof)
{
	struct vfmig_device *dev =
		open_ok("sim:size=1M,pattern=fb,end=zero,dirty=64M/s");
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	struct blob b = { 0 };
	size_t more = 0;
	int fd, end;

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_expect_geq(read_now(fd, &b, 1 << 20, &end), initial_len(256));
	cr_expect_eq(end, 0, "end=zero: 0 in PRE_COPY");
	/* pages keep being dirtied: after a 0, data comes again */
	for (int i = 0; i < 100 && !more; i++) {
		usleep(20000);
		cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
		more = read_now(fd, &b, 1 << 20, &end);
	}
	cr_expect_gt(more, 0, "no dirty data after a PRE_COPY 0");
	cr_expect_eq(end, 0);
	blob_free(&b);
	vfmig_device_close(dev);
}

Test(data_fd, stop_copy_from_stop_is_the_whole_stream)
{
	struct vfmig_device *dev =
		open_ok("sim:size=2M,pattern=random,precopy=off");
	struct blob b = { 0 };
	uint64_t sc;
	int fd, end;

	cr_assert_eq(vfmig_device_stopcopy_size(dev, &sc), 0);
	cr_expect_eq(sc, initial_len(512) + REC);
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd),
		     -EINVAL, "PRE_COPY is not offered");
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd),
		     0);
	cr_assert_geq(fd, 0);
	/* blocking reads until 0, in pieces of any size */
	cr_expect_eq(read_now(fd, &b, 4097, &end), sc);
	cr_expect_eq(end, 0);
	blob_free(&b);
	vfmig_device_close(dev);
}

/* Save a device and load it into another, comparing state hashes. */
static void round_trip(const char *src_spec, const char *dst_spec,
		       size_t rchunk, size_t wchunk)
{
	struct vfmig_device *src = open_ok(src_spec), *dst = open_ok(dst_spec);
	struct blob b = { 0 };
	uint64_t before = hash_of(dst);
	int ret;

	ret = save_stream(src, &b, rchunk, 40);
	cr_assert_eq(ret, 0, "%s: %s", src_spec, vfmig_device_strerror(src));
	ret = load_stream(dst, b.data, b.len, wchunk);
	cr_assert_eq(ret, 0, "%s: %s", dst_spec, vfmig_device_strerror(dst));
	cr_expect_eq(hash_of(dst), hash_of(src), "%s: hashes differ", src_spec);
	/* destinations start from random content: the load changed it */
	cr_expect_neq(hash_of(dst), before);
	expect_state(src, VFMIG_STATE_STOP_COPY);
	expect_state(dst, VFMIG_STATE_STOP);
	cr_expect_eq(vfmig_device_set_state(dst, VFMIG_STATE_RUNNING, NULL), 0);
	blob_free(&b);
	vfmig_device_close(src);
	vfmig_device_close(dst);
}

Test(round_trip, sizes_and_patterns)
{
	static const char *const pats[] = { "zero", "random", "fb", "text" };
	static const char *const sizes[] = { "4K", "1028K", "8M" };
	char s[160], d[160];

	for (unsigned p = 0; p < 4; p++) {
		for (unsigned z = 0; z < 3; z++) {
			snprintf(s, sizeof(s), "sim:size=%s,pattern=%s,seed=%u",
				 sizes[z], pats[p], p * 10 + z + 1);
			snprintf(d, sizeof(d),
				 "sim:size=%s,pattern=random,seed=999",
				 sizes[z]);
			round_trip(s, d, 1 << 20, 1 << 20);
		}
	}
}

Test(round_trip, dirtying_during_precopy)
{
	/* dirty pages land behind the first pass and are sent again */
	round_trip("sim:size=8M,pattern=fb,dirty=256M/s,seed=3",
		   "sim:size=8M,pattern=random,seed=4", 256 << 10, 1 << 20);
	round_trip("sim:size=8M,pattern=random,dirty=64M/s,end=zero,seed=5",
		   "sim:size=8M,pattern=random,seed=6", 1 << 20, 1 << 20);
	round_trip("sim:size=4M,pattern=text,dirty=32M/s,p2p=off,seed=7",
		   "sim:size=4M,pattern=random,p2p=off", 1 << 20, 1 << 20);
}

Test(round_trip, odd_chunks_and_short_io)
{
	round_trip("sim:size=1M,pattern=random,seed=11",
		   "sim:size=1M,pattern=random", 7, 13);
	round_trip("sim:size=2M,pattern=fb,seed=12",
		   "sim:size=2M,pattern=random", 4097, 1);
	round_trip("sim:size=2M,pattern=fb,precopy=off,seed=13",
		   "sim:size=2M,pattern=random,precopy=off", 65535, 3000);
}

/* Save a small fb device; the caller damages the stream. */
static struct blob saved(void)
{
	struct vfmig_device *src =
		open_ok("sim:size=1M,pattern=random,seed=21");
	struct blob b = { 0 };

	cr_assert_eq(save_stream(src, &b, 1 << 20, 10), 0);
	vfmig_device_close(src);
	return b;
}

static void rejected(const void *data, size_t len, const char *why,
		     const char *dst_spec)
{
	struct vfmig_device *dst = open_ok(dst_spec);
	const char *msg;

	cr_expect_eq(load_stream(dst, data, len, 1 << 20), -EINVAL);
	msg = vfmig_device_strerror(dst);
	cr_expect(strstr(msg, "RESUMING->STOP failed: EINVAL"), "%s", msg);
	cr_expect(strstr(msg, why), "'%s' lacks '%s'", msg, why);
	expect_state(dst, VFMIG_STATE_ERROR);
	cr_expect_eq(vfmig_device_recover(dst), 0, "%s",
		     vfmig_device_strerror(dst));
	expect_state(dst, VFMIG_STATE_RUNNING);
	vfmig_device_close(dst);
}

Test(rejected, corrupted_or_truncated_streams)
{
	struct blob b = saved();

	/* a flipped payload bit: only the state hash can tell */
	b.data[HDR + REC + 5000] ^= 0x10;
	rejected(b.data, b.len, "restored state hash", "sim:size=1M");
	b.data[HDR + REC + 5000] ^= 0x10;
	/* a damaged header */
	b.data[20] ^= 1;
	rejected(b.data, b.len, "header is corrupt", "sim:size=1M");
	b.data[20] ^= 1;
	/* a damaged record header */
	b.data[HDR + 9] ^= 1;
	rejected(b.data, b.len, "corrupt record header at stream byte 64",
		 "sim:size=1M");
	b.data[HDR + 9] ^= 1;
	/* truncations: in the END record, in a page, in the header, empty */
	rejected(b.data, b.len - 1, "truncated", "sim:size=1M");
	rejected(b.data, b.len / 2, "truncated", "sim:size=1M");
	rejected(b.data, 10, "truncated", "sim:size=1M");
	rejected(b.data, 0, "truncated", "sim:size=1M");
	/* trailing garbage */
	blob_append(&b, "x", 1);
	rejected(b.data, b.len, "data after the END record", "sim:size=1M");
	/* another device's stream */
	rejected(b.data, b.len - 1, "stream is for a device of 1048576 bytes",
		 "sim:size=2M");
	memset(b.data, 0x55, 64);
	rejected(b.data, b.len - 1, "not a sim device stream", "sim:size=1M");
	blob_free(&b);
}

Test(rejected, a_good_stream_still_loads_after_a_bad_one)
{
	struct blob b = saved();
	struct vfmig_device *dst = open_ok("sim:size=1M");

	cr_expect_eq(load_stream(dst, b.data, b.len / 3, 4096), -EINVAL);
	cr_assert_eq(vfmig_device_recover(dst), 0);
	cr_expect_eq(load_stream(dst, b.data, b.len, 4096), 0, "%s",
		     vfmig_device_strerror(dst));
	blob_free(&b);
	vfmig_device_close(dst);
}

Test(sizes, garbage_reports)
{
	struct vfmig_device *dev;
	struct vfmig_precopy_info pi = { .size = sizeof(pi) },
				  pi2 = { .size = sizeof(pi2) };
	struct blob b = { 0 };
	uint64_t a, c;
	int fd;

	dev = open_ok("sim:size=1M,sizes=zero");
	cr_assert_eq(vfmig_device_stopcopy_size(dev, &a), 0);
	cr_expect_eq(a, 0);
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
	cr_expect(pi.initial_bytes == 0 && pi.dirty_bytes == 0);
	vfmig_device_close(dev);

	dev = open_ok("sim:size=1M,sizes=huge");
	cr_assert_eq(vfmig_device_stopcopy_size(dev, &a), 0);
	cr_expect_eq(a, UINT64_MAX);
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
	cr_expect(pi.initial_bytes == UINT64_MAX &&
		  pi.dirty_bytes == UINT64_MAX);
	vfmig_device_close(dev);

	dev = open_ok("sim:size=1M,sizes=random");
	cr_assert_eq(vfmig_device_stopcopy_size(dev, &a), 0);
	cr_assert_eq(vfmig_device_stopcopy_size(dev, &c), 0);
	cr_expect_neq(a, c, "random reports should vary");
	vfmig_device_close(dev);

	/* stale: the first answer forever, whatever was read since */
	dev = open_ok("sim:size=1M,sizes=stale");
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
	cr_expect_eq(pi.initial_bytes, initial_len(256));
	read_initial(fd, &b, initial_len(256));
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi2), 0);
	cr_expect_eq(pi2.initial_bytes, pi.initial_bytes);
	cr_expect_eq(vfmig_device_stopcopy_size(dev, &a), 0);
	cr_expect_eq(vfmig_device_stopcopy_size(dev, &c), 0);
	cr_expect_eq(a, c);
	blob_free(&b);
	vfmig_device_close(dev);
}

Test(sizes, garbage_does_not_break_a_migration)
{
	static const char *const modes[] = { "zero", "huge", "random",
					     "stale" };
	char s[96];

	for (unsigned i = 0; i < 4; i++) {
		snprintf(s, sizeof(s), "sim:size=2M,dirty=16M/s,sizes=%s",
			 modes[i]);
		round_trip(s, "sim:size=2M,pattern=random", 1 << 20, 1 << 20);
	}
}

Test(faults, failed_arc_stays_and_recovers)
{
	struct vfmig_device *dev =
		open_ok("sim:size=64K,faults=fail:running:pre-copy");
	int fd = 7;

	cr_expect_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd),
		     -EIO);
	cr_expect_eq(fd, -1);
	cr_expect(
		strstr(vfmig_device_strerror(dev),
		       "device sim: RUNNING->PRE_COPY failed: EIO (injected fault on arc RUNNING->PRE_COPY)"),
		"%s", vfmig_device_strerror(dev));
	expect_state(dev, VFMIG_STATE_RUNNING);
	cr_expect_eq(vfmig_device_recover(dev), 0);
	/* STOP_COPY still works: the fault is on one arc only */
	cr_expect_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd),
		     0);
	cr_expect_geq(fd, 0);
	vfmig_device_close(dev);
}

Test(faults, failure_midway_leaves_device_on_the_path)
{
	struct vfmig_device *dev =
		open_ok("sim:size=64K,faults=fail:stop:stop-copy");
	int fd;

	cr_expect_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd),
		     -EIO);
	expect_state(dev, VFMIG_STATE_STOP);
	cr_expect(strstr(vfmig_device_strerror(dev), "device now in STOP"),
		  "%s", vfmig_device_strerror(dev));
	cr_expect_eq(vfmig_device_recover(dev), 0);
	expect_state(dev, VFMIG_STATE_RUNNING);
	vfmig_device_close(dev);
}

Test(faults, stream_breaks_after_n_bytes)
{
	struct vfmig_device *dev =
		open_ok("sim:size=1M,pattern=random,faults=eio:100000");
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	struct blob b = { 0 };
	int fd, end;

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	for (int i = 0; i < 50 && b.len < 100000; i++) {
		read_now(fd, &b, 1 << 20, &end);
		usleep(2000);
	}
	cr_expect_eq(b.len, 100000);
	cr_expect_eq(end, 0, "the stream ends where it broke");
	expect_state(dev, VFMIG_STATE_ERROR);
	cr_expect_eq(vfmig_device_precopy_info(dev, &pi), -EIO);
	cr_expect_eq(vfmig_device_recover(dev), 0, "%s",
		     vfmig_device_strerror(dev));
	expect_state(dev, VFMIG_STATE_RUNNING);
	cr_expect_eq(vfmig_device_data_fd(dev), -1);
	blob_free(&b);

	/* save_stream notices the device failed in STOP_COPY too */
	vfmig_device_close(dev);
	dev = open_ok("sim:size=1M,precopy=off,faults=eio:300000");
	cr_expect_eq(save_stream(dev, &b, 1 << 20, 1), -EIO);
	cr_expect_eq(b.len, 300000);
	cr_expect_eq(vfmig_device_recover(dev), 0);
	blob_free(&b);
	vfmig_device_close(dev);
}

Test(faults, slow_reads)
{
	struct vfmig_device *dev =
		open_ok("sim:size=4M,precopy=off,faults=slow:40M/s");
	struct blob b = { 0 };
	double t0 = now_s();

	cr_assert_eq(save_stream(dev, &b, 1 << 20, 1), 0);
	/* 4 MiB at 40 MiB/s takes at least ~100 ms: a lower bound only */
	cr_expect_geq(now_s() - t0, 0.08, "took %.3f s", now_s() - t0);
	blob_free(&b);
	vfmig_device_close(dev);
}

/* A destination that loads slowly: it takes the stream at RATE, and all
 * of it. */
Test(faults, slow_loads)
{
	struct vfmig_device *src = open_ok("sim:size=4M,pattern=fb,seed=4");
	struct vfmig_device *dst = open_ok("sim:size=4M,faults=slow:40M/s");
	struct blob b = { 0 };
	double t0;

	cr_assert_eq(save_stream(src, &b, 1 << 20, 10), 0);
	t0 = now_s();
	cr_assert_eq(load_stream(dst, b.data, b.len, 1 << 20), 0, "%s",
		     vfmig_device_strerror(dst));
	/* 4 MiB at 40 MiB/s: at least ~100 ms; a lower bound only */
	cr_expect_geq(now_s() - t0, 0.08, "took %.3f s", now_s() - t0);
	cr_expect_eq(hash_of(dst), hash_of(src));
	blob_free(&b);
	vfmig_device_close(src);
	vfmig_device_close(dst);
}

Test(faults, close_mid_session_is_clean)
{
	/* Closing with a producer blocked on a full pipe, or a consumer
	 * waiting for data, must neither hang nor leak. */
	struct vfmig_device *a = open_ok("sim:size=8M,pattern=random");
	struct vfmig_device *b = open_ok("sim:size=8M");
	int fa, fb;

	cr_assert_eq(vfmig_device_set_state(a, VFMIG_STATE_PRE_COPY, &fa), 0);
	cr_assert_eq(vfmig_device_set_state(b, VFMIG_STATE_RESUMING, &fb), 0);
	cr_expect_eq(write(fb, "abc", 3), 3);
	usleep(20000);
	vfmig_device_close(a);
	vfmig_device_close(b);
	cr_expect_eq(fcntl(fa, F_GETFD), -1);
}

Test(faults, reset_ends_the_session)
{
	struct vfmig_device *dev = open_ok("sim:size=8M,pattern=random");
	int fd;

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd),
		     0);
	cr_expect_eq(vfmig_device_reset(dev), 0);
	expect_state(dev, VFMIG_STATE_RUNNING);
	cr_expect_eq(vfmig_device_data_fd(dev), -1);
	cr_expect_eq(fcntl(fd, F_GETFD), -1);
	vfmig_device_close(dev);
}

Test(rejected, unchecked_streams)
{
	struct vfmig_device *src =
		open_ok("sim:size=1M,pattern=random,check=off,seed=31");
	struct vfmig_device *dst;
	struct blob b = { 0 };

	cr_assert_eq(save_stream(src, &b, 1 << 20, 10), 0);
	/* check=off on both ends: loads, and the state is still identical */
	dst = open_ok("sim:size=1M,check=off");
	cr_expect_eq(load_stream(dst, b.data, b.len, 1 << 20), 0, "%s",
		     vfmig_device_strerror(dst));
	cr_expect_eq(hash_of(dst), hash_of(src));
	vfmig_device_close(dst);
	/* a checking destination refuses a stream that cannot be checked */
	rejected(b.data, b.len,
		 "carries no state hash (the source has check=off)",
		 "sim:size=1M");
	blob_free(&b);
	vfmig_device_close(src);
}

/*
 * The last bytes written before RESUMING->STOP are loaded, however the
 * write and the driver's reader interleave: write all but the END record,
 * wait until the reader has drained the pipe and a few microseconds more
 * (it is then near a read finding nothing), write the END record and stop
 * at once.  The reader once took "stopping" after an empty read for the end
 * of the stream, and lost what came in between.
 */
Test(round_trip, last_write_races_the_stop)
{
	struct vfmig_device *src = open_ok("sim:size=16K,pattern=random");
	struct blob b = { 0 };

	cr_assert_eq(save_stream(src, &b, 1 << 20, 10), 0);
	vfmig_device_close(src);
	for (int i = 0; i < 6000; i++) {
		struct vfmig_device *dst = open_ok("sim:size=16K");
		int fd, n;

		cr_assert_eq(vfmig_device_set_state(dst, VFMIG_STATE_RESUMING,
						    &fd),
			     0);
		cr_assert_eq(write(fd, b.data, b.len - REC),
			     (ssize_t)(b.len - REC));
		do {
			cr_assert_eq(ioctl(fd, FIONREAD, &n), 0);
		} while (n > 0);
		/* then a few microseconds more, a different number each round,
		 * to land between the reader's empty read and its next step */
		for (double t0 = now_s(); now_s() - t0 < (i % 40) * 0.5e-6;)
			;
		cr_assert_eq(write(fd, b.data + b.len - REC, REC), REC);
		cr_assert_eq(vfmig_device_set_state(dst, VFMIG_STATE_STOP,
						    NULL),
			     0, "round %d: %s", i, vfmig_device_strerror(dst));
		vfmig_device_close(dst);
	}
	blob_free(&b);
}
