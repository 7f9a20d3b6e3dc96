// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The send pipeline.
 *
 *   data_fd --read (io_uring, one in flight per fd)--> slot (chunk buffer)
 *     --codec worker (zero / zstd / raw, crc32c)--> in-order release per
 *     device --> least-queued channel --send (one in flight per channel)
 *
 * One thread runs the loop and owns the ring; codec work runs on workers.
 * Slots come from a pool bounded by opts.memory: when it is empty, reads
 * wait.  Each device's frames are released to the channels in sequence
 * order (design.md explains why the destination needs that).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bufmem.h"
#include "cpus.h"
#include "crc32c.h"
#include "device.h"
#include "events.h"
#include "source.h"
#include "tls.h"
#include "util.h"

#define MAX_DEFAULT_CHUNK (4u << 20)
#define MIN_DEFAULT_CHUNK (64u << 10)
#define PRECOPY_POLL_MS 5 /* re-read after "no data now" */
#define STATS_MS 100 /* estimate cadence in pre-copy */
#define LOOP_MS 200 /* the loop wakes at least this often: silence, reports */
#define DEFAULT_PRECOPY_TIMEOUT_MS 120000

/* The first failure is the migration's; a cancel wins over the failure
 * it caused (a wait that gave up). */
static int tx_vfail(struct vfmig_source *s, int err, const char *fmt,
		    va_list ap)
{
	if (!s->failed) {
		s->failed = true;
		if (io_cancelled(s->cancel)) {
			err = ECANCELED;
			snprintf(s->errmsg, sizeof(s->errmsg), "cancelled");
		} else {
			vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
		}
		s->err = err < 0 ? err : -err;
	}
	s->stop = true;
	return s->err;
}

int tx_fail(struct vfmig_source *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tx_vfail(s, err, fmt, ap);
	va_end(ap);
	return s->err;
}

/* A connection to the destination broke.  A destination that fails
 * sends its reason on channel 0 and then closes; our send may see the
 * close first.  Record the loss, and let that reason replace it. */
