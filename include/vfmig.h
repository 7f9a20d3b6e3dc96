/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfmig: move the migration state of VFIO devices.
 *
 * Conventions (see libvfmig(3)):
 *  - Functions return 0 or a non-negative value on success and -errno on
 *    failure.  errno is never the error channel.
 *  - Handles are opaque.  Every close/free function accepts NULL.
 *  - Option structs start with a size field: set it to sizeof(the struct) so
 *    the struct can grow without breaking the ABI.
 *  - A handle is used by one thread at a time unless a call says otherwise.
 *    The library has no global mutable state.
 */
#ifndef VFMIG_H
#define VFMIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFMIG_VERSION_MAJOR 0
#define VFMIG_VERSION_MINOR 4
#define VFMIG_VERSION_PATCH 0

/* The library's version string, e.g. "0.1.0". */
const char *vfmig_version(void);

/*
 * Migration states, numbered as the kernel's enum vfio_device_mig_state.
 * Values >= VFMIG_STATE_COUNT may be reported by future kernels.
 */
enum vfmig_state {
	VFMIG_STATE_ERROR = 0,
	VFMIG_STATE_STOP = 1,
	VFMIG_STATE_RUNNING = 2,
	VFMIG_STATE_STOP_COPY = 3,
	VFMIG_STATE_RESUMING = 4,
	VFMIG_STATE_RUNNING_P2P = 5,
	VFMIG_STATE_PRE_COPY = 6,
	VFMIG_STATE_PRE_COPY_P2P = 7,
};
#define VFMIG_STATE_COUNT 8

/* "running", "pre-copy-p2p", ...; "unknown" for values out of range. */
const char *vfmig_state_name(int state);
/* Parse a state name (case-insensitive, '-' or '_'): state, or -EINVAL. */
int vfmig_state_parse(const char *name);

/* Migration capability flags, as VFIO_MIGRATION_*. */
#define VFMIG_MIGRATION_STOP_COPY (1u << 0)
#define VFMIG_MIGRATION_P2P (1u << 1)
#define VFMIG_MIGRATION_PRE_COPY (1u << 2)

/*
 * The next hop from @cur towards @target on a device with migration @flags,
 * as the kernel composes multi-arc transitions.  Returns the next state, or
 * -EINVAL if @target cannot be reached (unsupported, ERROR, or a forbidden
 * arc such as STOP_COPY -> PRE_COPY).  cur == target returns target.
 */
int vfmig_state_next_hop(uint32_t flags, int cur, int target);

/* ---------------------------------------------------------------- sizes */

/*
 * Parse a size: a decimal number with an optional binary suffix K, M, G, T
 * (also KiB...TiB) or decimal suffix KB, MB, GB, TB; fractions allowed
 * ("1.5G").  Returns 0 and sets *out, -EINVAL for bad text, -ERANGE for
 * values above 2^64-1.  When @err is not NULL, a message quoting the bad
 * text is written there on failure.
 */
int vfmig_parse_size(const char *text, uint64_t *out, char *err,
		     size_t err_size);

/*
 * Parse a rate into bytes per second.  A lower-case b is bits, as network
 * people write them, with decimal prefixes: "10Gb/s", "10Gbps",
 * "10Gbit", "100Mbit/s", "800kbps".  An upper-case B is bytes, decimal
 * or binary: "1.25GB/s", "125MBps", "1GiB/s"; and a size per second is
 * bytes as a size is: "512M/s" (binary).  The prefix letter's case does
 * not matter (k and K); b and B do.  -EINVAL for bad text (a rate needs
 * its "/s", "ps" or "bit"), -ERANGE above 2^64-1.
 */
int vfmig_parse_rate(const char *text, uint64_t *out, char *err,
		     size_t err_size);

/*
 * Parse a time into milliseconds: a number with ms, s, m (or min) or h
 * ("300ms", "2s", "1.5m"), or a bare number in @unit_ms milliseconds (an
 * option's own unit: 1 for a value in ms, 1000 for one in s).
 */
int vfmig_parse_time(const char *text, uint64_t unit_ms, uint64_t *ms,
		     char *err, size_t err_size);

/* --------------------------------------------------------------- device */

struct vfmig_device;

struct vfmig_device_opts {
	size_t size; /* sizeof(struct vfmig_device_opts) */
	/* Roots for sysfs and /dev (tests point them at a fake tree).
	 * NULL: $VFMIG_SYSFS_ROOT / $VFMIG_DEV_ROOT, else "/sys" and "/dev". */
	const char *sysfs_root;
	const char *dev_root;
	/* Where vfmig_device_open() writes the reason when it fails. */
	char *errbuf;
	size_t errbuf_size;
};

/*
 * Open a migratable device named by @spec:
 *   pci:DDDD:BB:DD.F            a PCI function bound to a vfio driver
 *   mdev:UUID                   a mediated device
 *   /dev/vfio/devices/vfioN     a vfio device cdev (iommufd, Linux 6.6+)
 *   fd:N                        a VFIO device fd owned by the caller (dup'd)
 *   sim:KEY=VALUE,...           the simulated device (see vfio-migrate(8))
 * @opts may be NULL.  Returns 0 and sets *out, or -errno (with the reason
 * in opts->errbuf): -ENOENT no such device, -EACCES no permission,
 * -EINVAL bad spec, -ENOTTY the device cannot migrate, -EBUSY group not
 * viable.
 */
