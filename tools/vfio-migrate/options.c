// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"

/* Edits (insert, delete, replace, swap two neighbours) from @a to @b. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[64][64];

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

const char *opt_nearest(const char *typed, const char *const *names)
{
	const char *best = NULL;
	size_t bd = (size_t)-1, limit = strlen(typed) / 3 + 1;

	for (; *names; names++) {
		size_t dd = distance(typed, *names);

		/* a prefix of a name, or a few edits from it */
		if (!strncmp(*names, typed, strlen(typed)))
			dd = 1;
		if (dd < bd) {
			bd = dd;
			best = *names;
		}
	}
	return bd <= (limit > 3 ? 3 : limit) ? best : NULL;
}

int opt_error(const char *cmd, const struct option *opts, char **argv, int ret)
{
	const char *names[128];
	char typed[64];
	const char *near;
	size_t n = 0;

	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (!strncmp(arg, "--", 2)) /* a long one, without its =value */
		snprintf(typed, sizeof(typed), "%.*s", (int)strcspn(arg, "="),
			 arg);
	else /* a short one, maybe in a group (-jx) */
		snprintf(typed, sizeof(typed), "-%c", optopt);
	if (ret == ':') {
		err_msg("%s: option '%s' needs a value (try '%s %s -h')", cmd,
			typed, prog, cmd);
		return EXIT_USAGE;
	}
	for (const struct option *o = opts; o->name && n < 127; o++)
		names[n++] = o->name;
	names[n] = NULL;
	near = !strncmp(typed, "--", 2) ? opt_nearest(typed + 2, names) : NULL;
	if (near)
		err_msg("%s: unknown option '%s'; did you mean '--%s'? (try '%s %s -h')",
			cmd, typed, near, prog, cmd);
	else
		err_msg("%s: unknown option '%s' (try '%s %s -h')", cmd, typed,
			prog, cmd);
	return EXIT_USAGE;
}

int opt_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind >= argc)
		return 0;
	err_msg("%s: unexpected argument '%s'", cmd, argv[optind]);
	return EXIT_USAGE;
}

int opt_common(const char *cmd, const struct option *opts, char **argv, int c,
	       void (*usage)(FILE *))
{
	if (c == 'h') {
		usage(stdout);
		return EXIT_OK;
	}
	if (c == 'V')
		return print_version();
	return opt_error(cmd, opts, argv, c);
}
