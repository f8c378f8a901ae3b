/* The WebSocket codec: handshake bytes, then frames through wslay's frame
 * layer (see ws.h for the rules it enforces). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ws/ws_internal.h"

/* ---- output ----------------------------------------------------------------- */

/* Room for n more bytes at the end of the output. */
static int out_reserve(rws *w, size_t n) {
  if (w->out_head == w->out_len) w->out_head = w->out_len = 0;
  if (w->out_len + n <= w->out_cap) return 0;
  if (w->out_head) { /* slide what is left to the front first */
    memmove(w->out, w->out + w->out_head, w->out_len - w->out_head);
    w->out_len -= w->out_head;
    w->out_head = 0;
    if (w->out_len + n <= w->out_cap) return 0;
  }
  size_t cap = w->out_cap ? w->out_cap : 4096;
  while (cap < w->out_len + n) cap *= 2;
  uint8_t *q = roam__realloc(&w->mem, w->out, cap);
  if (!q) return ROAM_ERR_NOMEM;
  w->out = q;
  w->out_cap = cap;
  return 0;
}

int rws__out_append(rws *w, const void *p, size_t n) {
  if (out_reserve(w, n) != 0) return ROAM_ERR_NOMEM;
  if (n) memcpy(w->out + w->out_len, p, n);
  w->out_len += n;
  return 0;
}

size_t rws_output(const rws *w, const uint8_t **data) {
  *data = w->out ? w->out + w->out_head : NULL;
  return w->out_len - w->out_head;
}

void rws_consume(rws *w, size_t n) {
  if (n > w->out_len - w->out_head) n = w->out_len - w->out_head;
  w->out_head += n;
  if (w->out_head == w->out_len) {
    w->out_head = w->out_len = 0;
    if (w->out_cap > 65536) { /* idle links stay small */
      roam__free(&w->mem, w->out);
      w->out = NULL;
      w->out_cap = 0;
    }
  }
}

/* ---- wslay callbacks --------------------------------------------------------- */

/* Outgoing frames are written by send_frame below, not by wslay (see there). */
static ssize_t wl_send(const uint8_t *data, size_t len, int flags, void *ud) {
  (void)data, (void)len, (void)flags, (void)ud;
  return -1;
}

/* wslay pulls input from the bytes being fed. */
static ssize_t wl_recv(uint8_t *buf, size_t len, int flags, void *ud) {
  (void)flags;
  rws *w = ud;
  size_t n = w->in_len - w->in_off;
  if (n > len) n = len;
  if (n == 0) return 0; /* "want read" */
  memcpy(buf, w->in + w->in_off, n);
  w->in_off += n;
  return (ssize_t)n;
}

/* Client masking keys: unpredictable (RFC 6455 §5.3), drawn from getrandom
 * 256 bytes (64 keys) at a time: one system call per 64 frames. */
static int wl_genmask(uint8_t *buf, size_t len, void *ud) {
  rws *w = ud;
  if (w->maskpool_left < len) {
    if (getrandom(w->maskpool, sizeof w->maskpool, 0) != (ssize_t)sizeof w->maskpool) return -1;
    w->maskpool_left = sizeof w->maskpool;
  }
  memcpy(buf, w->maskpool + sizeof w->maskpool - w->maskpool_left, len);
  w->maskpool_left -= len;
  return 0;
}

static const struct wslay_frame_callbacks g_wl_cbs = {wl_send, wl_recv, wl_genmask};

/* ---- lifecycle --------------------------------------------------------------- */

static char *dup_str(const roam_mem *m, const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *p = roam__malloc(m, n);
  if (p) memcpy(p, s, n);
  return p;
}

int rws_new(rws **out, const rws_config *cfg) {
  if (!out || !cfg) return ROAM_ERR_INVALID_ARG;
  roam_mem m;
  roam__mem_set(&m, cfg->mem);
  rws *w = roam__calloc(&m, sizeof *w);
  if (!w) return ROAM_ERR_NOMEM;
  w->mem = m;
  w->server = cfg->server;
  w->max_message = cfg->max_message ? cfg->max_message : (1u << 20);
  w->path = dup_str(&m, cfg->path && *cfg->path ? cfg->path : "/");
  w->host = dup_str(&m, cfg->host);
  w->origins = cfg->origins && *cfg->origins ? dup_str(&m, cfg->origins) : NULL;
  if (!w->path || !w->host || (cfg->origins && *cfg->origins && !w->origins) ||
      wslay_frame_context_init(&w->fr, &g_wl_cbs, w) != 0) {
    w->fr = NULL;
    rws_free(w);
    return ROAM_ERR_NOMEM;
  }
  *out = w;
  return 0;
}