int vfmig_device_open(const char *spec, const struct vfmig_device_opts *opts,
		      struct vfmig_device **out);

/*
 * Close the device: ends any migration session (closing its data_fd), then
 * the device fd.  Leaves the device in whatever state it is in.  NULL-safe.
 */
void vfmig_device_close(struct vfmig_device *dev);

/* The device's name ("0000:3b:00.1", an mdev UUID, or a sim's name=). */
const char *vfmig_device_name(const struct vfmig_device *dev);
/*
 * The device's logical id: what the VM knows it as, the same on both
 * hosts where host addresses differ.  The destination matches devices
 * by it, whatever their order.  Set by a spec's ",id=ID"
 * ("pci:0000:3b:00.1,id=gpu0"; a sim's name=) or here: 1 to 63 of
 * A-Z a-z 0-9 . _ : - (-EINVAL otherwise).  "" when unset: the device
 * then goes by its position in the list, "dev0", "dev1", ...
 */
int vfmig_device_set_id(struct vfmig_device *dev, const char *id);
const char *vfmig_device_id(const struct vfmig_device *dev);
/* Rename the device (for reports).  Returns 0 or -EINVAL. */
int vfmig_device_set_name(struct vfmig_device *dev, const char *name);
/*
 * What the destination's manifest check compares, besides the backend: a
 * PCI function's driver ("vfio-pci", "mlx5_vfio_pci"), an mdev's type
 * ("vfio_shim-large"), a sim's size.  A device handed over as fd:N has
 * none (a group's device fd does not say); a VMM that opened it sets the
 * one its peer will have.  Printable ASCII, at most 127 bytes; -EINVAL.
 */
int vfmig_device_set_identity(struct vfmig_device *dev, const char *identity);
const char *vfmig_device_identity(const struct vfmig_device *dev);
/* "vfio" or "sim". */
const char *vfmig_device_backend(const struct vfmig_device *dev);

/* Migration flags (VFMIG_MIGRATION_*), or -errno. */
int vfmig_device_migration_flags(struct vfmig_device *dev);

/* Current state, read from the device (a state >= 0), or -errno. */
int vfmig_device_get_state(struct vfmig_device *dev);

/*
 * Move the device to @state, composing multi-arc transitions as the kernel
 * does.  When the final arc opens a migration session (RUNNING->PRE_COPY,
 * RUNNING_P2P->PRE_COPY_P2P, STOP->STOP_COPY, STOP->RESUMING) *data_fd is
 * the session's fd, otherwise -1.  @data_fd may be NULL.
 *
 * The data_fd belongs to the device: do not close it.  It stays valid until
 * the session ends (the device leaves PRE_COPY/PRE_COPY_P2P/STOP_COPY or
 * RESUMING, is reset or closed); dup() it to keep it longer.  Read it (save)
 * or write it (resume) with read()/write() or io_uring, one I/O in flight.
 *
 * On failure the device is queried again: the returned -errno is the
 * driver's, vfmig_device_strerror() names the arc, and
 * vfmig_device_get_state() tells where the device is now.
 */
int vfmig_device_set_state(struct vfmig_device *dev, enum vfmig_state state,
			   int *data_fd);

/* The current session's data_fd, or -1. */
int vfmig_device_data_fd(const struct vfmig_device *dev);

struct vfmig_precopy_info {
	size_t size; /* sizeof(struct vfmig_precopy_info), set by the caller */
	uint64_t initial_bytes; /* initial data not read yet */
	uint64_t dirty_bytes; /* data changed since it was read */
};

/*
 * VFIO_MIG_GET_PRECOPY_INFO on the current session.  Only valid in PRE_COPY
 * and PRE_COPY_P2P (-EINVAL otherwise, and for an @info->size too small).  The values are the driver's
 * estimates and may be garbage: never size anything from them.  Some
 * drivers (mlx5) only produce new pre-copy data when this is called.
 */
int vfmig_device_precopy_info(struct vfmig_device *dev,
			      struct vfmig_precopy_info *info);

/*
 * The driver's estimate of the bytes STOP_COPY will produce
 * (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE).  -ENOTTY or -EINVAL: not supported
 * (Linux < 6.2 or driver without it).  Untrusted, as above.
 */
int vfmig_device_stopcopy_size(struct vfmig_device *dev, uint64_t *bytes);

/* VFIO_DEVICE_RESET: ends any session; the device lands in RUNNING. */
int vfmig_device_reset(struct vfmig_device *dev);

/*
 * Bring the device back to RUNNING after a failure: read its state; from
 * ERROR or RESUMING (which only a reset leaves without loading a partial
 * stream) reset it; otherwise ask for RUNNING, and reset if that fails.
 * Returns 0 when the device is RUNNING, or -errno.
 */
int vfmig_device_recover(struct vfmig_device *dev);

/*
 * A 64-bit hash of the device's internal state, for devices that expose it
 * (sim).  -EOPNOTSUPP otherwise.
 */
int vfmig_device_state_hash(struct vfmig_device *dev, uint64_t *hash);

