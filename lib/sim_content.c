// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Page contents of the simulated device.  Each page is a pure function of
 * (pattern, seed, page), so content is reproducible and generated once.
 *
 *   zero    all zero
 *   random  incompressible
 *   fb      framebuffer-like: 60% zero pages, 10% solid colour, 10% gradient,
 *           20% random (roughly what a vGPU's memory compresses like)
 *   text    English-like words and lines (compresses ~3x, slowly)
 *
 * And the model around them: the workload dirtying pages while the
 * device runs, and the page hashes the state hash is made of.
 */
#include <string.h>
#include <time.h>

#include "sim.h"

uint64_t sim_mix(uint64_t a, uint64_t b)
{
	uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t sim_rand(uint64_t *state)
{
	/* xorshift64*: fast, and plenty for test content */
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void fill_random(unsigned char *dst, uint64_t seed)
{
	uint64_t st = seed | 1;

	for (unsigned i = 0; i < SIM_PAGE; i += 8) {
		uint64_t v = sim_rand(&st);

		memcpy(dst + i, &v, 8);
	}
}

static void fill_solid(unsigned char *dst, uint64_t seed)
{
	uint32_t px = (uint32_t)seed | 0xff000000u;

	for (unsigned i = 0; i < SIM_PAGE; i += 4)
		memcpy(dst + i, &px, 4);
}

static void fill_gradient(unsigned char *dst, uint64_t seed)
{
	uint32_t px = (uint32_t)seed, step = (uint32_t)(seed >> 32) & 0x030303;

	for (unsigned i = 0; i < SIM_PAGE; i += 4) {
		if (!(i & 15))
			px += step;
		memcpy(dst + i, &px, 4);
	}
}

static const char *const words[] = {
	"the",	  "device",  "state", "memory", "of",	   "and",   "a",
	"queue",  "to",	     "in",    "page",	"buffer",  "is",    "for",
	"driver", "that",    "with",  "on",	"ring",	   "by",    "migration",
	"as",	  "this",    "from",  "data",	"be",	   "at",    "kernel",
	"it",	  "copy",    "an",    "not",	"stream",  "or",    "host",
	"guest",  "are",     "which", "shader", "frame",   "when",  "table",
	"vector", "all",     "has",   "its",	"into",	   "while", "read",
	"write",  "command", "fence", "engine", "texture", "more",  "than",
};

static void fill_text(unsigned char *dst, uint64_t seed)
{
	const unsigned nwords = sizeof(words) / sizeof(words[0]);
	uint64_t st = seed | 1;
	unsigned pos = 0, col = 0;

	while (pos < SIM_PAGE) {
		uint64_t r = sim_rand(&st);
		const char *w = words[r % nwords];
		size_t len = strlen(w);

		for (size_t i = 0; i < len && pos < SIM_PAGE; i++)
			dst[pos++] = (unsigned char)w[i];
		col += (unsigned)len + 1;
		if (pos < SIM_PAGE)
			dst[pos++] = col > 64	    ? '\n' :
				     (r >> 40) % 13 ? ' ' :
						      ',';
		if (col > 64)
			col = 0;
	}
}

bool sim_page_is_zero(const struct sim_config *cfg, uint64_t page)
{
	return cfg->pattern == SIM_PAT_ZERO ||
	       (cfg->pattern == SIM_PAT_FB &&
		sim_mix(cfg->seed, page) % 10 < 6);
}

void sim_fill_page(const struct sim_config *cfg, uint64_t page,
		   unsigned char *dst)
{
	uint64_t h = sim_mix(cfg->seed, page);

	switch (cfg->pattern) {
	case SIM_PAT_ZERO:
		memset(dst, 0, SIM_PAGE);
		break;
	case SIM_PAT_RANDOM:
		fill_random(dst, h);
		break;
	case SIM_PAT_TEXT:
		fill_text(dst, h);
		break;
	case SIM_PAT_FB:
		switch (h % 10) {
		case 6:
			fill_solid(dst, h >> 8);
			break;
		case 7:
			fill_gradient(dst, h >> 4);
			break;
		case 8:
		case 9:
			fill_random(dst, h);
			break;
		default:
			memset(dst, 0, SIM_PAGE);
			break;
		}
		break;
	}
}

void sim_dirty_page(unsigned char *page, uint64_t stamp)
{
	/* Two words: cheap at any dirty rate, and always a visible change. */
	uint64_t a, b;
	unsigned off = (unsigned)(sim_mix(stamp, 7) % (SIM_PAGE / 8)) * 8;

	memcpy(&a, page, 8);
	memcpy(&b, page + off, 8);
	a ^= stamp | 1;
	b += stamp;
	memcpy(page, &a, 8);
	memcpy(page + off, &b, 8);
}

/* --------------------------------------------------------- the model */

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool sim_state_running(int state)
{
	return state == VFMIG_STATE_RUNNING ||
	       state == VFMIG_STATE_RUNNING_P2P ||
	       state == VFMIG_STATE_PRE_COPY ||
	       state == VFMIG_STATE_PRE_COPY_P2P;
}

/* The workload: dirty pages at cfg.dirty_rate since the device started. */
void sim_apply_dirty(struct sim *s)
{
	uint64_t due, n;

	if (!s->cfg.dirty_rate || !sim_state_running(s->state))
		return;
	due = (uint64_t)((unsigned __int128)(sim_now_ns() - s->epoch_ns) *
			 s->cfg.dirty_rate /
			 (unsigned __int128)(1000000000ull * SIM_PAGE));
	if (due <= s->dirtied)
		return;
	/* A backlog beyond a few passes changes nothing more. */
	n = due - s->dirtied;
	if (n > 4 * s->npages)
		n = 4 * s->npages;
	s->dirtied = due;
	if (n)
		s->zeroed = false;
	while (n--) {
		uint64_t page = sim_rand(&s->rng) % s->npages;

		sim_dirty_page(s->mem + page * SIM_PAGE, ++s->stamp);
		/* Pages the first pass has not reached yet go out anyway. */
		if (s->save && page < s->save->cursor)
			s->dirty[page / 64] |= 1ull << (page % 64);
	}
}

uint64_t sim_page_hash(const unsigned char *page)
{
	return vfmig_hash64(page, SIM_PAGE, 0);
}

uint64_t sim_hash_of_pages(const struct sim *s)
{
	return vfmig_hash64(s->page_hash, s->npages * sizeof(uint64_t),
			    s->cfg.size);
}

uint64_t sim_fresh_hash(struct sim *s)
{
	for (uint64_t p = 0; p < s->npages; p++)
		s->page_hash[p] = sim_page_hash(s->mem + p * SIM_PAGE);
	return sim_hash_of_pages(s);
}
