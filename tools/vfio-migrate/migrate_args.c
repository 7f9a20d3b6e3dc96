// SPDX-License-Identifier: GPL-2.0-or-later
/* send, recv, save and load: their options, checked into struct mig_args. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cpus.h"
#include "migrate.h"
#include "options.h"
#include "systemd.h"

static const char *const mode_name[] = { "send", "recv", "save", "load" };

static void usage(FILE *f, enum mig_mode m)
{
	switch (m) {
	case MIG_SEND:
		fprintf(f,
			"Usage: %s send -d DEV [-d DEV]... -t URI [-c N] [-z zstd[:L]|none|auto]\n"
			"          [--tls-creds x509:DIR|psk:FILE [--tls-hostname NAME] [--tls-username U]]\n"
			"          [--max-bandwidth RATE] [--no-precopy] [--switchover auto|immediate]\n"
			"          [--downtime-limit MS] [--precopy-timeout S] [--switchover-bandwidth RATE]\n"
			"          [--ram-pending SIZE] [--ram-dirty-rate RATE] [--ratio R]\n"
			"          [--history FILE | --no-history] [--dry-run]\n"
			"          [--memory SIZE] [-j] [--interval MS]\n"
			"\nMigrate the devices' state to 'vfio-migrate recv' at URI.\n\n"
			"  -t, --to URI           tcp:HOST:PORT, unix:PATH or fd:N[,N...]\n"
			"  -c, --channels N       parallel connections (default 1)\n"
			"  -z, --compress C       zstd (level 1), zstd:L (L < 0: faster), none, or\n"
			"                         auto: the CPU is the bottleneck unless a bandwidth\n"
			"                         is set, so zstd:-1 without --max-bandwidth, zstd:3\n"
			"                         at 200MB/s or less, zstd:1 between (default auto)\n"
			"      --max-bandwidth R  cap on wire bytes, e.g. 10Gb/s or 1.25GB/s\n"
			"      --no-precopy       stop the devices at once (no PRE_COPY)\n"
			"      --dry-run          connect, agree the session and have the destination\n"
			"                         check its devices against these, then end: no device\n"
			"                         changes state (exit 0: a migration would start)\n"
			"      --tls-creds C      TLS 1.3 on every channel: x509:DIR (ca-cert.pem,\n"
			"                         client-cert.pem, client-key.pem) or psk:FILE\n"
			"                         (username:hexkey lines), as QEMU lays them out\n"
			"      --tls-hostname N   the name the destination's certificate must carry\n"
			"                         (default: the host in -t)\n"
			"      --tls-username U   psk: the user whose key to use (default: the first)\n"
			"\nSwitchover (Documentation/stats.md):\n"
			"      --switchover P     auto: once the destination acknowledged the initial\n"
			"                         data and the expected downtime is within the limit;\n"
			"                         immediate: once acknowledged (default auto)\n"
			"      --downtime-limit MS  the longest acceptable downtime (default 300)\n"
			"      --precopy-timeout S  auto: cancel when the limit is not met by then,\n"
			"                         the devices running on (default 120)\n"
			"      --switchover-bandwidth R  bandwidth for the estimate (default: the\n"
			"                         link speed or --max-bandwidth, then measured)\n"
			"      --ram-pending SIZE, --ram-dirty-rate RATE  the VM's RAM still to move\n"
			"                         and its dirty rate, counted in the estimate\n"
			"      --ratio R          wire/raw for the estimate (default: measured, then\n"
			"                         history, or 1)\n"
			"      --history FILE     what earlier migrations measured per kind of device\n"
			"                         (default $XDG_STATE_HOME/vfio-migrate/history, or\n"
			"                         /var/lib/vfio-migrate/history for root)\n"
			"      --no-history       neither read nor write it\n",
			prog);
		break;
	case MIG_RECV:
		fprintf(f,
			"Usage: %s recv -d DEV [-d DEV]... -l URI [--no-start] [--memory SIZE]\n"
			"          [--tls-creds x509:DIR|psk:FILE [--tls-authz PATTERN]...]\n"
			"          [--max-precopy S] [-j] [-v]\n"
			"\nReceive one migration at URI into the devices, in the sender's order.\n\n"
			"  -l, --listen URI       tcp:HOST:PORT (tcp::PORT: every address), unix:PATH,\n"
			"                         fd:N[,N...] (connected sockets, or one listening),\n"
			"                         or systemd (the socket systemd passed: LISTEN_FDS)\n"
			"      --no-start         leave the devices stopped after loading\n"
			"      --tls-creds C      require TLS 1.3: x509:DIR (ca-cert.pem,\n"
			"                         server-cert.pem, server-key.pem; the source's\n"
			"                         certificate is verified too) or psk:FILE\n"
			"      --tls-authz P      let in only sources whose certificate subject DN\n"
			"                         (RFC 4514, e.g. 'CN=src1,O=Example') or PSK\n"
			"                         username matches glob P; repeat for more\n"
			"      --max-precopy S    a source still pre-copying after S seconds fails\n"
			"                         the session (default 600)\n",
			prog);
		break;
	case MIG_SAVE:
		fprintf(f,
			"Usage: %s save -d DEV [-d DEV]... -o FILE [-z ...] [-j]\n"
			"\nStop the devices and save their state to FILE (the stream format).\n\n"
			"  -o, --output FILE      the file (created or truncated)\n"
			"  -z, --compress C       as for send\n",
			prog);
		break;
	case MIG_LOAD:
		fprintf(f,
			"Usage: %s load -d DEV [-d DEV]... -i FILE [--no-start] [-j]\n"
			"\nLoad devices' state saved by 'vfio-migrate save'.\n\n"
			"  -i, --input FILE       the file\n"
			"      --no-start         leave the devices stopped after loading\n",
			prog);
		break;
	}
	fprintf(f,
		"\nCommon options:\n"
		"  -d, --device DEV       a device (see 'vfio-migrate info -h'); repeat for more\n"
		"      --memory SIZE      buffer memory bound (default 64M)\n"
		"      --chunk SIZE       bytes per frame (default 4M, less when --memory is\n"
		"                         short for two buffers per device; send, save)\n"
		"      --workers N        codec threads (default: one per usable CPU)\n"
		"      --cpus LIST        run the loop and the codec threads on these CPUs\n"
		"                         (0-3,8: as taskset -c; default: wherever allowed)\n"
		"      --timeout S        a peer silent this long fails the migration (default 30)\n"
		"  -j, --json             a JSON report on stdout at the end\n"
		"  -v, --verbose          say which privileges are kept, and why\n"
		"      --interval MS      progress every MS (with -j: NDJSON records before the report)\n"
		"      --metrics FILE     the figures in Prometheus' text format, rewritten every\n"
		"                         --interval (default 1 s) and at the end (for node\n"
		"                         exporter's textfile collector: name it *.prom)\n"
		"  -h, --help, -V, --version\n"
		"\nUnits: a rate's lower-case b is bits (10Gb/s, 10Gbps, 10Gbit), an upper-case B\n"
		"bytes (1.25GB/s, 1GiB/s), and a size per second bytes (512M/s).  A time takes\n"
		"ms, s, m or h (300ms, 2s, 1m); a bare number is in the option's unit.\n");
}

enum {
	O_MAXBW = 256,
	O_NOPRE,
	O_NOSTART,
	O_MEMORY,
	O_CHUNK,
	O_WORKERS,
	O_TIMEOUT,
	O_INTERVAL,
	O_SWITCHOVER,
	O_LIMIT,
	O_PRETIMEOUT,
	O_SOBW,
	O_RAM,
	O_RDIRTY,
	O_RATIO,
	O_HISTORY,
	O_NOHISTORY,
	O_CPUS,
	O_MAXPRE,
	O_TLS_CREDS,
	O_TLS_HOST,
	O_TLS_USER,
	O_TLS_AUTHZ,
	O_METRICS,
	O_DRYRUN,
};

static int num_arg(const char *opt, const char *text, long min, long max,
		   long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	if (errno || end == text || *end || *out < min || *out > max) {
		err_msg("%s: bad value '%s' (expected %ld..%ld)", opt, text,
			min, max);
		return -1;
	}
	return 0;
}

static int codec_arg(const char *text, struct mig_args *a, bool *is_auto)
{
	long level;

	*is_auto = false;
	if (!strcmp(text, "none")) {
		a->o.codec = VFMIG_CODEC_NONE;
		return 0;
	}
	a->o.codec = VFMIG_CODEC_ZSTD;
	if (!strcmp(text, "zstd")) {
		a->o.level = 1;
		return 0;
	}
	if (!strcmp(text, "auto")) {
		a->o.codec = VFMIG_CODEC_AUTO;
		*is_auto = true;
		return 0;
	}
	if (!strncmp(text, "zstd:", 5) &&
	    num_arg("-z", text + 5, -7, 19, &level) == 0 && level) {
		a->o.level = (int)level;
		return 0;
	}
	err_msg("-z: bad codec '%s' (expected zstd, zstd:L with L in -7..19 but not 0, none or auto)",
		text);
	return -1;
}

/* Whether @s is a port: 0..65535 in digits. */
static bool is_port(const char *s)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	v = strtoul(s, &end, 10);
	return v <= 65535;
}

