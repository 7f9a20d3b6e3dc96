// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vfio backend: the kernel's VFIO migration uAPI (protocol v2).
 *
 * Devices are reached through the legacy container/group path (every
 * kernel; the only one on 6.1) or a vfio device cdev bound to an iommufd
 * (6.6+).  Names are resolved through sysfs; both roots can be moved so
 * tests can build a fake tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device_vfio.h"
#include "uapi/vfio_compat.h"

struct vfio_dev {
	struct vfio_sys sys;
	int container, group, iommufd, fd;
	uint32_t mig_flags;
	bool can_reset;
};

static struct vfio_dev *to_vd(struct vfmig_device *dev)
{
	return dev->priv;
}

/* ------------------------------------------------------------ syscalls */

static int sys_open(void *ctx, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	(void)ctx;
	return fd < 0 ? -errno : fd;
}

static int sys_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	(void)ctx;
	return ret < 0 ? -errno : ret;
}

static int sys_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd) < 0 ? -errno : 0;
}

static const struct vfio_sys real_sys = {
	.open = sys_open,
	.ioctl = sys_ioctl,
	.close = sys_close,
};

/* ------------------------------------------------- device features */

/* VFIO_DEVICE_FEATURE with a payload of up to 16 bytes. */
static int feature(struct vfio_dev *vd, uint32_t flags, void *payload,
		   size_t len)
{
	union {
		struct vfio_device_feature hdr;
		uint64_t raw[3];
	} buf;
	int ret;

	memset(&buf, 0, sizeof(buf));
	buf.hdr.argsz = (uint32_t)(sizeof(buf.hdr) + len);
	buf.hdr.flags = flags;
	memcpy(&buf.raw[1], payload, len);
	ret = vd->sys.ioctl(vd->sys.ctx, vd->fd, VFIO_DEVICE_FEATURE, &buf);
	if (ret < 0)
		return ret;
	memcpy(payload, &buf.raw[1], len);
	return 0;
}

static int vfio_migration_flags(struct vfmig_device *dev, uint32_t *flags)
{
	*flags = to_vd(dev)->mig_flags;
	return 0;
}

static int vfio_get_state(struct vfmig_device *dev, int *state)
{
	struct vfio_device_feature_mig_state st = { .data_fd = -1 };
	int ret;

	ret = feature(to_vd(dev),
		      VFIO_DEVICE_FEATURE_GET |
			      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		      &st, sizeof(st));
	if (ret < 0)
		return ret;
	*state = (int)(st.device_state & 0x7fffffff);
	return 0;
}

static int vfio_set_state(struct vfmig_device *dev, int state, int *data_fd)
{
	struct vfio_device_feature_mig_state st = {
		.device_state = (uint32_t)state,
		.data_fd = -1,
	};
	int ret;

	ret = feature(to_vd(dev),
		      VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		      &st, sizeof(st));
	if (ret < 0)
		return ret;
	*data_fd = st.data_fd >= 0 ? st.data_fd : -1;
	return 0;
}

static int vfio_precopy_info(struct vfmig_device *dev, int data_fd,
			     struct vfmig_precopy_info *info)
{
	struct vfio_precopy_info pi = { .argsz = sizeof(pi), .flags = 0 };
	struct vfio_dev *vd = to_vd(dev);
	int ret;

	ret = vd->sys.ioctl(vd->sys.ctx, data_fd, VFIO_MIG_GET_PRECOPY_INFO,
			    &pi);
	if (ret < 0)
		return ret;
	/* pi.flags echoes our 0 on drivers before PRECOPY_INFOv2. */
	info->initial_bytes = pi.initial_bytes;
	info->dirty_bytes = pi.dirty_bytes;
	return 0;
}

static int vfio_stopcopy_size(struct vfmig_device *dev, uint64_t *bytes)
{
	struct vfio_device_feature_mig_data_size sz = { 0 };
	int ret;

	ret = feature(to_vd(dev),
		      VFIO_DEVICE_FEATURE_GET |
			      VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
		      &sz, sizeof(sz));
	if (ret == -EINVAL || ret == -ENOTTY)
		device_why(dev, "not supported by this kernel or driver");
	if (ret < 0)
		return ret;
	*bytes = sz.stop_copy_length;
	return 0;
}

