/*
 * Internal structures of the session layer. One file per concern:
 *   session.c   lifecycle, output buffer, input loop, handshake, teardown
 *   call.c      outgoing calls (Request out, Response in, Cancel, queueing)
 *   request.c   incoming calls (dispatch, respond, Cancel in)
 *   channel.c   channels and credit
 *   conn.c      virtual connections (Connect/Accept/Reject/Goodbye)
 */
#ifndef ROAM_SESSION_INTERNAL_H
#define ROAM_SESSION_INTERNAL_H

#include <roam/cobs.h>
#include <roam/diag.h>
#include <roam/session.h>

#include "common/mem.h"
#include "session/timer_heap.h"
#include "session/u64map.h"

/* Timer kinds. */
enum { TK_HANDSHAKE = 1, TK_CALL_DEADLINE, TK_CANCEL_GRACE, TK_CONNECT, TK_CREDIT_WARN };

/* Reason sent for oversize payloads: the spec's id and the reference's. */
#define RULE_PAYLOAD_LIMIT "message.hello.enforcement flow.call.payload-limit"
#define RULE_DATA_LIMIT "channeling.data.size-limit flow.call.payload-limit"

typedef struct conn conn;
typedef struct call call;
typedef struct chan chan;

/* Inline room for channel ids of a call; more go to the heap. */
#define CALL_INLINE_CHANS 2

/* Outgoing call. */
struct call {
  uint64_t request_id;
  conn *c;
  roam_call_cb cb;
  void *ud;
  roam__tmr timer; /* deadline or cancel grace */
  uint8_t state;    /* CALL_* */
  uint8_t cancelled;
  uint16_t nchan;
  uint64_t chan_inline[CALL_INLINE_CHANS];
  uint64_t *chan_heap;
  uint8_t *deferred; /* encoded Request waiting to be sent */
  size_t deferred_len;
  call *next;        /* deferred queue / free list */
  roam_diag_req *diag;
};
enum { CALL_DEFERRED = 1, CALL_INFLIGHT = 2 };

/* Channel state. */
enum {
  CH_PENDING = 1, /* allocated for a call whose Request is not sent yet */
  CH_OPEN,        /* live */
  CH_UNBOUND,     /* listed in an incoming Request, handler has not bound it */
  CH_DISCARD      /* unbound after the request was answered: drain */
};

/* Buffered value of an unbound channel. */
typedef struct chan_buf {
  struct chan_buf *next;
  size_t len;
  size_t count; /* empty values (len 0) come in runs: they cost no credit,
                   so they must not cost memory either */
  /* bytes follow */
} chan_buf;

struct chan {
  uint64_t id;
  uint64_t request_id; /* the call that opened it (diagnostics) */
  conn *c;
  const roam_channel_callbacks *cbs;
  void *ud;
  uint64_t send_credit;   /* SEND: bytes we may still send */
  uint32_t recv_remaining; /* RECV: bytes the peer may still send */
  uint32_t recv_unacked;   /* RECV: consumed, not yet granted back */
  uint8_t dir;             /* ROAM_CHAN_SEND / RECV, 0 while unbound */
  uint8_t state;
  uint8_t manual_credit;
  uint8_t blocked;         /* a send returned WOULD_BLOCK */
  uint8_t peer_closed;     /* unbound channel got Close while buffering; or
                              pending channel closed by the application */
  uint8_t peer_reset;      /* unbound channel got Reset */
  uint8_t incoming;        /* listed in a Request we received */
  chan_buf *buf_head, *buf_tail;
  size_t buffered;
  roam_diag_chan *diag;
  chan *next_free;
  chan *cr_prev, *cr_next; /* on the session's list of pending grants */
  uint8_t cr_pending;
};