/* An address the user gave -t or -l: its form is checked here, so that a
 * mistyped one is a usage error (exit 2) that says what was meant. */
static int uri_arg(enum mig_mode mode, const char *where)
{
	static const char *const want =
		"expected tcp:HOST:PORT, tcp:[IPv6]:PORT, unix:PATH or fd:N[,N...]";
	const char *colon = strrchr(where, ':');
	char opt = mode == MIG_SEND ? 't' : 'l';

	if (!strncmp(where, "tcp:", 4)) {
		if (colon && colon > where + 3 && is_port(colon + 1))
			return 0;
		err_msg("-%c: bad address '%s' (%s, with a port of 0..65535)",
			opt, where, want);
		return -1;
	}
	if ((!strncmp(where, "unix:", 5) && where[5]) ||
	    (!strncmp(where, "fd:", 3) && where[3] &&
	     strspn(where + 3, "0123456789,") == strlen(where + 3)))
		return 0;
	if (colon && is_port(colon + 1))
		err_msg("-%c: '%s' is not an address (%s): did you mean 'tcp:%s'?",
			opt, where, want, where);
	else if (where[0] == '/')
		err_msg("-%c: '%s' is not an address (%s): did you mean 'unix:%s'?",
			opt, where, want, where);
	else
		err_msg("-%c: '%s' is not an address (%s)", opt, where, want);
	return -1;
}

