/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFMIG_LIB_HISTORY_H
#define VFMIG_LIB_HISTORY_H

#include <stddef.h>
#include <stdint.h>

/*
 * What earlier migrations measured per kind of device, for the estimate of
 * the next one (Documentation/stats.md, "History"): a text file of one line
 * per kind, rewritten whole through a temporary file and rename(), so a
 * reader sees the old file or the new one.  Two sources that end at once:
 * the last one's rename wins, and the other's figures are lost, not mixed.
 */
#define HISTORY_KEY_MAX 192

struct history_entry {
	char key[HISTORY_KEY_MAX]; /* backend, a tab, identity */
	double ratio; /* wire/raw of what the codec compressed; 0: unknown */
	double codec_ns; /* the codec's ns per raw byte; 0: unknown */
	uint64_t stop_us; /* the device's transition into STOP_COPY */
	double read_rate; /* its stop-copy data read, bytes/s; 0: unknown */
	double load_rate; /* loaded there in stop-copy, bytes/s; 0: unknown */
	unsigned runs; /* migrations averaged in */
};

/* The key of a device of @backend with @identity. */
void history_key(char key[HISTORY_KEY_MAX], const char *backend,
		 const char *identity);
/* Every entry of @path into *@out, which the caller frees: a count, 0
 * when there is no file (*@out NULL), -errno when it cannot be read or
 * is not a history file (the reason in @err). */
int history_read(const char *path, struct history_entry **out, char *err,
		 size_t es);
/* @key's entry among the @n of @e, or NULL. */
const struct history_entry *history_find(const struct history_entry *e,
					 unsigned n, const char *key);
/* Average @n measured entries into @path's (each over its last few
 * runs), keep the others, and replace the file.  0 or -errno. */
int history_put(const char *path, const struct history_entry *e, unsigned n,
		char *err, size_t es);

#endif