static int vfio_reset(struct vfmig_device *dev)
{
	struct vfio_dev *vd = to_vd(dev);

	if (!vd->can_reset) {
		device_why(dev, "the device does not support reset");
		return -ENOTTY;
	}
	return vd->sys.ioctl(vd->sys.ctx, vd->fd, VFIO_DEVICE_RESET, NULL);
}

static void close_fd(struct vfio_dev *vd, int *fd)
{
	if (*fd >= 0)
		vd->sys.close(vd->sys.ctx, *fd);
	*fd = -1;
}

static void vfio_release(struct vfio_dev *vd)
{
	/* Device before group before container (the kernel's order). */
	close_fd(vd, &vd->fd);
	close_fd(vd, &vd->group);
	close_fd(vd, &vd->container);
	close_fd(vd, &vd->iommufd);
	free(vd);
}

static void vfio_destroy(struct vfmig_device *dev)
{
	vfio_release(to_vd(dev));
}

static const struct device_backend vfio_backend = {
	.name = "vfio",
	.migration_flags = vfio_migration_flags,
	.get_state = vfio_get_state,
	.set_state = vfio_set_state,
	.precopy_info = vfio_precopy_info,
	.stopcopy_size = vfio_stopcopy_size,
	.reset = vfio_reset,
	.destroy = vfio_destroy,
};

/* ----------------------------------------------------------- opening */

struct ctx {
	const char *sysfs, *dev;
	char *err;
	size_t err_size;
	char name[DEVICE_NAME_MAX]; /* BDF, UUID or cdev name */
	const char *kind; /* "pci", "mdev", "cdev", "fd" */
	char sysdir[PATH_MAX];
	char driver[NAME_MAX + 1]; /* the identity: driver, or mdev type */
};

/* snprintf for paths: a path that does not fit is an error, not a cut. */
static int pathf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static const char *root(const char *given, const char *env, const char *dflt)
{
	const char *e;

	if (given)
		return given;
	e = getenv(env);
	return e && *e ? e : dflt;
}

static bool is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')))
			return false;
	return true;
}

/* DDDD:BB:DD.F, or BB:DD.F meaning domain 0000. */
static int parse_bdf(struct ctx *c, const char *s)
{
	char full[16];
	size_t len = strlen(s);

	if (len == 7)
		snprintf(full, sizeof(full), "0000:%s", s);
	else if (len == 12)
		snprintf(full, sizeof(full), "%s", s);
	else
		goto bad;
	if (!is_hex(full, 4) || full[4] != ':' || !is_hex(full + 5, 2) ||
	    full[7] != ':' || !is_hex(full + 8, 2) || full[10] != '.' ||
	    full[11] < '0' || full[11] > '7' ||
	    strtoul(full + 8, NULL, 16) > 0x1f)
		goto bad;
	for (char *p = full; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p | 0x20);
	snprintf(c->name, sizeof(c->name), "%s", full);
	return 0;
bad:
	return set_errbuf(
		c->err, c->err_size, EINVAL,
		"bad PCI address '%s' (expected DDDD:BB:DD.F, e.g. 0000:3b:00.1)",
		s);
}

static int parse_uuid(struct ctx *c, const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	const char *p = s;

	for (int i = 0; i < 5; i++) {
		if (!is_hex(p, (size_t)groups[i]) ||
		    strnlen(p, (size_t)groups[i]) < (size_t)groups[i])
			goto bad;
		p += groups[i];
		if (i < 4 && *p++ != '-')
			goto bad;
	}
	if (*p)
		goto bad;
	snprintf(c->name, sizeof(c->name), "%s", s);
	for (char *q = c->name; *q; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q | 0x20);
	return 0;
bad:
	return set_errbuf(
		c->err, c->err_size, EINVAL,
		"bad mdev UUID '%s' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
		s);
}

/* basename of the symlink @dir/@link, or -errno */
static int link_base(const char *dir, const char *link, char *out, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (pathf(path, sizeof(path), "%s/%s", dir, link))
		return -ENAMETOOLONG;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	return pathf(out, size, "%s", base ? base + 1 : target);
}