int mig_auto_level(uint64_t max_bandwidth)
{
	/* without a cap the CPU is the bottleneck; a slow link buys ratio */
	return !max_bandwidth ? -1 : max_bandwidth <= 200000000 ? 3 : 1;
}

/* Which TLS options apply where: none to a file, never plaintext in
 * silence (a TLS option without --tls-creds is a mistake). */
static int tls_args_check(const struct mig_args *a)
{
	const char *what = a->tls_hostname ? "--tls-hostname" :
			   a->tls_username ? "--tls-username" :
			   a->ntls_authz   ? "--tls-authz" :
					     NULL;

	if (a->tls_creds && a->mode >= MIG_SAVE) {
		err_msg("%s: --tls-creds applies to send and recv: a file is not encrypted",
			mode_name[a->mode]);
		return -1;
	}
	if (a->tls_creds && strncmp(a->tls_creds, "x509:", 5) &&
	    strncmp(a->tls_creds, "psk:", 4)) {
		err_msg("--tls-creds: bad TLS credentials '%s' (expected x509:DIR or psk:FILE)",
			a->tls_creds);
		return -1;
	}
	if (what && !a->tls_creds) {
		err_msg("%s: %s needs --tls-creds", mode_name[a->mode], what);
		return -1;
	}
	if ((a->tls_hostname || a->tls_username) && a->mode != MIG_SEND) {
		err_msg("%s: %s applies to send only", mode_name[a->mode],
			a->tls_hostname ? "--tls-hostname" : "--tls-username");
		return -1;
	}
	if (a->ntls_authz && a->mode != MIG_RECV) {
		err_msg("%s: --tls-authz applies to recv only",
			mode_name[a->mode]);
		return -1;
	}
	return 0;
}

