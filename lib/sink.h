/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The receive pipeline's state, private to its files: sink.c (the
 * pipeline and the API) and sink_rules.c (what the destination enforces).
 */
#ifndef VFMIG_LIB_SINK_H
#define VFMIG_LIB_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "cpustat.h"
#include "handshake.h"
#include "ring.h"
#include "session.h"
#include "txq.h"
#include "vfmig.h"
#include "wire.h"
#include "workers.h"

#define WINDOW 4096u /* how far ahead of the next write a frame may be */
#define RX_SAMPLE_MS 100ull /* how often a channel's received bytes are read */
/* After a channel's end, how long channel 0 may be silent before the
 * source's reason: it was sent before the close, so it is queued. */
#define REASON_WAIT_MS 500

struct rdev;

struct rslot {
	struct work work; /* first: codec job */
	struct vfmig_sink *k;
	struct rdev *d;
	struct rslot *next_free;
	unsigned char *raw, *enc;
	struct wire_hdr h;
	int owner; /* channel whose reserve this is, or -1 */
	int err;
	char why[160];
	size_t woff;
};

struct rdev {
	struct vfmig_sink *k;
	unsigned idx;
	struct vfmig_device *dev;
	int fd;
	bool async, writing, end_seen, init_seen, ack_sent, loaded;
	struct ring_op wop;
	uint64_t next, init_bytes;
	/* PROGRESS: busy is time in which a frame of the device was at the
	 * workers (decompressed, checked) or being written: the union of
	 * those intervals, so the load rate is what this end does in a
	 * second of work on it (waits for a frame still on the wire aside) */
	unsigned active; /* its frames at the workers, and its write */
	uint64_t t_active_us, busy_us, reported, received;
	uint32_t crc;
	struct rslot **win;
	/* sequence numbers taken (header read) and not yet written, by
	 * seq % WINDOW: a second frame of the same number is refused even
	 * while the first one is still being read or decoded */
	uint64_t taken[WINDOW / 64];
	uint64_t nframes, taken_bytes; /* DATA frames taken, their bytes */
	uint64_t top; /* the highest sequence number taken, plus one */
	/* pre-copy then stop-copy, in sequence order */
	uint64_t precopy_top, stopcopy_first;
	struct wire_device_end end;
	struct vfmig_transfer t;
};

enum { RC_HDR, RC_PAYLOAD, RC_PAUSED, RC_EOF };

struct rchan {
	struct vfmig_sink *k;
	struct conn *conn; /* the session's */
	int idx, st;
	bool socket;
	/* TCP's count of bytes received, and when it last moved: bytes
	 * that arrive without making a whole frame are a trickle */
	uint64_t rx_bytes, t_rx;
	struct ring_op op;
	unsigned char hbuf[WIRE_HDR_LEN];
	size_t have, want;
	unsigned char *dst;
	struct wire_hdr h;
	struct rslot *slot, *reserve;
	unsigned char ctl[WIRE_MAX_REPLY];
};

struct vfmig_sink {
	struct vfmig_stream_opts o;
	struct vfmig_device *const *devs;
	unsigned ndev, nchan;
	/* the channels and what was agreed on them */
	struct session ss;
	/* by the source's device index (the wire's); ss.map says which of
	 * ours each is (matched by id) */
	struct rdev *d;
	struct rchan c[CHAN_MAX];
	struct txq tx; /* answers, on channel 0 */
	bool reply_lost; /* sending one failed */
	struct wire_limits lim; /* what a frame may be: the agreed caps */
	struct ring ring;
	/* driven by the caller's loop: vfmig_sink_start()/step() */
	bool external, started, finished;
	int result; /* of a finished external run */
	struct handshake hs; /* its set-up, off the caller's thread */
	bool accept_ended; /* its end was seen in the ring */
	cpu_set_t cpus; /* opts.cpus, where pinned */
	bool pinned;
	struct ring_beat beat; /* the caller's poll() wakes every LOOP_MS */
	struct workers *workers;
	struct rslot *slots, *free_slots;
	unsigned nslots;
	unsigned char *mem; /* the slots' buffers (bufmem) */
	size_t mem_len;
	struct ring_op eop, aop; /* workers; strays on the listener */
	uint64_t evbuf;
	/* vfmig_sink_cancel(): an eventfd every wait watches */
	int cancel;
	struct ring_op cop;
	unsigned loaded;
	bool peer_done, failed, stop, resuming;
	bool stopcopy_seen; /* a stop-copy frame or a device's end */
	uint64_t last_activity, t_start, t_report, t_end, t_progress;
	uint64_t t_run_us, t_finish_us; /* the run, failed or not */
	/* vfmig_sink_times(): the first DATA, the devices resuming, and CPU
	 * by thread role from then until the run's end */
	uint64_t t_first_us, t_devs_us;
	struct cpustat cpu;
	struct vfmig_cpu_use use[VFMIG_CPU_ROLES];
	uint64_t t_rx_sample;
	/* failed on the end of a channel but 0, or on an answer the
	 * source's close refused: its reason may still be on its way on
	 * channel 0 (rx_await_reason()) */
	bool reason_may_follow;
	int err;
	/* how the source is told: the ERROR code, and whether it was (one
	 * ERROR a failure), or needs no telling (its own ERROR, its end) */
	enum wire_code code;
	bool told;
	char errmsg[512];
};

/* The first failure is the session's: a protocol violation, a silence, a
 * peer gone (ERROR code protocol), or with the code that says what it
 * was (rx_fail_as()). */
int rx_fail(struct vfmig_sink *k, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int rx_fail_as(struct vfmig_sink *k, enum wire_code code, int err,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The device's initial data is in: SWITCHOVER_ACK (and PROGRESS first). */
void rx_send_ack(struct rdev *d);
/* Load a device whose stream is complete. */
void rx_device_complete(struct rdev *d);
/* Channel @c reads its next frame's header. */
void rx_next_header(struct rchan *c);

/* sink_rules.c: what a DATA header may say, given the frames before it:
 * 0, or the session failed. */
int rx_data_rules(struct vfmig_sink *k, const struct wire_hdr *h,
		  struct rdev *d);
/* A whole control frame on channel 0. */
void rx_control(struct rchan *c);
/* Sample what TCP received on each channel (a trickle from a stall). */
void rx_sample_rx(struct vfmig_sink *k, uint64_t now);
/* No whole frame and no write for the timeout: fail, saying what it
 * looks like. */
void rx_no_progress(struct vfmig_sink *k);
/* After a channel but 0 ended: the source's reason, if it sent one. */
void rx_await_reason(struct vfmig_sink *k);

#endif