void rws_free(rws *w) {
  if (!w) return;
  if (w->fr) wslay_frame_context_free(w->fr);
  roam__free(&w->mem, w->path);
  roam__free(&w->mem, w->host);
  roam__free(&w->mem, w->origins);
  roam__free(&w->mem, w->hbuf);
  roam__free(&w->mem, w->msg);
  roam__free(&w->mem, w->out);
  roam__free(&w->mem, w);
}

int rws_client_start(rws *w) {
  if (w->server || w->state != RWS_HANDSHAKE) return ROAM_ERR_STATE;
  return rws__http_client_request(w);
}

rws_state rws_get_state(const rws *w) { return w->state; }

bool rws_take_opened(rws *w) {
  bool o = w->opened;
  w->opened = false;
  return o;
}

bool rws_message(const rws *w, roam_bytes *msg) {
  if (!w->msg_ready) return false;
  msg->ptr = w->msg;
  msg->len = w->msg_len;
  return true;
}

void rws_message_done(rws *w) {
  w->msg_ready = false;
  w->msg_len = 0;
  if (w->msg_cap > 65536) { /* a large message came and went */
    roam__free(&w->mem, w->msg);
    w->msg = NULL;
    w->msg_cap = 0;
  }
}

size_t rws_input_buffered(const rws *w) {
  size_t n = w->hbuf ? RWS_MAX_HEADER : 0;
  if (w->msg_len || w->msg_ready || w->in_message || w->in_frame) n += w->msg_cap;
  return n;
}

void rws_drop_input(rws *w) {
  w->msg_len = 0;
  w->msg_ready = w->in_message = w->in_frame = false;
  roam__free(&w->mem, w->hbuf);
  w->hbuf = NULL;
  w->hlen = 0;
}

void rws_trim(rws *w) {
  if (!w->msg_len && !w->msg_ready && !w->in_message && !w->in_frame) {
    roam__free(&w->mem, w->msg);
    w->msg = NULL;
    w->msg_cap = 0;
  }
  if (w->out_head == w->out_len) {
    roam__free(&w->mem, w->out);
    w->out = NULL;
    w->out_cap = w->out_head = w->out_len = 0;
  }
}

uint16_t rws_violation_code(const rws *w) { return w->vcode; }
const char *rws_violation(const rws *w) { return w->vrule; }
bool rws_peer_closed(const rws *w, uint16_t *code) {
  if (code) *code = w->peer_code;
  return w->peer_closed;
}
const char *rws_error_text(const rws *w) { return w->error ? w->error : ""; }
bool rws_close_sent(const rws *w) { return w->close_sent; }

/* ---- handshake input ------------------------------------------------------------ */

/* Collect the header up to CRLF CRLF, at most RWS_MAX_HEADER bytes; the
 * bytes after it are frames (a server may send its first frame right
 * behind the 101). */
static int feed_header(rws *w, const uint8_t *data, size_t len, size_t *used) {
  *used = 0;
  if (!w->hbuf) {
    w->hbuf = roam__malloc(&w->mem, RWS_MAX_HEADER);
    if (!w->hbuf) return ROAM_ERR_NOMEM;
  }
  size_t old = w->hlen;
  size_t take = len < RWS_MAX_HEADER - w->hlen ? len : RWS_MAX_HEADER - w->hlen;
  memcpy(w->hbuf + w->hlen, data, take);
  w->hlen += take;
  /* search from 3 bytes before the new data (the terminator may straddle) */
  size_t from = old >= 3 ? old - 3 : 0;
  for (size_t i = from; i + 4 <= w->hlen; i++) {
    if (memcmp(w->hbuf + i, "\r\n\r\n", 4) == 0) {
      size_t end = i + 4;
      *used = end - old;
      w->hlen = end;
      int r = w->server ? rws__http_server(w) : rws__http_client(w);
      roam__free(&w->mem, w->hbuf);
      w->hbuf = NULL;
      w->hlen = 0;
      return r;
    }
  }
  *used = take;
  if (w->hlen >= RWS_MAX_HEADER) {
    int r = 0;
    if (w->server)
      r = rws__http_too_large(w);
    else {
      w->state = RWS_FAILED;
      w->error = "HTTP response header over 8 KiB";
    }
    roam__free(&w->mem, w->hbuf);
    w->hbuf = NULL;
    w->hlen = 0;
    return r;
  }
  return 0;
}

