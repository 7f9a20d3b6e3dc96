/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFMIG_LIB_ERRORS_H
#define VFMIG_LIB_ERRORS_H

#include <stddef.h>

/* "EINVAL" for EINVAL or -EINVAL (the errno's symbolic name). */
const char *errno_name(int err);

/* Write a message into a caller's buffer (NULL-safe); returns -|err|. */
int set_errbuf(char *buf, size_t size, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
