// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The generic device layer: spec dispatch, session fd ownership, error
 * messages that name device, step and errno, and recovery to RUNNING.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "device.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *vfmig_version(void)
{
	return STR(VFMIG_VERSION_MAJOR) "." STR(VFMIG_VERSION_MINOR) "." STR(
		VFMIG_VERSION_PATCH);
}

/* Append to a string buffer, truncating quietly (messages only). */
static void appendf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

void device_why(struct vfmig_device *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->why, sizeof(dev->why), fmt, ap);
	va_end(ap);
}

static int dev_fail(struct vfmig_device *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int dev_fail(struct vfmig_device *dev, int err, const char *fmt, ...)
{
	char step[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(step, sizeof(step), fmt, ap);
	va_end(ap);
	n = snprintf(dev->err, sizeof(dev->err), "device %s: %s: %s", dev->name,
		     step, errno_name(err));
	if (dev->why[0] && n > 0 && (size_t)n < sizeof(dev->err))
		snprintf(dev->err + n, sizeof(dev->err) - n, " (%s)", dev->why);
	dev->why[0] = '\0';
	return err > 0 ? -err : err;
}

int device_new(const struct device_backend *be, void *priv, const char *name,
	       struct vfmig_device **out)
{
	struct vfmig_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return -ENOMEM;
	dev->be = be;
	dev->priv = priv;
	dev->data_fd = -1;
	dev->last_state = -1;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	*out = dev;
	return 0;
}

bool device_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (!n || n >= DEVICE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._:-",
			    id[i]))
			return false;
	return true;
}

const char *device_id_or(const struct vfmig_device *dev, unsigned idx,
			 char *buf, size_t size)
{
	if (dev->id[0])
		return dev->id;
	snprintf(buf, size, "dev%u", idx);
	return buf;
}

int vfmig_device_open(const char *spec, const struct vfmig_device_opts *opts,
		      struct vfmig_device **out)
{
	struct vfmig_device_opts o;

