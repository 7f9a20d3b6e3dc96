// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What both ends of a session share: the manifest (built at the source,
 * checked at the destination), the session id, and transfer sums.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "errors.h"
#include "session.h"
#include "tls.h"

/* ids and identities travel in the manifest, as they are */
_Static_assert(DEVICE_NAME_MAX - 1 == WIRE_MAX_NAME, "id lengths");
_Static_assert(DEVICE_IDENT_MAX == WIRE_MAX_IDENT, "identity lengths");

void manifest_build(struct vfmig_device *const *devs, unsigned n,
		    struct wire_device *out)
{
	for (unsigned i = 0; i < n; i++) {
		struct vfmig_device *d = devs[i];
		int flags = vfmig_device_migration_flags(d);
		uint64_t size = 0;
		char pos[16];

		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].name, sizeof(out[i].name), "%s",
			 device_id_or(d, i, pos, sizeof(pos)));
		snprintf(out[i].kind, sizeof(out[i].kind), "%.*s",
			 (int)WIRE_MAX_KIND, vfmig_device_backend(d));
		snprintf(out[i].ident, sizeof(out[i].ident), "%s",
			 vfmig_device_identity(d));
		out[i].flags = flags > 0 ? (uint32_t)flags : 0;
		if (vfmig_device_stopcopy_size(d, &size) == 0)
			out[i].size = size;
	}
}

int manifest_ids_unique(struct vfmig_device *const *devs, unsigned n, char *why,
			size_t ws)
{
	char a[16], b[16];

	for (unsigned i = 0; i < n; i++) {
		const char *id = device_id_or(devs[i], i, a, sizeof(a));

		for (unsigned j = 0; j < i; j++)
			if (!strcmp(id, device_id_or(devs[j], j, b, sizeof(b))))
				return set_errbuf(
					why, ws, EINVAL,
					"devices %u and %u have the same id '%s'",
					j, i, id);
	}
	return 0;
}

/* Our ids, "gpu0, gpu1", for a message. */
static void our_ids(struct vfmig_device *const *devs, unsigned n, char *buf,
		    size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && at + 1 < size; i++) {
		char pos[16];
		int w = snprintf(buf + at, size - at, "%s%s", i ? ", " : "",
				 device_id_or(devs[i], i, pos, sizeof(pos)));

		at += w > 0 ? (size_t)w : 0;
	}
}

/* The local device with id @id, or -1. */
static int find_id(struct vfmig_device *const *devs, unsigned n, const char *id)
{
	char pos[16];

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(device_id_or(devs[i], i, pos, sizeof(pos)), id))
			return (int)i;
	return -1;
}

int manifest_check(const struct wire_device *got, int n,
		   struct vfmig_device *const *devs, unsigned ndev,
		   unsigned *map, char *why, size_t ws)
{
	char ours[256], pos[16];
	bool taken[WIRE_MAX_DEVICES] = { false };

	our_ids(devs, ndev, ours, sizeof(ours));
	for (int i = 0; i < n; i++) {
		int j = find_id(devs, ndev, got[i].name);

		for (int k = 0; k < i; k++)
			if (!strcmp(got[k].name, got[i].name))
				return set_errbuf(
					why, ws, EINVAL,
					"the source names device %s twice",
					got[i].name);
		if (j < 0)
			return set_errbuf(
				why, ws, EINVAL,
				"the source's device %s (%s %s) has no device with that id here (this side has %s)",
				got[i].name, got[i].kind,
				got[i].ident[0] ? got[i].ident : "-", ours);
		map[i] = (unsigned)j;
		taken[j] = true;
	}
	for (unsigned j = 0; j < ndev; j++)
		if (!taken[j])
			return set_errbuf(
				why, ws, EINVAL,
				"device %s here is not in the source's manifest (the source sends %d device%s, this side has %u)",
				device_id_or(devs[j], j, pos, sizeof(pos)), n,
				n == 1 ? "" : "s", ndev);
	for (int i = 0; i < n; i++) {
		const struct vfmig_device *d = devs[map[i]];

		const char *kind = vfmig_device_backend(d);
		const char *ident = vfmig_device_identity(d);

		if (strcmp(got[i].kind, kind) || strcmp(got[i].ident, ident))
			return set_errbuf(
				why, ws, EINVAL,
				"device %s: the source's is %s %s, this side's is %s %s (%s)",
				got[i].name, got[i].kind,
				got[i].ident[0] ? got[i].ident : "-", kind,
				ident[0] ? ident : "-", vfmig_device_name(d));
	}
	return 0;
}

void session_id(uint8_t id[16])
{
	uint64_t t = now_ms();

	/* Unique per session is what matters; getrandom is best. */
	if (getrandom(id, 16, GRND_NONBLOCK) != 16) {
		for (int i = 0; i < 16; i++)
			id[i] = (uint8_t)((t >> (i % 8 * 8)) ^
					  (uint64_t)getpid() ^
					  (uint64_t)i * 131);
	}
}

uint64_t session_total_ms(uint64_t start_ms, uint64_t end_ms, uint64_t start_us,
			  uint64_t finish_us)
{
	if (end_ms)
		return end_ms - start_ms;
	return finish_us && start_us ? (finish_us - start_us + 999) / 1000 : 0;
}

