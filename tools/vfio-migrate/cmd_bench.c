// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-migrate bench: named scenarios of simulated devices migrated over
 * loopback TCP (the destination in a child process, as on another host),
 * each run several times (medians), against baselines measured in the same
 * run on the same bytes.  With -d, a driver's own figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_baseline.h"
#include "bench_calibrate.h"
#include "bench_threads.h"
#include "bench_util.h"
#include "cli.h"
#include "options.h"
#include "migrate.h"
#include "print.h"

#define MAX_RUNS 15
#define MAX_DEV 64

struct scenario {
	const char *name;
	const char *what; /* after "N x SIZE " */
	unsigned ndev;
	unsigned mul, div; /* device size: --size * mul / div */
	const char *pattern;
	unsigned channels;
	uint64_t cap; /* wire bytes/s, 0: none */
	const char *dirty; /* pre-copy dirtying this much; NULL: stop-copy */
	bool dflt; /* in the default set */
	bool tls; /* also over TLS, each run beside a plaintext one */
	bool uncompressed; /* -z none */
};

/* DESIGN.md §11's scenarios, at --size 256M. */
static const struct scenario scenarios[] = {
	{ "fb", "framebuffer-like, 2 channels", 4, 1, 1, "fb", 2, 0, NULL, true,
	  true, false },
	{ "random", "incompressible, 2 channels", 4, 1, 1, "random", 2, 0, NULL,
	  true, true, false },
	{ "none", "framebuffer-like, uncompressed (-z none), 2 channels", 4, 1,
	  1, "fb", 2, 0, NULL, true, false, true },
	{ "many", "fb, 8 channels", 64, 1, 16, "fb", 8, 0, NULL, true, false,
	  false },
	{ "link-1g", "fb, 1 Gbit/s link, stop-copy only", 1, 8, 1, "fb", 2,
	  125000000, NULL, true, false, false },
	{ "precopy", "fb dirtying 32M/s, 200 MB/s, pre-copy", 1, 1, 1, "fb", 2,
	  200000000, "32M/s", true, false, false },
	{ "text", "text dirtying 64M/s, 100 MB/s, pre-copy", 2, 1, 1, "text", 2,
	  100000000, "64M/s", false, false, false },
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/* One measurement. */
struct sample {
	double secs; /* start until the destination confirmed the last load */
	uint64_t raw, wire;
	double down_ms, exp_ms; /* measured and predicted downtime; -1: none */
	struct vfmig_times send, recv; /* setup, and CPU by thread role */
};

/* A scenario's medians. */
struct figures {
	bool have;
	double secs, rate, down_ms, exp_ms, error;
	uint64_t raw, wire;
};

struct outcome {
	const struct scenario *sc;
	uint64_t size;
	struct figures ours, serial, naive, plain, tls;
	struct thread_figs threads; /* ours */
};

/* TLS 1.3 with a PSK made for the run: both ends' handles (the
 * destination's is inherited by its process). */
static struct vfmig_tls *tls_client, *tls_server;

/* "4 x 256 MiB framebuffer-like, 2 channels" */
static const char *describe(const struct scenario *sc, uint64_t size, char *buf,
			    size_t len)
{
	char b[32];

	snprintf(buf, len, "%u x %s %s", sc->ndev,
		 human_bytes(size, b, sizeof(b)), sc->what);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s bench [SCENARIO...] [--runs N] [--size SIZE] [--baseline] [-j]\n"
		"          [--plot FILE.png]\n"
		"       %s bench -d DEV [-d DEV]... [--runs N] [-j]\n"
		"\nMeasure migrations of simulated devices over loopback TCP to a destination\n"
		"process on this machine, each scenario --runs times (medians); or, with -d,\n"
		"a driver:\n"
		"its state transition latencies, pre-copy and stop-copy read rates and how\n"
		"well it predicts its stop-copy size (the device is stopped meanwhile).\n\n"
		"  SCENARIO         fb, random, none, many, link-1g, precopy, text, or all\n"
		"                   (default: all but text)\n"
		"  --runs N         runs per figure, 1-%d (default 3)\n"
		"  --size SIZE      the base device size (default 256M; many uses 1/16,\n"
		"                   link-1g 8x)\n"
		"  --baseline       also, on the same bytes: the serial uncompressed\n"
		"                   single-channel stream (a device at a time, as QEMU\n"
		"                   moves device state), cat | nc, and (but for none)\n"
		"                   zstd -1 -T2 | nc | zstd -d\n"
		"  --plot FILE.png  draw throughput and predicted vs measured downtime\n"
		"                   (gnuplot)\n"
		"  -d, --device DEV benchmark this device's driver instead\n"
		"  -j, --json       the results as one JSON object\n",
		prog, prog, MAX_RUNS);
}

