// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The source's use of the history file (history.h): before the estimate
 * starts, what earlier migrations of each kind of device measured; after a
 * migration that completed, what this one did.  A history that cannot be
 * read or written costs the estimate its figures, never the migration.
 */
#include <stdlib.h>

#include "history.h"
#include "source.h"

static void key_of(const struct sdev *d, char key[HISTORY_KEY_MAX])
{
	history_key(key, vfmig_device_backend(d->dev),
		    vfmig_device_identity(d->dev));
}

void tx_history_load(struct vfmig_source *s, uint64_t *stop_us)
{
	struct history_entry *all = NULL;
	int n = s->o.history ? history_read(s->o.history, &all, NULL, 0) : 0;

	*stop_us = 0;
	for (unsigned i = 0; n > 0 && i < s->ndev; i++) {
		const struct history_entry *e;
		char key[HISTORY_KEY_MAX];

		key_of(&s->d[i], key);
		e = history_find(all, (unsigned)n, key);
		if (!e)
			continue;
		vfmig_stats_set_history(s->stats, i, e->ratio, e->codec_ns,
					(uint64_t)e->read_rate);
		vfmig_stats_set_history_load(s->stats, i,
					     (uint64_t)e->load_rate);
		/* -z auto's first chunks: the dearest device's cost */
		if (e->ratio > 0 && e->codec_ns > s->prior_ns) {
			s->prior_ns = e->codec_ns;
			s->prior_ratio = e->ratio;
		}
		/* the devices stop one after the other */
		*stop_us += e->stop_us;
	}
	free(all);
}

/* The destination's load of the device's stop-copy data, bytes per busy
 * second: its PROGRESS at the stop against its final one (sent before its
 * DEVICE_LOADED); 0 under 1 MiB, or from a destination without PROGRESS. */
static double stopcopy_load_rate(const struct sdev *d)
{
	uint64_t bytes = d->dest.loaded - d->dest_at_stop.loaded;
	uint64_t us = d->dest.busy_us - d->dest_at_stop.busy_us;

	return bytes >= (1u << 20) && us ? (double)bytes * 1e6 / (double)us : 0;
}

void tx_history_save(struct vfmig_source *s)
{
	struct history_entry *e;

	if (!s->o.history || s->failed || !s->ndev)
		return;
	e = calloc(s->ndev, sizeof(*e));
	if (!e)
		return;
	for (unsigned i = 0; i < s->ndev; i++) {
		const struct sdev *d = &s->d[i];

		key_of(d, e[i].key);
		/* too little compressed says nothing of the ratio */
		if (d->z_raw >= (1u << 20)) {
			e[i].ratio = (double)d->z_wire / (double)d->z_raw;
			e[i].codec_ns =
				(double)d->z_us * 1000.0 / (double)d->z_raw;
		}
		e[i].stop_us = d->stop_us;
		if (d->sc_read_bytes >= (1u << 20) && d->sc_read_us)
			e[i].read_rate = (double)d->sc_read_bytes * 1e6 /
					 (double)d->sc_read_us;
		e[i].load_rate = stopcopy_load_rate(d);
	}
	history_put(s->o.history, e, s->ndev, NULL, 0);
	free(e);
}
