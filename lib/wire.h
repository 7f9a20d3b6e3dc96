/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfio-migrate stream format, version 1.0: frame headers and control
 * payloads, encoded and validated.  Documentation/stream-format.md is the
 * normative description; keep the two in step.
 */
#ifndef VFMIG_LIB_WIRE_H
#define VFMIG_LIB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x474d4656u /* "VFMG" */
#define WIRE_VERSION_MAJOR 1
#define WIRE_VERSION_MINOR 1
#define WIRE_HDR_LEN 40u

enum wire_type {
	WIRE_HELLO = 1,
	WIRE_ACCEPT = 2,
	WIRE_REJECT = 3,
	WIRE_MANIFEST = 4,
	WIRE_MANIFEST_ACK = 5,
	WIRE_DATA = 6,
	WIRE_INIT_DONE = 7,
	WIRE_SWITCHOVER_ACK = 8,
	WIRE_DEVICE_END = 9,
	WIRE_DEVICE_LOADED = 10,
	WIRE_DONE = 11,
	WIRE_ERROR = 12,
	WIRE_PROGRESS = 13, /* destination: a device's bytes loaded */
	WIRE_NOP = 14, /* either side: still here */
};
#define WIRE_TYPE_MAX WIRE_NOP

enum wire_codec {
	WIRE_CODEC_RAW = 0,
	WIRE_CODEC_ZSTD = 1,
	WIRE_CODEC_ZERO = 2
};

/* DATA flags */
#define WIRE_FLAG_STOPCOPY 0x01u /* else pre-copy */

/* Capabilities (HELLO offers, ACCEPT grants) */
#define WIRE_CAP_ZSTD (1u << 0)
#define WIRE_CAP_ZERO (1u << 1)
#define WIRE_CAP_PRECOPY (1u << 2)
#define WIRE_CAP_SWITCHOVER_ACK (1u << 3)
#define WIRE_CAP_PROGRESS (1u << 4) /* PROGRESS and NOP */
#define WIRE_CAP_PREFLIGHT (1u << 5) /* a dry run: no device is touched */
#define WIRE_CAPS_KNOWN 0x3fu

/* Limits every receiver enforces, whatever it was sent. */
#define WIRE_MAX_CHUNK (16u << 20)
#define WIRE_MAX_CONTROL (256u << 10)
#define WIRE_MAX_TEXT 1024u
/* The largest control payload met after the handshake (a text). */
#define WIRE_MAX_REPLY (4u + WIRE_MAX_TEXT)
#define WIRE_MAX_DEVICES 1024u
#define WIRE_MAX_NAME 63u
#define WIRE_MAX_KIND 15u
#define WIRE_MAX_IDENT 127u
#define WIRE_NO_DEVICE 0xffffu

/* REJECT / ERROR / DEVICE_LOADED codes */
enum wire_code {
	WIRE_OK = 0,
	WIRE_E_VERSION = 1,
	WIRE_E_CAPABILITY = 2,
	WIRE_E_SESSION = 3,
	WIRE_E_MANIFEST = 4,
	WIRE_E_PROTOCOL = 5,
	WIRE_E_DEVICE = 6,
	WIRE_E_CANCELLED = 7,
	WIRE_E_INTERNAL = 8,
};
#define WIRE_CODE_MAX WIRE_E_INTERNAL

struct wire_hdr {
	uint8_t type, flags, codec;
	uint16_t device;
	uint64_t seq;
	uint32_t raw_len, enc_len;
	uint32_t crc; /* DATA: of the raw bytes; control: of the payload */
};

/* What a receiver accepts at this point of the session. */
struct wire_limits {
	uint32_t caps; /* negotiated codecs etc. */
	uint32_t max_chunk; /* raw_len bound */
	uint32_t ndevices; /* device ids must be below */
};

void wire_hdr_encode(const struct wire_hdr *h, unsigned char *out);
/*
 * Decode and check a header: magic, header check, type, flags, reserved
 * bytes, device id, codec, lengths.  Returns 0, or -EBADMSG (not a frame
 * of ours / corrupt header) or -EPROTO (a field out of bounds) with a
 * message naming the field.
 */