void tx_lose(struct vfmig_source *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (!s->failed)
		s->lost = !s->ss.file;
	va_start(ap, fmt);
	tx_vfail(s, err, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------- pool */

static struct slot *tx_slot_get(struct vfmig_source *s)
{
	struct slot *sl = s->free_slots;

	if (sl) {
		s->free_slots = sl->next_free;
		sl->fill = 0;
		sl->err = 0;
	}
	return sl;
}

static void start_read(struct sdev *d);

static void tx_slot_put(struct vfmig_source *s, struct slot *sl)
{
	sl->d = NULL;
	sl->next_free = s->free_slots;
	s->free_slots = sl;
	/* Back-pressure ends: a device waiting for a buffer reads again. */
	for (unsigned i = 0; i < s->ndev; i++) {
		if (s->d[i].waiting_slot) {
			s->d[i].waiting_slot = false;
			start_read(&s->d[i]);
			if (!s->free_slots)
				break;
		}
	}
}

/* --------------------------------------------------------- channels */

/* A frame went out whole: a data frame's buffer is free again. */
static void tx_sent(void *arg, struct txq_frame *f)
{
	struct vfmig_source *s = arg;
	struct slot *sl = f->owner;

	if (sl) {
		sl->d->raw_sent += sl->fill;
		tx_slot_put(s, sl);
	}
	tx_check_finished(s);
}

static void tx_failed(void *arg, unsigned chan, int res)
{
	tx_lose(arg, res, "channel %u: sending: %s%s", chan,
		conn_error(((struct vfmig_source *)arg)->c[chan].conn, res),
		res == -EPIPE || res == -ECONNRESET ?
			" (the destination closed the connection)" :
			"");
}

static const struct txq_ops tx_ops = { .sent = tx_sent, .failed = tx_failed };

/* A control frame on channel 0 (no device: WIRE_NO_DEVICE). */
static void send_control(struct vfmig_source *s, enum wire_type type,
			 uint16_t device, const void *payload, uint32_t len)
{
	if (txq_control(&s->tx, 0, type, device, payload, len) < 0)
		tx_fail(s, ENOMEM, "out of memory");
}

/* -------------------------------------------------------- encoding */

static void encode_run(struct work *w, struct codec *codec)
{
	struct slot *sl = (struct slot *)w;
	struct wire_hdr h = {
		.type = WIRE_DATA,
		.flags = sl->stopcopy ? WIRE_FLAG_STOPCOPY : 0,
		.device = (uint16_t)sl->d->idx,
		.seq = sl->seq,
		.raw_len = (uint32_t)sl->fill,
	};
	uint64_t t0 = now_us();

	sl->enc_len = sl->compress ?
			      codec_encode(codec, sl->raw, sl->fill, sl->enc,
					   sl->s->enc_cap, &h.codec) :
			      codec_store(sl->raw, sl->fill, &h.codec);
	/* wall time: what a worker gives, sharing its CPU, is the rate */
	sl->enc_us = sl->compress ? now_us() - t0 : 0;
	if (sl->enc_len < 0) {
		sl->err = (int)sl->enc_len;
		return;
	}
	h.enc_len = (uint32_t)sl->enc_len;
	h.crc = sl->crc = crc32c(0, sl->raw, sl->fill);
	wire_hdr_encode(&h, sl->of.hdr);
	sl->codec = h.codec;
}

static void device_end(struct sdev *d);

/* Release a device's encoded frames to the channels in sequence order. */
static void release(struct sdev *d)
{
	struct vfmig_source *s = d->s;

	for (;;) {
		struct slot *sl = d->pending[d->released % s->nslots];
		struct txq_frame *f;

		if (!sl || sl->seq != d->released)
			break;
		d->pending[d->released % s->nslots] = NULL;
		d->released++;
		/* the stream's crc, in stream order, from the chunks' */
		d->crc = crc32c_combine(d->crc, sl->crc, sl->fill);
		f = &sl->of;
		f->owner = sl;
		f->iov[0].iov_base = f->hdr;
		f->iov[0].iov_len = WIRE_HDR_LEN;
		f->niov = 1;
		if (sl->enc_len) {
			f->iov[1].iov_base =
				sl->codec == WIRE_CODEC_RAW ? sl->raw : sl->enc;
			f->iov[1].iov_len = (size_t)sl->enc_len;
			f->niov = 2;
		}
		f->len = WIRE_HDR_LEN + (size_t)sl->enc_len;
		d->t.wire_bytes += f->len;
		d->raw_released += sl->fill;
		d->t.frames++;
		txq_push(&s->tx, txq_least_queued(&s->tx), f);
		if (!s->t_first_us)
			s->t_first_us = now_us();
	}
	if (d->eof && !d->ended && d->released == d->seq)
		device_end(d);
}

static void encode_done(struct work *w)
{
	struct slot *sl = (struct slot *)w;
	struct sdev *d = sl->d;

	d->s->encoding--;
	if (sl->compress && sl->codec != WIRE_CODEC_ZERO)
		d->incompressible =
			sl->codec == WIRE_CODEC_RAW ? d->incompressible + 1 : 0;
	if (sl->compress && !sl->err) {
		d->z_raw += sl->fill;
		d->z_wire += WIRE_HDR_LEN + (uint64_t)sl->enc_len;
		d->z_us += sl->enc_us;
	}
	if (sl->err) {
		tx_fail(d->s, sl->err, "device %s: compressing: %s",
			vfmig_device_name(d->dev), errno_name(sl->err));
		tx_slot_put(d->s, sl);
		return;
	}
	d->pending[sl->seq % d->s->nslots] = sl;
	release(d);
}

/*
 * The share of chunks to compress, from the rates; < 0: not known.  The
 * history's rate counts as PRIOR_BYTES measured, so this run's own figures
 * outweigh it only as they accumulate: the first chunk a worker
 * compresses at a stop can take 17 times its usual time (24-26 ns a byte
 * of fb against 1.4, while four devices start reading at once), and
 * trusting it alone sent a quarter of the chunks raw behind a 1 Gbit cap
 * the workers keep up with (20% more wire, 250 ms more downtime).
 */
#define PRIOR_BYTES (64.0 * 1024 * 1024)

static double auto_share(const struct vfmig_source *s)
{
	uint64_t raw = 0, wire = 0, us = 0;
	double ns = 0, ratio = 0, c;

	for (unsigned i = 0; i < s->ndev; i++) {
		raw += s->d[i].z_raw;
		wire += s->d[i].z_wire;
		us += s->d[i].z_us;
	}
	if (s->prior_ns > 0) {
		ns = (s->prior_ns * PRIOR_BYTES + (double)us * 1000.0) /
		     (PRIOR_BYTES + (double)raw);
		ratio = (s->prior_ratio * PRIOR_BYTES + (double)wire) /
			(PRIOR_BYTES + (double)raw);
	} else if (raw >= (4u << 20) && us) {
		ns = (double)us * 1000.0 / (double)raw;
		ratio = (double)wire / (double)raw;
	}
	if (!s->wire_rate || ns <= 0)
		return -1;
	c = 1e9 / ns * workers_count(s->workers);
	return c * ratio >= (double)s->wire_rate ?
		       1 :
		       c / ((double)s->wire_rate + c * (1 - ratio));
}

/*
 * -z auto: whether to compress the chunk about to go to the workers.  To a
 * destination on this host (loopback, a unix socket) with no cap and no
 * TLS, never: the "wire" is a memory copy on the same CPUs, cheaper than
 * zstd at any level (Documentation/performance.md: memcpy and one
 * loopback stream against one core of zstd), and the decompression comes
 * on top; -z auto is then -z none.  (TLS encrypts every byte on the loop
 * thread: there a smaller stream pays.)  Otherwise, as
 * zstd's --adapt does, it watches which side waits: compressing pays while
 * the channels have a backlog (the wire is the bottleneck and a smaller
 * frame goes sooner); when more chunks wait for the codec than there are
 * workers and the channels have less than a frame each, the wire waits
 * for the CPU, and this chunk goes raw.  The balance is re-decided chunk
 * by chunk, so a link that slows down (or speeds up) moves it.  Where the
 * wire's rate B is known (a cap, the link's speed) and the workers' raw
 * rate C and ratio r are measured (or known from history), the share of
 * chunks compressed is the one at which codec and wire finish together,
 * f = C / (B + C (1 - r)), all of them when C r >= B: a backlog at the
 * codec is then a passing one, and a raw chunk on such a wire costs more
 * than the wait for a worker (stats.md's model is the same).  A device
 * whose last 4 chunks did not compress (zstd kept them raw) is tried again
 * on 1 chunk in 16, so content that changes is noticed.
 */
static bool want_compress(const struct sdev *d)
{
	struct vfmig_source *s = d->s;
	double share;

	if (s->o.codec != VFMIG_CODEC_AUTO)
		return s->o.codec == VFMIG_CODEC_ZSTD;
	if (s->raw_wire)
		return false;
	if (d->incompressible >= 4 && d->seq % 16)
		return false;
	share = auto_share(s);
	if (share >= 0) {
		s->auto_due += share;
		if (s->auto_due < 1)
			return false;
		s->auto_due -= 1;
		return true;
	}
	return !(s->encoding > (unsigned)workers_count(s->workers) &&
		 s->tx.frames < s->ss.nchan);
}

static void dispatch(struct sdev *d)
{
	struct slot *sl = d->cur;

	d->cur = NULL;
	if (!sl)
		return;
	if (!sl->fill) {
		tx_slot_put(d->s, sl);
		return;
	}
	sl->d = d;
	sl->seq = d->seq++;
	sl->stopcopy = d->stopcopy;
	sl->compress = want_compress(d);
	d->s->encoding++;
	sl->work.run = encode_run;
	sl->work.done = encode_done;
	workers_submit(d->s->workers, &sl->work);
}

/* ---------------------------------------------------------- reading */

static void read_done(struct ring_op *op, int res);

/*
 * How many bytes the device's current chunk is read up to.  A device's
 * first chunks are small and double up to --chunk (256 KiB, 512 KiB, ...):
 * the codec and the channels get work after a quarter of a MiB instead of
 * after a whole chunk, which is most of the fixed cost of a small
 * migration (setup-time), and no frame is smaller than a page run needs.
 */
#define FIRST_CHUNK (256u << 10)

static size_t chunk_want(const struct sdev *d)
{
	size_t chunk = d->s->o.chunk;

	if (d->seq >= 16 || (size_t)FIRST_CHUNK << d->seq >= chunk)
		return chunk;
	return (size_t)FIRST_CHUNK << d->seq;
}

static void start_read(struct sdev *d)
{
	struct vfmig_source *s = d->s;
	struct io_uring_sqe *sqe;
	size_t want;

	if (d->reading || d->eof || s->stop || (!d->precopy && !d->stopcopy))
		return;
	/* Switching over: no new pre-copy read (the loop stops the devices
	 * once none is in flight). */
	if (s->switching && !d->stopcopy)
		return;
	if (!d->cur) {
		d->cur = tx_slot_get(s);
		if (!d->cur) {
			d->waiting_slot = true;
			return;
		}
		d->cur->s = s;
		d->cur->d = d;
	}
	want = chunk_want(d) - d->cur->fill;
	sqe = ring_sqe(&s->ring, &d->rop);
	io_uring_prep_read(sqe, d->fd, d->cur->raw + d->cur->fill,
			   (unsigned)want, (uint64_t)-1);
	if (d->async)
		sqe->flags |= IOSQE_ASYNC;
	else
		ring_copy_async(sqe, want);
	d->reading = true;
	d->t_read_us = now_us();
}

static void poll_later(struct sdev *d, unsigned ms)
{
	if (d->top.busy)
		return;
	d->ts.tv_sec = 0;
	d->ts.tv_nsec = (long long)ms * 1000000ll;
	io_uring_prep_timeout(ring_sqe(&d->s->ring, &d->top), &d->ts, 0, 0);
}

static void timer_done(struct ring_op *op, int res)
{
	struct sdev *d = container_of(op, struct sdev, top);

	(void)res;
	start_read(d);
}

/* ------------------------------------------------------- estimate */

/*
 * Saturated: the pipeline holds more than it can pass on: a read waits for
 * a buffer (the codec or the channels are behind), the bandwidth cap holds
 * a channel back, or frames queue behind those being sent.  What is sent
 * while saturated, per second, is what stop-copy will get; what an idle
 * pre-copy sends is only what the devices dirty.  (A codec backlog alone
 * does not count: at the start of every run it says nothing of the wire.)
 */
static bool saturated(const struct vfmig_source *s)
{
	if (s->tx.frames > s->ss.nchan || txq_throttled(&s->tx))
		return true;
	for (unsigned i = 0; i < s->ndev; i++)
		if (s->d[i].waiting_slot)
			return true;
	return false;
}

/* Called after every batch of completions: time and bytes per state. */
static void sat_account(struct vfmig_source *s)
{
	uint64_t now = now_us();

	if (s->sat) {
		s->sat_us += now - s->sat_t0;
		s->sat_bytes += s->tx.bytes - s->sat_b0;
	}
	s->sat = s->d && saturated(s);
	s->sat_t0 = now;
	s->sat_b0 = s->tx.bytes;
}

/* Each device's largest frame not sent yet (the one being filled too):
 * the last to arrive there, where the channels share the wire. */
static void largest_frames(struct vfmig_source *s)
{
	for (unsigned i = 0; i < s->ndev; i++)
		s->figs[i].queued_frame = s->d[i].cur ? s->d[i].cur->fill : 0;
	for (unsigned j = 0; j < s->nslots; j++) {
		const struct slot *sl = &s->slots[j];
		struct switchover_dev *f;

		if (!sl->d) /* free, or still being filled */
			continue;
		f = &s->figs[sl->d->idx];
		if (sl->fill > f->queued_frame)
			f->queued_frame = sl->fill;
	}
}

static void stats_update(struct vfmig_source *s)
{
	uint64_t now = now_ms();
	struct switchover_wire w = {
		.elapsed_ms = now - s->t_precopy,
		.sent = s->tx.bytes,
		.credit = txq_credit(&s->tx, now),
		/* neither a link speed nor a cap: what went out so far, on
		 * average, is a floor until saturated time measures more
		 * (over less than STATS_MS it measures nothing) */
		.average_is_prior = !s->ss.link.bits_per_s &&
				    !s->o.max_bandwidth &&
				    now - s->t_precopy >= STATS_MS,
	};

	s->est_ram_gen = __atomic_load_n(&s->ram_gen, __ATOMIC_ACQUIRE);
	w.ram_pending = __atomic_load_n(&s->o.ram_pending, __ATOMIC_RELAXED);
	w.ram_dirty_rate =
		__atomic_load_n(&s->o.ram_dirty_rate, __ATOMIC_RELAXED);
	sat_account(s);
	w.sat_ms = s->sat_us / 1000;
	w.sat_bytes = s->sat_bytes;
	w.channels = s->ss.nchan;
	for (unsigned i = 0; i < s->ndev; i++) {
		struct sdev *d = &s->d[i];

		s->figs[i] = (struct switchover_dev){
			.dev = d->dev,
			.last = d->last,
			.released_raw = d->raw_released,
			.released_wire = d->t.wire_bytes,
			.queued_raw = d->t.raw_bytes - d->raw_sent,
			.sent_raw = d->sent_at_report,
			.dest = d->dest,
			.read_bytes = d->read_bytes,
			.read_us = d->read_us,
			.z_raw = d->z_raw,
			.z_wire = d->z_wire,
			.z_us = d->z_us,
		};
	}
	largest_frames(s);
	s->est_ret = switchover_feed(s->stats, &w, s->figs, s->ndev, &s->est);
	s->t_stats = now;
}

/*
 * Pre-copy control, every PRECOPY_POLL_MS whatever the reads do (a read
 * may wait for data that only comes later, or never before STOP_COPY):
 * ask each driver what is left (mlx5 produces new data only when asked),
 * tell the destination when a device's initial data is all read, flush
 * a chunk that a waiting read keeps half full, and every STATS_MS update
 * the estimate (the loop decides on it: tx_switchover()).
 */
static void precopy_tick(struct vfmig_source *s)
{
	for (unsigned i = 0; i < s->ndev && !s->stop; i++) {
		struct sdev *d = &s->d[i];
		int ret;

		if (!d->precopy || d->stopcopy)
			continue;
		if (d->reading && d->cur && d->cur->fill)
			ring_cancel(&s->ring, &d->rop);
		/* a read that waited a whole tick, like one that found
		 * nothing, says the stream is at its end for now */
		if (d->reading && d->t.precopy_bytes &&
		    now_us() - d->t_read_us >= PRECOPY_POLL_MS * 1000ull)
			d->at_end = true;
		d->last.size = sizeof(d->last);
		ret = vfmig_device_precopy_info(d->dev, &d->last);
		if (ret < 0) {
			tx_fail(s, ret, "%s", vfmig_device_strerror(d->dev));
			return;
		}
		/* Initial data is done when the driver says none is left; a
		 * figure no device could hold is garbage, and then the stream
		 * reaching its end for now says it instead. */
		if (!d->init_sent &&
		    (!d->last.initial_bytes ||
		     (d->last.initial_bytes > PLAUSIBLE_STATE_MAX &&
		      d->at_end))) {
			unsigned char p[WIRE_COUNT_LEN];

			d->init_sent = true;
			if (s->ss.caps & WIRE_CAP_SWITCHOVER_ACK) {
				wire_count_encode(d->t.precopy_bytes, p);
				send_control(s, WIRE_INIT_DONE,
					     (uint16_t)d->idx, p, sizeof(p));
			} else {
				d->acked = true;
			}
		}
	}
	if (s->stop)
		return;
	/* An idle pre-copy still tells the destination it is alive. */
	if ((s->ss.caps & WIRE_CAP_PROGRESS) && !s->tx.frames &&
	    now_ms() - s->tx.t_last_ms > (uint64_t)s->o.timeout_ms / 3)
		send_control(s, WIRE_NOP, WIRE_NO_DEVICE, NULL, 0);
	if (!s->est.size || now_ms() - s->t_stats >= STATS_MS)
		stats_update(s);
}

static void tick_done(struct ring_op *op, int res)
{
	struct vfmig_source *s = container_of(op, struct vfmig_source, tick);

	(void)res;
	if (s->stop || s->switched || s->switching)
		return;
	precopy_tick(s);
	if (!s->stop && !s->switched && !s->switching) {
		s->tick_ts.tv_nsec = PRECOPY_POLL_MS * 1000000ll;
		io_uring_prep_timeout(ring_sqe(&s->ring, &s->tick), &s->tick_ts,
				      0, 0);
	}
}

/* PRE_COPY has nothing now: send what we have, read again soon. */
static void precopy_idle(struct sdev *d)
{
	if (d->t.precopy_bytes)
		d->at_end = true;
	dispatch(d);
	poll_later(d, PRECOPY_POLL_MS);
}

static void stream_ended(struct sdev *d)
{
	int state;

	dispatch(d);
	/* A stream that ends because the device failed is no stream. */
	state = vfmig_device_get_state(d->dev);
	if (state != VFMIG_STATE_STOP_COPY) {
		tx_fail(d->s, EIO,
			"device %s: the migration stream ended with the device in %s",
			vfmig_device_name(d->dev), state_upper(state));
		return;
	}
	d->eof = true;
	release(d);
}

static void read_done(struct ring_op *op, int res)
{
	struct sdev *d = container_of(op, struct sdev, rop);
	struct vfmig_source *s = d->s;

	d->reading = false;
	if (s->stop)
		return;
	if (res > 0) {
		struct slot *sl = d->cur;
		uint64_t now = now_us();

		if (!sl->fill)
			d->t_fill_us = now;
		d->read_us += now - d->t_read_us;
		d->read_bytes += (uint64_t)res;
		sl->fill += (size_t)res;
		d->t.raw_bytes += (uint64_t)res;
		if (d->stopcopy) {
			d->t.stopcopy_bytes += (uint64_t)res;
			d->sc_read_bytes += (uint64_t)res;
			d->sc_read_us += now - d->t_read_us;
		} else {
			d->t.precopy_bytes += (uint64_t)res;
		}
		s->last_activity = now_ms();
		/* A device that makes its stop-copy data slowly (less than a
		 * chunk in PRECOPY_POLL_MS) has its chunk sent that often, as
		 * pre-copy's tick does: the codec, the wire and the
		 * destination's load work while it makes the rest, and only
		 * the last few ms of data trail its last read. */
		if (sl->fill == chunk_want(d) ||
		    (d->stopcopy &&
		     now - d->t_fill_us >= PRECOPY_POLL_MS * 1000ull))
			dispatch(d);
		start_read(d);
		return;
	}
	if (res == -EINTR || res == -ECANCELED) {
		/* cancelled to flush a half-full chunk, or to switch over */
		if (!d->stopcopy)
			dispatch(d);
		start_read(d);
		return;
	}
	if (!d->stopcopy && (res == 0 || res == -EAGAIN || res == -ENOMSG)) {
		precopy_idle(d);
		return;
	}
	if (d->stopcopy && res == -EAGAIN) { /* a non-blocking fd */
		poll_later(d, 1);
		return;
	}
	if (d->stopcopy && res == 0) {
		stream_ended(d);
		return;
	}
	tx_fail(s, res, "device %s: reading the migration stream: %s",
		vfmig_device_name(d->dev), errno_name(res));
}

/* ------------------------------------------------------- switchover */

static bool has_p2p(struct vfmig_device *dev)
{
	int f = vfmig_device_migration_flags(dev);

	return f > 0 && (f & VFMIG_MIGRATION_P2P);
}

static int to_stopcopy(struct vfmig_source *s)
{
	/* quiescing matters between devices, or for a VMM that stops its
	 * vCPUs in between (as QEMU does for any count) */
	bool p2p = s->ndev > 1 || events_stops_vcpus(s->o.events);
	int ret, fd;

	for (unsigned i = 0; i < s->ndev; i++)
		p2p = p2p && has_p2p(s->d[i].dev);
	s->t_down_us = now_us();
	s->t_down = s->t_down_us / 1000;
	/* Several devices: quiesce peer-to-peer DMA on all before any stops. */
	for (unsigned i = 0; p2p && i < s->ndev; i++) {
		struct sdev *d = &s->d[i];

		ret = vfmig_device_set_state(d->dev,
					     d->precopy ?
						     VFMIG_STATE_PRE_COPY_P2P :
						     VFMIG_STATE_RUNNING_P2P,
					     NULL);
		if (ret < 0)
			return tx_fail(s, ret, "%s",
				       vfmig_device_strerror(d->dev));
	}
	/* the VMM stops its vCPUs with the devices quiesced, none stopped */
	ret = events_vcpus_stop(s->o.events, p2p);
	if (ret < 0)
		return tx_fail(
			s, ret,
			"the VMM could not stop its vCPUs (vcpus_stop: %s)",
			errno_name(ret));
	for (unsigned i = 0; i < s->ndev; i++) {
		struct sdev *d = &s->d[i];
		uint64_t t0 = now_us();

		ret = vfmig_device_set_state(d->dev, VFMIG_STATE_STOP_COPY,
					     &fd);
		d->stop_us = now_us() - t0;
		d->t_stopcopy_us = t0;
		d->dest_at_stop = d->dest;
		if (ret < 0)
			return tx_fail(s, ret, "%s",
				       vfmig_device_strerror(d->dev));
		if (fd >= 0)
			d->fd = fd;
		d->stopcopy = true;
		d->fd = vfmig_device_data_fd(d->dev);
	}
	s->switched = true;
	for (unsigned i = 0; i < s->ndev; i++)
		start_read(&s->d[i]);
	return 0;
}

/* The first pre-copy device whose initial data is not acknowledged. */
static const struct switchover_unacked *unacked(const struct vfmig_source *s,
						struct switchover_unacked *u)
{
	for (unsigned i = 0; i < s->ndev; i++) {
		const struct sdev *d = &s->d[i];

		if (!d->precopy || (d->init_sent && d->acked))
			continue;
		u->name = vfmig_device_name(d->dev);
		u->init_done = d->init_sent;
		u->initial_bytes = d->last.initial_bytes;
		return u;
	}
	return NULL;
}

/* What the policy says now: WAIT, GO or CANCEL (the reason in @why). */
static enum switchover_action decide(const struct vfmig_source *s, char *why,
				     size_t size)
{
	struct switchover_unacked u;
	struct switchover_in in = {
		.mode = (enum vfmig_switchover)s->o.switchover,
		.asked = __atomic_load_n(&s->switch_asked, __ATOMIC_RELAXED),
		.unacked = unacked(s, &u),
		.ram_pending =
			__atomic_load_n(&s->o.ram_pending, __ATOMIC_RELAXED),
		.elapsed_ms = now_ms() - s->t_precopy,
		.timeout_ms = s->o.precopy_timeout_ms,
		.limit_ms = s->o.downtime_limit_ms,
		.est = s->est.size ? &s->est : NULL,
		.est_ret = s->est_ret,
	};

	for (unsigned i = 0; i < s->ndev; i++)
		in.any_precopy = in.any_precopy || s->d[i].precopy;
	return switchover_decide(&in, why, size);
}

/*
 * Once per turn of the loop, after its completions: ask the policy, and
 * when it says GO, stop reading pre-copy data, and once no read is in
 * flight (a state never changes under one), stop the devices.
 */
static void tx_switchover(struct vfmig_source *s)
{
	char why[512];
	enum switchover_action a;

	if (s->switched || s->stop || !s->d)
		return;
	if (!s->switching) {
		a = decide(s, why, sizeof(why));
		/* The estimate may be up to STATS_MS old, the ack may have
		 * come after the queues drained, and the VMM may have just
		 * said its RAM moved: decide on, and report, a fresh one (as
		 * QEMU asks for the exact figure only when the cheap one says
		 * it is time). */
		if (a == SWITCHOVER_GO &&
		    (now_ms() != s->t_stats ||
		     s->est_ram_gen !=
			     __atomic_load_n(&s->ram_gen, __ATOMIC_ACQUIRE))) {
			stats_update(s);
			a = decide(s, why, sizeof(why));
		}
		if (a == SWITCHOVER_CANCEL)
			tx_fail(s, ECANCELED, "%s", why);
		if (a != SWITCHOVER_GO)
			return;
		snprintf(s->switch_why, sizeof(s->switch_why), "%s", why);
		s->switching = true;
		for (unsigned i = 0; i < s->ndev; i++)
			ring_cancel(&s->ring, &s->d[i].rop);
	}
	for (unsigned i = 0; i < s->ndev; i++)
		if (s->d[i].reading)
			return;
	for (unsigned i = 0; i < s->ndev; i++)
		dispatch(&s->d[i]);
	to_stopcopy(s);
}

/* -------------------------------------------------------- finishing */

static void device_end(struct sdev *d)
{
	struct wire_device_end e = {
		.raw_bytes = d->t.raw_bytes,
		.frames = d->seq,
		.crc = d->crc,
	};
	unsigned char p[WIRE_DEVICE_END_LEN];

	d->ended = true;
	events_device(d->s->o.events, VFMIG_EVENT_STOPCOPY_DONE, d->idx, d->dev,
		      d->t.stopcopy_bytes, 0, NULL);
	wire_device_end_encode(&e, p);
	send_control(d->s, WIRE_DEVICE_END, (uint16_t)d->idx, p, sizeof(p));
	tx_check_finished(d->s);
}

void tx_check_finished(struct vfmig_source *s)
{
	for (unsigned i = 0; i < s->ndev; i++)
		if (!s->d[i].ended)
			return;
	if (!s->done_sent) {
		s->done_sent = true;
		send_control(s, WIRE_DONE, WIRE_NO_DEVICE, NULL, 0);
		return;
	}
	/* Everything sent: a file is complete; a peer must confirm. */
	if (s->tx.frames)
		return;
	if (s->ss.file || (s->peer_done && s->loaded == s->ndev)) {
		s->t_end_us = now_us();
		s->t_end = s->t_end_us / 1000;
		s->stop = true;
	}
}

/* vfmig_source_cancel() was called (a poll: the eventfd stays readable
 * for every later wait). */
static void cancel_done(struct ring_op *op, int res)
{
	struct vfmig_source *s = container_of(op, struct vfmig_source, cop);

	if (res != -ECANCELED)
		tx_fail(s, ECANCELED, "cancelled");
}

static void workers_ready(struct ring_op *op, int res);

static void arm_workers(struct vfmig_source *s)
{
	io_uring_prep_read(ring_sqe(&s->ring, &s->eop),
			   workers_eventfd(s->workers), &s->evbuf,
			   sizeof(s->evbuf), (uint64_t)-1);
}

static void workers_ready(struct ring_op *op, int res)
{
	struct vfmig_source *s = container_of(op, struct vfmig_source, eop);

	(void)res;
	workers_reap(s->workers);
	if (!s->stop)
		arm_workers(s);
}

/* ------------------------------------------------------------ setup */

/* Options with their defaults filled in, checked: 0 or -EINVAL naming
 * the field. */
static int tx_opts_check(const struct vfmig_stream_opts *o, char *why,
			 size_t ws)
{
	if (o->chunk > WIRE_MAX_CHUNK || o->chunk < 4096)
		return set_errbuf(why, ws, EINVAL,
				  "chunk %u: expected 4096..%u", o->chunk,
				  WIRE_MAX_CHUNK);
	if (o->channels > CHAN_MAX)
		return set_errbuf(why, ws, EINVAL,
				  "channels %u: expected 1..%d", o->channels,
				  CHAN_MAX);
	if ((unsigned)o->switchover > VFMIG_SWITCHOVER_MANUAL)
		return set_errbuf(
			why, ws, EINVAL,
			"switchover %d: expected auto (0), immediate (1) or manual (2)",
			o->switchover);
	if (!(o->ratio >= 0 && o->ratio <= 2))
		return set_errbuf(why, ws, EINVAL,
				  "ratio %g: expected 0 (measured) to 2",
				  o->ratio);
	if (o->tls && tls_is_server(o->tls))
		return set_errbuf(
			why, ws, EINVAL,
			"tls: a destination's credentials (VFMIG_TLS_SERVER); the source needs VFMIG_TLS_CLIENT");
	if (o->dry_run && o->uri && !strncmp(o->uri, "file:", 5))
		return set_errbuf(
			why, ws, EINVAL,
			"dry_run: %s is a file, with no destination to ask",
			o->uri);
	return 0;
}

int vfmig_source_new(struct vfmig_device *const *devs, unsigned ndev,
		     const struct vfmig_stream_opts *opts,
		     struct vfmig_source **out)
{
	struct vfmig_source *s;
	size_t ws;
	char *why;
	int ret = session_check_new(opts, out, devs, ndev, &why, &ws);

	if (ret < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return set_errbuf(why, ws, ENOMEM, "out of memory");
	memcpy(&s->o, opts,
	       opts->size < sizeof(s->o) ? opts->size : sizeof(s->o));
	s->o.size = sizeof(s->o);
	if (!s->o.memory)
		s->o.memory = SESSION_DEFAULT_MEMORY;
	if (!s->o.chunk) {
		/* Big chunks cost less per byte (measured: 4 MiB moves fb
		 * data a sixth faster than 1 MiB here), but the pool must
		 * keep two buffers per device in flight. */
		s->o.chunk = MAX_DEFAULT_CHUNK;
		while (s->o.chunk > MIN_DEFAULT_CHUNK &&
		       s->o.memory / (s->o.chunk + codec_bound(s->o.chunk)) <
			       2ull * ndev + 2)
			s->o.chunk /= 2;
	}
	if (!s->o.timeout_ms)
		s->o.timeout_ms = SESSION_DEFAULT_TIMEOUT_MS;
	if (!s->o.downtime_limit_ms)
		s->o.downtime_limit_ms = SESSION_DEFAULT_DOWNTIME_LIMIT_MS;
	if (!s->o.precopy_timeout_ms)
		s->o.precopy_timeout_ms = DEFAULT_PRECOPY_TIMEOUT_MS;
	if (!s->o.level)
		s->o.level = 1;
	if (!s->o.channels)
		s->o.channels = 1;
	ret = tx_opts_check(&s->o, why, ws);
	if (!ret)
		ret = cpus_of_opts(opts, &s->cpus, &s->pinned, why, ws);
	if (ret < 0) {
		free(s);
		return ret;
	}
	s->cancel = session_cancel_fd(why, ws);
	if (s->cancel < 0) {
		ret = s->cancel;
		free(s);
		return ret;
	}
	s->devs = devs;
	s->ndev = ndev;
	session_init(&s->ss);
	s->ss.uri = s->o.uri;
	s->ss.tls = s->o.tls;
	s->ss.devs = devs;
	s->ss.ndev = ndev;
	s->ss.timeout_ms = s->o.timeout_ms;
	s->ss.cancel = s->cancel;
	for (unsigned i = 0; i < CHAN_MAX; i++)
		s->c[i].conn = &s->ss.c[i];
	/* tcp: the sockets now, while the caller may hold the privilege
	 * to size their buffers */
	session_prepare(&s->ss, s->o.channels);
	*out = s;
	return 0;
}

int vfmig_source_cancel(struct vfmig_source *src)
{
	return src ? io_cancel(src->cancel) : -EINVAL;
}

/*
 * Connect, agree, send the manifest: the channels ready to stream.
 * Blocking: on the set-up thread when the caller's loop drives us.
 */
static int connect_blocking(void *arg)
{
	struct vfmig_source *s = arg;
	uint32_t caps = WIRE_CAP_ZERO | WIRE_CAP_PRECOPY |
			WIRE_CAP_SWITCHOVER_ACK | WIRE_CAP_PROGRESS |
			(s->o.codec != VFMIG_CODEC_NONE ? WIRE_CAP_ZSTD : 0) |
			(s->o.dry_run ? WIRE_CAP_PREFLIGHT : 0);
	int ret = session_connect(&s->ss, s->o.channels, caps, s->o.chunk);

	/* a dry run ends where a migration would begin */
	return ret < 0 || !s->o.dry_run ? ret : session_preflight_end(&s->ss);
}

/* What the set-up agreed on, or why it failed (@ret). */
static int connected(struct vfmig_source *s, int ret)
{
	if (ret < 0) {
		tx_fail(s, ret, "%s", s->ss.why);
		s->peer_said = s->ss.told;
		return ret;
	}
	s->o.chunk = s->ss.max_chunk;
	for (unsigned i = 0; i < s->ss.nchan; i++)
		s->c[i].s = s;
	return 0;
}

static int tx_setup(struct vfmig_source *s)
{
	char err[256];
	size_t slot_mem;
	int ret;

	s->raw_wire = s->o.codec == VFMIG_CODEC_AUTO && s->ss.link.local &&
		      !s->o.max_bandwidth && !s->ss.tls;
	s->enc_cap = codec_bound(s->o.chunk);
	slot_mem = s->o.chunk + s->enc_cap;
	s->nslots = (unsigned)(s->o.memory / slot_mem);
	if (s->nslots < s->ndev + 2)
		return tx_fail(
			s, EINVAL,
			"--memory %llu is too small for %u devices with %u-byte chunks (at least %zu)",
			(unsigned long long)s->o.memory, s->ndev, s->o.chunk,
			(s->ndev + 2) * slot_mem);
	s->mem_len = s->nslots * slot_mem;
	s->mem = bufmem_alloc(s->mem_len);
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	s->d = calloc(s->ndev, sizeof(*s->d));
	s->figs = calloc(s->ndev, sizeof(*s->figs));
	if (!s->mem || !s->slots || !s->d || !s->figs)
		return tx_fail(s, ENOMEM, "out of memory for %u buffers",
			       s->nslots);
	for (unsigned i = 0; i < s->nslots; i++) {
		s->slots[i].s = s;
		s->slots[i].raw = s->mem + i * slot_mem;
		s->slots[i].enc = s->slots[i].raw + s->o.chunk;
		s->slots[i].next_free = s->free_slots;
		s->free_slots = &s->slots[i];
	}
	for (unsigned i = 0; i < s->ndev; i++) {
		struct sdev *d = &s->d[i];

		d->s = s;
		d->idx = i;
		d->dev = s->devs[i];
		d->fd = -1;
		d->rop.done = read_done;
		d->top.done = timer_done;
		d->async = !strcmp(vfmig_device_backend(d->dev), "vfio");
		d->pending = calloc(s->nslots, sizeof(struct slot *));
		if (!d->pending)
			return tx_fail(s, ENOMEM, "out of memory");
	}
	ret = workers_new((int)s->o.workers,
			  s->o.codec != VFMIG_CODEC_NONE ? CODEC_ZSTD :
							   CODEC_NONE,
			  s->o.level, s->pinned ? &s->cpus : NULL, &s->workers);
	if (ret < 0)
		return tx_fail(s, ret, "codec workers: %s (zstd level %d?)",
			       errno_name(ret), s->o.level);
	/* vfmig_source_start() made it before the set-up */
	ret = s->ring.mode ? 0 :
			     ring_init(&s->ring, 256, false, err, sizeof(err));
	if (ret < 0)
		return tx_fail(s, ret, "%s", err);
	txq_init(&s->tx, &s->ring, s->ss.nchan, s->ss.c, s->ss.socket, &tx_ops,
		 s, &s->stop);
	txq_rate(&s->tx, s->o.max_bandwidth, s->o.chunk + WIRE_HDR_LEN);
	/* io-wq: a read per device, a send per channel */
	ring_bound_workers(&s->ring, s->ndev, s->ndev + s->ss.nchan);
	s->eop.done = workers_ready;
	s->cop.done = cancel_done;
	return 0;
}

/* The estimator, once the fixed costs are known. */
static int stats_start(struct vfmig_source *s, uint64_t transitions_us)
{
	struct vfmig_stats_opts so = {
		.size = sizeof(so),
		.ndev = s->ndev,
		.bandwidth = s->o.switchover_bandwidth,
		.ratio = s->o.ratio,
		.downtime_limit_ms = s->o.downtime_limit_ms,
		.bandwidth_prior = s->o.max_bandwidth,
		/* -z auto to this host compresses nothing */
		.codec = s->raw_wire ? VFMIG_CODEC_NONE : (int)s->o.codec,
		.workers = (unsigned)workers_count(s->workers),
		.chunk = s->o.chunk,
	};
	uint64_t link = s->ss.link.bits_per_s / 8, stop_us;
	int ret;

	if (link && (!so.bandwidth_prior || link < so.bandwidth_prior))
		so.bandwidth_prior = link;
	s->wire_rate = so.bandwidth_prior;
	ret = vfmig_stats_new(&so, &s->stats);
	if (ret < 0)
		return tx_fail(s, ret, "the estimator: %s", errno_name(ret));
	/* The destination's load, assumed to take as long as our entry into
	 * PRE_COPY (both are driver work on the whole state; leaving
	 * PRE_COPY for STOP_COPY only quiesces), and the round trip of the
	 * last answer.  The shim in a TCG guest showed why not twice: a
	 * 170 ms checksum at entry counted twice kept a 300 ms limit from
	 * ever converging. */
	tx_history_load(s, &stop_us);
	/* and the devices' own work as they stop, where history has it */
	vfmig_stats_set_fixed_cost_us(s->stats,
				      s->ss.rtt_us + transitions_us + stop_us);

	return 0;
}

static int start_devices(struct vfmig_source *s)
{
	uint64_t us = 0;
	int ret, fd;

	s->t_precopy = now_ms();
	s->t_devs_us = now_us();
	cpustat_begin(&s->cpu);
	for (unsigned i = 0; i < s->ndev; i++) {
		struct sdev *d = &s->d[i];
		int flags = vfmig_device_migration_flags(d->dev);

		if (s->o.precopy >= 0 && flags > 0 &&
		    (flags & VFMIG_MIGRATION_PRE_COPY) &&
		    (s->ss.caps & WIRE_CAP_PRECOPY)) {
			uint64_t t0 = now_us();

			ret = vfmig_device_set_state(d->dev,
						     VFMIG_STATE_PRE_COPY, &fd);
			if (ret < 0)
				return tx_fail(s, ret, "%s",
					       vfmig_device_strerror(d->dev));
			us += now_us() - t0;
			d->fd = fd;
			d->precopy = true;
		} else {
			d->acked = d->init_sent = true;
		}
	}
	if (stats_start(s, us) < 0)
		return s->err;
	for (unsigned i = 0; i < s->ndev; i++)
		start_read(&s->d[i]);
	s->tick.done = tick_done;
	tick_done(&s->tick, 0);
	return 0;
}

static void tx_report(struct vfmig_source *s)
{
	struct vfmig_transfer t = { .size = sizeof(t) };
	unsigned every = s->o.interval_ms ? s->o.interval_ms : 1000;
	uint64_t now = now_ms();

	if (!s->o.progress || now - s->t_report < every)
		return;
	s->t_report = now;
	vfmig_source_transfer(s, -1, &t);
	s->o.progress(s->o.progress_arg, &t, now - s->t_start,
		      handshake_running(&s->hs) ? "setup" :
		      s->switched		? "stop-copy" :
		      s->switching		? "switchover" :
						  "pre-copy");
}

/* Sends in flight, or answers due: a silence now is the peer's.  (An idle
 * pre-copy waiting for dirty data is nobody's silence.) */
static bool waiting_on_peer(const struct vfmig_source *s)
{
	if (s->tx.frames || s->done_sent)
		return true;
	for (unsigned i = 0; i < s->ndev; i++)
		if (s->d[i].init_sent && !s->d[i].acked)
			return true;
	return false;
}

static void tx_drain(struct vfmig_source *s)
{
	/* Cancel what is in flight and wait for it: buffers must outlive
	 * every request that points at them. */
	for (unsigned i = 0; s->d && i < s->ndev; i++) {
		ring_cancel(&s->ring, &s->d[i].rop);
		ring_cancel(&s->ring, &s->d[i].top);
	}
	ring_cancel(&s->ring, &s->hs.op);
	txq_cancel(&s->tx);
	for (unsigned i = 0; i < s->ss.nchan; i++)
		ring_cancel(&s->ring, &s->c[i].wop);
	ring_cancel(&s->ring, &s->rop);
	ring_cancel(&s->ring, &s->eop);
	ring_cancel(&s->ring, &s->tick);
	ring_cancel(&s->ring, &s->beat.op);
	ring_cancel(&s->ring, &s->cop);
	for (int i = 0; i < 100 && s->ring.inflight; i++)
		ring_run_once(&s->ring, 100);
}

/* The channels agreed: buffers, workers, the loop's requests, and every
 * device started.  0, or -errno (failed). */
static int tx_begin(struct vfmig_source *s)
{
	if (tx_setup(s))
		return s->err ? s->err : -EIO;
	arm_workers(s);
	io_uring_prep_poll_add(ring_sqe(&s->ring, &s->cop), s->cancel, POLLIN);
	tx_replies_arm(s);
	for (unsigned i = 1; !s->ss.file && i < s->ss.nchan; i++)
		tx_watch(&s->c[i]);
	start_devices(s);
	return s->failed ? s->err : 0;
}

static void tx_clock_start(struct vfmig_source *s)
{
	s->t_start_us = now_us();
	s->t_start = s->last_activity = s->t_start_us / 1000;
}

/* Set up: start every device, or a dry run is done (it touched none). */
static int tx_go(struct vfmig_source *s)
{
	if (!s->o.dry_run)
		return tx_begin(s);
	s->stop = true;
	return 0;
}

/* Connect, negotiate and start every device: 0, or -errno (failed). */
static int tx_start(struct vfmig_source *s)
{
	tx_clock_start(s);
	if (io_cancelled(s->cancel))
		return tx_fail(s, ECANCELED, "cancelled");
	if (connected(s, connect_blocking(s)))
		return s->err;
	return tx_go(s);
}

/* One turn of the loop, waiting up to @timeout_ms for a completion. */
static void tx_loop_once(struct vfmig_source *s, int timeout_ms)
{
	int ret = ring_run_once(&s->ring, timeout_ms);

	sat_account(s);
	if (ret < 0) {
		tx_fail(s, ret, "io_uring: %s", errno_name(ret));
		return;
	}
	tx_switchover(s);
	if (s->tx.t_last_ms > s->last_activity)
		s->last_activity = s->tx.t_last_ms; /* a byte went out */
	if (waiting_on_peer(s) &&
	    now_ms() - s->last_activity > (uint64_t)s->o.timeout_ms)
		tx_fail(s, ETIMEDOUT,
			"no progress for %d ms: the destination is silent",
			s->o.timeout_ms);
	tx_report(s);
}

/* Stop everything in flight, leave the devices as the outcome says (run
 * on: RUNNING; migrated: STOP), close the channels.  0 or -errno. */
static int tx_finish(struct vfmig_source *s)
{
	int ret;

	s->t_finish_us = now_us();
	cpustat_end(&s->cpu, s->use);
	if (handshake_running(&s->hs)) {
		/* given up during the set-up: its waits watch the cancel */
		io_cancel(s->cancel);
		handshake_join(&s->hs);
	}
	if (s->ring.mode)
		tx_drain(s);
	if (s->lost)
		tx_await_reason(s);
	if (s->failed) {
		/* the destination hears why, unless it said why itself */
		if (s->ss.nchan && !s->ss.file && !s->peer_said)
			frame_send_error(s->c[0].conn, tx_error_code(s->err),
					 s->errmsg);
		/* Nothing was lost: the devices run on here (a dry run
		 * never moved them). */
		for (unsigned i = 0; !s->o.dry_run && i < s->ndev; i++)
			vfmig_device_recover(s->devs[i]);
		for (unsigned i = 0; !s->o.dry_run && i < s->ndev; i++)
			events_device(s->o.events, VFMIG_EVENT_FAILED, i,
				      s->devs[i], 0, 0, s->errmsg);
	} else if (s->o.dry_run) {
		s->t_end_us = now_us(); /* a migration would start now */
		s->t_end = s->t_end_us / 1000;
	} else {
		/* Migrated: the source devices stay stopped. */
		for (unsigned i = 0; i < s->ndev; i++)
			vfmig_device_set_state(s->devs[i], VFMIG_STATE_STOP,
					       NULL);
		if (!s->t_end) {
			s->t_end_us = now_us();
			s->t_end = s->t_end_us / 1000;
		}
	}
	ret = session_close(&s->ss, !s->failed);
	if (ret < 0)
		tx_fail(s, ret, "%s: fsync: %s", s->o.uri, errno_name(ret));
	txq_clear(&s->tx);
	if (!s->o.dry_run)
		tx_history_save(s);
	return s->failed ? s->err : 0;
}

int vfmig_source_run(struct vfmig_source *s)
{
	if (!s)
		return -EINVAL;
	if (s->started)
		return -EALREADY;
	s->started = true;
	if (tx_start(s) == 0)
		while (!s->stop)
			tx_loop_once(s, LOOP_MS);
	return tx_finish(s);
}

/* The set-up thread ended (the caller's step() goes on from there). */
static void connect_done(struct ring_op *op, int res)
{
	struct vfmig_source *s = container_of(op, struct vfmig_source, hs.op);

	(void)res;
	s->connect_ended = true;
}

/* A step during the set-up: the beat, and the set-up's end. */
static void tx_connect_step(struct vfmig_source *s)
{
	int ret;

	tx_report(s); /* the first step always says "setup" */
	ret = ring_run_once(&s->ring, 0);
	if (ret < 0) {
		tx_fail(s, ret, "io_uring: %s", errno_name(ret));
		return;
	}
	if (!s->connect_ended)
		return;
	if (connected(s, handshake_join(&s->hs)) == 0)
		tx_go(s);
}

/*
 * Nothing here blocks: the ring is made now, in the caller's thread that
 * steps it, and the set-up (connect, TLS, HELLO, manifest: up to the
 * timeout) runs on a thread of its own until step() sees it end.
 */
int vfmig_source_start(struct vfmig_source *s)
{
	char err[256];
	int ret = 0;

	if (!s)
		return -EINVAL;
	if (s->started)
		return -EALREADY;
	s->started = s->external = true;
	tx_clock_start(s);
	if (io_cancelled(s->cancel))
		ret = tx_fail(s, ECANCELED, "cancelled");
	if (!ret) {
		ret = ring_init(&s->ring, 256, true, err, sizeof(err));
		if (ret < 0)
			tx_fail(s, ret, "%s", err);
	}
	if (!ret) {
		ret = handshake_start(&s->hs, &s->ring, connect_done,
				      s->pinned ? &s->cpus : NULL,
				      connect_blocking, s);
		if (ret < 0)
			tx_fail(s, ret, "the set-up thread: %s",
				errno_name(ret));
	}
	if (ret < 0) {
		s->result = tx_finish(s);
		s->finished = true;
		return s->result;
	}
	ring_beat_start(&s->ring, &s->beat, LOOP_MS, &s->stop);
	/* queued requests reach the kernel now: the caller may poll */
	io_uring_submit(&s->ring.uring);
	return 0;
}

int vfmig_source_fd(const struct vfmig_source *src)
{
	if (!src || !src->external || !src->ring.mode)
		return -EINVAL;
	return src->ring.uring.ring_fd;
}

int vfmig_source_step(struct vfmig_source *s)
{
	if (!s || !s->external)
		return -EINVAL;
	if (s->finished)
		return s->result;
	if (handshake_running(&s->hs))
		tx_connect_step(s);
	else
		tx_loop_once(s, 0);
	if (!s->stop) {
		io_uring_submit(&s->ring.uring);
		return 1;
	}
	s->result = tx_finish(s);
	s->finished = true;
	return s->result;
}

int vfmig_source_times(const struct vfmig_source *s, struct vfmig_times *t)
{
	if (!s || !t || t->size < sizeof(*t))
		return -EINVAL;
	if (!s->t_finish_us || !s->t_devs_us)
		return -ENODATA;
	t->setup_us = s->t_first_us ? s->t_first_us - s->t_start_us : 0;
	t->transfer_us = s->t_finish_us - s->t_devs_us;
	memcpy(t->cpu, s->use, sizeof(t->cpu));
	return 0;
}

const char *vfmig_source_strerror(const struct vfmig_source *src)
{
	return src ? src->errmsg : "";
}

int vfmig_source_transfer(const struct vfmig_source *s, int dev,
			  struct vfmig_transfer *t)
{
	struct vfmig_transfer sum = { .size = sizeof(sum) };

	if (!s || dev >= (int)s->ndev || !t)
		return -EINVAL;
	for (unsigned i = 0; s->d && i < s->ndev; i++) {
		const struct vfmig_transfer *x = &s->d[i].t;

		if (dev < 0 || (unsigned)dev == i)
			transfer_add(&sum, x);
	}
	sum.state = dev >= 0 ? vfmig_device_get_state(s->devs[dev]) : 0;
	return transfer_out(t, &sum);
}

uint64_t vfmig_source_total_ms(const struct vfmig_source *s)
{
	return s ? session_total_ms(s->t_start, s->t_end, s->t_start_us,
				    s->t_finish_us) :
		   0;
}

uint64_t vfmig_source_downtime_ms(const struct vfmig_source *src)
{
	return (vfmig_source_downtime_us(src) + 500) / 1000;
}

uint64_t vfmig_source_downtime_us(const struct vfmig_source *src)
{
	return src && src->t_end_us && src->t_down_us ?
		       src->t_end_us - src->t_down_us :
		       0;
}

void vfmig_source_free(struct vfmig_source *s)
{
	if (!s)
		return;
	if (s->external && !s->finished) {
		/* given up mid-way: end it as a failure does (requests
		 * drained before their buffers go, devices running again,
		 * the destination told why) */
		tx_fail(s, ECANCELED, "the caller ended the migration");
		s->result = tx_finish(s);
		s->finished = true;
	}
	workers_free(s->workers);
	vfmig_stats_free(s->stats);
	if (s->ring.mode)
		ring_exit(&s->ring);
	session_close(&s->ss, false);
	close(s->cancel);
	for (unsigned i = 0; s->d && i < s->ndev; i++)
		free(s->d[i].pending);
	free(s->d);
	free(s->figs);
	free(s->slots);
	bufmem_free(s->mem, s->mem_len);
	free(s);
}

int vfmig_source_estimate(const struct vfmig_source *src,
			  struct vfmig_estimate *e)
{
	size_t n;

	if (!src || !e || e->size < sizeof(size_t))
		return -EINVAL;
	if (!src->est.size)
		return -EAGAIN;
	n = e->size < sizeof(src->est) ? e->size : sizeof(src->est);
	memcpy(e, &src->est, n);
	e->size = n;
	return src->est_ret;
}

const struct vfmig_stats *vfmig_source_stats(const struct vfmig_source *src)
{
	return src ? src->stats : NULL;
}

int vfmig_source_set_ram(struct vfmig_source *src, uint64_t pending,
			 uint64_t dirty_rate)
{
	if (!src)
		return -EINVAL;
	/* from any thread: the loop reads each at its next estimate (a
	 * pair torn between two calls is one estimate's worth of stale) */
	__atomic_store_n(&src->o.ram_pending, pending, __ATOMIC_RELAXED);
	__atomic_store_n(&src->o.ram_dirty_rate, dirty_rate, __ATOMIC_RELAXED);
	__atomic_add_fetch(&src->ram_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

int vfmig_source_switchover(struct vfmig_source *src)
{
	if (!src)
		return -EINVAL;
	/* from any thread: the loop's next turn (5 ms in pre-copy) sees it */
	__atomic_store_n(&src->switch_asked, true, __ATOMIC_RELAXED);
	return 0;
}

const char *vfmig_source_switchover_reason(const struct vfmig_source *src)
{
	return src ? src->switch_why : "";
}

int vfmig_source_link(const struct vfmig_source *src, char *ifname, size_t len,
		      uint64_t *bits_per_s)
{
	if (!src)
		return -EINVAL;
	if (src->ss.link_ret < 0 || !src->ss.link.bits_per_s)
		return src->ss.link_ret < 0 ? src->ss.link_ret : -ENOENT;
	if (ifname && len)
		snprintf(ifname, len, "%s", src->ss.link.name);
	if (bits_per_s)
		*bits_per_s = src->ss.link.bits_per_s;
	return 0;
}