struct roam_request {
  roam_session *s;
  conn *c;          /* NULL once orphaned (connection gone) */
  uint64_t conn_id;
  uint64_t request_id;
  uint64_t method_id;
  roam_bytes payload;            /* valid during the handler */
  const roam_metadata *metadata; /* valid during the handler */
  uint16_t nchan;
  uint8_t done;      /* answered on the wire (or no answer is due) */
  uint8_t cancelled; /* cancel or close seen */
  uint8_t released;  /* the application answered (gave the handle back) */
  uint8_t pinned;    /* a callback holding it is on the stack */
  int why;           /* ROAM_ERR_CANCELLED or ROAM_ERR_CLOSED once cancelled */
  uint64_t chan_inline[CALL_INLINE_CHANS];
  uint64_t *chan_heap;
  void *user_data;
  void (*cancel_fn)(roam_request *r, int why, void *ud);
  void *cancel_ud;
  roam_diag_req *diag;
  roam_request *prev, *next; /* all handles held by the application */
};

/* Ring of channel ids recently closed by the peer, so that Data after
 * Close can be told from late Data after a Reset without keeping every id. */
#define RECENT_CLOSED 32

struct conn {
  uint64_t id;
  roam_u64map calls;    /* outgoing request id -> call */
  roam_u64map requests; /* incoming request id -> roam_request */
  roam_u64map chans;    /* channel id -> chan */
  uint64_t next_request_id;
  uint64_t next_chan_id;
  uint64_t max_chan_id; /* highest id ever used on this connection */
  const roam_dispatcher *disp;
  call *defer_head, *defer_tail;
  uint32_t deferred;
  uint32_t out_inflight;
  uint64_t recent_closed[RECENT_CLOSED];
  uint32_t recent_pos;
  uint8_t closing; /* Goodbye seen or sent; teardown pending */
  int close_err;
  conn *next_closing;
  char *close_reason;
  size_t close_reason_len;
};

/* Pending outgoing Connect. */
typedef struct connect_op {
  uint64_t request_id;
  roam_connect_cb cb;
  void *ud;
  roam__tmr timer;
} connect_op;

typedef struct method_entry {
  roam_handler_fn fn;
  void *ud;
} method_entry;

struct roam_dispatcher {
  roam_mem mem;
  roam_u64map methods;
  roam_handler_fn fallback;
  void *fallback_ud;
};

enum { S_HANDSHAKE = 0, S_READY, S_CLOSED };

struct roam_session {
  roam_mem mem;
  roam_session_config cfg;
  roam_session_callbacks cbs;
  void *ud;
  int state;
  int depth;            /* callback nesting: teardown waits for 0 */
  int teardown_pending; /* link closed, teardown not yet run */
  int close_err;
  int closed_notified;
  uint32_t max_payload; /* negotiated (ours until the handshake) */
  uint32_t credit;      /* negotiated initial channel credit */
  uint64_t now;
  roam__tmr handshake_timer;
  roam__tmr credit_warn_timer;
  int peer_granted;     /* the peer has sent at least one Credit */
  int credit_warned;

  /* output */
  uint8_t *out;
  size_t out_head, out_len, out_cap;
  /* input */
  roam_deframer deframer;
  roam_enc scratch; /* message headers */

  roam_u64map conns; /* conn id -> conn (including 0) */
  conn *root;
  conn *closing_conns;
  uint64_t next_conn_id;
  int listening;
  roam_u64map connects_out; /* link request id -> connect_op */
  roam_u64map connects_in;  /* pending incoming connect ids (value = 1) */
  uint64_t next_connect_id;

  /* Connections we closed (Goodbye sent) recently: the peer may not have seen
   * the Goodbye yet, so its Request/Data/Close on them are ignored, not a
   * violation. */
  uint64_t local_closed[RECENT_CLOSED];
  uint32_t local_closed_pos;

  /* RECV channels whose consumed bytes are not granted back yet: granted
   * when the output is next collected (see chan_consume in channel.c). */
  chan *credit_pending;
  int collecting; /* inside roam_session_output: no on_want_write */

  roam__theap timers;
  roam_request *held; /* request handles the application holds */
  call *call_free;
  chan *chan_free;
  roam_request *req_free;
  roam_diag_state *diag;
  char *close_reason;
  size_t close_reason_len;
  roam_session_stats stats;
};

