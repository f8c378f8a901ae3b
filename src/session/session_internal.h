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

#include <stddef.h>
#include <string.h>

#include "common/mem.h"
#include "session/timer_heap.h"
#include "session/u64map.h"

/* Timer kinds. */
enum { TK_HANDSHAKE = 1, TK_CALL_DEADLINE, TK_CANCEL_GRACE, TK_CONNECT, TK_CREDIT_WARN,
       TK_CREDIT_FLUSH, TK_TRIM };

/* Reason sent for oversize payloads: the spec's id and the reference's. */
#define RULE_PAYLOAD_LIMIT "message.hello.enforcement flow.call.payload-limit"
#define RULE_DATA_LIMIT "channeling.data.size-limit flow.call.payload-limit"

typedef struct conn conn;
typedef struct call call;
typedef struct chan chan;

/* Inline room for channel ids of a call; more go to the heap. */
#define CALL_INLINE_CHANS 2
typedef union chan_ids {
  uint64_t inl[CALL_INLINE_CHANS]; /* nchan <= CALL_INLINE_CHANS */
  uint64_t *heap;                  /* otherwise */
} chan_ids;

/* Outgoing call (96 bytes on LP64: it is the per-call cost). */
struct call {
  uint64_t request_id;
  conn *c;
  roam_call_cb cb;
  void *ud;
  roam__tmr timer; /* deadline or cancel grace */
  call *next;      /* deferred queue / free list */
  uint8_t *deferred; /* [u32 length][encoded Request] while queued */
  roam_diag_req *diag;
  chan_ids chans;
  uint8_t state; /* CALL_* */
  uint8_t cancelled;
  uint16_t nchan;
};
/* Length of a queued Request. */
static inline size_t roam__deferred_len(const uint8_t *d) {
  uint32_t n;
  memcpy(&n, d, 4);
  return n;
}
enum { CALL_DEFERRED = 1, CALL_INFLIGHT = 2 };

/* Channel state. */
enum {
  CH_PENDING = 1, /* allocated for a call whose Request is not sent yet */
  CH_OPEN,        /* live */
  CH_UNBOUND,     /* listed in an incoming Request, handler has not bound it */
  CH_DISCARD      /* unbound after the request was answered: drain */
};

/* Buffered value of an unbound channel. */
/* A Credit frame still wholly in the output buffer. */
typedef struct credit_unsent {
  chan *ch;
  uint64_t pos; /* stream position of its first byte (see out_base) */
  uint32_t len, amount;
} credit_unsent;

typedef struct chan_buf {
  struct chan_buf *next;
  size_t len;
  size_t count; /* empty values (len 0) come in runs: they cost no credit,
                   so they must not cost memory either */
  /* bytes follow */
} chan_buf;

/* A channel (96 bytes on LP64). */
struct chan {
  uint64_t id;
  uint64_t request_id; /* the call that opened it (diagnostics) */
  union {
    conn *c;         /* while it exists */
    chan *next_free; /* in the pool */
  };
  const roam_channel_callbacks *cbs;
  void *ud;
  uint64_t send_credit;   /* SEND: bytes we may still send */
  uint32_t recv_remaining; /* RECV: bytes the peer may still send */
  uint32_t recv_unacked;   /* RECV: consumed, not yet granted back */
  uint8_t dir;             /* ROAM_CHAN_SEND / RECV, 0 while unbound */
  uint8_t state;
  uint8_t manual_credit : 1;
  uint8_t blocked : 1;     /* a send returned WOULD_BLOCK */
  uint8_t peer_closed : 1; /* unbound channel got Close while buffering; or
                              pending channel closed by the application */
  uint8_t peer_reset : 1;  /* unbound channel got Reset */
  uint8_t incoming : 1;    /* listed in a Request we received */
  uint8_t cr_pending : 1;  /* on the session's list of pending grants */
  uint8_t window_open : 1; /* RECV: the window past the initial credit
                              (channel_window) was granted */
  uint8_t cr_unsent : 1;   /* RECV: a Credit of ours is wholly in the output */
  union {
    struct { /* CH_UNBOUND: values that arrived before binding */
      chan_buf *head, *tail;
      size_t buffered;
    } buf;
    struct { /* cr_pending */
      chan *prev, *next;
    } cr;
  };
  roam_diag_chan *diag;
};

