// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_shim: a migratable VFIO mdev device, so that vfio-migrate meets a real
 * kernel driver through the real uAPI (container/group, migration v2).
 *
 * Each device holds a state buffer of deterministic content.  Its migration
 * stream is a header (magic, version, type, size, crc32 of the state) and
 * the state; RESUMING->STOP checks both and fails with EINVAL (device in
 * ERROR) on a short or corrupted stream.
 *
 * This first version offers STOP_COPY and P2P through the core's next-hop
 * table; PRE_COPY, the netlink control and the driver-imitating switches
 * follow (kmod-shim/README.md).
 */
#include <linux/anon_inodes.h>
#include <linux/crc32.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#define SHIM_NAME "vfio_shim"
#define SHIM_MAGIC 0x31304d4948534656ull /* "VFSHIM01" */
#define SHIM_VERSION 1
#define SHIM_MAX_SIZE (1ull << 30)
/* 6.2 brought PRE_COPY, PRECOPY_INFO and MIG_DATA_SIZE to the core. */
#define SHIM_PRECOPY (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0))

static unsigned long small_size = 1 << 20;
module_param(small_size, ulong, 0444);
MODULE_PARM_DESC(small_size,
		 "state bytes of a shim-small device (default 1 MiB)");
static unsigned long large_size = 64 << 20;
module_param(large_size, ulong, 0444);
MODULE_PARM_DESC(large_size,
		 "state bytes of a shim-large device (default 64 MiB)");

struct shim_hdr {
	__le64 magic;
	__le32 version;
	__le32 type;
	__le64 size;
	__le32 crc; /* crc32 of the state */
	__le32 zero;
};

struct shim_file;

/* sysfs: mdev_supported_types/vfio_shim-small, vfio_shim-large */
static struct mdev_type shim_small = { .sysfs_name = "small",
				       .pretty_name = "shim-small" };
static struct mdev_type shim_large = { .sysfs_name = "large",
				       .pretty_name = "shim-large" };

struct shim {
	struct vfio_device vdev;
	struct mutex lock; /* state, buffers and the files' positions */
	enum vfio_device_mig_state state;
	u32 type;
	u64 size;
	u8 *buf;
	struct shim_file *save, *resume;
};

/* A data_fd: the save stream (read) or the resume stream (write). */
struct shim_file {
	struct file *filp;
	struct shim *s;
	struct shim_hdr hdr;
	loff_t pos; /* stream offset: header, then the state */
	bool disabled; /* the device left the arc: ENODEV */
};

static struct shim *to_shim(struct vfio_device *vdev)
{
	return container_of(vdev, struct shim, vdev);
}

/* The same content for the same type and size on every host. */
static void shim_fill(struct shim *s)
{
	u64 x = 0x9e3779b97f4a7c15ull * (s->type + 1);
	u64 *w = (u64 *)s->buf;

	for (u64 i = 0; i < s->size / 8; i++) {
		x += 0x9e3779b97f4a7c15ull;
		w[i] = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
	}
}

static u32 shim_crc(const struct shim *s)
{
	return crc32_le(~0u, s->buf, s->size);
}

static u64 stream_len(const struct shim *s)
{
	return sizeof(struct shim_hdr) + s->size;
}

/* ---------------------------------------------------------- data_fd */

static int shim_release_file(struct inode *inode, struct file *filp)
{
	kfree(filp->private_data);
	return 0;
}

static ssize_t shim_save_read(struct file *filp, char __user *ubuf, size_t len,
			      loff_t *ppos)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	ssize_t done = 0;

	if (ppos)
		return -ESPIPE;
	mutex_lock(&s->lock);
	if (f->disabled) {
		done = -ENODEV;
		goto out;
	}
#if SHIM_PRECOPY
	/* the temporary end of a pre-copy stream (no workload yet: the
	 * state read in pre-copy is the state STOP_COPY would send) */
	if (len && f->pos == stream_len(s) &&
	    (s->state == VFIO_DEVICE_STATE_PRE_COPY ||
	     s->state == VFIO_DEVICE_STATE_PRE_COPY_P2P)) {
		done = -ENOMSG;
		goto out;
	}
#endif
	while (len && f->pos < stream_len(s)) {
		const u8 *src;
		size_t n;

		if (f->pos < sizeof(f->hdr)) {
			src = (const u8 *)&f->hdr + f->pos;
			n = sizeof(f->hdr) - f->pos;
		} else {
			src = s->buf + (f->pos - sizeof(f->hdr));
			n = stream_len(s) - f->pos;
		}
		n = min(n, len);
		if (copy_to_user(ubuf + done, src, n)) {
			done = done ? done : -EFAULT;
			goto out;
		}
		f->pos += n;
		done += n;
		len -= n;
	}
out:
	mutex_unlock(&s->lock);
	return done;
}

