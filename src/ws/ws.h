/*
 * WebSocket transport (RFC 6455) for roam links: a sans-I/O codec, like the
 * session. It performs no I/O: feed it the bytes you receive (rws_feed),
 * take the whole binary messages it assembles (rws_message / _done), give it
 * the messages to send (rws_send) and write out what rws_output returns.
 *
 * It does the HTTP/1.1 Upgrade handshake of either side (version 13,
 * Sec-WebSocket-Key/Accept, path match, optional Origin allow-list, headers
 * bounded to RWS_MAX_HEADER bytes, plain HTTP answers to bad requests), and
 * the framing through wslay's frame layer (libwslay): client frames masked,
 * server frames not; pings answered, pongs ignored, fragmented messages
 * assembled up to max_message bytes. Anything else ends the link: a text
 * message (close 1003), reserved opcodes or bits, wrong masking, bad
 * continuations (1002), a message over the limit (1009, refused from its
 * header before any of it is buffered). On such a violation the codec
 * queues nothing itself: the caller first lets the session say Goodbye
 * (rws_violation gives the rule id) and then calls rws_close(code).
 *
 * Memory: one message being assembled (<= max_message), the output not yet
 * written, the handshake header while it lasts (<= RWS_MAX_HEADER), and
 * wslay's 4 KiB input buffer. A single thread uses a codec at a time.
 */
#ifndef ROAM_WS_H
#define ROAM_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roam/common.h>

#define RWS_MAX_HEADER 8192

/* Close codes (RFC 6455 §7.4.1). */
#define RWS_CLOSE_NORMAL 1000
#define RWS_CLOSE_PROTOCOL 1002
#define RWS_CLOSE_UNSUPPORTED 1003
#define RWS_CLOSE_TOO_BIG 1009

typedef struct rws rws;

typedef struct rws_config {
  bool server;
  size_t max_message;  /* largest message accepted (its header is checked) */
  const char *path;    /* server: the path served; client: the path asked for */
  const char *host;    /* client: Host header value ("h:p") */
  /* server: allowed Origin values, separated by spaces or commas; NULL or
   * "" = any Origin (and requests without one) */
  const char *origins;
  const roam_mem *mem; /* NULL = libc */
} rws_config;

typedef enum rws_state {
  RWS_HANDSHAKE = 0, /* waiting for the peer's request / response */
  RWS_OPEN,          /* messages flow */
  RWS_FAILED,        /* handshake refused (server: the HTTP answer is queued) */
  RWS_CLOSED         /* a close frame was received or sent, or a violation */
} rws_state;

int rws_new(rws **out, const rws_config *cfg);
void rws_free(rws *w);

/* Client: queue the Upgrade request. */
int rws_client_start(rws *w);

/* Feed received bytes. Stops early (consumed < len) when a message is ready
 * (take it with rws_message, then call rws_message_done) or the state left
 * RWS_HANDSHAKE/RWS_OPEN. Returns 0 or ROAM_ERR_NOMEM. */
int rws_feed(rws *w, const uint8_t *data, size_t len, size_t *consumed);
rws_state rws_get_state(const rws *w);
/* The handshake just completed (cleared by reading it). */
bool rws_take_opened(rws *w);
/* The complete message waiting to be taken, if any. */
bool rws_message(const rws *w, roam_bytes *msg);
void rws_message_done(rws *w);

/* Why the link ends, once CLOSED or FAILED: the close code we must send
 * (0: none, e.g. the peer closed first) and, for a violation by the peer,
 * the rule id for the roam Goodbye (NULL otherwise). */
uint16_t rws_violation_code(const rws *w);
const char *rws_violation(const rws *w);
/* The peer sent a close frame (its code, or 1005 when it had none). */
bool rws_peer_closed(const rws *w, uint16_t *code);
/* Handshake failures: a short description ("HTTP 404", "bad Sec-WebSocket-Accept"). */
const char *rws_error_text(const rws *w);

/* Queue one binary message. ROAM_ERR_STATE once closing. */
int rws_send(rws *w, const uint8_t *msg, size_t len);
/* Queue a close frame (once); nothing can be sent after it. */
int rws_close(rws *w, uint16_t code);
bool rws_close_sent(const rws *w);

/* Bytes to write: how many, *data points at them. */
size_t rws_output(const rws *w, const uint8_t **data);
void rws_consume(rws *w, size_t n);

/* Storage held for a message (or handshake header) received in part or
 * not yet taken; 0 when none. */
size_t rws_input_buffered(const rws *w);
/* No more input will be fed: forget a message received in part. */
void rws_drop_input(rws *w);
/* Give back empty buffers (the link is idle); allocated again as needed. */
void rws_trim(rws *w);

/* Sec-WebSocket-Accept for a key: 28 characters + NUL into out. */
void rws_accept_key(const char *key, size_t key_len, char out[29]);

#endif