/* Incoming request handle (112 bytes on LP64). Its payload and metadata
 * are the session's (cur_*) while its handler runs. */
struct roam_request {
  uint64_t request_id; /* (first: the key in conn.requests) */
  roam_session *s;
  conn *c;          /* NULL once answered or orphaned */
  uint64_t conn_id;
  uint64_t method_id;
  chan_ids chans;
  void *user_data;
  void (*cancel_fn)(roam_request *r, int why, void *ud);
  void *cancel_ud;
  roam_diag_req *diag;
  roam_request *prev, *next; /* all handles held by the application */
  uint16_t nchan;
  uint8_t done;      /* answered on the wire (or no answer is due) */
  uint8_t cancelled; /* cancel or close seen */
  uint8_t released;  /* the application answered (gave the handle back) */
  uint8_t pinned;    /* callbacks holding it on the stack */
  int8_t why;        /* ROAM_ERR_CANCELLED or ROAM_ERR_CLOSED once cancelled */
};

/* Ring of channel ids recently closed by the peer, so that Data after
 * Close can be told from late Data after a Reset without keeping every id. */
#define RECENT_CLOSED 32

struct conn {
  uint64_t id;
  roam_idmap calls;    /* outgoing request id -> call */
  roam_idmap requests; /* incoming request id -> roam_request */
  roam_idmap chans;    /* channel id -> chan */
  uint64_t next_request_id;
  uint64_t next_chan_id;
  uint64_t max_chan_id; /* highest id ever used on this connection */
  const roam_dispatcher *disp;
  call *defer_head, *defer_tail;
  uint32_t deferred;
  uint32_t out_inflight;
  /* ring of RECENT_CLOSED ids, allocated when the peer first closes a
   * channel here (an idle link does not pay for it) */
  uint64_t *recent_closed;
  uint32_t recent_pos;
  uint8_t closing; /* Goodbye seen or sent; teardown pending */
  int close_err;
  conn *next_closing;
  char *close_reason;
  size_t close_reason_len;
};

/* The id maps read each object's id from its first field. */
_Static_assert(offsetof(struct conn, id) == 0, "conn id first");
_Static_assert(offsetof(struct call, request_id) == 0, "call id first");
_Static_assert(offsetof(struct chan, id) == 0, "chan id first");
_Static_assert(offsetof(struct roam_request, request_id) == 0, "request id first");
#if UINTPTR_MAX == UINT64_MAX
/* What an in-flight call or an open channel costs (with the 8-byte map
 * slot): keep it at or under 128 bytes. */
_Static_assert(sizeof(struct call) <= 96, "call size");
_Static_assert(sizeof(struct chan) <= 96, "chan size");
_Static_assert(sizeof(struct roam_request) <= 112, "request size");
#endif

/* Pending outgoing Connect. */
typedef struct connect_op {
  uint64_t request_id;
  roam_connect_cb cb;
  void *ud;
  roam__tmr timer;
} connect_op;
_Static_assert(offsetof(connect_op, request_id) == 0, "connect id first");

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

/* The counters behind roam_session_stats: the figures computed on demand
 * are not stored, and the rarely used ignore counters are allocated at the
 * first ignored message (an idle link is the per-link memory floor). */