int transfer_out(struct vfmig_transfer *out, const struct vfmig_transfer *t)
{
	size_t n;

	if (out->size <
	    offsetof(struct vfmig_transfer, raw_bytes) + sizeof(out->raw_bytes))
		return -EINVAL;
	n = out->size < sizeof(*t) ? out->size : sizeof(*t);
	memcpy(out, t, n);
	out->size = n;
	return 0;
}

void transfer_add(struct vfmig_transfer *sum, const struct vfmig_transfer *x)
{
	sum->raw_bytes += x->raw_bytes;
	sum->wire_bytes += x->wire_bytes;
	sum->precopy_bytes += x->precopy_bytes;
	sum->stopcopy_bytes += x->stopcopy_bytes;
	sum->frames += x->frames;
}

/* ------------------------------------------------------------ both */

char *session_opts_errbuf(const struct vfmig_stream_opts *o, size_t *size)
{
	*size = 0;
	if (!o ||
	    o->size < offsetof(struct vfmig_stream_opts, errbuf_size) +
			      sizeof(o->errbuf_size) ||
	    !o->errbuf)
		return NULL;
	*size = o->errbuf_size;
	return o->errbuf;
}

int session_check_new(const struct vfmig_stream_opts *o, const void *out,
		      struct vfmig_device *const *devs, unsigned n, char **whyp,
		      size_t *wsp)
{
	size_t ws;
	char *why = session_opts_errbuf(o, &ws);

	*whyp = why;
	*wsp = ws;
	if (!o || o->size < sizeof(size_t) || !out)
		return set_errbuf(why, ws, EINVAL,
				  "no options, or nowhere to put the result");
	if (!o->uri)
		return set_errbuf(why, ws, EINVAL, "uri: none given");
	if (!devs || !n)
		return set_errbuf(why, ws, EINVAL, "no devices");
	if (o->size >= offsetof(struct vfmig_stream_opts, codec) +
			       sizeof(o->codec) &&
	    (unsigned)o->codec > VFMIG_CODEC_AUTO)
		return set_errbuf(
			why, ws, EINVAL,
			"codec %u: expected 0 (none), 1 (zstd) or 2 (auto)",
			(unsigned)o->codec);
	if (n > WIRE_MAX_DEVICES)
		return set_errbuf(why, ws, EINVAL,
				  "%u devices: at most %u in a session", n,
				  WIRE_MAX_DEVICES);
	for (unsigned i = 0; i < n; i++)
		if (!devs[i])
			return set_errbuf(why, ws, EINVAL, "device %u is NULL",
					  i);
	return manifest_ids_unique(devs, n, why, ws);
}

int session_cancel_fd(char *why, size_t ws)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return set_errbuf(why, ws, errno, "the cancel eventfd: %s",
				  errno_name(errno));
	return fd;
}

