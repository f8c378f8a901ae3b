/*
 * roam-c session layer: the sans-I/O state machine of one link
 * (PROTOCOL.md §5-§11).
 *
 * The session performs no I/O, starts no threads and reads no clock:
 *   - feed it the bytes you receive:      roam_session_recv()
 *   - send the bytes it wants to send:    roam_session_output() + _consume()
 *   - tell it the time:                   roam_session_tick()
 *   - tell it the transport ended:        roam_session_eof()
 * Events (responses, incoming requests, channel data, connections) arrive
 * through callbacks, always from inside one of the calls above or from the
 * API call that caused them; never from another thread.
 *
 * Guarantees:
 *   - Every call started with roam_call() that returned 0 completes exactly
 *     once through its callback (a result, a remote error, a timeout, a
 *     cancel, or connection-closed), never from inside roam_call() itself.
 *   - Every incoming request is answered exactly once on the wire.
 *   - Every channel handed to the application ends exactly once (on_end).
 *   - A peer's malformed or hostile input gets Goodbye with the rule id and
 *     the link closes; memory held per link is bounded by the config.
 *
 * Thread-safety: a session and everything reached through it belong to one
 * thread at a time (no internal locking). A roam_dispatcher is read-only
 * once in use and may be shared by sessions on several threads.
 *
 * Callbacks must not call roam_session_free() on their own session.
 */
#ifndef ROAM_SESSION_H
#define ROAM_SESSION_H

#include <stdbool.h>

#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct roam_session roam_session;
typedef struct roam_request roam_request;
typedef struct roam_dispatcher roam_dispatcher;

typedef enum roam_role {
  ROAM_ROLE_INITIATOR = 0, /* opened the link: allocates odd channel ids */
  ROAM_ROLE_ACCEPTOR = 1   /* accepted the link: even channel ids */
} roam_role;

/* Session flags (roam_session_config.flags). */
/* Whole messages in and out, no COBS (WebSocket-like transports). */
#define ROAM_SESSION_MESSAGE_TRANSPORT 0x01u
/* Legacy interop (a): send Data without waiting for credit (0.6 peers never
 * grant credit). */
#define ROAM_SESSION_SEND_WITHOUT_CREDIT 0x02u
/* Legacy interop (b): tolerate a peer that overruns its credit, up to
 * overrun_buffer_cap bytes per channel; past it the channel is Reset. */
#define ROAM_SESSION_TOLERATE_OVERRUN 0x04u
/* Log every message sent and received (level INFO), like ROAM_WIRE_SPY=1. */
#define ROAM_SESSION_WIRE_SPY 0x08u
/* Do not create a diagnostic state for this session. */
#define ROAM_SESSION_NO_DIAGNOSTICS 0x10u

typedef struct roam_session_config {
  roam_role role;
  unsigned flags;
  uint32_t max_payload_size;       /* we accept; default 1 MiB */
  uint32_t initial_channel_credit; /* we grant per channel; default 64 KiB */
  size_t max_frame_size;      /* largest incoming frame; 0 = derived from the
                                 payload limit plus metadata and headers */
  uint32_t max_outgoing_calls; /* in flight per connection; default 4096 */
  uint32_t outgoing_queue_limit; /* calls waiting beyond that, per
                                    connection; 0 = fail fast with
                                    ROAM_ERR_LIMIT; default 65536 */
  uint32_t max_incoming_calls; /* being handled per connection; excess
                                  requests are answered Err(Cancelled) at
                                  once; default 4096 */
  uint32_t max_channels;       /* open per connection; default 4096 */
  uint32_t max_connections;    /* virtual connections per link; default 256 */
  uint32_t overrun_buffer_cap; /* see TOLERATE_OVERRUN; default 1 MiB */
  size_t output_high_water;    /* stop consuming input while more output than
                                  this waits to be sent; default 4 MiB */
  uint64_t handshake_timeout_ms; /* default 5000 (the reference's) */
  uint64_t cancel_grace_ms;    /* after roam_call_cancel, how long to wait for
                                  the peer's answer; default 1000 */
  uint64_t credit_warn_ms;     /* report a send blocked on credit this long on
                                  a link whose peer never granted any;
                                  default 2000 */
  uint64_t now_ms;             /* the current time, in the embedder's clock */
  /* Optional: the embedder's clock (same unit and origin as now_ms). When
   * set, deadlines started from application calls (call timeouts, cancel
   * grace, connect timeouts) count from its reading instead of from the
   * last roam_session_tick. The session calls it only from inside API
   * calls, never on its own. */
  uint64_t (*clock)(void *clock_user_data);
  void *clock_user_data;
  /* Consumed bytes not yet returned are granted after at most this long,
   * even while the sender still has more than half the window (so that a
   * sender waiting to send a value larger than its remaining credit is
   * never stuck); default 100. Below half the window, credit goes back at
   * once. */
  uint64_t credit_delay_ms;
  /* Receive window per channel: how many bytes a sender may have on the
   * way at once. 0 (the default) = the negotiated initial credit, the
   * reference's window: one value as large as the window is then a
   * stop-and-wait. A larger window opens with the channel's first grant
   * (the Credit that returns its first consumed bytes also adds the
   * difference); from then on credit goes back whenever the sender is
   * down to half of it. A receiver that queues values (manual credit) may
   * hold up to this much per channel. */
  uint32_t channel_window;
  const roam_mem *mem;         /* NULL = libc */
  roam_log_fn log;             /* NULL = silent */
  void *log_user_data;
  const char *name;            /* diagnostic name of the link (copied) */
} roam_session_config;