/* ------------------------------------------------------------ devices */

/* The source devices; the destination's are opened by its own process. */
static void open_sims(const struct scenario *sc, uint64_t size,
		      struct vfmig_device **src)
{
	char spec[160];

	for (unsigned i = 0; i < sc->ndev; i++) {
		/* check=off: the simulator's page hashing is the tests'
		 * oracle, not the pipeline's cost; hashes still compare */
		snprintf(spec, sizeof(spec),
			 "sim:size=%" PRIu64
			 ",pattern=%s,seed=%u,check=off,name=d%u%s%s",
			 size, sc->pattern, i + 1, i,
			 sc->dirty ? ",dirty=" : ",precopy=off",
			 sc->dirty ? sc->dirty : "");
		if (open_device(spec, &src[i]))
			exit(EXIT_FAILED);
	}
}

struct answer {
	int ret;
	uint64_t hash[MAX_DEV];
	struct vfmig_times times;
};

/*
 * The destination, in a process of its own as on another host (threads of
 * one process would share its mmap lock across both ends' page faults):
 * @n zeroed devices of @size named d@first..., the port to @wfd, then the
 * outcome and the state hashes.
 */
static void destination(unsigned first, unsigned n, uint64_t size, bool tls,
			int wfd)
{
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = "tcp:127.0.0.1:0",
					.timeout_ms = 120000,
					.tls = tls ? tls_server : NULL };
	struct vfmig_device *dst[MAX_DEV];
	struct answer a = { .ret = -1 };
	struct vfmig_sink *k = NULL;
	char spec[128];
	int port = -1;

	for (unsigned i = 0; i < n; i++) {
		snprintf(spec, sizeof(spec),
			 "sim:size=%" PRIu64 ",pattern=zero,check=off,name=d%u",
			 size, first + i);
		if (open_device(spec, &dst[i]))
			_exit(EXIT_FAILED);
	}
	if (vfmig_sink_new(dst, n, &ko, &k) == 0 && vfmig_sink_listen(k) == 0)
		port = vfmig_sink_port(k);
	if (write(wfd, &port, sizeof(port)) != sizeof(port) || port < 0)
		_exit(EXIT_FAILED);
	a.ret = vfmig_sink_run(k);
	if (a.ret)
		err_msg("bench: destination: %s", vfmig_sink_strerror(k));
	a.times.size = sizeof(a.times);
	vfmig_sink_times(k, &a.times);
	for (unsigned i = 0; i < n; i++)
		vfmig_device_state_hash(dst[i], &a.hash[i]);
	if (write(wfd, &a, sizeof(a)) != sizeof(a))
		_exit(EXIT_FAILED);
	_exit(EXIT_OK);
}

/* One migration of @n devices with @so; the source devices run again. */
static int migrate(struct vfmig_device **src, unsigned first, unsigned n,
		   uint64_t size, struct vfmig_stream_opts so,
		   struct sample *out)
{
	struct vfmig_estimate e = { .size = sizeof(e) };
	struct vfmig_source *s = NULL;
	struct answer a = { .ret = -1 };
	struct vfmig_transfer t = { .size = sizeof(t) };
	int pfd[2], port = -1, ret = -1, st;
	char uri[64];
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (pipe(pfd) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		destination(first, n, size, so.tls != NULL, pfd[1]);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &port, sizeof(port)) != sizeof(port) ||
	    port < 0) {
		err_msg("bench: the destination did not start");
		goto out;
	}
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", port);
	so.uri = uri;
	so.timeout_ms = 120000;
	ret = vfmig_source_new(src, n, &so, &s);
	ret = ret ? ret : vfmig_source_run(s);
	if (ret < 0)
		err_msg("bench: %s",
			s ? vfmig_source_strerror(s) : strerror(-ret));
	if (read(pfd[0], &a, sizeof(a)) != sizeof(a) || a.ret)
		ret = ret ? ret : -EIO;
	if (!ret) {
		vfmig_source_transfer(s, -1, &t);
		out->secs = (double)vfmig_source_total_ms(s) / 1000;
		out->raw = t.raw_bytes;
		out->wire = t.wire_bytes;
		out->down_ms = (double)vfmig_source_downtime_us(s) / 1000;
		out->exp_ms = vfmig_source_estimate(s, &e) == 0 ?
				      (double)e.expected_downtime_us / 1000 :
				      -1;
		out->send.size = sizeof(out->send);
		vfmig_source_times(s, &out->send);
		out->recv = a.times;
	}
	/* nothing counts unless the destination holds the source's state */
	for (unsigned i = 0; !ret && i < n; i++) {
		uint64_t h = 0;

		vfmig_device_state_hash(src[i], &h);
		if (h != a.hash[i]) {
			err_msg("bench: %s: the restored state differs",
				vfmig_device_name(src[i]));
			ret = -EIO;
		}
	}
	vfmig_source_free(s);
	for (unsigned i = 0; i < n; i++)
		vfmig_device_recover(src[i]);
