// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_shim: a migratable VFIO mdev device, so that vfio-migrate meets a real
 * kernel driver through the real uAPI (container/group, migration v2).
 *
 * Each device holds a state buffer of deterministic content (seeded by its
 * name) that a workload dirties, page by page, while it runs.  Its migration
 * stream is a header and records: DATA (offset, bytes) and a final END that
 * carries the xxh64 of the whole state.  RESUMING->STOP checks the stream was
 * complete and the hash matches, else EINVAL and ERROR.
 *
 * PRE_COPY goes through the core's next-hop table on 6.2+ and through our
 * own on 6.1, whose core knows neither the states nor the ioctls.  Switches,
 * set per device through the vfio_shim generic netlink family, imitate what
 * real drivers do differently (kmod-shim/README.md).
 *
 * Locking: shim.lock guards a device's state, buffer, settings and files;
 * shim_list_lock the list of devices, taken before any shim.lock.  A reset
 * that finds shim.lock taken is deferred to whoever holds it.
 */
#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/xxhash.h>
#include <net/genetlink.h>

#include "vfio_shim_nl.h"

#define SHIM_NAME "vfio_shim"
#define SHIM_MAGIC 0x31304d4948534656ull /* "VFSHIM01" */
#define SHIM_VERSION 2
#define SHIM_PAGE 4096u
#define SHIM_REC_MAX (1u << 20) /* data bytes per record */
#define SHIM_MAX_SIZE (1ull << 30)
#define SHIM_HUGE (1ull << 62)
#define SHIM_TICK_MS 10

/* 6.2 brought PRE_COPY, PRECOPY_INFO and MIG_DATA_SIZE to the core; on 6.1
 * the driver carries the numbers and the state machine itself. */
#define SHIM_CORE_PRECOPY (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0))
#define S_ERROR VFIO_DEVICE_STATE_ERROR
#define S_STOP VFIO_DEVICE_STATE_STOP
#define S_RUNNING VFIO_DEVICE_STATE_RUNNING
#define S_STOP_COPY VFIO_DEVICE_STATE_STOP_COPY
#define S_RESUMING VFIO_DEVICE_STATE_RESUMING
#define S_RUNNING_P2P VFIO_DEVICE_STATE_RUNNING_P2P
#define S_PRE_COPY ((enum vfio_device_mig_state)6)
#define S_PRE_COPY_P2P ((enum vfio_device_mig_state)7)
#define S_COUNT 8
#define SHIM_MIGRATION_PRE_COPY (1 << 2)
#define SHIM_FEATURE_MIG_DATA_SIZE 9
#define SHIM_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)

struct shim_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};

#if SHIM_CORE_PRECOPY
static_assert(S_PRE_COPY == VFIO_DEVICE_STATE_PRE_COPY);
static_assert(S_PRE_COPY_P2P == VFIO_DEVICE_STATE_PRE_COPY_P2P);
static_assert(SHIM_MIGRATION_PRE_COPY == VFIO_MIGRATION_PRE_COPY);
static_assert(SHIM_GET_PRECOPY_INFO == VFIO_MIG_GET_PRECOPY_INFO);
static_assert(sizeof(struct shim_precopy_info) ==
	      sizeof(struct vfio_precopy_info));
#endif

static unsigned long small_size = 1 << 20;
module_param(small_size, ulong, 0444);
MODULE_PARM_DESC(small_size, "state bytes of a new shim-small (1 MiB)");
static unsigned long large_size = 64 << 20;
module_param(large_size, ulong, 0444);
MODULE_PARM_DESC(large_size, "state bytes of a new shim-large (64 MiB)");
static bool precopy = true;
module_param(precopy, bool, 0444);
MODULE_PARM_DESC(precopy, "new devices offer PRE_COPY (default yes)");

/* The stream: one header, then records. */
struct shim_hdr {
	__le64 magic;
	__le32 version;
	__le32 type;
	__le64 size;
	__le32 page;
	__le32 zero;
};

enum { REC_DATA = 1, REC_END = 2 };

struct shim_rec {
	__le32 kind;
	__le32 len; /* DATA: bytes that follow; END: 0 */
	__le64 arg; /* DATA: state offset; END: xxh64 of the state */
};

struct shim_cfg {
	u64 dirty_rate;
	u32 end, read, size_report, fail_mode;
	u32 fail_from, fail_to;
	u32 arc_delay_ms;
	bool gated, precopy;
	u64 eio_after, corrupt_at;
};

struct shim_file;

/* sysfs: mdev_supported_types/vfio_shim-small, vfio_shim-large */
static struct mdev_type shim_small = { .sysfs_name = "small",
				       .pretty_name = "shim-small" };
static struct mdev_type shim_large = { .sysfs_name = "large",
				       .pretty_name = "shim-large" };

struct shim {
	struct vfio_device vdev;
	struct list_head node; /* shim_list */
	struct mutex lock;
	spinlock_t reset_lock;
	bool deferred_reset;
	enum vfio_device_mig_state state;
	u32 type;
	u64 size, npages, seed;
	u8 *buf;
	unsigned long *dirty; /* pages dirtied since the save session read them */
	bool tracking; /* a pre-copy session follows the dirty pages */
	struct shim_cfg cfg;
	struct shim_file *save, *resume;
	wait_queue_head_t wq; /* readers and pollers of the save file */
	struct delayed_work tick; /* runs the workload for pollers */
	u64 t_work, carry, wseq; /* workload clock, remainder, page sequence */
	u64 saved, loaded, dirtied, queries, transitions, resets, load_errors;
	u64 sent_hash; /* of the state the last stream's END carried */
};

/* A data_fd: the save stream (read) or the resume stream (write). */
struct shim_file {
	struct file *filp;
	struct shim *s;
	bool disabled; /* the device left the arc, or was reset: ENODEV */
	int broken; /* the stream failed (EIO fault): every call says so */
	u8 hb[sizeof(struct shim_hdr)]; /* header bytes pending or parsed */
	u32 hb_len, hb_pos;
	u64 data_off, data_left; /* the current DATA record's state bytes */
	bool cur_initial; /* the current record is initial data */
	u64 pos; /* stream bytes so far */
	/* save */
	bool hdr_done, end_done, published;
	u64 init_next; /* next state offset of the initial copy */
	/* resume */
	int phase, bad;
	bool end_seen;
	u64 end_hash;
};

enum { PH_HDR, PH_REC, PH_DATA, PH_DONE };

static void shim_unlock(struct shim *s);

static LIST_HEAD(shim_list);
static DEFINE_MUTEX(shim_list_lock);
static struct genl_family shim_genl;