/*
 * The reason for the last failure on this handle, naming the device, the
 * step and the errno: "device sim0: PRE_COPY->STOP_COPY failed: EIO (...)".
 * Valid until the next call on the handle.  "" when nothing failed.
 */
const char *vfmig_device_strerror(const struct vfmig_device *dev);

/* ------------------------------------------------------------ migration */

/*
 * A migration moves the state of n devices from a source to a sink over a
 * stream (Documentation/stream-format.md): tcp:HOST:PORT or unix:PATH with
 * N channels, file:PATH (save/load), or fd:N[,N...] (connected sockets or
 * an open file handed over by the caller, which keeps its fds).
 */
/*
 * NONE sends raw chunks; ZSTD compresses every chunk (kept where it saves
 * 1/64 or more); AUTO compresses a chunk only where that makes the
 * migration faster: never to a destination on this host (loopback, unix)
 * without a cap or TLS, not while the codec workers are behind and the
 * channels wait for data, and only 1 chunk in 16 of a device whose last 4
 * did not compress (re-decided chunk by chunk; Documentation/design.md).
 */
enum vfmig_codec {
	VFMIG_CODEC_NONE = 0,
	VFMIG_CODEC_ZSTD = 1,
	VFMIG_CODEC_AUTO = 2
};

#define VFMIG_DOWNTIME_LIMIT_DEFAULT_MS 300

/* When the source stops its devices (Documentation/stats.md). */
enum vfmig_switchover {
	/* when every pre-copy device's initial data is acknowledged and the
	 * expected downtime is within the limit */
	VFMIG_SWITCHOVER_AUTO = 0,
	/* as soon as the initial data is acknowledged */
	VFMIG_SWITCHOVER_IMMEDIATE = 1,
	/* when the caller asks (vfmig_source_switchover()), once acked */
	VFMIG_SWITCHOVER_MANUAL = 2,
};

/* What moved, per device and in all.  The caller of *_transfer() sets
 * @size (sizeof(struct vfmig_transfer)); the library fills what both
 * know of and sets @size to that.  A progress callback's comes filled. */
struct vfmig_transfer {
	size_t size;
	uint64_t raw_bytes; /* device stream bytes */
	uint64_t wire_bytes; /* frame bytes on the wire */
	uint64_t precopy_bytes, stopcopy_bytes;
	uint64_t frames;
	int state; /* the device's state at the end (devices only) */
};

/*
 * The threads of this process, by what they do.  Counted over the
 * transfer (devices started to the end) from /proc/self/task, so in a
 * process that runs both ends (a test) each end sees both ends' threads.
 */
enum vfmig_cpu_role {
	VFMIG_CPU_LOOP, /* the thread that runs the migration's loop */
	VFMIG_CPU_CODEC, /* codec workers: zstd and crc32c */
	VFMIG_CPU_IOWQ, /* io_uring's kernel workers (iou-wrk): the copies
			 * the loop hands off with IOSQE_ASYNC */
	VFMIG_CPU_SIM, /* simulated devices' threads: a real device's work
			* is not the pipeline's */
	VFMIG_CPU_OTHER, /* the rest of the process */
	VFMIG_CPU_ROLES
};

struct vfmig_cpu_use {
	unsigned threads; /* that ran during the transfer */
	uint64_t total_ns; /* CPU time of all of them */
	uint64_t max_ns; /* of the busiest one */
};

struct vfmig_times {
	size_t size; /* sizeof(struct vfmig_times) */
	/* QEMU's setup-time: source, the run's start until the first data
	 * frame is queued (connect, handshake, manifest, devices started,
	 * the first read); sink, the first HELLO until the first DATA. */
	uint64_t setup_us;
	uint64_t transfer_us; /* devices started until the end */
	struct vfmig_cpu_use cpu[VFMIG_CPU_ROLES]; /* by enum vfmig_cpu_role */
};

/*
 * Threads (libvfmig(3) has the details): one thread runs a source or sink
 * (run, or start/fd/step) and its callbacks, and calls the getters; any
 * thread may call vfmig_*_cancel() (a signal handler too),
 * vfmig_source_set_ram() and vfmig_source_switchover() while it runs.
 * The caller keeps every fd it passes in (they are duplicated); a device
 * being migrated is the library's to drive until the run ends.
 */

/* ------------------------------------------------------------- events */

/* What happened to one device (struct vfmig_device_event's type). */
enum vfmig_event {
	/* source: the destination wrote the device's initial data (its
	 * SWITCHOVER_ACK), so the switchover may count on it */
	VFMIG_EVENT_INITIAL_ACKED = 0,
	/* source: its stop-copy data is all read and queued to send */
	VFMIG_EVENT_STOPCOPY_DONE = 1,
	/* source: the destination confirmed it loaded; sink: loaded
	 * (RESUMING -> STOP passed): the VMM may restore its own config
	 * of the device now */
	VFMIG_EVENT_LOADED = 2,
	/* the migration failed: every source device runs again; a sink's
	 * device that was not loaded was reset (a loaded one stays as it
	 * is, with no event); why in @reason */
	VFMIG_EVENT_FAILED = 3,
};

