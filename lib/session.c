// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What both ends of a session share: the manifest (built at the source,
 * checked at the destination), the session id, and transfer sums.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "device.h"
#include "errors.h"
#include "session.h"

/* ids and identities travel in the manifest, as they are */
_Static_assert(DEVICE_NAME_MAX - 1 == WIRE_MAX_NAME, "id lengths");
_Static_assert(DEVICE_IDENT_MAX == WIRE_MAX_IDENT, "identity lengths");

void manifest_build(struct vfmig_device *const *devs, unsigned n,
		    struct wire_device *out)
{
	for (unsigned i = 0; i < n; i++) {
		struct vfmig_device *d = devs[i];
		int flags = vfmig_device_migration_flags(d);
		uint64_t size = 0;
		char pos[16];

		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].name, sizeof(out[i].name), "%s",
			 device_id_or(d, i, pos, sizeof(pos)));
		snprintf(out[i].kind, sizeof(out[i].kind), "%.*s",
			 (int)WIRE_MAX_KIND, vfmig_device_backend(d));
		snprintf(out[i].ident, sizeof(out[i].ident), "%s",
			 vfmig_device_identity(d));
		out[i].flags = flags > 0 ? (uint32_t)flags : 0;
		if (vfmig_device_stopcopy_size(d, &size) == 0)
			out[i].size = size;
	}
}

int manifest_ids_unique(struct vfmig_device *const *devs, unsigned n, char *why,
			size_t ws)
{
	char a[16], b[16];

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(device_id_or(devs[i], i, a, sizeof(a)),
				    device_id_or(devs[j], j, b, sizeof(b))))
				return set_errbuf(
					why, ws, EINVAL,
					"devices %u and %u have the same id '%s'",
					j, i, a);
	return 0;
}

/* Our ids, "gpu0, gpu1", for a message. */
static void our_ids(struct vfmig_device *const *devs, unsigned n, char *buf,
		    size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && at + 1 < size; i++) {
		char pos[16];
		int w = snprintf(buf + at, size - at, "%s%s", i ? ", " : "",
				 device_id_or(devs[i], i, pos, sizeof(pos)));

		at += w > 0 ? (size_t)w : 0;
	}
}

/* The local device with id @id, or -1. */
static int find_id(struct vfmig_device *const *devs, unsigned n, const char *id)
{
	char pos[16];

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(device_id_or(devs[i], i, pos, sizeof(pos)), id))
			return (int)i;
	return -1;
}

int manifest_check(const struct wire_device *got, int n,
		   struct vfmig_device *const *devs, unsigned ndev,
		   unsigned *map, char *why, size_t ws)
{
	char ours[256], pos[16];
	bool taken[WIRE_MAX_DEVICES] = { false };

	our_ids(devs, ndev, ours, sizeof(ours));
	for (int i = 0; i < n; i++) {
		int j = find_id(devs, ndev, got[i].name);

		for (int k = 0; k < i; k++)
			if (!strcmp(got[k].name, got[i].name))
				return set_errbuf(
					why, ws, EINVAL,
					"the source names device %s twice",
					got[i].name);
		if (j < 0)
			return set_errbuf(
				why, ws, EINVAL,
				"the source's device %s (%s %s) has no device with that id here (this side has %s)",
				got[i].name, got[i].kind,
				got[i].ident[0] ? got[i].ident : "-", ours);
		map[i] = (unsigned)j;
		taken[j] = true;
	}
	for (unsigned j = 0; j < ndev; j++)
		if (!taken[j])
			return set_errbuf(
				why, ws, EINVAL,
				"device %s here is not in the source's manifest (the source sends %d device%s, this side has %u)",
				device_id_or(devs[j], j, pos, sizeof(pos)), n,
				n == 1 ? "" : "s", ndev);
	for (int i = 0; i < n; i++) {
		const struct vfmig_device *d = devs[map[i]];

		const char *kind = vfmig_device_backend(d);
		const char *ident = vfmig_device_identity(d);

		if (strcmp(got[i].kind, kind) || strcmp(got[i].ident, ident))
			return set_errbuf(
				why, ws, EINVAL,
				"device %s: the source's is %s %s, this side's is %s %s (%s)",
				got[i].name, got[i].kind,
				got[i].ident[0] ? got[i].ident : "-", kind,
				ident[0] ? ident : "-", vfmig_device_name(d));
	}
	return 0;
}

void session_id(uint8_t id[16])
{
	uint64_t t = now_ms();

	/* Unique per session is what matters; getrandom is best. */
	if (getrandom(id, 16, GRND_NONBLOCK) != 16) {
		for (int i = 0; i < 16; i++)
			id[i] = (uint8_t)((t >> (i % 8 * 8)) ^
					  (uint64_t)getpid() ^
					  (uint64_t)i * 131);
	}
}

void transfer_add(struct vfmig_transfer *sum, const struct vfmig_transfer *x)
{
	sum->raw_bytes += x->raw_bytes;
	sum->wire_bytes += x->wire_bytes;
	sum->precopy_bytes += x->precopy_bytes;
	sum->stopcopy_bytes += x->stopcopy_bytes;
	sum->frames += x->frames;
}
