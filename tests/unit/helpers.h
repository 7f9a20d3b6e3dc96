/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the unit tests. */
#ifndef VFMIG_TEST_HELPERS_H
#define VFMIG_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfmig.h"

/* A growable byte buffer holding a saved stream. */
struct blob {
	unsigned char *data;
	size_t len, cap;
};

void blob_append(struct blob *b, const void *p, size_t n);
void blob_free(struct blob *b);

/* Open @spec or fail the test with the library's message. */
struct vfmig_device *open_ok(const char *spec);
/* Open @spec expecting @err; returns the message. */
const char *open_fails(const char *spec, int err);

/*
 * Save @dev's whole stream: PRE_COPY rounds (if offered) until the
 * device reports little left or @max_rounds, then STOP_COPY to the end.
 * Reads in pieces of @chunk bytes.  Returns 0 or -errno.
 */
int save_stream(struct vfmig_device *dev, struct blob *out, size_t chunk,
		int max_rounds);
/* Resume @dev from @len bytes, written in pieces of @chunk; 0 or -errno. */
int load_stream(struct vfmig_device *dev, const void *data, size_t len,
		size_t chunk);

/* Read what the fd has now; returns bytes read, stops at 0 / EAGAIN /
 * ENOMSG and stores the ending read's result (0 or -errno) in *end. */
size_t read_now(int fd, struct blob *out, size_t chunk, int *end);

/* A TCP listener on 127.0.0.1 that never accepts by itself (connect()
 * succeeds, nothing is answered); its URI in @uri. */
int mute_listener(char *uri, size_t n);
/* A source's first connection on @lfd, once its HELLO came (bounded):
 * from then on the source waits for an ACCEPT that never comes. */
int hello_seen(int lfd);

uint64_t hash_of(struct vfmig_device *dev);
double now_s(void);

#endif
