/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stands in for a newer kernel's <linux/vfio.h> (6.6+, with the 2026
 * additions): the host header plus the definitions that came later, laid
 * out as the kernel defines them.  The compat header must build on it
 * without redefinitions and must pick these definitions up.
 */
#ifndef VFMIG_TEST_NEW_VFIO_H
#define VFMIG_TEST_NEW_VFIO_H

#include_next <linux/vfio.h>

/* The kernel adds these states to its enum: enum constants, not macros. */
enum {
	VFIO_DEVICE_STATE_PRE_COPY = 6,
	VFIO_DEVICE_STATE_PRE_COPY_P2P = 7,
};

#define VFIO_MIGRATION_PRE_COPY (1 << 2)

struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_PRECOPY_INFO_REINIT (1 << 0)
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)

#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};

#define VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 12

/* Newer kernels grew both cdev structs. */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
	__u32 pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)

#endif