struct vfmig_device_event {
	size_t size; /* the library's sizeof(struct vfmig_device_event) */
	int type; /* enum vfmig_event */
	unsigned index; /* the device's position in *_new()'s array */
	struct vfmig_device *dev;
	/* STOPCOPY_DONE: its stop-copy bytes; LOADED: every byte it was
	 * written (sink) or sent (source) */
	uint64_t bytes;
	/* source, LOADED: from this device's STOP_COPY to the destination's
	 * confirmation (the device's own downtime), in µs */
	uint64_t downtime_us;
	const char *reason; /* FAILED: the migration's reason */
};

/*
 * Callbacks, all optional, called from the thread that runs the loop
 * (vfmig_*_run(), or the caller's *_step()).  They may call the getters
 * (vfmig_source_transfer(), _estimate(), vfmig_device_get_state(), ...)
 * but not run, step or free the source or sink.
 */
struct vfmig_events {
	size_t size; /* sizeof(struct vfmig_events) */
	void *arg;
	/*
	 * Source, at switchover: no device is in STOP_COPY yet, and every
	 * device is quiesced (@p2p 1: all support P2P and are in
	 * PRE_COPY_P2P or RUNNING_P2P) or, where one does not support P2P,
	 * still running (@p2p 0: DMA is not quiesced).  Stop the vCPUs now;
	 * the devices go to STOP_COPY when this returns 0.  -errno fails the
	 * migration: the devices run again and the destination is told.
	 * NULL: nothing waits.
	 */
	int (*vcpus_stop)(void *arg, int p2p);
	/*
	 * Sink, once every device is loaded: they are in RUNNING_P2P (@p2p
	 * 1) or STOP (@p2p 0); start the vCPUs now, and the devices go to
	 * RUNNING when this returns 0.  -errno fails the session: the
	 * devices stay loaded (as they are) and the source, told, runs on.
	 * Set, every device waits in STOP until all are loaded; NULL, each
	 * runs as soon as it is loaded.  Not called with no_start.
	 */
	int (*vcpus_start)(void *arg, int p2p);
	/* A device's event; @ev is valid during the call. */
	void (*device)(void *arg, const struct vfmig_device_event *ev);
};

struct vfmig_stream_opts {
	size_t size; /* sizeof(struct vfmig_stream_opts) */
	const char *uri;
	unsigned channels; /* tcp/unix connections; 0: 1 */
	enum vfmig_codec codec; /* source: default zstd */
	int level; /* zstd level, negative for fast modes; 0: 1 */
	uint32_t chunk; /* bytes per frame; 0: 4 MiB, less when memory is
			 * short for two buffers per device */
	uint64_t memory; /* buffer pool bound; 0: 64 MiB */
	unsigned workers; /* codec threads; 0: one per usable CPU (affinity) */
	uint64_t max_bandwidth; /* source: wire bytes/s; 0: unlimited */
	int timeout_ms; /* a silent peer fails the migration; 0: 30 s */
	int precopy; /* source: 0 (default) or 1 use PRE_COPY where offered,
		      * -1 never */
	int no_start; /* sink: leave devices in STOP after loading */
	/* Called from the running loop every interval_ms (0: 1000) with
	 * the totals so far; keep it short.  @phase: "setup" (a source
	 * driven by vfmig_source_step() during its set-up), "pre-copy",
	 * "switchover", "stop-copy" (source), "receiving" (sink). */
	void (*progress)(void *arg, const struct vfmig_transfer *total,
			 uint64_t elapsed_ms, const char *phase);
	void *progress_arg;
	unsigned interval_ms;
	/* Source: switchover and its estimate. */
	int switchover; /* enum vfmig_switchover */
	uint64_t downtime_limit_ms; /* auto: 0 is the default, 300 ms */
	/* auto: the source gives up (-ECANCELED, devices running on) when
	 * the limit is not met by then; 0 is 120 s, UINT64_MAX never (the
	 * destination's own bound is precopy_max_ms) */
	uint64_t precopy_timeout_ms;
	uint64_t switchover_bandwidth; /* bytes/s; 0: measured */
	double ratio; /* wire/raw for the estimate; 0: measured or 1 */
	/* the VMM's RAM still to move at switchover, and its dirty rate;
	 * vfmig_source_set_ram() updates them while running */
	uint64_t ram_pending, ram_dirty_rate;
	/* Sink: a source still pre-copying after this long fails the
	 * session (no endless pre-copy, whatever the source's own
	 * precopy_timeout_ms); 0 is 600 s, UINT64_MAX never. */
	uint64_t precopy_max_ms;
	/* TLS 1.3 on every channel (vfmig_tls_new(), VFMIG_TLS_CLIENT at
	 * the source, VFMIG_TLS_SERVER at the sink); NULL: plaintext.  The
	 * caller keeps it, and it must outlive the source or sink. */
	struct vfmig_tls *tls;
	/* Where vfmig_source_new() and vfmig_sink_new() write why they
	 * refused: the field, its value, and what was expected. */
	char *errbuf;
	size_t errbuf_size;
	/* Source: a file of what earlier migrations measured per kind of
	 * device (backend and identity): the stop-copy ratio, compression
	 * cost and stop time, used where this migration has not measured
	 * them yet (a stop-copy-only device has no ratio before its stop),
	 * and updated after a migration that completes.  NULL: none.
	 * Documentation/stats.md gives the format. */
	const char *history;
	/* Where the VMM takes part: its vCPUs' stop and start, and each
	 * device's events (struct vfmig_events).  NULL: none.  The caller
	 * keeps it; it must outlive the source or sink. */
	const struct vfmig_events *events;
	/* The CPUs the library's threads run on (codec workers, the
	 * set-up thread), as taskset -c takes them: "0-3,8"; each one this
	 * process may run on.  NULL: wherever the process may.  With no
	 * workers count, one worker per CPU of the list.  The loop runs in
	 * the caller's thread, which the caller pins. */
	const char *cpus;
	/* Source: a dry run.  Connect, TLS, agree the session and have the
	 * destination check the manifest against its devices, then end both
	 * sides cleanly: no device changes state, nothing of theirs moves,
	 * and the destination waits for the next session.  0 when a
	 * migration would start; -ENOTSUP from a destination that cannot do
	 * a dry run (before 0.4).  Network URIs only. */
	int dry_run;
};