static struct shim *to_shim(struct vfio_device *vdev)
{
	return container_of(vdev, struct shim, vdev);
}

static const char *shim_name(const struct shim *s)
{
	return dev_name(s->vdev.dev);
}

static bool is_precopy(enum vfio_device_mig_state st)
{
	return st == S_PRE_COPY || st == S_PRE_COPY_P2P;
}

/* ---------------------------------------------------------- content */

static u64 mix64(u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Page p's content in generation gen: the same on every host. */
static void shim_fill_page(struct shim *s, u64 p, u64 gen)
{
	u64 *w = (u64 *)(s->buf + p * SHIM_PAGE);
	u64 x = mix64(s->seed ^ mix64(p + 1) ^ (gen << 32));

	for (unsigned int i = 0; i < SHIM_PAGE / 8; i++) {
		x += 0x9e3779b97f4a7c15ull;
		w[i] = mix64(x);
	}
}

static int shim_alloc_state(struct shim *s, u64 size)
{
	u8 *buf;
	unsigned long *dirty;

	if (!size || size % SHIM_PAGE || size > SHIM_MAX_SIZE)
		return -EINVAL;
	buf = vmalloc(size);
	dirty = bitmap_zalloc(size / SHIM_PAGE, GFP_KERNEL);
	if (!buf || !dirty) {
		vfree(buf);
		bitmap_free(dirty);
		return -ENOMEM;
	}
	vfree(s->buf);
	bitmap_free(s->dirty);
	s->buf = buf;
	s->dirty = dirty;
	s->size = size;
	s->npages = size / SHIM_PAGE;
	for (u64 p = 0; p < s->npages; p++)
		shim_fill_page(s, p, 0);
	return 0;
}

/* The workload, brought up to now: every observer calls it first, so the
 * state seen is the state a device running at dirty_rate would have. */
static void shim_work(struct shim *s)
{
	u64 now = ktime_get_ns(), dt = now - s->t_work, pages;

	s->t_work = now;
	if (!s->cfg.dirty_rate ||
	    (s->state != S_RUNNING && s->state != S_PRE_COPY))
		return;
	s->carry += mul_u64_u64_div_u64(s->cfg.dirty_rate, dt, NSEC_PER_SEC);
	pages = s->carry / SHIM_PAGE;
	s->carry %= SHIM_PAGE;
	/* more than one pass over the state is the same as one */
	pages = min(pages, s->npages);
	for (u64 i = 0; i < pages; i++) {
		u64 p = mix64(++s->wseq) % s->npages;

		shim_fill_page(s, p, s->wseq);
		if (s->tracking)
			__set_bit(p, s->dirty);
	}
	s->dirtied += pages * SHIM_PAGE;
	if (pages && s->tracking)
		wake_up_interruptible(&s->wq);
}

static u64 shim_hash(const struct shim *s)
{
	return xxh64(s->buf, s->size, 0);
}

/* ------------------------------------------------------------ sizes */

static u64 rec_bytes(u64 data)
{
	return DIV_ROUND_UP(data, SHIM_REC_MAX) * sizeof(struct shim_rec) +
	       data;
}

/* Stream bytes the dirty pages will take: records split at runs. */
static u64 dirty_stream_bytes(const struct shim *s)
{
	u64 total = 0, p = 0;

	while (true) {
		u64 start = find_next_bit(s->dirty, s->npages, p), end;

		if (start >= s->npages)
			return total;
		end = find_next_zero_bit(s->dirty, s->npages, start);
		total += rec_bytes((end - start) * SHIM_PAGE);
		p = end;
	}
}

/* What a save session has left: initial (incl. the header and the current
 * initial record) and dirty (incl. a current dirty record). */
static void shim_left(const struct shim *s, u64 *initial, u64 *dirty)
{
	const struct shim_file *f = s->save;
	u64 cur, init = 0;

	if (!f) {
		*initial = sizeof(struct shim_hdr) + rec_bytes(s->size);
		*dirty = 0;
		return;
	}
	cur = (f->hb_len - f->hb_pos) + f->data_left;
	if (!f->hdr_done)
		init += sizeof(struct shim_hdr);
	init += rec_bytes(s->size - f->init_next);
	*initial = init + (f->cur_initial ? cur : 0);
	*dirty = (s->tracking ? dirty_stream_bytes(s) : 0) +
		 (f->cur_initial ? 0 : cur);
}

static u64 shim_report(const struct shim *s, u64 truth)
{
	switch (s->cfg.size_report) {
	case VFIO_SHIM_SIZE_ZERO:
		return 0;
	case VFIO_SHIM_SIZE_HUGE:
		return SHIM_HUGE;
	case VFIO_SHIM_SIZE_WRONG:
		return truth / 4;
	}
	return truth;
}

/* MIG_DATA_SIZE: what STOP_COPY would read now, END included. */
static u64 shim_stop_copy_size(struct shim *s)
{
	u64 initial, dirty;

	shim_work(s);
	shim_left(s, &initial, &dirty);
	return shim_report(s, initial + dirty +
				      (s->save && s->save->end_done ?
					       0 :
					       sizeof(struct shim_rec)));
}

/* ------------------------------------------------------ save stream */

static void put_rec(struct shim_file *f, u32 kind, u32 len, u64 arg)
{
	struct shim_rec r = { .kind = cpu_to_le32(kind),
			      .len = cpu_to_le32(len),
			      .arg = cpu_to_le64(arg) };

	memcpy(f->hb, &r, sizeof(r));
	f->hb_len = sizeof(r);
	f->hb_pos = 0;
	f->data_left = len;
	f->data_off = arg;
}

/* Queue the next record; false when there is nothing to send now. */
static bool shim_next_record(struct shim_file *f)
{
	struct shim *s = f->s;
	u64 start, end;

	if (!f->hdr_done) {
		struct shim_hdr h = { .magic = cpu_to_le64(SHIM_MAGIC),
				      .version = cpu_to_le32(SHIM_VERSION),
				      .type = cpu_to_le32(s->type),
				      .size = cpu_to_le64(s->size),
				      .page = cpu_to_le32(SHIM_PAGE) };

		memcpy(f->hb, &h, sizeof(h));
		f->hb_len = sizeof(h);
		f->hb_pos = 0;
		f->data_left = 0;
		f->hdr_done = f->cur_initial = true;
		return true;
	}
	if (f->init_next < s->size) {
		start = f->init_next;
		end = min(start + SHIM_REC_MAX, s->size);
		/* pages sent now are clean until dirtied again */
		bitmap_clear(s->dirty, start / SHIM_PAGE,
			     (end - start) / SHIM_PAGE);
		put_rec(f, REC_DATA, end - start, start);
		f->init_next = end;
		f->cur_initial = true;
		return true;
	}
	f->cur_initial = false;
	/* gated: dirty pages become data once PRECOPY_INFO has been asked */
	if (s->tracking && (f->published || s->state == S_STOP_COPY)) {
		start = find_first_bit(s->dirty, s->npages);
		if (start < s->npages) {
			end = find_next_zero_bit(s->dirty, s->npages, start);
			end = min(end, start + SHIM_REC_MAX / SHIM_PAGE);
			bitmap_clear(s->dirty, start, end - start);
			put_rec(f, REC_DATA, (end - start) * SHIM_PAGE,
				start * SHIM_PAGE);
			return true;
		}
		if (s->cfg.gated)
			f->published = false;
	}
	if (s->state == S_STOP_COPY && !f->end_done) {
		s->sent_hash = shim_hash(s);
		put_rec(f, REC_END, 0, s->sent_hash);
		f->end_done = true;
		return true;
	}
	return false;
}

/* The eio-after fault switch: the device gives up mid-stream. */
static void shim_give_up(struct shim *s, const char *stream, u64 pos)
{
	dev_info(s->vdev.dev,
		 "%s stream: EIO after %llu bytes (fault switch)\n", stream,
		 pos);
	s->state = S_ERROR;
}

/* Copy what is ready now; the count, or -EFAULT with nothing copied. */
static ssize_t shim_emit(struct shim_file *f, char __user *ubuf, size_t len)
{
	struct shim *s = f->s;
	ssize_t done = 0;

	while (len) {
		const u8 *src;
		size_t n;

		if (f->hb_pos == f->hb_len && !f->data_left &&
		    !shim_next_record(f))
			break;
		if (f->hb_pos < f->hb_len) {
			src = f->hb + f->hb_pos;
			n = min_t(size_t, f->hb_len - f->hb_pos, len);
		} else {
			src = s->buf + f->data_off;
			n = min_t(u64, f->data_left, len);
		}
		if (s->cfg.eio_after)
			n = min_t(u64, n, s->cfg.eio_after - f->pos);
		if (!n)
			break;
		if (copy_to_user(ubuf + done, src, n))
			return done ? done : -EFAULT;
		/* a corrupted stream, for the destination's check */
		if (s->cfg.corrupt_at > f->pos &&
		    s->cfg.corrupt_at <= f->pos + n) {
			u8 __user *b = (u8 __user *)ubuf + done +
				       (s->cfg.corrupt_at - 1 - f->pos);
			u8 v;

			if (get_user(v, b) || put_user(v ^ 0x5a, b))
				return done ? done : -EFAULT;
		}
		if (f->hb_pos < f->hb_len) {
			f->hb_pos += n;
		} else {
			f->data_off += n;
			f->data_left -= n;
		}
		f->pos += n;
		done += n;
		len -= n;
	}
	s->saved += done;
	return done;
}

static bool shim_save_ready(struct shim_file *f)
{
	return f->disabled || f->hb_pos < f->hb_len || f->data_left ||
	       shim_next_record(f);
}

static ssize_t shim_save_read(struct file *filp, char __user *ubuf, size_t len,
			      loff_t *ppos)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	enum vfio_device_mig_state st;
	ssize_t ret;

	if (ppos)
		return -ESPIPE;
	for (;;) {
		mutex_lock(&s->lock);
		if (f->disabled) {
			ret = -ENODEV;
			break;
		}
		shim_work(s);
		if (s->cfg.eio_after && f->pos >= s->cfg.eio_after && len) {
			shim_give_up(s, "save", f->pos);
			f->broken = -EIO;
			ret = -EIO;
			break;
		}
		ret = shim_emit(f, ubuf, len);
		if (ret || !len || s->state == S_STOP_COPY)
			break; /* data, an error, or the end of the stream */
		/* pre-copy has nothing more for now */
		if (s->cfg.read == VFIO_SHIM_READ_NONBLOCK) {
			ret = s->cfg.end == VFIO_SHIM_END_ENOMSG ? -ENOMSG : 0;
			break;
		}
		if (filp->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			break;
		}
		st = s->state;
		shim_unlock(s);
		/* woken by dirtied pages or a state change, or time for the
		 * workload to have produced some */
		if (wait_event_interruptible_timeout(
			    s->wq,
			    READ_ONCE(f->disabled) || READ_ONCE(s->state) != st,
			    msecs_to_jiffies(SHIM_TICK_MS)) < 0)
			return -ERESTARTSYS;
	}
	shim_unlock(s);
	return ret;
}

