// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vfio backend against a fake sysfs/dev tree and a fake kernel: name
 * resolution, every open error, the ioctl sequence of the container/group
 * and cdev paths, and the migration ioctls.  (The real kernel path is
 * exercised with kmod-shim in tests/vm.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device.h"
#include "device_vfio.h"
#include "uapi/vfio_compat.h"

#define BDF "0000:3b:00.1"
#define UUID "c0ffee00-1234-5678-9abc-def012345678"

/* ------------------------------------------------------ a fake kernel */

enum role { R_NONE, R_CONTAINER, R_GROUP, R_DEVICE, R_IOMMUFD, R_DATA };

struct fake {
	enum role role[1024];
	/* knobs */
	bool group_viable;
	int mig_feature_err; /* errno for FEATURE_MIGRATION, 0 = ok */
	uint64_t mig_flags;
	bool data_size_supported;
	bool can_reset;
	int fail_set_to; /* SET to this state fails with EIO -> ERROR */
	int get_device_fd_err; /* errno for GROUP_GET_DEVICE_FD, 0 = ok */
	/* observed */
	bool iommu_set, group_in_container;
	int state;
	int resets, bind_argsz, attach_argsz, precopy_argsz;
	uint32_t precopy_flags_in;
	char devname[64];
	char log[1024];
};

static void note(struct fake *f, const char *what)
{
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof(f->log) - n, "%s%s", n ? " " : "", what);
}

static int f_open(void *ctx, const char *path, int flags)
{
	struct fake *f = ctx;
	const char *base = strrchr(path, '/') + 1;
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	cr_assert_lt(fd, 1024);
	if (!strcmp(base, "vfio"))
		f->role[fd] = R_CONTAINER;
	else if (!strcmp(base, "iommu"))
		f->role[fd] = R_IOMMUFD;
	else if (!strncmp(base, "vfio", 4))
		f->role[fd] = R_DEVICE;
	else
		f->role[fd] = R_GROUP;
	return fd;
}

static int f_close(void *ctx, int fd)
{
	struct fake *f = ctx;

	f->role[fd] = R_NONE;
	return close(fd) ? -errno : 0;
}

static bool opens_session(int a, int b)
{
	return (a == VFMIG_STATE_RUNNING && b == VFMIG_STATE_PRE_COPY) ||
	       (a == VFMIG_STATE_RUNNING_P2P &&
		b == VFMIG_STATE_PRE_COPY_P2P) ||
	       (a == VFMIG_STATE_STOP &&
		(b == VFMIG_STATE_STOP_COPY || b == VFMIG_STATE_RESUMING));
}

static int new_data_fd(struct fake *f)
{
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	f->role[p[0]] = R_DATA;
	return p[0];
}

static int device_feature(struct fake *f, struct vfio_device_feature *hdr)
{
	void *payload = (char *)hdr + sizeof(*hdr);
	uint32_t idx = hdr->flags & VFIO_DEVICE_FEATURE_MASK;

	if (idx == VFIO_DEVICE_FEATURE_MIGRATION) {
		struct vfio_device_feature_migration m = { f->mig_flags };

		if (f->mig_feature_err)
			return -f->mig_feature_err;
		cr_assert_eq(hdr->argsz, 16);
		cr_assert(hdr->flags & VFIO_DEVICE_FEATURE_GET);
		memcpy(payload, &m, sizeof(m));
		return 0;
	}
	if (idx == VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE) {
		struct vfio_device_feature_mig_state st;

		cr_assert_eq(hdr->argsz, 16);
		memcpy(&st, payload, sizeof(st));
		if (hdr->flags & VFIO_DEVICE_FEATURE_GET) {
			st.device_state = (uint32_t)f->state;
			st.data_fd = -1;
		} else {
			int target = (int)st.device_state, cur = f->state, last;

			st.data_fd = -1;
			if (target == f->fail_set_to) {
				f->state = VFMIG_STATE_ERROR;
				return -EIO;
			}
			if (vfmig_state_next_hop((uint32_t)f->mig_flags, cur,
						 target) < 0)
				return -EINVAL;
			last = cur;
			while (cur != target) {
				last = cur;
				cur = vfmig_state_next_hop(
					(uint32_t)f->mig_flags, cur, target);
			}
			if (last != target && opens_session(last, target))
				st.data_fd = new_data_fd(f);
			f->state = target;
		}
		memcpy(payload, &st, sizeof(st));
		return 0;
	}
	if (idx == VFIO_DEVICE_FEATURE_MIG_DATA_SIZE) {
		struct vfio_device_feature_mig_data_size sz = { 123456789 };

		if (!f->data_size_supported)
			return -EINVAL; /* 6.1 mdev: no device_feature op */
		memcpy(payload, &sz, sizeof(sz));
		return 0;
	}
	return -ENOTTY;
}