static int ss_fail(struct session *ss, enum wire_code code, int err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The first failure is the session's. */
static int ss_fail(struct session *ss, enum wire_code code, int err,
		   const char *fmt, ...)
{
	va_list ap;

	if (!ss->err) {
		va_start(ap, fmt);
		vsnprintf(ss->why, sizeof(ss->why), fmt, ap);
		va_end(ap);
		ss->err = err < 0 ? err : -err;
		ss->code = code;
	}
	return ss->err;
}

void session_init(struct session *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->cancel = -1;
	ss->lfd = -1;
	ss->port = -1;
	ss->link_ret = -ENOENT;
	for (unsigned i = 0; i < CHAN_MAX; i++) {
		ss->c[i].fd = -1;
		ss->c[i].cancel = -1;
		ss->pre[i] = -1;
	}
}

static bool is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

const struct conn *session_told_on(const struct session *ss)
{
	for (unsigned i = 0; !ss->file && i < CHAN_MAX; i++)
		if (ss->c[i].fd >= 0)
			return &ss->c[i];
	return NULL;
}

/* Every channel and early socket closed; @sync: fsync a file first (0,
 * or -errno of that).  The listener stays. */
static int close_channels(struct session *ss, bool sync)
{
	int ret = 0;

	for (unsigned i = 0; i < CHAN_MAX; i++) {
		tls_conn_free(ss->c[i].tls);
		ss->c[i].tls = NULL;
		if (ss->c[i].fd >= 0) {
			if (sync && ss->file && !ret && fsync(ss->c[i].fd) < 0)
				ret = -errno;
			close(ss->c[i].fd);
		}
		ss->c[i].fd = -1;
		ss->socket[i] = false;
		if (ss->pre[i] >= 0)
			close(ss->pre[i]);
		ss->pre[i] = -1;
	}
	return ret;
}

int session_close(struct session *ss, bool sync)
{
	int ret = close_channels(ss, sync);

	if (ss->lfd >= 0)
		close(ss->lfd);
	ss->lfd = -1;
	return ret;
}

/* ---------------------------------------------------------- source */

void session_prepare(struct session *ss, unsigned n)
{
	struct chan_uri u;
	char err[256];

	if (chan_uri_parse(ss->uri, &u, err, sizeof(err)) == 0)
		chan_prepare(&u, (int)n, ss->pre, err, sizeof(err));
}

/* fd:N,...: our own copies of the caller's fds. */
static int dup_fds(struct session *ss, const struct chan_uri *u, int *fds)
{
	ss->nchan = (unsigned)u->nfds;
	for (unsigned i = 0; i < ss->nchan; i++) {
		fds[i] = fcntl(u->fds[i], F_DUPFD_CLOEXEC, 3);
		if (fds[i] < 0) {
			int ret = -errno, bad = u->fds[i];

			while (i--)
				close(fds[i]);
			return ss_fail(ss, WIRE_E_INTERNAL, ret, "fd %d: %s",
				       bad, errno_name(ret));
		}
	}
	return 0;
}

/*
 * The channels' fds into @fds, and ss->nchan.  Over TLS only channel 0 is
 * connected here: the destination takes each channel through its
 * handshake and HELLO before it accepts another (say_hello() connects
 * the others in turn).
 */
static int open_channels(struct session *ss, const struct chan_uri *u,
			 unsigned nchan, int *fds)
{
	char err[512];
	int ret, n;

	if (u->kind == CHAN_FD)
		return dup_fds(ss, u, fds);
	if (u->kind == CHAN_FILE) {
		ss->nchan = 1;
		fds[0] = chan_open_file(u->path, true, err, sizeof(err));
		if (fds[0] < 0)
			return ss_fail(ss, WIRE_E_INTERNAL, fds[0], "%s", err);
		return 0;
	}
	ss->nchan = nchan;
	n = ss->tls ? 1 : (int)nchan;
	/* the sockets session_prepare() made (a lazy one waits in pre[] for
	 * its turn) */
	for (int i = 0; i < n; i++) {
		fds[i] = ss->pre[i];
		ss->pre[i] = -1;
	}
	ret = chan_connect(u, n, ss->timeout_ms, ss->cancel, fds, err,
			   sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_INTERNAL, ret, "%s", err);
	if (u->kind == CHAN_TCP) {
		ss->link_ret = link_of_socket(fds[0], &ss->link);
	} else if (u->kind == CHAN_UNIX) {
		ss->link.local = true;
	} else if (u->kind == CHAN_FD) {
		struct link_info li;

		/* no prior from a caller's socket: only where its peer is */
		(void)link_of_socket(fds[0], &li);
		ss->link.local = li.local;
	}
	return 0;
}

/* TLS on channel @i before a byte of the stream; no plaintext fallback. */
static int tls_start(struct session *ss, unsigned i, const char *host)
{
	char err[512];
	int ret;

	if (!ss->tls)
		return 0;
	if (!ss->socket[i])
		return ss_fail(
			ss, WIRE_E_CAPABILITY, EINVAL,
			"%s: channel %u is a file: TLS applies to sockets",
			ss->uri, i);
	ret = tls_conn_open(ss->tls, ss->c[i].fd, host, ss->cancel,
			    ss->timeout_ms, &ss->c[i].tls, err, sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_CAPABILITY, ret, "%s: channel %u: %s",
			       ss->uri, i, err);
	return 0;
}

/* HELLO on every channel; over TLS each connected in its turn. */
static int say_hello(struct session *ss, const struct chan_uri *u,
		     const struct wire_hello *hello_in, bool lazy)
{
	const char *host = u->kind == CHAN_TCP ? u->host : NULL;
	struct wire_hello hello = *hello_in;
	unsigned char p[WIRE_HELLO_LEN];
	char err[512];
	int ret;

	for (unsigned i = 0; i < ss->nchan; i++) {
		if (i && lazy) {
			ss->c[i].fd = ss->pre[i];
			ss->pre[i] = -1;
			ret = chan_connect(u, 1, ss->timeout_ms, ss->cancel,
					   &ss->c[i].fd, err, sizeof(err));
			if (ret < 0) {
				ss->c[i].fd = -1;
				return ss_fail(ss, WIRE_E_INTERNAL, ret,
					       "%s: channel %u: %s", ss->uri, i,
					       err);
			}
			ss->socket[i] = true;
		}
		ret = tls_start(ss, i, host);
		if (ret < 0)
			return ret;
		hello.channel = (uint16_t)i;
		wire_hello_encode(&hello, p);
		ret = frame_send(&ss->c[i], WIRE_HELLO, WIRE_NO_DEVICE, p,
				 WIRE_HELLO_LEN, ss->timeout_ms);
		if (ret < 0)
			return ss_fail(ss, WIRE_E_PROTOCOL, ret,
				       "%s: channel %u: sending HELLO: %s",
				       ss->uri, i, errno_name(ret));
	}
	return 0;
}

/* The destination's answer to a HELLO or the manifest was REJECT or
 * ERROR: its reason is the session's. */
static int refused(struct session *ss, const struct wire_hdr *h,
		   const unsigned char *p, bool manifest)
{
	char text[WIRE_MAX_TEXT + 1], err[256];
	uint32_t code = 0;

	wire_text_decode(p, h->enc_len, &code, text, sizeof(text), err,
			 sizeof(err));
	ss->told = true;
	if (manifest)
		return ss_fail(ss, WIRE_E_MANIFEST,
			       code == WIRE_E_MANIFEST ? ENODEV : EIO,
			       "destination: %s", text);
	return ss_fail(ss, WIRE_E_PROTOCOL,
		       code == WIRE_E_VERSION ? EPROTONOSUPPORT : ECONNREFUSED,
		       "the destination refused the session: %s", text);
}

/* Every channel's ACCEPT: the agreed caps and chunk. */
static int take_accepts(struct session *ss, uint32_t asked, uint64_t t0)
{
	struct wire_limits lim = { .max_chunk = ss->max_chunk };
	unsigned char p[4 + WIRE_MAX_TEXT + 1];
	char err[512];
	int ret;

	for (unsigned i = 0; !ss->file && i < ss->nchan; i++) {
		struct wire_accept acc;
		struct wire_hdr h;

		ret = frame_recv(&ss->c[i], &lim, &h, p, sizeof(p) - 1,
				 ss->timeout_ms, err, sizeof(err));
		if (ret < 0)
			return ss_fail(ss, WIRE_E_PROTOCOL, ret,
				       "%s: channel %u: %s", ss->uri, i, err);
		/* every HELLO is out: the first answer is one round trip */
		if (!i)
			ss->rtt_us = now_us() - t0;
		if (h.type == WIRE_REJECT || h.type == WIRE_ERROR)
			return refused(ss, &h, p, false);
		if (h.type != WIRE_ACCEPT ||
		    wire_accept_decode(p, h.enc_len, &acc, err, sizeof(err)) <
			    0)
			return ss_fail(
				ss, WIRE_E_PROTOCOL, EPROTO,
				"%s: channel %u: expected ACCEPT, got %s",
				ss->uri, i, wire_type_name(h.type));
		if ((asked & WIRE_CAP_ZSTD) && !(acc.caps & WIRE_CAP_ZSTD))
			return ss_fail(
				ss, WIRE_E_CAPABILITY, EPROTONOSUPPORT,
				"destination does not support codec zstd; supported: raw%s (use -z none)",
				acc.caps & WIRE_CAP_ZERO ? ", zero" : "");
		if (acc.max_chunk < ss->max_chunk)
			ss->max_chunk = acc.max_chunk;
		ss->caps = acc.caps;
	}
	return 0;
}

/* The manifest on channel 0, and (a peer) its MANIFEST_ACK. */
static int send_manifest(struct session *ss)
{
	struct wire_limits lim = { .max_chunk = ss->max_chunk };
	struct wire_device *man = calloc(ss->ndev, sizeof(*man));
	uint32_t len = 0;
	unsigned char *mp = NULL, p[4 + WIRE_MAX_TEXT + 1];
	struct wire_hdr h;
	char err[512];
	int ret = -ENOMEM;

	if (man) {
		manifest_build(ss->devs, ss->ndev, man);
		len = wire_manifest_size(man, ss->ndev);
		mp = malloc(len);
	}
	if (mp) {
		wire_manifest_encode(man, ss->ndev, mp);
		ret = frame_send(&ss->c[0], WIRE_MANIFEST, WIRE_NO_DEVICE, mp,
				 len, ss->timeout_ms);
	}
	free(mp);
	free(man);
	if (ret == -ENOMEM)
		return ss_fail(ss, WIRE_E_INTERNAL, ENOMEM, "out of memory");
	if (ret < 0)
		return ss_fail(ss, WIRE_E_PROTOCOL, ret,
			       "%s: sending the manifest: %s", ss->uri,
			       errno_name(ret));
	if (ss->file)
		return 0;
	ret = frame_recv(&ss->c[0], &lim, &h, p, sizeof(p) - 1, ss->timeout_ms,
			 err, sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_PROTOCOL, ret, "%s: %s", ss->uri,
			       err);
	if (h.type == WIRE_ERROR)
		return refused(ss, &h, p, true);
	if (h.type != WIRE_MANIFEST_ACK)
		return ss_fail(ss, WIRE_E_PROTOCOL, EPROTO,
			       "expected MANIFEST_ACK, got %s",
			       wire_type_name(h.type));
	return 0;
}

int session_connect(struct session *ss, unsigned nchan, uint32_t caps,
		    uint32_t max_chunk)
{
	struct wire_hello hello = {
		.major = WIRE_VERSION_MAJOR,
		.minor = WIRE_VERSION_MINOR,
		.caps = caps,
		.max_chunk = max_chunk,
	};
	struct chan_uri u;
	char err[512];
	int fds[CHAN_MAX], ret;
	bool lazy;

	ret = chan_uri_parse(ss->uri, &u, err, sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_INTERNAL, ret, "%s", err);
	if (ss->tls) {
		ret = tls_check_host(ss->tls,
				     u.kind == CHAN_TCP ? u.host : NULL, err,
				     sizeof(err));
		if (ret < 0)
			return ss_fail(ss, WIRE_E_INTERNAL, ret, "%s", err);
	}
	for (unsigned i = 0; i < CHAN_MAX; i++)
		fds[i] = -1;
	ret = open_channels(ss, &u, nchan, fds);
	if (ret < 0)
		return ret;
	lazy = ss->tls && (u.kind == CHAN_TCP || u.kind == CHAN_UNIX);
	for (unsigned i = 0; i < ss->nchan; i++) {
		ss->c[i].fd = !i || !lazy ? fds[i] : -1;
		ss->socket[i] = ss->c[i].fd >= 0 && is_socket(fds[i]);
		/* every wait on the channel ends at a cancel, the ACCEPTs'
		 * and the manifest's too */
		ss->c[i].cancel = ss->cancel;
	}
	/* A file (or a non-socket fd) has nobody to answer. */
	ss->file = !ss->socket[0];
	if (ss->file && (caps & WIRE_CAP_PREFLIGHT))
		return ss_fail(
			ss, WIRE_E_INTERNAL, EINVAL,
			"%s: a dry run asks a destination, and this is a file",
			ss->uri);
	session_id(ss->id);
	memcpy(hello.session, ss->id, sizeof(hello.session));
	hello.nchannels = (uint16_t)ss->nchan;
	ss->max_chunk = max_chunk;
	ret = say_hello(ss, &u, &hello, lazy);
	if (ret < 0)
		return ret;
	/* a file agrees to everything but the ack, which it cannot give */
	ss->caps = caps & ~WIRE_CAP_SWITCHOVER_ACK;
	ret = take_accepts(ss, caps, now_us());
	if (!ret && (caps & WIRE_CAP_PREFLIGHT) &&
	    !(ss->caps & WIRE_CAP_PREFLIGHT)) {
		/* Its MANIFEST_ACK would mean devices in RESUMING: stop here,
		 * and tell it why its session ends. */
		frame_send_error(
			&ss->c[0], WIRE_E_CAPABILITY,
			"the source asked for a dry run, which this destination cannot do");
		ss->told = true;
		return ss_fail(
			ss, WIRE_E_CAPABILITY, ENOTSUP,
			"%s: the destination cannot do a dry run (it did not grant the preflight capability: vfio-migrate before 0.4); its session was ended before the manifest",
			ss->uri);
	}
	return ret < 0 ? ret : send_manifest(ss);
}

int session_preflight_end(struct session *ss)
{
	struct wire_limits lim = { .max_chunk = 1 };
	unsigned char p[4 + WIRE_MAX_TEXT + 1];
	struct wire_hdr h = { 0 };
	char err[512];
	int ret;

	ret = frame_send(&ss->c[0], WIRE_DONE, WIRE_NO_DEVICE, NULL, 0,
			 ss->timeout_ms);
	if (ret == 0)
		ret = frame_recv(&ss->c[0], &lim, &h, p, sizeof(p) - 1,
				 ss->timeout_ms, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "sending DONE: %s", errno_name(ret));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_PROTOCOL, ret, "%s: dry run: %s",
			       ss->uri, err);
	if (h.type == WIRE_ERROR)
		return refused(ss, &h, p, false);
	if (h.type != WIRE_DONE)
		return ss_fail(ss, WIRE_E_PROTOCOL, EPROTO,
			       "%s: dry run: expected DONE, got %s", ss->uri,
			       wire_type_name(h.type));
	return 0;
}

