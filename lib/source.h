/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send pipeline's state, private to its files: source.c (the pipeline
 * and the API) and source_reply.c (what the destination says).
 */
#ifndef VFMIG_LIB_SOURCE_H
#define VFMIG_LIB_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "cpustat.h"
#include "handshake.h"
#include "ring.h"
#include "session.h"
#include "switchover.h"
#include "txq.h"
#include "vfmig.h"
#include "wire.h"
#include "workers.h"

struct sdev;

struct slot {
	struct work work; /* first: codec job */
	struct vfmig_source *s;
	struct sdev *d; /* from dispatch() until it is free again */
	struct slot *next_free;
	unsigned char *raw, *enc;
	size_t fill;
	uint64_t seq;
	bool stopcopy;
	bool compress; /* else stored raw (or zero) */
	long enc_len;
	uint8_t codec;
	uint32_t crc; /* of the raw bytes, from the worker */
	uint64_t enc_us; /* the worker's time compressing it */
	int err;
	struct txq_frame of; /* its frame, owned by the slot */
};

struct sdev {
	struct vfmig_source *s;
	unsigned idx;
	struct vfmig_device *dev;
	int fd;
	bool async; /* IOSQE_ASYNC: fds without nowait support */
	bool precopy, stopcopy, eof, ended, loaded, acked, init_sent;
	bool at_end; /* a pre-copy read after data found the stream's end */
	bool reading, waiting_slot;
	struct ring_op rop, top;
	struct __kernel_timespec ts;
	struct slot *cur;
	uint64_t seq, released;
	struct slot **pending; /* encoded, by seq % nslots */
	unsigned incompressible; /* -z auto: chunks in a row zstd kept raw */
	uint32_t crc;
	struct vfmig_precopy_info last; /* the last PRECOPY_INFO */
	uint64_t raw_released, raw_sent;
	struct wire_progress dest; /* the destination's PROGRESS */
	struct wire_progress dest_at_stop; /* the last one before STOP_COPY */
	uint64_t sent_at_report; /* raw_sent when that PROGRESS came */
	uint64_t t_read_us, read_us, read_bytes; /* reads that got data */
	uint64_t t_fill_us; /* the current chunk's first byte came */
	/* what the codec compressed (chunks sent raw by choice aside) */
	uint64_t z_raw, z_wire, z_us;
	uint64_t stop_us; /* its transition into STOP_COPY */
	uint64_t t_stopcopy_us; /* when that began: its downtime's start */
	uint64_t sc_read_bytes, sc_read_us; /* stop-copy reads with data */
	struct vfmig_transfer t;
};

/* What comes back on a channel (sending is the txq's). */
struct chan {
	struct vfmig_source *s;
	struct conn *conn; /* the session's */
	/* channels 1..n-1 carry nothing back: a receive waits on each so
	 * that a reset or an end there is seen at once, not at the next
	 * frame sent on it (that may be never, in an idle pre-copy) */
	struct ring_op wop;
	unsigned char wbuf[1];
};

struct vfmig_source {
	struct vfmig_stream_opts o;
	struct vfmig_device *const *devs;
	unsigned ndev;
	struct sdev *d;
	struct chan c[CHAN_MAX];
	struct txq tx; /* the channels' send queues */
	struct ring ring;
	/* driven by the caller's loop: vfmig_source_start()/step() */
	bool external, started, finished;
	int result; /* of a finished external run */
	struct handshake hs; /* its set-up, off the caller's thread */
	bool connect_ended; /* its end was seen in the ring */
	cpu_set_t cpus; /* opts.cpus, where pinned */
	bool pinned;
	struct ring_beat beat; /* the caller's poll() wakes every LOOP_MS */
	struct workers *workers;
	unsigned encoding; /* chunks at the workers */
	struct slot *slots, *free_slots;
	unsigned nslots;
	unsigned char *mem; /* the slots' buffers (bufmem) */
	size_t mem_len;
	size_t enc_cap;
	/* control receive on channel 0 */
	struct ring_op rop;
	unsigned char rbuf[WIRE_HDR_LEN + WIRE_MAX_REPLY];
	size_t rhave;
	struct wire_hdr rh;
	/* pre-copy control, on its own timer: reads may wait for data */
	struct ring_op tick;
	struct __kernel_timespec tick_ts;
	/* workers' eventfd */
	struct ring_op eop;
	uint64_t evbuf;
	/* vfmig_source_cancel(): an eventfd every wait watches */
	int cancel;
	struct ring_op cop;
	/* the channels and what was agreed on them */
	struct session ss;
	/* the estimate; saturated time and the wire bytes sent in it */
	struct vfmig_stats *stats;
	struct switchover_dev *figs; /* what it is fed, per device */
	struct vfmig_estimate est;
	int est_ret;
	uint64_t t_stats, t_down_us, t_end_us;
	/* bumped by vfmig_source_set_ram(); the estimate keeps the value it
	 * was made with, so a switchover asked for right after knows it is
	 * stale even within the same millisecond */
	unsigned ram_gen, est_ram_gen;
	bool sat, switch_asked;
	char switch_why[512]; /* the policy's reason, once it said GO */
	uint64_t sat_t0, sat_b0, sat_us, sat_bytes;
	/* progress */
	bool switching, switched, done_sent, peer_done, failed, stop;
	bool lost; /* failed on a lost connection: the reason may follow */
	bool raw_wire; /* -z auto to this host, no cap, no TLS: raw chunks */
	uint64_t wire_rate; /* bytes/s the wire is known to carry: the cap,
			     * or the link's speed; 0: unknown */
	double prior_ns, prior_ratio; /* the history's, until measured */
	double auto_due; /* -z auto: compressed chunks owed, by the share */
	bool peer_said; /* the destination sent its reason: no ERROR back */
	unsigned loaded;
	uint64_t t_start, t_precopy, t_down, t_end, last_activity, t_report;
	uint64_t t_start_us, t_finish_us; /* the run, failed or not */
	/* vfmig_source_times(): the first frame queued, the devices started,
	 * and CPU by thread role from then until the run's end */
	uint64_t t_first_us, t_devs_us;
	struct cpustat cpu;
	struct vfmig_cpu_use use[VFMIG_CPU_ROLES];
	int err;
	char errmsg[512];
};

/* The first failure is the migration's: its errno, with the message. */
int tx_fail(struct vfmig_source *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A connection broke: a failure whose reason the destination may still
 * send (tx_await_reason()). */
void tx_lose(struct vfmig_source *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Everything sent and, from a peer, confirmed: the run is done. */
void tx_check_finished(struct vfmig_source *s);

/* source_reply.c: receive the destination's next frame on channel 0. */
void tx_replies_arm(struct vfmig_source *s);
/* Watch channel @c (1..n-1) for its end or reset. */
void tx_watch(struct chan *c);
/* After a lost connection: the destination's reason, if it sent one. */
void tx_await_reason(struct vfmig_source *s);
/* The ERROR code that tells the destination what ended the migration. */
enum wire_code tx_error_code(int err);

/* source_history.c: opts.history's figures into the estimator (their stop
 * times summed into @stop_us), and this migration's back into the file. */
void tx_history_load(struct vfmig_source *s, uint64_t *stop_us);
void tx_history_save(struct vfmig_source *s);

#endif