static int f_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	struct fake *f = ctx;
	enum role r = fd >= 0 && fd < 1024 ? f->role[fd] : R_NONE;

	switch (req) {
	case VFIO_GET_API_VERSION:
		cr_assert_eq(r, R_CONTAINER);
		note(f, "version");
		return VFIO_API_VERSION;
	case VFIO_GROUP_GET_STATUS: {
		struct vfio_group_status *st = arg;

		cr_assert_eq(r, R_GROUP);
		cr_assert_eq(st->argsz, sizeof(*st));
		st->flags = f->group_viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
		note(f, "status");
		return 0;
	}
	case VFIO_GROUP_SET_CONTAINER:
		cr_assert_eq(r, R_GROUP);
		cr_assert_eq(f->role[*(int *)arg], R_CONTAINER);
		f->group_in_container = true;
		note(f, "set-container");
		return 0;
	case VFIO_CHECK_EXTENSION:
		cr_assert_eq(r, R_CONTAINER);
		return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU ? 1 : 0;
	case VFIO_SET_IOMMU:
		cr_assert_eq(r, R_CONTAINER);
		/* the kernel wants a group in the container first */
		if (!f->group_in_container)
			return -EINVAL;
		cr_assert_eq((uintptr_t)arg, VFIO_TYPE1v2_IOMMU);
		f->iommu_set = true;
		note(f, "set-iommu");
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD: {
		int dfd;

		cr_assert_eq(r, R_GROUP);
		/* as the kernel: no IOMMU on the container, no device */
		if (!f->iommu_set)
			return -EINVAL;
		if (f->get_device_fd_err)
			return -f->get_device_fd_err;
		snprintf(f->devname, sizeof(f->devname), "%s", (char *)arg);
		dfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		f->role[dfd] = R_DEVICE;
		note(f, "get-device-fd");
		return dfd;
	}
	case VFIO_DEVICE_BIND_IOMMUFD: {
		struct vfio_device_bind_iommufd *b = arg;

		cr_assert_eq(r, R_DEVICE);
		cr_assert_eq(f->role[b->iommufd], R_IOMMUFD);
		f->bind_argsz = (int)b->argsz;
		b->out_devid = 1;
		note(f, "bind");
		return 0;
	}
	case IOMMU_IOAS_ALLOC:
		cr_assert_eq(r, R_IOMMUFD);
		((struct iommu_ioas_alloc *)arg)->out_ioas_id = 7;
		note(f, "ioas");
		return 0;
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		struct vfio_device_attach_iommufd_pt *a = arg;

		cr_assert_eq(r, R_DEVICE);
		cr_assert_eq(a->pt_id, 7);
		f->attach_argsz = (int)a->argsz;
		note(f, "attach");
		return 0;
	}
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *info = arg;

		if (r != R_DEVICE)
			return -ENOTTY;
		info->flags = f->can_reset ? VFIO_DEVICE_FLAGS_RESET : 0;
		note(f, "info");
		return 0;
	}
	case VFIO_DEVICE_FEATURE:
		cr_assert_eq(r, R_DEVICE);
		return device_feature(f, arg);
	case VFIO_DEVICE_RESET:
		cr_assert_eq(r, R_DEVICE);
		f->resets++;
		f->state = VFMIG_STATE_RUNNING;
		return 0;
	case VFIO_MIG_GET_PRECOPY_INFO: {
		struct vfio_precopy_info *pi = arg;

		if (r != R_DATA)
			return -ENOTTY;
		if (f->state != VFMIG_STATE_PRE_COPY &&
		    f->state != VFMIG_STATE_PRE_COPY_P2P)
			return -EINVAL;
		f->precopy_argsz = (int)pi->argsz;
		f->precopy_flags_in = pi->flags;
		pi->initial_bytes = 1000;
		pi->dirty_bytes = 24;
		pi->flags = 0xdead; /* pre-2026 drivers echo; we ignore it */
		return 0;
	}
	}
	return -ENOTTY;
}