/* ----------------------------------------------------- destination */

/* fd:N naming one listening socket: systemd's socket activation, or a
 * VMM that listens itself.  Its channels are accepted there. */
static bool fd_listens(const struct chan_uri *u)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return u->kind == CHAN_FD && u->nfds == 1 &&
	       getsockopt(u->fds[0], SOL_SOCKET, SO_ACCEPTCONN, &on, &len) ==
		       0 &&
	       on;
}

int session_listen(struct session *ss)
{
	struct chan_uri u;
	char err[512];
	int ret;

	if (ss->lfd >= 0)
		return 0;
	ret = chan_uri_parse(ss->uri, &u, err, sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_INTERNAL, ret, "%s", err);
	if (fd_listens(&u)) {
		/* ours to close, as every fd: is; the caller keeps its own */
		ret = fcntl(u.fds[0], F_DUPFD_CLOEXEC, 3);
		if (ret < 0)
			return ss_fail(
				ss, WIRE_E_INTERNAL, -errno,
				"%s: cannot take the listening socket: %s",
				u.text, errno_name(errno));
		ss->lfd = ret;
		ss->port = chan_listen_port(ss->lfd);
		return 0;
	}
	if (u.kind != CHAN_TCP && u.kind != CHAN_UNIX)
		return 0;
	ret = chan_listen(&u, err, sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_INTERNAL, ret, "%s", err);
	ss->lfd = ret;
	if (u.kind == CHAN_TCP)
		ss->port = chan_listen_port(ss->lfd);
	return 0;
}