/*
 * A kernel errno met while opening.  EINVAL from an ioctl here means the
 * kernel refused the device, not that the caller mistyped it (-EINVAL from
 * vfmig_device_open() means a bad spec): report it as ENODEV.
 */
static int kerr(int ret)
{
	return ret == -EINVAL ? -ENODEV : ret;
}

static int open_error(struct ctx *c, const char *path, int err,
		      const char *hint)
{
	if (err == -EACCES || err == -EPERM)
		return set_errbuf(
			c->err, c->err_size, err,
			"%s %s: no permission to open %s read-write (%s); run as root or grant access with a udev rule",
			c->kind, c->name, path, errno_name(err));
	if (err == -EBUSY)
		return set_errbuf(
			c->err, c->err_size, err,
			"%s %s: %s is in use by another process (EBUSY)",
			c->kind, c->name, path);
	return set_errbuf(c->err, c->err_size, err,
			  "%s %s: cannot open %s: %s%s", c->kind, c->name, path,
			  errno_name(err), hint);
}

/* Is the device there and bound to a driver that can hand it to us? */
static int check_sysfs(struct ctx *c)
{
	char driver[NAME_MAX + 1];
	struct stat st;
	int ret;

	if (stat(c->sysdir, &st) < 0)
		return set_errbuf(c->err, c->err_size, ENOENT,
				  "%s %s: no such device (%s: %s)", c->kind,
				  c->name, c->sysdir, errno_name(errno));
	ret = link_base(c->sysdir, "driver", driver, sizeof(driver));
	if (ret == 0)
		memcpy(c->driver, driver, sizeof(c->driver));
	if (ret == -ENOENT)
		return set_errbuf(
			c->err, c->err_size, ENODEV,
			"%s %s: not bound to any driver (bind it to vfio-pci or a vfio variant driver)",
			c->kind, c->name);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: cannot read %s/driver: %s", c->kind,
				  c->name, c->sysdir, errno_name(ret));
	/* vfio-pci and its variants (mlx5_vfio_pci, ...) carry "vfio";
	 * an mdev is bound to its parent's mdev driver. */
	if (!strcmp(c->kind, "pci") && !strstr(driver, "vfio"))
		return set_errbuf(
			c->err, c->err_size, ENODEV,
			"%s %s: bound to %s, not to a vfio driver (bind it to vfio-pci or a vfio variant driver)",
			c->kind, c->name, driver);
	/* one mdev driver serves several types, and a state only loads
	 * into its own type: the type ("vfio_shim-large") identifies it */
	if (!strcmp(c->kind, "mdev") &&
	    link_base(c->sysdir, "mdev_type", driver, sizeof(driver)) == 0)
		memcpy(c->driver, driver, sizeof(c->driver));
	return 0;
}