out:
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return ret < 0 ? -1 : 0;
}

/* ------------------------------------------------------------- runs */

static void summarize(struct sample *s, int n, struct figures *f)
{
	double v[MAX_RUNS] = { 0 };

	f->have = true;
	for (int i = 0; i < n; i++)
		v[i] = s[i].secs;
	f->secs = bench_median(v, n);
	f->raw = s[0].raw;
	f->wire = s[0].wire;
	f->rate = (double)f->raw / f->secs;
	for (int i = 0; i < n; i++)
		v[i] = s[i].down_ms;
	f->down_ms = bench_median(v, n);
	for (int i = 0; i < n; i++)
		v[i] = s[i].exp_ms;
	f->exp_ms = bench_median(v, n);
	/* the error of the median pair: each run's own prediction */
	for (int i = 0; i < n; i++)
		v[i] = s[i].exp_ms < 0 || s[i].down_ms <= 0 ?
			       -1 :
			       (s[i].exp_ms - s[i].down_ms) / s[i].down_ms;
	f->error = bench_median(v, n);
}

/* @runs of a shell pipeline over @path's bytes, into @f. */
static int run_pipeline(const char *path, uint64_t bytes, bool compress,
			int runs, struct figures *f)
{
	struct sample s[MAX_RUNS] = { 0 };

	for (int i = 0; i < runs; i++) {
		s[i] = (struct sample){ .raw = bytes,
					.down_ms = -1,
					.exp_ms = -1 };
		s[i].secs = baseline_pipeline(path, compress);
		if (s[i].secs < 0)
			return -1;
	}
	summarize(s, runs, f);
	return 0;
}

/* cat | nc on the devices' bytes, and zstd | nc | zstd -d but for a
 * scenario that never compresses. */
static int run_pipelines(const struct scenario *sc, struct vfmig_device **src,
			 int runs, struct outcome *o)
{
	char path[64];
	struct stat st;
	int ret = 0;

	if (baseline_stream_file(src, sc->ndev, path, sizeof(path)) < 0 ||
	    stat(path, &st) < 0) {
		err_msg("bench: cannot write the devices' streams to %s", path);
		return -1;
	}
	ret = run_pipeline(path, (uint64_t)st.st_size, false, runs, &o->plain);
	if (!ret && !sc->uncompressed)
		ret = run_pipeline(path, (uint64_t)st.st_size, true, runs,
				   &o->naive);
	unlink(path);
	return ret;
}