typedef struct roam__counters {
  uint64_t msgs_in[ROAM_MSG_KIND_COUNT];
  uint64_t msgs_out[ROAM_MSG_KIND_COUNT];
  uint64_t bytes_in, bytes_out;
  uint64_t calls_started, calls_completed;
  uint64_t calls_ok, calls_remote_error, calls_timed_out, calls_cancelled, calls_closed;
  uint64_t requests_received, requests_answered;
  uint64_t credit_granted, credit_received;
  uint64_t protocol_errors;
  uint64_t *ignored; /* [ROAM_IGNORE_COUNT], or NULL: none yet */
  uint32_t connections;
} roam__counters;

/* The session's allocation hooks (src/gen allocates through them). */
const roam_mem *roam__session_mem(const roam_session *s);

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
  int listening;
  uint64_t now;
  roam__tmr handshake_timer;
  roam__tmr credit_warn_timer;
  roam__tmr credit_timer; /* pending grants go out when it fires */
  int peer_granted;     /* the peer has sent at least one Credit */
  int credit_warned;

  /* output: frames are appended to out. When out has no room left while
   * part of it still waits to be sent, it is set aside whole as the older
   * segment (old) and new frames go to a fresh buffer (the spare one when
   * there is one): pending bytes are never copied to make room. old's bytes
   * all precede out's; old drained becomes the spare. */
  uint8_t *out;
  size_t out_head, out_len, out_cap;
  uint8_t *old;
  size_t old_head, old_len, old_cap;
  uint64_t out_base; /* stream position of the first pending byte: bytes handed out so far */
  roam__tmr trim_timer; /* drained buffers are given back when it fires */
  /* Credits of ours wholly in the output, in output order (channel.c): one
   * can still be taken back when the peer closes its channel first. */
  credit_unsent *cr_unsent;
  uint32_t cr_unsent_n, cr_unsent_cap;
  /* input */
  roam_deframer deframer;
  roam_enc scratch; /* message headers */

  roam_idmap conns; /* conn id -> conn (including 0) */
  conn *root;
  conn *closing_conns;
  uint64_t next_conn_id;
  roam_idmap connects_out; /* link request id -> connect_op */
  roam_u64map connects_in;  /* pending incoming connect ids (value = 1) */
  uint64_t next_connect_id;

  /* Connections we closed (Goodbye sent) recently: the peer may not have seen
   * the Goodbye yet, so its Request/Data/Close on them are ignored, not a
   * violation. */
  uint64_t *local_closed; /* ring of RECENT_CLOSED, allocated at first use */
  uint32_t local_closed_pos;

  /* RECV channels whose consumed bytes are not granted back yet: granted
   * when the output is next collected (see chan_consume in channel.c). */
  chan *credit_pending;

  /* the request whose handler runs, and its views */
  roam_request *cur_req;
  roam_bytes cur_payload;
  const roam_metadata *cur_md;

  roam__theap timers;
  roam_request *held; /* request handles the application holds */
  call *call_free;
  chan *chan_free;
  roam_request *req_free;
  roam_diag_state *diag;
  char *close_reason;
  size_t close_reason_len;
  roam__counters stats;
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
/* Headers of the common messages without metadata, written straight from
 * their fields (the bytes roam_msg_encode_header would write; no roam_msg is
 * built). HDR_MAX bytes of room; roam__hdr_request takes up to
 * HDR_FAST_CHANS channel ids. */