static ssize_t shim_resume_write(struct file *filp, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	ssize_t done = 0;

	if (ppos)
		return -ESPIPE;
	mutex_lock(&s->lock);
	if (f->disabled) {
		done = -ENODEV;
		goto out;
	}
	while (len) {
		u8 *dst;
		size_t n;

		if (f->pos >= stream_len(s)) {
			done = done ? done : -EFBIG; /* more than a state */
			goto out;
		}
		if (f->pos < sizeof(f->hdr)) {
			dst = (u8 *)&f->hdr + f->pos;
			n = sizeof(f->hdr) - f->pos;
		} else {
			dst = s->buf + (f->pos - sizeof(f->hdr));
			n = stream_len(s) - f->pos;
		}
		n = min(n, len);
		if (copy_from_user(dst, ubuf + done, n)) {
			done = done ? done : -EFAULT;
			goto out;
		}
		f->pos += n;
		done += n;
		len -= n;
	}
out:
	mutex_unlock(&s->lock);
	return done;
}

#if SHIM_PRECOPY
static long shim_save_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct shim_file *f = filp->private_data;
	struct shim *s = f->s;
	struct vfio_precopy_info info;
	unsigned long minsz =
		offsetofend(struct vfio_precopy_info, dirty_bytes);
	long ret = 0;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	mutex_lock(&s->lock);
	if (f->disabled) {
		ret = -ENODEV;
	} else if (s->state != VFIO_DEVICE_STATE_PRE_COPY &&
		   s->state != VFIO_DEVICE_STATE_PRE_COPY_P2P) {
		ret = -EINVAL;
	} else {
		info.flags = 0;
		info.initial_bytes = stream_len(s) - f->pos;
		info.dirty_bytes = 0;
	}
	mutex_unlock(&s->lock);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}
#endif

static const struct file_operations shim_save_fops = {
	.owner = THIS_MODULE,
	.read = shim_save_read,
#if SHIM_PRECOPY
	.unlocked_ioctl = shim_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
#endif
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

	if (!f)
		return ERR_PTR(-ENOMEM);
	f->s = s;
	f->filp =
		anon_inode_getfile(save ? "vfio_shim_save" : "vfio_shim_resume",
				   save ? &shim_save_fops : &shim_resume_fops,
				   f, save ? O_RDONLY : O_WRONLY);
	if (IS_ERR(f->filp)) {
		struct file *err = f->filp;

		kfree(f);
		return ERR_CAST(err);
	}
	stream_open(f->filp->f_inode, f->filp);
	if (save) {
		f->hdr.magic = cpu_to_le64(SHIM_MAGIC);
		f->hdr.version = cpu_to_le32(SHIM_VERSION);
		f->hdr.type = cpu_to_le32(s->type);
		f->hdr.size = cpu_to_le64(s->size);
		f->hdr.crc = cpu_to_le32(shim_crc(s));
	}
	return f;
}

/* Called with the lock held: the file stays open for its reader, ENODEV. */
static void shim_file_drop(struct shim_file **fp)
{
	struct shim_file *f = *fp;

	if (!f)
		return;
	f->disabled = true;
	fput(f->filp);
	*fp = NULL;
}

/* RESUMING->STOP: the whole stream, for this device, unchanged. */
static int shim_check_resume(struct shim *s, struct shim_file *f)
{
	if (f->pos != stream_len(s)) {
		dev_warn(s->vdev.dev, "resume stream: %lld of %llu bytes\n",
			 f->pos, stream_len(s));
		return -EINVAL;
	}
	if (le64_to_cpu(f->hdr.magic) != SHIM_MAGIC ||
	    le32_to_cpu(f->hdr.version) != SHIM_VERSION ||
	    le32_to_cpu(f->hdr.type) != s->type ||
	    le64_to_cpu(f->hdr.size) != s->size) {
		dev_warn(s->vdev.dev, "resume stream: not for this device\n");
		return -EINVAL;
	}
	if (le32_to_cpu(f->hdr.crc) != shim_crc(s)) {
		dev_warn(s->vdev.dev,
			 "resume stream: state checksum differs\n");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------- migration */

/* One arc of the state machine; NULL or a new data_fd's file. */
static struct file *shim_step(struct shim *s, enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = s->state;
	struct shim_file *f;
	int ret;

	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     (next == VFIO_DEVICE_STATE_RUNNING ||
	      next == VFIO_DEVICE_STATE_STOP)) ||
	    (cur == VFIO_DEVICE_STATE_STOP &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P))
		return NULL;
#if SHIM_PRECOPY
	/* the saving group shares one session: PRE_COPY's fd goes on */
	if ((cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     next == VFIO_DEVICE_STATE_PRE_COPY_P2P) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     (next == VFIO_DEVICE_STATE_PRE_COPY ||
	      next == VFIO_DEVICE_STATE_STOP_COPY)))
		return NULL;
	if ((cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     next == VFIO_DEVICE_STATE_RUNNING) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P)) {
		shim_file_drop(&s->save);
		return NULL;
	}