struct vfmig_source;
struct vfmig_sink;
struct vfmig_tls;
struct vfmig_stats;
struct vfmig_estimate;

/* ------------------------------------------------------------------ tls */

/*
 * TLS credentials, in the layouts QEMU uses (libvfmig(3)).  "x509:DIR":
 * DIR/ca-cert.pem, and DIR/server-cert.pem and DIR/server-key.pem at the
 * destination (the server) or DIR/client-cert.pem and DIR/client-key.pem
 * at the source (the client); both ends verify the other's certificate.
 * "psk:FILE": lines "username:hexkey"; the source uses the first line (or
 * psk_username's), the destination accepts any.  Loaded and checked here,
 * once: a handle serves any number of sessions, and privileges may be
 * dropped after it is made.  -errno with a message in @err.
 */
enum vfmig_tls_endpoint {
	VFMIG_TLS_CLIENT = 0, /* the source: connects */
	VFMIG_TLS_SERVER = 1, /* the destination: accepts */
};

struct vfmig_tls_opts {
	size_t size; /* sizeof(struct vfmig_tls_opts) */
	const char *creds; /* "x509:DIR" or "psk:FILE" */
	int endpoint; /* enum vfmig_tls_endpoint */
	/* client, x509: the name the server's certificate must carry;
	 * NULL: the host of the tcp address (required for unix: and fd:) */
	const char *hostname;
	/* server: glob patterns (fnmatch) of the client identities let in,
	 * NULL-terminated: the certificate's subject DN in RFC 4514 form
	 * ("CN=src.example.com,O=Example") or the PSK username; NULL: every
	 * client the credentials authenticate */
	const char *const *authz;
	const char *psk_username; /* client, psk: NULL is the first line's */
};

int vfmig_tls_new(const struct vfmig_tls_opts *opts, struct vfmig_tls **out,
		  char *err, size_t err_size);
void vfmig_tls_free(struct vfmig_tls *tls);

/* --------------------------------------------------------------- source */

/*
 * Prepare a migration of @ndev devices (the handles stay the caller's and
 * must outlive it).  Nothing is connected or changed before *_run().
 * -EINVAL for bad options, with the reason in opts->errbuf.
 */
int vfmig_source_new(struct vfmig_device *const *devs, unsigned ndev,
		     const struct vfmig_stream_opts *opts,
		     struct vfmig_source **out);
/*
 * Run the migration to the end, blocking: connect, negotiate, check the
 * manifest, pre-copy, stop-copy, and wait until the destination confirms
 * every device loaded.  0 then; otherwise -errno, the reason in
 * vfmig_source_strerror(), and every source device back in RUNNING.
 */
int vfmig_source_run(struct vfmig_source *s);
const char *vfmig_source_strerror(const struct vfmig_source *s);
/*
 * Or drive it from your own event loop (Documentation/examples/toy-vmm.c):
 * vfmig_source_start() returns at once (0, or -errno when it could not
 * begin: the source is finished then, and step() says the same); the
 * connection, TLS and the handshake run on a library thread
 * ("vfmig-setup") meanwhile, and the devices start in the step that sees
 * them end.  Poll vfmig_source_fd() for POLLIN (it is readable at least
 * every 200 ms) and call vfmig_source_step(), which never blocks: 1 while
 * the migration runs, then 0 or -errno exactly as vfmig_source_run()
 * would return (and the same again on later calls).  Call start, fd and
 * step from one thread; the fd stays the same from start to the end.
 * -EALREADY if the source was started before; -EINVAL from _fd() before
 * a start.  vfmig_source_free() of a source still running ends it as a
 * failure: the devices run again and the destination is told.  (A step
 * does the devices' state transitions, which take as long as their
 * driver; and the one that ends the run waits, bounded, for the requests
 * in flight and the peer's last word.)
 */
int vfmig_source_start(struct vfmig_source *s);
int vfmig_source_fd(const struct vfmig_source *s);
int vfmig_source_step(struct vfmig_source *s);
/* Totals (@dev -1) or one device's figures, and times in ms. */
int vfmig_source_transfer(const struct vfmig_source *s, int dev,
			  struct vfmig_transfer *t);