static __poll_t shim_save_poll(struct file *filp, struct poll_table_struct *pt)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	__poll_t mask = 0;

	poll_wait(filp, &s->wq, pt);
	mutex_lock(&s->lock);
	shim_work(s);
	if (f->disabled)
		mask = EPOLLERR | EPOLLHUP;
	else if (shim_save_ready(f) || s->state == S_STOP_COPY)
		mask = EPOLLIN | EPOLLRDNORM;
	shim_unlock(s);
	return mask;
}

static long shim_save_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	unsigned long minsz =
		offsetofend(struct shim_precopy_info, dirty_bytes);
	struct shim_precopy_info info;
	u64 initial, dirty;
	long ret = 0;

	if (cmd != SHIM_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	mutex_lock(&s->lock);
	if (f->disabled) {
		ret = -ENODEV;
	} else if (f->broken) {
		ret = f->broken;
	} else if (!is_precopy(s->state)) {
		ret = -EINVAL;
	} else {
		shim_work(s);
		s->queries++;
		f->published = true;
		shim_left(s, &initial, &dirty);
		info.flags = 0;
		info.initial_bytes = shim_report(s, initial);
		info.dirty_bytes = shim_report(s, dirty);
	}
	shim_unlock(s);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}

/* ---------------------------------------------------- resume stream */

static int shim_bad(struct shim_file *f, const char *why, u64 a)
{
	if (!f->bad)
		dev_warn(f->s->vdev.dev,
			 "resume stream: %s (%llu) at byte %llu\n", why, a,
			 f->pos);
	f->bad = -EINVAL;
	return -EINVAL;
}

