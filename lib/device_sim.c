// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sim backend: the kernel's migration state machine over an in-process
 * device, with the size reports and faults real drivers show.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim.h"

static struct sim *to_sim(struct vfmig_device *dev)
{
	return dev->priv;
}

static bool is_precopy(int state)
{
	return state == VFMIG_STATE_PRE_COPY ||
	       state == VFMIG_STATE_PRE_COPY_P2P;
}

static int sim_migration_flags(struct vfmig_device *dev, uint32_t *flags)
{
	*flags = to_sim(dev)->flags;
	return 0;
}

static int sim_get_state(struct vfmig_device *dev, int *state)
{
	struct sim *s = to_sim(dev);

	pthread_mutex_lock(&s->lock);
	*state = s->state;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct sim_arc_fault *arc_fault(struct sim *s, int from, int to)
{
	for (int i = 0; i < s->cfg.n_arc_faults; i++)
		if (s->cfg.arc_faults[i].from == from &&
		    s->cfg.arc_faults[i].to == to)
			return &s->cfg.arc_faults[i];
	return NULL;
}

static void end_sessions(struct sim *s)
{
	if (s->save)
		sim_save_stop(s);
	if (s->resume)
		sim_resume_stop(s);
}

/* One arc, as a driver implements it. */
static int sim_arc(struct vfmig_device *dev, int to, int *data_fd)
{
	struct sim *s = to_sim(dev);
	int from = s->state, ret = 0;
	char why[DEVICE_WHY_MAX];

	if (sim_state_running(from) && !sim_state_running(to))
		sim_apply_dirty(s);

	if ((from == VFMIG_STATE_RUNNING && to == VFMIG_STATE_PRE_COPY) ||
	    (from == VFMIG_STATE_RUNNING_P2P &&
	     to == VFMIG_STATE_PRE_COPY_P2P) ||
	    (from == VFMIG_STATE_STOP && to == VFMIG_STATE_STOP_COPY)) {
		s->state = to;
		ret = sim_save_start(s, data_fd);
		if (ret < 0) {
			s->state = from;
			device_why(dev, "cannot start the save stream");
			return ret;
		}
	} else if (is_precopy(from) && to == VFMIG_STATE_STOP_COPY) {
		s->state = to;
		sim_save_stopcopy(s);
	} else if ((is_precopy(from) && !is_precopy(to)) ||
		   from == VFMIG_STATE_STOP_COPY) {
		sim_save_stop(s);
	} else if (to == VFMIG_STATE_RESUMING) {
		/* A resuming device's old state must not show through.  Zero
		 * it in place: device memory stays resident.  (Not twice: a
		 * 16 GiB device takes a second, inside the migration.) */
		uint64_t zero_hash;

		if (!s->zeroed)
			memset(s->mem, 0, s->cfg.size);
		s->zeroed = false; /* the stream writes it from now on */
		zero_hash = sim_page_hash(s->mem);
		for (uint64_t p = 0; p < s->npages; p++)
			s->page_hash[p] = zero_hash;
		ret = sim_resume_start(s, data_fd);
		if (ret < 0) {
			device_why(dev, "cannot start the resume stream");
			return ret;
		}
	} else if (from == VFMIG_STATE_RESUMING) {
		ret = sim_resume_finish(s, why, sizeof(why));
		if (ret < 0) {
			device_why(dev, "%s", why);
			s->state = VFMIG_STATE_ERROR;
			return ret;
		}
	}
	if (!sim_state_running(from) && sim_state_running(to)) {
		s->epoch_ns = sim_now_ns();
		s->dirtied = 0;
	}
	s->state = to;
	return 0;
}

static int sim_set_state(struct vfmig_device *dev, int target, int *data_fd)
{
	struct sim *s = to_sim(dev);
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->state == VFMIG_STATE_ERROR) {
		device_why(dev, "device is in ERROR; only a reset leaves it");
		ret = -EINVAL;
	} else if (!state_supported(s->flags, target)) {
		device_why(dev, "the device does not offer %s",
			   state_upper(target));
		ret = -EINVAL;
	}
	while (!ret && s->state != target) {
		int hop = vfmig_state_next_hop(s->flags, s->state, target);
		const struct sim_arc_fault *f;

		if (hop < 0) {
			device_why(dev, "no path from %s",
				   state_upper(s->state));
			ret = -EINVAL;
			break;
		}
		f = arc_fault(s, s->state, hop);
		if (f) {
			device_why(dev, "injected fault on arc %s->%s",
				   state_upper(s->state), state_upper(hop));
			if (f->to_error) {
				end_sessions(s);
				s->state = VFMIG_STATE_ERROR;
			}
			ret = -EIO;
			break;
		}
		ret = sim_arc(dev, hop, data_fd);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* What the driver reports, per cfg.sizes. */
static uint64_t report(struct sim *s, uint64_t exact, unsigned slot)
{
	uint64_t *stale[] = { &s->stale_stopcopy, &s->stale_initial,
			      &s->stale_dirty };

	switch (s->cfg.sizes) {
	case SIM_SIZES_ZERO:
		return 0;
	case SIM_SIZES_HUGE:
		return UINT64_MAX;
	case SIM_SIZES_RANDOM:
		return sim_rand(&s->garbage_rng);
	case SIM_SIZES_STALE:
		if (!(s->stale_set & (1u << slot))) {
			*stale[slot] = exact;
			s->stale_set |= 1u << slot;
		}
		return *stale[slot];
	case SIM_SIZES_EXACT:
		break;
	}
	return exact;
}

static int sim_precopy_info(struct vfmig_device *dev, int data_fd,
			    struct vfmig_precopy_info *info)
{
	struct sim *s = to_sim(dev);
	uint64_t initial, rest;
	int ret = 0;

	(void)data_fd;
	pthread_mutex_lock(&s->lock);
	if (s->save && s->save->broken) {
		device_why(dev, "the save stream broke (injected fault)");
		ret = -EIO;
	} else if (!is_precopy(s->state) || !s->save) {
		device_why(dev, "not in PRE_COPY");
		ret = -EINVAL;
	} else {
		sim_apply_dirty(s);
		sim_save_pending(s, &initial, &rest);
		info->initial_bytes = report(s, initial, 1);
		info->dirty_bytes = report(s, rest, 2);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sim_stopcopy_size(struct vfmig_device *dev, uint64_t *bytes)
{
	struct sim *s = to_sim(dev);

	pthread_mutex_lock(&s->lock);
	sim_apply_dirty(s);
	*bytes = report(s, sim_stopcopy_bytes(s), 0);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sim_reset(struct vfmig_device *dev)
{
	struct sim *s = to_sim(dev);

	pthread_mutex_lock(&s->lock);
	end_sessions(s);
	s->state = VFMIG_STATE_RUNNING;
	s->epoch_ns = sim_now_ns();
	s->dirtied = 0;
	s->stale_set = 0;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sim_state_hash(struct vfmig_device *dev, uint64_t *hash)
{
	struct sim *s = to_sim(dev);

	pthread_mutex_lock(&s->lock);
	*hash = sim_fresh_hash(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void sim_session_end(struct vfmig_device *dev)
{
	struct sim *s = to_sim(dev);

	pthread_mutex_lock(&s->lock);
	end_sessions(s);
	pthread_mutex_unlock(&s->lock);
}

static void sim_destroy(struct vfmig_device *dev)
{
	struct sim *s = to_sim(dev);

	pthread_mutex_lock(&s->lock);
	end_sessions(s);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	munmap(s->mem, s->cfg.size);
	free(s->dirty);
	free(s->page_hash);
	free(s);
}

static const struct device_backend sim_backend = {
	.name = "sim",
	.migration_flags = sim_migration_flags,
	.get_state = sim_get_state,
	.set_state = sim_set_state,
	.precopy_info = sim_precopy_info,
	.stopcopy_size = sim_stopcopy_size,
	.reset = sim_reset,
	.state_hash = sim_state_hash,
	.session_end = sim_session_end,
	.destroy = sim_destroy,
};

/*
 * The state buffer, labelled "/memfd:vfmig-sim" in /proc/PID/smaps so tools
 * can tell the simulated device's memory from the pipeline's.  A shared
 * mapping of a memfd (populating a private one would copy every page), kept
 * out of forked children: the device belongs to this process.
 */
static unsigned char *map_state(uint64_t size)
{
	int fd = memfd_create("vfmig-sim", MFD_CLOEXEC);
	void *p = MAP_FAILED;

	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) == 0)
			p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_NORESERVE, fd, 0);
		close(fd);
	}
	if (p == MAP_FAILED)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED)
		madvise(p, size, MADV_DONTFORK);
	return p;
}

int sim_device_open(const char *args, const struct vfmig_device_opts *opts,
		    struct vfmig_device **out)
{
	char *eb = opts ? opts->errbuf : NULL;
	size_t ebs = opts ? opts->errbuf_size : 0;
	struct sim *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return set_errbuf(eb, ebs, ENOMEM, "sim: out of memory");
	ret = sim_config_parse(args, &s->cfg, eb, ebs);
	if (ret < 0) {
		free(s);
		return ret;
	}
	s->flags = sim_config_flags(&s->cfg);
	s->npages = s->cfg.size / SIM_PAGE;
	s->dirty = calloc((s->npages + 63) / 64, sizeof(uint64_t));
	s->page_hash = calloc(s->npages, sizeof(uint64_t));
	s->mem = map_state(s->cfg.size);
	if (!s->dirty || !s->page_hash || s->mem == MAP_FAILED) {
		unsigned long long size = s->cfg.size;

		if (s->mem != MAP_FAILED)
			munmap(s->mem, s->cfg.size);
		free(s->dirty);
		free(s->page_hash);
		free(s);
		return set_errbuf(
			eb, ebs, ENOMEM,
			"sim: cannot allocate %llu bytes of device state",
			size);
	}
	/* Device memory is resident on real hardware: fault it in now, not
	 * during a migration. */
	madvise(s->mem, s->cfg.size, MADV_POPULATE_WRITE);
	s->zeroed = true; /* a fresh memfd reads as zeros */
	for (uint64_t p = 0; p < s->npages; p++)
		if (!sim_page_is_zero(&s->cfg, p)) {
			sim_fill_page(&s->cfg, p, s->mem + p * SIM_PAGE);
			s->zeroed = false;
		}
	pthread_mutex_init(&s->lock, NULL);
	s->state = VFMIG_STATE_RUNNING;
	s->epoch_ns = sim_now_ns();
	s->rng = sim_mix(s->cfg.seed, 0x5eed) | 1;
	s->garbage_rng = sim_mix(s->cfg.seed, 0x9a9b) | 1;

	ret = device_new(&sim_backend, s, s->cfg.name, out);
	if (ret == 0) {
		snprintf((*out)->ident, sizeof((*out)->ident), "sim size=%llu",
			 (unsigned long long)s->cfg.size);
		/* a sim's name= is its id */
		if (s->cfg.named)
			snprintf((*out)->id, sizeof((*out)->id), "%s",
				 s->cfg.name);
	}
	if (ret < 0) {
		pthread_mutex_destroy(&s->lock);
		munmap(s->mem, s->cfg.size);
		free(s->dirty);
		free(s->page_hash);
		free(s);
		return set_errbuf(eb, ebs, ret, "sim: out of memory");
	}
	return 0;
}
