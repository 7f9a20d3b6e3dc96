// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cpus.h"
#include "interrupt.h"
#include "migrate.h"
#include "options.h"
#include "print.h"
#include "metrics.h"
#include "privs.h"
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

int mig_parse(int argc, char **argv, enum mig_mode mode, struct mig_args *a)
{
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
	/* which letter names the stream for each command */
	static const int uri_opt[] = { 't', 'l', 'o', 'i' };
	bool sending = mode == MIG_SEND || mode == MIG_SAVE, is_auto = true;
	const char *where = NULL;
	int history = -1; /* --history 1, --no-history 0, default -1 */
	uint64_t v;
	long n;
	int c;

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
			where = optarg;
			continue;
		}
		switch (c) {
		case 'd':
			if (a->ndev == MIG_MAX_DEV) {
				err_msg("at most %d devices", MIG_MAX_DEV);
				return EXIT_USAGE;
			}
			a->spec[a->ndev++] = optarg;
			break;
		case 'c':
			if (mode == MIG_SAVE || mode == MIG_LOAD) {
				err_msg("%s: -c does not apply: a file is one channel",
					mode_name[mode]);
				return EXIT_USAGE;
			}
			if (num_arg("-c", optarg, 1, 64, &n))
				return EXIT_USAGE;
			a->o.channels = (unsigned)n;
			break;
		case 'z':
			if (!sending || codec_arg(optarg, a, &is_auto))
				return sending ?
					       EXIT_USAGE :
					       (err_msg("-z applies to send and save"),
						EXIT_USAGE);
			break;
		case O_MAXBW:
			if (size_arg("--max-bandwidth", optarg,
				     &a->o.max_bandwidth, true))
				return EXIT_USAGE;
			break;
		case O_NOPRE:
			a->o.precopy = -1;
			break;
		case O_NOSTART:
			a->o.no_start = 1;
			break;
		case O_MEMORY:
			if (size_arg("--memory", optarg, &a->o.memory, false))
				return EXIT_USAGE;
			break;
		case O_CHUNK:
			if (size_arg("--chunk", optarg, &v, false))
				return EXIT_USAGE;
			if (v < 4096 || v > (16u << 20)) {
				err_msg("--chunk: '%s' is outside 4K..16M",
					optarg);
				return EXIT_USAGE;
			}
			a->o.chunk = (uint32_t)v;
			break;
		case O_WORKERS:
			if (num_arg("--workers", optarg, 1, 256, &n))
				return EXIT_USAGE;
			a->o.workers = (unsigned)n;
			break;
		case O_TIMEOUT:
			if (time_arg("--timeout", optarg, 1000, 100, 86400000,
				     &v))
				return EXIT_USAGE;
			a->o.timeout_ms = (int)v;
			break;
		case O_INTERVAL:
			if (time_arg("--interval", optarg, 1, 10, 3600000, &v))
				return EXIT_USAGE;
			a->o.interval_ms = (unsigned)v;
			break;
		case O_SWITCHOVER:
			if (!strcmp(optarg, "auto")) {
				a->o.switchover = VFMIG_SWITCHOVER_AUTO;
			} else if (!strcmp(optarg, "immediate")) {
				a->o.switchover = VFMIG_SWITCHOVER_IMMEDIATE;
			} else {
				err_msg("--switchover: bad value '%s' (expected auto or immediate)",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case O_LIMIT:
			if (time_arg("--downtime-limit", optarg, 1, 1,
				     UINT32_MAX, &a->o.downtime_limit_ms))
				return EXIT_USAGE;
			break;
		case O_PRETIMEOUT:
			if (time_arg("--precopy-timeout", optarg, 1000, 1000,
				     31536000000ull, &a->o.precopy_timeout_ms))
				return EXIT_USAGE;
			break;
		case O_SOBW:
			if (size_arg("--switchover-bandwidth", optarg,
				     &a->o.switchover_bandwidth, true))
				return EXIT_USAGE;
			break;
		case O_RAM:
			if (size_arg("--ram-pending", optarg, &a->o.ram_pending,
				     false))
				return EXIT_USAGE;
			break;
		case O_RDIRTY:
			if (size_arg("--ram-dirty-rate", optarg,
				     &a->o.ram_dirty_rate, true))
				return EXIT_USAGE;
			break;
		case O_RATIO:
			if (ratio_arg("--ratio", optarg, &a->o.ratio))
				return EXIT_USAGE;
			break;
		case O_HISTORY:
			if (!*optarg) {
				err_msg("--history: empty path (--no-history turns it off)");
				return EXIT_USAGE;
			}
			snprintf(a->history, sizeof(a->history), "%s", optarg);
			history = 1;
			break;
		case O_NOHISTORY:
			history = 0;
			break;
		case O_DRYRUN:
			a->o.dry_run = 1;
			break;
		case O_METRICS:
			if (!*optarg || strlen(optarg) >= sizeof(a->metrics)) {
				err_msg("--metrics: give a file name");
				return EXIT_USAGE;
			}
			snprintf(a->metrics, sizeof(a->metrics), "%s", optarg);
			break;
		case O_CPUS: {
			char why[256];

			if (cpus_parse(optarg, &a->cpus, why, sizeof(why)) <
			    0) {
				err_msg("--cpus: %s", why);
				return EXIT_USAGE;
			}
			a->o.cpus = optarg;
			break;
		}
		case O_MAXPRE:
			if (mode != MIG_RECV) {
				err_msg("--max-precopy applies to recv only");
				return EXIT_USAGE;
			}
			if (time_arg("--max-precopy", optarg, 1000, 1000,
				     31536000000ull, &a->o.precopy_max_ms))
				return EXIT_USAGE;
			break;
		case O_TLS_CREDS:
			a->tls_creds = optarg;
			break;
		case O_TLS_HOST:
			a->tls_hostname = optarg;
			break;
		case O_TLS_USER:
			a->tls_username = optarg;
			break;
		case O_TLS_AUTHZ:
			if (a->ntls_authz == MIG_MAX_AUTHZ) {
				err_msg("--tls-authz: at most %d patterns",
					MIG_MAX_AUTHZ);
				return EXIT_USAGE;
			}
			a->tls_authz[a->ntls_authz++] = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			usage(stdout, mode);
			return EXIT_OK;
		case 'V':
			return print_version();
		default:
			return opt_error(mode_name[mode], opts, argv, c);
		}
	}
	if (optind < argc) {
		err_msg("%s: unexpected argument '%s'", mode_name[mode],
			argv[optind]);
		return EXIT_USAGE;
	}
	if (!a->ndev) {
		err_msg("%s: no device given (-d DEV)", mode_name[mode]);
		return EXIT_USAGE;
	}
	if (!where) {
		err_msg("%s: no %s given (-%c)", mode_name[mode],
			mode >= MIG_SAVE ? "file" : "address", uri_opt[mode]);
		return EXIT_USAGE;
	}
	if (mode >= MIG_SAVE) {
		snprintf(a->path, sizeof(a->path), "%s", where);
	} else {
		if (!strncmp(where, "file:", 5)) {
			err_msg("%s: use '%s' for files", mode_name[mode],
				mode == MIG_SEND ? "save" : "load");
			return EXIT_USAGE;
		}
		if (mode == MIG_RECV && !strcmp(where, "systemd")) {
			char why[256];

			if (sd_listen_uri(a->uri, sizeof(a->uri), why,
					  sizeof(why)) < 0) {
				err_msg("%s", why);
				return EXIT_USAGE;
			}
		} else if (uri_arg(mode, where)) {
			return EXIT_USAGE;
		} else {
			snprintf(a->uri, sizeof(a->uri), "%s", where);
		}
	}
	if (mode != MIG_SEND &&
	    (a->o.switchover || a->o.downtime_limit_ms ||
	     a->o.precopy_timeout_ms || a->o.switchover_bandwidth ||
	     a->o.ram_pending || a->o.ram_dirty_rate || a->o.ratio > 0 ||
	     history >= 0)) {
		err_msg("%s: the switchover options apply to send only",
			mode_name[mode]);
		return EXIT_USAGE;
	}
	if (a->o.dry_run && mode != MIG_SEND) {
		err_msg("%s: --dry-run asks a destination: send only",
			mode_name[mode]);
		return EXIT_USAGE;
	}
	if (tls_args_check(a))
		return EXIT_USAGE;
	/* a save is the downtime: nothing to wait for */
	if (mode == MIG_SAVE)
		a->o.switchover = VFMIG_SWITCHOVER_IMMEDIATE;
	if (is_auto && a->o.codec == VFMIG_CODEC_AUTO)
		a->o.level = mig_auto_level(a->o.max_bandwidth);
	if (mode == MIG_SEND && history < 0)
		mig_history_default(a->history, sizeof(a->history));
	if (!history) /* --no-history, wherever it came */
		a->history[0] = '\0';
	a->o.history = a->history[0] ? a->history : NULL;
	a->o.uri = a->uri;
	a->o.progress = mig_progress;
	a->o.progress_arg = a;
	a->records = a->json && a->o.interval_ms;
	if (!a->o.interval_ms && a->json && !a->metrics[0])
		a->o.progress = NULL; /* -j alone: the report only */
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

const char *mig_id(const struct vfmig_device *dev, unsigned idx, char *buf,
		   size_t size)
{
	if (*vfmig_device_id(dev))
		return vfmig_device_id(dev);
	snprintf(buf, size, "dev%u", idx);
	return buf;
}

/* Devices are matched by id at the destination: no two alike. */
static int ids_unique(const struct mig_args *a, struct vfmig_device **devs)
{
	char x[16], y[16];

	for (unsigned i = 0; i < a->ndev; i++)
		for (unsigned j = 0; j < i; j++) {
			const char *id = mig_id(devs[i], i, x, sizeof(x));

			if (strcmp(id, mig_id(devs[j], j, y, sizeof(y))))
				continue;
			err_msg("-d: devices %u and %u have the same id '%s' (give each its own: ,id=ID, or a sim's name=)",
				j + 1, i + 1, id);
			return EXIT_USAGE;
		}
	return EXIT_OK;
}

int mig_open(struct mig_args *a, struct vfmig_device **devs)
{
	for (unsigned i = 0; i < a->ndev; i++) {
		int ret = open_device(a->spec[i], &devs[i]);

		if (ret) {
			mig_close(devs, i);
			return ret;
		}
		/* "sim" twice would make reports ambiguous */
		if (a->ndev > 1 &&
		    !strcmp(vfmig_device_backend(devs[i]), "sim") &&
		    !strcmp(vfmig_device_name(devs[i]), "sim")) {
			char name[16];

			snprintf(name, sizeof(name), "sim%u", i);
			vfmig_device_set_name(devs[i], name);
		}
	}
	if (ids_unique(a, devs)) {
		mig_close(devs, a->ndev);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * The file of save and load, opened here rather than by the library so
 * that it is open before the privileges go (root's access to another
 * user's directory is CAP_DAC_OVERRIDE); the library gets it as fd:N.
 */
static int open_file(struct mig_args *a)
{
	bool out = a->mode == MIG_SAVE;
	int fd = out ? open(a->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			    0600) :
		       open(a->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		err_msg("cannot %s %s: %s%s", out ? "create" : "open", a->path,
			strerror(e),
			e != EACCES ? "" :
			out	    ? " (no write permission on the file or its directory for this user: choose another path or change the permissions)" :
				      " (no read permission for this user: change the file's permissions, or run as its owner)");
		return EXIT_FAILED;
	}
	a->file_fd = fd;
	snprintf(a->uri, sizeof(a->uri), "fd:%d", fd);
	return EXIT_OK;
}

/* The credentials, like the file, are read before the privileges go:
 * keys are often readable by root only. */
static int open_tls(struct mig_args *a)
{
	struct vfmig_tls_opts o = {
		.size = sizeof(o),
		.creds = a->tls_creds,
		.endpoint = a->mode == MIG_RECV ? VFMIG_TLS_SERVER :
						  VFMIG_TLS_CLIENT,
		.hostname = a->tls_hostname,
		.authz = a->ntls_authz ? a->tls_authz : NULL,
		.psk_username = a->tls_username,
	};
	char err[512];

	if (vfmig_tls_new(&o, &a->tls, err, sizeof(err)) < 0) {
		err_msg("--tls-creds: %s", err);
		return EXIT_FAILED;
	}
	a->o.tls = a->tls;
	return EXIT_OK;
}

int mig_lockdown(struct mig_args *a)
{
	return privs_drop(a->verbose) ? EXIT_FAILED : EXIT_OK;
}

/* --metrics FILE written once now: a path that cannot be is a usage
 * error before anything moves, not a warning after. */
static int first_metrics(struct mig_args *a)
{
	struct vfmig_transfer none = { .size = sizeof(none) };
	struct metrics_snap m = { .status = "setup", .total = &none };
	char why[512];

	if (metrics_write(a, &m, why, sizeof(why)) == 0)
		return 0;
	err_msg("%s", why);
	return EXIT_USAGE;
}

int mig_prepare(int argc, char **argv, enum mig_mode mode, struct mig_args *a,
		struct vfmig_device **devs)
{
	int ret = mig_parse(argc, argv, mode, a);

	if (ret >= 0)
		return ret;
	/* from here on a signal cancels, and the devices recover */
	intr_install(mode == MIG_SEND || mode == MIG_SAVE);
	ret = mig_open(a, devs);
	a->devs = devs;
	if (!ret && a->metrics[0])
		ret = first_metrics(a);
	/* the loop is this thread: pinned with the library's (a simulated
	 * device's threads, started above, are the device's, not ours) */
	if (!ret && a->o.cpus &&
	    sched_setaffinity(0, sizeof(a->cpus), &a->cpus)) {
		err_msg("--cpus %s: %s", a->o.cpus, strerror(errno));
		ret = EXIT_FAILED;
	}
	if (!ret && mode >= MIG_SAVE)
		ret = open_file(a);
	if (!ret && a->tls_creds)
		ret = open_tls(a);
	/* recv drops them once it listens, send once its sockets are made */
	if (!ret && mode >= MIG_SAVE)
		ret = mig_lockdown(a);
	/* a signal before there is a migration to cancel: nothing moved */
	if (!ret && intr_signal())
		ret = 128 + intr_signal();
	if (ret)
		mig_release(a, devs);
	return ret ? ret : -1;
}

void mig_close(struct vfmig_device **devs, unsigned n)
{
	/* NULL after: a later mig_release() of the same list is safe */
	for (unsigned i = 0; i < n; i++) {
		vfmig_device_close(devs[i]);
		devs[i] = NULL;
	}
}

void mig_release(struct mig_args *a, struct vfmig_device **devs)
{
	mig_close(devs, a->ndev);
	if (a->file_fd >= 0)
		close(a->file_fd);
	a->file_fd = -1;
	vfmig_tls_free(a->tls);
	a->tls = NULL;
	a->o.tls = NULL;
}

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
	char where[80], why[256];
	struct printer p;

	if (vfmig_sink_address(k, (struct sockaddr *)&ss, &len) < 0)
		return; /* nothing listens: a file, connected fds */
	/* The ready line, also with -j: scripts wait for it (and learn the
	 * port of tcp:HOST:0) rather than guess; so does systemd. */
	if (vfmig_sink_port(k) >= 0)
		snprintf(where, sizeof(where), "listening on port %d",
			 vfmig_sink_port(k));
	else
		snprintf(where, sizeof(where), "listening on %.63s", a->uri);
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

int mig_finish(struct mig_args *a, struct vfmig_device **devs,
	       const struct mig_result *r)
{
	if (r->ret)
		err_msg("%s", r->error);
	mig_metrics(a,
		    !r->ret	  ? "completed" :
		    intr_signal() ? "cancelled" :
				    "failed",
		    r->total_ms, &r->total, r);
	mig_report(a, devs, r);
	mig_release(a, devs);
	return r->ret ? EXIT_FAILED : EXIT_OK;
}
