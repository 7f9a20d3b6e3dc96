// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Least privilege: once the devices, sockets and files a command needs are
 * open, nothing it does later needs root's powers, with one exception:
 * channels made later (connected by send, accepted by recv) ask for socket
 * buffers above net.core.[rw]mem_max, which takes CAP_NET_ADMIN.  Every
 * other capability leaves the effective, permitted, inheritable, ambient
 * and bounding sets, and no_new_privs keeps an exec from getting any back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "cli.h"
#include "privs.h"

/* lib/channel.c asks for this much socket buffer (chan_tune). */
#define CHAN_BUF_BYTES (8u << 20)

/* A sysctl's number, or 0 when it cannot be read. */
static unsigned long sysctl_ulong(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "re");
	char line[32], *end;

	if (f) {
		if (fgets(line, sizeof(line), f)) {
			errno = 0;
			v = strtoul(line, &end, 10);
			if (errno || end == line || (*end && *end != '\n'))
				v = 0;
		}
		fclose(f);
	}
	return v;
}

bool privs_want_net_admin(char *why, size_t len)
{
	unsigned long w = sysctl_ulong("/proc/sys/net/core/wmem_max");
	unsigned long r = sysctl_ulong("/proc/sys/net/core/rmem_max");

	if (w >= CHAN_BUF_BYTES && r >= CHAN_BUF_BYTES)
		return false;
	snprintf(
		why, len,
		"socket buffers of %u MiB for channels not open yet, above net.core.wmem_max=%lu / rmem_max=%lu; set both to %u or more to drop it too",
		CHAN_BUF_BYTES >> 20, w, r, CHAN_BUF_BYTES);
	return true;
}

static bool holds(cap_t c, cap_value_t v, cap_flag_t set)
{
	cap_flag_value_t f = CAP_CLEAR;

	return cap_get_flag(c, v, set, &f) == 0 && f == CAP_SET;
}

/* The capabilities in @c's permitted set but @skip (-1: none), by
 * name, into @buf: how many. */
static unsigned names(cap_t c, cap_value_t skip, char *buf, size_t len)
{
	unsigned n = 0;
	size_t at = 0;

	buf[0] = '\0';
	for (cap_value_t v = 0; v < (cap_value_t)cap_max_bits(); v++) {
		char *name;

		if (v == skip || !holds(c, v, CAP_PERMITTED))
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

int privs_drop(const struct privs_keep *keep, bool verbose)
{
	cap_value_t kept[1];
	int nkept = 0, ret = -1;
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
	if (keep && keep->net_admin && holds(cur, CAP_NET_ADMIN, CAP_PERMITTED))
		kept[nkept++] = CAP_NET_ADMIN;
	ndropped = names(cur, nkept ? kept[0] : -1, dropped, sizeof(dropped));
	/* The bounding set needs CAP_SETPCAP, so it goes first. */
	if (holds(cur, CAP_SETPCAP, CAP_EFFECTIVE)) {
		for (cap_value_t v = 0; v < (cap_value_t)cap_max_bits(); v++) {
			if ((nkept && v == kept[0]) || cap_get_bound(v) <= 0)
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
	if (!want ||
	    (nkept &&
	     (cap_set_flag(want, CAP_PERMITTED, nkept, kept, CAP_SET) < 0 ||
	      cap_set_flag(want, CAP_EFFECTIVE, nkept, kept, CAP_SET) < 0)) ||
	    cap_set_proc(want) < 0) {
		err_msg("cannot drop capabilities: %s", strerror(errno));
		goto out;
	}
	/* Trust, but check: what the kernel says we hold now. */
	cap_free(cur);
	cur = cap_get_proc();
	if (!cur || cap_compare(cur, want)) {
		err_msg("capabilities left after dropping them: %s",
			cur && names(cur, -1, left, sizeof(left)) ? left : "?");
		goto out;
	}
	ret = 0;
	if (!verbose)
		goto out;
	if (nkept)
		fprintf(stderr,
			"%s: privileges: kept CAP_NET_ADMIN (%s); dropped the other %u capabilities held (%s); no_new_privs set\n",
			prog, keep->why, ndropped, dropped);
	else if (ndropped)
		fprintf(stderr,
			"%s: privileges: dropped all %u capabilities held (%s); no_new_privs set\n",
			prog, ndropped, dropped);
	else
		fprintf(stderr,
			"%s: privileges: no capabilities held; no_new_privs set\n",
			prog);
out:
	cap_free(cur);
	cap_free(want);
	return ret;
}