/* ---- frames --------------------------------------------------------------------- */

static void violation(rws *w, uint16_t code, const char *rule) {
  w->state = RWS_CLOSED;
  w->vcode = code;
  w->vrule = rule;
}

static bool is_control(uint8_t op) { return op >= 8; }

/* Room for n more bytes of the message. Storage grows as the bytes arrive,
 * not from the length a frame header announces: a peer that announces a
 * large frame and sends it slowly holds only what it sent (the server's
 * memory budget counts it, docs/runtime.md "Memory"). */
static bool msg_room(rws *w, size_t n) {
  size_t need = w->msg_len + n;
  if (need <= w->msg_cap) return true;
  size_t cap = w->msg_cap ? w->msg_cap : 256;
  while (cap < need) cap *= 2;
  if (cap > w->max_message) cap = need > w->max_message ? need : w->max_message;
  uint8_t *p = roam__realloc(&w->mem, w->msg, cap);
  if (!p) return false;
  w->msg = p;
  w->msg_cap = cap;
  return true;
}

/* The first chunk of a frame carries its header: check it. */
static bool frame_start(rws *w, const struct wslay_frame_iocb *f) {
  if (f->rsv) {
    violation(w, RWS_CLOSE_PROTOCOL, "transport.websocket.reserved-bits");
    return false;
  }
  if ((w->server && !f->mask) || (!w->server && f->mask)) {
    violation(w, RWS_CLOSE_PROTOCOL,
              w->server ? "transport.websocket.unmasked-client-frame"
                        : "transport.websocket.masked-server-frame");
    return false;
  }
  uint8_t op = f->opcode;
  w->f_opcode = op;
  w->f_fin = f->fin;
  w->f_left = f->payload_length;
  w->in_frame = true;
  if (is_control(op)) {
    if (op != WSLAY_CONNECTION_CLOSE && op != WSLAY_PING && op != WSLAY_PONG) {
      violation(w, RWS_CLOSE_PROTOCOL, "transport.websocket.reserved-opcode");
      return false;
    }
    w->ctrl_len = 0; /* wslay bounds control payloads to 125 bytes */
    return true;
  }
  if (op == WSLAY_TEXT_FRAME) {
    violation(w, RWS_CLOSE_UNSUPPORTED, "transport.message.binary");
    return false;
  }
  if (op == WSLAY_BINARY_FRAME) {
    if (w->in_message) {
      violation(w, RWS_CLOSE_PROTOCOL, "transport.websocket.unfinished-fragment");
      return false;
    }
    w->in_message = true;
    w->msg_len = 0;
  } else if (op == WSLAY_CONTINUATION_FRAME) {
    if (!w->in_message) {
      violation(w, RWS_CLOSE_PROTOCOL, "transport.websocket.stray-continuation");
      return false;
    }
  } else {
    violation(w, RWS_CLOSE_PROTOCOL, "transport.websocket.reserved-opcode");
    return false;
  }
  /* the limit is checked from the header: nothing of a too large message is kept */
  if (f->payload_length > w->max_message - w->msg_len) {
    /* the session's own rule id for an oversize frame */
    violation(w, RWS_CLOSE_TOO_BIG, "message.hello.enforcement flow.call.payload-limit");
    return false;
  }
  /* up to 64 KiB of the announced payload at once; more as it arrives */
  return msg_room(w, f->payload_length < 65536 ? (size_t)f->payload_length : 65536);
}


/* Append one whole frame. Written here rather than with wslay_frame_send,
 * which hands the header and the payload to its callback separately and
 * masks a byte at a time through a stack buffer: on small messages that
 * was a tenth of a pipelined client's time. Header: RFC 6455 §5.2. */
static int send_frame(rws *w, uint8_t opcode, const uint8_t *p, size_t n) {
  if (out_reserve(w, 14 + n) != 0) return ROAM_ERR_NOMEM;
  uint8_t *h = w->out + w->out_len, *q = h;
  uint8_t mbit = w->server ? 0 : 0x80; /* clients mask, servers do not */
  *q++ = (uint8_t)(0x80 | opcode);     /* FIN, no RSV bits */
  if (n < 126) {
    *q++ = (uint8_t)(mbit | n);
  } else if (n < 65536) {
    *q++ = (uint8_t)(mbit | 126);
    *q++ = (uint8_t)(n >> 8);
    *q++ = (uint8_t)n;
  } else {
    *q++ = (uint8_t)(mbit | 127);
    for (int i = 7; i >= 0; i--) *q++ = (uint8_t)((uint64_t)n >> (8 * i));
  }
  if (w->server) {
    if (n) memcpy(q, p, n);
  } else {
    uint8_t key[4];
    if (wl_genmask(key, 4, w) != 0) return ROAM_ERR_IO;
    memcpy(q, key, 4);
    q += 4;
    uint32_t k32;
    memcpy(&k32, key, 4); /* the key repeats every 4 bytes from the payload start */
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      uint32_t v;
      memcpy(&v, p + i, 4);
      v ^= k32;
      memcpy(q + i, &v, 4);
    }
    for (; i < n; i++) q[i] = p[i] ^ key[i & 3];
  }
  w->out_len += (size_t)(q - h) + n;
  return 0;
}

