// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-migrate shim: list, inspect and configure vfio_shim devices (our test
 * driver, kmod-shim/) through its generic netlink family, with libnl-genl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "cli.h"
#include "print.h"
#include "vfio_shim_nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s shim list [-j]\n"
		"       %s shim get UUID [-j]\n"
		"       %s shim hash UUID\n"
		"       %s shim set UUID KEY=VALUE...\n"
		"\nInspect and configure vfio_shim devices (kmod-shim/README.md) through the\n"
		"module's netlink family.  'hash' prints the xxh64 of the device's state\n"
		"now; 'get' also shows sent-hash, that of the state its last stream carried.\n"
		"Keys for set (changes need CAP_NET_ADMIN; size, read and precopy only\n"
		"while the device is RUNNING with no migration session):\n"
		"  size=BYTES              state size, 4 KiB multiple, up to 1 GiB\n"
		"  dirty-rate=RATE|off     bytes/s dirtied in RUNNING and PRE_COPY, e.g. 8M/s\n"
		"  end=enomsg|zero         how pre-copy says 'nothing more for now'\n"
		"  read=nonblock|block     reads never wait / wait for data, with .poll\n"
		"  gated=on|off            new pre-copy data only after PRECOPY_INFO\n"
		"  size-report=exact|zero|huge|wrong   PRECOPY_INFO and MIG_DATA_SIZE\n"
		"  precopy=on|off          offer PRE_COPY (off: the stop-copy-only path)\n"
		"  fail=FROM-TO:stay|error the arc FROM->TO fails with EIO; fail=none\n"
		"  eio-after=BYTES|off     save reads fail with EIO after BYTES\n"
		"  corrupt-at=N|off        flip the save stream's byte N (from 1)\n"
		"  arc-delay=MS            each state arc takes MS (a slow device), 0 off\n",
		prog, prog, prog, prog);
}

struct nl {
	struct nl_sock *sk;
	int family;
	int err; /* -errno from the kernel */
	char msg[256]; /* its extended-ack message */
	struct printer *p;
	const char *want; /* get: the device asked for */
	int count;
	uint64_t hash;
};

/* The kernel's error and the family's own message, when it sent one. */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nl *n = arg;
	size_t off = NLMSG_HDRLEN + sizeof(*e);

	(void)nla;
	n->err = e->error;
	n->msg[0] = 0;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	if ((h->nlmsg_flags & NLM_F_ACK_TLVS) && off < h->nlmsg_len) {
		struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

		if (!nla_parse(tb, NLMSGERR_ATTR_MAX,
			       (struct nlattr *)((char *)h + off),
			       (int)(h->nlmsg_len - off), NULL) &&
		    tb[NLMSGERR_ATTR_MSG])
			snprintf(n->msg, sizeof(n->msg), "%s",
				 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	}
	return NL_STOP;
}

static const char *const end_names[] = { "enomsg", "zero" };
static const char *const read_names[] = { "nonblock", "block" };
static const char *const report_names[] = { "exact", "zero", "huge", "wrong" };
static const char *const fail_names[] = { "none", "stay", "error" };

static const char *pick(const char *const *names, size_t n, uint32_t v)
{
	return v < n ? names[v] : "unknown";
}

#define PICK(names, v) pick(names, sizeof(names) / sizeof((names)[0]), v)

