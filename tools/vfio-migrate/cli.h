/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vfio-migrate: what the command files share. */
#ifndef VFIO_MIGRATE_CLI_H
#define VFIO_MIGRATE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vfmig.h"

/* Exit statuses (vfio-migrate(8)). */
#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_LEAK 3 /* VFMIG_CHECK_LEAKS=1 found an fd or a thread left */

extern const char *prog;

int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_shim(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* "vfio-migrate: <message>" on stderr. */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open @spec; on failure print why and return the exit status to use. */
int open_device(const char *spec, struct vfmig_device **out);

/* A size (or with @rate, a rate) option; prints "@what: reason" and
 * returns -1 when @text is bad. */
int size_arg(const char *what, const char *text, uint64_t *out, bool rate);

/* A time in ms (vfmig_parse_time(): a bare number in @unit_ms, or with
 * ms, s, m, h) within [@min_ms, @max_ms]: as size_arg(). */
int time_arg(const char *what, const char *text, uint64_t unit_ms,
	     uint64_t min_ms, uint64_t max_ms, uint64_t *out);
/* A wire/raw ratio in (0, 2]: as size_arg(). */
int ratio_arg(const char *what, const char *text, double *out);

/* -V output. */
int print_version(void);

/* The sim keys, for -h texts. */
extern const char sim_keys_help[];

#endif