#define HDR_FAST_CHANS 8
#define HDR_MAX (4 + 10 * (5 + HDR_FAST_CHANS))
static inline uint8_t *roam__vput(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}
static inline size_t roam__hdr_request(uint8_t *o, uint64_t conn_id, uint64_t rid, uint64_t method,
                                       const uint64_t *ch, size_t nch, size_t plen) {
  uint8_t *p = o;
  *p++ = ROAM_MSG_REQUEST;
  p = roam__vput(p, conn_id);
  p = roam__vput(p, rid);
  p = roam__vput(p, method);
  *p++ = 0; /* metadata */
  p = roam__vput(p, nch);
  for (size_t i = 0; i < nch; i++) p = roam__vput(p, ch[i]);
  p = roam__vput(p, plen);
  return (size_t)(p - o);
}
/* Response: the payload length is plen (pre bytes included). */
static inline size_t roam__hdr_response(uint8_t *o, uint64_t conn_id, uint64_t rid, size_t plen) {
  uint8_t *p = o;
  *p++ = ROAM_MSG_RESPONSE;
  p = roam__vput(p, conn_id);
  p = roam__vput(p, rid);
  *p++ = 0; /* metadata */
  *p++ = 0; /* channels */
  p = roam__vput(p, plen);
  return (size_t)(p - o);
}
/* Cancel (id: request id), Data (extra: payload length), Close, Reset,
 * Credit (extra: bytes). */
static inline size_t roam__hdr_small(uint8_t *o, int kind, uint64_t conn_id, uint64_t id,
                                     uint64_t extra) {
  uint8_t *p = o;
  *p++ = (uint8_t)kind;
  p = roam__vput(p, conn_id);
  p = roam__vput(p, id);
  if (kind == ROAM_MSG_DATA || kind == ROAM_MSG_CREDIT) p = roam__vput(p, extra);
  return (size_t)(p - o);
}
/* Queue a message made of a header from above and its payload. */
int roam__emit_fast(roam_session *s, int kind, const uint8_t *hdr, size_t hlen,
                    const void *payload, size_t plen);

/* Make sure that messages of n bytes in all (before framing) can be queued
 * without allocating: several emits that must go out together. */
int roam__out_ensure(roam_session *s, size_t n);
/* Queue an already-encoded message. */
int roam__emit_raw(roam_session *s, const uint8_t *msg, size_t len);
/* Queue a Goodbye with this reason on connection conn_id (0 = the link). */
int roam__send_goodbye(roam_session *s, uint64_t conn_id, const char *reason);
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
/* Stream position just past the last byte in the output. */
uint64_t roam__out_end(const roam_session *s);
/* Remove len bytes at stream position pos from the output; fails (-1) when
 * any of them was handed out already. */
int roam__out_cut(roam_session *s, uint64_t pos, size_t len);
#define ENTER(s) ((s)->depth++)
#define LEAVE(s) ((s)->depth--)

/* ---- call.c ---- */
void roam__handle_response(roam_session *s, const roam_msg *m);
void roam__call_complete(roam_session *s, call *k, int status, const roam_msg *resp);
void roam__call_timer(roam_session *s, call *k);
void roam__flush_deferred(roam_session *s, conn *c);
void roam__call_free(roam_session *s, call *k);
static inline const uint64_t *roam__call_chans(const call *k) {
  return k->nchan <= CALL_INLINE_CHANS ? k->chans.inl : k->chans.heap;
}

/* ---- request.c ---- */
void roam__handle_request(roam_session *s, const roam_msg *m);
void roam__handle_cancel(roam_session *s, const roam_msg *m);
void roam__request_orphan(roam_session *s, roam_request *r, int why);
void roam__request_free(roam_session *s, roam_request *r);
static inline const uint64_t *roam__req_chans(const roam_request *r) {
  return r->nchan <= CALL_INLINE_CHANS ? r->chans.inl : r->chans.heap;
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
/* The output advanced: Credits that started leaving cannot be taken back. */
void roam__credit_sent(roam_session *s);
/* The current time: the embedder's clock when configured, else the last tick. */
uint64_t roam__now(roam_session *s);

/* ---- conn.c ---- */
void roam__handle_connect(roam_session *s, const roam_msg *m);
void roam__handle_accept(roam_session *s, const roam_msg *m);
void roam__handle_reject(roam_session *s, const roam_msg *m);
void roam__handle_goodbye(roam_session *s, const roam_msg *m);
void roam__connect_timer(roam_session *s, connect_op *op);
void roam__connects_fail_all(roam_session *s);

#endif