/*
 * The first HELLO fixes the session's channels and the largest chunk the
 * source may send: as large as it asks, as long as --memory holds a
 * reserve slot per channel and SESSION_RX_MIN_SHARED more (so a source asking
 * for 64 channels of 16 MiB chunks gets smaller chunks, not 2 GiB of
 * buffers).  A file cannot be asked: its chunks must fit as they are.
 */
static int session_budget(struct session *ss, const struct wire_hello *h)
{
	uint64_t afford, need;

	if (!h->nchannels || h->nchannels > CHAN_MAX)
		return ss_fail(ss, WIRE_E_CAPABILITY, EPROTO,
			       "the source asks for %u channels (1 to %d)",
			       h->nchannels, CHAN_MAX);
	afford = ss->memory / (2ull * (h->nchannels + SESSION_RX_MIN_SHARED));
	afford &= ~4095ull;
	if (afford > WIRE_MAX_CHUNK)
		afford = WIRE_MAX_CHUNK;
	need = (ss->file ? h->max_chunk : SESSION_RX_MIN_CHUNK) * 2ull *
	       (h->nchannels + SESSION_RX_MIN_SHARED);
	if (afford < SESSION_RX_MIN_CHUNK ||
	    (ss->file && afford < h->max_chunk))
		return ss_fail(
			ss, WIRE_E_CAPABILITY, ENOBUFS,
			"--memory %llu cannot hold %u channel(s) of %u-byte chunks: give --memory %llu or more",
			(unsigned long long)ss->memory, h->nchannels,
			ss->file ? h->max_chunk : SESSION_RX_MIN_CHUNK,
			(unsigned long long)need);
	ss->max_chunk = (uint32_t)afford;
	return 0;
}

/* Tell a connection why it is refused: REJECT (it is not a channel of the
 * session: a version, another session) or ERROR (the session fails, and
 * this is its one ERROR).  A file hears nothing. */
