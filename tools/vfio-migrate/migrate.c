// SPDX-License-Identifier: GPL-2.0-or-later
/* send, recv, save and load: devices, files and credentials opened, the
 * privileges dropped, and everything released at the end. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "metrics.h"
#include "migrate.h"
#include "privs.h"

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