/* Milliseconds: the whole run (to its failure, when it failed), and from
 * the first device stopping until the destination confirmed every device
 * (the measured downtime; 0 when the run failed). */
uint64_t vfmig_source_total_ms(const struct vfmig_source *s);
uint64_t vfmig_source_downtime_ms(const struct vfmig_source *s);
uint64_t vfmig_source_downtime_us(const struct vfmig_source *s);
/* Where a finished run's time went: setup and transfer, and CPU by thread
 * role (struct vfmig_times).  0, -EINVAL, or -ENODATA before a run. */
int vfmig_source_times(const struct vfmig_source *s, struct vfmig_times *t);
/*
 * End the migration as a failure whose reason is "cancelled": the source
 * devices go back to RUNNING with their state, and the destination is
 * told (ERROR code cancelled).  Safe from any thread and from a signal
 * handler (it writes to an eventfd the running loop and every blocking
 * wait watch); the run returns -ECANCELED shortly after.  Called before
 * the run, the run ends at once; after it, nothing happens.  0 or -errno.
 */
int vfmig_source_cancel(struct vfmig_source *s);
void vfmig_source_free(struct vfmig_source *s);

/*
 * While a source runs, these are called from its progress callback (the
 * running thread); after vfmig_source_run() returned, from anywhere.
 *
 * The last estimate (during pre-copy, every 100 ms; after switchover, the
 * last one before it).  -EAGAIN when there is none yet, or the bandwidth
 * is unknown (remaining is set all the same).
 */
int vfmig_source_estimate(const struct vfmig_source *s,
			  struct vfmig_estimate *e);
/* The estimator itself, for vfmig_stats_device(). */
const struct vfmig_stats *vfmig_source_stats(const struct vfmig_source *s);
/* The VMM's RAM still to move and its dirty rate (bytes, bytes/s). */
int vfmig_source_set_ram(struct vfmig_source *s, uint64_t pending,
			 uint64_t dirty_rate);
/* Switch over now, or as soon as the initial data is acknowledged,
 * whatever the policy. */
int vfmig_source_switchover(struct vfmig_source *s);
/* Why the source switched over (the policy's words: the estimate against
 * the limit, the range it went ahead on, an ask); "" before it did. */
const char *vfmig_source_switchover_reason(const struct vfmig_source *s);
/*
 * The interface a tcp destination is reached through and its link speed
 * in bits/s (ethtool, through netlink), when both are known: the bandwidth
 * prior.  -ENOENT otherwise (loopback, unix, file, an unknown speed).
 */
int vfmig_source_link(const struct vfmig_source *s, char *ifname, size_t len,
		      uint64_t *bits_per_s);

/* ----------------------------------------------------------------- sink */

/*
 * The destination: listen on (or read from) @opts->uri, take one session,
 * check its manifest against @devs (same count, order, names, kinds and
 * identities), and load each device: RESUMING, the checked stream in
 * order, RESUMING->STOP, then RUNNING unless opts->no_start.  -EINVAL for
 * bad options, with the reason in opts->errbuf.
 */
int vfmig_sink_new(struct vfmig_device *const *devs, unsigned ndev,
		   const struct vfmig_stream_opts *opts,
		   struct vfmig_sink **out);
/* Listen now (tcp: and unix:; nothing for file: and fd:), before
 * vfmig_sink_run(): a caller learns the port, and may drop privileges,
 * before the source connects.  0 or -errno (vfmig_sink_strerror()). */
int vfmig_sink_listen(struct vfmig_sink *k);
/* For tcp:HOST:0, the port the sink listens on once vfmig_sink_listen()
 * returned; -errno otherwise. */
int vfmig_sink_port(const struct vfmig_sink *k);
/* The listening socket's address (getsockname(2): @addr up to *@len,
 * *@len set to its size), QEMU's socket-address: 0, or -ENOTCONN before
 * listening or where nothing listens (file, connected fds). */
int vfmig_sink_address(const struct vfmig_sink *k, struct sockaddr *addr,
		       socklen_t *len);
/*
 * Run to the end, blocking.  0 when every device is loaded; otherwise
 * -errno, the reason in vfmig_sink_strerror(), and every device reset
 * out of RESUMING.
 */
int vfmig_sink_run(struct vfmig_sink *k);
/*
 * Or from your own event loop, as the source's: vfmig_sink_start()
 * returns at once (it listens first if vfmig_sink_listen() was not
 * called; 0 or -errno), the channels are accepted and the manifest
 * checked on a library thread, and vfmig_sink_step() never blocks (the
 * devices' own transitions aside): 1 while the session runs, then 0 or
 * -errno as vfmig_sink_run() would return, and the same again.  Poll
 * vfmig_sink_fd() for POLLIN: readable at least every 200 ms.  One
 * thread for all three; -EALREADY after a start or a run, -EINVAL from
 * _fd() before a start.  vfmig_sink_free() of a sink still running ends
 * it as a failure: devices reset out of RESUMING, the source told.
 */
int vfmig_sink_start(struct vfmig_sink *k);
int vfmig_sink_fd(const struct vfmig_sink *k);
int vfmig_sink_step(struct vfmig_sink *k);
/*
 * End the session as a failure whose reason is "cancelled": the devices
 * are reset out of RESUMING, nothing is loaded, and the source is told
 * (ERROR code cancelled).  Safe from any thread and from a signal
 * handler, as vfmig_source_cancel().  0 or -errno.
 */
