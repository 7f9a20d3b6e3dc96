// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Least privilege: once the devices, sockets and files a command needs are
 * open, nothing it does later needs root's powers.  The socket buffers
 * above net.core.[rw]mem_max, which take CAP_NET_ADMIN, are set before:
 * on send's sockets, made but not connected by vfmig_source_new(), and on
 * recv's listener, whose accepted sockets inherit them.  So every
 * capability leaves the effective, permitted, inheritable, ambient and
 * bounding sets before a byte from the network is read, and no_new_privs
 * keeps an exec from getting any back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "cli.h"
#include "privs.h"

static bool holds(cap_t c, cap_value_t v, cap_flag_t set)
{
	cap_flag_value_t f = CAP_CLEAR;

	return cap_get_flag(c, v, set, &f) == 0 && f == CAP_SET;
}

/* The capabilities in @c's permitted set, by name, into @buf: how many. */
static unsigned names(cap_t c, char *buf, size_t len)
{
	unsigned n = 0;
	size_t at = 0;

	buf[0] = '\0';
	for (cap_value_t v = 0; v < (cap_value_t)cap_max_bits(); v++) {
		char *name;

		if (!holds(c, v, CAP_PERMITTED))
			continue;
		n++;
		name = cap_to_name(v);
		if (name && at < len) {
			int w = snprintf(buf + at, len - at, "%s%s",
					 at ? " " : "", name);

			at += w > 0 ? (size_t)w : 0;
		}
		cap_free(name);
	}
	return n;
}

int privs_drop(bool verbose)
{
	int ret = -1;
	cap_t cur, want = NULL;
	char dropped[1024], left[256];
	unsigned ndropped;

	/* First, so that nothing below can be undone by an exec. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err_msg("cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	cur = cap_get_proc();
	if (!cur) {
		err_msg("cannot read this process's capabilities: %s",
			strerror(errno));
		return -1;
	}
	ndropped = names(cur, dropped, sizeof(dropped));
	/* The bounding set needs CAP_SETPCAP, so it goes first. */
	if (holds(cur, CAP_SETPCAP, CAP_EFFECTIVE)) {
		for (cap_value_t v = 0; v < (cap_value_t)cap_max_bits(); v++) {
			if (cap_get_bound(v) <= 0)
				continue;
			if (cap_drop_bound(v) < 0) {
				err_msg("cannot drop capability %d from the bounding set: %s",
					(int)v, strerror(errno));
				goto out;
			}
		}
	}
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0) {
		err_msg("cannot clear the ambient capabilities: %s",
			strerror(errno));
		goto out;
	}
	want = cap_init();
	if (!want || cap_set_proc(want) < 0) {
		err_msg("cannot drop capabilities: %s", strerror(errno));
		goto out;
	}
	/* Trust, but check: what the kernel says we hold now. */
	cap_free(cur);
	cur = cap_get_proc();
	if (!cur || cap_compare(cur, want)) {
		err_msg("capabilities left after dropping them: %s",
			cur && names(cur, left, sizeof(left)) ? left : "?");
		goto out;
	}
	ret = 0;
	if (verbose && ndropped)
		fprintf(stderr,
			"%s: privileges: dropped all %u capabilities held (%s); no_new_privs set\n",
			prog, ndropped, dropped);
	else if (verbose)
		fprintf(stderr,
			"%s: privileges: no capabilities held; no_new_privs set\n",
			prog);
out:
	cap_free(cur);
	cap_free(want);
	return ret;
}