/* Fill cfg with the defaults above for the given role. */
ROAM_EXTERN void roam_session_config_init(roam_session_config *cfg, roam_role role);

typedef struct roam_session_callbacks {
  /* The Hello exchange completed. */
  void (*on_ready)(roam_session *s, void *ud);
  /* The link ended. err: 0 after a graceful Goodbye (either side) or EOF
   * after one, ROAM_ERR_PROTOCOL when we sent Goodbye for a violation,
   * ROAM_ERR_CLOSED when the peer sent Goodbye with a reason or the
   * transport ended, ROAM_ERR_TIMEOUT for a handshake timeout,
   * ROAM_ERR_NOMEM when the session could not allocate what a message it
   * had to send needed (the link cannot stay consistent). reason is the
   * Goodbye reason, if any. Called once. */
  void (*on_closed)(roam_session *s, int err, roam_bytes reason, void *ud);
  /* A peer asks to open a virtual connection (only while listening). Answer
   * now or later with roam_session_accept() / roam_session_reject(). */
  void (*on_connect)(roam_session *s, uint64_t connect_id, const roam_metadata *md,
                     void *ud);
  /* A virtual connection (id > 0) ended: Goodbye from either side, or the
   * link closed. err as for on_closed. */
  void (*on_conn_closed)(roam_session *s, uint64_t conn_id, int err, roam_bytes reason,
                         void *ud);
  /* Output became pending while none was (wake the writer). */
  void (*on_want_write)(roam_session *s, void *ud);
} roam_session_callbacks;

/* ---- lifecycle -------------------------------------------------------- */

/* Create a session; Hello is queued at once. */
ROAM_EXTERN int roam_session_new(roam_session **out, const roam_session_config *cfg,
                                 const roam_session_callbacks *cbs, void *user_data);
/* Free everything. Outstanding calls complete with ROAM_ERR_CLOSED, open
 * channels end, request handles still held by the application become
 * invalid (their cancel callbacks run first). */
ROAM_EXTERN void roam_session_free(roam_session *s);
ROAM_EXTERN void *roam_session_user_data(const roam_session *s);
ROAM_EXTERN roam_role roam_session_role(const roam_session *s);

/* Graceful close: Goodbye with an empty reason on connection 0; pending
 * calls fail with ROAM_ERR_CLOSED. Flush the output, then close the
 * transport (roam_session_is_done()). */
ROAM_EXTERN int roam_session_close(roam_session *s);
/* Close with a reason (a rule id if it is a violation you detected). */
ROAM_EXTERN int roam_session_close_reason(roam_session *s, const char *reason);

/* ---- driving the session ------------------------------------------------ */

/* Feed received bytes (byte-stream transports). *consumed may be less than
 * len when the output exceeds output_high_water (send some, then feed the
 * rest) or after the link closed. Returns 0, or ROAM_ERR_PROTOCOL / CLOSED
 * once the link is closed (flush the output, then close the transport). */
ROAM_EXTERN int roam_session_recv(roam_session *s, const uint8_t *data, size_t len,
                                  size_t *consumed);