/* A complete header or record header is in f->hb: act on it. */
static int shim_parsed(struct shim_file *f)
{
	struct shim *s = f->s;

	if (f->phase == PH_HDR) {
		struct shim_hdr h;

		memcpy(&h, f->hb, sizeof(h));
		if (le64_to_cpu(h.magic) != SHIM_MAGIC)
			return shim_bad(f, "not a vfio_shim stream, magic",
					le64_to_cpu(h.magic));
		if (le32_to_cpu(h.version) != SHIM_VERSION)
			return shim_bad(f, "stream version",
					le32_to_cpu(h.version));
		if (le32_to_cpu(h.type) != s->type)
			return shim_bad(f, "for another device type",
					le32_to_cpu(h.type));
		if (le64_to_cpu(h.size) != s->size)
			return shim_bad(f, "state size differs",
					le64_to_cpu(h.size));
		if (le32_to_cpu(h.page) != SHIM_PAGE || h.zero)
			return shim_bad(f, "page size", le32_to_cpu(h.page));
		f->phase = PH_REC;
	} else {
		struct shim_rec r;
		u64 off, len;

		memcpy(&r, f->hb, sizeof(r));
		off = le64_to_cpu(r.arg);
		len = le32_to_cpu(r.len);
		if (le32_to_cpu(r.kind) == REC_END) {
			if (len)
				return shim_bad(f, "END with data", len);
			f->end_seen = true;
			f->end_hash = off;
			f->phase = PH_DONE;
		} else if (le32_to_cpu(r.kind) == REC_DATA) {
			if (!len || len > SHIM_REC_MAX || off > s->size ||
			    len > s->size - off)
				return shim_bad(f, "record outside the state",
						off);
			f->data_off = off;
			f->data_left = len;
			f->phase = PH_DATA;
		} else {
			return shim_bad(f, "record kind", le32_to_cpu(r.kind));
		}
	}
	f->hb_pos = 0;
	f->hb_len = sizeof(struct shim_rec);
	return 0;
}

static ssize_t shim_resume_write(struct file *filp, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	ssize_t done = 0;
	int ret = 0;

	if (ppos)
		return -ESPIPE;
	mutex_lock(&s->lock);
	if (f->disabled)
		ret = -ENODEV;
	else if (f->bad)
		ret = f->bad;
	while (!ret && len) {
		u8 *dst;
		size_t n;

		if (f->phase == PH_DONE) {
			ret = shim_bad(f, "bytes after END", len);
			break;
		}
		if (f->phase == PH_DATA) {
			dst = s->buf + f->data_off;
			n = min_t(u64, f->data_left, len);
		} else {
			dst = f->hb + f->hb_pos;
			n = min_t(size_t, f->hb_len - f->hb_pos, len);
		}
		if (s->cfg.eio_after) {
			/* the device gives up taking its state mid-stream */
			n = f->pos >= s->cfg.eio_after ?
				    0 :
				    min_t(u64, n, s->cfg.eio_after - f->pos);
			if (!n) {
				shim_give_up(s, "resume", f->pos);
				f->bad = -EIO;
				ret = -EIO;
				break;
			}
		}
		if (copy_from_user(dst, ubuf + done, n)) {
			ret = -EFAULT;
			break;
		}
		if (f->phase == PH_DATA) {
			f->data_off += n;
			f->data_left -= n;
			if (!f->data_left)
				f->phase = PH_REC;
		} else {
			f->hb_pos += n;
		}
		f->pos += n;
		done += n;
		len -= n;
		if (f->phase != PH_DATA && f->hb_pos == f->hb_len)
			ret = shim_parsed(f);
	}
	s->loaded += done;
	shim_unlock(s);
	return done ? done : ret;
}

/* RESUMING->STOP: a whole stream, and the state it carried. */
static int shim_check_resume(struct shim *s, struct shim_file *f)
{
	u64 hash;

	if (f->bad)
		return f->bad;
	if (!f->end_seen) {
		dev_warn(
			s->vdev.dev,
			"resume stream: ended after %llu bytes, before its END record\n",
			f->pos);
		return -EINVAL;
	}
	hash = shim_hash(s);
	if (hash != f->end_hash) {
		dev_warn(
			s->vdev.dev,
			"resume stream: state xxh64 %016llx, the source's was %016llx\n",
			hash, f->end_hash);
		return -EINVAL;
	}
	return 0;
}

/* ----------------------------------------------------------- files */

static int shim_release_file(struct inode *inode, struct file *filp)
{
	struct shim_file *f = filp->private_data;

	vfio_put_device(&f->s->vdev);
	kfree(f);
	return 0;
}

static const struct file_operations shim_save_fops = {
	.owner = THIS_MODULE,
	.read = shim_save_read,
	.unlocked_ioctl = shim_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = shim_release_file,
};

/* read=block: reads wait, and pollers learn when to read */
static const struct file_operations shim_save_poll_fops = {
	.owner = THIS_MODULE,
	.read = shim_save_read,
	.poll = shim_save_poll,
	.unlocked_ioctl = shim_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = shim_release_file,
};

static const struct file_operations shim_resume_fops = {
	.owner = THIS_MODULE,
	.write = shim_resume_write,
	.release = shim_release_file,
};

static struct shim_file *shim_file_new(struct shim *s, bool save)
{
	struct shim_file *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	const struct file_operations *fops = &shim_resume_fops;

	if (!f)
		return ERR_PTR(-ENOMEM);
	if (save)
		fops = s->cfg.read == VFIO_SHIM_READ_BLOCK ?
			       &shim_save_poll_fops :
			       &shim_save_fops;
	f->s = s;
	f->filp =
		anon_inode_getfile(save ? "vfio_shim_save" : "vfio_shim_resume",
				   fops, f, save ? O_RDONLY : O_WRONLY);
	if (IS_ERR(f->filp)) {
		struct file *err = f->filp;

		kfree(f);
		return ERR_CAST(err);
	}
	stream_open(f->filp->f_inode, f->filp);
	/* a data_fd may outlive the device fd and the mdev: it keeps the
	 * device's memory until it is closed, answering ENODEV */
	get_device(&s->vdev.device);
	f->published = !s->cfg.gated;
	if (!save) {
		f->phase = PH_HDR;
		f->hb_len = sizeof(struct shim_hdr);
	}
	return f;
}

/* The device lets go of a file; its holder gets ENODEV from then on. */
static void shim_file_drop(struct shim *s, struct shim_file **fp)
{
	struct shim_file *f = *fp;

	if (!f)
		return;
	WRITE_ONCE(f->disabled, true);
	if (f == s->save) {
		s->tracking = false;
		cancel_delayed_work(&s->tick);
	}
	wake_up_interruptible(&s->wq);
	fput(f->filp);
	*fp = NULL;
}

