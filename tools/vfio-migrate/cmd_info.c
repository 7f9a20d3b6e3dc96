// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-migrate info: a device's migration capabilities, state and sizes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "print.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s info -d DEV [-j]\n"
		"\n"
		"Show a device's name, backend, migration flags, state and stop-copy size.\n"
		"\n"
		"  -d, --device DEV   pci:DDDD:BB:DD.F | mdev:UUID | /dev/vfio/devices/vfioN |\n"
		"                     fd:N | sim:KEY=VALUE,...\n"
		"  -j, --json         one JSON object on stdout\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n"
		"\n%s",
		prog, sim_keys_help);
}

static void print_flags(struct printer *p, int flags)
{
	pr_open_array(p, "migration-flags", "migration");
	if (flags & VFMIG_MIGRATION_STOP_COPY)
		pr_string(p, NULL, NULL, "stop-copy");
	if (flags & VFMIG_MIGRATION_P2P)
		pr_string(p, NULL, NULL, "p2p");
	if (flags & VFMIG_MIGRATION_PRE_COPY)
		pr_string(p, NULL, NULL, "pre-copy");
	pr_close_array(p);
}

static int show(struct vfmig_device *dev, bool json)
{
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	struct printer p;
	uint64_t v;
	int flags, state;

	flags = vfmig_device_migration_flags(dev);
	state = vfmig_device_get_state(dev);
	if (flags < 0 || state < 0) {
		err_msg("%s", vfmig_device_strerror(dev));
		return EXIT_FAILED;
	}
	pr_init(&p, stdout, json);
	pr_open_object(&p, NULL);
	pr_string(&p, "name", "device", vfmig_device_name(dev));
	pr_string(&p, "backend", "backend", vfmig_device_backend(dev));
	pr_string(&p, "state", "state", vfmig_state_name(state));
	print_flags(&p, flags);
	if (vfmig_device_stopcopy_size(dev, &v) == 0)
		pr_bytes(&p, "stopcopy-bytes", "stop-copy size", v);
	else
		pr_null(&p, "stopcopy-bytes", "stop-copy size",
			"unknown (the driver does not report it)");
	if (vfmig_device_data_fd(dev) >= 0 &&
	    vfmig_device_precopy_info(dev, &pi) == 0) {
		pr_bytes(&p, "precopy-initial-bytes", "pre-copy initial",
			 pi.initial_bytes);
		pr_bytes(&p, "precopy-dirty-bytes", "pre-copy dirty",
			 pi.dirty_bytes);
	}
	if (vfmig_device_state_hash(dev, &v) == 0)
		pr_hex64(&p, "state-hash", "state hash", v);
	pr_close_object(&p);
	pr_end(&p);
	return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *spec = NULL;
	struct vfmig_device *dev;
	bool json = false;
	int c, ret;

	opterr = 0; /* opt_error() says it, in one line */
	while ((c = getopt_long(argc, argv, ":d:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (spec) {
				err_msg("info: one device at a time");
				return EXIT_USAGE;
			}
			spec = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return opt_common("info", opts, argv, c, usage);
		}
	}
	if (opt_no_operands("info", argc, argv))
		return EXIT_USAGE;
	if (!spec) {
		err_msg("info: no device given (-d DEV)");
		return EXIT_USAGE;
	}
	ret = open_device(spec, &dev);
	if (ret)
		return ret;
	ret = show(dev, json);
	vfmig_device_close(dev);
	return ret;
}