/* ---- session.c ---- */
void roam__log(roam_session *s, roam_log_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void roam__ignored(roam_session *s, int kind, const roam_msg *m);
/* Queue a message; payload = pre ‖ m->payload. */
int roam__emit(roam_session *s, const roam_msg *m, const uint8_t *pre, size_t pre_len);
/* Make sure that messages of n bytes in all (before framing) can be queued
 * without allocating: several emits that must go out together. */
int roam__out_ensure(roam_session *s, size_t n);
/* Queue an already-encoded message. */
int roam__emit_raw(roam_session *s, const uint8_t *msg, size_t len);
/* Protocol violation: Goodbye on connection 0 with the rule, close. */
void roam__violation(roam_session *s, const char *rule);
/* Out of memory where the application cannot be told (the session could no
 * longer keep its promises): Goodbye if it fits, close with ROAM_ERR_NOMEM. */
void roam__fatal(roam_session *s);
void roam__settle(roam_session *s);
conn *roam__conn_new(roam_session *s, uint64_t id);
conn *roam__conn_get(const roam_session *s, uint64_t id); /* NULL if closing */
/* A Request/Data/Close named a connection that is not live: a violation,
 * unless we closed it ourselves recently (the peer's message crossed our
 * Goodbye). */
void roam__unknown_conn(roam_session *s, const roam_msg *m);
void roam__remember_local_close(roam_session *s, uint64_t conn_id);
void roam__conn_teardown(roam_session *s, conn *c, int err, roam_bytes reason);
size_t roam__out_pending(const roam_session *s);
#define ENTER(s) ((s)->depth++)
#define LEAVE(s) ((s)->depth--)

/* ---- call.c ---- */
void roam__handle_response(roam_session *s, const roam_msg *m);
void roam__call_complete(roam_session *s, call *k, int status, const roam_msg *resp);
void roam__call_timer(roam_session *s, call *k);
void roam__flush_deferred(roam_session *s, conn *c);
void roam__call_free(roam_session *s, call *k);
static inline const uint64_t *roam__call_chans(const call *k) {
  return k->nchan <= CALL_INLINE_CHANS ? k->chan_inline : k->chan_heap;
}

/* ---- request.c ---- */
void roam__handle_request(roam_session *s, const roam_msg *m);
void roam__handle_cancel(roam_session *s, const roam_msg *m);
void roam__request_orphan(roam_session *s, roam_request *r, int why);
void roam__request_free(roam_session *s, roam_request *r);
static inline const uint64_t *roam__req_chans(const roam_request *r) {
  return r->nchan <= CALL_INLINE_CHANS ? r->chan_inline : r->chan_heap;
}

/* ---- channel.c ---- */
chan *roam__chan_new(roam_session *s, conn *c, uint64_t id);
chan *roam__chan_get(const conn *c, uint64_t id);
void roam__chan_activate(roam_session *s, chan *ch);
/* Remove and free; on_end runs first when notify_err is not 1. */
void roam__chan_end(roam_session *s, chan *ch, int notify, int err);
void roam__handle_data(roam_session *s, const roam_msg *m);
void roam__handle_close(roam_session *s, const roam_msg *m);
void roam__handle_reset(roam_session *s, const roam_msg *m);
void roam__handle_credit(roam_session *s, const roam_msg *m);
/* Send Close / Reset and forget the channel (no on_end); on failure (out of
 * memory) nothing changes and the error is returned. */
int roam__chan_send_close(roam_session *s, chan *ch);
int roam__chan_send_reset(roam_session *s, chan *ch);
void roam__chan_release(roam_session *s, chan *ch);
/* Grant back every pending consumed byte (before the output is handed out). */
void roam__flush_credit(roam_session *s);

/* ---- conn.c ---- */
void roam__handle_connect(roam_session *s, const roam_msg *m);
void roam__handle_accept(roam_session *s, const roam_msg *m);
void roam__handle_reject(roam_session *s, const roam_msg *m);
void roam__handle_goodbye(roam_session *s, const roam_msg *m);
void roam__connect_timer(roam_session *s, connect_op *op);
void roam__connects_fail_all(roam_session *s);

#endif
