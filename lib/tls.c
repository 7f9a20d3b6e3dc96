// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TLS 1.3 channels (tls.h).  GnuTLS never touches the socket: its push
 * function appends records to obuf, its pull function takes bytes from
 * ibuf, and we move those buffers with send/recv (blocking, with a
 * deadline) or io_uring.  GNUTLS_NONBLOCK: a pull with nothing buffered
 * is EAGAIN, and the caller decides how to wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "io.h"
#include "tls.h"
#include "wire.h"
#include "util.h"

/* A TLS 1.3 record carries at most 16 KiB; its ciphertext adds the
 * header, the content type, padding and the tag (RFC 8446 5.2). */
#define PLAIN_MAX 16384u
#define RECORD_MAX (PLAIN_MAX + 256u + 5u)
/* The stream's direction moves 64 records (1 MiB) per send or recv: at
 * 16, fb data over TLS ran a tenth slower here.  The other direction
 * carries small control frames. */
#define BULK_BUF (64u * RECORD_MAX)
#define CTL_BUF (4u * RECORD_MAX)
#define PSK_FILE_MAX (1u << 20)
#define PSK_MIN_KEY 16 /* bytes: 128 bits */
#define AUTHZ_MAX 64

/* TLS 1.3 only; AES-128-GCM first: the strength TLS 1.3 requires of
 * every implementation, and a third faster than AES-256 with AES-NI. */
#define PRIO_X509 \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"
#define PRIO_PSK PRIO_X509 ":-KX-ALL:+ECDHE-PSK:+DHE-PSK"

struct psk_key {
	char *user, *hex;
};

struct vfmig_tls {
	bool server, psk;
	char *creds; /* as given, for messages */
	char *hostname;
	char *authz[AUTHZ_MAX + 1];
	gnutls_certificate_credentials_t x509;
	gnutls_psk_client_credentials_t pskc;
	gnutls_psk_server_credentials_t psks;
	struct psk_key *keys;
	unsigned nkeys;
	gnutls_priority_t prio;
};

struct tls_conn {
	const struct vfmig_tls *cfg;
	gnutls_session_t s;
	int fd;
	int cancel; /* an eventfd that ends blocking waits, or -1 */
	bool eof; /* the socket's end was read */
	unsigned char *obuf, *ibuf;
	size_t osize, isize;
	size_t olen, ooff; /* ciphertext out: [ooff, olen) is unsent */
	size_t ihave, ioff; /* ciphertext in: [ioff, ihave) is unread */
	unsigned char first[4]; /* the peer's first bytes, for messages */
	size_t nfirst;
	/* asynchronous: the caller's ops, completed through ours */
	struct ring *r;
	struct ring_op tx, rx;
	struct ring_op *utx, *urx;
	size_t tx_plain; /* the plaintext in the ciphertext being sent */
	bool tx_nop, rx_nop; /* ours completes a result set aside */
	int tx_res, rx_res;
	unsigned char *rx_buf;
	size_t rx_len;
	bool up; /* the handshake is done */
	char why[320]; /* the last error, said for an operator */
	char unknown_user[64];
	char peer[256]; /* the client's DN or PSK username */
};

/* ------------------------------------------------------- credentials */

static int psk_line(struct vfmig_tls *t, char *line, unsigned no,
		    const char *path, char *err, size_t es)
{
	char *colon = strchr(line, ':'), *hex;
	size_t n;

	if (!colon || colon == line)
		return set_errbuf(err, es, EINVAL,
				  "%s line %u: expected username:hexkey", path,
				  no);
	*colon = '\0';
	hex = colon + 1;
	n = strlen(hex);
	if (!n || n % 2 || strspn(hex, "0123456789abcdefABCDEF") != n)
		return set_errbuf(
			err, es, EINVAL,
			"%s line %u: the key of '%s' is not an even number of hex digits",
			path, no, line);
	if (n / 2 < PSK_MIN_KEY)
		return set_errbuf(
			err, es, EINVAL,
			"%s line %u: the key of '%s' is %zu bytes; at least %d are needed (make one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')",
			path, no, line, n / 2, PSK_MIN_KEY);
	for (unsigned i = 0; i < t->nkeys; i++)
		if (!strcmp(t->keys[i].user, line))
			return set_errbuf(err, es, EINVAL,
					  "%s line %u: '%s' has a key already",
					  path, no, line);
	t->keys[t->nkeys].user = strdup(line);
	t->keys[t->nkeys].hex = strdup(hex);
	if (!t->keys[t->nkeys].user || !t->keys[t->nkeys].hex)
		return set_errbuf(err, es, ENOMEM, "out of memory");
	t->nkeys++;
	return 0;
}

