/* SPDX-License-Identifier: (GPL-2.0-only OR LGPL-2.1-or-later) */
/*
 * The vfio_shim generic netlink family: shared by the module and by
 * `vfio-migrate shim`.  Documented in kmod-shim/README.md.
 */
#ifndef VFIO_SHIM_NL_H
#define VFIO_SHIM_NL_H

#define VFIO_SHIM_GENL_NAME "vfio_shim"
#define VFIO_SHIM_GENL_VERSION 1

enum vfio_shim_cmd {
	VFIO_SHIM_CMD_UNSPEC,
	VFIO_SHIM_CMD_GET, /* one device (SHIM_A_DEV), or all with NLM_F_DUMP */
	VFIO_SHIM_CMD_SET, /* SHIM_A_DEV and the attributes to change */
	__VFIO_SHIM_CMD_MAX,
};

enum vfio_shim_attr {
	VFIO_SHIM_A_UNSPEC,
	VFIO_SHIM_A_PAD,
	VFIO_SHIM_A_DEV, /* string: the mdev's UUID */
	VFIO_SHIM_A_TYPE, /* string: the mdev type, e.g. vfio_shim-large */
	VFIO_SHIM_A_STATE, /* u32: enum vfio_device_mig_state */
	VFIO_SHIM_A_SIZE, /* u64: state bytes */
	VFIO_SHIM_A_DIRTY_RATE, /* u64: bytes/s dirtied in RUNNING, PRE_COPY */
	VFIO_SHIM_A_END, /* u32: enum vfio_shim_end */
	VFIO_SHIM_A_READ, /* u32: enum vfio_shim_read */
	VFIO_SHIM_A_GATED, /* u8: new pre-copy data only after PRECOPY_INFO */
	VFIO_SHIM_A_SIZE_REPORT, /* u32: enum vfio_shim_size_report */
	VFIO_SHIM_A_PRECOPY, /* u8: offer PRE_COPY (0: stop-copy only) */
	VFIO_SHIM_A_FAIL_FROM, /* u32: the arc that fails: from state */
	VFIO_SHIM_A_FAIL_TO, /* u32: ... to state (FAIL_MODE NONE: none) */
	VFIO_SHIM_A_FAIL_MODE, /* u32: enum vfio_shim_fail */
	VFIO_SHIM_A_EIO_AFTER, /* u64: save reads fail with EIO after N bytes */
	VFIO_SHIM_A_CORRUPT_AT, /* u64: flip the save stream's byte N - 1 */
	VFIO_SHIM_A_HASH, /* u64: xxh64 of the state, seed 0 */
	VFIO_SHIM_A_SAVED, /* u64: stream bytes read from save fds */
	VFIO_SHIM_A_LOADED, /* u64: stream bytes written to resume fds */
	VFIO_SHIM_A_DIRTIED, /* u64: state bytes dirtied by the workload */
	VFIO_SHIM_A_INFO_QUERIES, /* u64: PRECOPY_INFO calls */
	VFIO_SHIM_A_TRANSITIONS, /* u64: arcs taken */
	VFIO_SHIM_A_RESETS, /* u64: VFIO_DEVICE_RESET and open/close resets */
	VFIO_SHIM_A_LOAD_ERRORS, /* u64: resume streams refused */
	VFIO_SHIM_A_SENT_HASH, /* u64: xxh64 of the state the last stream ended
				* with (0: none yet) */
	VFIO_SHIM_A_ARC_DELAY, /* u32: ms each arc takes (a slow device) */
	__VFIO_SHIM_A_MAX,
};
#define VFIO_SHIM_A_MAX (__VFIO_SHIM_A_MAX - 1)

/* How a pre-copy stream says "nothing more for now". */
enum vfio_shim_end {
	VFIO_SHIM_END_ENOMSG, /* read fails with ENOMSG */
	VFIO_SHIM_END_ZERO, /* read returns 0 */
};

enum vfio_shim_read {
	VFIO_SHIM_READ_NONBLOCK, /* reads never wait; no .poll */
	VFIO_SHIM_READ_BLOCK, /* reads wait for data (unless O_NONBLOCK); .poll */
};

/* What PRECOPY_INFO and MIG_DATA_SIZE report. */
enum vfio_shim_size_report {
	VFIO_SHIM_SIZE_EXACT,
	VFIO_SHIM_SIZE_ZERO,
	VFIO_SHIM_SIZE_HUGE, /* 1 << 62 */
	VFIO_SHIM_SIZE_WRONG, /* a quarter of the truth */
};

enum vfio_shim_fail {
	VFIO_SHIM_FAIL_NONE,
	VFIO_SHIM_FAIL_STAY, /* EIO, the device stays where it was */
	VFIO_SHIM_FAIL_ERROR, /* EIO, the device goes to ERROR */
};

#endif