/* ------------------------------------------------------ a fake tree */

static char root[64];
static struct fake fk;

static void mk(const char *rel)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	cr_assert_eq(system(cmd), 0);
}

static void ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	cr_assert_eq(symlink(target, p), 0, "symlink %s", p);
}

static void touch(const char *rel)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_CREAT | O_RDWR, 0666);
	cr_assert_geq(fd, 0, "create %s", p);
	close(fd);
}

static void setup(void)
{
	strcpy(root, "/tmp/vfmig-fake-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	chmod(root, 0755);
	/* pci: bound to vfio-pci, to e1000e, to nothing; an mdev */
#define PCI "sys/bus/pci/devices/"
	mk(PCI BDF);
	ln("../../../../bus/pci/drivers/vfio-pci", PCI BDF "/driver");
	ln("../../../../kernel/iommu_groups/12", PCI BDF "/iommu_group");
	mk(PCI "0000:3b:00.2");
	ln("../../../../bus/pci/drivers/e1000e", PCI "0000:3b:00.2/driver");
	mk(PCI "0000:3b:00.3");
	mk("sys/bus/mdev/devices/" UUID);
	ln("../../../../bus/mdev/drivers/vfio_shim",
	   "sys/bus/mdev/devices/" UUID "/driver");
	ln("../../../../kernel/iommu_groups/13",
	   "sys/bus/mdev/devices/" UUID "/iommu_group");
	ln("../../../../devices/virtual/vfio_shim/vfio_shim/mdev_supported_types/vfio_shim-large",
	   "sys/bus/mdev/devices/" UUID "/mdev_type");
	/* a cdev-only device (iommufd, no group node) */
	mk(PCI "0000:5e:00.0/vfio-dev/vfio4");
	ln("../../../../bus/pci/drivers/mlx5_vfio_pci",
	   PCI "0000:5e:00.0/driver");
	ln("../../../../kernel/iommu_groups/40",
	   PCI "0000:5e:00.0/iommu_group");
	mk("dev/vfio/devices");
	touch("dev/vfio/vfio");
	touch("dev/vfio/12");
	touch("dev/vfio/13");
	touch("dev/vfio/devices/vfio4");
	touch("dev/iommu");

	memset(&fk, 0, sizeof(fk));
	fk.group_viable = true;
	fk.mig_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
		       VFIO_MIGRATION_PRE_COPY;
	fk.data_size_supported = true;
	fk.can_reset = true;
	fk.state = VFMIG_STATE_RUNNING;
	fk.fail_set_to = -1;
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd)) {
		/* leave it: /tmp is cleaned eventually */
	}
}

TestSuite(vfio, .init = setup, .fini = teardown);

static char msg[512];

static int try_open(const char *spec, struct vfmig_device **dev)
{
	char sys[128], dev_root[128];
	struct vfmig_device_opts o = { .size = sizeof(o),
				       .sysfs_root = sys,
				       .dev_root = dev_root,
				       .errbuf = msg,
				       .errbuf_size = sizeof(msg) };
	struct vfio_sys s = { f_open, f_ioctl, f_close, &fk };

	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev_root, sizeof(dev_root), "%s/dev", root);
	*dev = NULL;
	return vfio_device_open_sys(spec, &o, &s, dev);
}

static struct vfmig_device *opened(const char *spec)
{
	struct vfmig_device *dev;

	cr_assert_eq(try_open(spec, &dev), 0, "%s: %s", spec, msg);
	return dev;
}

static void open_error(const char *spec, int err, const char *text)
{
	struct vfmig_device *dev;

	cr_expect_eq(try_open(spec, &dev), -err, "%s: %s", spec, msg);
	cr_expect_null(dev);
	cr_expect(strstr(msg, text), "%s: '%s' lacks '%s'", spec, msg, text);
}