/* QEMU's keys.psk: "username:hexkey" lines. */
static int psk_load(struct vfmig_tls *t, const char *path, char *err, size_t es)
{
	char *buf, *line, *save = NULL;
	unsigned no = 0, lines = 1;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_errbuf(err, es, errno, "psk:%s: %s", path,
				  errno_name(errno));
	buf = malloc(PSK_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return set_errbuf(err, es, ENOMEM, "out of memory");
	}
	n = read(fd, buf, PSK_FILE_MAX + 1);
	ret = -errno;
	close(fd);
	if (n < 0 || n > (ssize_t)PSK_FILE_MAX) {
		free(buf);
		return n < 0 ? set_errbuf(err, es, ret, "psk:%s: %s", path,
					  errno_name(ret)) :
			       set_errbuf(err, es, EFBIG,
					  "psk:%s: larger than %u bytes", path,
					  PSK_FILE_MAX);
	}
	ret = 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	t->keys = calloc(lines, sizeof(*t->keys));
	if (!t->keys) {
		free(buf);
		return set_errbuf(err, es, ENOMEM, "out of memory");
	}
	/* strtok_r would merge empty lines and so misnumber them */
	for (line = buf; line && !ret; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		no++;
		line[strcspn(line, "\r")] = '\0';
		if (*line)
			ret = psk_line(t, line, no, path, err, es);
	}
	free(buf);
	if (!ret && !t->nkeys)
		ret = set_errbuf(err, es, EINVAL, "psk:%s: no key in the file",
				 path);
	return ret;
}

static int x509_file(const char *dir, const char *name, char *path, size_t size,
		     bool optional, char *err, size_t es)
{
	snprintf(path, size, "%s/%s", dir, name);
	if (access(path, R_OK) == 0)
		return 1;
	if (optional && errno == ENOENT)
		return 0;
	return set_errbuf(
		err, es, errno, "x509:%s: %s: %s%s", dir, name,
		errno_name(errno),
		errno == ENOENT ?
			" (the layout is QEMU's: ca-cert.pem, and server-cert.pem and server-key.pem, or client-cert.pem and client-key.pem)" :
			"");
}

static int x509_load(struct vfmig_tls *t, const char *dir, char *err, size_t es)
{
	const char *who = t->server ? "server" : "client";
	char ca[4096], crl[4096], cert[4096], key[4096], name[32];
	int ret, have_crl;

	ret = x509_file(dir, "ca-cert.pem", ca, sizeof(ca), false, err, es);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "%s-cert.pem", who);
	ret = x509_file(dir, name, cert, sizeof(cert), false, err, es);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "%s-key.pem", who);
	ret = x509_file(dir, name, key, sizeof(key), false, err, es);
	if (ret < 0)
		return ret;
	have_crl =
		x509_file(dir, "ca-crl.pem", crl, sizeof(crl), true, err, es);
	if (have_crl < 0)
		return have_crl;
	if (gnutls_certificate_allocate_credentials(&t->x509) < 0)
		return set_errbuf(err, es, ENOMEM, "out of memory");
	ret = gnutls_certificate_set_x509_trust_file(t->x509, ca,
						     GNUTLS_X509_FMT_PEM);
	if (ret <= 0)
		return set_errbuf(err, es, EINVAL, "%s: %s", ca,
				  ret ? gnutls_strerror(ret) :
					"no certificate in it");
	if (have_crl) {
		ret = gnutls_certificate_set_x509_crl_file(t->x509, crl,
							   GNUTLS_X509_FMT_PEM);
		if (ret < 0)
			return set_errbuf(err, es, EINVAL, "%s: %s", crl,
					  gnutls_strerror(ret));
	}
	ret = gnutls_certificate_set_x509_key_file2(
		t->x509, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0)
		return set_errbuf(err, es, EINVAL, "%s with %s: %s", cert, key,
				  gnutls_strerror(ret));
	return 0;
}

