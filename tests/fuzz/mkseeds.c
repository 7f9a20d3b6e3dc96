// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The seed corpus of fuzz_recv: real sessions of our own source, recorded
 * on their way to a real sink through a relay (what the source sent on its
 * one channel, byte for byte).  usage: mkseeds DIR
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfmig.h"

struct relay {
	int from, to;
	FILE *rec; /* NULL: not recorded */
};

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(r->from, buf, sizeof(buf))) > 0) {
		if (r->rec && fwrite(buf, 1, (size_t)n, r->rec) != (size_t)n)
			exit(1);
		if (write(r->to, buf, (size_t)n) != n)
			break;
	}
	shutdown(r->to, SHUT_WR);
	return NULL;
}

static void *sink_main(void *arg)
{
	return (void *)(intptr_t)vfmig_sink_run(arg);
}

/* One session of two 64 KiB devices from @a and @b, recorded to @path. */
static void session(const char *path, const char *a, const char *b,
		    enum vfmig_codec codec, int precopy)
{
	struct vfmig_device *src[2], *dst[2];
	int s[2], d[2];
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.codec = codec,
					.precopy = precopy,
					.workers = 1,
					.chunk = 16 << 10 };
	struct vfmig_stream_opts ko = { .size = sizeof(ko), .workers = 1 };
	struct relay up, down;
	struct vfmig_source *src_m;
	struct vfmig_sink *k;
	pthread_t tu, td, tk;
	char su[32], ku[32];
	void *kret;
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, d))
		exit(1);
	if (vfmig_device_open(a, NULL, &src[0]) ||
	    vfmig_device_open(b, NULL, &src[1]) ||
	    vfmig_device_open("sim:size=64K,name=sim0", NULL, &dst[0]) ||
	    vfmig_device_open("sim:size=64K,name=sim1", NULL, &dst[1]))
		exit(1);
	up = (struct relay){ .from = s[1],
			     .to = d[0],
			     .rec = fopen(path, "w") };
	down = (struct relay){ .from = d[0], .to = s[1] };
	if (!up.rec)
		exit(1);
	snprintf(su, sizeof(su), "fd:%d", s[0]);
	snprintf(ku, sizeof(ku), "fd:%d", d[1]);
	so.uri = su;
	ko.uri = ku;
	if (vfmig_sink_new(dst, 2, &ko, &k) ||
	    vfmig_source_new(src, 2, &so, &src_m))
		exit(1);
	pthread_create(&tu, NULL, relay_main, &up);
	pthread_create(&td, NULL, relay_main, &down);
	pthread_create(&tk, NULL, sink_main, k);
	ret = vfmig_source_run(src_m);
	pthread_join(tk, &kret);
	if (ret || kret) {
		fprintf(stderr, "mkseeds: %s: %s / %s\n", path,
			vfmig_source_strerror(src_m), vfmig_sink_strerror(k));
		exit(1);
	}
	close(s[0]);
	close(d[1]);
	pthread_join(tu, NULL);
	pthread_join(td, NULL);
	fclose(up.rec);
	close(s[1]);
	close(d[0]);
	vfmig_source_free(src_m);
	vfmig_sink_free(k);
	for (int i = 0; i < 2; i++) {
		vfmig_device_close(src[i]);
		vfmig_device_close(dst[i]);
	}
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/zstd-precopy", argv[1]);
	session(path, "sim:size=64K,pattern=fb,dirty=1M/s,seed=1,name=sim0",
		"sim:size=64K,pattern=text,seed=2,name=sim1", VFMIG_CODEC_ZSTD,
		0);
	snprintf(path, sizeof(path), "%s/none-stopcopy", argv[1]);
	session(path, "sim:size=64K,pattern=random,seed=3,name=sim0",
		"sim:size=64K,pattern=zero,seed=4,name=sim1", VFMIG_CODEC_NONE,
		-1);
	snprintf(path, sizeof(path), "%s/zstd-stopcopy", argv[1]);
	session(path, "sim:size=64K,pattern=fb,seed=5,name=sim0",
		"sim:size=64K,pattern=fb,seed=6,name=sim1", VFMIG_CODEC_ZSTD,
		-1);
	return 0;
}