#endif
	if ((cur == VFIO_DEVICE_STATE_STOP &&
	     next == VFIO_DEVICE_STATE_STOP_COPY)
#if SHIM_PRECOPY
	    || (cur == VFIO_DEVICE_STATE_RUNNING &&
		next == VFIO_DEVICE_STATE_PRE_COPY) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     next == VFIO_DEVICE_STATE_PRE_COPY_P2P)
#endif
	) {
		f = shim_file_new(s, true);
		if (IS_ERR(f))
			return ERR_CAST(f);
		s->save = f;
		get_file(f->filp);
		return f->filp;
	}
	if (cur == VFIO_DEVICE_STATE_STOP_COPY &&
	    next == VFIO_DEVICE_STATE_STOP) {
		shim_file_drop(&s->save);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_RESUMING) {
		f = shim_file_new(s, false);
		if (IS_ERR(f))
			return ERR_CAST(f);
		s->resume = f;
		get_file(f->filp);
		return f->filp;
	}
	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    next == VFIO_DEVICE_STATE_STOP) {
		ret = shim_check_resume(s, s->resume);
		shim_file_drop(&s->resume);
		return ret ? ERR_PTR(ret) : NULL;
	}
	return ERR_PTR(-EINVAL);
}

static struct file *shim_set_state(struct vfio_device *vdev,
				   enum vfio_device_mig_state target)
{
	struct shim *s = to_shim(vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	mutex_lock(&s->lock);
	while (s->state != target) {
		ret = vfio_mig_get_next_state(vdev, s->state, target, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = shim_step(s, next);
		if (IS_ERR(res)) {
			/* a failed load leaves nothing usable: ERROR */
			if (s->state == VFIO_DEVICE_STATE_RESUMING)
				s->state = VFIO_DEVICE_STATE_ERROR;
			break;
		}
		s->state = next;
		if (res && next != target) { /* only the last arc may */
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	mutex_unlock(&s->lock);
	return res;
}

static int shim_get_state(struct vfio_device *vdev,
			  enum vfio_device_mig_state *state)
{
	struct shim *s = to_shim(vdev);

	mutex_lock(&s->lock);
	*state = s->state;
	mutex_unlock(&s->lock);
	return 0;
}

#if SHIM_PRECOPY
/* MIG_DATA_SIZE: the core calls it unchecked from 6.2 on. */
static int shim_get_data_size(struct vfio_device *vdev, unsigned long *len)
{
	struct shim *s = to_shim(vdev);

	/* all still left: what a pre-copy session has not read yet */
	mutex_lock(&s->lock);
	*len = stream_len(s) - (s->save ? s->save->pos : 0);
	mutex_unlock(&s->lock);
	return 0;
}
#endif

static const struct vfio_migration_ops shim_mig_ops = {
	.migration_set_state = shim_set_state,
	.migration_get_state = shim_get_state,
#if SHIM_PRECOPY
	.migration_get_data_size = shim_get_data_size,
#endif
};

/* ------------------------------------------------------- vfio device */

static void shim_reset_locked(struct shim *s)
{
	shim_file_drop(&s->save);
	shim_file_drop(&s->resume);
	s->state = VFIO_DEVICE_STATE_RUNNING;
}

static int shim_open(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);

	mutex_lock(&s->lock);
	shim_reset_locked(s);
	mutex_unlock(&s->lock);
	return 0;
}

static void shim_close(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);

	mutex_lock(&s->lock);
	shim_reset_locked(s);
	mutex_unlock(&s->lock);
}

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
		mutex_lock(&s->lock);
		shim_reset_locked(s);
		mutex_unlock(&s->lock);
		return 0;
	}
	return -ENOTTY;
}

/* No DMA is ever pinned: nothing to give back. */
static void shim_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
}

static int shim_init_dev(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);

	mutex_init(&s->lock);
	s->type = mdev->type == &shim_large;
	s->size = s->type ? large_size : small_size;
	if (!s->size || s->size % 8 || s->size > SHIM_MAX_SIZE)
		return -EINVAL;
	s->buf = vmalloc(s->size);
	if (!s->buf)
		return -ENOMEM;
	shim_fill(s);
	s->state = VFIO_DEVICE_STATE_RUNNING;
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
#if SHIM_PRECOPY
	vdev->migration_flags |= VFIO_MIGRATION_PRE_COPY;
#endif
	vdev->mig_ops = &shim_mig_ops;
	return 0;
}

static void shim_release_dev(struct vfio_device *vdev)
{
	struct shim *s = to_shim(vdev);

	vfree(s->buf);
	mutex_destroy(&s->lock);
}

static const struct vfio_device_ops shim_dev_ops = {
	.name = SHIM_NAME,
	.init = shim_init_dev,
	.release = shim_release_dev,
	.open_device = shim_open,
	.close_device = shim_close,
	.ioctl = shim_ioctl,
	.dma_unmap = shim_dma_unmap,
#if IS_ENABLED(CONFIG_IOMMUFD)
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#endif
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
	return 0;
}

static void shim_remove(struct mdev_device *mdev)
{
	struct shim *s = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&s->vdev);
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
	return 0;
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