static int open_group(struct ctx *c, struct vfio_dev *vd, const char *group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];
	int ret;

	if (pathf(path, sizeof(path), "%s/vfio/vfio", c->dev))
		return set_errbuf(c->err, c->err_size, ENAMETOOLONG,
				  "/dev root too long");
	ret = vd->sys.open(vd->sys.ctx, path, O_RDWR);
	if (ret < 0)
		return open_error(c, path, ret,
				  " (is the vfio module loaded?)");
	vd->container = ret;
	ret = vd->sys.ioctl(vd->sys.ctx, vd->container, VFIO_GET_API_VERSION,
			    NULL);
	if (ret != VFIO_API_VERSION)
		return set_errbuf(c->err, c->err_size, EPROTO,
				  "%s: VFIO API version %d, expected %d", path,
				  ret, VFIO_API_VERSION);

	if (pathf(path, sizeof(path), "%s/vfio/%s", c->dev, group))
		return set_errbuf(c->err, c->err_size, ENAMETOOLONG,
				  "/dev root too long");
	ret = vd->sys.open(vd->sys.ctx, path, O_RDWR);
	if (ret < 0)
		return open_error(c, path, ret, "");
	vd->group = ret;
	ret = vd->sys.ioctl(vd->sys.ctx, vd->group, VFIO_GROUP_GET_STATUS,
			    &status);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: VFIO_GROUP_GET_STATUS on %s: %s",
				  c->kind, c->name, path, errno_name(ret));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return set_errbuf(
			c->err, c->err_size, EBUSY,
			"%s %s: IOMMU group %s is not viable: every device in it must be bound to a vfio driver (see %s/kernel/iommu_groups/%s/devices)",
			c->kind, c->name, group, c->sysfs, group);
	ret = vd->sys.ioctl(vd->sys.ctx, vd->group, VFIO_GROUP_SET_CONTAINER,
			    &vd->container);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: VFIO_GROUP_SET_CONTAINER: %s",
				  c->kind, c->name, errno_name(ret));
	/* GET_DEVICE_FD fails until the container has an IOMMU, even for
	 * an mdev that does no DMA. */
	ret = vd->sys.ioctl(vd->sys.ctx, vd->container, VFIO_CHECK_EXTENSION,
			    (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
	if (ret <= 0)
		return set_errbuf(
			c->err, c->err_size, ENODEV,
			"%s %s: the kernel offers no VFIO_TYPE1v2_IOMMU (is vfio_iommu_type1 loaded?)",
			c->kind, c->name);
	ret = vd->sys.ioctl(vd->sys.ctx, vd->container, VFIO_SET_IOMMU,
			    (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: VFIO_SET_IOMMU(TYPE1v2): %s", c->kind,
				  c->name, errno_name(ret));
	ret = vd->sys.ioctl(vd->sys.ctx, vd->group, VFIO_GROUP_GET_DEVICE_FD,
			    c->name);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: VFIO_GROUP_GET_DEVICE_FD: %s%s",
				  c->kind, c->name, errno_name(ret),
				  ret == -EBUSY ? " (already open elsewhere)" :
						  "");
	vd->fd = ret;
	return 0;
}

static int open_cdev(struct ctx *c, struct vfio_dev *vd, const char *path)
{
	struct vfio_device_bind_iommufd bind;
	struct vfio_device_attach_iommufd_pt attach;
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	char iommu[PATH_MAX];
	int ret;

	ret = vd->sys.open(vd->sys.ctx, path, O_RDWR);
	if (ret < 0)
		return open_error(c, path, ret, "");
	vd->fd = ret;
	if (pathf(iommu, sizeof(iommu), "%s/iommu", c->dev))
		return set_errbuf(c->err, c->err_size, ENAMETOOLONG,
				  "/dev root too long");
	ret = vd->sys.open(vd->sys.ctx, iommu, O_RDWR);
	if (ret < 0)
		return open_error(c, iommu, ret,
				  " (a vfio cdev needs iommufd, Linux 6.6+)");
	vd->iommufd = ret;
	memset(&bind, 0, sizeof(bind));
	bind.argsz = VFMIG_BIND_IOMMUFD_ARGSZ;
	bind.iommufd = vd->iommufd;
	ret = vd->sys.ioctl(vd->sys.ctx, vd->fd, VFIO_DEVICE_BIND_IOMMUFD,
			    &bind);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: VFIO_DEVICE_BIND_IOMMUFD: %s",
				  c->kind, c->name, errno_name(ret));
	ret = vd->sys.ioctl(vd->sys.ctx, vd->iommufd, IOMMU_IOAS_ALLOC, &ioas);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: IOMMU_IOAS_ALLOC: %s", c->kind,
				  c->name, errno_name(ret));
	memset(&attach, 0, sizeof(attach));
	attach.argsz = VFMIG_ATTACH_IOMMUFD_PT_ARGSZ;
	attach.pt_id = ioas.out_ioas_id;
	ret = vd->sys.ioctl(vd->sys.ctx, vd->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			    &attach);
	if (ret < 0)
		return set_errbuf(c->err, c->err_size, kerr(ret),
				  "%s %s: VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s",
				  c->kind, c->name, errno_name(ret));
	return 0;
}

/* The vfioN cdev of a sysfs device, if the kernel made one. */
static bool find_cdev(struct ctx *c, char *out, size_t size)
{
	char dir[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (pathf(dir, sizeof(dir), "%s/vfio-dev", c->sysdir))
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "vfio", 4)) {
			found = !pathf(out, size, "%s/vfio/devices/%s", c->dev,
				       de->d_name);
			break;
		}
	}
	closedir(d);
	return found;
}

