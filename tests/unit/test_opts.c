// SPDX-License-Identifier: GPL-2.0-or-later
/* vfmig_source_new() and vfmig_sink_new() refuse bad options saying which
 * field was wrong, in opts->errbuf. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "vfmig.h"

static int src_new(struct vfmig_stream_opts *o, char *why, size_t n,
		   struct vfmig_device **devs, unsigned ndev)
{
	struct vfmig_source *s = NULL;
	int ret;

	o->size = sizeof(*o);
	o->errbuf = why;
	o->errbuf_size = n;
	why[0] = '\0';
	ret = vfmig_source_new(devs, ndev, o, &s);
	vfmig_source_free(s);
	return ret;
}

Test(opts, source_names_the_field)
{
	struct vfmig_device *d[2] = {
		open_ok("sim:size=64K,pattern=fb,name=gpu0"),
		open_ok("sim:size=64K,pattern=fb,name=gpu0")
	};
	struct vfmig_stream_opts o = { .uri = "tcp:127.0.0.1:1",
				       .channels = 65 };
	char why[256];

	cr_expect_eq(src_new(&o, why, sizeof(why), d, 1), -EINVAL);
	cr_expect_str_eq(why, "channels 65: expected 1..64");
	o.channels = 1;
	o.chunk = 1000;
	cr_expect_eq(src_new(&o, why, sizeof(why), d, 1), -EINVAL);
	cr_expect(strstr(why, "chunk 1000: expected 4096.."), "%s", why);
	o.chunk = 0;
	o.uri = NULL;
	cr_expect_eq(src_new(&o, why, sizeof(why), d, 1), -EINVAL);
	cr_expect_str_eq(why, "uri: none given");
	o.uri = "tcp:127.0.0.1:1";
	cr_expect_eq(src_new(&o, why, sizeof(why), d, 2), -EINVAL);
	cr_expect_str_eq(why, "devices 0 and 1 have the same id 'gpu0'");
	cr_expect_eq(src_new(&o, why, sizeof(why), d, 0), -EINVAL);
	cr_expect_str_eq(why, "no devices");
	o.codec = (enum vfmig_codec)3;
	cr_expect_eq(src_new(&o, why, sizeof(why), d, 1), -EINVAL);
	cr_expect_str_eq(why,
			 "codec 3: expected 0 (none), 1 (zstd) or 2 (auto)");
	o.codec = VFMIG_CODEC_AUTO;
	cr_expect_eq(src_new(&o, why, sizeof(why), d, 1), 0);
	vfmig_device_close(d[0]);
	vfmig_device_close(d[1]);
}

Test(opts, an_older_caller_without_errbuf_is_not_written)
{
	struct vfmig_device *d = open_ok("sim:size=64K,pattern=fb");
	char why[64] = "untouched";
	struct vfmig_stream_opts o = {
		.size = offsetof(struct vfmig_stream_opts, errbuf),
		.uri = "tcp:127.0.0.1:1",
		.channels = 65,
		.errbuf = why,
		.errbuf_size = sizeof(why)
	};
	struct vfmig_sink *k = NULL;
	struct vfmig_source *s = NULL;

	cr_expect_eq(vfmig_source_new(&d, 1, &o, &s), -EINVAL);
	cr_expect_str_eq(why, "untouched");
	o.uri = NULL;
	cr_expect_eq(vfmig_sink_new(&d, 1, &o, &k), -EINVAL);
	cr_expect_str_eq(why, "untouched");
	vfmig_device_close(d);
}