int wire_hdr_decode(const unsigned char *in, const struct wire_limits *lim,
		    struct wire_hdr *h, char *err, size_t err_size);

/* Header + payload of a control frame into @out (WIRE_HDR_LEN + len). */
size_t wire_control(unsigned char *out, enum wire_type type, uint16_t device,
		    const void *payload, uint32_t len);
/* Check a control payload against its header's crc. */
int wire_payload_check(const struct wire_hdr *h, const void *payload, char *err,
		       size_t err_size);

const char *wire_type_name(unsigned type);
const char *wire_code_name(unsigned code);
const char *wire_codec_name(unsigned codec);

/* --------------------------------------------------------- payloads */

#define WIRE_HELLO_LEN 64u
struct wire_hello {
	uint16_t major, minor;
	uint32_t caps;
	uint8_t session[16];
	uint16_t channel, nchannels;
	uint32_t max_chunk;
};
void wire_hello_encode(const struct wire_hello *m, unsigned char *p);
int wire_hello_decode(const unsigned char *p, uint32_t len,
		      struct wire_hello *m, char *err, size_t err_size);

#define WIRE_ACCEPT_LEN 16u
struct wire_accept {
	uint16_t major, minor;
	uint32_t caps;
	uint32_t max_chunk;
};
void wire_accept_encode(const struct wire_accept *m, unsigned char *p);
int wire_accept_decode(const unsigned char *p, uint32_t len,
		       struct wire_accept *m, char *err, size_t err_size);

/*
 * The destination's answer to a HELLO: the version and capabilities both
 * sides speak, or a REJECT code with a message saying why.
 */
int wire_negotiate(const struct wire_hello *h, uint32_t our_caps,
		   uint32_t our_max_chunk, struct wire_accept *out, char *why,
		   size_t why_size);

/* REJECT, ERROR, DEVICE_LOADED: a code and a message. */
uint32_t wire_text_encode(enum wire_code code, const char *text,
			  unsigned char *p);
int wire_text_decode(const unsigned char *p, uint32_t len, uint32_t *code,
		     char *text, size_t text_size, char *err, size_t err_size);

struct wire_device {
	char name[WIRE_MAX_NAME + 1];
	char kind[WIRE_MAX_KIND + 1];
	char ident[WIRE_MAX_IDENT + 1];
	uint32_t flags;
	uint64_t size;
};
/* @p must hold wire_manifest_size(); returns the payload length. */
uint32_t wire_manifest_size(const struct wire_device *devs, uint32_t n);
uint32_t wire_manifest_encode(const struct wire_device *devs, uint32_t n,
			      unsigned char *p);
/* Decode into @devs (room for WIRE_MAX_DEVICES); returns the count. */
int wire_manifest_decode(const unsigned char *p, uint32_t len,
			 struct wire_device *devs, char *err, size_t err_size);

/* INIT_DONE and SWITCHOVER_ACK: one byte count. */
/* PROGRESS: raw bytes of the device received and written to it, and for
 * how long a write was in flight (us): the destination's backlog and its
 * load rate. */
struct wire_progress {
	uint64_t loaded;
	uint64_t busy_us;
	uint64_t received;
};
#define WIRE_PROGRESS_LEN 24u
void wire_progress_encode(const struct wire_progress *m, unsigned char *p);
int wire_progress_decode(const unsigned char *p, uint32_t len,
			 struct wire_progress *m, char *err, size_t es);

#define WIRE_COUNT_LEN 8u
void wire_count_encode(uint64_t v, unsigned char *p);
int wire_count_decode(const unsigned char *p, uint32_t len, uint64_t *v,
		      char *err, size_t err_size);

#define WIRE_DEVICE_END_LEN 24u
struct wire_device_end {
	uint64_t raw_bytes; /* the whole device stream */
	uint64_t frames; /* DATA frames sent: sequence numbers 0..frames-1 */
	uint32_t crc; /* crc32c of the whole device stream */
};
void wire_device_end_encode(const struct wire_device_end *m, unsigned char *p);
int wire_device_end_decode(const unsigned char *p, uint32_t len,
			   struct wire_device_end *m, char *err,
			   size_t err_size);

#endif /* VFMIG_LIB_WIRE_H */
