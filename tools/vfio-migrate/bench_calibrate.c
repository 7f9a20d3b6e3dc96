// SPDX-License-Identifier: GPL-2.0-or-later
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "bench_calibrate.h"
#include "bench_util.h"
#include "cli.h"
#include "crc32c.h"
#include "migrate.h"
#include "vfmig.h"

#define RUNS 3
#define MiB (1ul << 20)
#define COPY_LEN (64 * MiB)
#define FILL_LEN (256 * MiB)
#define TCP_LEN (256 * MiB)
#define FB_LEN (32 * MiB)
#define CHUNK (4 * MiB) /* a frame's raw bytes, as the pipeline's default */

/* GB/s of @bytes moved in @secs each run, the median of RUNS. */
static double rate(uint64_t bytes, double secs[RUNS])
{
	double r[RUNS];

	for (int i = 0; i < RUNS; i++)
		r[i] = secs[i] > 0 ? (double)bytes / secs[i] / 1e9 : 0;
	return bench_median(r, RUNS);
}

/* memcpy between two resident buffers: the price of one copy. */
static double measure_memcpy(void)
{
	char *a = malloc(COPY_LEN), *b = malloc(COPY_LEN);
	double secs[RUNS] = { 0 };

	if (a && b) {
		memset(a, 1, COPY_LEN);
		memset(b, 2, COPY_LEN);
		for (int i = 0; i < RUNS; i++) {
			double t0 = bench_now_s();

			for (int k = 0; k < 4; k++)
				memcpy(k % 2 ? a : b, k % 2 ? b : a, COPY_LEN);
			secs[i] = bench_now_s() - t0;
		}
	}
	free(a);
	free(b);
	return rate(4 * COPY_LEN, secs);
}

/* Writing pages the kernel has not backed yet: what a destination pays
 * when its memory is not resident (a VM's page backing, not ours). */
static double measure_fill(void)
{
	double secs[RUNS] = { 0 };

	for (int i = 0; i < RUNS; i++) {
		double t0 = bench_now_s();
		void *p = mmap(NULL, FILL_LEN, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 0;
		memset(p, 1, FILL_LEN);
		munmap(p, FILL_LEN);
		secs[i] = bench_now_s() - t0;
	}
	return rate(FILL_LEN, secs);
}

static void *tcp_reader(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	char *buf = malloc(MiB);

	while (fd >= 0 && buf && recv(fd, buf, MiB, 0) > 0)
		;
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* One loopback TCP stream, one thread at each end, 1 MiB sends. */
static double tcp_once(char *buf)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd = -1;
	bool connected = false, sent = false;
	double t0;
	pthread_t t;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) || listen(lfd, 1) ||
	    pthread_create(&t, NULL, tcp_reader, &lfd)) {
		if (lfd >= 0)
			close(lfd);
		return 0;
	}
	t0 = bench_now_s();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	connected = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (connected) {
		uint64_t left = TCP_LEN;

		while (left) {
			ssize_t n = send(fd, buf, MiB, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			left -= (uint64_t)n < left ? (uint64_t)n : left;
		}
		shutdown(fd, SHUT_WR);
		sent = !left;
	}
	if (!connected)
		shutdown(lfd, SHUT_RDWR); /* the reader's accept returns */
	if (fd >= 0)
		close(fd);
	pthread_join(t, NULL);
	close(lfd);
	return sent ? bench_now_s() - t0 : 0; /* the reader has read it all */
}

static double measure_tcp(void)
{
	char *buf = malloc(MiB);
	double secs[RUNS] = { 0 };

	if (!buf)
		return 0;
	memset(buf, 7, MiB);
	for (int i = 0; i < RUNS; i++)
		secs[i] = tcp_once(buf);
	free(buf);
	return rate(TCP_LEN, secs);
}

/* A framebuffer-like device's stream, as the scenarios' fb devices give
 * it: @len bytes in a fresh buffer, or NULL. */
static unsigned char *fb_bytes(size_t *len)
{
	struct vfmig_device *dev;
	unsigned char *buf = malloc(FB_LEN);
	size_t have = 0;
	int fd = -1;

	if (!buf ||
	    open_device("sim:size=32M,pattern=fb,seed=1,check=off,precopy=off",
			&dev)) {
		free(buf);
		return NULL;
	}
	if (!vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd)) {
		ssize_t r;

		while (have < FB_LEN &&
		       (r = read(fd, buf + have, FB_LEN - have)) > 0)
			have += (size_t)r;
	}
	vfmig_device_recover(dev);
	mig_close(&dev, 1);
	*len = have;
	return buf;
}

/* One core of zstd at @level over @src in CHUNK frames, as a codec
 * worker compresses; the ratio to @ratio when asked. */
