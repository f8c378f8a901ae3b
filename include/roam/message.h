/*
 * roam-c wire layer: the twelve roam messages (PROTOCOL.md §3).
 *
 * roam_msg is one flat structure; which fields mean something depends on
 * `kind` (see the table below). Decoding is zero-copy: strings, payloads,
 * metadata and channel lists are views into the decoded buffer, which must
 * outlive the roam_msg. Decoding never allocates.
 *
 *   kind      fields used
 *   HELLO     hello
 *   CONNECT   request_id, metadata
 *   ACCEPT    request_id, conn_id, metadata
 *   REJECT    request_id, reason, metadata
 *   GOODBYE   conn_id, reason
 *   REQUEST   conn_id, request_id, method_id, metadata, channels, payload
 *   RESPONSE  conn_id, request_id, metadata, channels, payload
 *   CANCEL    conn_id, request_id
 *   DATA      conn_id, channel_id, payload
 *   CLOSE     conn_id, channel_id
 *   RESET     conn_id, channel_id
 *   CREDIT    conn_id, channel_id, credit
 *
 * Thread-safety: pure functions; no shared state.
 */
#ifndef ROAM_MESSAGE_H
#define ROAM_MESSAGE_H

#include "postcard.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum roam_msg_kind {
  ROAM_MSG_HELLO = 0,
  ROAM_MSG_CONNECT = 1,
  ROAM_MSG_ACCEPT = 2,
  ROAM_MSG_REJECT = 3,
  ROAM_MSG_GOODBYE = 4,
  ROAM_MSG_REQUEST = 5,
  ROAM_MSG_RESPONSE = 6,
  ROAM_MSG_CANCEL = 7,
  ROAM_MSG_DATA = 8,
  ROAM_MSG_CLOSE = 9,
  ROAM_MSG_RESET = 10,
  ROAM_MSG_CREDIT = 11
} roam_msg_kind;
#define ROAM_MSG_KIND_COUNT 12

/* "Hello", "Request", ... ("?" for an unknown kind). */
ROAM_EXTERN const char *roam_msg_kind_name(int kind);

/* Hello enum variants. V1 decodes (so a session can reject it); any other
 * variant is ROAM_ERR_HELLO_VERSION. */
#define ROAM_HELLO_V1 0u
#define ROAM_HELLO_V2 1u

typedef struct roam_hello {
  uint32_t version; /* ROAM_HELLO_V1 or ROAM_HELLO_V2 */
  uint32_t max_payload_size;
  uint32_t initial_channel_credit;
} roam_hello;

typedef enum roam_meta_kind {
  ROAM_META_STRING = 0,
  ROAM_META_BYTES = 1,
  ROAM_META_U64 = 2
} roam_meta_kind;

/* One metadata entry. For STRING and BYTES `value` holds the bytes; for U64
 * `u64` holds the number. */
typedef struct roam_meta_entry {
  roam_bytes key;
  roam_meta_kind kind;
  roam_bytes value;
  uint64_t u64;
} roam_meta_entry;

/*
 * Metadata list. To encode, point `entries` at `count` entries (or leave it
 * NULL and set `raw`/`raw_len` to an already-encoded entry list, e.g. one
 * taken from a decoded message, to forward it unchanged). A decoded message
 * has `entries` NULL and `raw` pointing at the encoded entries; walk them
 * with roam_meta_iter. Decoding already validated every entry and filled in
 * the size figures used for the limits of §10.
 */
typedef struct roam_metadata {
  size_t count;
  const roam_meta_entry *entries;
  const uint8_t *raw;
  size_t raw_len;
  /* Filled by decoding (and by roam_metadata_measure): */
  size_t max_key_len;
  size_t max_value_len; /* U64 counts as 8 */
  size_t total_len;     /* keys + values */
} roam_metadata;

/* Iterator over a metadata list (decoded or built from entries). */
typedef struct roam_meta_iter {
  const roam_metadata *md;
  size_t index;
  roam_dec dec;
} roam_meta_iter;