static int run_scenario(const struct scenario *sc, uint64_t base, int runs,
			bool baseline, struct outcome *o)
{
	uint64_t size = base * sc->mul / sc->div;
	struct vfmig_device *src[MAX_DEV];
	struct vfmig_stream_opts so = { .size = sizeof(so) };
	struct sample s[MAX_RUNS], s_tls[MAX_RUNS];
	char what[128], history[96];
	int ret = 0;

	memset(o, 0, sizeof(*o));
	o->sc = sc;
	o->size = size - size % 4096;
	fprintf(stderr, "bench: %s: %s\n", sc->name,
		describe(sc, o->size, what, sizeof(what)));
	open_sims(sc, o->size, src);

	/* ours, as `vfio-migrate send` runs by default */
	so.channels = sc->channels;
	so.codec = sc->uncompressed ? VFMIG_CODEC_NONE : VFMIG_CODEC_AUTO;
	so.level = sc->uncompressed ? 0 : mig_auto_level(sc->cap);
	so.max_bandwidth = sc->cap;
	so.precopy = sc->dirty ? 0 : -1;
	so.switchover = sc->dirty ? VFMIG_SWITCHOVER_AUTO :
				    VFMIG_SWITCHOVER_IMMEDIATE;
	/* the scenario's own history: a stop-copy-only device's ratio for
	 * the estimate comes from the run before (the first has none) */
	snprintf(history, sizeof(history), "/tmp/vfmig-bench-%ld-%s.history",
		 (long)getpid(), sc->name);
	so.history = history;
	for (int i = 0; !ret && i < runs; i++) {
		struct vfmig_stream_opts t = so;

		ret = migrate(src, 0, sc->ndev, o->size, so, &s[i]);
		if (!ret)
			threads_add(&o->threads, s[i].raw, &s[i].send,
				    &s[i].recv);
		/* right after its plaintext twin: the same noise, mostly */
		t.tls = tls_client;
		if (!ret && sc->tls && tls_client)
			ret = migrate(src, 0, sc->ndev, o->size, t, &s_tls[i]);
	}
	unlink(history);
	if (!ret)
		summarize(s, runs, &o->ours);
	if (!ret && sc->tls && tls_client)
		summarize(s_tls, runs, &o->tls);

	/* QEMU's way: a device at a time, one channel, uncompressed */
	for (int i = 0; baseline && !ret && i < runs; i++) {
		struct sample one;

		memset(&s[i], 0, sizeof(s[i]));
		for (unsigned d = 0; !ret && d < sc->ndev; d++) {
			struct vfmig_stream_opts q = {
				.size = sizeof(q),
				.channels = 1,
				.codec = VFMIG_CODEC_NONE,
				.max_bandwidth = sc->cap,
				.precopy = -1,
				.switchover = VFMIG_SWITCHOVER_IMMEDIATE
			};

			ret = migrate(&src[d], d, 1, o->size, q, &one);
			s[i].secs += one.secs;
			s[i].raw += one.raw;
			s[i].wire += one.wire;
			s[i].down_ms += one.down_ms;
			s[i].exp_ms = -1;
		}
	}
	if (baseline && !ret)
		summarize(s, runs, &o->serial);

	/* the shell pipelines have no bandwidth cap to honour */
	if (baseline && !ret && !sc->cap && !sc->dirty)
		ret = run_pipelines(sc, src, runs, o);
	mig_close(src, sc->ndev);
	return ret;
}

/* ----------------------------------------------------------- output */

static void pr_figures(struct printer *p, const char *key,
		       const struct figures *f, const struct figures *ours)
{
	pr_open_object(p, key);
	pr_double(p, "seconds", "time (s)", f->secs, 3);
	pr_u64(p, "throughput", "throughput (B/s)", (uint64_t)f->rate);
	pr_u64(p, "raw-bytes", "raw", f->raw);
	if (f->wire)
		pr_u64(p, "wire-bytes", "wire", f->wire);
	if (f->down_ms >= 0)
		pr_double(p, "downtime-ms", "downtime (ms)", f->down_ms, 1);
	if (f->exp_ms >= 0) {
		pr_double(p, "expected-downtime-ms", "expected (ms)", f->exp_ms,
			  1);
		pr_double(p, "estimate-error", "estimate error", f->error, 3);
	}
	if (ours && ours != f) {
		pr_double(p, "ours-vs-this", "ours / this",
			  ours->rate / f->rate, 2);
		if (f->down_ms > 0 && ours->down_ms >= 0)
			pr_double(p, "downtime-ours-vs-this",
				  "downtime ours / this",
				  ours->down_ms / f->down_ms, 3);
	}
	pr_close_object(p);
}

