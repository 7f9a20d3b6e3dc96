// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-migrate list: the host's VFIO devices that can migrate.  A device
 * is a candidate when it is bound to a vfio driver: a PCI function whose
 * driver is vfio-pci or a variant (mlx5_vfio_pci, ...), or any bound
 * mdev.  Each is opened as info opens it, which is the only way to learn
 * its migration flags and stop-copy size; a device a VM holds cannot be
 * opened again (EBUSY) and is left untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "print.h"

#define LIST_MAX 1024

struct cand {
	char spec[64]; /* pci:DDDD:BB:DD.F or mdev:UUID */
	char kind[8], driver[64], mdev_type[96], group[16], cdev[32];
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s list [-a] [-j]\n"
		"\n"
		"List this host's VFIO devices that support migration (PCI functions bound to\n"
		"vfio-pci or a variant driver, and mdevs): their migration flags, stop-copy\n"
		"size, and whether this user can open them now.\n"
		"\n"
		"  -a, --all          also the devices that do not support migration\n"
		"  -j, --json         one JSON object on stdout\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n",
		prog);
}

static const char *root(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v && *v ? v : dflt;
}

/* snprintf that says whether it all fitted (a name too long for its
 * field is no device we know). */
static bool fits(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fits(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

/* The last component of the symlink @dir/@name into @out ("" if none). */
static void link_base(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	if (!fits(path, sizeof(path), "%s/%s", dir, name))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (!fits(out, size, "%s", base))
		out[0] = '\0';
}

/* The vfio cdev of a device (its vfio-dev/vfioN), "" if none. */
static void find_cdev(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	if (!fits(path, sizeof(path), "%s/vfio-dev", dir))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4) && e->d_name[4] &&
		    fits(out, size, "%s", e->d_name))
			break;
	closedir(d);
}

static int by_spec(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->spec,
		      ((const struct cand *)b)->spec);
}

/* The bound devices of one bus (pci, mdev) into @c, up to @max. */
static unsigned scan_bus(const char *sysfs, const char *bus, struct cand *c,
			 unsigned max)
{
	char dir[PATH_MAX], dev[PATH_MAX];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	if (!fits(dir, sizeof(dir), "%s/bus/%s/devices", sysfs, bus))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		struct cand *x = &c[n];

		if (e->d_name[0] == '.' || strlen(e->d_name) > 40)
			continue;
		memset(x, 0, sizeof(*x));
		if (!fits(dev, sizeof(dev), "%s/%s", dir, e->d_name))
			continue;
		link_base(dev, "driver", x->driver, sizeof(x->driver));
		/* PCI: only vfio drivers; mdev: any driver (vfio_mdev or the
		 * vendor's), but bound */
		if (!x->driver[0] ||
		    (!strcmp(bus, "pci") && !strstr(x->driver, "vfio")))
			continue;
		snprintf(x->spec, sizeof(x->spec), "%s:%s", bus, e->d_name);
		snprintf(x->kind, sizeof(x->kind), "%s", bus);
		if (!strcmp(bus, "mdev"))
			link_base(dev, "mdev_type", x->mdev_type,
				  sizeof(x->mdev_type));
		link_base(dev, "iommu_group", x->group, sizeof(x->group));
		find_cdev(dev, x->cdev, sizeof(x->cdev));
		n++;
	}
	closedir(d);
	return n;
}

static void print_flags(struct printer *p, int flags)
{
	pr_open_array(p, "migration-flags", "  migration");
	if (flags & VFMIG_MIGRATION_STOP_COPY)
		pr_string(p, NULL, NULL, "stop-copy");
	if (flags & VFMIG_MIGRATION_P2P)
		pr_string(p, NULL, NULL, "p2p");
	if (flags & VFMIG_MIGRATION_PRE_COPY)
		pr_string(p, NULL, NULL, "pre-copy");
	pr_close_array(p);
}

/*
 * One device: where it is, then what opening it says.  -ENOTTY from the
 * open is a device without migration: shown with --all only (returns 0,
 * nothing printed otherwise).
 */
static int show(struct printer *p, const struct cand *x, bool all)
{
	char why[512] = "", node[PATH_MAX];
	struct vfmig_device_opts o = { .size = sizeof(o),
				       .errbuf = why,
				       .errbuf_size = sizeof(why) };
	struct vfmig_device *dev = NULL;
	int ret = vfmig_device_open(x->spec, &o, &dev);
	uint64_t sc;

	if (ret == -ENOTTY && !all)
		return 0;
	pr_open_object(p, NULL);
	pr_string(p, "device", "device", x->spec);
	pr_string(p, "driver", "  driver", x->driver);
	if (x->mdev_type[0])
		pr_string(p, "mdev-type", "  mdev type", x->mdev_type);
	if (x->group[0]) {
		if (fits(node, sizeof(node), "%s/vfio/%s",
			 root("VFMIG_DEV_ROOT", "/dev"), x->group))
			pr_string(p, "group", "  group", node);
	}
	if (x->cdev[0]) {
		if (fits(node, sizeof(node), "%s/vfio/devices/%s",
			 root("VFMIG_DEV_ROOT", "/dev"), x->cdev))
			pr_string(p, "cdev", "  cdev", node);
	}
	if (ret == 0) {
		print_flags(p, vfmig_device_migration_flags(dev));
		if (vfmig_device_stopcopy_size(dev, &sc) == 0)
			pr_bytes(p, "stopcopy-bytes", "  stop-copy size", sc);
		pr_string(p, "access", "  access", "yes");
	} else if (ret == -ENOTTY) {
		print_flags(p, 0);
		pr_string(p, "access", "  access", "yes");
	} else {
		/* EACCES: this user; EBUSY: a VM or another tool holds it */
		pr_string(p, "access", "  access",
			  ret == -EBUSY ? "busy" : "no");
		pr_string(p, "error", "  why", why);
	}
	pr_close_object(p);
	vfmig_device_close(dev);
	return 1;
}

static int list(bool json, bool all)
{
	const char *sysfs = root("VFMIG_SYSFS_ROOT", "/sys");
	struct cand *c = calloc(LIST_MAX, sizeof(*c));
	unsigned n, shown = 0;
	struct printer p;

	if (!c) {
		err_msg("list: out of memory");
		return EXIT_FAILED;
	}
	n = scan_bus(sysfs, "pci", c, LIST_MAX);
	n += scan_bus(sysfs, "mdev", c + n, LIST_MAX - n);
	qsort(c, n, sizeof(*c), by_spec);
	/* JSON: {"devices": [...]}; text: one block per device */
	pr_init(&p, stdout, json);
	if (json) {
		pr_open_object(&p, NULL);
		pr_open_array(&p, "devices", NULL);
	}
	for (unsigned i = 0; i < n; i++)
		shown += (unsigned)show(&p, &c[i], all);
	if (json) {
		pr_close_array(&p);
		pr_close_object(&p);
	}
	pr_end(&p);
	if (!json && !shown)
		fprintf(stderr,
			"%s: no VFIO device%s here (%s/bus/{pci,mdev}/devices)\n",
			prog, all ? "" : " that supports migration", sysfs);
	free(c);
	return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, all = false;
	int c;

	opterr = 0; /* opt_error() says it, in one line */
	while ((c = getopt_long(argc, argv, ":ajhV", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		default:
			return opt_common("list", opts, argv, c, usage);
		}
	}
	if (opt_no_operands("list", argc, argv))
		return EXIT_USAGE;
	return list(json, all);
}
