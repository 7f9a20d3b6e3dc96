// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "handshake.h"
#include "thread.h"

static void *handshake_main(void *arg)
{
	struct handshake *h = arg;
	uint64_t one = 1;

	h->ret = h->fn(h->arg);
	/* the count cannot overflow on one write: it always succeeds */
	if (write(h->evfd, &one, sizeof(one)) < 0) {
		/* nothing to do: handshake_join() still waits for us */
	}
	return NULL;
}

int handshake_start(struct handshake *h, struct ring *r, ring_done_fn done,
		    const cpu_set_t *cpus, int (*fn)(void *), void *arg)
{
	int ret;

	h->fn = fn;
	h->arg = arg;
	h->ret = 0;
	h->started = h->joined = false;
	h->evfd = eventfd(0, EFD_CLOEXEC);
	if (h->evfd < 0)
		return -errno;
	ret = thread_start(&h->thread, "vfmig-setup", cpus, handshake_main, h);
	if (ret < 0) {
		close(h->evfd);
		h->evfd = -1;
		return ret;
	}
	h->started = true;
	/* a count written before the poll is armed keeps it readable */
	h->op.done = done;
	io_uring_prep_poll_add(ring_sqe(r, &h->op), h->evfd, POLLIN);
	return 0;
}

bool handshake_running(const struct handshake *h)
{
	return h->started && !h->joined;
}

int handshake_join(struct handshake *h)
{
	if (!h->started)
		return -EINVAL;
	if (!h->joined) {
		pthread_join(h->thread, NULL);
		h->joined = true;
		/* a poll still armed holds its own reference to the file */
		close(h->evfd);
		h->evfd = -1;
	}
	return h->ret;
}