/* The options of send, recv, save and load (each takes those its -h lists). */
static const struct option opts[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "to", required_argument, NULL, 't' },
	{ "listen", required_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "input", required_argument, NULL, 'i' },
	{ "channels", required_argument, NULL, 'c' },
	{ "compress", required_argument, NULL, 'z' },
	{ "max-bandwidth", required_argument, NULL, O_MAXBW },
	{ "no-precopy", no_argument, NULL, O_NOPRE },
	{ "no-start", no_argument, NULL, O_NOSTART },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "chunk", required_argument, NULL, O_CHUNK },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "switchover", required_argument, NULL, O_SWITCHOVER },
	{ "downtime-limit", required_argument, NULL, O_LIMIT },
	{ "precopy-timeout", required_argument, NULL, O_PRETIMEOUT },
	{ "switchover-bandwidth", required_argument, NULL, O_SOBW },
	{ "ram-pending", required_argument, NULL, O_RAM },
	{ "ram-dirty-rate", required_argument, NULL, O_RDIRTY },
	{ "ratio", required_argument, NULL, O_RATIO },
	{ "history", required_argument, NULL, O_HISTORY },
	{ "no-history", no_argument, NULL, O_NOHISTORY },
	{ "metrics", required_argument, NULL, O_METRICS },
	{ "dry-run", no_argument, NULL, O_DRYRUN },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "max-precopy", required_argument, NULL, O_MAXPRE },
	{ "tls-creds", required_argument, NULL, O_TLS_CREDS },
	{ "tls-hostname", required_argument, NULL, O_TLS_HOST },
	{ "tls-username", required_argument, NULL, O_TLS_USER },
	{ "tls-authz", required_argument, NULL, O_TLS_AUTHZ },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* What the option loop gathers besides struct mig_args. */
struct parse {
	enum mig_mode mode;
	const char *where; /* -t, -l, -o or -i */
	int history; /* --history 1, --no-history 0, default -1 */
	bool is_auto; /* -z left to auto */
};

#define OPT_TAKEN (-1) /* the option was taken: go on */
#define OPT_OTHER (-2) /* not one of this group's */

/* Channels, codec, buffers, threads and times: OPT_TAKEN, OPT_OTHER, or
 * the exit status. */