static void print_json(struct outcome *o, int n, int runs,
		       const struct calibration *cal)
{
	struct printer p;

	pr_init(&p, stdout, true);
	pr_open_object(&p, NULL);
	pr_u64(&p, "runs", NULL, (uint64_t)runs);
	pr_u64(&p, "cpus", NULL, (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
	calibration_json(&p, cal);
	pr_open_array(&p, "scenarios", NULL);
	for (int i = 0; i < n; i++) {
		char what[128];

		pr_open_object(&p, NULL);
		pr_string(&p, "name", NULL, o[i].sc->name);
		pr_string(&p, "description", NULL,
			  describe(o[i].sc, o[i].size, what, sizeof(what)));
		pr_u64(&p, "devices", NULL, o[i].sc->ndev);
		pr_u64(&p, "device-size", NULL, o[i].size);
		pr_figures(&p, "ours", &o[i].ours, NULL);
		if (o[i].serial.have)
			pr_figures(&p, "serial", &o[i].serial, &o[i].ours);
		if (o[i].naive.have)
			pr_figures(&p, "naive", &o[i].naive, &o[i].ours);
		if (o[i].plain.have)
			pr_figures(&p, "cat-nc", &o[i].plain, &o[i].ours);
		threads_json(&p, "threads", &o[i].threads);
		if (o[i].tls.have) {
			pr_figures(&p, "tls", &o[i].tls, NULL);
			pr_double(&p, "tls-vs-plaintext", NULL,
				  o[i].tls.rate / o[i].ours.rate, 3);
		}
		pr_close_object(&p);
	}
	pr_close_array(&p);
	pr_close_object(&p);
	pr_end(&p);
}

static void cell_rate(const struct figures *f, const struct figures *ours)
{
	if (!f->have) {
		printf("  %15s", "-");
		return;
	}
	printf("  %5.2f GB/s %4.2fx", f->rate / 1e9, ours->rate / f->rate);
}

static void print_table(struct outcome *o, int n, int runs, bool baseline,
			const struct calibration *cal)
{
	printf("vfio-migrate bench: medians of %d run%s; %ld CPUs; both ends on this machine (loopback TCP)\n",
	       runs, runs == 1 ? "" : "s", sysconf(_SC_NPROCESSORS_ONLN));
	calibration_print(cal);
	printf("\n");
	printf("%-8s %9s %6s %10s %9s %9s %7s  %16s", "scenario", "raw", "wire",
	       "ours", "downtime", "expected", "error", "TLS (x plaintext)");
	if (baseline)
		printf("  %15s  %15s  %15s  %s", "serial (ours x)",
		       "naive (ours x)", "cat|nc (ours x)",
		       "serial downtime (ours x)");
	printf("\n");
	for (int i = 0; i < n; i++) {
		const struct figures *f = &o[i].ours;
		char raw[32];

		human_bytes(f->raw, raw, sizeof(raw));
		printf("%-8s %9s %6.3f %5.2f GB/s %6.0f ms", o[i].sc->name, raw,
		       (double)f->wire / (double)f->raw, f->rate / 1e9,
		       f->down_ms);
		if (f->exp_ms >= 0)
			printf(" %6.0f ms %6.1f%%", f->exp_ms, 100 * f->error);
		else
			printf(" %9s %7s", "-", "-");
		if (o[i].tls.have)
			printf("  %5.2f GB/s %4.2fx", o[i].tls.rate / 1e9,
			       o[i].tls.rate / f->rate);
		else
			printf("  %16s", "-");
		if (baseline) {
			cell_rate(&o[i].serial, f);
			cell_rate(&o[i].naive, f);
			cell_rate(&o[i].plain, f);
			if (o[i].serial.have)
				printf("  %6.0f ms %5.3fx", o[i].serial.down_ms,
				       f->down_ms / o[i].serial.down_ms);
		}
		printf("\n");
	}
	printf("\nraw: device bytes; wire: wire/raw; ours: raw bytes per second from the start\n"
	       "until the destination confirmed the last device loaded; expected: the\n"
	       "estimate before switchover, a stop-copy-only device's ratio from the run\n"
	       "before (the scenario's own history; the first run's is the worst case);\n"
	       "error: (expected - measured) / measured downtime; TLS: TLS 1.3 (PSK,\n"
	       "AES-128-GCM) on every\n"
	       "channel, each run beside a plaintext one.%s\n",
	       baseline ?
		       "  serial: one channel, no codec, a device at a time;\n"
		       "naive: zstd -1 -T2 | nc | zstd -d, cat|nc: cat | nc, on the same bytes\n"
		       "(uncapped scenarios; naive not for none, which never compresses)." :
		       "");
	for (int i = 0; i < n; i++)
		threads_print(o[i].sc->name, &o[i].threads, i == 0);
	printf("\nsetup: the run's start to the first data frame (send), the first HELLO to\n"
	       "the first DATA (recv), the most of any run; ceiling: 1 / the busiest thread\n"
	       "that does not scale with the cores (the loop), per side.\n");
}

/* The plot's gnuplot script: the file names come as ARG1 (the png) and
 * ARG2 (the data), never pasted into its text; ARG3 is "1" when some
 * scenario has a predicted downtime. */
static const char plot_script[] =
	"set terminal pngcairo size 1200,480 font ',10'\n"
	"set output ARG1\n"
	"set datafile missing '?'\n"
	"set multiplot layout 1,2\n"
	"set title 'throughput (median)'; set ylabel 'GB/s'\n"
	"set style data histograms; set style histogram clustered\n"
	"set style fill solid 0.8 border -1; set yrange [0:*]\n"
	"set key top right\n"
	"plot ARG2 using 2:xtic(1) title 'vfio-migrate',"
	" '' using 3 title 'serial uncompressed',"
	" '' using 4 title 'zstd | nc | zstd -d',"
	" '' using 5 title 'cat | nc'\n"
	"set style data points; set title 'downtime: predicted vs measured'\n"
	"set xlabel 'measured (ms)'; set ylabel 'predicted (ms)'\n"
	"set logscale xy; set xrange [0.5:*]; set yrange [0.5:*]\n"
	"set key top left\n"
	/* gnuplot 5.4 crashes on a labels plot without a valid point:
	 * ARG3 says whether there is one */
	"if (ARG3 eq '1') {\n"
	"  plot ARG2 using 7:(column(6) > 0 ? column(6) : 1/0):1 with labels"
	" point pt 7 offset 1,1 notitle, x with lines title 'exact'\n"
	"} else {\n"
	"  plot x with lines title 'exact'\n"
	"}\n"
	"unset multiplot\n";

/* A temporary file holding what @write puts in it: its name in @name. */
static int plot_file(char *name, void (*write)(FILE *, void *), void *arg)
{
	int fd = mkstemp(name);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0) {
			close(fd);
			unlink(name);
		}
		return -1;
	}
	write(f, arg);
	if (fclose(f)) {
		unlink(name);
		return -1;
	}
	return 0;
}

