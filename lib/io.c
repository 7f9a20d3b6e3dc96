// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Time and fd helpers, below everything else in lib/: the blocking waits
 * of the handshake and of TLS, each with a deadline and a cancel eventfd.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t now_ms(void)
{
	return now_us() / 1000;
}

int io_wait(int fd, short events, int cancel, uint64_t deadline)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
			       { .fd = cancel, .events = POLLIN } };
	int n;

	do {
		uint64_t now = now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		/* a signal (a cancel's, say) is no readiness: the fd may
		 * block, so wait again, for what is left */
		n = poll(p, cancel >= 0 ? 2 : 1, (int)(deadline - now));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (cancel >= 0 && p[1].revents)
		return -ECANCELED;
	return n ? 0 : -ETIMEDOUT;
}

int io_cancel(int cancel)
{
	uint64_t one = 1;

	/* the count saturates at worst: a cancel is pending all the same */
	if (write(cancel, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

bool io_cancelled(int cancel)
{
	struct pollfd p = { .fd = cancel, .events = POLLIN };

	return cancel >= 0 && poll(&p, 1, 0) > 0;
}

int io_send_all(int fd, const void *buf, size_t len, int cancel,
		uint64_t deadline)
{
	const unsigned char *p = buf;

	while (len) {
		/* MSG_NOSIGNAL: a closed peer is an error, not a SIGPIPE */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret;

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		ret = io_wait(fd, POLLOUT, cancel, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}
