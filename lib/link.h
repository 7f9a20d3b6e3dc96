/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network link a connected socket leaves through, and its speed. */
#ifndef VFMIG_LINK_H
#define VFMIG_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct link_info {
	char name[IF_NAMESIZE];
	uint64_t bits_per_s;
	bool local; /* the peer is on this host (loopback, a unix socket) */
};

/*
 * Route look-up of @fd's peer (rtnetlink), then the egress interface's
 * speed (ethtool netlink).  0 with @li filled; -ENOENT for a loopback or
 * unknown-speed link, a non-IP socket, or no route; other -errno when
 * netlink itself failed.  Never blocks for long: both are kernel queries.
 * li->local is set whatever it returns when the peer is on this host: a
 * unix socket, or a route through the loopback device (which is also
 * where an address of this host's own interfaces leads).
 */
int link_of_socket(int fd, struct link_info *li);

#endif