static int open_sysfs_device(struct ctx *c, struct vfio_dev *vd)
{
	char group[NAME_MAX + 1], path[PATH_MAX], cdev[PATH_MAX];
	struct stat st;
	int ret;

	ret = check_sysfs(c);
	if (ret < 0)
		return ret;
	/* Prefer the group path (every kernel); a cdev-only system
	 * (group nodes absent) uses iommufd. */
	ret = link_base(c->sysdir, "iommu_group", group, sizeof(group));
	if (ret == 0) {
		if (pathf(path, sizeof(path), "%s/vfio/%s", c->dev, group))
			return set_errbuf(c->err, c->err_size, ENAMETOOLONG,
					  "/dev root too long");
		if (stat(path, &st) == 0 || !find_cdev(c, cdev, sizeof(cdev)))
			return open_group(c, vd, group);
		return open_cdev(c, vd, cdev);
	}
	if (find_cdev(c, cdev, sizeof(cdev)))
		return open_cdev(c, vd, cdev);
	return set_errbuf(
		c->err, c->err_size, ENODEV,
		"%s %s: no IOMMU group and no vfio cdev (%s/iommu_group: %s)",
		c->kind, c->name, c->sysdir, errno_name(ret));
}

/* Device info and migration support, once the fd is open. */
static int probe(struct ctx *c, struct vfio_dev *vd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_device_feature_migration mig = { 0 };
	int ret;

	ret = vd->sys.ioctl(vd->sys.ctx, vd->fd, VFIO_DEVICE_GET_INFO, &info);
	if (ret < 0)
		return set_errbuf(
			c->err, c->err_size, ret,
			"%s %s: VFIO_DEVICE_GET_INFO: %s (not a VFIO device fd?)",
			c->kind, c->name, errno_name(ret));
	vd->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	ret = feature(vd,
		      VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
		      &mig, sizeof(mig));
	/* ENOTTY: no migration ops; EINVAL: no device_feature op (mdev). */
	if (ret == -ENOTTY || ret == -EINVAL)
		return set_errbuf(
			c->err, c->err_size, ENOTTY,
			"device %s does not support migration (VFIO_DEVICE_FEATURE_MIGRATION: %s)",
			c->name, errno_name(ret));
	if (ret < 0)
		return set_errbuf(
			c->err, c->err_size, ret,
			"device %s: VFIO_DEVICE_FEATURE_MIGRATION: %s", c->name,
			errno_name(ret));
	if (!(mig.flags & VFIO_MIGRATION_STOP_COPY))
		return set_errbuf(
			c->err, c->err_size, ENOTTY,
			"device %s does not support migration (no STOP_COPY in flags 0x%llx)",
			c->name, (unsigned long long)mig.flags);
	vd->mig_flags = (uint32_t)(mig.flags & (VFIO_MIGRATION_STOP_COPY |
						VFIO_MIGRATION_P2P |
						VFIO_MIGRATION_PRE_COPY));
	return 0;
}

