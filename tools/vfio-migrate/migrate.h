/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What send, recv, save and load share: options, devices, reports. */
#ifndef VFIO_MIGRATE_MIGRATE_H
#define VFIO_MIGRATE_MIGRATE_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfmig.h"

#define MIG_MAX_DEV 64
#define MIG_MAX_AUTHZ 16

enum mig_mode { MIG_SEND, MIG_RECV, MIG_SAVE, MIG_LOAD };

struct mig_args {
	enum mig_mode mode;
	const char *spec[MIG_MAX_DEV];
	unsigned ndev;
	char uri[4200];
	char path[4096]; /* save, load: the file */
	int file_fd; /* ... opened by us, passed as fd:N */
	bool json, verbose;
	struct vfmig_stream_opts o;
	char history[4096]; /* send: the history file; "" none */
	struct vfmig_source *src; /* send, save: the running source */
	struct vfmig_sink *snk; /* recv, load: the running sink */
	struct vfmig_device **devs; /* the opened devices (mig_open) */
	bool records; /* -j --interval: progress records on stdout */
	char metrics[4096]; /* --metrics FILE; "" none */
	bool metrics_said; /* a failed rewrite was said (once) */
	/* TLS: the options, and the credentials loaded from them */
	const char *tls_creds, *tls_hostname, *tls_username;
	const char *tls_authz[MIG_MAX_AUTHZ + 1];
	unsigned ntls_authz;
	struct vfmig_tls *tls;
	cpu_set_t cpus; /* --cpus, where o.cpus is set */
};

/* send's default history file, for this user, into @buf ("" none). */
void mig_history_default(char *buf, size_t size);
/* -z auto's zstd level for a wire cap (0: none). */
int mig_auto_level(uint64_t max_bandwidth);

/* Parse argv; returns -1 to go on, or the exit status (help, usage). */
int mig_parse(int argc, char **argv, enum mig_mode mode, struct mig_args *a);
/* @dev's id, or its position's default ("dev0") in @buf. */
const char *mig_id(const struct vfmig_device *dev, unsigned idx, char *buf,
		   size_t size);
/* Open every device (sim devices get distinct names); exit status. */
int mig_open(struct mig_args *a, struct vfmig_device **devs);
/* mig_parse(), mig_open(), save/load's file, and for those two
 * mig_lockdown() (send drops once vfmig_source_new() made its sockets,
 * recv once it listens): -1 to go on, or the exit status. */
int mig_prepare(int argc, char **argv, enum mig_mode mode, struct mig_args *a,
		struct vfmig_device **devs);
/* Drop the privileges the rest of the run does not need (privs.h). */
int mig_lockdown(struct mig_args *a);
void mig_close(struct vfmig_device **devs, unsigned n);
/* mig_close() of @a's devices, and its file. */
void mig_release(struct mig_args *a, struct vfmig_device **devs);

/* Progress on a terminal (stderr), or NDJSON records (-j --interval). */
struct mig_result;
/* --metrics: rewrite the file (metrics.h) with @status, @r the report's
 * figures or NULL; a failure is said once and the migration goes on. */
void mig_metrics(struct mig_args *a, const char *status, uint64_t total_ms,
		 const struct vfmig_transfer *t, const struct mig_result *r);

void mig_progress(void *arg, const struct vfmig_transfer *t,
		  uint64_t elapsed_ms, const char *phase);

/* recv: the ready line on stderr and, with -j, the first record
 * ({"status": "listening", "socket-address": ...}); nothing for load. */
void mig_listening(const struct mig_args *a, const struct vfmig_sink *k);

struct mig_result {
	int ret;
	const char *error;
	uint64_t total_ms, downtime_ms, downtime_us, setup_us;
	struct vfmig_transfer total;
	struct vfmig_transfer dev[MIG_MAX_DEV];
	unsigned channels;
	bool have_wire, have_downtime, have_setup;
};
void mig_report(const struct mig_args *a, struct vfmig_device **devs,
		const struct mig_result *r);
/* Say why it failed, print the report, close the devices: exit status. */
int mig_finish(struct mig_args *a, struct vfmig_device **devs,
	       const struct mig_result *r);

#endif