/* For pollers of a blocking pre-copy stream: the workload goes on. */
static void shim_tick(struct work_struct *work)
{
	struct shim *s = container_of(to_delayed_work(work), struct shim, tick);

	if (!mutex_trylock(&s->lock)) {
		schedule_delayed_work(&s->tick, msecs_to_jiffies(SHIM_TICK_MS));
		return;
	}
	if (s->save && s->tracking) {
		shim_work(s);
		schedule_delayed_work(&s->tick, msecs_to_jiffies(SHIM_TICK_MS));
	}
	shim_unlock(s);
}

static struct file *shim_open_save(struct shim *s, bool track)
{
	struct shim_file *f = shim_file_new(s, true);

	if (IS_ERR(f))
		return ERR_CAST(f);
	s->save = f;
	s->tracking = track;
	bitmap_zero(s->dirty, s->npages);
	if (track && s->cfg.read == VFIO_SHIM_READ_BLOCK)
		schedule_delayed_work(&s->tick, msecs_to_jiffies(SHIM_TICK_MS));
	get_file(f->filp);
	return f->filp;
}

/* ------------------------------------------------------- migration */

/*
 * 6.1's core stops at RUNNING_P2P, so the driver walks PRE_COPY itself:
 * next_hop[cur][target] is the first arc of the shortest path that passes
 * through no state with a data_fd on the way (uAPI rules, P2P supported);
 * ERROR marks a target that cannot be reached from there.
 */
#if !SHIM_CORE_PRECOPY
static const u8 next_hop[S_COUNT][S_COUNT] = {
	[S_STOP] = { S_ERROR, S_STOP, S_RUNNING_P2P, S_STOP_COPY, S_RESUMING,
		     S_RUNNING_P2P, S_RUNNING_P2P, S_RUNNING_P2P },
	[S_RUNNING] = { S_ERROR, S_RUNNING_P2P, S_RUNNING, S_RUNNING_P2P,
			S_RUNNING_P2P, S_RUNNING_P2P, S_PRE_COPY,
			S_RUNNING_P2P },
	/* a saving session does not go back to pre-copy */
	[S_STOP_COPY] = { S_ERROR, S_STOP, S_STOP, S_STOP_COPY, S_STOP, S_STOP,
			  S_ERROR, S_ERROR },
	[S_RESUMING] = { S_ERROR, S_STOP, S_STOP, S_STOP, S_RESUMING, S_STOP,
			 S_STOP, S_STOP },
	[S_RUNNING_P2P] = { S_ERROR, S_STOP, S_RUNNING, S_STOP, S_STOP,
			    S_RUNNING_P2P, S_RUNNING, S_PRE_COPY_P2P },
	[S_PRE_COPY] = { S_ERROR, S_RUNNING, S_RUNNING, S_PRE_COPY_P2P,
			 S_RUNNING, S_RUNNING, S_PRE_COPY, S_PRE_COPY_P2P },
	[S_PRE_COPY_P2P] = { S_ERROR, S_RUNNING_P2P, S_RUNNING_P2P, S_STOP_COPY,
			     S_RUNNING_P2P, S_RUNNING_P2P, S_PRE_COPY,
			     S_PRE_COPY_P2P },
};
#endif

static int shim_next_state(struct shim *s, enum vfio_device_mig_state cur,
			   enum vfio_device_mig_state target,
			   enum vfio_device_mig_state *next)
{
#if SHIM_CORE_PRECOPY
	return vfio_mig_get_next_state(&s->vdev, cur, target, next);
#else
	if (target >= S_COUNT || cur >= S_COUNT || cur == S_ERROR ||
	    target == S_ERROR)
		return -EINVAL;
	if (is_precopy(target) && !s->cfg.precopy)
		return -EINVAL;
	*next = next_hop[cur][target];
	return *next == S_ERROR ? -EINVAL : 0;
#endif
}

/* One arc of the state machine; NULL or a new data_fd's file. */
static struct file *shim_step(struct shim *s, enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = s->state;
	int ret;

	switch (cur * S_COUNT + next) {
	case S_RUNNING *S_COUNT + S_RUNNING_P2P:
	case S_RUNNING_P2P *S_COUNT + S_RUNNING:
	case S_RUNNING_P2P *S_COUNT + S_STOP:
	case S_STOP *S_COUNT + S_RUNNING_P2P:
	/* the saving group shares one session: PRE_COPY's fd goes on */
	case S_PRE_COPY *S_COUNT + S_PRE_COPY_P2P:
	case S_PRE_COPY_P2P *S_COUNT + S_PRE_COPY:
	case S_PRE_COPY_P2P *S_COUNT + S_STOP_COPY:
		return NULL;
	case S_PRE_COPY *S_COUNT + S_RUNNING:
	case S_PRE_COPY_P2P *S_COUNT + S_RUNNING_P2P:
	case S_STOP_COPY *S_COUNT + S_STOP:
		shim_file_drop(s, &s->save);
		return NULL;
	case S_RUNNING *S_COUNT + S_PRE_COPY:
	case S_RUNNING_P2P *S_COUNT + S_PRE_COPY_P2P:
		return shim_open_save(s, true);
	case S_STOP *S_COUNT + S_STOP_COPY:
		return shim_open_save(s, false);
	case S_STOP *S_COUNT + S_RESUMING: {
		struct shim_file *f = shim_file_new(s, false);

		if (IS_ERR(f))
			return ERR_CAST(f);
		s->resume = f;
		get_file(f->filp);
		return f->filp;
	}
	case S_RESUMING *S_COUNT + S_STOP:
		ret = shim_check_resume(s, s->resume);
		shim_file_drop(s, &s->resume);
		if (ret)
			s->load_errors++;
		return ret ? ERR_PTR(ret) : NULL;
	}
	return ERR_PTR(-EINVAL);
}

static void shim_reset_locked(struct shim *s)
{
	shim_file_drop(s, &s->save);
	shim_file_drop(s, &s->resume);
	s->state = S_RUNNING;
	s->t_work = ktime_get_ns();
	s->resets++;
}

/* Unlock, first doing a reset that came in while we held the lock. */
static void shim_unlock(struct shim *s)
{
	for (;;) {
		spin_lock(&s->reset_lock);
		if (!s->deferred_reset) {
			mutex_unlock(&s->lock);
			spin_unlock(&s->reset_lock);
			return;
		}
		s->deferred_reset = false;
		spin_unlock(&s->reset_lock);
		shim_reset_locked(s);
	}
}