static int psk_creds(struct vfmig_tls *t, const char *user, char *err,
		     size_t es)
{
	const struct psk_key *k = t->keys;
	gnutls_datum_t hex;

	if (!k) /* psk_load() found none */
		return set_errbuf(err, es, EINVAL, "%s: no key", t->creds);

	if (t->server) {
		if (gnutls_psk_allocate_server_credentials(&t->psks) < 0)
			return set_errbuf(err, es, ENOMEM, "out of memory");
		return 0;
	}
	if (user) {
		unsigned i;

		for (i = 0; i < t->nkeys && strcmp(t->keys[i].user, user); i++)
			;
		if (i == t->nkeys)
			return set_errbuf(err, es, ENOENT,
					  "%s: no key for user '%s'", t->creds,
					  user);
		k = &t->keys[i];
	}
	hex.data = (unsigned char *)k->hex;
	hex.size = (unsigned)strlen(k->hex);
	if (gnutls_psk_allocate_client_credentials(&t->pskc) < 0 ||
	    gnutls_psk_set_client_credentials(t->pskc, k->user, &hex,
					      GNUTLS_PSK_KEY_HEX) < 0)
		return set_errbuf(err, es, ENOMEM, "out of memory");
	return 0;
}

int vfmig_tls_new(const struct vfmig_tls_opts *o, struct vfmig_tls **out,
		  char *err, size_t es)
{
	struct vfmig_tls *t;
	unsigned n = 0;
	int ret;

	if (!o || !out || o->size < sizeof(size_t) || !o->creds)
		return set_errbuf(err, es, EINVAL, "no TLS credentials given");
	if ((unsigned)o->endpoint > VFMIG_TLS_SERVER)
		return set_errbuf(err, es, EINVAL, "bad TLS endpoint %d",
				  o->endpoint);
	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return set_errbuf(err, es, ENOMEM, "out of memory");
	t->server = o->endpoint == VFMIG_TLS_SERVER;
	t->creds = strdup(o->creds);
	if (o->hostname && !(t->hostname = strdup(o->hostname)))
		goto nomem;
	for (; o->authz && o->authz[n]; n++) {
		if (n == AUTHZ_MAX) {
			ret = set_errbuf(err, es, EINVAL,
					 "more than %d TLS authz patterns",
					 AUTHZ_MAX);
			goto out;
		}
		if (!(t->authz[n] = strdup(o->authz[n])))
			goto nomem;
	}
	if (!t->creds)
		goto nomem;
	if (!strncmp(o->creds, "x509:", 5) && o->creds[5]) {
		ret = x509_load(t, o->creds + 5, err, es);
	} else if (!strncmp(o->creds, "psk:", 4) && o->creds[4]) {
		t->psk = true;
		ret = psk_load(t, o->creds + 4, err, es);
		if (!ret)
			ret = psk_creds(t, o->psk_username, err, es);
	} else {
		ret = set_errbuf(
			err, es, EINVAL,
			"bad TLS credentials '%s' (expected x509:DIR or psk:FILE)",
			o->creds);
	}
	if (ret < 0)
		goto out;
	if (gnutls_priority_init(&t->prio, t->psk ? PRIO_PSK : PRIO_X509,
				 NULL) < 0) {
		ret = set_errbuf(err, es, ENOTSUP,
				 "this GnuTLS has no TLS 1.3 with AES-GCM");
		goto out;
	}
	*out = t;
	return 0;
nomem:
	ret = set_errbuf(err, es, ENOMEM, "out of memory");
out:
	vfmig_tls_free(t);
	return ret;
}

void vfmig_tls_free(struct vfmig_tls *t)
{
	if (!t)
		return;
	if (t->x509)
		gnutls_certificate_free_credentials(t->x509);
	if (t->pskc)
		gnutls_psk_free_client_credentials(t->pskc);
	if (t->psks)
		gnutls_psk_free_server_credentials(t->psks);
	if (t->prio)
		gnutls_priority_deinit(t->prio);
	for (unsigned i = 0; i < t->nkeys; i++) {
		/* keys do not outlive the handle in freed memory */
		explicit_bzero(t->keys[i].hex, strlen(t->keys[i].hex));
		free(t->keys[i].user);
		free(t->keys[i].hex);
	}
	for (unsigned i = 0; t->authz[i]; i++)
		free(t->authz[i]);
	free(t->keys);
	free(t->hostname);
	free(t->creds);
	free(t);
}