static int open_spec(const char *spec, const struct vfmig_device_opts *opts,
		     const struct vfio_sys *sys, struct vfmig_device **out)
{
	struct ctx c = { 0 };
	struct vfio_dev *vd;
	int ret;

	c.sysfs = root(opts ? opts->sysfs_root : NULL, "VFMIG_SYSFS_ROOT",
		       "/sys");
	c.dev = root(opts ? opts->dev_root : NULL, "VFMIG_DEV_ROOT", "/dev");
	c.err = opts ? opts->errbuf : NULL;
	c.err_size = opts ? opts->errbuf_size : 0;

	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return set_errbuf(c.err, c.err_size, ENOMEM, "out of memory");
	vd->sys = *sys;
	vd->container = vd->group = vd->iommufd = vd->fd = -1;

	if (!strncmp(spec, "pci:", 4)) {
		c.kind = "pci";
		ret = parse_bdf(&c, spec + 4);
		if (!ret && pathf(c.sysdir, sizeof(c.sysdir),
				  "%s/bus/pci/devices/%s", c.sysfs, c.name))
			ret = set_errbuf(c.err, c.err_size, ENAMETOOLONG,
					 "sysfs root too long");
		if (!ret)
			ret = open_sysfs_device(&c, vd);
	} else if (!strncmp(spec, "mdev:", 5)) {
		c.kind = "mdev";
		ret = parse_uuid(&c, spec + 5);
		if (!ret && pathf(c.sysdir, sizeof(c.sysdir),
				  "%s/bus/mdev/devices/%s", c.sysfs, c.name))
			ret = set_errbuf(c.err, c.err_size, ENAMETOOLONG,
					 "sysfs root too long");
		if (!ret)
			ret = open_sysfs_device(&c, vd);
	} else if (!strncmp(spec, "fd:", 3)) {
		char *end;
		long n;

		c.kind = "fd";
		snprintf(c.name, sizeof(c.name), "fd:%s", spec + 3);
		errno = 0;
		n = strtol(spec + 3, &end, 10);
		if (errno || end == spec + 3 || *end || n < 0 || n > INT_MAX) {
			ret = set_errbuf(c.err, c.err_size, EINVAL,
					 "bad device fd '%s' (expected fd:N)",
					 spec + 3);
		} else {
			/* The caller keeps its fd; we work on our own. */
			ret = fcntl((int)n, F_DUPFD_CLOEXEC, 3);
			if (ret < 0)
				ret = set_errbuf(c.err, c.err_size, errno,
						 "device fd %ld: %s", n,
						 errno_name(errno));
			if (ret >= 0) {
				vd->fd = ret;
				ret = 0;
			}
		}
	} else if (spec[0] == '/') {
		const char *base = strrchr(spec, '/') + 1;

		c.kind = "cdev";
		snprintf(c.name, sizeof(c.name), "%s", base);
		if (strncmp(base, "vfio", 4) || !base[4])
			ret = set_errbuf(
				c.err, c.err_size, EINVAL,
				"'%s' is not a vfio device cdev (expected /dev/vfio/devices/vfioN)",
				spec);
		else
			ret = open_cdev(&c, vd, spec);
	} else {
		ret = set_errbuf(
			c.err, c.err_size, EINVAL,
			"bad device '%s' (expected pci:DDDD:BB:DD.F, mdev:UUID, /dev/vfio/devices/vfioN, fd:N or sim:...)",
			spec);
	}
	if (!ret)
		ret = probe(&c, vd);
	if (!ret)
		ret = device_new(&vfio_backend, vd, c.name, out);
	if (!ret)
		snprintf((*out)->ident, sizeof((*out)->ident), "%.*s",
			 (int)DEVICE_IDENT_MAX, c.driver);
	if (ret) {
		vfio_release(vd);
		return ret;
	}
	return 0;
}

/* A spec, with an optional trailing ",id=ID": the id the VM knows the
 * device by, the same on both hosts. */
int vfio_device_open_sys(const char *spec, const struct vfmig_device_opts *opts,
			 const struct vfio_sys *sys, struct vfmig_device **out)
{
	const char *at = strstr(spec, ",id=");
	char *eb = opts ? opts->errbuf : NULL;
	size_t ebs = opts ? opts->errbuf_size : 0;
	char path[4096];
	int ret;

	if (!at)
		return open_spec(spec, opts, sys, out);
	if (!device_id_valid(at + 4))
		return set_errbuf(
			eb, ebs, EINVAL,
			"%s: bad id '%s' (1 to %d of A-Z a-z 0-9 . _ : -)",
			spec, at + 4, DEVICE_NAME_MAX - 1);
	if ((size_t)(at - spec) >= sizeof(path))
		return set_errbuf(eb, ebs, EINVAL, "device spec too long");
	memcpy(path, spec, (size_t)(at - spec));
	path[at - spec] = '\0';
	ret = open_spec(path, opts, sys, out);
	if (ret == 0)
		snprintf((*out)->id, sizeof((*out)->id), "%s", at + 4);
	return ret;
}

int vfio_device_open(const char *spec, const struct vfmig_device_opts *opts,
		     struct vfmig_device **out)
{
	return vfio_device_open_sys(spec, opts, &real_sys, out);
}
