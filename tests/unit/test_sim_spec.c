// SPDX-License-Identifier: GPL-2.0-or-later
/* sim:KEY=VALUE,... specs, and device specs in general. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "helpers.h"

Test(spec, valid_sims)
{
	static const char *const ok[] = {
		"sim",
		"sim:",
		"sim:size=4K",
		"sim:size=512M,pattern=random,seed=0x17",
		"sim:pattern=text,dirty=64M/s,precopy=off,p2p=off",
		"sim:end=zero,sizes=stale,name=gpu0",
		"sim:sizes=huge",
		"sim:faults=fail:running:pre-copy+eio:1M+slow:10M/s",
		"sim:faults=error:pre-copy-p2p:stop-copy",
		"sim:p2p=off,faults=fail:running:stop",
	};

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		vfmig_device_close(open_ok(ok[i]));
}

Test(spec, name_and_defaults)
{
	struct vfmig_device *dev = open_ok("sim:name=gpu0,size=64K");
	uint64_t sz;

	cr_expect_str_eq(vfmig_device_name(dev), "gpu0");
	cr_expect_str_eq(vfmig_device_backend(dev), "sim");
	cr_expect_eq(vfmig_device_migration_flags(dev),
		     VFMIG_MIGRATION_STOP_COPY | VFMIG_MIGRATION_P2P |
			     VFMIG_MIGRATION_PRE_COPY);
	cr_expect_eq(vfmig_device_get_state(dev), VFMIG_STATE_RUNNING);
	/* 64 + 16 pages + one record header + END */
	cr_expect_eq(vfmig_device_stopcopy_size(dev, &sz), 0);
	cr_expect_eq(sz, 64 + 16 * 4096 + 32 + 32);
	cr_expect_eq(vfmig_device_set_name(dev, "x"), 0);
	cr_expect_str_eq(vfmig_device_name(dev), "x");
	cr_expect_eq(vfmig_device_set_name(dev, ""), -EINVAL);
	vfmig_device_close(dev);
}

static void bad(const char *spec, const char *quoted)
{
	const char *msg = open_fails(spec, EINVAL);

	cr_expect(strstr(msg, quoted), "spec '%s': message '%s' lacks '%s'",
		  spec, msg, quoted);
}

Test(spec, invalid_sims_quote_the_bad_part)
{
	bad("sim:sise=4K", "unknown key 'sise'");
	bad("sim:size", "'size' is not KEY=VALUE");
	bad("sim:=4", "'=4' is not KEY=VALUE");
	bad("sim:size=4Q", "'4Q'");
	bad("sim:size=1000", "bad size '1000'");
	bad("sim:size=0", "bad size '0'");
	bad("sim:size=128G", "bad size '128G'");
	bad("sim:pattern=fbb", "bad pattern 'fbb'");
	bad("sim:seed=-1", "bad seed '-1'");
	bad("sim:seed=12abc", "bad seed '12abc'");
	bad("sim:dirty=64M", "'64M'");
	bad("sim:precopy=maybe", "bad precopy 'maybe'");
	bad("sim:end=eof", "bad end 'eof'");
	bad("sim:sizes=big", "bad sizes 'big'");
	bad("sim:faults=explode", "bad fault 'explode'");
	bad("sim:faults=boom:1", "bad fault 'boom:1'");
	bad("sim:faults=fail:running", "bad arc fault 'running'");
	bad("sim:faults=fail:running:nowhere",
	    "bad arc fault 'running:nowhere'");
	bad("sim:faults=fail:running:stop-copy", "not a single arc");
	bad("sim:p2p=on,faults=fail:running:stop", "not a single arc");
	bad("sim:faults=eio:0", "eio:0");
	bad("sim:faults=slow:fast", "slow:fast");
	bad("sim:name=", "bad name ''");
	bad("sim:check=maybe", "bad check 'maybe'");
}

Test(spec, invalid_device_specs)
{
	cr_expect(strstr(open_fails("gpu0", EINVAL), "bad device 'gpu0'"));
	cr_expect(strstr(open_fails("pci:3b:00", EINVAL), "'3b:00'"));
	cr_expect(strstr(open_fails("pci:0000:3b:00.8", EINVAL),
			 "'0000:3b:00.8'"));
	cr_expect(strstr(open_fails("pci:0000:3b:20.0", EINVAL),
			 "'0000:3b:20.0'"));
	cr_expect(strstr(open_fails("mdev:1234", EINVAL), "'1234'"));
	cr_expect(strstr(open_fails("mdev:c0ffee00-0000-0000-0000-00000000000g",
				    EINVAL),
			 "bad mdev UUID"));
	cr_expect(strstr(open_fails("fd:x", EINVAL), "'x'"));
	cr_expect(strstr(open_fails("fd:-3", EINVAL), "'-3'"));
	cr_expect(strstr(open_fails("/dev/null", EINVAL),
			 "not a vfio device cdev"));
	cr_expect_eq(vfmig_device_open(NULL, NULL, NULL), -EINVAL);
}

Test(spec, options_struct_size_is_honoured)
{
	struct vfmig_device_opts o = { .size = 0 };
	struct vfmig_device *dev = NULL;
	char err[128] = "untouched";

	cr_expect_eq(vfmig_device_open("sim:", &o, &dev), -EINVAL,
		     "size not set");
	/* an older, smaller struct: the fields past it are not read */
	o.size = offsetof(struct vfmig_device_opts, errbuf);
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	cr_expect_eq(vfmig_device_open("sim:bogus=1", &o, &dev), -EINVAL);
	cr_expect_str_eq(err, "untouched");
	o.size = sizeof(o);
	cr_expect_eq(vfmig_device_open("sim:bogus=1", &o, &dev), -EINVAL);
	cr_expect(strstr(err, "unknown key 'bogus'"), "%s", err);
	cr_expect_null(dev);
}