/* Feed one whole message (ROAM_SESSION_MESSAGE_TRANSPORT). ROAM_ERR_WOULD_BLOCK
 * if the output is above the high-water mark (not consumed: retry later). */
ROAM_EXTERN int roam_session_recv_message(roam_session *s, const uint8_t *msg, size_t len);
/* The transport reached end of file or failed. */
ROAM_EXTERN void roam_session_eof(roam_session *s);

/* Bytes waiting to be sent: returns how many, *data points at them. Valid
 * until the next call into the session: any call may move them, and bytes
 * not consumed yet may be taken back (a Credit for a channel the peer just
 * closed), so consume what the transport took before calling again. */
ROAM_EXTERN size_t roam_session_output(roam_session *s, const uint8_t **data);
/* (roam_session_output may hand the bytes out in more than one piece: after
 * a burst, the older piece first. Call it again after consuming;
 * roam_session_output_queued counts them all.) */
/* n bytes of the output were sent (at most what roam_session_output gave). */
ROAM_EXTERN void roam_session_consume(roam_session *s, size_t n);
/* Message transports: the next whole message (0 and empty when none);
 * release it with roam_session_consume(s, msg->len). */
ROAM_EXTERN int roam_session_next_message(roam_session *s, roam_bytes *msg);

/* Pass time: fires timeouts due at or before now_ms. */
ROAM_EXTERN void roam_session_tick(roam_session *s, uint64_t now_ms);
/* When the next timeout is due (UINT64_MAX: none). */
ROAM_EXTERN uint64_t roam_session_next_timeout(const roam_session *s);

ROAM_EXTERN bool roam_session_is_ready(const roam_session *s);
/* No more input is accepted (Goodbye sent or received, EOF, timeout). */
ROAM_EXTERN bool roam_session_is_closed(const roam_session *s);
/* Closed and all output consumed: close the transport now. */
ROAM_EXTERN bool roam_session_is_done(const roam_session *s);
/* Whether the session can use more input now (not closed, output below the
 * high-water mark). */
ROAM_EXTERN bool roam_session_want_read(const roam_session *s);
ROAM_EXTERN bool roam_session_want_write(const roam_session *s);

/* Memory held for the transport (for a runtime that budgets it, see
 * roam_server_options.memory_budget in runtime.h):
 *   - roam_session_input_buffered: storage reserved for a frame received in
 *     part (its delimiter not seen yet); 0 when none is held. It grows as
 *     the frame does, up to the frame limit (max_frame_size).
 *   - roam_session_output_queued: output bytes not consumed yet (byte
 *     stream or message mode alike). */
ROAM_EXTERN size_t roam_session_input_buffered(const roam_session *s);
ROAM_EXTERN size_t roam_session_output_queued(const roam_session *s);
/* Give back memory the session does not need now: an empty output buffer,
 * the deframer's storage when no partial frame is held, the header scratch
 * space, an empty timer table, the pools of free call, channel and request
 * records, empty maps. All of it is allocated again when data flows.
 * Cheap (a pass over the link's connections, usually one), never needed for
 * correctness, does nothing inside the session's callbacks: a
 * transport calls it once the Hello exchange is done and when a link has
 * gone idle (the runtime: after 0.5 to 1 s without I/O), not after every
 * call, so that busy links keep their buffers. */
ROAM_EXTERN void roam_session_trim(roam_session *s);
/* Negotiated values (valid once ready). */
ROAM_EXTERN uint32_t roam_session_max_payload(const roam_session *s);
ROAM_EXTERN uint32_t roam_session_initial_credit(const roam_session *s);

/* ---- outgoing calls ------------------------------------------------------ */

typedef struct roam_call_result {
  /* 0: Ok(value). ROAM_ERR_REMOTE_USER: the method's error E in value.
   * ROAM_ERR_REMOTE_UNKNOWN_METHOD / _INVALID_PAYLOAD / _CANCELLED: the
   * peer's RoamError. Local outcomes: ROAM_ERR_CLOSED, ROAM_ERR_TIMEOUT,
   * ROAM_ERR_CANCELLED (no answer within the grace time after a cancel),
   * ROAM_ERR_BAD_RESPONSE (payload is not a valid Result). */
  int status;
  roam_bytes value;       /* T or E bytes (views; valid during the callback) */
  roam_bytes payload;     /* the whole Response payload, if one arrived */
  const roam_metadata *metadata; /* Response metadata, or NULL */
  uint64_t conn_id;
  uint64_t request_id;
} roam_call_result;

