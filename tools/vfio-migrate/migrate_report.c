// SPDX-License-Identifier: GPL-2.0-or-later
/* send, recv, save and load: what they print (progress, the report, the
 * listening record) and the --metrics file's rewrites. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "metrics.h"
#include "migrate.h"
#include "print.h"
#include "systemd.h"

static double ratio(const struct vfmig_transfer *t)
{
	return t->raw_bytes ? (double)t->wire_bytes / (double)t->raw_bytes : 0;
}

static uint64_t limit_ms(const struct mig_args *a)
{
	return a->o.downtime_limit_ms ? a->o.downtime_limit_ms :
					VFMIG_DOWNTIME_LIMIT_DEFAULT_MS;
}

/* query-migrate's status for a phase of ours: "device" once the source
 * stops its devices (QEMU's device-state transfer), "setup" before. */
static const char *phase_status(const char *phase)
{
	if (!strcmp(phase, "setup"))
		return "setup";
	if (!strcmp(phase, "switchover") || !strcmp(phase, "stop-copy"))
		return "device";
	return "active";
}

void mig_metrics(struct mig_args *a, const char *status, uint64_t total_ms,
		 const struct vfmig_transfer *t, const struct mig_result *r)
{
	struct metrics_snap m = {
		.status = status, .total_ms = total_ms, .total = t, .r = r
	};
	char why[512];

	if (!a->metrics[0] || metrics_write(a, &m, why, sizeof(why)) == 0)
		return;
	if (!a->metrics_said)
		err_msg("%s (the migration goes on)", why);
	a->metrics_said = true;
}

void mig_progress(void *arg, const struct vfmig_transfer *t,
		  uint64_t elapsed_ms, const char *phase)
{
	struct mig_args *a = arg;
	double rate = elapsed_ms ? (double)t->raw_bytes * 1000.0 /
					   (double)elapsed_ms :
				   0;
	struct vfmig_estimate e = { .size = sizeof(e) };
	int est = a->src && strcmp(phase, "setup") ?
			  vfmig_source_estimate(a->src, &e) :
			  -ENOENT;
	char h[32], r[32];
	struct printer p;

	mig_metrics(a, phase_status(phase), elapsed_ms, t, NULL);
	if (a->json && !a->records)
		return; /* -j --metrics: the file only */
	if (a->json) {
		pr_init_ndjson(&p, stdout);
		pr_open_object(&p, NULL);
		pr_string(&p, "status", NULL, phase_status(phase));
		pr_string(&p, "phase", NULL, phase);
		pr_u64(&p, "total-time", NULL, elapsed_ms);
		pr_u64(&p, "transferred", NULL, t->raw_bytes);
		pr_u64(&p, "wire-bytes", NULL, t->wire_bytes);
		pr_u64(&p, "throughput", NULL, (uint64_t)rate);
		if (est != -ENOENT && e.size == sizeof(e))
			pr_estimate(&p, &e, est, limit_ms(a));
		pr_close_object(&p);
		pr_end(&p);
		return;
	}
	if (!isatty(STDERR_FILENO))
		return;
	human_bytes(t->raw_bytes, h, sizeof(h));
	human_bytes((uint64_t)rate, r, sizeof(r));
	fprintf(stderr, "\r%-10s %10s %10s/s", phase, h, r);
	if (t->wire_bytes)
		fprintf(stderr, "  wire/raw %.3f", ratio(t));
	if (est == 0)
		fprintf(stderr, "  exp. downtime %llu ms (%s)",
			(unsigned long long)e.expected_downtime_ms,
			vfmig_verdict_name(e.verdict));
	fprintf(stderr, "  %6.1f s ", (double)elapsed_ms / 1000.0);
}

