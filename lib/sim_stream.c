// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sim device's migration stream, served through a real pipe so the
 * pipeline reads it with read() or io_uring exactly like a VFIO data_fd.
 *
 * Format (little-endian; opaque to the pipeline):
 *   header  64 bytes: magic, version, page size, device size, page count,
 *           a check of the header
 *   record  32 bytes: magic, type, page count, first page (or for END the
 *           source's state hash), a check of the record header; then the
 *           pages.  A save session sends every page once (the initial
 *           data), then runs of pages dirtied behind the first pass, and in
 *           STOP_COPY an END record.
 * Payload is not checksummed per record: the destination compares the hash
 * of its whole restored state with the END record's at RESUMING->STOP, which
 * catches corruption, loss and reordering alike.
 *
 * The producer vmsplice()s pages straight from the state buffer (no copy);
 * a page dirtied while it sits in the pipe is marked and sent again, so the
 * last copy the destination sees is the final one.
 *
 * PRE_COPY "no data now" is either 0 (end=zero: the producer closes its
 * write end and reopens it through /proc/self/fd when it has data again) or,
 * for end=enomsg, a failed read: a pipe cannot fail with ENOMSG, so the read
 * end is non-blocking and the read fails with EAGAIN, the errno mlx5 gives
 * on a non-blocking fd.  Like mlx5's, that EAGAIN also comes while the
 * producer is still catching up; PRECOPY_INFO tells the two apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bytes.h"
#include "sim.h"
#include "thread.h"

#define SIM_MAGIC 0x31304d49534d4656ull /* "VFMSIM01" */
#define SIM_VERSION 1u
#define REC_MAGIC 0x43455253u /* "SREC" */
#define REC_PAGES 1u
#define REC_END 2u
#define SIM_PIPE_SIZE (1 << 20)
#define IDLE_POLL_MS 10

/* ------------------------------------------------------------ format */

static uint64_t pass_bytes(uint64_t pages)
{
	return pages * SIM_PAGE + (pages + SIM_REC_MAX_PAGES - 1) /
					  SIM_REC_MAX_PAGES * SIM_REC_LEN;
}

static void encode_header(const struct sim *s, unsigned char *h)
{
	memset(h, 0, SIM_HDR_LEN);
	put_le64(h, SIM_MAGIC);
	put_le32(h + 8, SIM_VERSION);
	put_le32(h + 12, SIM_PAGE);
	put_le64(h + 16, s->cfg.size);
	put_le64(h + 24, s->npages);
	put_le64(h + 56, vfmig_hash64(h, 56, SIM_MAGIC));
}

static void encode_record(unsigned char *r, uint32_t type, uint32_t count,
			  uint64_t arg)
{
	memset(r, 0, SIM_REC_LEN);
	put_le32(r, REC_MAGIC);
	put_le16(r + 4, (uint16_t)type);
	put_le32(r + 8, count);
	put_le64(r + 16, arg);
	put_le64(r + 24, vfmig_hash64(r, 24, REC_MAGIC));
}

/* The first run of set bits at or after @from, capped at @max bits. */
static bool next_run(const uint64_t *map, uint64_t nbits, uint64_t from,
		     uint64_t max, uint64_t *start, uint64_t *len)
{
	uint64_t i = from, n = 0;

	while (i < nbits) {
		uint64_t w = map[i / 64] >> (i % 64);

		if (!w) {
			i = (i / 64 + 1) * 64;
			continue;
		}
		i += (uint64_t)__builtin_ctzll(w);
		break;
	}
	if (i >= nbits)
		return false;
	*start = i;
	while (i < nbits && n < max && (map[i / 64] >> (i % 64)) & 1) {
		i++;
		n++;
	}
	*len = n;
	return true;
}

/* Stream bytes the dirty bitmap will produce, as the producer cuts it. */
static uint64_t dirty_stream_bytes(const struct sim *s)
{
	uint64_t at = 0, start, len, total = 0;

	while (next_run(s->dirty, s->npages, at, UINT64_MAX, &start, &len)) {
		total += pass_bytes(len);
		at = start + len;
	}
	return total;
}

static uint64_t unread_in_pipe(const struct sim_save *sv)
{
	int n = 0;

	if (ioctl(sv->rfd, FIONREAD, &n) < 0 || n < 0)
		return 0;
	return (uint64_t)n;
}

void sim_save_pending(struct sim *s, uint64_t *initial, uint64_t *rest)
{
	struct sim_save *sv = s->save;
	uint64_t unread = unread_in_pipe(sv), read_pos, total;

	/* The producer may be mid-write: clamp what the race can skew. */
	read_pos = sv->written;
	read_pos = read_pos > unread ? read_pos - unread : 0;
	if (read_pos > sv->built)
		read_pos = sv->built;

	total = sv->built - read_pos;
	if (!sv->header_sent)
		total += SIM_HDR_LEN;
	total += pass_bytes(s->npages - sv->cursor) + dirty_stream_bytes(s);
	*initial = read_pos < sv->initial_len ? sv->initial_len - read_pos : 0;
	if (*initial > total)
		*initial = total;
	*rest = total - *initial;
}

uint64_t sim_stopcopy_bytes(struct sim *s)
{
	uint64_t initial, rest;

	if (!s->save || s->save->broken)
		return SIM_HDR_LEN + pass_bytes(s->npages) + SIM_REC_LEN;
	sim_save_pending(s, &initial, &rest);
	return initial + rest + (s->save->end_sent ? 0 : SIM_REC_LEN);
}

/* ---------------------------------------------------------- threads */

static void kick(int evfd)
{
	uint64_t one = 1;

	if (write(evfd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: a wakeup is pending anyway */
	}
}

/* Sleep until @fd is ready for @events, a kick, or @ms. */
static void wait_for(int fd, short events, int evfd, int ms)
{
	struct pollfd p[2] = { { .fd = evfd, .events = POLLIN },
			       { .fd = fd, .events = events } };
	uint64_t v;

	if (poll(p, fd >= 0 ? 2 : 1, ms) > 0 && p[0].revents) {
		if (read(evfd, &v, sizeof(v)) < 0) {
			/* nothing pending: fine */
		}
	}
}

/* Sleep @ns, or until a kick. */
static void sleep_ns(int evfd, uint64_t ns)
{
	struct pollfd p = { .fd = evfd, .events = POLLIN };
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	uint64_t v;

	if (ppoll(&p, 1, &ts, NULL) > 0 && read(evfd, &v, sizeof(v)) < 0) {
		/* nothing pending: fine */
	}
}

/*
 * faults=slow:RATE: @n more bytes moved; wait until they are due at the
 * rate.  @due (ns) carries the schedule from call to call.  After the
 * device waited on its peer (nothing to make yet, a full or an empty
 * pipe), pace_waited() moves it up to now, so an idle device gets no
 * credit to burst with afterwards, as a slow device has none.  A wait of
 * its own that overran (a busy CPU) is made up by the next bytes going out
 * without one, so the device keeps its rate on a loaded machine.  A kick
 * on @evfd ends a wait early (the caller looks again).
 */
static void pace(const struct sim *s, uint64_t *due, uint64_t n, int evfd)
{
	uint64_t now = sim_now_ns();

	if (!*due) /* the first bytes */
		*due = now;
	*due += (uint64_t)((unsigned __int128)n * 1000000000ull /
			   s->cfg.slow_rate);
	if (*due > now)
		sleep_ns(evfd, *due - now);
}

static void pace_waited(uint64_t *due)
{
	uint64_t now = sim_now_ns();

	if (*due < now)
		*due = now;
}

static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* Bigger pipes mean fewer wakeups; the default is 64 KiB. */
	fcntl(fds[0], F_SETPIPE_SZ, SIM_PIPE_SIZE);
	return 0;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* end=zero: give the pipe a writer again so reads stop returning 0. */
static int reopen_writer(struct sim_save *sv)
{
	char path[64];

	if (sv->wfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sv->rfd);
	sv->wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	return sv->wfd < 0 ? -errno : 0;
}

struct chunk {
	unsigned char head[SIM_HDR_LEN];
	size_t head_len;
	unsigned char *pay;
	size_t pay_len;
};

/* Describe the next piece of the stream; false when there is none now. */
static bool build_chunk(struct sim *s, struct sim_save *sv, struct chunk *c)
{
	uint64_t start, len;

	c->pay = NULL;
	c->pay_len = 0;
	if (!sv->header_sent) {
		encode_header(s, c->head);
		c->head_len = SIM_HDR_LEN;
		sv->header_sent = true;
		return true;
	}
	c->head_len = SIM_REC_LEN;
	if (sv->cursor < s->npages) {
		len = s->npages - sv->cursor;
		if (len > SIM_REC_MAX_PAGES)
			len = SIM_REC_MAX_PAGES;
		start = sv->cursor;
		sv->cursor += len;
	} else if (next_run(s->dirty, s->npages, 0, SIM_REC_MAX_PAGES, &start,
			    &len)) {
		for (uint64_t p = start; p < start + len; p++)
			s->dirty[p / 64] &= ~(1ull << (p % 64));
	} else if (s->state == VFMIG_STATE_STOP_COPY && !sv->end_sent) {
		/* Every page was sent with its final content, and hashed
		 * then (a page dirtied after its last send is sent again). */
		encode_record(c->head, REC_END, 0,
			      s->cfg.check ? sim_hash_of_pages(s) : 0);
		sv->end_sent = true;
		return true;
	} else {
		return false;
	}
	for (uint64_t p = start; s->cfg.check && p < start + len; p++)
		s->page_hash[p] = sim_page_hash(s->mem + p * SIM_PAGE);
	encode_record(c->head, REC_PAGES, (uint32_t)len, start);
	c->pay = s->mem + start * SIM_PAGE;
	c->pay_len = len * SIM_PAGE;
	return true;
}

/*
 * Write @len bytes: copied (headers) or spliced from the state buffer.
 * Each write and its count move together under s->lock, so PRECOPY_INFO
 * never sees bytes in (or already out of) the pipe that "written" misses.
 * The writes don't block: the lock is dropped to wait for room.  A slow
 * device (faults=slow) paces every write, a pipe's worth at most, so
 * that neither a chunk nor a stop-copy goes out faster than its rate.
 */
static int push(struct sim *s, struct sim_save *sv, unsigned char *p,
		size_t len, bool splice)
{
	while (len) {
		struct iovec iov = { .iov_base = p, .iov_len = len };
		ssize_t n;
		int err;

		pthread_mutex_lock(&s->lock);
		n = splice ? vmsplice(sv->wfd, &iov, 1, SPLICE_F_NONBLOCK) :
			     write(sv->wfd, p, len);
		err = errno;
		if (n > 0)
			sv->written += (uint64_t)n;
		pthread_mutex_unlock(&s->lock);

		if (n < 0 && err == EAGAIN) {
			if (sv->stop)
				return -ECANCELED;
			wait_for(sv->wfd, POLLOUT, sv->evfd, -1);
			pace_waited(&sv->pace_due); /* on the reader */
			continue;
		}
		if (n < 0 && err == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -err : -EPIPE;
		p += n;
		len -= (size_t)n;
		if (s->cfg.slow_rate) {
			pace(s, &sv->pace_due, (uint64_t)n, sv->evfd);
			if (sv->stop)
				return -ECANCELED;
		}
	}
	return 0;
}

/* The stream broke (faults=eio:N): the device fails, the fd ends early. */
static void break_stream(struct sim *s, struct sim_save *sv)
{
	sv->broken = true;
	s->state = VFMIG_STATE_ERROR;
	if (sv->wfd >= 0)
		close(sv->wfd);
	sv->wfd = -1;
}

static void *producer(void *arg)
{
	struct sim *s = arg;
	struct sim_save *sv = s->save;
	struct chunk c;
	int ret;

	pthread_mutex_lock(&s->lock);
	while (!sv->stop && !sv->broken) {
		size_t total;

		sim_apply_dirty(s);
		if (!build_chunk(s, sv, &c)) {
			if (sv->end_sent)
				break;
			if (s->cfg.end == SIM_END_ZERO && sv->wfd >= 0) {
				close(sv->wfd);
				sv->wfd = -1;
			}
			pthread_mutex_unlock(&s->lock);
			wait_for(-1, 0, sv->evfd, IDLE_POLL_MS);
			pace_waited(&sv->pace_due); /* idle */
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (reopen_writer(sv) < 0) {
			break_stream(s, sv);
			break;
		}
		total = c.head_len + c.pay_len;
		if (s->cfg.eio_after && sv->built + total >= s->cfg.eio_after) {
			size_t keep = (size_t)(s->cfg.eio_after - sv->built);

			if (keep < c.head_len) {
				c.head_len = keep;
				c.pay_len = 0;
			} else {
				c.pay_len = keep - c.head_len;
			}
			total = keep;
		}
		sv->built += total;
		pthread_mutex_unlock(&s->lock);

		ret = push(s, sv, c.head, c.head_len, false);
		if (!ret)
			ret = push(s, sv, c.pay, c.pay_len, true);

		pthread_mutex_lock(&s->lock);
		if (ret < 0)
			break;
		if (s->cfg.eio_after && sv->written >= s->cfg.eio_after) {
			break_stream(s, sv);
			break;
		}
	}
	/* Done: the reader sees the rest of the pipe, then 0 for good. */
	if (sv->wfd >= 0 && (sv->end_sent || sv->broken)) {
		close(sv->wfd);
		sv->wfd = -1;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A session's pipe and the eventfd that wakes its thread. */
static int session_fds(int fds[2], int *evfd)
{
	int ret = make_pipe(fds);

	if (ret < 0)
		return ret;
	*evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*evfd < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
	}
	return ret;
}

static void session_fds_close(int fds[2], int evfd)
{
	close(fds[0]);
	close(fds[1]);
	close(evfd);
}

int sim_save_start(struct sim *s, int *data_fd)
{
	struct sim_save *sv = calloc(1, sizeof(*sv));
	int fds[2], ret;

	if (!sv)
		return -ENOMEM;
	ret = session_fds(fds, &sv->evfd);
	if (ret < 0) {
		free(sv);
		return ret;
	}
	sv->rfd = fds[0];
	sv->wfd = fds[1];
	set_nonblock(sv->wfd, true);
	/* A slow device makes its data as it is read: a big pipe would
	 * hand a reader what piled up meanwhile, at a memory copy's speed. */
	if (s->cfg.slow_rate)
		fcntl(sv->wfd, F_SETPIPE_SZ, 65536);
	/* end=enomsg: an empty PRE_COPY stream fails the read (EAGAIN). */
	if (s->cfg.end == SIM_END_ENOMSG && s->state != VFMIG_STATE_STOP_COPY)
		set_nonblock(sv->rfd, true);
	sv->initial_len = SIM_HDR_LEN + pass_bytes(s->npages);
	memset(s->dirty, 0, (s->npages + 63) / 64 * sizeof(uint64_t));
	s->save = sv;
	ret = thread_start(&sv->thread, "vfmig-sim-save", NULL, producer, s);
	if (ret < 0) {
		s->save = NULL;
		session_fds_close(fds, sv->evfd);
		free(sv);
		return ret;
	}
	*data_fd = sv->rfd;
	return 0;
}

void sim_save_stopcopy(struct sim *s)
{
	struct sim_save *sv = s->save;

	if (!sv)
		return;
	/* STOP_COPY reads block until data or the end, as mlx5's do. */
	set_nonblock(sv->rfd, false);
	/* Never let a reader see 0 before the END record in STOP_COPY. */
	if (!sv->broken && reopen_writer(sv) < 0)
		break_stream(s, sv);
	kick(sv->evfd);
}

/* Called with s->lock held; drops it while the producer exits. */
void sim_save_stop(struct sim *s)
{
	struct sim_save *sv = s->save;

	if (!sv)
		return;
	sv->stop = true;
	kick(sv->evfd);
	pthread_mutex_unlock(&s->lock);
	pthread_join(sv->thread, NULL);
	pthread_mutex_lock(&s->lock);
	if (sv->wfd >= 0)
		close(sv->wfd);
	close(sv->evfd);
	/* sv->rfd is the session's data_fd: device.c closes it. */
	s->save = NULL;
	free(sv);
}

/* --------------------------------------------------------- resuming */

static void parse_error(struct sim_resume *rs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void parse_error(struct sim_resume *rs, const char *fmt, ...)
{
	va_list ap;

	if (rs->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(rs->error, sizeof(rs->error), fmt, ap);
	va_end(ap);
}

static void check_header(struct sim *s, struct sim_resume *rs)
{
	const unsigned char *h = rs->hdr;

	if (get_le64(h) != SIM_MAGIC)
		return parse_error(rs, "not a sim device stream (bad magic)");
	if (get_le64(h + 56) != vfmig_hash64(h, 56, SIM_MAGIC))
		return parse_error(rs, "stream header is corrupt");
	if (get_le32(h + 8) != SIM_VERSION)
		return parse_error(rs, "stream version %u, expected %u",
				   get_le32(h + 8), SIM_VERSION);
	if (get_le64(h + 16) != s->cfg.size)
		return parse_error(
			rs,
			"stream is for a device of %llu bytes, this device has %llu",
			(unsigned long long)get_le64(h + 16),
			(unsigned long long)s->cfg.size);
	if (get_le32(h + 12) != SIM_PAGE || get_le64(h + 24) != s->npages)
		return parse_error(rs, "stream header is inconsistent");
	rs->header_ok = true;
}

static void check_record(struct sim *s, struct sim_resume *rs)
{
	const unsigned char *r = rs->rec;
	uint32_t type = get_le16(r + 4), count = get_le32(r + 8);
	uint64_t arg = get_le64(r + 16);

	if (get_le32(r) != REC_MAGIC ||
	    get_le64(r + 24) != vfmig_hash64(r, 24, REC_MAGIC))
		return parse_error(
			rs, "corrupt record header at stream byte %llu",
			(unsigned long long)(rs->received - SIM_REC_LEN));
	if (type == REC_END && !count) {
		rs->end_seen = true;
		rs->src_hash = arg;
	} else if (type == REC_PAGES && count && count <= SIM_REC_MAX_PAGES &&
		   arg < s->npages && count <= s->npages - arg) {
		rs->payload_off = arg * SIM_PAGE;
		rs->payload_left = (uint64_t)count * SIM_PAGE;
	} else {
		parse_error(rs, "bad record (type %u, %u pages at page %llu)",
			    type, count, (unsigned long long)arg);
	}
}

/* Where the next bytes go, and how many are wanted there. */
static unsigned char *next_target(struct sim *s, struct sim_resume *rs,
				  unsigned char *discard, size_t *want)
{
	if (rs->error[0] || rs->end_seen) {
		*want = 65536;
		return discard;
	}
	if (!rs->header_ok) {
		*want = SIM_HDR_LEN - rs->hdr_have;
		return rs->hdr + rs->hdr_have;
	}
	if (rs->payload_left) {
		*want = rs->payload_left > SIM_PIPE_SIZE ? SIM_PIPE_SIZE :
							   rs->payload_left;
		return s->mem + rs->payload_off;
	}
	*want = SIM_REC_LEN - rs->rec_have;
	return rs->rec + rs->rec_have;
}

static void consumed(struct sim *s, struct sim_resume *rs, size_t n)
{
	bool was_end = rs->end_seen;

	rs->received += n;
	if (rs->error[0])
		return;
	if (was_end)
		return parse_error(rs, "data after the END record");
	if (!rs->header_ok) {
		rs->hdr_have += (unsigned)n;
		if (rs->hdr_have == SIM_HDR_LEN)
			check_header(s, rs);
	} else if (rs->payload_left) {
		uint64_t from = rs->payload_off, to = from + n;

		/* hash each page this read completed */
		for (uint64_t p = (from + SIM_PAGE - 1) / SIM_PAGE;
		     s->cfg.check && (p + 1) * SIM_PAGE <= to; p++)
			s->page_hash[p] = sim_page_hash(s->mem + p * SIM_PAGE);
		if (s->cfg.check && from % SIM_PAGE &&
		    to / SIM_PAGE > from / SIM_PAGE) {
			uint64_t p = from / SIM_PAGE;

			s->page_hash[p] = sim_page_hash(s->mem + p * SIM_PAGE);
		}
		rs->payload_left -= n;
		rs->payload_off += n;
	} else {
		rs->rec_have += (unsigned)n;
		if (rs->rec_have == SIM_REC_LEN) {
			rs->rec_have = 0;
			check_record(s, rs);
		}
	}
}

static void *consumer(void *arg)
{
	struct sim *s = arg;
	struct sim_resume *rs = s->resume;
	unsigned char *discard = malloc(65536);
	uint64_t due = 0;

	while (!rs->stop) {
		size_t want;
		unsigned char *to = next_target(s, rs, discard, &want);
		/* Sampled before the read: an empty pipe ends the stream only
		 * if every write was made before we looked at it. */
		bool finishing = rs->finish;
		ssize_t n;

		if (!to) { /* no discard buffer: fail rather than stall */
			parse_error(rs, "out of memory");
			break;
		}
		/* faults=eio:N: the device takes N bytes, then no more; the
		 * writer's next write fails (EPIPE, the pipe has no reader) */
		if (s->cfg.eio_after && rs->received >= s->cfg.eio_after) {
			parse_error(rs,
				    "write fault after %llu bytes (injected)",
				    (unsigned long long)rs->received);
			close(rs->rfd);
			rs->rfd = -1;
			break;
		}
		if (s->cfg.eio_after && want > s->cfg.eio_after - rs->received)
			want = (size_t)(s->cfg.eio_after - rs->received);
		n = read(rs->rfd, to, want);
		if (n > 0) {
			consumed(s, rs, (size_t)n);
			/* faults=slow:RATE: a device that loads slowly */
			if (s->cfg.slow_rate && !rs->stop)
				pace(s, &due, (uint64_t)n, rs->evfd);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			parse_error(rs, "reading the stream: %s",
				    errno_name(errno));
			break;
		}
		/* Empty pipe: done once every write has been made. */
		if (finishing)
			break;
		wait_for(rs->rfd, POLLIN, rs->evfd, -1);
		pace_waited(&due); /* on the writer */
	}
	free(discard);
	return NULL;
}

int sim_resume_start(struct sim *s, int *data_fd)
{
	struct sim_resume *rs = calloc(1, sizeof(*rs));
	int fds[2], ret;

	if (!rs)
		return -ENOMEM;
	ret = session_fds(fds, &rs->evfd);
	if (ret < 0) {
		free(rs);
		return ret;
	}
	rs->rfd = fds[0];
	rs->wfd = fds[1];
	set_nonblock(rs->rfd, true);
	/* A device that loads slowly takes a write as it loads it: a big
	 * pipe in front would make it look fast while the pipe fills. */
	if (s->cfg.slow_rate)
		fcntl(rs->wfd, F_SETPIPE_SZ, 65536);
	s->resume = rs;
	ret = thread_start(&rs->thread, "vfmig-sim-load", NULL, consumer, s);
	if (ret < 0) {
		s->resume = NULL;
		session_fds_close(fds, rs->evfd);
		free(rs);
		return ret;
	}
	*data_fd = rs->wfd;
	return 0;
}

static void resume_end(struct sim *s, bool finish)
{
	struct sim_resume *rs = s->resume;

	if (finish)
		rs->finish = true;
	else
		rs->stop = true;
	kick(rs->evfd);
	pthread_mutex_unlock(&s->lock);
	pthread_join(rs->thread, NULL);
	pthread_mutex_lock(&s->lock);
}

int sim_resume_finish(struct sim *s, char *why, size_t why_size)
{
	struct sim_resume *rs = s->resume;
	uint64_t hash;
	int ret = -EINVAL;

	if (!rs)
		return set_errbuf(why, why_size, EINVAL, "no resume session");
	resume_end(s, true);
	if (rs->error[0]) {
		snprintf(why, why_size, "sim stream rejected: %s", rs->error);
	} else if (!rs->header_ok || rs->payload_left || rs->rec_have ||
		   !rs->end_seen) {
		snprintf(why, why_size,
			 "sim stream truncated: %llu bytes and no END record",
			 (unsigned long long)rs->received);
	} else if (s->cfg.check && !rs->src_hash) {
		snprintf(
			why, why_size,
			"sim stream carries no state hash (the source has check=off)");
	} else if (s->cfg.check &&
		   (hash = sim_hash_of_pages(s)) != rs->src_hash) {
		snprintf(
			why, why_size,
			"restored state hash %016llx differs from the source's %016llx",
			(unsigned long long)hash,
			(unsigned long long)rs->src_hash);
	} else {
		ret = 0;
	}
	if (rs->rfd >= 0)
		close(rs->rfd);
	close(rs->evfd);
	/* rs->wfd is the session's data_fd: device.c closes it. */
	s->resume = NULL;
	free(rs);
	return ret;
}

void sim_resume_stop(struct sim *s)
{
	struct sim_resume *rs = s->resume;

	if (!rs)
		return;
	resume_end(s, false);
	if (rs->rfd >= 0)
		close(rs->rfd);
	close(rs->evfd);
	s->resume = NULL;
	free(rs);
}