typedef void (*roam_call_cb)(roam_session *s, const roam_call_result *res, void *ud);

/* Optional arguments of roam_call (zero-initialise for the defaults). */
typedef struct roam_call_opts {
  uint64_t conn_id;                  /* 0 = the root connection */
  const roam_meta_entry *metadata;
  size_t metadata_count;
  const uint64_t *channels;          /* ids from roam_channel_alloc, in
                                        argument order */
  size_t channel_count;
  uint64_t timeout_ms;               /* 0 = no deadline */
} roam_call_opts;

/*
 * Start a call. payload is the postcard-encoded argument tuple (copied).
 * Returns 0 (cb will run exactly once) or an error (cb will not run):
 * ROAM_ERR_CLOSED, ROAM_ERR_NOT_FOUND (no such connection),
 * ROAM_ERR_PAYLOAD_TOO_LARGE, ROAM_ERR_METADATA_LIMIT, ROAM_ERR_LIMIT (too
 * many calls in flight and the queue is full), ROAM_ERR_INVALID_ARG (e.g. a
 * channel id that is not a fresh one from roam_channel_alloc), ROAM_ERR_NOMEM.
 * On error the listed channels are released.
 * Calls made before the handshake completes wait for it.
 */
ROAM_EXTERN int roam_call(roam_session *s, uint64_t method_id, const void *payload,
                          size_t len, const roam_call_opts *opts, roam_call_cb cb,
                          void *ud, uint64_t *request_id_out);
/* Cancel a call: Cancel is sent and the call completes with the peer's
 * answer, or with ROAM_ERR_CANCELLED after cancel_grace_ms. */
ROAM_EXTERN int roam_call_cancel(roam_session *s, uint64_t conn_id, uint64_t request_id);

/* ---- channels ------------------------------------------------------------ */

typedef enum roam_chan_dir {
  ROAM_CHAN_SEND = 1, /* we send Data on it */
  ROAM_CHAN_RECV = 2  /* we receive Data on it */
} roam_chan_dir;
/* Or-ed into dir for RECV channels: credit is returned only when the
 * application calls roam_channel_consume(), not when on_data returns. */
#define ROAM_CHAN_MANUAL_CREDIT 0x100

typedef struct roam_channel_callbacks {
  /* RECV: one value. Return 0, or a negative code if the value does not
   * decode as the element type (the session then sends Goodbye
   * channeling.data.invalid). */
  int (*on_data)(roam_session *s, uint64_t conn_id, uint64_t channel_id, roam_bytes value,
                 void *ud);
  /* The channel ended: 0 = the sender closed it (or, for a callee output
   * channel, the Response arrived), ROAM_ERR_CANCELLED = Reset by the
   * peer, ROAM_ERR_CLOSED = the connection closed. Not called for ends the
   * application caused itself (roam_channel_close/reset). */
  void (*on_end)(roam_session *s, uint64_t conn_id, uint64_t channel_id, int err, void *ud);
  /* SEND: credit arrived after roam_channel_send returned WOULD_BLOCK. */
  void (*on_writable)(roam_session *s, uint64_t conn_id, uint64_t channel_id, void *ud);
} roam_channel_callbacks;

/* Allocate a channel id for an outgoing call (parity by link role). cbs must
 * outlive the channel. Pass the id in roam_call_opts.channels and inside the
 * payload. */
ROAM_EXTERN int roam_channel_alloc(roam_session *s, uint64_t conn_id, int dir,
                                   const roam_channel_callbacks *cbs, void *ud,
                                   uint64_t *id_out);
/* Send one value. ROAM_ERR_WOULD_BLOCK: not enough credit (nothing was
 * queued; on_writable follows when credit arrives) or the call's Request is
 * not sent yet. ROAM_ERR_CLOSED / NOT_FOUND: the channel has ended. */
ROAM_EXTERN int roam_channel_send(roam_session *s, uint64_t conn_id, uint64_t channel_id,
                                  const void *value, size_t len);
/* Credit available for sending on a channel (0 if unknown). */
ROAM_EXTERN uint64_t roam_channel_credit(const roam_session *s, uint64_t conn_id,
                                         uint64_t channel_id);