static double measure_zstd(const unsigned char *src, size_t len, int level,
			   double *ratio)
{
	size_t cap = ZSTD_compressBound(CHUNK), out = 0;
	void *dst = malloc(cap);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	double secs[RUNS] = { 0 };

	for (int i = 0; dst && cc && i < RUNS; i++) {
		double t0 = bench_now_s();

		out = 0;
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
		for (size_t off = 0; off < len; off += CHUNK) {
			size_t n = len - off < CHUNK ? len - off : CHUNK;
			size_t r = ZSTD_compress2(cc, dst, cap, src + off, n);

			if (ZSTD_isError(r))
				goto out;
			out += r;
		}
		secs[i] = bench_now_s() - t0;
	}
	if (ratio && len)
		*ratio = (double)out / (double)len;
out:
	ZSTD_freeCCtx(cc);
	free(dst);
	return rate(len, secs);
}

typedef unsigned int (*isal_crc_fn)(unsigned char *, int, unsigned int);

/* Our crc32c, and ISA-L's crc32_iscsi on the same bytes when Debian's
 * libisal2 is installed (make deps-bench): a check of our per-byte pass
 * against the best-known one. */
static void measure_crc(unsigned char *src, size_t len, struct calibration *c)
{
	void *isal = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
	isal_crc_fn fn = NULL;
	double secs[RUNS] = { 0 };
	volatile uint32_t sink = 0;

	for (int i = 0; i < RUNS; i++) {
		double t0 = bench_now_s();

		sink ^= crc32c(0, src, len);
		secs[i] = bench_now_s() - t0;
	}
	c->crc32c = rate(len, secs);
	if (isal)
		*(void **)&fn = dlsym(isal, "crc32_iscsi");
	for (int i = 0; fn && i < RUNS; i++) {
		double t0 = bench_now_s();

		for (size_t off = 0; off < len; off += CHUNK)
			sink ^= fn(src + off,
				   (int)(len - off < CHUNK ? len - off : CHUNK),
				   0xffffffff);
		secs[i] = bench_now_s() - t0;
	}
	if (fn)
		c->isal = rate(len, secs);
	if (isal)
		dlclose(isal);
	(void)sink;
}

void calibrate(struct calibration *c)
{
	unsigned char *fb;
	size_t len = 0;

	memset(c, 0, sizeof(*c));
	c->memcpy = measure_memcpy();
	c->fill = measure_fill();
	c->tcp = measure_tcp();
	fb = fb_bytes(&len);
	if (fb && len) {
		c->zstd_fast_level = mig_auto_level(0);
		c->zstd_fast = measure_zstd(fb, len, c->zstd_fast_level,
					    &c->zstd_fast_ratio);
		c->zstd_1 = measure_zstd(fb, len, 1, NULL);
		measure_crc(fb, len, c);
	}
	free(fb);
}

static void gbs(const char *what, double v, const char *sep)
{
	if (v > 0)
		printf("%s %.2f GB/s%s", what, v, sep);
	else
		printf("%s - %s", what, sep);
}

void calibration_print(const struct calibration *c)
{
	printf("calibration (GB/s, one thread each, medians of %d):\n  ", RUNS);
	gbs("memcpy", c->memcpy, ", ");
	gbs("fresh-page fill", c->fill, ", ");
	gbs("loopback TCP (one stream)", c->tcp, "\n  ");
	printf("on fb bytes: ");
	printf("zstd:%d", c->zstd_fast_level);
	gbs("", c->zstd_fast, "");
	printf(" (ratio %.3f), ", c->zstd_fast_ratio);
	gbs("zstd -1", c->zstd_1, ", ");
	printf("crc32c (%s)", crc32c_impl_name(crc32c_impl_best()));
	gbs("", c->crc32c, "");
	if (c->isal > 0)
		printf(", ISA-L crc32_iscsi %.2f GB/s\n", c->isal);
	else
		printf(" (ISA-L: libisal2 not installed)\n");
}

void calibration_json(struct printer *p, const struct calibration *c)
{
	pr_open_object(p, "calibration");
	pr_double(p, "memcpy-gb-per-s", NULL, c->memcpy, 2);
	pr_double(p, "fresh-page-fill-gb-per-s", NULL, c->fill, 2);
	pr_double(p, "loopback-tcp-gb-per-s", NULL, c->tcp, 2);
	pr_double(p, "zstd-fast-fb-gb-per-s", NULL, c->zstd_fast, 2);
	pr_double(p, "zstd-fast-fb-ratio", NULL, c->zstd_fast_ratio, 4);
	pr_double(p, "zstd-fast-level", NULL, c->zstd_fast_level, 0);
	pr_double(p, "zstd-1-fb-gb-per-s", NULL, c->zstd_1, 2);
	pr_double(p, "crc32c-gb-per-s", NULL, c->crc32c, 2);
	if (c->isal > 0)
		pr_double(p, "isal-crc32-iscsi-gb-per-s", NULL, c->isal, 2);
	pr_close_object(p);
}