bool tls_is_server(const struct vfmig_tls *tls)
{
	return tls->server;
}

int tls_check_host(const struct vfmig_tls *tls, const char *host, char *err,
		   size_t es)
{
	if (tls->server || tls->psk || tls->hostname || (host && *host))
		return 0;
	return set_errbuf(
		err, es, EINVAL,
		"TLS: give --tls-hostname, the name the destination's certificate carries (a unix: or fd: address names no host)");
}

/* --------------------------------------------------------- transport */

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct tls_conn *t = p;

	if (t->osize - t->olen < len) {
		gnutls_transport_set_errno(t->s, EAGAIN);
		return -1;
	}
	memcpy(t->obuf + t->olen, data, len);
	t->olen += len;
	return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct tls_conn *t = p;
	size_t n = t->ihave - t->ioff;

	if (!n) {
		if (t->eof)
			return 0;
		gnutls_transport_set_errno(t->s, EAGAIN);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, t->ibuf + t->ioff, n);
	t->ioff += n;
	return (ssize_t)n;
}

/* GnuTLS asks only to learn whether a pull would return now. */
static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	const struct tls_conn *t = p;

	(void)ms;
	return t->ihave > t->ioff || t->eof;
}

/* Room for at least a whole record at the end of ibuf.  Only while no
 * receive is in flight. */
static void ibuf_compact(struct tls_conn *t)
{
	if (t->ioff == t->ihave) {
		t->ioff = t->ihave = 0;
	} else if (t->isize - t->ihave < RECORD_MAX) {
		memmove(t->ibuf, t->ibuf + t->ioff, t->ihave - t->ioff);
		t->ihave -= t->ioff;
		t->ioff = 0;
	}
}

static void got_bytes(struct tls_conn *t, size_t n)
{
	for (size_t i = 0; i < n && t->nfirst < sizeof(t->first); i++)
		t->first[t->nfirst++] = t->ibuf[t->ihave + i];
}

/* Blocking: send every buffered byte, or -errno. */
static int flush(struct tls_conn *t, uint64_t deadline)
{
	int ret = io_send_all(t->fd, t->obuf + t->ooff, t->olen - t->ooff,
			      t->cancel, deadline);

	if (ret == 0)
		t->olen = t->ooff = 0;
	return ret;
}

