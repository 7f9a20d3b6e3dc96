// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-migrate estimate: the downtime model without a migration. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "print.h"

#define MAX_DEV 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s estimate --ram-pending B [--ram-dirty-rate R] --device-pending B[,B...]\n"
		"          --bandwidth RATE [--ratio R] [--fixed-cost MS] [--downtime-limit MS] [-j]\n"
		"\nThe expected downtime of a migration switching over now, the bytes left,\n"
		"a verdict and the smallest downtime limit that holds (Documentation/stats.md).\n\n"
		"  --ram-pending B        RAM still to send (default 0)\n"
		"  --ram-dirty-rate R     how fast the guest dirties RAM, e.g. 200M/s\n"
		"  --device-pending B,..  each device's stop-copy bytes, e.g. 1.91GiB,512M\n"
		"  --bandwidth RATE       switchover bandwidth, e.g. 1GiB/s or 10Gbit\n"
		"  --ratio R              wire/raw after compression (default 1: unknown)\n"
		"  --fixed-cost MS        transitions and loads (default 0)\n"
		"  --downtime-limit MS    the limit to judge against (default 300)\n"
		"  -j, --json             one JSON object\n",
		prog);
}

enum { O_RAM = 256, O_RDIRTY, O_DEV, O_BW, O_RATIO, O_FIXED, O_LIMIT };

int cmd_estimate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ram-pending", required_argument, NULL, O_RAM },
		{ "ram-dirty-rate", required_argument, NULL, O_RDIRTY },
		{ "device-pending", required_argument, NULL, O_DEV },
		{ "bandwidth", required_argument, NULL, O_BW },
		{ "ratio", required_argument, NULL, O_RATIO },
		{ "fixed-cost", required_argument, NULL, O_FIXED },
		{ "downtime-limit", required_argument, NULL, O_LIMIT },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vfmig_stats_opts so = { .size = sizeof(so) };
	struct vfmig_estimate e = { .size = sizeof(e) };
	uint64_t ram = 0, rdirty = 0, dev[MAX_DEV];
	struct vfmig_stats *s;
	struct printer p;
	unsigned ndev = 0;
	bool json = false;
	char *list = NULL;
	int c, ret;

	opterr = 0; /* opt_error() says it, in one line */
	while ((c = getopt_long(argc, argv, ":jhV", opts, NULL)) != -1) {
		switch (c) {
		case O_RAM:
			if (size_arg("estimate: --ram-pending", optarg, &ram,
				     false))
				return EXIT_USAGE;
			break;
		case O_RDIRTY:
			if (size_arg("estimate: --ram-dirty-rate", optarg,
				     &rdirty, true))
				return EXIT_USAGE;
			break;
		case O_DEV:
			list = optarg;
			break;
		case O_BW:
			if (size_arg("estimate: --bandwidth", optarg,
				     &so.bandwidth, true))
				return EXIT_USAGE;
			break;
		case O_RATIO:
			if (ratio_arg("estimate: --ratio", optarg, &so.ratio))
				return EXIT_USAGE;
			break;
		case O_FIXED:
			if (time_arg("estimate: --fixed-cost", optarg, 1, 0,
				     UINT32_MAX, &so.fixed_cost_ms))
				return EXIT_USAGE;
			break;
		case O_LIMIT:
			if (time_arg("estimate: --downtime-limit", optarg, 1, 1,
				     UINT32_MAX, &so.downtime_limit_ms))
				return EXIT_USAGE;
			break;
		case 'j':
			json = true;
			break;
		default:
			return opt_common("estimate", opts, argv, c, usage);
		}
	}
	if (opt_no_operands("estimate", argc, argv))
		return EXIT_USAGE;
	if (!so.bandwidth) {
		err_msg("estimate: no --bandwidth given");
		return EXIT_USAGE;
	}
	if (list) {
		char *copy = strdup(list), *save = NULL, *tok;

		for (tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (ndev == MAX_DEV ||
			    size_arg("estimate: --device-pending", tok,
				     &dev[ndev], false)) {
				if (ndev == MAX_DEV)
					err_msg("estimate: at most %d devices",
						MAX_DEV);
				free(copy);
				return EXIT_USAGE;
			}
			ndev++;
		}
		free(copy);
	}
	so.ndev = ndev ? ndev : 1;
	if (vfmig_stats_new(&so, &s) < 0) {
		err_msg("estimate: bad options");
		return EXIT_USAGE;
	}
	vfmig_stats_set_ram(s, ram, rdirty);
	for (unsigned i = 0; i < ndev; i++)
		vfmig_stats_set_device(s, i, dev[i], 0);
	ret = vfmig_stats_estimate(s, &e);

	pr_init(&p, stdout, json);
	pr_open_object(&p, NULL);
	pr_estimate(&p, &e, ret,
		    so.downtime_limit_ms ? so.downtime_limit_ms :
					   VFMIG_DOWNTIME_LIMIT_DEFAULT_MS);
	pr_open_array(&p, "devices", NULL);
	for (unsigned i = 0; i < ndev; i++) {
		uint64_t pend;
		double r;
		int src;

		vfmig_stats_device(s, i, &pend, &r, &src, NULL);
		pr_open_object(&p, NULL);
		pr_bytes(&p, "pending", "device pending", pend);
		pr_double(&p, "ratio", "  ratio", r, 4);
		pr_close_object(&p);
	}
	pr_close_array(&p);
	pr_close_object(&p);
	pr_end(&p);
	vfmig_stats_free(s);
	return EXIT_OK;
}