static int stream_opt(struct mig_args *a, struct parse *ps, int c,
		      const char *arg)
{
	bool sending = ps->mode == MIG_SEND || ps->mode == MIG_SAVE;
	uint64_t v;
	long n;

	switch (c) {
	case 'c':
		if (ps->mode == MIG_SAVE || ps->mode == MIG_LOAD) {
			err_msg("%s: -c does not apply: a file is one channel",
				mode_name[ps->mode]);
			return EXIT_USAGE;
		}
		if (num_arg("-c", arg, 1, 64, &n))
			return EXIT_USAGE;
		a->o.channels = (unsigned)n;
		return OPT_TAKEN;
	case 'z':
		if (!sending) {
			err_msg("-z applies to send and save");
			return EXIT_USAGE;
		}
		return codec_arg(arg, a, &ps->is_auto) ? EXIT_USAGE : OPT_TAKEN;
	case O_MAXBW:
		return size_arg("--max-bandwidth", arg, &a->o.max_bandwidth,
				true) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_NOPRE:
		a->o.precopy = -1;
		return OPT_TAKEN;
	case O_NOSTART:
		a->o.no_start = 1;
		return OPT_TAKEN;
	case O_MEMORY:
		return size_arg("--memory", arg, &a->o.memory, false) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_CHUNK:
		if (size_arg("--chunk", arg, &v, false))
			return EXIT_USAGE;
		if (v < 4096 || v > (16u << 20)) {
			err_msg("--chunk: '%s' is outside 4K..16M", arg);
			return EXIT_USAGE;
		}
		a->o.chunk = (uint32_t)v;
		return OPT_TAKEN;
	case O_WORKERS:
		if (num_arg("--workers", arg, 1, 256, &n))
			return EXIT_USAGE;
		a->o.workers = (unsigned)n;
		return OPT_TAKEN;
	case O_TIMEOUT:
		if (time_arg("--timeout", arg, 1000, 100, 86400000, &v))
			return EXIT_USAGE;
		a->o.timeout_ms = (int)v;
		return OPT_TAKEN;
	case O_INTERVAL:
		if (time_arg("--interval", arg, 1, 10, 3600000, &v))
			return EXIT_USAGE;
		a->o.interval_ms = (unsigned)v;
		return OPT_TAKEN;
	case O_CPUS: {
		char why[256];

		if (cpus_parse(arg, &a->cpus, why, sizeof(why)) < 0) {
			err_msg("--cpus: %s", why);
			return EXIT_USAGE;
		}
		a->o.cpus = arg;
		return OPT_TAKEN;
	}
	case O_MAXPRE:
		if (ps->mode != MIG_RECV) {
			err_msg("--max-precopy applies to recv only");
			return EXIT_USAGE;
		}
		return time_arg("--max-precopy", arg, 1000, 1000,
				31536000000ull, &a->o.precopy_max_ms) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	}
	return OPT_OTHER;
}

/* The switchover, its estimate's inputs, the history, a dry run:
 * OPT_TAKEN, OPT_OTHER, or the exit status (whether they apply is
 * checked once the loop is done). */
static int switchover_opt(struct mig_args *a, struct parse *ps, int c,
			  const char *arg)
{
	switch (c) {
	case O_SWITCHOVER:
		if (!strcmp(arg, "auto")) {
			a->o.switchover = VFMIG_SWITCHOVER_AUTO;
		} else if (!strcmp(arg, "immediate")) {
			a->o.switchover = VFMIG_SWITCHOVER_IMMEDIATE;
		} else {
			err_msg("--switchover: bad value '%s' (expected auto or immediate)",
				arg);
			return EXIT_USAGE;
		}
		return OPT_TAKEN;
	case O_LIMIT:
		return time_arg("--downtime-limit", arg, 1, 1, UINT32_MAX,
				&a->o.downtime_limit_ms) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_PRETIMEOUT:
		return time_arg("--precopy-timeout", arg, 1000, 1000,
				31536000000ull, &a->o.precopy_timeout_ms) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_SOBW:
		return size_arg("--switchover-bandwidth", arg,
				&a->o.switchover_bandwidth, true) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_RAM:
		return size_arg("--ram-pending", arg, &a->o.ram_pending,
				false) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_RDIRTY:
		return size_arg("--ram-dirty-rate", arg, &a->o.ram_dirty_rate,
				true) ?
			       EXIT_USAGE :
			       OPT_TAKEN;
	case O_RATIO:
		return ratio_arg("--ratio", arg, &a->o.ratio) ? EXIT_USAGE :
								OPT_TAKEN;
	case O_HISTORY:
		if (!*arg) {
			err_msg("--history: empty path (--no-history turns it off)");
			return EXIT_USAGE;
		}
		snprintf(a->history, sizeof(a->history), "%s", arg);
		ps->history = 1;
		return OPT_TAKEN;
	case O_NOHISTORY:
		ps->history = 0;
		return OPT_TAKEN;
	case O_DRYRUN:
		a->o.dry_run = 1;
		return OPT_TAKEN;
	}
	return OPT_OTHER;
}