/* The estimate, before switchover: its figures, the link, the devices'. */
static void report_estimate(struct printer *p, const struct mig_args *a)
{
	struct vfmig_estimate e = { .size = sizeof(e) };
	int ret = vfmig_source_estimate(a->src, &e);
	char ifname[64];
	uint64_t bps;

	if (ret == -EINVAL || e.size != sizeof(e))
		return;
	pr_estimate(p, &e, ret, limit_ms(a));
	if (*vfmig_source_switchover_reason(a->src))
		pr_string(p, "switchover-reason", "switched over",
			  vfmig_source_switchover_reason(a->src));
	if (vfmig_source_link(a->src, ifname, sizeof(ifname), &bps) == 0) {
		pr_open_object(p, "link");
		pr_string(p, "name", "link", ifname);
		pr_u64(p, "speed", "  speed (bit/s)", bps);
		pr_close_object(p);
	}
}

/* One device's figures; @terse (a failure, in text): what was measured. */
static void report_device(struct printer *p, const struct mig_args *a,
			  struct vfmig_device *dev, unsigned i,
			  const struct mig_result *r, bool terse)
{
	const struct vfmig_transfer *t = &r->dev[i];
	struct vfmig_estimate e = { .size = sizeof(e) };
	char id[16];
	uint64_t h;

	pr_open_object(p, NULL);
	pr_string(p, "name", "device", vfmig_device_name(dev));
	pr_string(p, "id", "  id", mig_id(dev, i, id, sizeof(id)));
	pr_string(p, "state", "  state",
		  vfmig_state_name(vfmig_device_get_state(dev)));
	if (!terse || t->raw_bytes) {
		pr_bytes(p, "raw-bytes", "  raw", t->raw_bytes);
		if (r->have_wire)
			pr_bytes(p, "wire-bytes", "  wire", t->wire_bytes);
		pr_bytes(p, "precopy-bytes", "  pre-copy", t->precopy_bytes);
		pr_bytes(p, "stopcopy-bytes", "  stop-copy", t->stopcopy_bytes);
	}
	if (vfmig_device_state_hash(dev, &h) == 0)
		pr_hex64(p, "state-hash", "  state hash", h);
	if (a->mode == MIG_SEND && vfmig_source_stats(a->src) &&
	    (!terse || vfmig_source_estimate(a->src, &e) == 0)) {
		uint64_t pend;
		double rt;
		int src, untrusted;

		vfmig_stats_device(vfmig_source_stats(a->src), i, &pend, &rt,
				   &src, &untrusted);
		pr_bytes(p, "pending", "  pending", pend);
		pr_double(p, "ratio", "  ratio used", rt, 4);
		pr_string(p, "ratio-source", "  ratio source",
			  vfmig_ratio_source_name(src));
		pr_string(p, "size-report", "  size report",
			  untrusted ? "untrusted" : "trusted");
	}
	pr_close_object(p);
}

/*
 * The report: every field in JSON (the schema's), and in text what there
 * is to say.  A failure leads with its error and shows what was measured,
 * not a page of zeros.
 */
/* query-migrate's error-desc; "error" too, the name before 0.4 (an alias
 * for one release: vfio-migrate(8) says so). */
static void report_error(struct printer *p, const struct mig_args *a,
			 const char *why)
{
	pr_string(p, "error-desc", "error", why);
	if (a->json)
		pr_string(p, "error", NULL, why);
}

