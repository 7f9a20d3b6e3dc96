// SPDX-License-Identifier: GPL-2.0-or-later
/* The history file: entries found by kind of device, runs averaged, other
 * kinds kept, a foreign file refused and left as it was. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vfmig-history-XXXXXX");
	cr_assert(mkdtemp(dir));
	/* a directory that does not exist yet: put() makes it */
	snprintf(path, sizeof(path), "%s/state/vfio-migrate/history", dir);
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static struct history_entry entry(const char *backend, const char *ident,
				  double ratio, double ns, uint64_t stop_us)
{
	struct history_entry e = { .ratio = ratio,
				   .codec_ns = ns,
				   .stop_us = stop_us };

	history_key(e.key, backend, ident);
	return e;
}

/* @key's entry of @p into @e: 1, 0 when there is none, or -errno. */
static int get(const char *p, const char *key, struct history_entry *e,
	       char *err, size_t es)
{
	struct history_entry *all;
	const struct history_entry *found;
	int n = history_read(p, &all, err, es);

	found = n > 0 ? history_find(all, (unsigned)n, key) : NULL;
	if (found)
		*e = *found;
	free(all);
	return n < 0 ? n : found != NULL;
}

TestSuite(history, .init = setup, .fini = teardown);

Test(history, runs_are_averaged_per_kind)
{
	struct history_entry in[2] = {
		entry("vfio", "mlx5_vfio_pci", 0.5, 2.0, 1000),
		entry("sim", "sim size=1048576", 0.2, 1.0, 10),
	};
	struct history_entry e;
	char key[HISTORY_KEY_MAX], err[256] = "";

	history_key(key, "vfio", "mlx5_vfio_pci");
	cr_expect_eq(get(path, key, &e, err, sizeof(err)), 0,
		     "no file yet: nothing, and no error (%s)", err);
	cr_assert_eq(history_put(path, in, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(get(path, key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.ratio, 0.5, 1e-4);
	cr_expect_eq(e.stop_us, 1000);
	cr_expect_eq(e.runs, 1);
	/* a second run of one kind: the mean of both; nothing compressed
	 * (ratio 0) keeps the ratio it had */
	in[0] = entry("vfio", "mlx5_vfio_pci", 0.3, 0, 3000);
	cr_assert_eq(history_put(path, in, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(get(path, key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.ratio, 0.4, 1e-4);
	cr_expect_float_eq(e.codec_ns, 2.0, 1e-3);
	cr_expect_eq(e.stop_us, 2000);
	cr_expect_eq(e.runs, 2);
	in[0] = entry("vfio", "mlx5_vfio_pci", 0, 0, 0);
	cr_assert_eq(history_put(path, in, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(get(path, key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.ratio, 0.4, 1e-4, "nothing measured: kept");
	/* the other kind is still there, and its identity is its own */
	history_key(key, "sim", "sim size=1048576");
	cr_assert_eq(get(path, key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.ratio, 0.2, 1e-4);
	history_key(key, "sim", "sim size=2097152");
	cr_expect_eq(get(path, key, &e, err, sizeof(err)), 0);
}

Test(history, a_foreign_file_is_refused_and_kept)
{
	struct history_entry in = entry("sim", "x", 0.5, 1, 1);
	char err[256] = "", buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/notes", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("my notes\n", f);
	fclose(f);
	cr_expect_eq(history_put(path, &in, 1, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not a vfio-migrate history file"), "%s", err);
	f = fopen(path, "r");
	cr_assert(f);
	cr_expect(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_expect_str_eq(buf, "my notes\n", "the file is left as it was");
	cr_expect_eq(get(path, in.key, &in, err, sizeof(err)), -EINVAL);
}

Test(history, garbage_fields_are_ignored)
{
	struct history_entry e;
	char key[HISTORY_KEY_MAX], err[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/history", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("# vfio-migrate history 1\n"
	      "sim\ta\tratio=nan\tcodec-ns=-4\tstop-us=12\tfuture=1\truns=2\n"
	      "no-tab-here\n"
	      "sim\tb\tratio=9\n",
	      f);
	fclose(f);
	history_key(key, "sim", "a");
	cr_assert_eq(get(path, key, &e, err, sizeof(err)), 1);
	cr_expect_eq(e.ratio, 0, "NaN is no ratio");
	cr_expect_eq(e.codec_ns, 0, "nor a negative cost");
	cr_expect_eq(e.stop_us, 12);
	cr_expect_eq(e.runs, 2);
	history_key(key, "sim", "b");
	cr_assert_eq(get(path, key, &e, err, sizeof(err)), 1);
	cr_expect_eq(e.ratio, 0, "a ratio over 2 is none");
}

Test(history, stop_copy_rates_round_trip_and_average)
{
	struct history_entry in = entry("sim", "s", 0.5, 1, 10), e;
	char err[256] = "";
	FILE *f;

	/* a file of a version before stop-load: the rate is unknown */
	snprintf(path, sizeof(path), "%s/history", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("# vfio-migrate history 1\n"
	      "sim\ts\tratio=0.5\tstop-read=100000000\truns=1\n",
	      f);
	fclose(f);
	cr_assert_eq(get(path, in.key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.read_rate, 1e8, 1);
	cr_expect_eq(e.load_rate, 0);
	/* a run that measured both: the read averaged, the load its own */
	in.read_rate = 300000000;
	in.load_rate = 50000000;
	cr_assert_eq(history_put(path, &in, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(get(path, in.key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.read_rate, 2e8, 1);
	cr_expect_float_eq(e.load_rate, 5e7, 1);
	/* one that loaded nothing measurable keeps it */
	in.load_rate = 0;
	cr_assert_eq(history_put(path, &in, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(get(path, in.key, &e, err, sizeof(err)), 1);
	cr_expect_float_eq(e.load_rate, 5e7, 1);
	cr_expect_eq(e.runs, 3);
}