static struct file *shim_set_state(struct vfio_device *vdev,
				   enum vfio_device_mig_state target)
{
	struct shim *s = to_shim(vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	mutex_lock(&s->lock);
	shim_work(s); /* the workload up to the moment the state changes */
	while (s->state != target) {
		ret = shim_next_state(s, s->state, target, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		if (s->cfg.fail_mode != VFIO_SHIM_FAIL_NONE &&
		    s->cfg.fail_from == s->state && s->cfg.fail_to == next) {
			dev_info(vdev->dev, "arc %u->%u fails (fault switch)\n",
				 s->state, next);
			if (s->cfg.fail_mode == VFIO_SHIM_FAIL_ERROR) {
				shim_file_drop(s, &s->save);
				shim_file_drop(s, &s->resume);
				s->state = S_ERROR;
			}
			res = ERR_PTR(-EIO);
			break;
		}
		/* a slow device: the lock is held, as a real transition's is */
		if (s->cfg.arc_delay_ms)
			msleep(s->cfg.arc_delay_ms);
		res = shim_step(s, next);
		if (IS_ERR(res)) {
			/* a failed load leaves nothing usable: ERROR */
			if (s->state == S_RESUMING)
				s->state = S_ERROR;
			break;
		}
		s->state = next;
		s->transitions++;
		if (res && next != target) { /* only the last arc may */
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	wake_up_interruptible(&s->wq);
	shim_unlock(s);
	return res;
}

static int shim_get_state(struct vfio_device *vdev,
			  enum vfio_device_mig_state *state)
{
	struct shim *s = to_shim(vdev);

	mutex_lock(&s->lock);
	*state = s->state;
	shim_unlock(s);
	return 0;
}

#if SHIM_CORE_PRECOPY
/* MIG_DATA_SIZE through the core (which calls it unchecked from 6.2 on) */
static int shim_get_data_size(struct vfio_device *vdev, unsigned long *len)
{
	struct shim *s = to_shim(vdev);

	mutex_lock(&s->lock);
	*len = shim_stop_copy_size(s);
	shim_unlock(s);
	return 0;
}
#endif

static const struct vfio_migration_ops shim_mig_ops = {
	.migration_set_state = shim_set_state,
	.migration_get_state = shim_get_state,
#if SHIM_CORE_PRECOPY
	.migration_get_data_size = shim_get_data_size,
#endif
};

/* ------------------------------------------------------- vfio device */

static void shim_reset(struct shim *s)
{
	spin_lock(&s->reset_lock);
	s->deferred_reset = true;
	if (!mutex_trylock(&s->lock)) {
		/* the holder resets on its way out */
		spin_unlock(&s->reset_lock);
		return;
	}
	spin_unlock(&s->reset_lock);
	shim_unlock(s);
}

static int shim_open(struct vfio_device *vdev)
{
	shim_reset(to_shim(vdev));
	return 0;
}

static void shim_close(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);

	shim_reset(s);
	cancel_delayed_work_sync(&s->tick);
}

#if !SHIM_CORE_PRECOPY
/* 6.1: feature 9 (MIG_DATA_SIZE) is the driver's to answer */
static int shim_device_feature(struct vfio_device *vdev, u32 flags,
			       void __user *arg, size_t argsz)
{
	struct shim *s = to_shim(vdev);
	__aligned_u64 len;
	int ret;

	if ((flags & VFIO_DEVICE_FEATURE_MASK) != SHIM_FEATURE_MIG_DATA_SIZE)
		return -ENOTTY;
	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET,
				 sizeof(len));
	if (ret != 1)
		return ret;
	mutex_lock(&s->lock);
	len = shim_stop_copy_size(s);
	shim_unlock(s);
	return copy_to_user(arg, &len, sizeof(len)) ? -EFAULT : 0;
}
#endif

static long shim_ioctl(struct vfio_device *vdev, unsigned int cmd,
		       unsigned long arg)
{
	struct shim *s = to_shim(vdev);

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info;
		unsigned long minsz =
			offsetofend(struct vfio_device_info, num_irqs);

		if (copy_from_user(&info, (void __user *)arg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PLATFORM |
			     VFIO_DEVICE_FLAGS_RESET;
		info.num_regions = 0;
		info.num_irqs = 0;
		return copy_to_user((void __user *)arg, &info, minsz) ?
			       -EFAULT :
			       0;
	}
	case VFIO_DEVICE_RESET:
		shim_reset(s);
		return 0;
	}
	return -ENOTTY;
}

/* No DMA is ever pinned: nothing to give back. */
static void shim_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
}

static void shim_set_flags(struct shim *s)
{
	s->vdev.migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
	if (s->cfg.precopy)
		s->vdev.migration_flags |= SHIM_MIGRATION_PRE_COPY;
}

static int shim_init_dev(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	int ret;

	mutex_init(&s->lock);
	spin_lock_init(&s->reset_lock);
	init_waitqueue_head(&s->wq);
	INIT_DELAYED_WORK(&s->tick, shim_tick);
	INIT_LIST_HEAD(&s->node);
	s->type = mdev->type == &shim_large;
	/* content of its own per device: a copy that loaded nothing shows */
	s->seed = xxh64(dev_name(vdev->dev), strlen(dev_name(vdev->dev)), 0);
	ret = shim_alloc_state(s, s->type ? large_size : small_size);
	if (ret)
		return ret;
	s->state = S_RUNNING;
	s->t_work = ktime_get_ns();
	s->cfg.precopy = precopy;
	s->cfg.end = VFIO_SHIM_END_ENOMSG;
	shim_set_flags(s);
	vdev->mig_ops = &shim_mig_ops;
	return 0;
}

static void shim_release_dev(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);

	vfree(s->buf);
	bitmap_free(s->dirty);
	mutex_destroy(&s->lock);
}

static const struct vfio_device_ops shim_dev_ops = {
	.name = SHIM_NAME,
	.init = shim_init_dev,
	.release = shim_release_dev,
	.open_device = shim_open,
	.close_device = shim_close,
	.ioctl = shim_ioctl,
#if !SHIM_CORE_PRECOPY
	.device_feature = shim_device_feature,
#endif
	.dma_unmap = shim_dma_unmap,
#if IS_ENABLED(CONFIG_IOMMUFD)
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#endif
};

/* ----------------------------------------------------------- netlink */