ROAM_EXTERN void roam_meta_iter_init(roam_meta_iter *it, const roam_metadata *md);
/* 1 and *out filled while entries remain, 0 at the end. */
ROAM_EXTERN int roam_meta_iter_next(roam_meta_iter *it, roam_meta_entry *out);
/* First entry with this key (0 found, ROAM_ERR_NOT_FOUND otherwise). */
ROAM_EXTERN int roam_metadata_find(const roam_metadata *md, const char *key,
                                   roam_meta_entry *out);
/* Compute max_key_len, max_value_len, total_len of an entries-based list. */
ROAM_EXTERN void roam_metadata_measure(roam_metadata *md);

/* Protocol limits on metadata [call.metadata.limits]. */
#define ROAM_META_MAX_ENTRIES 128
#define ROAM_META_MAX_KEY 256
#define ROAM_META_MAX_VALUE 16384
#define ROAM_META_MAX_TOTAL 65536
/* 0 if within the limits of §10, ROAM_ERR_METADATA_LIMIT otherwise. */
ROAM_EXTERN int roam_metadata_check_limits(const roam_metadata *md);

/* List of u64 (channel ids). Encode from `items`; decoded lists have
 * `items` NULL and `raw` pointing at the varints (see roam_u64_list_get). */
typedef struct roam_u64_list {
  size_t count;
  const uint64_t *items;
  const uint8_t *raw;
  size_t raw_len;
} roam_u64_list;

/* Copy up to `max` ids into out; returns the number of ids in the list. */
ROAM_EXTERN size_t roam_u64_list_get(const roam_u64_list *l, uint64_t *out, size_t max);

typedef struct roam_msg {
  roam_msg_kind kind;
  uint64_t conn_id;
  uint64_t request_id;
  uint64_t method_id;
  uint64_t channel_id;
  uint32_t credit;
  roam_hello hello;
  roam_bytes reason;
  roam_metadata metadata;
  roam_u64_list channels;
  roam_bytes payload;
} roam_msg;

/*
 * Decode exactly one message from buf[0..len). Returns 0, or:
 *   ROAM_ERR_UNKNOWN_VARIANT  unknown message discriminant
 *   ROAM_ERR_HELLO_VERSION    Hello with an unknown variant (V1 decodes fine)
 *   other negative codes      anything else malformed, trailing bytes included
 *                             (roam_msg_error_rule() maps these to a rule id)
 */
ROAM_EXTERN int roam_msg_decode(roam_msg *out, const uint8_t *buf, size_t len);

/* Exact encoded size of m (0 if m is invalid, e.g. unknown kind). */
ROAM_EXTERN size_t roam_msg_encoded_size(const roam_msg *m);
/* Append the encoding of m to an encoder. */
ROAM_EXTERN int roam_msg_encode(roam_enc *e, const roam_msg *m);
/* Encode into buf; *out_len gets the length. ROAM_ERR_BUFFER_FULL if cap is
 * too small (roam_msg_encoded_size tells how much is needed). */
ROAM_EXTERN int roam_msg_encode_buf(const roam_msg *m, uint8_t *buf, size_t cap,
                                    size_t *out_len);
/* Encode everything but the trailing payload bytes field's *contents*: the
 * header ends with the payload's length prefix, so that a transport can send
 * header + payload without copying the payload (Request, Response, Data). */
ROAM_EXTERN int roam_msg_encode_header(roam_enc *e, const roam_msg *m);

/* The Goodbye rule id for a decode error: "message.unknown-variant",
 * "message.hello.unknown-version" or "message.decode-error". */
ROAM_EXTERN const char *roam_msg_error_rule(int decode_err);

/*
 * One-line human-readable summary of m for logs (the wire spy), e.g.
 *   Request conn=0 req=1 method=0x9aabc4ba61fd5df3 meta=0 channels=[] payload=16B
 *   Goodbye conn=0 reason="message.decode-error"
 *   Hello V2 max_payload=1048576 initial_credit=65536
 * No trailing newline. Reasons and metadata keys are quoted with control
 * characters, quotes, backslashes and invalid UTF-8 escaped, and long ones
 * cut short. snprintf semantics: writes at most cap bytes including the
 * terminating NUL (buf may be NULL when cap is 0) and returns the length the
 * whole summary has, so a return value >= cap means it was truncated.
 */
ROAM_EXTERN size_t roam_msg_format(const roam_msg *m, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_MESSAGE_H */