/* Devices, output and TLS: OPT_TAKEN, OPT_OTHER, or the exit status. */
static int other_opt(struct mig_args *a, int c, const char *arg)
{
	switch (c) {
	case 'd':
		if (a->ndev == MIG_MAX_DEV) {
			err_msg("at most %d devices", MIG_MAX_DEV);
			return EXIT_USAGE;
		}
		a->spec[a->ndev++] = arg;
		return OPT_TAKEN;
	case 'j':
		a->json = true;
		return OPT_TAKEN;
	case 'v':
		a->verbose = true;
		return OPT_TAKEN;
	case O_METRICS:
		if (!*arg || strlen(arg) >= sizeof(a->metrics)) {
			err_msg("--metrics: give a file name");
			return EXIT_USAGE;
		}
		snprintf(a->metrics, sizeof(a->metrics), "%s", arg);
		return OPT_TAKEN;
	case O_TLS_CREDS:
		a->tls_creds = arg;
		return OPT_TAKEN;
	case O_TLS_HOST:
		a->tls_hostname = arg;
		return OPT_TAKEN;
	case O_TLS_USER:
		a->tls_username = arg;
		return OPT_TAKEN;
	case O_TLS_AUTHZ:
		if (a->ntls_authz == MIG_MAX_AUTHZ) {
			err_msg("--tls-authz: at most %d patterns",
				MIG_MAX_AUTHZ);
			return EXIT_USAGE;
		}
		a->tls_authz[a->ntls_authz++] = arg;
		return OPT_TAKEN;
	}
	return OPT_OTHER;
}

/* The stream's address or file (-t, -l, -o, -i) into a->uri or a->path:
 * -1 to go on, or the exit status. */
static int take_where(struct mig_args *a, const struct parse *ps)
{
	static const int uri_opt[] = { 't', 'l', 'o', 'i' };
	enum mig_mode mode = ps->mode;
	const char *where = ps->where;

	if (!where) {
		err_msg("%s: no %s given (-%c)", mode_name[mode],
			mode >= MIG_SAVE ? "file" : "address", uri_opt[mode]);
		return EXIT_USAGE;
	}
	if (mode >= MIG_SAVE) {
		snprintf(a->path, sizeof(a->path), "%s", where);
		return -1;
	}
	if (!strncmp(where, "file:", 5)) {
		err_msg("%s: use '%s' for files", mode_name[mode],
			mode == MIG_SEND ? "save" : "load");
		return EXIT_USAGE;
	}
	if (mode == MIG_RECV && !strcmp(where, "systemd")) {
		char why[256];

		if (sd_listen_uri(a->uri, sizeof(a->uri), why, sizeof(why)) <
		    0) {
			err_msg("%s", why);
			return EXIT_USAGE;
		}
		return -1;
	}
	if (uri_arg(mode, where))
		return EXIT_USAGE;
	snprintf(a->uri, sizeof(a->uri), "%s", where);
	return -1;
}

/* What applies to send only, and TLS's options together: -1 to go on, or
 * the exit status. */
static int check_modes(const struct mig_args *a, const struct parse *ps)
{
	enum mig_mode mode = ps->mode;

	if (mode != MIG_SEND &&
	    (a->o.switchover || a->o.downtime_limit_ms ||
	     a->o.precopy_timeout_ms || a->o.switchover_bandwidth ||
	     a->o.ram_pending || a->o.ram_dirty_rate || a->o.ratio > 0 ||
	     ps->history >= 0)) {
		err_msg("%s: the switchover options apply to send only",
			mode_name[mode]);
		return EXIT_USAGE;
	}
	if (a->o.dry_run && mode != MIG_SEND) {
		err_msg("%s: --dry-run asks a destination: send only",
			mode_name[mode]);
		return EXIT_USAGE;
	}
	return tls_args_check(a) ? EXIT_USAGE : -1;
}

