// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the destination's whole receive path (handshake,
 * manifest, frames, control messages, decompression, the devices' loads)
 * fed one input as one channel.  Two 64 KiB simulated devices wait, as in
 * the seeds (tests/fuzz/mkseeds.c); the sink must end, with 0 or -errno,
 * within its timeout, never crash, leak or overrun (ASan, UBSan).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfmig.h"

struct feed {
	int fd;
	const uint8_t *data;
	size_t len;
};

/* The source's side: the input, then end of stream; replies are read
 * and dropped so that the sink never blocks on a full socket. */
static void *feed_main(void *arg)
{
	struct feed *f = arg;
	size_t off = 0;
	char sink[4096];

	while (off < f->len) {
		/* the sink may have given up and closed: EPIPE, no signal */
		ssize_t n =
			send(f->fd, f->data + off, f->len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(f->fd, SHUT_WR);
	while (read(f->fd, sink, sizeof(sink)) > 0)
		;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vfmig_stream_opts o = { .size = sizeof(o),
				       .memory = 4 << 20,
				       .workers = 1,
				       .timeout_ms = 200 };
	struct vfmig_device *devs[2] = { NULL, NULL };
	struct vfmig_sink *k = NULL;
	struct feed f = { .data = data, .len = len };
	char uri[32];
	pthread_t th;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	/* the seeds' devices: the same names, kinds and sizes */
	if (vfmig_device_open("sim:size=64K,name=sim0", NULL, &devs[0]) ||
	    vfmig_device_open("sim:size=64K,name=sim1", NULL, &devs[1]))
		abort();
	snprintf(uri, sizeof(uri), "fd:%d", sv[1]);
	o.uri = uri;
	f.fd = sv[0];
	if (pthread_create(&th, NULL, feed_main, &f))
		abort();
	if (vfmig_sink_new(devs, 2, &o, &k) == 0)
		vfmig_sink_run(k);
	vfmig_sink_free(k);
	close(sv[1]); /* the sink's end: the feeder's read ends */
	pthread_join(th, NULL);
	close(sv[0]);
	vfmig_device_close(devs[0]);
	vfmig_device_close(devs[1]);
	return 0;
}
