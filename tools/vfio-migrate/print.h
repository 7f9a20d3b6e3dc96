/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One printer for text and JSON: each field is emitted once, with a JSON key
 * and a text label, so the two formats cannot drift apart.
 */
#ifndef VFIO_MIGRATE_PRINT_H
#define VFIO_MIGRATE_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PR_MAX_DEPTH 16

struct printer {
	FILE *out;
	bool json;
	bool compact; /* one line: NDJSON records */
	int depth;
	bool need_comma[PR_MAX_DEPTH];
	bool in_array[PR_MAX_DEPTH];
};

void pr_init(struct printer *p, FILE *out, bool json);
void pr_open_object(struct printer *p, const char *key);
void pr_close_object(struct printer *p);
void pr_open_array(struct printer *p, const char *key, const char *label);
void pr_close_array(struct printer *p);
void pr_string(struct printer *p, const char *key, const char *label,
	       const char *value);
void pr_u64(struct printer *p, const char *key, const char *label,
	    uint64_t value);
/* A byte count: JSON a number, text "N bytes (1.5 GiB)". */
void pr_bytes(struct printer *p, const char *key, const char *label,
	      uint64_t value);
void pr_double(struct printer *p, const char *key, const char *label,
	       double value, int decimals);
void pr_hex64(struct printer *p, const char *key, const char *label,
	      uint64_t value);
void pr_null(struct printer *p, const char *key, const char *label,
	     const char *text);
/* JSON true or false; text @text. */
void pr_bool(struct printer *p, const char *key, const char *label, bool value,
	     const char *text);
/* Finish the document (JSON: a newline after the top-level value). */
/* A JSON printer writing one line per top-level value. */
void pr_init_ndjson(struct printer *p, FILE *out);
/* The estimate's figures (vfio-migrate estimate, send's report and its
 * progress records); @ret as vfmig_stats_estimate() returned. */
struct vfmig_estimate;
void pr_estimate(struct printer *p, const struct vfmig_estimate *e, int ret,
		 uint64_t limit_ms);
void pr_end(struct printer *p);

/* "1.5 GiB" */
const char *human_bytes(uint64_t v, char *buf, size_t size);

#endif
