// SPDX-License-Identifier: GPL-2.0-or-later
/* The compat uAPI against this host's <linux/vfio.h>. */
#include <criterion/criterion.h>

#include "uapi/vfio_compat.h"
#include "vfmig.h"

Test(compat, ioctl_numbers)
{
	cr_expect_eq(VFIO_MIG_GET_PRECOPY_INFO, 0x3B79);
	cr_expect_eq(VFIO_DEVICE_BIND_IOMMUFD, 0x3B76);
	cr_expect_eq(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77);
	cr_expect_eq(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78);
	cr_expect_eq(IOMMU_IOAS_ALLOC, 0x3B81);
	cr_expect_eq(VFIO_DEVICE_FEATURE, 0x3B75);
	cr_expect_eq(VFIO_GROUP_GET_DEVICE_FD, 0x3B6A);
	cr_expect_eq(VFIO_DEVICE_RESET, 0x3B6F);
}

Test(compat, feature_and_flag_values)
{
	cr_expect_eq(VFIO_DEVICE_FEATURE_MIGRATION, 1);
	cr_expect_eq(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, 2);
	cr_expect_eq(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, 9);
	cr_expect_eq(VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2, 12);
	cr_expect_eq(VFIO_MIGRATION_STOP_COPY, VFMIG_MIGRATION_STOP_COPY);
	cr_expect_eq(VFIO_MIGRATION_P2P, VFMIG_MIGRATION_P2P);
	cr_expect_eq(VFIO_MIGRATION_PRE_COPY, VFMIG_MIGRATION_PRE_COPY);
}

Test(compat, struct_layouts)
{
	cr_expect_eq(sizeof(struct vfio_precopy_info), 24);
	cr_expect_eq(offsetof(struct vfio_precopy_info, initial_bytes), 8);
	cr_expect_eq(offsetof(struct vfio_precopy_info, dirty_bytes), 16);
	cr_expect_eq(sizeof(struct vfio_device_feature_mig_data_size), 8);
	cr_expect_eq(sizeof(struct vfio_device_feature_mig_state), 8);
	cr_expect_eq(VFMIG_BIND_IOMMUFD_ARGSZ, 16);
	cr_expect_eq(VFMIG_ATTACH_IOMMUFD_PT_ARGSZ, 12);
	cr_expect_eq(sizeof(struct iommu_ioas_alloc), 12);
}

Test(compat, state_numbering_matches_kernel)
{
	cr_expect_eq(VFIO_DEVICE_STATE_ERROR, VFMIG_STATE_ERROR);
	cr_expect_eq(VFIO_DEVICE_STATE_STOP, VFMIG_STATE_STOP);
	cr_expect_eq(VFIO_DEVICE_STATE_RUNNING, VFMIG_STATE_RUNNING);
	cr_expect_eq(VFIO_DEVICE_STATE_STOP_COPY, VFMIG_STATE_STOP_COPY);
	cr_expect_eq(VFIO_DEVICE_STATE_RESUMING, VFMIG_STATE_RESUMING);
	cr_expect_eq(VFIO_DEVICE_STATE_RUNNING_P2P, VFMIG_STATE_RUNNING_P2P);
	cr_expect_eq(VFMIG_VFIO_STATE_PRE_COPY, VFMIG_STATE_PRE_COPY);
	cr_expect_eq(VFMIG_VFIO_STATE_PRE_COPY_P2P, VFMIG_STATE_PRE_COPY_P2P);
}