static int control_done(rws *w) {
  switch (w->f_opcode) {
  case WSLAY_PING: /* answered at once, between whole frames */
    return w->close_sent ? 0 : send_frame(w, WSLAY_PONG, w->ctrl, w->ctrl_len);
  case WSLAY_CONNECTION_CLOSE: {
    w->peer_closed = true;
    w->peer_code = w->ctrl_len >= 2 ? (uint16_t)(w->ctrl[0] << 8 | w->ctrl[1]) : 1005;
    w->state = RWS_CLOSED;
    return 0;
  }
  default: /* pong: ignored */
    return 0;
  }
}

static int feed_frames(rws *w, const uint8_t *data, size_t len, size_t *used) {
  w->in = data;
  w->in_len = len;
  w->in_off = 0;
  int rc = 0;
  while (w->state == RWS_OPEN && !w->msg_ready) {
    struct wslay_frame_iocb f;
    memset(&f, 0, sizeof f);
    ssize_t r = wslay_frame_recv(w->fr, &f);
    if (r == WSLAY_ERR_WANT_READ) break;
    if (r < 0) { /* bad length encoding, long or fragmented control frame */
      violation(w, RWS_CLOSE_PROTOCOL, "transport.websocket.malformed-frame");
      break;
    }
    if (!w->in_frame && !frame_start(w, &f)) {
      if (w->state == RWS_OPEN) rc = ROAM_ERR_NOMEM;
      break;
    }
    if (f.data_length) {
      if (is_control(w->f_opcode)) {
        memcpy(w->ctrl + w->ctrl_len, f.data, f.data_length);
        w->ctrl_len += f.data_length;
      } else {
        if (!msg_room(w, f.data_length)) {
          rc = ROAM_ERR_NOMEM;
          break;
        }
        memcpy(w->msg + w->msg_len, f.data, f.data_length);
        w->msg_len += f.data_length;
      }
      w->f_left -= f.data_length;
    }
    if (w->f_left) continue;
    w->in_frame = false; /* the frame is complete */
    if (is_control(w->f_opcode)) {
      if ((rc = control_done(w)) != 0) break;
    } else if (w->f_fin) {
      w->in_message = false;
      w->msg_ready = true;
    }
  }
  *used = w->in_off;
  w->in = NULL;
  w->in_len = w->in_off = 0;
  return rc;
}

int rws_feed(rws *w, const uint8_t *data, size_t len, size_t *consumed) {
  size_t off = 0, used = 0;
  int rc = 0;
  if (w->state == RWS_HANDSHAKE && len) {
    rc = feed_header(w, data, len, &used);
    off += used;
  }
  /* (also with no new input: wslay may hold frames that came behind a message) */
  if (rc == 0 && w->state == RWS_OPEN && !w->msg_ready) {
    rc = feed_frames(w, data ? data + off : NULL, len - off, &used);
    off += used;
  }
  if (consumed) *consumed = off;
  return rc;
}

/* ---- sending ----------------------------------------------------------------------- */

int rws_send(rws *w, const uint8_t *msg, size_t len) {
  /* after the peer's violation there is still the Goodbye to send */
  if (w->close_sent || w->peer_closed || (w->state != RWS_OPEN && w->state != RWS_CLOSED))
    return ROAM_ERR_STATE;
  return send_frame(w, WSLAY_BINARY_FRAME, msg, len);
}

int rws_close(rws *w, uint16_t code) {
  if (w->close_sent || (w->state != RWS_OPEN && w->state != RWS_CLOSED)) return ROAM_ERR_STATE;
  uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
  int r = send_frame(w, WSLAY_CONNECTION_CLOSE, b, code ? 2 : 0);
  w->close_sent = true;
  if (w->state == RWS_OPEN) w->state = RWS_CLOSED;
  return r;
}