static const struct nla_policy shim_policy[VFIO_SHIM_A_MAX + 1] = {
	[VFIO_SHIM_A_DEV] = { .type = NLA_NUL_STRING, .len = 63 },
	[VFIO_SHIM_A_SIZE] = { .type = NLA_U64 },
	[VFIO_SHIM_A_DIRTY_RATE] = { .type = NLA_U64 },
	[VFIO_SHIM_A_END] = NLA_POLICY_MAX(NLA_U32, VFIO_SHIM_END_ZERO),
	[VFIO_SHIM_A_READ] = NLA_POLICY_MAX(NLA_U32, VFIO_SHIM_READ_BLOCK),
	[VFIO_SHIM_A_GATED] = NLA_POLICY_MAX(NLA_U8, 1),
	[VFIO_SHIM_A_SIZE_REPORT] =
		NLA_POLICY_MAX(NLA_U32, VFIO_SHIM_SIZE_WRONG),
	[VFIO_SHIM_A_PRECOPY] = NLA_POLICY_MAX(NLA_U8, 1),
	[VFIO_SHIM_A_FAIL_FROM] = NLA_POLICY_MAX(NLA_U32, S_COUNT - 1),
	[VFIO_SHIM_A_FAIL_TO] = NLA_POLICY_MAX(NLA_U32, S_COUNT - 1),
	[VFIO_SHIM_A_FAIL_MODE] = NLA_POLICY_MAX(NLA_U32, VFIO_SHIM_FAIL_ERROR),
	[VFIO_SHIM_A_EIO_AFTER] = { .type = NLA_U64 },
	[VFIO_SHIM_A_CORRUPT_AT] = { .type = NLA_U64 },
	[VFIO_SHIM_A_ARC_DELAY] = NLA_POLICY_MAX(NLA_U32, 10000),
};

static struct shim *shim_find(const char *name)
{
	struct shim *s;

	list_for_each_entry(s, &shim_list,
			    node) if (!strcmp(shim_name(s), name)) return s;
	return NULL;
}

static int shim_fill_msg(struct sk_buff *skb, struct shim *s, u32 portid,
			 u32 seq, int flags)
{
	void *hdr = genlmsg_put(skb, portid, seq, &shim_genl, flags,
				VFIO_SHIM_CMD_GET);
	const struct shim_cfg *c = &s->cfg;
	u64 hash;

	if (!hdr)
		return -EMSGSIZE;
	mutex_lock(&s->lock);
	shim_work(s);
	hash = shim_hash(s);
	if (nla_put_string(skb, VFIO_SHIM_A_DEV, shim_name(s)) ||
	    nla_put_string(skb, VFIO_SHIM_A_TYPE,
			   s->type ? "vfio_shim-large" : "vfio_shim-small") ||
	    nla_put_u32(skb, VFIO_SHIM_A_STATE, s->state) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_SIZE, s->size,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_DIRTY_RATE, c->dirty_rate,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u32(skb, VFIO_SHIM_A_END, c->end) ||
	    nla_put_u32(skb, VFIO_SHIM_A_READ, c->read) ||
	    nla_put_u8(skb, VFIO_SHIM_A_GATED, c->gated) ||
	    nla_put_u32(skb, VFIO_SHIM_A_SIZE_REPORT, c->size_report) ||
	    nla_put_u8(skb, VFIO_SHIM_A_PRECOPY, c->precopy) ||
	    nla_put_u32(skb, VFIO_SHIM_A_FAIL_FROM, c->fail_from) ||
	    nla_put_u32(skb, VFIO_SHIM_A_FAIL_TO, c->fail_to) ||
	    nla_put_u32(skb, VFIO_SHIM_A_FAIL_MODE, c->fail_mode) ||
	    nla_put_u32(skb, VFIO_SHIM_A_ARC_DELAY, c->arc_delay_ms) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_EIO_AFTER, c->eio_after,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_CORRUPT_AT, c->corrupt_at,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_HASH, hash, VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_SENT_HASH, s->sent_hash,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_SAVED, s->saved,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_LOADED, s->loaded,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_DIRTIED, s->dirtied,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_INFO_QUERIES, s->queries,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_TRANSITIONS, s->transitions,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_RESETS, s->resets,
			      VFIO_SHIM_A_PAD) ||
	    nla_put_u64_64bit(skb, VFIO_SHIM_A_LOAD_ERRORS, s->load_errors,
			      VFIO_SHIM_A_PAD)) {
		shim_unlock(s);
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	shim_unlock(s);
	genlmsg_end(skb, hdr);
	return 0;
}