static uint64_t u64_of(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

static uint32_t u32_of(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

static int on_device(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[VFIO_SHIM_A_MAX + 1];
	struct nl *n = arg;
	struct printer *p = n->p;
	char fail[64];

	if (nla_parse(tb, VFIO_SHIM_A_MAX, genlmsg_attrdata(g, 0),
		      genlmsg_attrlen(g, 0), NULL) ||
	    !tb[VFIO_SHIM_A_DEV])
		return NL_SKIP;
	n->count++;
	n->hash = u64_of(tb, VFIO_SHIM_A_HASH);
	if (!p)
		return NL_OK;
	if (!n->want) { /* list: one line or object per device */
		if (!p->json) {
			char b[32];

			printf("%s  %-15s  %-12s  %9s  %016llx\n",
			       nla_get_string(tb[VFIO_SHIM_A_DEV]),
			       tb[VFIO_SHIM_A_TYPE] ?
				       nla_get_string(tb[VFIO_SHIM_A_TYPE]) :
				       "-",
			       vfmig_state_name(
				       (int)u32_of(tb, VFIO_SHIM_A_STATE)),
			       human_bytes(u64_of(tb, VFIO_SHIM_A_SIZE), b,
					   sizeof(b)),
			       (unsigned long long)n->hash);
			return NL_OK;
		}
		pr_open_object(p, NULL);
	}
	pr_string(p, "name", "name", nla_get_string(tb[VFIO_SHIM_A_DEV]));
	if (tb[VFIO_SHIM_A_TYPE])
		pr_string(p, "type", "type",
			  nla_get_string(tb[VFIO_SHIM_A_TYPE]));
	pr_string(p, "state", "state",
		  vfmig_state_name((int)u32_of(tb, VFIO_SHIM_A_STATE)));
	pr_bytes(p, "size", "size", u64_of(tb, VFIO_SHIM_A_SIZE));
	pr_hex64(p, "state-hash", "state hash", n->hash);
	pr_hex64(p, "sent-hash", "hash of the state last sent",
		 u64_of(tb, VFIO_SHIM_A_SENT_HASH));
	pr_u64(p, "dirty-rate", "dirty rate (bytes/s)",
	       u64_of(tb, VFIO_SHIM_A_DIRTY_RATE));
	pr_string(p, "precopy", "pre-copy",
		  u32_of(tb, VFIO_SHIM_A_PRECOPY) ? "on" : "off");
	pr_string(p, "end", "pre-copy end",
		  PICK(end_names, u32_of(tb, VFIO_SHIM_A_END)));
	pr_string(p, "read", "reads",
		  PICK(read_names, u32_of(tb, VFIO_SHIM_A_READ)));
	pr_string(p, "gated", "gated by PRECOPY_INFO",
		  u32_of(tb, VFIO_SHIM_A_GATED) ? "on" : "off");
	pr_string(p, "size-report", "size reports",
		  PICK(report_names, u32_of(tb, VFIO_SHIM_A_SIZE_REPORT)));
	if (u32_of(tb, VFIO_SHIM_A_FAIL_MODE))
		snprintf(fail, sizeof(fail), "%s-%s:%s",
			 vfmig_state_name(
				 (int)u32_of(tb, VFIO_SHIM_A_FAIL_FROM)),
			 vfmig_state_name((int)u32_of(tb, VFIO_SHIM_A_FAIL_TO)),
			 PICK(fail_names, u32_of(tb, VFIO_SHIM_A_FAIL_MODE)));
	else
		snprintf(fail, sizeof(fail), "none");
	pr_string(p, "fail", "failing arc", fail);
	pr_u64(p, "arc-delay", "ms per arc", u32_of(tb, VFIO_SHIM_A_ARC_DELAY));
	pr_u64(p, "eio-after", "EIO after (bytes)",
	       u64_of(tb, VFIO_SHIM_A_EIO_AFTER));
	pr_u64(p, "corrupt-at", "corrupt byte",
	       u64_of(tb, VFIO_SHIM_A_CORRUPT_AT));
	pr_open_object(p, "counters");
	pr_u64(p, "saved", "saved (bytes)", u64_of(tb, VFIO_SHIM_A_SAVED));
	pr_u64(p, "loaded", "loaded (bytes)", u64_of(tb, VFIO_SHIM_A_LOADED));
	pr_u64(p, "dirtied", "dirtied (bytes)",
	       u64_of(tb, VFIO_SHIM_A_DIRTIED));
	pr_u64(p, "precopy-info", "PRECOPY_INFO calls",
	       u64_of(tb, VFIO_SHIM_A_INFO_QUERIES));
	pr_u64(p, "transitions", "arcs taken",
	       u64_of(tb, VFIO_SHIM_A_TRANSITIONS));
	pr_u64(p, "resets", "resets", u64_of(tb, VFIO_SHIM_A_RESETS));
	pr_u64(p, "load-errors", "streams refused",
	       u64_of(tb, VFIO_SHIM_A_LOAD_ERRORS));
	pr_close_object(p);
	if (!n->want)
		pr_close_object(p);
	return NL_OK;
}

static int nl_open(struct nl *n)
{
	int one = 1;

	n->sk = nl_socket_alloc();
	if (!n->sk) {
		err_msg("shim: out of memory");
		return -ENOMEM;
	}
	if (genl_connect(n->sk) < 0) {
		err_msg("shim: cannot open a generic netlink socket: %s",
			strerror(errno));
		return -EIO;
	}
	/* the family's own error messages */
	setsockopt(nl_socket_get_fd(n->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	n->family = genl_ctrl_resolve(n->sk, VFIO_SHIM_GENL_NAME);
	if (n->family < 0) {
		err_msg("shim: no '%s' netlink family: the vfio_shim module is not loaded (modprobe vfio_shim, see kmod-shim/README.md)",
			VFIO_SHIM_GENL_NAME);
		return -ENOENT;
	}
	nl_socket_modify_err_cb(n->sk, NL_CB_CUSTOM, on_error, n);
	nl_socket_modify_cb(n->sk, NL_CB_VALID, NL_CB_CUSTOM, on_device, n);
	return 0;
}

/* Send @msg; wait for the replies (a dump's, a get's, or a set's ack). */
static int nl_talk(struct nl *n, struct nl_msg *msg, const char *what, bool ack)
{
	int ret;

	if (ack)
		nl_socket_enable_auto_ack(n->sk);
	else
		nl_socket_disable_auto_ack(n->sk);
	ret = nl_send_auto(n->sk, msg);
	nlmsg_free(msg);
	if (ret >= 0)
		ret = ack ? nl_wait_for_ack(n->sk) : nl_recvmsgs_default(n->sk);
	if (n->err) {
		err_msg("shim: %s: %s (%s)", what,
			n->msg[0] ? n->msg : strerror(-n->err),
			strerror(-n->err));
		return n->err;
	}
	if (ret < 0) {
		err_msg("shim: %s: %s", what, nl_geterror(ret));
		return -EIO;
	}
	return 0;
}

static struct nl_msg *new_msg(struct nl *n, int cmd, int flags, const char *dev)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, n->family, 0, flags,
			 (uint8_t)cmd, VFIO_SHIM_GENL_VERSION) ||
	    (dev && nla_put_string(msg, VFIO_SHIM_A_DEV, dev))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int lookup(const char *text, const char *const *names, size_t n,
		  uint32_t *out)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(text, names[i])) {
			*out = (uint32_t)i;
			return 0;
		}
	return -1;
}

#define LOOKUP(text, names, out) \
	lookup(text, names, sizeof(names) / sizeof((names)[0]), out)

static int on_off(const char *v, uint8_t *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* fail=FROM-TO:stay|error or fail=none; state names hold dashes, so the
 * split is at the dash that leaves two state names. */
static int put_fail(struct nl_msg *msg, const char *v)
{
	const char *colon = strchr(v, ':');
	char from[32], to[32];
	int f = -1, t = -1;
	uint32_t m;

	if (!strcmp(v, "none"))
		return nla_put_u32(msg, VFIO_SHIM_A_FAIL_MODE,
				   VFIO_SHIM_FAIL_NONE) ?
			       -1 :
			       0;
	if (!colon || LOOKUP(colon + 1, fail_names, &m) ||
	    m == VFIO_SHIM_FAIL_NONE)
		return -1;
	for (const char *dash = strchr(v, '-'); dash && dash < colon;
	     dash = strchr(dash + 1, '-')) {
		if (dash - v >= (int)sizeof(from) ||
		    colon - dash - 1 >= (int)sizeof(to))
			continue;
		snprintf(from, sizeof(from), "%.*s", (int)(dash - v), v);
		snprintf(to, sizeof(to), "%.*s", (int)(colon - dash - 1),
			 dash + 1);
		f = vfmig_state_parse(from);
		t = vfmig_state_parse(to);
		if (f >= 0 && t >= 0)
			break;
	}
	if (f < 0 || t < 0)
		return -1;
	return nla_put_u32(msg, VFIO_SHIM_A_FAIL_FROM, (uint32_t)f) ||
			       nla_put_u32(msg, VFIO_SHIM_A_FAIL_TO,
					   (uint32_t)t) ||
			       nla_put_u32(msg, VFIO_SHIM_A_FAIL_MODE, m) ?
		       -1 :
		       0;
}

/* The keys of 'shim set' whose value is one of a list of names, sent as
 * its index. */
struct enum_key {
	const char *key;
	const char *const *names;
	size_t n;
	int attr;
};

#define ENUM_KEY(key, names, attr)                                   \
	{                                                            \
		key, names, sizeof(names) / sizeof((names)[0]), attr \
	}

static const struct enum_key *enum_key(const char *key)
{
	static const struct enum_key keys[] = {
		ENUM_KEY("end", end_names, VFIO_SHIM_A_END),
		ENUM_KEY("read", read_names, VFIO_SHIM_A_READ),
		ENUM_KEY("size-report", report_names, VFIO_SHIM_A_SIZE_REPORT),
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].key))
			return &keys[i];
	return NULL;
}