struct plot_data {
	struct outcome *o;
	int n;
};

static void write_script(FILE *f, void *arg)
{
	(void)arg;
	fputs(plot_script, f);
}

static void write_data(FILE *f, void *arg)
{
	const struct plot_data *p = arg;

	for (int i = 0; i < p->n; i++) {
		const struct outcome *o = &p->o[i];
		const struct figures *base[3] = { &o->serial, &o->naive,
						  &o->plain };

		fprintf(f, "%s %.4f", o->sc->name, o->ours.rate / 1e9);
		for (int k = 0; k < 3; k++) /* '?': gnuplot's missing value */
			if (base[k]->have)
				fprintf(f, " %.4f", base[k]->rate / 1e9);
			else
				fprintf(f, " ?");
		fprintf(f, " %.2f %.2f\n",
			o->ours.exp_ms >= 0 ? o->ours.exp_ms : -1,
			o->ours.down_ms);
	}
}

/* gnuplot -c SCRIPT PNG DATA 0|1, no shell: 0 when it succeeded. */
static int run_gnuplot(const char *script, const char *png, const char *dat,
		       bool predicted)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		execlp("gnuplot", "gnuplot", "-c", script, png, dat,
		       predicted ? "1" : "0", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int plot(const char *png, struct outcome *o, int n)
{
	char dat[] = "/tmp/vfmig-plot-XXXXXX", gp[] = "/tmp/vfmig-gp-XXXXXX";
	struct plot_data p = { o, n };
	bool predicted = false;
	int ret;

	for (int i = 0; i < n; i++)
		predicted = predicted || o[i].ours.exp_ms > 0;
	if (plot_file(dat, write_data, &p) < 0) {
		err_msg("bench: --plot: cannot write a data file");
		return -1;
	}
	if (plot_file(gp, write_script, NULL) < 0) {
		unlink(dat);
		err_msg("bench: --plot: cannot write the gnuplot script");
		return -1;
	}
	ret = run_gnuplot(gp, png, dat, predicted);
	unlink(dat);
	unlink(gp);
	if (ret) {
		err_msg("bench: --plot: gnuplot failed (is gnuplot-nox installed? make deps)");
		return -1;
	}
	fprintf(stderr, "bench: plot written to %s\n", png);
	return 0;
}

/* ------------------------------------------------------ driver mode */

struct drv {
	double entry_ms, precopy_rate, stop_ms, stopcopy_rate, size_ratio;
	double leave_ms, back_ms;
	uint64_t precopy_bytes, stopcopy_bytes, reported;
};

/* Read @fd until its end for now: bytes and seconds. */
static uint64_t read_all(int fd, double *secs)
{
	static char buf[1 << 20];
	uint64_t got = 0;
	double t0 = bench_now_s();
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += (uint64_t)n;
	*secs = bench_now_s() - t0;
	return got;
}

static int driver_once(struct vfmig_device *dev, struct drv *d)
{
	int flags = vfmig_device_migration_flags(dev), fd = -1, ret;
	bool pre = flags > 0 && (flags & VFMIG_MIGRATION_PRE_COPY);
	double t0, secs;
	uint64_t size = 0;

	memset(d, 0, sizeof(*d));
	if (vfmig_device_recover(dev) < 0)
		return -1;
	if (pre) {
		t0 = bench_now_s();
		ret = vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd);
		d->entry_ms = (bench_now_s() - t0) * 1000;
		if (ret < 0)
			return -1;
		/* the initial data: until PRECOPY_INFO says none is left,
		 * never blocking in a read that waits for later data */
		fcntl(fd, F_SETFL, O_NONBLOCK);
		t0 = bench_now_s();
		for (;;) {
			struct vfmig_precopy_info pi = { .size = sizeof(pi) };

			d->precopy_bytes += read_all(fd, &secs);
			if (vfmig_device_precopy_info(dev, &pi) < 0 ||
			    !pi.initial_bytes || bench_now_s() - t0 > 60)
				break;
			usleep(1000);
		}
		secs = bench_now_s() - t0;
		d->precopy_rate = secs > 0 ? (double)d->precopy_bytes / secs :
					     0;
		fcntl(fd, F_SETFL, 0);
	}
	vfmig_device_stopcopy_size(dev, &size);
	d->reported = size;
	t0 = bench_now_s();
	ret = vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY,
				     fd >= 0 ? NULL : &fd);
	d->stop_ms = (bench_now_s() - t0) * 1000;
	if (ret < 0 || fd < 0)
		return -1;
	d->stopcopy_bytes = read_all(fd, &secs);
	d->stopcopy_rate = secs > 0 ? (double)d->stopcopy_bytes / secs : 0;
	d->size_ratio = d->stopcopy_bytes ?
				(double)size / (double)d->stopcopy_bytes :
				0;
	t0 = bench_now_s();
	ret = vfmig_device_set_state(dev, VFMIG_STATE_STOP, NULL);
	d->leave_ms = (bench_now_s() - t0) * 1000;
	t0 = bench_now_s();
	ret = ret ? ret :
		    vfmig_device_set_state(dev, VFMIG_STATE_RUNNING, NULL);
	d->back_ms = (bench_now_s() - t0) * 1000;
	return ret < 0 ? -1 : 0;
}

