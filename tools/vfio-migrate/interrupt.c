// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handler only writes: a note to stderr and the library's cancel
 * eventfd (both async-signal-safe).  Recovery runs in the migration's own
 * thread, where the library returns the devices to RUNNING or resets
 * them; a second signal while that runs is noted and ignored, since
 * recovery is short and must finish.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "interrupt.h"

static volatile sig_atomic_t caught;
static struct vfmig_source *volatile src;
static struct vfmig_sink *volatile snk;
static bool is_source;

static void say(const char *a, const char *b)
{
	/* strlen is async-signal-safe (POSIX.1-2008 TC2) */
	if (write(STDERR_FILENO, a, strlen(a)) < 0 ||
	    write(STDERR_FILENO, b, strlen(b)) < 0) {
		/* nowhere to say it */
	}
}

static const char *sig_name(int sig)
{
	return sig == SIGINT  ? "vfio-migrate: SIGINT" :
	       sig == SIGTERM ? "vfio-migrate: SIGTERM" :
				"vfio-migrate: SIGHUP";
}

static void on_signal(int sig)
{
	int saved = errno;

	if (caught) {
		say(sig_name(sig),
		    " again: ignored while the devices recover (it is short)\n");
		errno = saved;
		return;
	}
	caught = sig;
	say(sig_name(sig),
	    is_source ?
		    ": cancelling the migration; the devices go back to RUNNING\n" :
		    ": cancelling the migration; the devices are reset, nothing is loaded\n");
	if (src)
		vfmig_source_cancel(src);
	if (snk)
		vfmig_sink_cancel(snk);
	errno = saved;
}

void intr_install(bool source)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	is_source = source;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void intr_watch(struct vfmig_source *s, struct vfmig_sink *k)
{
	src = s;
	snk = k;
	/* a signal between the handle's making and here */
	if (caught && s)
		vfmig_source_cancel(s);
	if (caught && k)
		vfmig_sink_cancel(k);
}

int intr_signal(void)
{
	return caught;
}

int intr_status(int ret, int status)
{
	return ret < 0 && caught ? 128 + caught : status;
}