/* SEND: send Close (no more values). */
ROAM_EXTERN int roam_channel_close(roam_session *s, uint64_t conn_id, uint64_t channel_id);
/* Abandon a channel in either direction: send Reset. */
ROAM_EXTERN int roam_channel_reset(roam_session *s, uint64_t conn_id, uint64_t channel_id);
/* ROAM_CHAN_MANUAL_CREDIT: n bytes of received values were consumed. */
ROAM_EXTERN int roam_channel_consume(roam_session *s, uint64_t conn_id, uint64_t channel_id,
                                     size_t n);

/* ---- incoming calls ------------------------------------------------------ */

/* A handler gets a request handle that it (or code it hands it to) must
 * answer exactly once with one of the roam_request_respond_* functions. */
typedef void (*roam_handler_fn)(roam_session *s, roam_request *req, void *ud);

/* Method table. Read-only once handed to a session; free it only after the
 * sessions using it. */
ROAM_EXTERN roam_dispatcher *roam_dispatcher_new(const roam_mem *mem);
ROAM_EXTERN void roam_dispatcher_free(roam_dispatcher *d);
ROAM_EXTERN int roam_dispatcher_add(roam_dispatcher *d, uint64_t method_id,
                                    roam_handler_fn fn, void *ud);
/* Called for methods without a handler (default: Err(UnknownMethod)). */
ROAM_EXTERN void roam_dispatcher_set_fallback(roam_dispatcher *d, roam_handler_fn fn,
                                              void *ud);

/* Dispatcher of a connection (0 = root; set before or after the handshake).
 * NULL: every request gets Err(UnknownMethod). */
ROAM_EXTERN int roam_session_set_dispatcher(roam_session *s, uint64_t conn_id,
                                            const roam_dispatcher *d);

ROAM_EXTERN roam_session *roam_request_session(const roam_request *r);
ROAM_EXTERN uint64_t roam_request_conn_id(const roam_request *r);
ROAM_EXTERN uint64_t roam_request_id(const roam_request *r);
ROAM_EXTERN uint64_t roam_request_method_id(const roam_request *r);
/* Payload and metadata are views valid only during the handler call. */
ROAM_EXTERN roam_bytes roam_request_payload(const roam_request *r);
ROAM_EXTERN const roam_metadata *roam_request_metadata(const roam_request *r);
/* Channel ids listed in the Request (authoritative), in argument order. */
ROAM_EXTERN size_t roam_request_channel_count(const roam_request *r);
ROAM_EXTERN uint64_t roam_request_channel_id(const roam_request *r, size_t index);
/* Take a listed channel: RECV for the caller's Tx<T> (we receive), SEND for
 * the caller's Rx<T> (we send). Values that arrived before binding are
 * delivered at once. A listed channel never bound is drained and discarded
 * once the request is answered. */
ROAM_EXTERN int roam_request_bind_channel(roam_request *r, size_t index, int dir,
                                          const roam_channel_callbacks *cbs, void *ud);
ROAM_EXTERN void roam_request_set_user_data(roam_request *r, void *ud);
ROAM_EXTERN void *roam_request_user_data(const roam_request *r);
/* Called when the caller cancels (the session answers Err(Cancelled) at
 * once) or the connection closes. The handle stays valid: still respond. */
ROAM_EXTERN void roam_request_set_cancel_cb(roam_request *r,
                                            void (*fn)(roam_request *r, int why, void *ud),
                                            void *ud);
/* True once the request was cancelled or its connection closed: answering
 * is then only a release. */
ROAM_EXTERN bool roam_request_is_cancelled(const roam_request *r);
/* Attach a key=value string to the request's diagnostic record (only kept
 * when argument recording is enabled, see diag.h). */
ROAM_EXTERN void roam_request_diag_arg(roam_request *r, const char *key, const char *value);

/*
 * Answer and release the handle. Output channels bound with SEND that are
 * still open get Close first. Return 0; or ROAM_ERR_CANCELLED / CLOSED when
 * the answer was not needed any more (handle released all the same); or
 * ROAM_ERR_PAYLOAD_TOO_LARGE / METADATA_LIMIT / NOMEM, in which case the
 * handle is NOT released and must be answered again (e.g. with an error).
 */