/* The median of one double field (at @off) over @n runs. */
static double drv_median(struct drv *r, int n, size_t off)
{
	double v[MAX_RUNS] = { 0 };

	for (int i = 0; i < n; i++)
		memcpy(&v[i], (char *)&r[i] + off, sizeof(v[i]));
	return bench_median(v, n);
}

static int bench_drivers(const char **specs, int ndev, int runs, bool json)
{
	struct printer p;

	pr_init(&p, stdout, json);
	if (json) {
		pr_open_object(&p, NULL);
		pr_open_array(&p, "devices", NULL);
	}
	for (int i = 0; i < ndev; i++) {
		struct vfmig_device *dev;
		struct drv r[MAX_RUNS];

		if (open_device(specs[i], &dev))
			return EXIT_FAILED;
		for (int k = 0; k < runs; k++)
			if (driver_once(dev, &r[k]) < 0) {
				err_msg("bench: %s: %s", vfmig_device_name(dev),
					vfmig_device_strerror(dev));
				vfmig_device_recover(dev);
				vfmig_device_close(dev);
				return EXIT_FAILED;
			}
		pr_open_object(&p, json ? NULL : "");
		pr_string(&p, "name", "device", vfmig_device_name(dev));
		pr_double(&p, "precopy-entry-ms", "RUNNING->PRE_COPY (ms)",
			  drv_median(r, runs, offsetof(struct drv, entry_ms)),
			  3);
		pr_u64(&p, "precopy-bytes", "pre-copy initial bytes",
		       r[0].precopy_bytes);
		pr_u64(&p, "precopy-read-rate", "pre-copy read (B/s)",
		       (uint64_t)drv_median(
			       r, runs, offsetof(struct drv, precopy_rate)));
		pr_double(&p, "stopcopy-entry-ms", "-> STOP_COPY (ms)",
			  drv_median(r, runs, offsetof(struct drv, stop_ms)),
			  3);
		pr_u64(&p, "stopcopy-bytes", "stop-copy bytes",
		       r[0].stopcopy_bytes);
		pr_u64(&p, "stopcopy-read-rate", "stop-copy read (B/s)",
		       (uint64_t)drv_median(
			       r, runs, offsetof(struct drv, stopcopy_rate)));
		pr_u64(&p, "stopcopy-size-reported", "stop-copy size reported",
		       r[0].reported);
		pr_double(&p, "stopcopy-size-ratio",
			  "reported / read (1 is exact)",
			  drv_median(r, runs, offsetof(struct drv, size_ratio)),
			  4);
		pr_double(&p, "stop-ms", "STOP_COPY->STOP (ms)",
			  drv_median(r, runs, offsetof(struct drv, leave_ms)),
			  3);
		pr_double(&p, "resume-running-ms", "STOP->RUNNING (ms)",
			  drv_median(r, runs, offsetof(struct drv, back_ms)),
			  3);
		pr_close_object(&p);
		vfmig_device_close(dev);
	}
	if (json) {
		pr_close_array(&p);
		pr_close_object(&p);
	}
	pr_end(&p);
	return EXIT_OK;
}

/* -------------------------------------------------------------- main */