/* Blocking: at least one more byte in ibuf, or the end; -errno. */
static int fill(struct tls_conn *t, uint64_t deadline)
{
	ibuf_compact(t);
	for (;;) {
		ssize_t n = recv(t->fd, t->ibuf + t->ihave, t->isize - t->ihave,
				 MSG_DONTWAIT);
		int ret;

		if (n > 0) {
			got_bytes(t, (size_t)n);
			t->ihave += (size_t)n;
			return 0;
		}
		if (n == 0) {
			t->eof = true;
			return 0;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		ret = io_wait(t->fd, POLLIN, t->cancel, deadline);
		if (ret < 0)
			return ret;
	}
}

/* --------------------------------------------------------- handshake */

static const char *peer_name(const struct tls_conn *t)
{
	return t->cfg->server ? "the source" : "the destination";
}

static bool said_plaintext(const unsigned char *b, size_t n)
{
	unsigned char magic[4];

	magic[0] = WIRE_MAGIC & 0xff;
	magic[1] = (WIRE_MAGIC >> 8) & 0xff;
	magic[2] = (WIRE_MAGIC >> 16) & 0xff;
	magic[3] = WIRE_MAGIC >> 24;
	return n && !memcmp(b, magic, n);
}

static const char *alert_hint(gnutls_alert_description_t a, bool psk)
{
	switch (a) {
	case GNUTLS_A_UNKNOWN_CA:
		return ": it does not trust the CA of this side's certificate";
	case GNUTLS_A_CERTIFICATE_EXPIRED:
		return ": this side's certificate has expired";
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
		return ": it refused this side's certificate";
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		return ": it wants a certificate from this side";
	case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
		return ": it has no key for this side's PSK username";
	case GNUTLS_A_DECRYPT_ERROR:
	case GNUTLS_A_BAD_RECORD_MAC:
	case GNUTLS_A_ILLEGAL_PARAMETER:
		return psk ? ": the two sides' PSK keys differ" : "";
	case GNUTLS_A_PROTOCOL_VERSION:
	case GNUTLS_A_HANDSHAKE_FAILURE:
	case GNUTLS_A_INSUFFICIENT_SECURITY:
		return ": no TLS 1.3 cipher suite in common, or the two sides use different kinds of credentials (x509, psk)";
	default:
		return "";
	}
}

/* Say what @gerr means here, in @err: -errno. */
static int tls_error(struct tls_conn *t, int gerr, char *err, size_t es)
{
	const char *who = peer_name(t);
	bool psk = t->cfg->psk;

	if (t->up && gerr == GNUTLS_E_DECRYPTION_FAILED)
		return set_errbuf(
			err, es, EBADMSG,
			"TLS: a record from %s failed its integrity check (altered or corrupted on the way)",
			who);
	if (!t->cfg->server && said_plaintext(t->first, t->nfirst))
		return set_errbuf(
			err, es, EPROTONOSUPPORT,
			"TLS: %s answered in plaintext: it does not use TLS (give it --tls-creds too)",
			who);
	switch (gerr) {
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR: {
		unsigned status = gnutls_session_get_verify_cert_status(t->s);
		gnutls_datum_t txt = { NULL, 0 };
		int ret;

		gnutls_certificate_verification_status_print(
			status, GNUTLS_CRT_X509, &txt, 0);
		if (txt.data) /* it ends in a space */
			txt.data[strcspn((char *)txt.data, "\n")] = '\0';
		while (txt.data && txt.size && txt.data[0] &&
		       txt.data[strlen((char *)txt.data) - 1] == ' ')
			txt.data[strlen((char *)txt.data) - 1] = '\0';
		ret = set_errbuf(err, es, EKEYREJECTED,
				 "TLS: %s's certificate is refused: %s", who,
				 txt.data ? (char *)txt.data : "not trusted");
		gnutls_free(txt.data);
		return ret;
	}
	case GNUTLS_E_FATAL_ALERT_RECEIVED: {
		gnutls_alert_description_t a = gnutls_alert_get(t->s);
		const char *name = gnutls_alert_get_name(a);

		return set_errbuf(
			err, es, ECONNREFUSED,
			"TLS: %s refused the handshake (alert '%s')%s", who,
			name ? name : "unknown", alert_hint(a, psk));
	}
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		return set_errbuf(
			err, es, EKEYREJECTED,
			"TLS: %s presented no certificate (give it --tls-creds x509:DIR with %s-cert.pem)",
			who, t->cfg->server ? "client" : "server");
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
		if (!t->unknown_user[0])
			return set_errbuf(
				err, es, EKEYREJECTED,
				"TLS: %s offered no credentials of this side's kind (%s): both sides need x509, or both psk",
				who, psk ? "psk" : "x509");
		break;
	case GNUTLS_E_DECRYPTION_FAILED:
	case GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER:
	case GNUTLS_E_KEY_USAGE_VIOLATION:
		if (psk)
			return set_errbuf(
				err, es, EKEYREJECTED,
				"TLS: %s's PSK key differs from this side's (%s)",
				who, t->cfg->creds);
		break;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		return set_errbuf(
			err, es, ECONNRESET,
			"TLS: %s closed the connection during the handshake%s",
			who,
			t->cfg->server ?
				"" :
				" (it may not use TLS, or it refused this side's credentials: see its log)");
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_UNEXPECTED_PACKET:
		return set_errbuf(err, es, EPROTO,
				  "TLS: %s does not speak TLS 1.3 (%s)", who,
				  gnutls_strerror(gerr));
	default:
		break;
	}
	if (t->unknown_user[0])
		return set_errbuf(
			err, es, EKEYREJECTED,
			"TLS: %s's PSK username '%s' has no key in %s", who,
			t->unknown_user, t->cfg->creds);
	return set_errbuf(err, es, EPROTO, "TLS%s with %s: %s",
			  t->up ? "" : " handshake", who,
			  gnutls_strerror(gerr));
}

/* An error of the stream: kept for tls_conn_error(). */
static int gnutls_errno(struct tls_conn *t, int gerr)
{
	return tls_error(t, gerr, t->why, sizeof(t->why));
}

static int psk_lookup(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
	struct tls_conn *t = gnutls_session_get_ptr(s);

	for (unsigned i = 0; i < t->cfg->nkeys; i++) {
		const struct psk_key *k = &t->cfg->keys[i];

		if (!strcmp(k->user, user)) {
			gnutls_datum_t hex = { (unsigned char *)k->hex,
					       (unsigned)strlen(k->hex) };

			return gnutls_hex_decode2(&hex, key) < 0 ? -1 : 0;
		}
	}
	snprintf(t->unknown_user, sizeof(t->unknown_user), "%s", user);
	return -1;
}

/* A server peeks first: the plaintext protocol gets its own answer. */
static int expect_tls(struct tls_conn *t, uint64_t deadline, int timeout_ms,
		      char *err, size_t es)
{
	unsigned char b[4];
	ssize_t n;
	int ret = io_wait(t->fd, POLLIN, t->cancel, deadline);

	if (ret < 0)
		return set_errbuf(
			err, es, ret,
			"TLS: no handshake from the source within %d ms",
			timeout_ms);
	n = recv(t->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0 || b[0] == 0x16) /* a handshake record */
		return 0;
	if (said_plaintext(b, (size_t)n))
		return set_errbuf(
			err, es, EPROTONOSUPPORT,
			"TLS: the source speaks plaintext, and this destination requires TLS (give the source --tls-creds)");
	return set_errbuf(
		err, es, EPROTO,
		"TLS: the source's first bytes are not a TLS handshake");
}

static int peer_identity(struct tls_conn *t)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };
	unsigned n = 0;

	if (t->cfg->psk) {
		const char *u = t->cfg->server ?
					gnutls_psk_server_get_username(t->s) :
					NULL;

		snprintf(t->peer, sizeof(t->peer), "%s", u ? u : "");
		return 0;
	}
	certs = gnutls_certificate_get_peers(t->s, &n);
	if (!certs || !n || gnutls_x509_crt_init(&crt) < 0)
		return -EKEYREJECTED;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
		snprintf(t->peer, sizeof(t->peer), "%s", (char *)dn.data);
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	return 0;
}

