// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every figure is a gauge of this one run (a run is a process; node
 * exporter adds no history of its own), labelled with the command and the
 * address so that two migrations' files do not collide.  A state (status,
 * verdict) is a set of gauges, one per value, the current one 1: the
 * usual way to put an enum in this format.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

static const char *const statuses[] = { "setup",     "active", "device",
					"completed", "failed", "cancelled" };
static const char *const command_name[] = { "send", "recv", "save", "load" };

/* A label value: backslash, quote and newline escaped, as the format
 * asks. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

struct out {
	FILE *f;
	const struct mig_args *a;
};

static void head(struct out *o, const char *name, const char *help)
{
	fprintf(o->f,
		"# HELP vfio_migrate_%s %s\n# TYPE vfio_migrate_%s gauge\n",
		name, help, name);
}

/* vfio_migrate_NAME{command="send",uri="...",KEY="VAL"} VALUE */
static void line(struct out *o, const char *name, const char *key,
		 const char *val, double v)
{
	fprintf(o->f, "vfio_migrate_%s{command=\"%s\",uri=\"", name,
		command_name[o->a->mode]);
	label(o->f, o->a->mode >= MIG_SAVE ? o->a->path : o->a->uri);
	if (key && val) {
		fprintf(o->f, "\",%s=\"", key);
		label(o->f, val);
	}
	fprintf(o->f, "\"} %.15g\n", v);
}

static void gauge(struct out *o, const char *name, const char *help, double v)
{
	head(o, name, help);
	line(o, name, NULL, NULL, v);
}

static void stateset(struct out *o, const char *name, const char *help,
		     const char *key, const char *const *vals, unsigned n,
		     const char *cur)
{
	head(o, name, help);
	for (unsigned i = 0; i < n; i++)
		line(o, name, key, vals[i], !strcmp(vals[i], cur));
}

/* The source's estimate, while there is one. */
static void estimate(struct out *o)
{
	static const char *const verdicts[] = { "ready", "converging",
						"stalled", "diverging",
						"over-limit" };
	struct vfmig_estimate e = { .size = sizeof(e) };

	if (!o->a->src || vfmig_source_estimate(o->a->src, &e) != 0 ||
	    e.size != sizeof(e))
		return;
	gauge(o, "expected_downtime_seconds",
	      "Expected downtime if the source switched over now.",
	      (double)e.expected_downtime_us / 1e6);
	gauge(o, "remaining_bytes", "Raw bytes left to move: RAM and devices.",
	      (double)e.remaining);
	gauge(o, "bandwidth_bytes_per_second",
	      "Wire bandwidth the estimate assumes.", (double)e.bandwidth);
	stateset(o, "verdict", "The estimate's verdict, 1 for the current.",
		 "verdict", verdicts, 5, vfmig_verdict_name(e.verdict));
}

/* Per device, by id: raw and wire bytes so far, and what is pending. */
static void devices(struct out *o, const struct metrics_snap *m)
{
	const struct mig_args *a = o->a;
	struct vfmig_transfer t[MIG_MAX_DEV];
	static const char *const what[] = { "device_transferred_bytes",
					    "device_wire_bytes" };
	char id[MIG_MAX_DEV][16];
	const char *ids[MIG_MAX_DEV];

	for (unsigned i = 0; i < a->ndev; i++) {
		t[i] = (struct vfmig_transfer){ .size = sizeof(t[i]) };
		if (m->r)
			t[i] = m->r->dev[i];
		else if (a->src)
			vfmig_source_transfer(a->src, (int)i, &t[i]);
		else if (a->snk)
			vfmig_sink_transfer(a->snk, (int)i, &t[i]);
		ids[i] = mig_id(a->devs[i], i, id[i], sizeof(id[i]));
	}
	for (unsigned w = 0; w < 2; w++) {
		head(o, what[w],
		     w ? "Wire bytes of the device's frames so far." :
			 "Raw device state bytes moved so far.");
		for (unsigned i = 0; i < a->ndev; i++)
			line(o, what[w], "device", ids[i],
			     (double)(w ? t[i].wire_bytes : t[i].raw_bytes));
	}
	if (!a->src || !vfmig_source_stats(a->src))
		return;
	head(o, "device_pending_bytes",
	     "What the device's driver says is left to read.");
	for (unsigned i = 0; i < a->ndev; i++) {
		uint64_t pend = 0;
		double rt;
		int src, untrusted;

		vfmig_stats_device(vfmig_source_stats(a->src), i, &pend, &rt,
				   &src, &untrusted);
		line(o, "device_pending_bytes", "device", ids[i], (double)pend);
	}
}

static void body(struct out *o, const struct metrics_snap *m)
{
	double secs = (double)m->total_ms / 1000.0;
	struct timespec now;

	stateset(o, "status", "The migration's status, 1 for the current.",
		 "status", statuses, 6, m->status);
	gauge(o, "total_time_seconds", "Time since the migration started.",
	      secs);
	if (m->r && m->r->have_setup)
		gauge(o, "setup_time_seconds",
		      "Connection, handshake and manifest, to the first device byte.",
		      (double)m->r->setup_us / 1e6);
	gauge(o, "transferred_bytes", "Raw device state bytes moved so far.",
	      (double)m->total->raw_bytes);
	if (o->a->mode == MIG_SEND || o->a->mode == MIG_SAVE)
		gauge(o, "wire_bytes", "Bytes of frames sent so far.",
		      (double)m->total->wire_bytes);
	gauge(o, "throughput_bytes_per_second",
	      "Raw bytes per second over the whole run so far.",
	      secs > 0 ? (double)m->total->raw_bytes / secs : 0);
	if (m->r && m->r->have_downtime)
		gauge(o, "downtime_seconds",
		      "Measured downtime: first device stopped until the destination confirmed every device.",
		      (double)m->r->downtime_us / 1e6);
	if (o->a->mode == MIG_SEND) {
		gauge(o, "downtime_limit_seconds", "The downtime limit.",
		      (double)(o->a->o.downtime_limit_ms ?
				       o->a->o.downtime_limit_ms :
				       VFMIG_DOWNTIME_LIMIT_DEFAULT_MS) /
			      1e3);
		if (strcmp(m->status, "setup"))
			estimate(o);
	}
	devices(o, m);
	clock_gettime(CLOCK_REALTIME, &now);
	gauge(o, "last_update_timestamp_seconds",
	      "When this file was written (a stale file means a dead writer).",
	      (double)now.tv_sec + (double)now.tv_nsec / 1e9);
}

int metrics_write(const struct mig_args *a, const struct metrics_snap *m,
		  char *err, size_t es)
{
	char tmp[sizeof(a->metrics) + 32];
	struct out o = { .a = a };
	int ret = 0;

	/* beside it (rename(2) is atomic within a filesystem), and not a
	 * *.prom name: the collector reads only those */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", a->metrics, (long)getpid());
	o.f = fopen(tmp, "we");
	if (!o.f) {
		snprintf(err, es, "--metrics %s: %s", tmp, strerror(errno));
		return -errno;
	}
	body(&o, m);
	if (fflush(o.f) || ferror(o.f))
		ret = -(errno ? errno : EIO);
	if (fclose(o.f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, a->metrics) < 0)
		ret = -errno;
	if (ret) {
		snprintf(err, es, "--metrics %s: %s", a->metrics,
			 strerror(-ret));
		unlink(tmp);
	}
	return ret;
}
