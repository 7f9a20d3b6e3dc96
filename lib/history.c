// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The history file (history.h).  Its format, one line per kind of device:
 *
 *   # vfio-migrate history 1
 *   BACKEND<tab>IDENTITY<tab>ratio=R<tab>codec-ns=N<tab>stop-us=U<tab>
 *   stop-read=B<tab>stop-load=L<tab>runs=K
 *
 * Unknown fields are skipped, so a later version may add some.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "errors.h"

#define MAGIC "# vfio-migrate history 1"
#define LINE_MAX_LEN 512
#define ENTRIES_MAX 1024
#define RUNS_WEIGHT 3 /* a new run counts a quarter against 3 or more */

void history_key(char key[HISTORY_KEY_MAX], const char *backend,
		 const char *identity)
{
	snprintf(key, HISTORY_KEY_MAX, "%s\t%s", backend ? backend : "",
		 identity ? identity : "");
}

/* One "name=value" field into @e; unknown names are skipped. */
static void parse_field(char *f, struct history_entry *e)
{
	char *v = strchr(f, '=');
	double d;

	if (!v)
		return;
	*v++ = '\0';
	d = strtod(v, NULL);
	if (!(d >= 0 && d < 1e12)) /* NaN too */
		return;
	if (!strcmp(f, "ratio") && d <= 2)
		e->ratio = d;
	else if (!strcmp(f, "codec-ns"))
		e->codec_ns = d;
	else if (!strcmp(f, "stop-us"))
		e->stop_us = (uint64_t)d;
	else if (!strcmp(f, "stop-read"))
		e->read_rate = d;
	else if (!strcmp(f, "stop-load"))
		e->load_rate = d;
	else if (!strcmp(f, "runs"))
		e->runs = d > 1e6 ? 1000000u : (unsigned)d;
}

/* A line into @e: false when it is not an entry. */
static bool parse_line(char *line, struct history_entry *e)
{
	char *save = NULL, *backend, *ident, *f;

	line[strcspn(line, "\n")] = '\0';
	if (line[0] == '#' || !line[0])
		return false;
	memset(e, 0, sizeof(*e));
	backend = strtok_r(line, "\t", &save);
	ident = strtok_r(NULL, "\t", &save);
	if (!backend || !ident)
		return false;
	history_key(e->key, backend, ident);
	while ((f = strtok_r(NULL, "\t", &save)))
		parse_field(f, e);
	return true;
}

/* Every entry of @path into @out (at most @max): a count, 0 when there is
 * no file, or -errno. */
static int load(const char *path, struct history_entry *out, unsigned max,
		char *err, size_t es)
{
	char line[LINE_MAX_LEN];
	unsigned n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ?
			       0 :
			       set_errbuf(err, es, errno, "history %s: %s",
					  path, errno_name(errno));
	if (!fgets(line, sizeof(line), f) ||
	    strncmp(line, MAGIC, strlen(MAGIC))) {
		fclose(f);
		return set_errbuf(
			err, es, EINVAL,
			"history %s: not a vfio-migrate history file (its first line is not '%s')",
			path, MAGIC);
	}
	while (n < max && fgets(line, sizeof(line), f))
		if (parse_line(line, &out[n]))
			n++;
	fclose(f);
	return (int)n;
}

int history_read(const char *path, struct history_entry **out, char *err,
		 size_t es)
{
	struct history_entry *all = calloc(ENTRIES_MAX, sizeof(*all));
	int n;

	*out = NULL;
	if (!all)
		return set_errbuf(err, es, ENOMEM, "history: out of memory");
	n = load(path, all, ENTRIES_MAX, err, es);
	if (n > 0)
		*out = all;
	else
		free(all);
	return n;
}

const struct history_entry *history_find(const struct history_entry *e,
					 unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(e[i].key, key))
			return &e[i];
	return NULL;
}

/* @old's figure and a new one, each a running mean over the last runs. */
static double blend(double old, unsigned runs, double now)
{
	unsigned w = runs < RUNS_WEIGHT ? runs : RUNS_WEIGHT;

	if (now <= 0)
		return old;
	if (old <= 0 || !w)
		return now;
	return (old * w + now) / (w + 1);
}

static void merge(struct history_entry *all, unsigned *n,
		  const struct history_entry *e)
{
	struct history_entry *o =
		(struct history_entry *)history_find(all, *n, e->key);

	if (!o) {
		if (*n == ENTRIES_MAX) /* full: the oldest line makes room */
			memmove(all, all + 1, --*n * sizeof(*all));
		o = &all[(*n)++];
		*o = *e;
		o->runs = 1;
		return;
	}
	o->ratio = blend(o->ratio, o->runs, e->ratio);
	o->codec_ns = blend(o->codec_ns, o->runs, e->codec_ns);
	o->stop_us = (uint64_t)blend((double)o->stop_us, o->runs,
				     (double)e->stop_us);
	o->read_rate = blend(o->read_rate, o->runs, e->read_rate);
	o->load_rate = blend(o->load_rate, o->runs, e->load_rate);
	o->runs++;
}

/* mkdir -p of @path's directory */
static int make_dirs(const char *path, char *err, size_t es)
{
	char dir[4096];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return set_errbuf(err, es, ENAMETOOLONG, "history %s: %s", path,
				  errno_name(ENAMETOOLONG));
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return set_errbuf(err, es, errno,
					  "history %s: cannot create %s: %s",
					  path, dir, errno_name(errno));
		*p = '/';
	}
	return 0;
}

static int write_all(const char *path, const struct history_entry *all,
		     unsigned n, char *err, size_t es)
{
	char tmp[4200];
	FILE *f;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return set_errbuf(err, es, errno, "history %s: %s", tmp,
				  errno_name(errno));
	fprintf(f, "%s\n", MAGIC);
	for (unsigned i = 0; i < n; i++)
		fprintf(f,
			"%s\tratio=%.4f\tcodec-ns=%.3f\tstop-us=%llu\tstop-read=%.0f\tstop-load=%.0f\truns=%u\n",
			all[i].key, all[i].ratio, all[i].codec_ns,
			(unsigned long long)all[i].stop_us, all[i].read_rate,
			all[i].load_rate, all[i].runs);
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return set_errbuf(err, es, -ret, "history %s: %s", path,
				  errno_name(-ret));
	}
	return 0;
}

int history_put(const char *path, const struct history_entry *e, unsigned n,
		char *err, size_t es)
{
	struct history_entry *all = calloc(ENTRIES_MAX, sizeof(*all));
	int have, ret;
	unsigned count;

	if (!all)
		return set_errbuf(err, es, ENOMEM, "history: out of memory");
	have = load(path, all, ENTRIES_MAX, err, es);
	ret = have < 0 ? have : make_dirs(path, err, es);
	if (!ret) {
		count = (unsigned)have;
		for (unsigned i = 0; i < n; i++)
			merge(all, &count, &e[i]);
		ret = write_all(path, all, count, err, es);
	}
	free(all);
	return ret;
}
