// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpus.h"
#include "vfmig.h"

/* A CPU number at *@p, moved past it; -1 if there is none. */
static long cpu_number(const char **p)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -1;
	v = strtol(*p, &end, 10);
	*p = end;
	return v < CPU_SETSIZE ? v : -1;
}

static int bad(char *err, size_t es, const char *text, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(char *err, size_t es, const char *text, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, es, "cpus '%s': ", text);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < es)
		n += vsnprintf(err + n, es - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < es)
		snprintf(err + n, es - (size_t)n,
			 " (expected a list such as 0-3,8)");
	return -EINVAL;
}

int cpus_parse(const char *text, cpu_set_t *set, char *err, size_t es)
{
	const char *p = text;
	cpu_set_t allowed;

	CPU_ZERO(set);
	if (!*p)
		return bad(err, es, text, "no CPU");
	while (*p) {
		const char *at = p;
		long lo = cpu_number(&p), hi = lo;

		if (lo < 0)
			return bad(err, es, text, "'%s' is not a CPU number",
				   at);
		if (*p == '-') {
			at = ++p;
			hi = cpu_number(&p);
			if (hi < 0)
				return bad(err, es, text,
					   "'%s' is not a CPU number", at);
			if (hi < lo)
				return bad(err, es, text,
					   "%ld-%ld runs backwards", lo, hi);
		}
		if (*p && *p != ',')
			return bad(err, es, text, "'%c' where a ',' belongs",
				   *p);
		if (*p)
			p++;
		for (long c = lo; c <= hi; c++)
			CPU_SET((int)c, set);
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return 0; /* cannot tell: the threads' start will */
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set) && !CPU_ISSET(c, &allowed)) {
			snprintf(
				err, es,
				"cpus '%s': CPU %d is not one this process may run on (%d of them are)",
				text, c, CPU_COUNT(&allowed));
			return -EINVAL;
		}
	return 0;
}

int cpus_of_opts(const struct vfmig_stream_opts *o, cpu_set_t *set,
		 bool *pinned, char *err, size_t es)
{
	*pinned = o->size >= offsetof(struct vfmig_stream_opts, cpus) +
				     sizeof(o->cpus) &&
		  o->cpus;
	return *pinned ? cpus_parse(o->cpus, set, err, es) : 0;
}