int vfmig_sink_cancel(struct vfmig_sink *k);
const char *vfmig_sink_strerror(const struct vfmig_sink *k);
int vfmig_sink_transfer(const struct vfmig_sink *k, int dev,
			struct vfmig_transfer *t);
/* Milliseconds from the session's first HELLO to the last device
 * loaded (to the failure, when it failed), and the channel count the
 * source chose. */
uint64_t vfmig_sink_total_ms(const struct vfmig_sink *k);
unsigned vfmig_sink_channels(const struct vfmig_sink *k);
int vfmig_sink_times(const struct vfmig_sink *k, struct vfmig_times *t);
void vfmig_sink_free(struct vfmig_sink *k);

/* ---------------------------------------------------------------- stats */

/*
 * The downtime estimator (Documentation/stats.md): what is left to move at
 * switchover, RAM and devices, against the bandwidth, gives the expected
 * downtime.  Device size reports are untrusted and checked.  A stats handle
 * is fed from one thread.
 */
enum vfmig_verdict {
	VFMIG_VERDICT_READY = 0, /* expected downtime within the limit */
	VFMIG_VERDICT_CONVERGING = 1, /* remaining shrinks */
	VFMIG_VERDICT_STALLED = 2, /* remaining holds */
	VFMIG_VERDICT_DIVERGING = 3, /* remaining grows, or dirtying outruns
				      * the bandwidth */
	VFMIG_VERDICT_OVER_LIMIT = 4, /* over the limit, and no trend yet:
				       * remaining never shrank (a single
				       * estimate, or the first ones) */
};
/* "ready", "converging", "stalled", "diverging", "over-limit" */
const char *vfmig_verdict_name(int verdict);

enum vfmig_ratio_source {
	VFMIG_RATIO_ASSUMED = 0, /* nothing measured, no history: 1 */
	VFMIG_RATIO_MEASURED = 1, /* wire/raw of the bytes moved so far */
	VFMIG_RATIO_GIVEN = 2, /* set by the caller */
	VFMIG_RATIO_HISTORY = 3, /* vfmig_stats_set_history(): the last
				  * migrations of such a device */
};
/* "assumed", "measured", "given", "history" */
const char *vfmig_ratio_source_name(int source);

/* What bounds the stop-copy's time (Documentation/stats.md). */
enum vfmig_bottleneck {
	VFMIG_BOTTLENECK_WIRE = 0, /* the bandwidth, over the ratio */
	VFMIG_BOTTLENECK_CODEC = 1, /* compressing, with the workers given */
	VFMIG_BOTTLENECK_DEVICE_READ = 2, /* a device's read rate here */
	VFMIG_BOTTLENECK_DESTINATION_LOAD = 3, /* a device's load there */
};
/* "wire", "codec", "device-read", "destination-load" */
const char *vfmig_bottleneck_name(int bottleneck);

enum vfmig_bandwidth_source {
	VFMIG_BANDWIDTH_UNKNOWN = 0,
	VFMIG_BANDWIDTH_PRIOR = 1, /* opts.bandwidth_prior: link speed, cap */
	VFMIG_BANDWIDTH_MEASURED = 2, /* busy intervals of the last samples */
	VFMIG_BANDWIDTH_GIVEN = 3, /* opts.bandwidth */
};
/* "unknown", "prior", "measured", "given" */
const char *vfmig_bandwidth_source_name(int source);

struct vfmig_stats_opts {
	size_t size; /* sizeof(struct vfmig_stats_opts) */
	unsigned ndev;
	uint64_t bandwidth; /* switchover bandwidth, bytes/s; 0: measured */
	double ratio; /* wire/raw for every device; 0: measured or assumed */
	uint64_t fixed_cost_ms; /* added once: transitions, loads */
	uint64_t downtime_limit_ms; /* 0: 300 */
	/* bytes/s assumed until enough was measured (the link's speed,
	 * a bandwidth cap); 0: none */
	uint64_t bandwidth_prior;
	/* The codec at stop-copy (enum vfmig_codec) and its worker threads.
	 * With ZSTD or AUTO, the compression time that vfmig_stats_codec()
	 * measures enters the estimate (AUTO sends raw what the workers
	 * cannot compress in time).  NONE: the ratio moved so far is used
	 * as it is, and the codec is not modelled. */
	int codec;
	unsigned workers;
	/* raw bytes per chunk: the first chunk is compressed whole before
	 * any of it goes out, and the wire waits for it; where the codec is
	 * the bottleneck, the last chunk's load trails it; 0: not counted */
	uint32_t chunk;
};

int vfmig_stats_new(const struct vfmig_stats_opts *opts,
		    struct vfmig_stats **out);
void vfmig_stats_free(struct vfmig_stats *s);

/* RAM the VMM still has to send, and how fast it dirties (bytes/s). */
int vfmig_stats_set_ram(struct vfmig_stats *s, uint64_t pending,
			uint64_t dirty_rate);
/*
 * A device driver's report of the bytes STOP_COPY would produce now
 * (untrusted: implausible values and sudden jumps are replaced by the last
 * good value and the device is flagged), and its dirty rate (bytes/s).
 */