ROAM_EXTERN int roam_request_respond_ok(roam_request *r, const void *value, size_t len);
ROAM_EXTERN int roam_request_respond_user_error(roam_request *r, const void *err, size_t len);
/* kind: ROAM_ERR_REMOTE_UNKNOWN_METHOD, _INVALID_PAYLOAD or _CANCELLED. */
ROAM_EXTERN int roam_request_respond_error(roam_request *r, int kind);
/* The whole Response payload (a Result encoding) and optional metadata. */
ROAM_EXTERN int roam_request_respond_raw(roam_request *r, const void *payload, size_t len,
                                         const roam_meta_entry *md, size_t md_count);

/* ---- virtual connections ------------------------------------------------- */

/* status: 0 accepted (conn_id valid), ROAM_ERR_REJECTED (reason, md),
 * ROAM_ERR_TIMEOUT, ROAM_ERR_CLOSED. */
typedef void (*roam_connect_cb)(roam_session *s, int status, uint64_t conn_id,
                                roam_bytes reason, const roam_metadata *md, void *ud);
ROAM_EXTERN int roam_session_connect(roam_session *s, const roam_meta_entry *md,
                                     size_t md_count, uint64_t timeout_ms,
                                     roam_connect_cb cb, void *ud);
/* Accept incoming Connects (on_connect); otherwise they get Reject
 * "not listening". Only the link (connection 0) listens. */
ROAM_EXTERN int roam_session_listen(roam_session *s, bool enable);
ROAM_EXTERN int roam_session_accept(roam_session *s, uint64_t connect_id,
                                    const roam_meta_entry *md, size_t md_count,
                                    const roam_dispatcher *d, uint64_t *conn_id_out);
ROAM_EXTERN int roam_session_reject(roam_session *s, uint64_t connect_id, const char *reason,
                                    const roam_meta_entry *md, size_t md_count);
/* Goodbye on a virtual connection (id > 0); its calls fail, channels end. */
ROAM_EXTERN int roam_session_conn_close(roam_session *s, uint64_t conn_id, const char *reason);
ROAM_EXTERN bool roam_session_conn_exists(const roam_session *s, uint64_t conn_id);

/* ---- statistics ---------------------------------------------------------- */

/* Why a message was ignored (each is counted and logged). */
#define ROAM_IGNORE_MAP(XX)                                               \
  XX(LATE_RESPONSE, "Response for a request not in flight")              \
  XX(UNKNOWN_CONN, "message for an unknown or closed connection")       \
  XX(LATE_CANCEL, "Cancel for a request already answered")              \
  XX(LATE_CHANNEL, "Data/Close/Credit/Reset for a finished channel")    \
  XX(WRONG_DIRECTION, "Data/Close/Credit on a channel of the other direction") \
  XX(LATE_HELLO, "Hello after the handshake")                           \
  XX(STALE_CONNECT_REPLY, "Accept/Reject for no pending Connect")       \
  XX(DUPLICATE_CONNECT, "Connect with a request id already pending")    \
  XX(REFUSED_CALL, "Request refused: too many incoming calls or channels") \
  XX(DISCARDED_DATA, "Data on a channel the handler never bound")

typedef enum roam_ignore_kind {
#define ROAM__IGN_ENUM(name, text) ROAM_IGNORE_##name,
  ROAM_IGNORE_MAP(ROAM__IGN_ENUM)
#undef ROAM__IGN_ENUM
  ROAM_IGNORE_COUNT
} roam_ignore_kind;

typedef struct roam_session_stats {
  uint64_t msgs_in[ROAM_MSG_KIND_COUNT];
  uint64_t msgs_out[ROAM_MSG_KIND_COUNT];
  uint64_t bytes_in, bytes_out;
  uint64_t calls_started, calls_completed;
  uint64_t calls_ok, calls_remote_error, calls_timed_out, calls_cancelled, calls_closed;
  uint64_t requests_received, requests_answered;
  uint64_t ignored[ROAM_IGNORE_COUNT];
  uint64_t credit_granted, credit_received; /* bytes */
  uint64_t protocol_errors;
  uint32_t calls_in_flight, requests_in_flight, channels_open, connections;
  size_t heap_bytes; /* currently held through the allocator */
} roam_session_stats;

ROAM_EXTERN void roam_session_get_stats(const roam_session *s, roam_session_stats *out);
ROAM_EXTERN const char *roam_ignore_kind_text(int kind);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_SESSION_H */