Test(vfio, group_path_in_kernel_order)
{
	struct vfmig_device *dev = opened("pci:" BDF);

	cr_expect_str_eq(vfmig_device_name(dev), BDF);
	cr_expect_str_eq(vfmig_device_backend(dev), "vfio");
	cr_expect_str_eq(fk.devname, BDF);
	cr_expect_str_eq(
		fk.log,
		"version status set-container set-iommu get-device-fd info");
	cr_expect_eq(vfmig_device_migration_flags(dev),
		     VFMIG_MIGRATION_STOP_COPY | VFMIG_MIGRATION_P2P |
			     VFMIG_MIGRATION_PRE_COPY);
	vfmig_device_close(dev);
	/* everything it opened is closed */
	for (int i = 0; i < 1024; i++)
		cr_expect_eq(fk.role[i], R_NONE, "fd %d left open", i);
}

Test(vfio, short_bdf_and_mdev)
{
	struct vfmig_device *dev = opened("pci:3b:00.1");

	cr_expect_str_eq(vfmig_device_name(dev), BDF);
	cr_expect_str_eq(dev->ident, "vfio-pci");
	vfmig_device_close(dev);
	dev = opened("mdev:" UUID);
	cr_expect_str_eq(fk.devname, UUID);
	/* the manifest's identity of an mdev is its type, not the driver */
	cr_expect_str_eq(dev->ident, "vfio_shim-large");
	/* a caller's own identity: printable, and fitting the manifest */
	cr_expect_eq(vfmig_device_set_identity(dev, "bad\nname"), -EINVAL);
	cr_expect_eq(vfmig_device_set_identity(dev, NULL), -EINVAL);
	{
		char big[200];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		cr_expect_eq(vfmig_device_set_identity(dev, big), -EINVAL);
	}
	cr_expect_str_eq(vfmig_device_identity(dev), "vfio_shim-large");
	cr_expect_eq(vfmig_device_set_identity(dev, "mlx5_vfio_pci"), 0);
	cr_expect_str_eq(vfmig_device_identity(dev), "mlx5_vfio_pci");
	vfmig_device_close(dev);
}

/* ",id=ID": the id the VM knows the device by, the same on both hosts */
Test(vfio, a_spec_gives_the_id)
{
	struct vfmig_device *dev = opened("pci:" BDF ",id=gpu0");

	cr_expect_str_eq(vfmig_device_name(dev), BDF);
	cr_expect_str_eq(vfmig_device_id(dev), "gpu0");
	cr_expect_eq(vfmig_device_set_id(dev, "bad id"), -EINVAL);
	cr_expect_eq(vfmig_device_set_id(dev, ""), -EINVAL);
	cr_expect_eq(vfmig_device_set_id(dev, "nic.1:a-b_c"), 0);
	cr_expect_str_eq(vfmig_device_id(dev), "nic.1:a-b_c");
	vfmig_device_close(dev);
	dev = opened("pci:" BDF);
	cr_expect_str_eq(vfmig_device_id(dev), "");
	vfmig_device_close(dev);
	open_error("pci:" BDF ",id=a,b", EINVAL, "bad id 'a,b'");
}

Test(vfio, cdev_path)
{
	struct vfmig_device *dev = opened("pci:0000:5e:00.0");
	char spec[128];

	cr_expect_str_eq(fk.log, "bind ioas attach info");
	cr_expect_eq(fk.bind_argsz, 16);
	cr_expect_eq(fk.attach_argsz, 12);
	vfmig_device_close(dev);

	/* named directly */
	fk.log[0] = '\0';
	snprintf(spec, sizeof(spec), "%s/dev/vfio/devices/vfio4", root);
	dev = opened(spec);
	cr_expect_str_eq(vfmig_device_name(dev), "vfio4");
	cr_expect_str_eq(fk.log, "bind ioas attach info");
	vfmig_device_close(dev);
}

