/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Time and fd helpers, below everything else in lib/ (channel.c, tls.c and
 * session.c wait with them).
 */
#ifndef VFMIG_LIB_IO_H
#define VFMIG_LIB_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t now_ms(void);
uint64_t now_us(void);

/* Wait for @events on @fd until @deadline (now_ms()): 0 or -errno,
 * -ETIMEDOUT past it, -ECANCELED once @cancel (an eventfd, or -1) is
 * readable. */
int io_wait(int fd, short events, int cancel, uint64_t deadline);
/* Whether @cancel (an eventfd, or -1) has been signalled; it stays so. */
bool io_cancelled(int cancel);
/* Signal @cancel: async-signal-safe (a write to an eventfd).  0 or
 * -errno. */
int io_cancel(int cancel);

/* All of @len bytes to @fd (a socket, or a file) by @deadline. */
int io_send_all(int fd, const void *p, size_t len, int cancel,
		uint64_t deadline);

#endif