static void tls_free_handles(void)
{
	vfmig_tls_free(tls_client);
	vfmig_tls_free(tls_server);
	tls_client = tls_server = NULL;
}

/* A random key in a keys.psk of the run's own, read and removed. */
static int tls_handles(void)
{
	char path[] = "/tmp/vfmig-bench-psk-XXXXXX", err[512];
	unsigned char key[32];
	struct vfmig_tls_opts o = { .size = sizeof(o) };
	FILE *f;
	int fd = mkstemp(path), ret = -1;

	if (fd < 0 || getentropy(key, sizeof(key)) < 0 ||
	    !(f = fdopen(fd, "w"))) {
		err_msg("bench: cannot write a PSK file in /tmp");
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	fprintf(f, "bench:");
	for (size_t i = 0; i < sizeof(key); i++)
		fprintf(f, "%02x", key[i]);
	fprintf(f, "\n");
	fclose(f);
	snprintf(err, sizeof(err), "psk:%s", path);
	o.creds = err;
	o.endpoint = VFMIG_TLS_CLIENT;
	if (vfmig_tls_new(&o, &tls_client, err, sizeof(err)) == 0) {
		snprintf(err, sizeof(err), "psk:%s", path);
		o.endpoint = VFMIG_TLS_SERVER;
		ret = vfmig_tls_new(&o, &tls_server, err, sizeof(err));
	}
	unlink(path);
	if (ret < 0) {
		err_msg("bench: TLS: %s", err);
		tls_free_handles();
	}
	return ret;
}

enum { O_RUNS = 256, O_SIZE, O_BASELINE, O_PLOT };

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, O_RUNS },
		{ "size", required_argument, NULL, O_SIZE },
		{ "baseline", no_argument, NULL, O_BASELINE },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *specs[MAX_DEV], *png = NULL;
	struct outcome out[NSCEN];
	struct calibration cal;
	bool baseline = false, json = false, pick[NSCEN] = { false };
	uint64_t size = 256ull << 20;
	int c, runs = 3, ndev = 0, n = 0;
	bool any = false;

	opterr = 0; /* opt_error() says it, in one line */
	while ((c = getopt_long(argc, argv, ":d:jhV", opts, NULL)) != -1) {
		switch (c) {
		case O_RUNS: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > MAX_RUNS) {
				err_msg("bench: --runs: expected 1 to %d, not '%s'",
					MAX_RUNS, optarg);
				return EXIT_USAGE;
			}
			runs = (int)v;
			break;
		}
		case O_SIZE:
			if (size_arg("bench: --size", optarg, &size, false))
				return EXIT_USAGE;
			if (size < (16u << 20)) {
				err_msg("bench: --size: at least 16M (many uses 1/16 of it)");
				return EXIT_USAGE;
			}
			break;
		case O_BASELINE:
			baseline = true;
			break;
		case O_PLOT:
			png = optarg;
			break;
		case 'd':
			if (ndev == MAX_DEV) {
				err_msg("bench: at most %d devices", MAX_DEV);
				return EXIT_USAGE;
			}
			specs[ndev++] = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return opt_common("bench", opts, argv, c, usage);
		}
	}
	for (int i = optind; i < argc; i++) {
		bool found = false;

		for (size_t k = 0; k < NSCEN; k++)
			if (!strcmp(argv[i], "all") ||
			    !strcmp(argv[i], scenarios[k].name))
				pick[k] = found = true;
		if (!found) {
			err_msg("bench: unknown scenario '%s' (fb, random, none, many, link-1g, precopy, text, all)",
				argv[i]);
			return EXIT_USAGE;
		}
		any = true;
	}
	if (ndev) {
		if (any || baseline || png) {
			err_msg("bench: -d measures drivers: no scenarios, --baseline or --plot with it");
			return EXIT_USAGE;
		}
		return bench_drivers(specs, ndev, runs, json);
	}
	if (tls_handles() < 0)
		return EXIT_FAILED;
	fprintf(stderr,
		"bench: calibrating (memcpy, page fill, TCP, zstd, crc32c)\n");
	calibrate(&cal);
	for (size_t k = 0; k < NSCEN; k++) {
		if (any ? !pick[k] : !scenarios[k].dflt)
			continue;
		if (run_scenario(&scenarios[k], size, runs, baseline,
				 &out[n])) {
			tls_free_handles();
			return EXIT_FAILED;
		}
		n++;
	}
	tls_free_handles();
	if (json)
		print_json(out, n, runs, &cal);
	else
		print_table(out, n, runs, baseline, &cal);
	if (png && plot(png, out, n))
		return EXIT_FAILED;
	return EXIT_OK;
}
