// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switchover bandwidth's prior: the speed of the link a destination is
 * reached through.  libnl-route finds the egress interface the kernel
 * would use for the peer's address; ethtool's generic netlink family gives
 * its speed (what `ethtool DEV` prints), the figure a bandwidth measurement
 * can only approach from below.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "link.h"

/* libnl's errors are its own numbers; ours are errnos. */
static int nl_errno(int err)
{
	switch (-err) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_OBJ_NOTFOUND:
	case NLE_NOADDR:
	case NLE_NODEV:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static int egress_ifindex(struct nl_sock *sk,
			  const struct sockaddr_storage *peer)
{
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh;
	struct nl_addr *dst;
	int ret, ifindex = -ENOENT;

	if (peer->ss_family == AF_INET)
		dst = nl_addr_build(
			AF_INET, &((const struct sockaddr_in *)peer)->sin_addr,
			4);
	else
		dst = nl_addr_build(
			AF_INET6,
			&((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
	if (!dst)
		return -ENOMEM;
	ret = rtnl_route_lookup(sk, dst, &route);
	nl_addr_put(dst);
	if (ret < 0)
		return nl_errno(ret);
	nh = rtnl_route_nexthop_n(route, 0);
	if (nh)
		ifindex = rtnl_route_nh_get_ifindex(nh);
	rtnl_route_put(route);
	return ifindex > 0 ? ifindex : -ENOENT;
}

/* ETHTOOL_A_LINKMODES_SPEED, Mb/s; SPEED_UNKNOWN when the driver has none */
static int speed_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ETHTOOL_A_LINKMODES_MAX + 1];
	uint32_t *mbps = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_LINKMODES_MAX,
			  NULL) < 0 ||
	    !tb[ETHTOOL_A_LINKMODES_SPEED])
		return NL_SKIP;
	*mbps = nla_get_u32(tb[ETHTOOL_A_LINKMODES_SPEED]);
	return NL_OK;
}

static int link_speed(int ifindex, uint32_t *mbps)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	struct nlattr *hdr;
	int family, ret;

	if (!sk)
		return -ENOMEM;
	ret = genl_connect(sk);
	if (ret < 0)
		goto out;
	family = genl_ctrl_resolve(sk, ETHTOOL_GENL_NAME);
	if (family < 0) { /* kernels before 5.6, or no ethtool netlink */
		ret = -NLE_OBJ_NOTFOUND;
		goto out;
	}
	msg = nlmsg_alloc();
	ret = -NLE_NOMEM;
	if (!msg ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
			 ETHTOOL_MSG_LINKMODES_GET, ETHTOOL_GENL_VERSION))
		goto out;
	hdr = nla_nest_start(msg, ETHTOOL_A_LINKMODES_HEADER);
	if (!hdr ||
	    nla_put_u32(msg, ETHTOOL_A_HEADER_DEV_INDEX, (uint32_t)ifindex) < 0)
		goto out;
	nla_nest_end(msg, hdr);
	ret = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, speed_cb,
				  mbps);
	if (ret >= 0)
		ret = nl_send_auto(sk, msg);
	if (ret >= 0)
		ret = nl_recvmsgs_default(sk);
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret < 0 ? nl_errno(ret) : 0;
}

int link_of_socket(int fd, struct link_info *li)
{
	struct sockaddr_storage peer = { 0 };
	socklen_t len = sizeof(peer);
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	uint32_t mbps = (uint32_t)SPEED_UNKNOWN;
	int ifindex, ret;

	memset(li, 0, sizeof(*li));
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
		return -errno;
	li->local = peer.ss_family == AF_UNIX;
	if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6)
		return -ENOENT;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0)
		goto out;
	ifindex = egress_ifindex(sk, &peer);
	if (ifindex < 0) {
		nl_socket_free(sk);
		return ifindex;
	}
	ret = rtnl_link_get_kernel(sk, ifindex, NULL, &link);
	if (ret < 0)
		goto out;
	/* loopback has no speed worth a prior: measure instead */
	if (rtnl_link_get_flags(link) & IFF_LOOPBACK) {
		li->local = true;
		ret = -NLE_OBJ_NOTFOUND;
		goto out;
	}
	snprintf(li->name, sizeof(li->name), "%s", rtnl_link_get_name(link));
	ret = link_speed(ifindex, &mbps);
	if (ret < 0) {
		nl_socket_free(sk);
		rtnl_link_put(link);
		return ret;
	}
	if (mbps == 0 || mbps == (uint32_t)SPEED_UNKNOWN)
		ret = -NLE_OBJ_NOTFOUND;
	li->bits_per_s = (uint64_t)mbps * 1000000;
out:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret < 0 ? nl_errno(ret) : 0;
}