int vfmig_stats_set_device(struct vfmig_stats *s, unsigned dev,
			   uint64_t stopcopy_bytes, uint64_t dirty_rate);
/* Bytes of @dev sent so far (device stream, and on the wire): the
 * observed compression ratio. */
int vfmig_stats_moved(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		      uint64_t wire);
/* Bytes read from @dev and not yet sent: they go before its stop-copy
 * data, so they count as remaining. */
int vfmig_stats_queued(struct vfmig_stats *s, unsigned dev, uint64_t raw);
/*
 * Bytes read from @dev so far and the time reads that returned data were in
 * flight; what the destination loaded into its device and the time it spent
 * writing.  Both cumulative: the device's read and load rates over the
 * last samples.  A device read or loaded slower than the wire carries is
 * the bottleneck.  @waiting: bytes the destination holds, not yet loaded
 * (remaining, ahead of the stop-copy data in the load).
 */
int vfmig_stats_read(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		     uint64_t busy_us);
int vfmig_stats_loaded(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		       uint64_t busy_us, uint64_t waiting);
/*
 * A bandwidth sample at @now_ms: for how long, in all, the sender has been
 * saturated (it had more to send than went out: the link or the pipeline
 * was the limit), and the wire bytes it sent in that time; both cumulative.
 * Only saturated time measures the bandwidth: an idle pre-copy moves what
 * the devices dirty, not what the link carries.  A caller that cannot tell
 * passes the elapsed time and every byte sent.  The samples' times are also
 * the verdict's clock.
 */
int vfmig_stats_wire(struct vfmig_stats *s, uint64_t now_ms, uint64_t busy_ms,
		     uint64_t busy_bytes);
/* Replace opts.fixed_cost_ms, in microseconds (measured costs). */
int vfmig_stats_set_fixed_cost_us(struct vfmig_stats *s, uint64_t us);
/* Replace opts.bandwidth_prior (bytes/s; 0: none). */
int vfmig_stats_set_prior(struct vfmig_stats *s, uint64_t bandwidth);
/*
 * What the codec did with a device's chunks so far (cumulative): raw bytes
 * it compressed, the wire bytes they became, and the workers' time on
 * them.  Chunks sent raw by choice are not counted.
 */
int vfmig_stats_codec(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		      uint64_t wire, uint64_t busy_us);
/*
 * A device's ratio (0: unknown), compression cost (ns per raw byte; 0:
 * unknown) and stop-copy read rate (bytes/s; 0: unknown) from earlier
 * migrations of such a device.  The ratio and cost stand until this one
 * measures its own (ratio source "history"); the read rate bounds the
 * device's read when it is the lower (a device may make its stop-copy
 * data slower than its pre-copy data), or stands for it without
 * pre-copy.  -EINVAL for a ratio above 2 or a negative figure.
 */
int vfmig_stats_set_history(struct vfmig_stats *s, unsigned dev, double ratio,
			    double codec_ns_per_byte, uint64_t read_rate);
/*
 * The rate (bytes/s of raw data; 0: unknown) at which the destination
 * loaded such a device's stop-copy data at earlier migrations.  It bounds
 * the load rate the destination reports when it is the lower (after the
 * stop a destination loads dirty data and every device at once), and
 * stands for it until the destination reports one.
 */
int vfmig_stats_set_history_load(struct vfmig_stats *s, unsigned dev,
				 uint64_t load_rate);

struct vfmig_estimate {
	size_t size; /* sizeof(struct vfmig_estimate), set by the caller */
	uint64_t expected_downtime_ms;
	uint64_t remaining; /* raw bytes left: RAM and devices */
	uint64_t recommended_limit_ms; /* smallest limit that converges now */
	uint64_t bandwidth; /* bytes/s used; 0 when unknown */
	int verdict; /* enum vfmig_verdict */
	int ratio_source; /* the weakest among the devices */
	unsigned untrusted; /* devices whose size report was replaced */
	int bandwidth_source; /* enum vfmig_bandwidth_source */
	uint64_t stalled_ms; /* since remaining last fell by 5% */
	uint64_t expected_downtime_us; /* the same, finer */
	int bottleneck; /* enum vfmig_bottleneck: what bounds it */
	/* The range the unknown ratios allow: a device whose ratio is
	 * assumed counts at 1 in expected_downtime_us and the maximum, at
	 * the best ratio zstd gives in the minimum.  Equal to the expected
	 * downtime when every ratio is known (or nothing is compressed). */
	uint64_t expected_downtime_min_us, expected_downtime_max_us;
};

/* The estimate now.  -EAGAIN when no bandwidth is known yet. */
int vfmig_stats_estimate(struct vfmig_stats *s, struct vfmig_estimate *e);
/* One device's figures: pending bytes, ratio used and its source, and
 * whether its size report is untrusted. */
int vfmig_stats_device(const struct vfmig_stats *s, unsigned dev,
		       uint64_t *pending, double *ratio, int *ratio_source,
		       int *untrusted);

/* ------------------------------------------------------------------ hash */

/* A 64-bit hash of a buffer (the hash used for device state hashes). */
uint64_t vfmig_hash64(const void *buf, size_t len, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* VFMIG_H */
