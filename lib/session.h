/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A session's set-up, both ends side by side: the source connects its
 * channels, says HELLO on each, takes the ACCEPTs and sends the manifest
 * (session_connect()); the destination accepts the channels, answers each
 * HELLO, and checks the manifest against its devices (session_accept()).
 * Blocking, each wait bounded by the timeout and the cancel eventfd; the
 * pipelines' event loops start on what they agreed.
 */
#ifndef VFMIG_LIB_SESSION_H
#define VFMIG_LIB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "conn.h"
#include "link.h"
#include "util.h"
#include "vfmig.h"
#include "wire.h"

/* Defaults of struct vfmig_stream_opts, the same at both ends. */
#define SESSION_DEFAULT_MEMORY (64ull << 20)
#define SESSION_DEFAULT_TIMEOUT_MS 30000
/* a destination's bound on a pre-copy (the source's own gives up at 120 s) */
#define SESSION_DEFAULT_PRECOPY_MAX_MS (600ull * 1000)
#define SESSION_DEFAULT_DOWNTIME_LIMIT_MS VFMIG_DOWNTIME_LIMIT_DEFAULT_MS

/* A session's channels and what its ends agreed. */
struct session {
	/* the caller's, before set-up */
	const char *uri;
	const struct vfmig_tls *tls;
	struct vfmig_device *const *devs;
	unsigned ndev;
	int timeout_ms;
	int cancel; /* an eventfd: its count cancels every wait */
	uint64_t memory; /* destination: its buffers' bound */
	uint32_t offer; /* destination: the capabilities it supports */

	/* the channels: the session's, closed by session_close() */
	unsigned nchan;
	struct conn c[CHAN_MAX];
	bool socket[CHAN_MAX];
	bool file; /* nobody answers: a file, or an fd that is no socket */
	int pre[CHAN_MAX]; /* source, tcp: sockets made early, unconnected */
	int lfd, port; /* destination: the listener, its tcp port */

	/* agreed */
	uint8_t id[16];
	uint32_t caps;
	uint32_t max_chunk; /* the largest raw_len a DATA frame may carry */
	uint64_t rtt_us; /* source: every HELLO out to the first ACCEPT */
	uint64_t t_open_ms, t_open_us; /* destination: the first HELLO */
	struct link_info link; /* source, tcp: the link under channel 0 */
	int link_ret;
	/* destination: the source's device i is devs[map[i]] */
	unsigned map[WIRE_MAX_DEVICES];

	/* the first failure: errno, reason, the ERROR code the peer is told
	 * (destination), and whether the peer said why or was told (no
	 * ERROR is due then) */
	int err;
	enum wire_code code;
	bool told;
	char why[512];
	/* destination: another session's connection refused meanwhile */
	struct wire_hello first;
	char stray[160];
};

/*
 * The destination's buffers: a reserve slot per channel and at least
 * SESSION_RX_MIN_SHARED shared ones, each two chunks (encoded and
 * decoded) of at least SESSION_RX_MIN_CHUNK; the chunk it accepts is
 * what --memory affords.
 */
#define SESSION_RX_MIN_SHARED 2u
#define SESSION_RX_MIN_CHUNK (64u << 10)

/* Fields to their "none"; the caller then fills the first block. */
void session_init(struct session *ss);
/* Source, tcp: the channels' sockets now, sized for streaming (buffers
 * above net.core.wmem_max take CAP_NET_ADMIN, which a caller may drop
 * after this); @n of them.  A name that does not resolve is told later,
 * by session_connect(). */
void session_prepare(struct session *ss, unsigned n);
/* Source: open @nchan channels (fewer for fd: and file:), HELLO on each
 * with @caps and @max_chunk, take the ACCEPTs (the agreed caps and chunk
 * land in @ss), send the manifest and wait for its ack.  0 or -errno,
 * with ss->why. */
int session_connect(struct session *ss, unsigned nchan, uint32_t caps,
		    uint32_t max_chunk);
/* Source, a dry run (@caps had WIRE_CAP_PREFLIGHT) once connected: DONE,
 * and the destination's DONE.  0 or -errno, with ss->why. */
int session_preflight_end(struct session *ss);
/* Destination, tcp and unix: listen now (a caller learns the port before
 * the source connects).  0 (also for file: and fd:), or -errno. */
int session_listen(struct session *ss);
/* Destination: take the channels, answer each HELLO with what ss->offer
 * and ss->memory allow, and check the manifest against ss->devs: 0 or
 * -errno with ss->why and ss->code.  A dry run's session is answered and
 * ended here, without touching a device; the next one is awaited. */
int session_accept(struct session *ss);
/* The first channel that can hear an ERROR, or NULL (a file). */
const struct conn *session_told_on(const struct session *ss);
/* Close every channel and socket; @sync: fsync a file first (0 or
 * -errno of that). */
int session_close(struct session *ss, bool sync);

/* What the source tells the destination about its devices. */
void manifest_build(struct vfmig_device *const *devs, unsigned n,
		    struct wire_device *out);
/* Devices are matched by id: -EINVAL naming two of @devs that share one. */
int manifest_ids_unique(struct vfmig_device *const *devs, unsigned n, char *why,
			size_t why_size);
/* The destination's check: every id on both sides, once, and kind and
 * identity per matched pair; @map[i] is the local device of the
 * source's device i. */
int manifest_check(const struct wire_device *got, int n,
		   struct vfmig_device *const *devs, unsigned ndev,
		   unsigned *map, char *why, size_t why_size);

/* Where @o (of the caller's @o->size) wants *_new()'s reason: NULL and
 * 0 when it has no room for it. */
char *session_opts_errbuf(const struct vfmig_stream_opts *o, size_t *size);
/* What vfmig_source_new() and vfmig_sink_new() both check: options
 * (their size, a uri), somewhere to put the result, and @devs (a count,
 * ids unique).  0, or -EINVAL with the reason in *@why (the caller's
 * errbuf, NULL when it has none). */
int session_check_new(const struct vfmig_stream_opts *o, const void *out,
		      struct vfmig_device *const *devs, unsigned n, char **why,
		      size_t *why_size);
/* The cancel eventfd of a source or sink: an fd, or -errno saying so. */
int session_cancel_fd(char *why, size_t why_size);

/* A 128-bit random session id. */
void session_id(uint8_t id[16]);

/* How long a run took, in ms: from @start_ms to @end_ms when it ended
 * (migrated), else from @start_us to @finish_us rounded up (a failure;
 * a refusal is quick, and not 0); 0 before it ran. */
uint64_t session_total_ms(uint64_t start_ms, uint64_t end_ms, uint64_t start_us,
			  uint64_t finish_us);

/* Add @x's byte and frame counts to @sum. */
void transfer_add(struct vfmig_transfer *sum, const struct vfmig_transfer *x);
/* @t (the library's, whole) into the caller's @out, as much as its size
 * says; -EINVAL when it cannot hold raw_bytes. */
int transfer_out(struct vfmig_transfer *out, const struct vfmig_transfer *t);

#endif
