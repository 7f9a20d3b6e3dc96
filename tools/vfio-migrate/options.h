/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A mistyped option or command: one line saying what, the nearest known
 * name, and where the help is; never the whole usage. */
#ifndef VFIO_MIGRATE_OPTIONS_H
#define VFIO_MIGRATE_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

/* getopt_long() returned '?' or ':' for @cmd ("send"), called with
 * opterr = 0 and a short-option string starting with ':': say which
 * option and what is wrong.  Returns EXIT_USAGE. */
int opt_error(const char *cmd, const struct option *opts, char **argv, int ret);
/* What every command's getopt loop does with an option of no command's
 * own: -h prints @usage (EXIT_OK), -V the version, anything else is
 * opt_error()'s. */
int opt_common(const char *cmd, const struct option *opts, char **argv, int c,
	       void (*usage)(FILE *));
/* After getopt_long(): EXIT_USAGE, saying so, when an operand is left
 * (@cmd takes none); else 0. */
int opt_no_operands(const char *cmd, int argc, char **argv);
/* The name in @names (NULL-terminated) nearest to @typed, or NULL when
 * none is near enough to be what was meant. */
const char *opt_nearest(const char *typed, const char *const *names);

#endif