static int shim_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct shim *s;
	int ret;

	if (!info->attrs[VFIO_SHIM_A_DEV]) {
		GENL_SET_ERR_MSG(info, "no device named (VFIO_SHIM_A_DEV)");
		return -EINVAL;
	}
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&shim_list_lock);
	s = shim_find(nla_data(info->attrs[VFIO_SHIM_A_DEV]));
	ret = s ? shim_fill_msg(msg, s, info->snd_portid, info->snd_seq, 0) :
		  -ENODEV;
	mutex_unlock(&shim_list_lock);
	if (ret) {
		if (ret == -ENODEV)
			GENL_SET_ERR_MSG(info,
					 "no vfio_shim device of that name");
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int shim_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	long i = 0, skip = cb->args[0];
	struct shim *s;
	int ret = 0;

	mutex_lock(&shim_list_lock);
	list_for_each_entry(s, &shim_list, node)
	{
		if (i++ < skip)
			continue;
		ret = shim_fill_msg(skb, s, NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (ret) {
			i--;
			break;
		}
	}
	mutex_unlock(&shim_list_lock);
	cb->args[0] = i; /* a full message goes on in the next part */
	return skb->len;
}

static int shim_nl_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	bool idle, flags_change;
	struct shim_cfg c;
	struct shim *s;
	int ret = 0;

	if (!a[VFIO_SHIM_A_DEV]) {
		GENL_SET_ERR_MSG(info, "no device named (VFIO_SHIM_A_DEV)");
		return -EINVAL;
	}
	mutex_lock(&shim_list_lock);
	s = shim_find(nla_data(a[VFIO_SHIM_A_DEV]));
	if (!s) {
		GENL_SET_ERR_MSG(info, "no vfio_shim device of that name");
		ret = -ENODEV;
		goto out_list;
	}
	mutex_lock(&s->lock);
	shim_work(s);
	c = s->cfg;
	if (a[VFIO_SHIM_A_DIRTY_RATE])
		c.dirty_rate = nla_get_u64(a[VFIO_SHIM_A_DIRTY_RATE]);
	if (a[VFIO_SHIM_A_END])
		c.end = nla_get_u32(a[VFIO_SHIM_A_END]);
	if (a[VFIO_SHIM_A_READ])
		c.read = nla_get_u32(a[VFIO_SHIM_A_READ]);
	if (a[VFIO_SHIM_A_GATED])
		c.gated = nla_get_u8(a[VFIO_SHIM_A_GATED]);
	if (a[VFIO_SHIM_A_SIZE_REPORT])
		c.size_report = nla_get_u32(a[VFIO_SHIM_A_SIZE_REPORT]);
	if (a[VFIO_SHIM_A_PRECOPY])
		c.precopy = nla_get_u8(a[VFIO_SHIM_A_PRECOPY]);
	if (a[VFIO_SHIM_A_FAIL_FROM])
		c.fail_from = nla_get_u32(a[VFIO_SHIM_A_FAIL_FROM]);
	if (a[VFIO_SHIM_A_FAIL_TO])
		c.fail_to = nla_get_u32(a[VFIO_SHIM_A_FAIL_TO]);
	if (a[VFIO_SHIM_A_FAIL_MODE])
		c.fail_mode = nla_get_u32(a[VFIO_SHIM_A_FAIL_MODE]);
	if (a[VFIO_SHIM_A_EIO_AFTER])
		c.eio_after = nla_get_u64(a[VFIO_SHIM_A_EIO_AFTER]);
	if (a[VFIO_SHIM_A_CORRUPT_AT])
		c.corrupt_at = nla_get_u64(a[VFIO_SHIM_A_CORRUPT_AT]);
	if (a[VFIO_SHIM_A_ARC_DELAY])
		c.arc_delay_ms = nla_get_u32(a[VFIO_SHIM_A_ARC_DELAY]);
	/* what shapes a session cannot change under one */
	idle = s->state == S_RUNNING && !s->save && !s->resume;
	flags_change = c.precopy != s->cfg.precopy;
	if ((flags_change || c.read != s->cfg.read || a[VFIO_SHIM_A_SIZE]) &&
	    !idle) {
		GENL_SET_ERR_MSG(
			info,
			"size, read mode and precopy change only in RUNNING without a migration session");
		ret = -EBUSY;
		goto out;
	}
	if (a[VFIO_SHIM_A_SIZE]) {
		u64 size = nla_get_u64(a[VFIO_SHIM_A_SIZE]);

		if (!size || size % SHIM_PAGE || size > SHIM_MAX_SIZE) {
			GENL_SET_ERR_MSG(
				info,
				"size must be a multiple of 4096 between 4 KiB and 1 GiB");
			ret = -EINVAL;
			goto out;
		}
		ret = shim_alloc_state(s, size);
		if (ret) {
			GENL_SET_ERR_MSG(info,
					 "no memory for a state that large");
			goto out;
		}
	}
	s->cfg = c;
	shim_set_flags(s);
out:
	shim_unlock(s);
out_list:
	mutex_unlock(&shim_list_lock);
	return ret;
}

static const struct genl_ops shim_genl_ops[] = {
	{
		.cmd = VFIO_SHIM_CMD_GET,
		.doit = shim_nl_get,
		.dumpit = shim_nl_dump,
	},
	{
		.cmd = VFIO_SHIM_CMD_SET,
		.doit = shim_nl_set,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family shim_genl = {
	.name = VFIO_SHIM_GENL_NAME,
	.version = VFIO_SHIM_GENL_VERSION,
	.maxattr = VFIO_SHIM_A_MAX,
	.policy = shim_policy,
	.module = THIS_MODULE,
	.ops = shim_genl_ops,
	.n_ops = ARRAY_SIZE(shim_genl_ops),
	.resv_start_op = VFIO_SHIM_CMD_GET,
};

/* -------------------------------------------------------------- mdev */

static int shim_probe(struct mdev_device *mdev)
{
	struct shim *s;
	int ret;

	s = vfio_alloc_device(shim, vdev, &mdev->dev, &shim_dev_ops);
	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = vfio_register_emulated_iommu_dev(&s->vdev);
	if (ret) {
		vfio_put_device(&s->vdev);
		return ret;
	}
	dev_set_drvdata(&mdev->dev, s);
	mutex_lock(&shim_list_lock);
	list_add_tail(&s->node, &shim_list);
	mutex_unlock(&shim_list_lock);
	return 0;
}

static void shim_remove(struct mdev_device *mdev)
{
	struct shim *s = dev_get_drvdata(&mdev->dev);

	mutex_lock(&shim_list_lock);
	list_del(&s->node);
	mutex_unlock(&shim_list_lock);
	vfio_unregister_group_dev(&s->vdev);
	cancel_delayed_work_sync(&s->tick);
	vfio_put_device(&s->vdev);
}

static struct mdev_type *shim_types[] = { &shim_small, &shim_large };

static struct mdev_driver shim_driver = {
	.device_api = VFIO_DEVICE_API_PLATFORM_STRING,
	.max_instances = 16,
	.probe = shim_probe,
	.remove = shim_remove,
	.driver = {
		.name = SHIM_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
};

/* The parent: a device of our class, so that the types' sysfs names are
 * "vfio_shim-small" and "vfio_shim-large" (mdev prefixes the class). */
static struct class *shim_class;
static struct device *shim_root;
static struct mdev_parent shim_parent;

static int __init shim_init(void)
{
	int ret;

	ret = mdev_register_driver(&shim_driver);
	if (ret)
		return ret;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
	shim_class = class_create(THIS_MODULE, SHIM_NAME);
#else
	shim_class = class_create(SHIM_NAME);
#endif
	if (IS_ERR(shim_class)) {
		ret = PTR_ERR(shim_class);
		goto err_driver;
	}
	shim_root = device_create(shim_class, NULL, 0, NULL, SHIM_NAME);
	if (IS_ERR(shim_root)) {
		ret = PTR_ERR(shim_root);
		goto err_class;
	}
	ret = mdev_register_parent(&shim_parent, shim_root, &shim_driver,
				   shim_types, ARRAY_SIZE(shim_types));
	if (ret)
		goto err_root;
	ret = genl_register_family(&shim_genl);
	if (ret)
		goto err_parent;
	return 0;
err_parent:
	mdev_unregister_parent(&shim_parent);
err_root:
	device_unregister(shim_root);
err_class:
	class_destroy(shim_class);
err_driver:
	mdev_unregister_driver(&shim_driver);
	return ret;
}

static void __exit shim_exit(void)
{
	genl_unregister_family(&shim_genl);
	mdev_unregister_parent(&shim_parent);
	device_unregister(shim_root);
	class_destroy(shim_class);
	mdev_unregister_driver(&shim_driver);
}

module_init(shim_init);
module_exit(shim_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-migrate's migratable VFIO mdev test device");
MODULE_AUTHOR("vfio-migrate developers");
MODULE_SOFTDEP("pre: vfio vfio_iommu_type1 mdev");
