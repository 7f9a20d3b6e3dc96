/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device layer internals: the backend interface behind struct vfmig_device. */
#ifndef VFMIG_LIB_DEVICE_H
#define VFMIG_LIB_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "vfmig.h"

/*
 * A backend performs raw operations and returns -errno; the generic layer
 * (device.c) owns the session fd, composes error messages and recovery.
 * A backend may explain a failure with device_why().
 */
struct device_backend {
	const char *name;
	int (*migration_flags)(struct vfmig_device *dev, uint32_t *flags);
	int (*get_state)(struct vfmig_device *dev, int *state);
	/* The whole (multi-arc) transition, as one kernel SET. */
	int (*set_state)(struct vfmig_device *dev, int state, int *data_fd);
	int (*precopy_info)(struct vfmig_device *dev, int data_fd,
			    struct vfmig_precopy_info *info);
	int (*stopcopy_size)(struct vfmig_device *dev, uint64_t *bytes);
	int (*reset)(struct vfmig_device *dev);
	int (*state_hash)(struct vfmig_device *dev, uint64_t *hash); /* opt. */
	/* Called when the session fd is about to be closed (opt.). */
	void (*session_end)(struct vfmig_device *dev);
	void (*destroy)(struct vfmig_device *dev);
};

#define DEVICE_NAME_MAX 64
/* an identity string's longest (session.c checks both fit the manifest) */
#define DEVICE_IDENT_MAX 127
#define DEVICE_WHY_MAX 256
#define DEVICE_ERR_MAX 512

struct vfmig_device {
	const struct device_backend *be;
	void *priv;
	char name[DEVICE_NAME_MAX];
	/* What the VM sees it as, the same on both hosts (the manifest
	 * matches devices by it); "" until set: the position, dev0... */
	char id[DEVICE_NAME_MAX];
	/* What must match on the other side: the driver, or the sim's size */
	char ident[DEVICE_IDENT_MAX + 1];
	int data_fd; /* the open session's fd (owned), or -1 */
	int last_state; /* last state seen, -1 when unknown */
	char why[DEVICE_WHY_MAX]; /* backend detail of the last failure */
	char err[DEVICE_ERR_MAX];
};

int device_new(const struct device_backend *be, void *priv, const char *name,
	       struct vfmig_device **out);

/* Record the backend's detail for the failure being reported. */
void device_why(struct vfmig_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Whether @id is a device id (1 to 63 of A-Z a-z 0-9 . _ : -). */
bool device_id_valid(const char *id);
/* @dev's id, or the default of position @idx ("dev0") in @buf. */
const char *device_id_or(const struct vfmig_device *dev, unsigned idx,
			 char *buf, size_t size);

/* "PRE_COPY" for VFMIG_STATE_PRE_COPY, as the kernel spells it. */
const char *state_upper(int state);

/* Whether @flags advertise @state. */
int state_supported(uint32_t flags, int state);

/* Backend constructors (dispatched by vfmig_device_open()). */
int sim_device_open(const char *args, const struct vfmig_device_opts *opts,
		    struct vfmig_device **out);
int vfio_device_open(const char *spec, const struct vfmig_device_opts *opts,
		     struct vfmig_device **out);

#endif /* VFMIG_LIB_DEVICE_H */
