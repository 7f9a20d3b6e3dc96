/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vfio backend's seam to the kernel, replaceable by tests (a fake kernel). */
#ifndef VFMIG_LIB_DEVICE_VFIO_H
#define VFMIG_LIB_DEVICE_VFIO_H

#include "device.h"

struct vfio_sys {
	/* As open(2), ioctl(2), close(2), but returning -errno. */
	int (*open)(void *ctx, const char *path, int flags);
	int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
	int (*close)(void *ctx, int fd);
	void *ctx;
};

int vfio_device_open_sys(const char *spec, const struct vfmig_device_opts *opts,
			 const struct vfio_sys *sys, struct vfmig_device **out);

#endif /* VFMIG_LIB_DEVICE_VFIO_H */
