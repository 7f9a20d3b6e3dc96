// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-migrate recv and load: the destination side. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "interrupt.h"
#include "migrate.h"

static int run(int argc, char **argv, enum mig_mode mode)
{
	struct vfmig_device *devs[MIG_MAX_DEV];
	struct vfmig_times times = { .size = sizeof(times) };
	struct mig_result r = { 0 };
	struct vfmig_sink *k;
	struct mig_args a;
	char why[512] = "";
	int ret = mig_prepare(argc, argv, mode, &a, devs);

	if (ret >= 0)
		return ret;
	a.o.errbuf = why;
	a.o.errbuf_size = sizeof(why);
	ret = vfmig_sink_new(devs, a.ndev, &a.o, &k);
	if (ret < 0) {
		err_msg("%s", why);
		mig_release(&a, devs);
		return EXIT_USAGE;
	}
	a.snk = k;
	intr_watch(NULL, k);
	r.ret = vfmig_sink_listen(k);
	if (!r.ret && mode == MIG_RECV && mig_lockdown(&a)) {
		intr_watch(NULL, NULL);
		vfmig_sink_free(k);
		mig_release(&a, devs);
		return EXIT_FAILED;
	}
	if (!r.ret) {
		if (mode == MIG_RECV)
			mig_listening(&a, k);
		r.ret = vfmig_sink_run(k);
	}
	intr_watch(NULL, NULL);
	r.error = vfmig_sink_strerror(k);
	r.total_ms = vfmig_sink_total_ms(k);
	r.channels = vfmig_sink_channels(k);
	r.have_setup = vfmig_sink_times(k, &times) == 0;
	r.setup_us = times.setup_us;
	r.total.size = sizeof(r.total);
	vfmig_sink_transfer(k, -1, &r.total);
	for (unsigned i = 0; i < a.ndev; i++) {
		r.dev[i].size = sizeof(r.dev[i]);
		vfmig_sink_transfer(k, (int)i, &r.dev[i]);
	}
	ret = mig_finish(&a, devs, &r);
	vfmig_sink_free(k);
	return intr_status(r.ret, ret);
}

int cmd_recv(int argc, char **argv)
{
	return run(argc, argv, MIG_RECV);
}

int cmd_load(int argc, char **argv)
{
	return run(argc, argv, MIG_LOAD);
}
