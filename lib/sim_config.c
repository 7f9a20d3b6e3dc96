// SPDX-License-Identifier: LGPL-2.1-or-later
/* sim:KEY=VALUE,... -- every key is documented in vfio-migrate(8). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define KNOWN_KEYS                                                              \
	"size, pattern, seed, dirty, precopy, p2p, end, sizes, faults, check, " \
	"name"

static int parse_bool(const char *key, const char *v, bool *out, char *err,
		      size_t es)
{
	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	return set_errbuf(err, es, EINVAL,
			  "sim: bad %s '%s' (expected on or off)", key, v);
}

static int pick(const char *key, const char *v, const char *const *names,
		const char *list, int *out, char *err, size_t es)
{
	for (int i = 0; names[i]; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	return set_errbuf(err, es, EINVAL, "sim: bad %s '%s' (expected %s)",
			  key, v, list);
}

/* fail:FROM:TO  error:FROM:TO  eio:SIZE  slow:RATE, joined with '+'. */
static int parse_faults(char *v, struct sim_config *cfg, char *err, size_t es)
{
	char *save = NULL, *item, *arg = NULL;
	char sub[128];

	for (item = strtok_r(v, "+", &save); item;
	     item = strtok_r(NULL, "+", &save)) {
		arg = strchr(item, ':');

		if (!arg)
			goto bad;
		*arg++ = '\0';
		if (!strcmp(item, "fail") || !strcmp(item, "error")) {
			char *to = strchr(arg, ':');
			struct sim_arc_fault *f;

			if (!to)
				goto bad_arc;
			*to++ = '\0';
			if (cfg->n_arc_faults == SIM_MAX_FAULTS)
				return set_errbuf(
					err, es, EINVAL,
					"sim: more than %d arc faults",
					SIM_MAX_FAULTS);
			f = &cfg->arc_faults[cfg->n_arc_faults];
			f->from = vfmig_state_parse(arg);
			f->to = vfmig_state_parse(to);
			f->to_error = item[0] == 'e';
			if (f->from <= 0 || f->to <= 0) {
				to[-1] = ':';
				goto bad_arc;
			}
			cfg->n_arc_faults++;
		} else if (!strcmp(item, "eio")) {
			if (vfmig_parse_size(arg, &cfg->eio_after, sub,
					     sizeof(sub)) ||
			    !cfg->eio_after)
				return set_errbuf(
					err, es, EINVAL,
					"sim: bad fault eio:%s (%s)", arg,
					cfg->eio_after ? sub : "must be > 0");
		} else if (!strcmp(item, "slow")) {
			if (vfmig_parse_rate(arg, &cfg->slow_rate, sub,
					     sizeof(sub)) ||
			    !cfg->slow_rate)
				return set_errbuf(
					err, es, EINVAL,
					"sim: bad fault slow:%s (%s)", arg,
					cfg->slow_rate ? sub : "must be > 0");
		} else {
			arg[-1] = ':';
			goto bad;
		}
	}
	return 0;
bad_arc:
	return set_errbuf(
		err, es, EINVAL,
		"sim: bad arc fault '%s' (expected fail:FROM:TO or error:FROM:TO with state names such as pre-copy)",
		arg);
bad:
	return set_errbuf(
		err, es, EINVAL,
		"sim: bad fault '%s' (expected fail:FROM:TO, error:FROM:TO, eio:SIZE or slow:RATE, joined with '+')",
		item);
}

uint32_t sim_config_flags(const struct sim_config *cfg)
{
	return VFMIG_MIGRATION_STOP_COPY |
	       (cfg->p2p ? VFMIG_MIGRATION_P2P : 0) |
	       (cfg->precopy ? VFMIG_MIGRATION_PRE_COPY : 0);
}