Test(vfio, fd_handed_over_is_duplicated)
{
	struct vfmig_device *dev;
	char spec[32];
	int ret;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* not a VFIO device: GET_INFO fails */
	fk.role[fd] = R_NONE;
	snprintf(spec, sizeof(spec), "fd:%d", fd);
	ret = try_open(spec, &dev);
	cr_expect_eq(ret, -ENOTTY, "ret %d: %s", ret, msg);
	cr_expect(strstr(msg, "not a VFIO device fd?"), "%s", msg);
	cr_expect_neq(fcntl(fd, F_GETFD), -1, "the caller's fd was closed");
	close(fd);
	open_error("fd:999", EBADF, "device fd 999: EBADF");
}

Test(vfio, resolution_errors)
{
	open_error("pci:0000:3b:00.7", ENOENT,
		   "pci 0000:3b:00.7: no such device (");
	open_error("pci:0000:3b:00.2", ENODEV,
		   "bound to e1000e, not to a vfio driver");
	open_error("pci:0000:3b:00.3", ENODEV, "not bound to any driver");
	open_error("mdev:c0ffee00-0000-0000-0000-000000000000", ENOENT,
		   "mdev c0ffee00-0000-0000-0000-000000000000: no such device");
}

Test(vfio, dev_node_errors)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/dev/vfio/12", root);
	unlink(p);
	open_error("pci:" BDF, ENOENT, "/dev/vfio/12: ENOENT");
	snprintf(p, sizeof(p), "%s/dev/vfio/vfio", root);
	unlink(p);
	open_error("pci:" BDF, ENOENT, "(is the vfio module loaded?)");
}

Test(vfio, group_not_viable)
{
	fk.group_viable = false;
	open_error(
		"pci:" BDF, EBUSY,
		"IOMMU group 12 is not viable: every device in it must be bound to a vfio driver");
}

Test(vfio, no_permission_names_the_file)
{
	char p[128], buf[512] = "";
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	snprintf(p, sizeof(p), "%s/dev/vfio/vfio", root);
	chmod(p, 0666); /* as udev makes it */
	snprintf(p, sizeof(p), "%s/dev/vfio/12", root);
	chmod(p, 0600);
	/* root passes permission checks: try as nobody, in a child */
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct vfmig_device *dev;
		int ret;

		if (geteuid() == 0 && setresuid(65534, 65534, 65534))
			_exit(100);
		ret = try_open("pci:" BDF, &dev);
		if (write(pfd[1], msg, strlen(msg)) < 0)
			_exit(101);
		_exit(-ret);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(n > 0);
	cr_expect_eq(WEXITSTATUS(status), EACCES, "exit %d: %s",
		     WEXITSTATUS(status), buf);
	cr_expect(strstr(buf, "pci 0000:3b:00.1: no permission to open"), "%s",
		  buf);
	cr_expect(strstr(buf, "/dev/vfio/12 read-write (EACCES)"), "%s", buf);
}

Test(vfio, kernel_einval_is_not_a_usage_error)
{
	/* -EINVAL from open means a mistyped spec; the kernel's refusal is
	 * ENODEV, with the kernel's errno in the message */
	fk.get_device_fd_err = EINVAL;
	open_error("pci:" BDF, ENODEV,
		   "pci 0000:3b:00.1: VFIO_GROUP_GET_DEVICE_FD: EINVAL");
	fk.get_device_fd_err = EBUSY;
	open_error("pci:" BDF, EBUSY,
		   "VFIO_GROUP_GET_DEVICE_FD: EBUSY (already open elsewhere)");
}

Test(vfio, no_migration_support)
{
	fk.mig_feature_err = ENOTTY;
	open_error(
		"pci:" BDF, ENOTTY,
		"device 0000:3b:00.1 does not support migration (VFIO_DEVICE_FEATURE_MIGRATION: ENOTTY)");
	/* an mdev without a device_feature op answers EINVAL */
	fk.mig_feature_err = EINVAL;
	open_error(
		"mdev:" UUID, ENOTTY,
		"does not support migration (VFIO_DEVICE_FEATURE_MIGRATION: EINVAL)");
}

