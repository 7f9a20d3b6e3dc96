/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stands in for a newer kernel's <linux/iommufd.h> (absent on 6.1). */
#ifndef VFMIG_TEST_NEW_IOMMUFD_H
#define VFMIG_TEST_NEW_IOMMUFD_H

#include <linux/types.h>
#include <linux/ioctl.h>

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(';', 0x81)

#endif
