/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dropping the capabilities a command no longer needs (libcap). */
#ifndef VFIO_MIGRATE_PRIVS_H
#define VFIO_MIGRATE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

struct privs_keep {
	bool net_admin; /* channels still to make want big buffers */
	char why[256]; /* for -v */
};

/* Whether channels made from now on need CAP_NET_ADMIN (their socket
 * buffers exceed the sysctl caps); if so, says why in @why. */
bool privs_want_net_admin(char *why, size_t len);

/*
 * Set no_new_privs and drop every capability but those in @keep from all
 * sets (bounding and ambient included); with @verbose say on stderr what
 * was kept and why.  0, or -1 after printing why it failed.
 */
int privs_drop(const struct privs_keep *keep, bool verbose);

#endif
