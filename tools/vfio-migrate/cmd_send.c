// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-migrate send and save: the source side. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "cli.h"
#include "interrupt.h"
#include "migrate.h"

/* Driven from this thread's own poll loop, as a VMM drives it: the
 * set-up runs on the library's thread and reports its progress. */
static int drive(struct vfmig_source *s)
{
	struct pollfd pfd = { .events = POLLIN };
	int ret = vfmig_source_start(s);

	if (ret < 0)
		return ret;
	pfd.fd = vfmig_source_fd(s);
	while ((ret = vfmig_source_step(s)) == 1)
		/* the fd is readable at least every 200 ms; a signal
		 * interrupts the wait and the next step sees its cancel */
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			vfmig_source_cancel(s);
	return ret;
}

static int run(int argc, char **argv, enum mig_mode mode)
{
	struct vfmig_device *devs[MIG_MAX_DEV];
	struct vfmig_times times = { .size = sizeof(times) };
	struct mig_result r = { .have_wire = true, .have_downtime = true };
	struct vfmig_source *s;
	struct mig_args a;
	char why[512] = "";
	int ret = mig_prepare(argc, argv, mode, &a, devs);

	if (ret >= 0)
		return ret;
	a.o.errbuf = why;
	a.o.errbuf_size = sizeof(why);
	ret = vfmig_source_new(devs, a.ndev, &a.o, &s);
	if (ret < 0) {
		err_msg("%s", why);
		mig_release(&a, devs);
		return EXIT_USAGE;
	}
	/* the sockets are made and sized: nothing later needs a privilege */
	if (mode == MIG_SEND && mig_lockdown(&a)) {
		vfmig_source_free(s);
		mig_release(&a, devs);
		return EXIT_FAILED;
	}
	a.src = s;
	intr_watch(s, NULL);
	r.ret = drive(s);
	intr_watch(NULL, NULL);
	r.error = vfmig_source_strerror(s);
	r.total_ms = vfmig_source_total_ms(s);
	r.downtime_ms = vfmig_source_downtime_ms(s);
	r.downtime_us = vfmig_source_downtime_us(s);
	r.channels = a.o.channels ? a.o.channels : 1;
	r.have_setup = vfmig_source_times(s, &times) == 0;
	r.setup_us = times.setup_us;
	r.have_downtime = mode == MIG_SEND && !r.ret && !a.o.dry_run;
	r.total.size = sizeof(r.total);
	vfmig_source_transfer(s, -1, &r.total);
	for (unsigned i = 0; i < a.ndev; i++) {
		r.dev[i].size = sizeof(r.dev[i]);
		vfmig_source_transfer(s, (int)i, &r.dev[i]);
	}
	ret = mig_finish(&a, devs, &r);
	vfmig_source_free(s);
	return intr_status(r.ret, ret);
}

int cmd_send(int argc, char **argv)
{
	return run(argc, argv, MIG_SEND);
}

int cmd_save(int argc, char **argv)
{
	return run(argc, argv, MIG_SAVE);
}