/* One KEY=VALUE of 'shim set' into @msg; prints why and -1 if bad. */
static int put_setting(struct nl_msg *msg, const char *kv)
{
	const struct enum_key *ek;
	const char *eq = strchr(kv, '=');
	char key[32];
	const char *v;
	uint64_t u;
	uint32_t e;
	uint8_t b;
	int bad = 0;

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		err_msg("shim set: '%s' is not KEY=VALUE", kv);
		return -1;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	v = eq + 1;
	if (!strcmp(key, "size")) {
		if (size_arg("shim set: size", v, &u, false))
			return -1;
		bad = nla_put_u64(msg, VFIO_SHIM_A_SIZE, u);
	} else if (!strcmp(key, "dirty-rate")) {
		u = 0; /* "0" or "off": no workload */
		if (strcmp(v, "0") && strcmp(v, "off") &&
		    size_arg("shim set: dirty-rate", v, &u, true))
			return -1;
		bad = nla_put_u64(msg, VFIO_SHIM_A_DIRTY_RATE, u);
	} else if ((ek = enum_key(key))) {
		bad = lookup(v, ek->names, ek->n, &e) ||
		      nla_put_u32(msg, ek->attr, e);
	} else if (!strcmp(key, "gated")) {
		bad = on_off(v, &b) || nla_put_u8(msg, VFIO_SHIM_A_GATED, b);
	} else if (!strcmp(key, "precopy")) {
		bad = on_off(v, &b) || nla_put_u8(msg, VFIO_SHIM_A_PRECOPY, b);
	} else if (!strcmp(key, "arc-delay")) {
		char *end;
		unsigned long ms = strtoul(v, &end, 10);

		bad = !*v || *end || ms > 10000 ||
		      nla_put_u32(msg, VFIO_SHIM_A_ARC_DELAY, (uint32_t)ms);
	} else if (!strcmp(key, "fail")) {
		bad = put_fail(msg, v);
	} else if (!strcmp(key, "eio-after") || !strcmp(key, "corrupt-at")) {
		u = 0;
		if (strcmp(v, "off") && size_arg(key, v, &u, false))
			return -1;
		bad = nla_put_u64(msg,
				  key[0] == 'e' ? VFIO_SHIM_A_EIO_AFTER :
						  VFIO_SHIM_A_CORRUPT_AT,
				  u);
	} else {
		err_msg("shim set: unknown key '%s' (see '%s shim -h')", key,
			prog);
		return -1;
	}
	if (bad) {
		err_msg("shim set: bad value '%s' for %s (see '%s shim -h')", v,
			key, prog);
		return -1;
	}
	return 0;
}