static int session_init(struct tls_conn *t, const char *host, char *err,
			size_t es)
{
	const struct vfmig_tls *c = t->cfg;
	int ret;

	ret = gnutls_init(&t->s, (c->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
					 GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS);
	if (ret < 0)
		return set_errbuf(err, es, ENOMEM, "TLS: %s",
				  gnutls_strerror(ret));
	gnutls_session_set_ptr(t->s, t);
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_push_function(t->s, push);
	gnutls_transport_set_pull_function(t->s, pull);
	gnutls_transport_set_pull_timeout_function(t->s, pull_timeout);
	gnutls_handshake_set_timeout(t->s, 0); /* ours: the deadline */
	ret = gnutls_priority_set(t->s, c->prio);
	if (ret < 0)
		return set_errbuf(err, es, EINVAL, "TLS: %s",
				  gnutls_strerror(ret));
	if (c->psk) {
		if (c->server)
			gnutls_psk_set_server_credentials_function(c->psks,
								   psk_lookup);
		ret = gnutls_credentials_set(t->s, GNUTLS_CRD_PSK,
					     c->server ? (void *)c->psks :
							 (void *)c->pskc);
	} else {
		ret = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
					     c->x509);
		if (c->server) {
			gnutls_certificate_server_set_request(
				t->s, GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_cert(t->s, NULL, 0);
		} else {
			ret = tls_check_host(c, host, err, es);
			if (ret < 0)
				return ret;
			gnutls_session_set_verify_cert(
				t->s, c->hostname ? c->hostname : host, 0);
		}
	}
	if (ret < 0)
		return set_errbuf(err, es, EINVAL, "TLS: %s",
				  gnutls_strerror(ret));
	return 0;
}

static void tx_done(struct ring_op *op, int res);
static void rx_done(struct ring_op *op, int res);

int tls_conn_open(const struct vfmig_tls *tls, int fd, const char *host,
		  int cancel, int timeout_ms, struct tls_conn **out, char *err,
		  size_t es)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct tls_conn *t = calloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (!t)
		return set_errbuf(err, es, ENOMEM, "out of memory");
	t->cfg = tls;
	t->fd = fd;
	t->cancel = cancel;
	t->tx.done = tx_done;
	t->rx.done = rx_done;
	/* the source sends the stream, the destination receives it */
	t->osize = tls->server ? CTL_BUF : BULK_BUF;
	t->isize = tls->server ? BULK_BUF : CTL_BUF;
	t->obuf = malloc(t->osize);
	t->ibuf = malloc(t->isize);
	if (!t->obuf || !t->ibuf) {
		ret = set_errbuf(err, es, ENOMEM, "out of memory");
		goto fail;
	}
	if (tls->server) {
		ret = expect_tls(t, deadline, timeout_ms, err, es);
		if (ret < 0)
			goto fail;
	}
	ret = session_init(t, host, err, es);
	if (ret < 0)
		goto fail;
	for (;;) {
		int g = gnutls_handshake(t->s), io;

		/* whatever it said goes out, alerts included */
		io = flush(t, deadline);
		if (g == 0 && io == 0)
			break;
		if (g < 0 && g != GNUTLS_E_AGAIN && g != GNUTLS_E_INTERRUPTED) {
			/* the peer hears why, not just a close */
			if (gnutls_alert_send_appropriate(t->s, g) == 0)
				flush(t, now_ms() + 1000);
			ret = tls_error(t, g, err, es);
			goto fail;
		}
		if (io == 0 && g < 0 && !gnutls_record_get_direction(t->s))
			io = fill(t, deadline);
		if (io == -ETIMEDOUT) {
			ret = set_errbuf(
				err, es, io,
				"TLS: the handshake with %s took longer than %d ms",
				peer_name(t), timeout_ms);
			goto fail;
		}
		if (io < 0) {
			ret = set_errbuf(err, es, io,
					 "TLS: the handshake with %s: %s",
					 peer_name(t), errno_name(io));
			goto fail;
		}
	}
	t->up = true;
	ret = peer_identity(t);
	if (ret < 0) {
		ret = set_errbuf(err, es, ret, "TLS: %s has no certificate",
				 peer_name(t));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tls_conn_free(t);
	return ret;
}

bool tls_conn_pending(const struct tls_conn *t)
{
	return t && (t->ihave > t->ioff || gnutls_record_check_pending(t->s));
}

void tls_conn_set_cancel(struct tls_conn *t, int cancel)
{
	if (t)
		t->cancel = cancel;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	if (t->s)
		gnutls_deinit(t->s);
	free(t->obuf);
	free(t->ibuf);
	free(t);
}

int tls_conn_authorize(const struct tls_conn *t, char *err, size_t es)
{
	const struct vfmig_tls *c = t->cfg;

	if (!c->authz[0])
		return 0;
	for (unsigned i = 0; c->authz[i]; i++)
		if (!fnmatch(c->authz[i], t->peer, 0))
			return 0;
	return set_errbuf(
		err, es, EACCES,
		"TLS: the source's %s '%s' is not allowed by --tls-authz",
		c->psk ? "PSK username" : "certificate subject", t->peer);
}

const char *tls_conn_error(const struct tls_conn *t)
{
	return t->why;
}

/* ---------------------------------------------------------- blocking */

int tls_write_all(struct tls_conn *t, const void *buf, size_t len,
		  int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const unsigned char *p = buf;
	int ret;

	if (t->utx) /* its ciphertext is on the way out */
		return -EBUSY;
	while (len) {
		ssize_t n;

		if (t->osize - t->olen < RECORD_MAX) {
			ret = flush(t, deadline);
			if (ret < 0)
				return ret;
		}
		n = gnutls_record_send(t->s, p,
				       len < PLAIN_MAX ? len : PLAIN_MAX);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return gnutls_errno(t, (int)n);
		p += n;
		len -= (size_t)n;
	}
	return flush(t, deadline);
}

ssize_t tls_read(struct tls_conn *t, void *p, size_t len, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	if (t->urx)
		return -EBUSY;
	for (;;) {
		ssize_t n = gnutls_record_recv(t->s, p, len);
		int ret;

		/* an end without close_notify is an end: the stream's own
		 * counts and checksums tell a cut from a finish */
		if (n >= 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
			return n >= 0 ? n : 0;
		if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
			return gnutls_errno(t, (int)n);
		ret = fill(t, deadline);
		if (ret < 0)
			return ret;
	}
}

/* ------------------------------------------------------ asynchronous */

static void complete(struct ring_op **slot, int res)
{
	struct ring_op *op = *slot;

	*slot = NULL;
	op->busy = false;
	op->done(op, res);
}

/* A result known now still completes from the ring, as a real one would:
 * callers never see their callback run inside their own call. */
static void post(struct tls_conn *t, struct ring_op *op, bool *nop, int *res,
		 int value)
{
	*nop = true;
	*res = value;
	io_uring_prep_nop(ring_sqe(t->r, op));
}

static void arm_send(struct tls_conn *t)
{
	io_uring_prep_send(ring_sqe(t->r, &t->tx), t->fd, t->obuf + t->ooff,
			   t->olen - t->ooff, MSG_NOSIGNAL);
}

static void tx_done(struct ring_op *op, int res)
{
	struct tls_conn *t = container_of(op, struct tls_conn, tx);

	if (t->tx_nop) {
		t->tx_nop = false;
		complete(&t->utx, res == -ECANCELED ? res : t->tx_res);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		arm_send(t);
		return;
	}
	if (res <= 0) {
		complete(&t->utx, res ? res : -EPIPE);
		return;
	}
	t->ooff += (size_t)res;
	if (t->ooff < t->olen) {
		arm_send(t);
		return;
	}
	t->olen = t->ooff = 0;
	complete(&t->utx, (int)t->tx_plain);
}

void tls_send(struct ring *r, struct tls_conn *t, struct ring_op *op,
	      const struct iovec *iov, int niov)
{
	size_t plain = 0;
	ssize_t n = 0;

	t->r = r;
	t->utx = op;
	op->busy = true;
	for (int i = 0; i < niov && n >= 0; i++) {
		const unsigned char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left && t->osize - t->olen >= RECORD_MAX) {
			n = gnutls_record_send(
				t->s, p, left < PLAIN_MAX ? left : PLAIN_MAX);
			if (n < 0)
				break;
			p += n;
			left -= (size_t)n;
			plain += (size_t)n;
		}
		if (left)
			break;
	}
	if (!plain || t->olen == t->ooff) {
		post(t, &t->tx, &t->tx_nop, &t->tx_res,
		     n < 0 ? gnutls_errno(t, (int)n) : (int)plain);
		return;
	}
	t->tx_plain = plain;
	arm_send(t);
}

/* Decrypt what ibuf holds into the caller's buffer: a count, 0 at the
 * end, -EAGAIN for more ciphertext, or -errno. */
static int decrypt(struct tls_conn *t)
{
	size_t got = 0;

	while (got < t->rx_len) {
		ssize_t n = gnutls_record_recv(t->s, t->rx_buf + got,
					       t->rx_len - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (got)
			break; /* an end or an error shows on the next call */
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return t->eof ? 0 : -EAGAIN;
		return gnutls_errno(t, (int)n);
	}
	return (int)got;
}

static void arm_recv(struct tls_conn *t)
{
	ibuf_compact(t);
	io_uring_prep_recv(ring_sqe(t->r, &t->rx), t->fd, t->ibuf + t->ihave,
			   t->isize - t->ihave, 0);
}

static void rx_done(struct ring_op *op, int res)
{
	struct tls_conn *t = container_of(op, struct tls_conn, rx);
	int n;

	if (t->rx_nop) {
		t->rx_nop = false;
		complete(&t->urx, res == -ECANCELED ? res : t->rx_res);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		arm_recv(t);
		return;
	}
	if (res < 0) {
		complete(&t->urx, res);
		return;
	}
	if (!res)
		t->eof = true;
	got_bytes(t, (size_t)res);
	t->ihave += (size_t)res;
	n = decrypt(t);
	if (n == -EAGAIN)
		arm_recv(t);
	else
		complete(&t->urx, n);
}

void tls_recv(struct ring *r, struct tls_conn *t, struct ring_op *op, void *buf,
	      size_t len)
{
	int n;

	t->r = r;
	t->urx = op;
	op->busy = true;
	t->rx_buf = buf;
	t->rx_len = len;
	n = decrypt(t);
	if (n == -EAGAIN)
		arm_recv(t);
	else
		post(t, &t->rx, &t->rx_nop, &t->rx_res, n);
}

void tls_cancel(struct ring *r, struct tls_conn *t)
{
	if (!t)
		return;
	ring_cancel(r, &t->tx);
	ring_cancel(r, &t->rx);
}