static void refuse(struct session *ss, const struct conn *c,
		   enum wire_type type, enum wire_code code, const char *text)
{
	unsigned char t[4 + WIRE_MAX_TEXT];
	struct conn q = *c;

	if (ss->file)
		return;
	if (type == WIRE_ERROR) {
		frame_send_error(c, code, text);
		ss->told = true;
		return;
	}
	q.cancel = -1;
	frame_send(&q, type, WIRE_NO_DEVICE, t, wire_text_encode(code, text, t),
		   1000);
}

static void hex_id(const uint8_t id[16], char out[33])
{
	for (size_t i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* The first HELLO: the session's id, channels, capabilities, chunks. */
static int open_session(struct session *ss, const struct conn *c,
			const struct wire_hello *h, struct wire_accept *acc)
{
	char why[256];
	int code;

	if (session_budget(ss, h) < 0) {
		refuse(ss, c, WIRE_ERROR, WIRE_E_CAPABILITY, ss->why);
		return ss->err;
	}
	code = wire_negotiate(h, ss->offer, ss->max_chunk, acc, why,
			      sizeof(why));
	if (code != WIRE_OK) {
		refuse(ss, c, WIRE_REJECT, (enum wire_code)code, why);
		return ss_fail(ss, (enum wire_code)code, EPROTONOSUPPORT,
			       "the source was refused: %s", why);
	}
	ss->first = *h;
	memcpy(ss->id, h->session, sizeof(ss->id));
	ss->t_open_us = now_us(); /* the session starts, not the wait */
	ss->t_open_ms = ss->t_open_us / 1000;
	ss->nchan = h->nchannels;
	ss->caps = acc->caps;
	ss->max_chunk = acc->max_chunk;
	return 1;
}

/*
 * A later HELLO joins the session, or is refused: another session's
 * (REJECT; the session goes on), or one at odds with the session's first
 * HELLO (the session fails: it is the same source).  1 joined, 0 refused,
 * or -errno.
 */
static int join_session(struct session *ss, const struct conn *c,
			const struct wire_hello *h, struct wire_accept *acc)
{
	const struct wire_hello *f = &ss->first;
	char ours[33], theirs[33], why[320] = "";

	if (memcmp(h->session, ss->id, sizeof(ss->id))) {
		hex_id(h->session, theirs);
		hex_id(ss->id, ours);
		snprintf(
			why, sizeof(why),
			"another session is in progress (this connection's session is %s, the one in progress %s)",
			theirs, ours);
		refuse(ss, c, WIRE_REJECT, WIRE_E_SESSION, why);
		snprintf(
			ss->stray, sizeof(ss->stray),
			"; refused meanwhile: a connection of session %s (this session is %s)",
			theirs, ours);
		return 0;
	}
	if (h->nchannels != f->nchannels)
		snprintf(
			why, sizeof(why),
			"channel %u's HELLO says %u channels, channel %u's said %u",
			h->channel, h->nchannels, f->channel, f->nchannels);
	else if (h->major != f->major || h->minor != f->minor ||
		 h->caps != f->caps || h->max_chunk != f->max_chunk)
		snprintf(
			why, sizeof(why),
			"channel %u's HELLO differs from channel %u's: version %u.%u and %u.%u, capabilities 0x%x and 0x%x, largest raw_len %u and %u",
			h->channel, f->channel, h->major, h->minor, f->major,
			f->minor, h->caps, f->caps, h->max_chunk, f->max_chunk);
	else if (ss->c[h->channel].fd >= 0)
		snprintf(why, sizeof(why), "channel %u said HELLO twice",
			 h->channel);
	if (why[0]) {
		refuse(ss, c, WIRE_ERROR, WIRE_E_PROTOCOL, why);
		return ss_fail(ss, WIRE_E_PROTOCOL, EPROTO, "%s", why);
	}
	wire_negotiate(h, ss->offer, ss->max_chunk, acc, why, sizeof(why));
	return 1;
}

/* HELLO on a new connection: the first opens the session, others join. */
static int hello(struct session *ss, const struct conn *c, bool *joined)
{
	struct wire_limits lim = { .max_chunk = WIRE_MAX_CHUNK };
	unsigned char p[WIRE_HELLO_LEN];
	struct wire_accept acc;
	struct wire_hello h;
	struct wire_hdr hd;
	char err[256];
	int ret;

	*joined = false;
	ret = frame_recv(c, &lim, &hd, p, sizeof(p), ss->timeout_ms, err,
			 sizeof(err));
	if (ret == 0 && hd.type != WIRE_HELLO)
		ret = set_errbuf(
			err, sizeof(err), EPROTO,
			"unexpected %s frame on a new connection (expected HELLO)",
			wire_type_name(hd.type));
	if (ret == 0)
		ret = wire_hello_decode(p, hd.enc_len, &h, err, sizeof(err));
	if (ret) {
		refuse(ss, c, WIRE_ERROR, WIRE_E_PROTOCOL, err);
		return ss_fail(
			ss, WIRE_E_PROTOCOL, ret,
			"refused a connection without a valid HELLO: %s%s", err,
			ret == -ETIMEDOUT ? " (the source stalled)" : "");
	}
	ret = ss->nchan ? join_session(ss, c, &h, &acc) :
			  open_session(ss, c, &h, &acc);
	if (ret <= 0)
		return ret;
	if (!ss->file) {
		wire_accept_encode(&acc, p);
		ret = frame_send(c, WIRE_ACCEPT, WIRE_NO_DEVICE, p,
				 WIRE_ACCEPT_LEN, ss->timeout_ms);
		if (ret < 0)
			return ss_fail(ss, WIRE_E_PROTOCOL, ret,
				       "answering HELLO: %s", errno_name(ret));
	}
	ss->c[h.channel] = *c;
	ss->socket[h.channel] = is_socket(c->fd);
	*joined = true;
	return 0;
}

/* A new connection: over TLS, its handshake and the client's identity
 * before anything of the stream is read. */
static int admit(struct session *ss, int fd, struct conn *c)
{
	char err[512];
	int ret;

	c->fd = fd;
	c->tls = NULL;
	c->cancel = ss->cancel;
	if (!ss->tls)
		return 0;
	if (ss->file)
		return ss_fail(ss, WIRE_E_CAPABILITY, EINVAL,
			       "%s is a file: TLS applies to sockets", ss->uri);
	ret = tls_conn_open(ss->tls, fd, NULL, ss->cancel, ss->timeout_ms,
			    &c->tls, err, sizeof(err));
	if (ret == -EPROTONOSUPPORT) /* told in the protocol it speaks */
		refuse(ss, c, WIRE_ERROR, WIRE_E_CAPABILITY,
		       "this destination requires TLS: give the source --tls-creds");
	if (ret == 0) {
		ret = tls_conn_authorize(c->tls, err, sizeof(err));
		if (ret < 0)
			refuse(ss, c, WIRE_ERROR, WIRE_E_CAPABILITY, err);
	}
	if (ret < 0)
		return ss_fail(ss, WIRE_E_CAPABILITY, ret, "%s", err);
	return 0;
}

/* Take @fd into the session, or close it. */
static int join(struct session *ss, int fd, bool *joined)
{
	struct conn c;
	int ret;

	*joined = false;
	ret = admit(ss, fd, &c);
	if (ret == 0)
		ret = hello(ss, &c, joined);
	if (!*joined) {
		tls_conn_free(c.tls);
		close(fd);
	}
	return ret;
}

/* fd:N,... and file:PATH: the channels are there already. */
static int take_fds(struct session *ss, const struct chan_uri *u)
{
	int n = u->kind == CHAN_FILE ? 1 : u->nfds, ret;
	char err[512];
	bool joined;

	for (int i = 0; i < n; i++) {
		int fd = u->kind == CHAN_FILE ?
				 chan_open_file(u->path, false, err,
						sizeof(err)) :
				 fcntl(u->fds[i], F_DUPFD_CLOEXEC, 3);
		struct stat st;

		if (fd < 0)
			return ss_fail(ss, WIRE_E_INTERNAL,
				       u->kind == CHAN_FILE ? fd : -errno, "%s",
				       u->kind == CHAN_FILE ?
					       err :
					       "bad fd in the list");
		ss->file = fstat(fd, &st) == 0 && !S_ISSOCK(st.st_mode);
		ret = join(ss, fd, &joined);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The channels, each through its HELLO. */
static int take_channels(struct session *ss)
{
	struct chan_uri u;
	bool joined;
	unsigned got = 0;
	char err[512];
	int ret;

	ret = chan_uri_parse(ss->uri, &u, err, sizeof(err));
	if (ret < 0)
		return ss_fail(ss, WIRE_E_INTERNAL, ret, "%s", err);
	if ((u.kind == CHAN_FILE || u.kind == CHAN_FD) && !fd_listens(&u)) {
		ret = take_fds(ss, &u);
		if (ret < 0)
			return ret;
	} else {
		ret = session_listen(ss);
		if (ret < 0)
			return ret;
		while (!ss->nchan || got < ss->nchan) {
			int fd = chan_accept(ss->lfd, ss->timeout_ms,
					     ss->cancel, err, sizeof(err));

			if (fd < 0)
				return ss_fail(
					ss, WIRE_E_PROTOCOL, fd,
					"%s: %s (%u of %u channels connected)%s",
					ss->uri, err, got,
					ss->nchan ? ss->nchan : 1, ss->stray);
			ret = join(ss, fd, &joined);
			if (ret < 0)
				return ret;
			got += joined;
		}
	}
	for (unsigned i = 0; i < ss->nchan; i++)
		if (ss->c[i].fd < 0)
			return ss_fail(ss, WIRE_E_PROTOCOL, EPROTO,
				       "channel %u never said HELLO", i);
	return 0;
}

/* A frame on channel @i before the MANIFEST: name what came. */
static int early_frame(struct session *ss, unsigned i)
{
	struct wire_limits lim = { .caps = ss->caps,
				   .max_chunk = WIRE_MAX_CHUNK,
				   .ndevices = WIRE_MAX_DEVICES };
	unsigned char hb[WIRE_HDR_LEN];
	struct wire_hdr h;
	char err[256];
	int ret = conn_read_all(&ss->c[i], hb, sizeof(hb), 1000);

	if (ret == -ENODATA)
		return ss_fail(ss, WIRE_E_PROTOCOL, ECONNRESET,
			       "channel %u closed before the MANIFEST", i);
	if (ret < 0)
		return ss_fail(ss, WIRE_E_PROTOCOL, ret,
			       "channel %u, before the MANIFEST: %s", i,
			       conn_error(&ss->c[i], ret));
	if (wire_hdr_decode(hb, &lim, &h, err, sizeof(err)) < 0)
		return ss_fail(ss, WIRE_E_PROTOCOL, EPROTO, "channel %u: %s", i,
			       err);
	return ss_fail(
		ss, WIRE_E_PROTOCOL, EPROTO,
		"unexpected %s frame on channel %u (expected MANIFEST on channel 0)",
		wire_type_name(h.type), i);
}

/* The MANIFEST comes on channel 0 and nothing on the others before it:
 * wait on all of them, and say where something came instead. */
static int await_manifest(struct session *ss)
{
	uint64_t deadline = now_ms() + (uint64_t)ss->timeout_ms;
	struct pollfd p[CHAN_MAX + 1];

	if (ss->file || ss->nchan < 2 || tls_conn_pending(ss->c[0].tls))
		return 0;
	for (unsigned i = 0; i < ss->nchan; i++)
		p[i] = (struct pollfd){ .fd = ss->c[i].fd, .events = POLLIN };
	p[ss->nchan] = (struct pollfd){ .fd = ss->cancel, .events = POLLIN };
	for (;;) {
		uint64_t now = now_ms();
		int n = now < deadline ?
				poll(p, ss->nchan + 1, (int)(deadline - now)) :
				0;

		if (n < 0 && errno == EINTR)
			continue;
		/* silence, a cancel, channel 0: frame_recv() tells */
		if (n <= 0 || p[ss->nchan].revents || p[0].revents)
			return 0;
		for (unsigned i = 1; i < ss->nchan; i++)
			if (p[i].revents)
				return early_frame(ss, i);
	}
}

/* The source's manifest, matched to our devices by id. */
static int take_manifest(struct session *ss)
{
	struct wire_limits lim = { .max_chunk = 1 };
	struct wire_device *devs = calloc(WIRE_MAX_DEVICES, sizeof(*devs));
	unsigned char *p = malloc(WIRE_MAX_CONTROL);
	char err[512];
	struct wire_hdr h = { 0 };
	int n, ret;

	if (!devs || !p) {
		free(devs);
		free(p);
		return ss_fail(ss, WIRE_E_INTERNAL, ENOMEM, "out of memory");
	}
	ret = await_manifest(ss);
	if (ret == 0)
		ret = frame_recv(&ss->c[0], &lim, &h, p, WIRE_MAX_CONTROL,
				 ss->timeout_ms, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", ss->why);
	if (ret == 0 && h.type != WIRE_MANIFEST)
		ret = set_errbuf(
			err, sizeof(err), EPROTO,
			"unexpected %s frame on channel 0 (expected MANIFEST)",
			wire_type_name(h.type));
	n = ret < 0 ?
		    ret :
		    wire_manifest_decode(p, h.enc_len, devs, err, sizeof(err));
	if (n < 0) {
		free(devs);
		free(p);
		return ss_fail(ss, WIRE_E_PROTOCOL, n, "%s", err);
	}
	ret = manifest_check(devs, n, ss->devs, ss->ndev, ss->map, err,
			     sizeof(err));
	free(devs);
	free(p);
	if (ret < 0)
		return ss_fail(ss, WIRE_E_MANIFEST, ENODEV,
			       "manifest mismatch: %s", err);
	return 0;
}

/* After a dry run: its channels closed, and the session's fields back to
 * "none" for the next source's first HELLO (the listener stays). */
static void session_next(struct session *ss)
{
	close_channels(ss, false);
	ss->nchan = 0;
	ss->caps = 0;
	ss->max_chunk = 0;
	memset(ss->id, 0, sizeof(ss->id));
	memset(&ss->first, 0, sizeof(ss->first));
	ss->stray[0] = ss->why[0] = '\0';
	ss->err = 0;
	ss->code = WIRE_OK;
	ss->told = false;
	ss->t_open_ms = ss->t_open_us = 0;
}

/*
 * A dry run (capability preflight): the manifest was checked (@ret) and
 * no device was touched.  The source hears the verdict (MANIFEST_ACK, or
 * the ERROR a real session would get), then DONE answers its DONE.  Its
 * failures are its own, not this destination's: whatever the outcome,
 * the channels close and the next session is awaited.
 */
static void preflight_answer(struct session *ss, int ret)
{
	struct wire_limits lim = { .max_chunk = 1 };
	unsigned char p[4 + WIRE_MAX_TEXT + 1];
	struct wire_hdr h = { 0 };
	char err[256];

	if (ret < 0) {
		if (!ss->told)
			frame_send_error(&ss->c[0], ss->code, ss->why);
	} else if (frame_send(&ss->c[0], WIRE_MANIFEST_ACK, WIRE_NO_DEVICE,
			      NULL, 0, ss->timeout_ms) == 0 &&
		   frame_recv(&ss->c[0], &lim, &h, p, sizeof(p) - 1,
			      ss->timeout_ms, err, sizeof(err)) == 0 &&
		   h.type == WIRE_DONE) {
		frame_send(&ss->c[0], WIRE_DONE, WIRE_NO_DEVICE, NULL, 0,
			   ss->timeout_ms);
	}
	session_next(ss);
}

int session_accept(struct session *ss)
{
	for (;;) {
		int ret = take_channels(ss);

		if (ret < 0)
			return ret;
		ret = take_manifest(ss);
		if (!(ss->caps & WIRE_CAP_PREFLIGHT))
			return ret;
		preflight_answer(ss, ret);
	}
}
