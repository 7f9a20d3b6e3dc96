/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What source and sink share outside their event loops: blocking frame I/O
 * with timeouts (handshake, last words), and the manifest.
 */
#ifndef VFMIG_LIB_SESSION_H
#define VFMIG_LIB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "util.h"
#include "vfmig.h"
#include "wire.h"

/* Defaults of struct vfmig_stream_opts, the same at both ends. */
#define SESSION_DEFAULT_MEMORY (64ull << 20)
#define SESSION_DEFAULT_TIMEOUT_MS 30000
/* a destination's bound on a pre-copy (the source's own gives up at 120 s) */
#define SESSION_DEFAULT_PRECOPY_MAX_MS (600ull * 1000)
#define SESSION_DEFAULT_DOWNTIME_LIMIT_MS VFMIG_DOWNTIME_LIMIT_DEFAULT_MS

/* What the source tells the destination about its devices. */
void manifest_build(struct vfmig_device *const *devs, unsigned n,
		    struct wire_device *out);
/* Devices are matched by id: -EINVAL naming two of @devs that share one. */
int manifest_ids_unique(struct vfmig_device *const *devs, unsigned n, char *why,
			size_t why_size);
/* The destination's check: every id on both sides, once, and kind and
 * identity per matched pair; @map[i] is the local device of the
 * source's device i. */
int manifest_check(const struct wire_device *got, int n,
		   struct vfmig_device *const *devs, unsigned ndev,
		   unsigned *map, char *why, size_t why_size);

/* A 128-bit random session id. */
void session_id(uint8_t id[16]);

/* Add @x's byte and frame counts to @sum. */
void transfer_add(struct vfmig_transfer *sum, const struct vfmig_transfer *x);

#endif
