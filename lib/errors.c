// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error messages: every failure in the library is a -errno and a sentence. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

const char *errno_name(int err)
{
	const char *n;

	if (err < 0)
		err = -err;
	n = strerrorname_np(err);
	return n ? n : "E?";
}

int set_errbuf(char *buf, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	if (buf && size) {
		va_start(ap, fmt);
		vsnprintf(buf, size, fmt, ap);
		va_end(ap);
	}
	return err > 0 ? -err : err;
}