/* The defaults that follow from what was given. */
static void settle(struct mig_args *a, const struct parse *ps)
{
	/* a save is the downtime: nothing to wait for */
	if (ps->mode == MIG_SAVE)
		a->o.switchover = VFMIG_SWITCHOVER_IMMEDIATE;
	if (ps->is_auto && a->o.codec == VFMIG_CODEC_AUTO)
		a->o.level = mig_auto_level(a->o.max_bandwidth);
	if (ps->mode == MIG_SEND && ps->history < 0)
		mig_history_default(a->history, sizeof(a->history));
	if (!ps->history) /* --no-history, wherever it came */
		a->history[0] = '\0';
	a->o.history = a->history[0] ? a->history : NULL;
	a->o.uri = a->uri;
	a->o.progress = mig_progress;
	a->o.progress_arg = a;
	a->records = a->json && a->o.interval_ms;
	if (!a->o.interval_ms && a->json && !a->metrics[0])
		a->o.progress = NULL; /* -j alone: the report only */
}

int mig_parse(int argc, char **argv, enum mig_mode mode, struct mig_args *a)
{
	/* which letter names the stream for each command */
	static const int uri_opt[] = { 't', 'l', 'o', 'i' };
	struct parse ps = { .mode = mode, .history = -1, .is_auto = true };
	int c, ret;

	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->file_fd = -1;
	a->o.size = sizeof(a->o);
	a->o.codec = VFMIG_CODEC_AUTO;
	a->o.level = 1;
	a->o.precopy = mode == MIG_SEND ? 0 : -1; /* a file: stop-copy only */
	optind = 1;
	opterr = 0; /* opt_error() says it, in one line */
	while ((c = getopt_long(argc, argv, ":d:t:l:o:i:c:z:jvhV", opts,
				NULL)) != -1) {
		if (c == 't' || c == 'l' || c == 'o' || c == 'i') {
			if (c != uri_opt[mode]) {
				err_msg("%s: -%c does not apply (see '%s %s -h')",
					mode_name[mode], c, prog,
					mode_name[mode]);
				return EXIT_USAGE;
			}
			ps.where = optarg;
			continue;
		}
		if (c == 'h') {
			usage(stdout, mode);
			return EXIT_OK;
		}
		if (c == 'V')
			return print_version();
		ret = stream_opt(a, &ps, c, optarg);
		if (ret == OPT_OTHER)
			ret = switchover_opt(a, &ps, c, optarg);
		if (ret == OPT_OTHER)
			ret = other_opt(a, c, optarg);
		if (ret == OPT_OTHER)
			return opt_error(mode_name[mode], opts, argv, c);
		if (ret != OPT_TAKEN)
			return ret;
	}
	if (opt_no_operands(mode_name[mode], argc, argv))
		return EXIT_USAGE;
	if (!a->ndev) {
		err_msg("%s: no device given (-d DEV)", mode_name[mode]);
		return EXIT_USAGE;
	}
	ret = take_where(a, &ps);
	if (ret < 0)
		ret = check_modes(a, &ps);
	if (ret >= 0)
		return ret;
	settle(a, &ps);
	return -1;
}

/*
 * Where send keeps its history without --history:
 * $XDG_STATE_HOME/vfio-migrate/history, else root's
 * /var/lib/vfio-migrate/history or a user's
 * ~/.local/state/vfio-migrate/history ("" when there is no home).
 */
void mig_history_default(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/') {
		snprintf(buf, size, "%s/vfio-migrate/history", xdg);
	} else if (geteuid() == 0) {
		snprintf(buf, size, "/var/lib/vfio-migrate/history");
	} else if (home && home[0] == '/') {
		snprintf(buf, size, "%s/.local/state/vfio-migrate/history",
			 home);
	} else {
		buf[0] = '\0';
	}
}