Test(vfio, migration_ioctls)
{
	struct vfmig_device *dev = opened("pci:" BDF);
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	uint64_t sz;
	int fd, fd2;

	cr_expect_eq(vfmig_device_get_state(dev), VFMIG_STATE_RUNNING);
	cr_expect_eq(vfmig_device_stopcopy_size(dev, &sz), 0);
	cr_expect_eq(sz, 123456789);
	cr_expect_eq(vfmig_device_precopy_info(dev, &pi), -EINVAL,
		     "no session yet");

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(fk.role[fd], R_DATA);
	cr_expect_eq(vfmig_device_data_fd(dev), fd);
	cr_assert_eq(vfmig_device_precopy_info(dev, &pi), 0);
	cr_expect_eq(fk.precopy_argsz, 24);
	cr_expect_eq(fk.precopy_flags_in, 0);
	cr_expect_eq(pi.initial_bytes, 1000);
	cr_expect_eq(pi.dirty_bytes, 24);

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd2),
		     0);
	cr_expect_eq(fd2, -1, "the session continues on the same fd");
	cr_expect_eq(vfmig_device_data_fd(dev), fd);
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP, NULL), 0);
	cr_expect_eq(vfmig_device_data_fd(dev), -1);
	cr_expect_eq(fcntl(fd, F_GETFD), -1,
		     "the ended session's fd is closed");

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_RESUMING, &fd), 0);
	cr_expect_geq(fd, 0);
	cr_expect_eq(vfmig_device_reset(dev), 0);
	cr_expect_eq(fk.resets, 1);
	cr_expect_eq(vfmig_device_data_fd(dev), -1);
	cr_expect_eq(vfmig_device_get_state(dev), VFMIG_STATE_RUNNING);
	vfmig_device_close(dev);
}

Test(vfio, stopcopy_size_unsupported_on_61_mdev)
{
	struct vfmig_device *dev;
	uint64_t sz;

	fk.data_size_supported = false;
	dev = opened("mdev:" UUID);
	cr_expect_eq(vfmig_device_stopcopy_size(dev, &sz), -EINVAL);
	cr_expect(
		strstr(vfmig_device_strerror(dev),
		       "VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: EINVAL (not supported"),
		"%s", vfmig_device_strerror(dev));
	vfmig_device_close(dev);
}

Test(vfio, failed_set_is_reported_and_recovered_by_reset)
{
	struct vfmig_device *dev = opened("pci:" BDF);
	int fd;

	fk.fail_set_to = VFMIG_STATE_STOP_COPY;
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_PRE_COPY, &fd), 0);
	cr_expect_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, NULL),
		     -EIO);
	cr_expect_str_eq(
		vfmig_device_strerror(dev),
		"device 0000:3b:00.1: PRE_COPY->STOP_COPY failed: EIO (device now in ERROR)");
	cr_expect_eq(vfmig_device_data_fd(dev), -1);
	cr_expect_eq(fcntl(fd, F_GETFD), -1);
	cr_expect_eq(vfmig_device_recover(dev), 0);
	cr_expect_eq(fk.resets, 1, "ERROR is left by a reset only");
	cr_expect_eq(vfmig_device_get_state(dev), VFMIG_STATE_RUNNING);

	/* a device that cannot reset cannot recover from ERROR */
	fk.can_reset = false;
	vfmig_device_close(dev);
	dev = opened("pci:" BDF);
	fk.state = VFMIG_STATE_ERROR;
	cr_expect_eq(vfmig_device_recover(dev), -ENOTTY);
	cr_expect(
		strstr(vfmig_device_strerror(dev),
		       "VFIO_DEVICE_RESET: ENOTTY (the device does not support reset)"),
		"%s", vfmig_device_strerror(dev));
	vfmig_device_close(dev);
}

Test(vfio, recover_from_a_saving_state_asks_for_running)
{
	struct vfmig_device *dev = opened("pci:" BDF);
	int fd;

	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_STOP_COPY, &fd),
		     0);
	cr_expect_eq(vfmig_device_recover(dev), 0);
	cr_expect_eq(fk.resets, 0, "no reset needed");
	cr_expect_eq(fk.state, VFMIG_STATE_RUNNING);
	/* RESUMING is only left by a reset (no partial load) */
	cr_assert_eq(vfmig_device_set_state(dev, VFMIG_STATE_RESUMING, &fd), 0);
	cr_expect_eq(vfmig_device_recover(dev), 0);
	cr_expect_eq(fk.resets, 1);
	vfmig_device_close(dev);
}
