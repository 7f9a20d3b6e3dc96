// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The structs the library fills honour the size the caller set: an older
 * caller's shorter struct is filled as far as it reaches and no further,
 * and a size too small for the first field is refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "helpers.h"

/* The first fields of today's struct vfmig_transfer, as a caller built
 * against an older header would have it, and a guard after it. */
struct older_transfer {
	struct {
		size_t size;
		uint64_t raw_bytes, wire_bytes;
	} t;
	unsigned char guard[64];
};

Test(abi, a_shorter_transfer_is_filled_as_far_as_it_reaches)
{
	struct vfmig_device *a = open_ok("sim:size=64K");
	struct vfmig_stream_opts o = { .size = sizeof(o),
				       .uri = "tcp:127.0.0.1:1" };
	struct vfmig_source *s;
	struct older_transfer old;
	struct vfmig_transfer whole = { .size = sizeof(whole) };
	unsigned char zeros[sizeof(old.guard)] = { 0 };

	cr_assert_eq(vfmig_source_new(&a, 1, &o, &s), 0);
	memset(&old, 0, sizeof(old));
	old.t.size = sizeof(old.t);
	old.t.raw_bytes = 12345; /* overwritten with the (zero) count */
	cr_expect_eq(vfmig_source_transfer(s, 0, (struct vfmig_transfer *)&old),
		     0);
	cr_expect_eq(old.t.size, sizeof(old.t), "size says how far");
	cr_expect_eq(old.t.raw_bytes, 0);
	cr_expect_eq(memcmp(old.guard, zeros, sizeof(zeros)), 0,
		     "written past the caller's size");
	cr_expect_eq(vfmig_source_transfer(s, 0, &whole), 0);
	cr_expect_eq(whole.size, sizeof(whole));
	cr_expect_eq(whole.state, VFMIG_STATE_RUNNING);
	whole.size = sizeof(size_t);
	cr_expect_eq(vfmig_source_transfer(s, 0, &whole), -EINVAL,
		     "no room for raw_bytes");
	vfmig_source_free(s);
	vfmig_device_close(a);
}

Test(abi, precopy_info_refuses_a_size_it_cannot_fill)
{
	struct vfmig_device *dev = open_ok("sim:size=1M,precopy=on");
	struct vfmig_precopy_info pi = { .size = sizeof(size_t) };
	int fd = -1;

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_expect_eq(vfmig_device_precopy_info(dev, &pi), -EINVAL);
	cr_expect(strstr(vfmig_device_strerror(dev), "size 8 is too small"),
		  "%s", vfmig_device_strerror(dev));
	pi.size = sizeof(pi);
	cr_expect_eq(vfmig_device_precopy_info(dev, &pi), 0, "%s",
		     vfmig_device_strerror(dev));
	cr_expect_eq(pi.size, sizeof(pi));
	cr_expect_gt(pi.initial_bytes, 0);
	cr_expect_eq(vfmig_device_recover(dev), 0);
	vfmig_device_close(dev);
}
