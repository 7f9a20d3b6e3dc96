/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-migrate bench: the shell pipelines ours is compared with, on the
 * devices' own bytes: cat | nc (a copy over one TCP stream) and
 * zstd -1 -T2 | nc | zstd -d (what anyone would try first).
 */
#ifndef VFIO_MIGRATE_BENCH_BASELINE_H
#define VFIO_MIGRATE_BENCH_BASELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "vfmig.h"

/* The devices' raw streams, back to back, in a tmpfs file named in
 * @path (@len bytes): 0, or -1 with nothing left behind. */
int baseline_stream_file(struct vfmig_device **src, unsigned n, char *path,
			 size_t len);
/* Seconds to move @path over loopback TCP through zstd -1 -T2 | nc |
 * zstd -d (@compress) or cat | nc, or -1 (said on stderr). */
double baseline_pipeline(const char *path, bool compress);

#endif