	/* Fields past the caller's size are absent: treat them as zero. */
	memset(&o, 0, sizeof(o));
	if (opts) {
		if (opts->size < sizeof(opts->size))
			return -EINVAL;
		memcpy(&o, opts,
		       opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	o.size = sizeof(o);
	if (o.errbuf && o.errbuf_size)
		o.errbuf[0] = '\0';
	if (!spec || !out)
		return set_errbuf(o.errbuf, o.errbuf_size, EINVAL,
				  "no device given");
	*out = NULL;
	if (!strncmp(spec, "sim:", 4) || !strcmp(spec, "sim"))
		return sim_device_open(spec[3] ? spec + 4 : "", &o, out);
	return vfio_device_open(spec, &o, out);
}

static int in_save_session(int state)
{
	return state == VFMIG_STATE_PRE_COPY ||
	       state == VFMIG_STATE_PRE_COPY_P2P ||
	       state == VFMIG_STATE_STOP_COPY;
}

static void end_session(struct vfmig_device *dev)
{
	if (dev->data_fd < 0)
		return;
	if (dev->be->session_end)
		dev->be->session_end(dev);
	close(dev->data_fd);
	dev->data_fd = -1;
}

/* A session survives only inside its group of states. */
static void track_session(struct vfmig_device *dev, int state)
{
	if (dev->data_fd < 0)
		return;
	/* Save and resume groups only connect through STOP, where a
	 * session ends, so the state alone decides. */
	if (state != VFMIG_STATE_RESUMING && !in_save_session(state))
		end_session(dev);
}

void vfmig_device_close(struct vfmig_device *dev)
{
	if (!dev)
		return;
	end_session(dev);
	dev->be->destroy(dev);
	free(dev);
}

const char *vfmig_device_name(const struct vfmig_device *dev)
{
	return dev ? dev->name : "";
}

int vfmig_device_set_name(struct vfmig_device *dev, const char *name)
{
	if (!dev || !name || !*name || strlen(name) >= sizeof(dev->name))
		return -EINVAL;
	memcpy(dev->name, name, strlen(name) + 1);
	return 0;
}

int vfmig_device_set_id(struct vfmig_device *dev, const char *id)
{
	if (!dev || !device_id_valid(id))
		return -EINVAL;
	snprintf(dev->id, sizeof(dev->id), "%s", id);
	return 0;
}

const char *vfmig_device_id(const struct vfmig_device *dev)
{
	return dev ? dev->id : "";
}

int vfmig_device_set_identity(struct vfmig_device *dev, const char *identity)
{
	size_t n = identity ? strlen(identity) : 0;

	/* it goes into the manifest: printable ASCII that fits there */
	if (!dev || !identity || n > DEVICE_IDENT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (identity[i] < 0x20 || identity[i] > 0x7e)
			return -EINVAL;
	memcpy(dev->ident, identity, n + 1);
	return 0;
}

const char *vfmig_device_identity(const struct vfmig_device *dev)
{
	return dev ? dev->ident : "";
}

const char *vfmig_device_backend(const struct vfmig_device *dev)
{
	return dev ? dev->be->name : "";
}

const char *vfmig_device_strerror(const struct vfmig_device *dev)
{
	return dev ? dev->err : "";
}

int vfmig_device_migration_flags(struct vfmig_device *dev)
{
	uint32_t flags;
	int ret;

	if (!dev)
		return -EINVAL;
	dev->why[0] = '\0';
	ret = dev->be->migration_flags(dev, &flags);
	if (ret < 0)
		return dev_fail(dev, ret, "reading migration flags");
	return (int)(flags & 0x7fffffff);
}

int vfmig_device_get_state(struct vfmig_device *dev)
{
	int state, ret;

	if (!dev)
		return -EINVAL;
	dev->why[0] = '\0';
	ret = dev->be->get_state(dev, &state);
	if (ret < 0) {
		dev->last_state = -1;
		return dev_fail(dev, ret, "reading the migration state");
	}
	dev->last_state = state;
	return state;
}

int vfmig_device_set_state(struct vfmig_device *dev, enum vfmig_state state,
			   int *data_fd)
{
	int from, now, fd = -1, ret;

	if (data_fd)
		*data_fd = -1;
	if (!dev)
		return -EINVAL;
	from = dev->last_state;
	if (from < 0) {
		from = vfmig_device_get_state(dev);
		if (from < 0)
			return from;
	}
	dev->why[0] = '\0';
	ret = dev->be->set_state(dev, (int)state, &fd);
	if (ret < 0) {
		int err = ret;

		/* A failed SET may leave the device anywhere on the path. */
		if (dev->be->get_state(dev, &now) < 0)
			now = -1;
		dev->last_state = now;
		track_session(dev, now < 0 ? VFMIG_STATE_ERROR : now);
		if (now < 0)
			appendf(dev->why, sizeof(dev->why),
				"%sstate unreadable afterwards",
				dev->why[0] ? "; " : "");
		else if (now != from)
			appendf(dev->why, sizeof(dev->why),
				"%sdevice now in %s", dev->why[0] ? "; " : "",
				state_upper(now));
		return dev_fail(dev, err, "%s->%s failed", state_upper(from),
				state_upper((int)state));
	}
	if (fd >= 0) {
		/* A new session replaces any session we failed to see end. */
		end_session(dev);
		dev->data_fd = fd;
	} else {
		track_session(dev, (int)state);
	}
	dev->last_state = (int)state;
	if (data_fd)
		*data_fd = fd;
	return 0;
}

int vfmig_device_data_fd(const struct vfmig_device *dev)
{
	return dev ? dev->data_fd : -1;
}

int vfmig_device_precopy_info(struct vfmig_device *dev,
			      struct vfmig_precopy_info *info)
{
	struct vfmig_precopy_info pi = { .size = sizeof(pi) };
	size_t n;
	int ret;

	if (!dev || !info)
		return -EINVAL;
	if (info->size < offsetof(struct vfmig_precopy_info, dirty_bytes) +
				 sizeof(info->dirty_bytes))
		return dev_fail(dev, EINVAL,
				"pre-copy info: size %zu is too small (%zu)",
				info->size, sizeof(*info));
	if (dev->data_fd < 0)
		return dev_fail(dev, EINVAL,
				"pre-copy info: no migration session open");
	dev->why[0] = '\0';
	ret = dev->be->precopy_info(dev, dev->data_fd, &pi);
	if (ret < 0)
		return dev_fail(dev, ret, "VFIO_MIG_GET_PRECOPY_INFO");
	n = info->size < sizeof(pi) ? info->size : sizeof(pi);
	memcpy(info, &pi, n);
	info->size = n;
	return 0;
}

int vfmig_device_stopcopy_size(struct vfmig_device *dev, uint64_t *bytes)
{
	int ret;

	if (!dev || !bytes)
		return -EINVAL;
	dev->why[0] = '\0';
	ret = dev->be->stopcopy_size(dev, bytes);
	if (ret < 0)
		return dev_fail(dev, ret, "VFIO_DEVICE_FEATURE_MIG_DATA_SIZE");
	return 0;
}

int vfmig_device_reset(struct vfmig_device *dev)
{
	int ret;

	if (!dev)
		return -EINVAL;
	/* A reset invalidates every session fd. */
	end_session(dev);
	dev->last_state = -1;
	dev->why[0] = '\0';
	ret = dev->be->reset(dev);
	if (ret < 0)
		return dev_fail(dev, ret, "VFIO_DEVICE_RESET");
	return 0;
}

int vfmig_device_recover(struct vfmig_device *dev)
{
	char first[DEVICE_ERR_MAX];
	int state, ret;

	if (!dev)
		return -EINVAL;
	first[0] = '\0';
	state = vfmig_device_get_state(dev);
	if (state == VFMIG_STATE_RUNNING)
		return 0;
	if (state > VFMIG_STATE_ERROR && state < VFMIG_STATE_COUNT &&
	    state != VFMIG_STATE_RESUMING) {
		ret = vfmig_device_set_state(dev, VFMIG_STATE_RUNNING, NULL);
		if (!ret)
			return 0;
		snprintf(first, sizeof(first), "%s", dev->err);
	}
	ret = vfmig_device_reset(dev);
	if (ret < 0) {
		if (first[0]) {
			char tmp[DEVICE_ERR_MAX];

			memcpy(tmp, dev->err, sizeof(tmp));
			memcpy(dev->err, first, sizeof(dev->err));
			appendf(dev->err, sizeof(dev->err), "; then %s", tmp);
		}
		return ret;
	}
	state = vfmig_device_get_state(dev);
	if (state < 0)
		return state;
	if (state != VFMIG_STATE_RUNNING)
		return dev_fail(dev, EIO, "recovery: still in %s after reset",
				state_upper(state));
	return 0;
}

int vfmig_device_state_hash(struct vfmig_device *dev, uint64_t *hash)
{
	int ret;

	if (!dev || !hash)
		return -EINVAL;
	if (!dev->be->state_hash)
		return -EOPNOTSUPP;
	dev->why[0] = '\0';
	ret = dev->be->state_hash(dev, hash);
	if (ret < 0)
		return dev_fail(dev, ret, "state hash");
	return 0;
}
