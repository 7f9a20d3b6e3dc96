// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

void blob_append(struct blob *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->data = realloc(b->data, b->cap);
		cr_assert(b->data);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void blob_free(struct blob *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static char open_err[512];

struct vfmig_device *open_ok(const char *spec)
{
	struct vfmig_device_opts o = { .size = sizeof(o),
				       .errbuf = open_err,
				       .errbuf_size = sizeof(open_err) };
	struct vfmig_device *dev = NULL;
	int ret = vfmig_device_open(spec, &o, &dev);

	cr_assert_eq(ret, 0, "open %s: %d: %s", spec, ret, open_err);
	cr_assert_not_null(dev);
	return dev;
}

const char *open_fails(const char *spec, int err)
{
	struct vfmig_device_opts o = { .size = sizeof(o),
				       .errbuf = open_err,
				       .errbuf_size = sizeof(open_err) };
	struct vfmig_device *dev = NULL;
	int ret = vfmig_device_open(spec, &o, &dev);

	cr_assert_eq(ret, -err, "open %s: got %d, expected %d (%s)", spec, ret,
		     -err, open_err);
	cr_assert_null(dev);
	return open_err;
}

size_t read_now(int fd, struct blob *out, size_t chunk, int *end)
{
	unsigned char *buf = malloc(chunk);
	size_t got = 0;

	cr_assert(buf);
	for (;;) {
		ssize_t n = read(fd, buf, chunk);

		if (n > 0) {
			blob_append(out, buf, (size_t)n);
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		*end = n < 0 ? -errno : 0;
		break;
	}
	free(buf);
	return got;
}

int save_stream(struct vfmig_device *dev, struct blob *out, size_t chunk,
		int max_rounds)
{
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	int fd, end, ret;

	if (vfmig_device_migration_flags(dev) & VFMIG_MIGRATION_PRE_COPY) {
		ret = vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd);
		if (ret)
			return ret;
		for (int r = 0; r < max_rounds; r++) {
			read_now(fd, out, chunk, &end);
			if (end != 0 && end != -EAGAIN && end != -ENOMSG)
				return end;
			ret = vfmig_device_precopy_info(dev, &pi);
			if (ret)
				return ret;
			if (!pi.initial_bytes && pi.dirty_bytes < (64u << 10))
				break;
			usleep(5000);
		}
		ret = vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, NULL);
	} else {
		ret = vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd);
	}
	if (ret)
		return ret;
	fd = vfmig_device_data_fd(dev);
	for (;;) {
		read_now(fd, out, chunk, &end);
		if (end == 0)
			break;
		if (end != -EAGAIN)
			return end;
		poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 50);
	}
	/* A stream that ended because the device failed is no stream. */
	if (vfmig_device_get_state(dev) != VFMIG_STATE_STOP_COPY)
		return -EIO;
	return 0;
}

int load_stream(struct vfmig_device *dev, const void *data, size_t len,
		size_t chunk)
{
	const unsigned char *p = data;
	int fd, ret;

	ret = vfmig_device_set_state(dev, VFMIG_STATE_RESUMING, &fd);
	if (ret)
		return ret;
	cr_assert_geq(fd, 0);
	while (len) {
		size_t n = len < chunk ? len : chunk;
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return vfmig_device_set_state(dev, VFMIG_STATE_STOP, NULL);
}

uint64_t hash_of(struct vfmig_device *dev)
{
	uint64_t h = 0;

	cr_assert_eq(vfmig_device_state_hash(dev, &h), 0);
	return h;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int mute_listener(char *uri, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(uri, n, "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	return fd;
}

int hello_seen(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	char buf[16];
	int fd;

	cr_assert_eq(poll(&p, 1, 10000), 1, "the source did not connect");
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	p.fd = fd;
	cr_assert_eq(poll(&p, 1, 10000), 1, "no HELLO came");
	cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
	return fd;
}
