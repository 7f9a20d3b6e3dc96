// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The compat uAPI against a newer <linux/vfio.h> (tests/unit/uapi-new, put
 * first on the include path by the Makefile): no redefinitions, and the
 * kernel's own definitions win.
 */
#include <criterion/criterion.h>

#include "uapi/vfio_compat.h"

#ifndef VFMIG_TEST_NEW_VFIO_H
#error "built without the newer-header stand-in"
#endif

Test(compat_new_headers, kernel_definitions_are_used)
{
	/* The enum constants exist alongside our prefixed names. */
	cr_expect_eq(VFIO_DEVICE_STATE_PRE_COPY, VFMIG_VFIO_STATE_PRE_COPY);
	cr_expect_eq(VFIO_DEVICE_STATE_PRE_COPY_P2P,
		     VFMIG_VFIO_STATE_PRE_COPY_P2P);
	/* The grown structs come from the kernel header ... */
	cr_expect_eq(sizeof(struct vfio_device_bind_iommufd), 24);
	cr_expect_eq(sizeof(struct vfio_device_attach_iommufd_pt), 16);
	/* ... and we still pass the argsz of the fields we fill. */
	cr_expect_eq(VFMIG_BIND_IOMMUFD_ARGSZ, 16);
	cr_expect_eq(VFMIG_ATTACH_IOMMUFD_PT_ARGSZ, 12);
	cr_expect_eq(VFIO_MIG_GET_PRECOPY_INFO, 0x3B79);
	cr_expect_eq(IOMMU_IOAS_ALLOC, 0x3B81);
	cr_expect_eq(VFIO_PRECOPY_INFO_REINIT, 1);
}
