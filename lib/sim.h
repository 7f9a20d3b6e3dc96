/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated migratable device.  Its state is a real buffer; its
 * migration stream is served through a real pipe, read like a VFIO data_fd.
 *
 *   sim_config.c   spec parsing (sim:KEY=VALUE,...)
 *   sim_content.c  page contents by pattern, and dirtying
 *   device_sim.c   the backend: state machine, sizes, faults
 *   sim_stream.c   the stream format, the producer and consumer threads
 */
#ifndef VFMIG_LIB_SIM_H
#define VFMIG_LIB_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define SIM_PAGE 4096u
#define SIM_MAX_SIZE (64ull << 30)
#define SIM_MAX_FAULTS 8

enum sim_pattern { SIM_PAT_ZERO, SIM_PAT_RANDOM, SIM_PAT_FB, SIM_PAT_TEXT };
/* How a PRE_COPY read reports "no data now". */
enum sim_end { SIM_END_ENOMSG, SIM_END_ZERO };
enum sim_sizes {
	SIM_SIZES_EXACT,
	SIM_SIZES_ZERO,
	SIM_SIZES_HUGE,
	SIM_SIZES_RANDOM,
	SIM_SIZES_STALE,
};

struct sim_arc_fault {
	int from, to;
	bool to_error; /* the device lands in ERROR, else stays in from */
};

struct sim_config {
	char name[DEVICE_NAME_MAX];
	bool named; /* name= given: it is the device's id too */
	uint64_t size;
	enum sim_pattern pattern;
	uint64_t seed;
	uint64_t dirty_rate; /* bytes/s while running */
	bool precopy, p2p;
	enum sim_end end;
	enum sim_sizes sizes;
	struct sim_arc_fault arc_faults[SIM_MAX_FAULTS];
	int n_arc_faults;
	bool check; /* hash pages as they stream; RESUMING->STOP checks */
	uint64_t eio_after; /* stream bytes; 0: never */
	uint64_t slow_rate; /* stream bytes/s; 0: unlimited */
};

int sim_config_parse(const char *args, struct sim_config *cfg, char *err,
		     size_t err_size);
uint32_t sim_config_flags(const struct sim_config *cfg);

/* Content of page @page at creation. */
void sim_fill_page(const struct sim_config *cfg, uint64_t page,
		   unsigned char *dst);
/* Whether page @page starts all zero (and need not be touched). */
bool sim_page_is_zero(const struct sim_config *cfg, uint64_t page);
/* Make a visible change to a page, as a running device would. */
void sim_dirty_page(unsigned char *page, uint64_t stamp);
uint64_t sim_rand(uint64_t *state);
uint64_t sim_mix(uint64_t a, uint64_t b);

/* The stream a save session produces:
 *   header (SIM_HDR_LEN) | page records ... | END record
 * A record is SIM_REC_LEN bytes of header, then count pages. */
#define SIM_HDR_LEN 64u
#define SIM_REC_LEN 32u
#define SIM_REC_MAX_PAGES 256u

struct sim_save {
	int rfd; /* read end: the data_fd handed out (owned by device.c) */
	int wfd; /* write end; -1 while closed to make reads return 0 */
	int evfd; /* wakes the producer */
	pthread_t thread;
	_Atomic bool stop; /* the producer must exit */
	uint64_t built; /* stream bytes handed to the producer's writes */
	_Atomic uint64_t written; /* stream bytes put into the pipe */
	uint64_t initial_len; /* header + the whole first pass */
	uint64_t cursor; /* next page of the first pass */
	uint64_t pace_due; /* faults=slow: when the bytes written are due */
	bool header_sent, end_sent, broken;
};

struct sim_resume {
	int rfd, wfd, evfd; /* wfd is the data_fd handed out */
	pthread_t thread;
	_Atomic bool finish; /* every write is made: drain, then exit */
	_Atomic bool stop; /* abort: exit now */
	/* parser, only touched by the consumer until it is joined */
	uint64_t received;
	unsigned char hdr[SIM_HDR_LEN];
	unsigned hdr_have;
	bool header_ok, end_seen;
	unsigned char rec[SIM_REC_LEN];
	unsigned rec_have;
	uint64_t payload_left, payload_off; /* current record's pages */
	uint64_t src_hash;
	char error[160];
};

struct sim {
	struct sim_config cfg;
	uint32_t flags;
	pthread_mutex_t lock;
	unsigned char *mem;
	bool zeroed; /* every byte of mem is 0: RESUMING has nothing to clear */
	uint64_t npages;
	/* hash of each page as last sent (save) or written (resume): the
	 * state hash is a hash of this array, kept as pages stream so that
	 * neither end of a migration hashes the whole state at the end */
	uint64_t *page_hash;
	int state;
	/* the running workload */
	uint64_t *dirty; /* pages to (re)send in the current save session */
	uint64_t epoch_ns, dirtied, stamp, rng;
	/* sessions; at most one of them is active */
	struct sim_save *save;
	struct sim_resume *resume;
	/* garbage size reports */
	uint64_t garbage_rng;
	unsigned stale_set; /* bit per reported value */
	uint64_t stale_stopcopy, stale_initial, stale_dirty;
};

uint64_t sim_now_ns(void);
/* RUNNING, PRE_COPY or their P2P forms: the workload dirties pages. */
bool sim_state_running(int state);
uint64_t sim_page_hash(const unsigned char *page);
/* The state hash: of the page hashes (sim_fresh_hash recomputes them). */
uint64_t sim_hash_of_pages(const struct sim *s);
uint64_t sim_fresh_hash(struct sim *s);
void sim_apply_dirty(struct sim *s);

int sim_save_start(struct sim *s, int *data_fd);
/* PRE_COPY* -> STOP_COPY: the stream goes on to the END record. */
void sim_save_stopcopy(struct sim *s);
void sim_save_stop(struct sim *s);
/* Bytes not read yet of the initial part and of the rest (exact). */
void sim_save_pending(struct sim *s, uint64_t *initial, uint64_t *rest);
/* Bytes a STOP_COPY from now would deliver (exact). */
uint64_t sim_stopcopy_bytes(struct sim *s);

int sim_resume_start(struct sim *s, int *data_fd);
/* Drain what was written, check it, load it; -EINVAL with a reason. */
int sim_resume_finish(struct sim *s, char *why, size_t why_size);
void sim_resume_stop(struct sim *s);

#endif /* VFMIG_LIB_SIM_H */