int cmd_shim(int argc, char **argv)
{
	struct nl n = { 0 };
	struct printer p;
	const char *sub, *dev = NULL;
	bool json = false;
	struct nl_msg *msg;
	int ret, first = 2;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "list") && strcmp(sub, "get") && strcmp(sub, "hash") &&
	    strcmp(sub, "set")) {
		err_msg("shim: unknown subcommand '%s' (list, get, hash, set)",
			sub);
		return EXIT_USAGE;
	}
	if (strcmp(sub, "list")) {
		if (argc < 3 || argv[2][0] == '-') {
			err_msg("shim %s: which device? (a UUID, as 'shim list' shows)",
				sub);
			return EXIT_USAGE;
		}
		dev = argv[2];
		first = 3;
	}
	for (int i = first; i < argc && strcmp(sub, "set"); i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else {
			err_msg("shim %s: unexpected argument '%s'", sub,
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!strcmp(sub, "set") && argc <= first) {
		err_msg("shim set: nothing to set (KEY=VALUE...)");
		return EXIT_USAGE;
	}
	ret = nl_open(&n);
	if (ret < 0) {
		nl_socket_free(n.sk);
		return EXIT_FAILED;
	}
	pr_init(&p, stdout, json);
	if (!strcmp(sub, "set")) {
		msg = new_msg(&n, VFIO_SHIM_CMD_SET, 0, dev);
		for (int i = first; msg && i < argc; i++)
			if (put_setting(msg, argv[i])) {
				nlmsg_free(msg);
				nl_socket_free(n.sk);
				return EXIT_USAGE;
			}
		ret = msg ? nl_talk(&n, msg, dev, true) : -ENOMEM;
	} else if (!strcmp(sub, "list")) {
		n.p = &p;
		if (json)
			pr_open_array(&p, NULL, NULL);
		msg = new_msg(&n, VFIO_SHIM_CMD_GET, NLM_F_DUMP, NULL);
		ret = msg ? nl_talk(&n, msg, "list", false) : -ENOMEM;
		if (json)
			pr_close_array(&p);
		if (!ret && !n.count && !json)
			fprintf(stderr,
				"%s: no vfio_shim devices (create one: see kmod-shim/README.md)\n",
				prog);
	} else {
		n.want = dev;
		n.p = strcmp(sub, "hash") ? &p : NULL;
		if (n.p)
			pr_open_object(&p, NULL);
		msg = new_msg(&n, VFIO_SHIM_CMD_GET, 0, dev);
		ret = msg ? nl_talk(&n, msg, dev, false) : -ENOMEM;
		if (n.p)
			pr_close_object(&p);
		if (!ret && !n.p)
			printf("%016llx\n", (unsigned long long)n.hash);
	}
	if (ret == -ENOMEM && !n.err)
		err_msg("shim: out of memory");
	if (!ret && (json || strcmp(sub, "list")) && n.p)
		pr_end(&p);
	nl_socket_free(n.sk);
	return ret ? EXIT_FAILED : EXIT_OK;
}
