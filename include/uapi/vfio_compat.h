/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VFIO uAPI definitions newer than the build host's <linux/vfio.h>.
 *
 * Debian bookworm ships 6.1 uAPI headers, which stop at protocol v2 as of
 * 5.18: no PRE_COPY, no VFIO_MIG_GET_PRECOPY_INFO, no MIG_DATA_SIZE
 * (all 6.2) and no iommufd cdev binding (6.6).  Everything here is guarded
 * on a *macro* the newer header defines, so building against a newer header
 * uses the kernel's own definitions and the static asserts below check that
 * they have the layout we rely on.
 *
 * Device states are enum constants in the kernel header and cannot be tested
 * with #ifdef, so we never define VFIO_DEVICE_STATE_PRE_COPY*: the state
 * values have project-prefixed names instead.
 */
#ifndef VFMIG_UAPI_VFIO_COMPAT_H
#define VFMIG_UAPI_VFIO_COMPAT_H

#include <stddef.h>
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

/* Migration device states (enum vfio_device_mig_state), all kernels. */
#define VFMIG_VFIO_STATE_ERROR 0
#define VFMIG_VFIO_STATE_STOP 1
#define VFMIG_VFIO_STATE_RUNNING 2
#define VFMIG_VFIO_STATE_STOP_COPY 3
#define VFMIG_VFIO_STATE_RESUMING 4
#define VFMIG_VFIO_STATE_RUNNING_P2P 5
#define VFMIG_VFIO_STATE_PRE_COPY 6 /* 6.2 */
#define VFMIG_VFIO_STATE_PRE_COPY_P2P 7 /* 6.2 */

/* 6.2: pre-copy migration. */
#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY (1 << 2)
#endif

#ifndef VFIO_MIG_GET_PRECOPY_INFO
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

/* 6.2: feature 9, the driver's estimate of the STOP_COPY stream length. */
#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif

/* 2026 kernels: opt-in for a meaningful vfio_precopy_info.flags. */
#ifndef VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2
#define VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 12
#endif
#ifndef VFIO_PRECOPY_INFO_REINIT
#define VFIO_PRECOPY_INFO_REINIT (1 << 0)
#endif

/* 6.6: vfio device cdev bound to an iommufd. */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/* <linux/iommufd.h> is absent before 6.2. */
#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif
#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(';', 0x81)
#endif

/*
 * Newer kernels append fields to the cdev structs (bind: token_uuid_ptr,
 * attach: pasid).  We pass the argsz of the layout we fill in, so the kernel
 * treats the tail as absent whatever header we were built with.
 */
#define VFMIG_BIND_IOMMUFD_ARGSZ \
	(offsetof(struct vfio_device_bind_iommufd, out_devid) + sizeof(__u32))
#define VFMIG_ATTACH_IOMMUFD_PT_ARGSZ \
	(offsetof(struct vfio_device_attach_iommufd_pt, pt_id) + sizeof(__u32))

/* The layouts we rely on, whoever defined them. */
_Static_assert(sizeof(struct vfio_device_feature) == 8, "vfio_device_feature");
_Static_assert(offsetof(struct vfio_device_feature, flags) == 4,
	       "vfio_device_feature.flags");
_Static_assert(sizeof(struct vfio_device_feature_migration) == 8,
	       "vfio_device_feature_migration");
_Static_assert(sizeof(struct vfio_device_feature_mig_state) == 8,
	       "vfio_device_feature_mig_state");
_Static_assert(offsetof(struct vfio_device_feature_mig_state, data_fd) == 4,
	       "vfio_device_feature_mig_state.data_fd");
_Static_assert(sizeof(struct vfio_device_feature_mig_data_size) == 8,
	       "vfio_device_feature_mig_data_size");
_Static_assert(sizeof(struct vfio_precopy_info) == 24, "vfio_precopy_info");
_Static_assert(offsetof(struct vfio_precopy_info, flags) == 4,
	       "vfio_precopy_info.flags");
_Static_assert(offsetof(struct vfio_precopy_info, initial_bytes) == 8,
	       "vfio_precopy_info.initial_bytes");
_Static_assert(offsetof(struct vfio_precopy_info, dirty_bytes) == 16,
	       "vfio_precopy_info.dirty_bytes");
_Static_assert(sizeof(struct vfio_device_bind_iommufd) >= 16,
	       "vfio_device_bind_iommufd");
_Static_assert(offsetof(struct vfio_device_bind_iommufd, iommufd) == 8,
	       "vfio_device_bind_iommufd.iommufd");
_Static_assert(offsetof(struct vfio_device_bind_iommufd, out_devid) == 12,
	       "vfio_device_bind_iommufd.out_devid");
_Static_assert(VFMIG_BIND_IOMMUFD_ARGSZ == 16, "bind argsz");
_Static_assert(offsetof(struct vfio_device_attach_iommufd_pt, pt_id) == 8,
	       "vfio_device_attach_iommufd_pt.pt_id");
_Static_assert(VFMIG_ATTACH_IOMMUFD_PT_ARGSZ == 12, "attach argsz");
_Static_assert(sizeof(struct iommu_ioas_alloc) == 12, "iommu_ioas_alloc");
_Static_assert(sizeof(struct vfio_group_status) == 8, "vfio_group_status");
_Static_assert(VFIO_MIG_GET_PRECOPY_INFO == 0x3B79, "PRECOPY_INFO ioctl");
_Static_assert(VFIO_DEVICE_BIND_IOMMUFD == 0x3B76, "BIND_IOMMUFD ioctl");
_Static_assert(VFIO_DEVICE_ATTACH_IOMMUFD_PT == 0x3B77, "ATTACH ioctl");
_Static_assert(IOMMU_IOAS_ALLOC == 0x3B81, "IOAS_ALLOC ioctl");
_Static_assert(VFIO_DEVICE_FEATURE == 0x3B75, "DEVICE_FEATURE ioctl");
_Static_assert(VFIO_MIGRATION_PRE_COPY == 4, "PRE_COPY flag");
_Static_assert(VFIO_DEVICE_STATE_RUNNING_P2P == VFMIG_VFIO_STATE_RUNNING_P2P,
	       "state numbering");
_Static_assert(VFIO_DEVICE_STATE_RESUMING == VFMIG_VFIO_STATE_RESUMING,
	       "state numbering");

#endif /* VFMIG_UAPI_VFIO_COMPAT_H */