void mig_report(const struct mig_args *a, struct vfmig_device **devs,
		const struct mig_result *r)
{
	double secs = (double)r->total_ms / 1000.0;
	/* text: a failure, or a dry run, says what there is to say */
	bool terse = !a->json && (r->ret || a->o.dry_run);
	struct vfmig_estimate e = { .size = sizeof(e) };
	struct printer p;

	if (!a->json && isatty(STDERR_FILENO) && a->o.progress)
		fputc('\n', stderr);
	/* -j: every record one line (NDJSON), the report the last */
	if (a->json)
		pr_init_ndjson(&p, stdout);
	else
		pr_init(&p, stdout, false);
	pr_open_object(&p, NULL);
	/* cancelled: this side was interrupted (a peer's cancel, or a
	 * pre-copy given up, is a failure here, as in QEMU) */
	pr_string(&p, "status", "status",
		  !r->ret	? "completed" :
		  intr_signal() ? "cancelled" :
				  "failed");
	if (terse && r->ret)
		report_error(&p, a, r->error);
	if (a->o.dry_run)
		pr_bool(&p, "dry-run", "dry run", true,
			r->ret ? "a migration would not start" :
				 "a migration would start; nothing moved");
	pr_u64(&p, "total-time", "total time (ms)", r->total_ms);
	if (r->have_setup)
		pr_u64(&p, "setup-time", "setup time (ms)", r->setup_us / 1000);
	if (r->have_downtime) {
		pr_u64(&p, "downtime", "downtime (ms)", r->downtime_ms);
		pr_u64(&p, "downtime-us", "  in us", r->downtime_us);
	}
	if (a->mode == MIG_SEND && a->src &&
	    (!terse || vfmig_source_estimate(a->src, &e) == 0))
		report_estimate(&p, a);
	if (!terse || r->total.raw_bytes) {
		pr_bytes(&p, "transferred", "transferred", r->total.raw_bytes);
		if (r->have_wire) {
			pr_bytes(&p, "wire-bytes", "on the wire",
				 r->total.wire_bytes);
			pr_double(&p, "ratio", "wire/raw", ratio(&r->total), 6);
		}
		pr_u64(&p, "throughput", "throughput (B/s)",
		       secs > 0 ?
			       (uint64_t)((double)r->total.raw_bytes / secs) :
			       0);
		pr_u64(&p, "channels", "channels", r->channels);
	}
	pr_open_array(&p, "devices", NULL);
	for (unsigned i = 0; i < a->ndev; i++)
		report_device(&p, a, devs[i], i, r, terse);
	pr_close_array(&p);
	if (r->ret && !terse)
		report_error(&p, a, r->error);
	pr_close_object(&p);
	pr_end(&p);
}

/* QEMU's socket-address: [{"type": "inet", "host": ..., "port": "N"}]
 * (the port a string, as QEMU has it) or [{"type": "unix", "path": ...}] */
static void report_address(struct printer *p, const struct sockaddr *sa,
			   socklen_t len)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	pr_open_array(p, "socket-address", NULL);
	pr_open_object(p, NULL);
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t n =
			len > offsetof(struct sockaddr_un, sun_path) ?
				len - offsetof(struct sockaddr_un, sun_path) :
				0;
		char path[sizeof(un->sun_path) + 1];

		/* an abstract name begins with a NUL: written "@name" */
		n = n > sizeof(un->sun_path) ? sizeof(un->sun_path) : n;
		memcpy(path, un->sun_path, n);
		path[n] = '\0';
		if (n && !path[0])
			path[0] = '@';
		pr_string(p, "type", NULL, "unix");
		pr_string(p, "path", NULL, path);
	} else if (!getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
				NI_NUMERICHOST | NI_NUMERICSERV)) {
		pr_string(p, "type", NULL, "inet");
		pr_string(p, "host", NULL, host);
		pr_string(p, "port", NULL, port);
	}
	pr_close_object(p);
	pr_close_array(p);
}

void mig_listening(const struct mig_args *a, const struct vfmig_sink *k)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	/* room for a unix URI whole: a path is at most 107 bytes */
	char where[256], why[256];
	struct printer p;

	if (vfmig_sink_address(k, (struct sockaddr *)&ss, &len) < 0)
		return; /* nothing listens: a file, connected fds */
	/* The ready line, also with -j: scripts wait for it (and learn the
	 * port of tcp:HOST:0) rather than guess; so does systemd. */
	if (vfmig_sink_port(k) >= 0)
		snprintf(where, sizeof(where), "listening on port %d",
			 vfmig_sink_port(k));
	else
		snprintf(where, sizeof(where), "listening on %.200s", a->uri);
	fprintf(stderr, "%s: %s\n", prog, where);
	if (sd_ready(where, why, sizeof(why)) < 0)
		err_msg("cannot tell systemd it is ready: %s", why);
	if (!a->json)
		return;
	pr_init_ndjson(&p, stdout);
	pr_open_object(&p, NULL);
	pr_string(&p, "status", NULL, "listening");
	report_address(&p, (struct sockaddr *)&ss, len);
	pr_close_object(&p);
	pr_end(&p);
}