static int parse_key(const char *key, char *v, struct sim_config *cfg,
		     char *err, size_t es)
{
	static const char *const patterns[] = { "zero", "random", "fb", "text",
						NULL };
	static const char *const ends[] = { "enomsg", "zero", NULL };
	static const char *const sizes[] = { "exact",  "zero",	"huge",
					     "random", "stale", NULL };
	char sub[160];
	int i = 0, ret;

	if (!strcmp(key, "size")) {
		if (vfmig_parse_size(v, &cfg->size, sub, sizeof(sub)))
			return set_errbuf(err, es, EINVAL, "sim: %s", sub);
		if (!cfg->size || cfg->size % SIM_PAGE ||
		    cfg->size > SIM_MAX_SIZE)
			return set_errbuf(
				err, es, EINVAL,
				"sim: bad size '%s' (a multiple of 4K, at most 64G)",
				v);
	} else if (!strcmp(key, "pattern")) {
		ret = pick(key, v, patterns, "zero, random, fb or text", &i,
			   err, es);
		if (ret)
			return ret;
		cfg->pattern = (enum sim_pattern)i;
	} else if (!strcmp(key, "seed")) {
		char *end;

		errno = 0;
		cfg->seed = strtoull(v, &end, 0);
		if (errno || !*v || *end || *v == '-')
			return set_errbuf(
				err, es, EINVAL,
				"sim: bad seed '%s' (an unsigned number)", v);
	} else if (!strcmp(key, "dirty")) {
		if (vfmig_parse_rate(v, &cfg->dirty_rate, sub, sizeof(sub)))
			return set_errbuf(err, es, EINVAL, "sim: dirty: %s",
					  sub);
	} else if (!strcmp(key, "precopy")) {
		return parse_bool(key, v, &cfg->precopy, err, es);
	} else if (!strcmp(key, "p2p")) {
		return parse_bool(key, v, &cfg->p2p, err, es);
	} else if (!strcmp(key, "check")) {
		return parse_bool(key, v, &cfg->check, err, es);
	} else if (!strcmp(key, "end")) {
		ret = pick(key, v, ends, "enomsg or zero", &i, err, es);
		if (ret)
			return ret;
		cfg->end = (enum sim_end)i;
	} else if (!strcmp(key, "sizes")) {
		ret = pick(key, v, sizes, "exact, zero, huge, random or stale",
			   &i, err, es);
		if (ret)
			return ret;
		cfg->sizes = (enum sim_sizes)i;
	} else if (!strcmp(key, "faults")) {
		return parse_faults(v, cfg, err, es);
	} else if (!strcmp(key, "name")) {
		if (!device_id_valid(v))
			return set_errbuf(
				err, es, EINVAL,
				"sim: bad name '%s' (the device's id: 1 to %d of A-Z a-z 0-9 . _ : -)",
				v, DEVICE_NAME_MAX - 1);
		strcpy(cfg->name, v);
		cfg->named = true;
	} else {
		return set_errbuf(err, es, EINVAL,
				  "sim: unknown key '%s' (known: " KNOWN_KEYS
				  ")",
				  key);
	}
	return 0;
}

int sim_config_parse(const char *args, struct sim_config *cfg, char *err,
		     size_t es)
{
	char *copy, *save = NULL, *item;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->name, "sim");
	cfg->size = 16ull << 20;
	cfg->pattern = SIM_PAT_FB;
	cfg->seed = 1;
	cfg->precopy = true;
	cfg->p2p = true;
	cfg->check = true;
	cfg->end = SIM_END_ENOMSG;
	cfg->sizes = SIM_SIZES_EXACT;

	copy = strdup(args);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq || eq == item) {
			ret = set_errbuf(err, es, EINVAL,
					 "sim: '%s' is not KEY=VALUE", item);
			break;
		}
		*eq = '\0';
		ret = parse_key(item, eq + 1, cfg, err, es);
	}
	free(copy);
	if (ret)
		return ret;

	/* An arc fault must name one arc this device has. */
	for (int i = 0; i < cfg->n_arc_faults; i++) {
		const struct sim_arc_fault *f = &cfg->arc_faults[i];
		uint32_t flags = sim_config_flags(cfg);

		if (vfmig_state_next_hop(flags, f->from, f->to) != f->to ||
		    f->from == f->to)
			return set_errbuf(
				err, es, EINVAL,
				"sim: fault %s:%s:%s is not a single arc of this device",
				f->to_error ? "error" : "fail",
				vfmig_state_name(f->from),
				vfmig_state_name(f->to));
	}
	return 0;
}
