/*
 * Fuzz a session with structurally valid messages: the input is a program
 * whose bytes choose, one step at a time, either a message from the peer
 * (any kind, with small connection, request and channel ids so that they
 * hit live state: our own calls, the peer's calls to our handlers, their
 * channels, virtual connections) or something the application does (a
 * call, a cancel, sending or closing or resetting a channel, answering or
 * binding a held request, a Connect, Goodbye on a connection, time passing,
 * EOF, a graceful close). Since every message decodes, the session goes deep
 * instead of stopping at decode errors.
 *
 * The first byte chooses the options, as in fuzz_session_recv.c (whose
 * harness this file includes); the same checks apply after every step.
 */
#define FUZZ_SESSION_NO_ENTRY
#include "fuzz_session_recv.c"

typedef struct prog {
  const uint8_t *p;
  size_t n;
} prog;

static uint8_t next(prog *g) {
  if (!g->n) return 0;
  g->n--;
  return *g->p++;
}

static uint64_t pick_conn(fz *f, prog *g) {
  uint8_t b = next(g);
  switch (b & 3) {
  case 0: return 0;
  case 1: return f->nconns ? f->conns[(b >> 2) % f->nconns] : 1;
  case 2: return 1 + (b >> 2) % 4;
  default: return (uint64_t)b << 20 | next(g);
  }
}

static uint64_t pick_id(prog *g) {
  uint8_t b = next(g);
  if (b < 240) return 1 + b % 12;
  return (uint64_t)next(g) << 24 | (uint64_t)b << 8 | next(g); /* (0 included) */
}

static size_t fill(prog *g, uint8_t *buf, size_t cap) {
  uint8_t b = next(g);
  size_t n;
  if (b == 255)
    n = 4097; /* over the negotiated limit */
  else if (b >= 250)
    n = 4000 + (size_t)(b - 250) * 20;
  else
    n = b % 24;
  if (n > cap) n = cap;
  memset(buf, 0, n);
  for (size_t i = 0; i < n && i < 24; i++) buf[i] = next(g);
  return n;
}

static const uint8_t keys[4][12] = {"a", "roam-nonce", "trace", "k"};

static size_t fill_metadata(prog *g, roam_meta_entry *md, size_t cap) {
  uint8_t b = next(g);
  size_t n = b % 4;
  if (b == 200) n = cap; /* over the entry limit */
  if (n > cap) n = cap;
  for (size_t i = 0; i < n; i++) {
    memset(&md[i], 0, sizeof md[i]);
    uint8_t k = next(g);
    md[i].key.ptr = keys[k & 3];
    md[i].key.len = strlen((const char *)keys[k & 3]);
    md[i].kind = (roam_meta_kind)((k >> 2) % 3);
    md[i].value.ptr = keys[(k >> 4) & 3];
    md[i].value.len = md[i].kind == ROAM_META_U64 ? 0 : md[i].key.len;
    md[i].u64 = k;
  }
  return n;
}

static void peer_message(fz *f, prog *g, int kind) {
  static uint8_t payload[4200];
  static roam_meta_entry md[130];
  uint64_t chans[4];
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = (roam_msg_kind)kind;
  switch (kind) {
  case ROAM_MSG_HELLO:
    m.hello.version = next(g) & 1 ? ROAM_HELLO_V2 : ROAM_HELLO_V1;
    m.hello.max_payload_size = 1u << (next(g) % 24);
    m.hello.initial_channel_credit = next(g);
    break;
  case ROAM_MSG_CONNECT:
  case ROAM_MSG_ACCEPT:
  case ROAM_MSG_REJECT:
    m.request_id = pick_id(g);
    if (kind == ROAM_MSG_ACCEPT) m.conn_id = pick_conn(f, g);
    if (kind == ROAM_MSG_REJECT) m.reason = (roam_bytes){(const uint8_t *)"no", 2};
    m.metadata.entries = md;
    m.metadata.count = fill_metadata(g, md, 130);
    break;
  case ROAM_MSG_GOODBYE:
    m.conn_id = pick_conn(f, g);
    if (next(g) & 1) m.reason = (roam_bytes){(const uint8_t *)"bye", 3};
    break;
  case ROAM_MSG_REQUEST: {
    m.conn_id = pick_conn(f, g);
    m.request_id = pick_id(g);
    uint8_t b = next(g);
    m.method_id = b < 200 ? 1 + b % 6 : b;
    m.metadata.entries = md;
    m.metadata.count = fill_metadata(g, md, 130);
    size_t nc = next(g) % 4;
    for (size_t i = 0; i < nc; i++) chans[i] = pick_id(g);
    m.channels.items = chans;
    m.channels.count = nc;
    m.payload.ptr = payload;
    m.payload.len = fill(g, payload, sizeof payload);
    break;
  }
  case ROAM_MSG_RESPONSE: {
    m.conn_id = pick_conn(f, g);
    m.request_id = pick_id(g);
    m.metadata.entries = md;
    m.metadata.count = fill_metadata(g, md, 130);
    uint8_t b = next(g);
    size_t n = fill(g, payload + 2, sizeof payload - 2);
    switch (b & 3) {
    case 0: payload[1] = 0; m.payload.ptr = payload + 1; m.payload.len = n + 1; break;
    case 1: payload[0] = 1; payload[1] = 0; m.payload.ptr = payload; m.payload.len = n + 2; break;
    case 2: payload[0] = 1; payload[1] = (uint8_t)(b >> 2); m.payload.ptr = payload; m.payload.len = 2; break;
    default: m.payload.ptr = payload + 2; m.payload.len = n; break;
    }
    break;
  }
  case ROAM_MSG_CANCEL:
    m.conn_id = pick_conn(f, g);
    m.request_id = pick_id(g);
    break;
  case ROAM_MSG_DATA:
    m.conn_id = pick_conn(f, g);
    m.channel_id = pick_id(g);
    m.payload.ptr = payload;
    m.payload.len = fill(g, payload, sizeof payload);
    break;
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET:
    m.conn_id = pick_conn(f, g);
    m.channel_id = pick_id(g);
    break;
  case ROAM_MSG_CREDIT:
    m.conn_id = pick_conn(f, g);
    m.channel_id = pick_id(g);
    m.credit = next(g);
    if (m.credit == 255) m.credit = UINT32_MAX;
    break;
  }
  size_t sz = roam_msg_encoded_size(&m);
  CHECK(sz > 0);
  uint8_t *raw = malloc(sz);
  size_t len = 0;
  CHECK(roam_msg_encode_buf(&m, raw, sz, &len) == 0 && len == sz);
  fz_feed_frame(f, raw, len);
  free(raw);
}

/* Every action takes exactly one argument byte. */
static void app_action(fz *f, prog *g, uint8_t op) {
  uint8_t b = next(g);
  switch (op) {
  case 0:
    f->now += (uint64_t)b * 8;
    roam_session_tick(f->s, f->now);
    break;
  case 1: {
    uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int dir = (b >> 3) % 3;
    fz_call(f, (b & 0x40) && f->nconns ? f->conns[0] : 0, 1 + b % 6, payload, b % 8,
            dir == 1 ? ROAM_CHAN_SEND : dir == 2 ? ROAM_CHAN_RECV : 0, (b & 0x80) ? 50 : 0);
    break;
  }
  case 2: {
    if (!f->ncalls) break;
    fzcall *c = &f->calls[b % f->ncalls];
    int rc = roam_call_cancel(f->s, c->conn, c->rid);
    CHECK(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED);
    if (rc == ROAM_ERR_NOT_FOUND) CHECK(c->done || !roam_session_conn_exists(f->s, c->conn));
    break;
  }
  case 3: fz_tx_pump(f, 1 + b % 8); break;
  case 4:
    if (f->tx_open) {
      int rc = b & 1 ? roam_channel_close(f->s, f->tx_conn, f->tx)
                     : roam_channel_reset(f->s, f->tx_conn, f->tx);
      CHECK(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED);
      if (rc == 0) f->tx_open = 0;
    }
    break;
  case 5: {
    fzhold *h = &f->holds[b % MAXHOLD];
    if (h->in_use && h->kind != H_GEN) fz_respond(h, b >> 6);
    break;
  }
  case 6:
    for (int i = 0; i < MAXHOLD; i++)
      if (f->holds[i].in_use && f->holds[i].kind == H_LATE && !f->holds[i].bound) {
        fz_bind_sum(&f->holds[i], b & 1);
        break;
      }
    break;
  case 7: fz_decide_connects(f, b); break;
  case 8: {
    int rc = roam_session_connect(f->s, NULL, 0, b & 1 ? 100 : 0, on_connected, f);
    CHECK(rc == 0 || rc == ROAM_ERR_CLOSED);
    break;
  }
  case 9:
    if (f->nconns) {
      uint64_t cid = f->conns[b % f->nconns];
      int rc = roam_session_conn_close(f->s, cid, "done");
      CHECK(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED);
    }
    break;
  case 10:
    for (int i = 0; i < MAXHOLD; i++) {
      fzhold *h = &f->holds[i];
      if (h->in_use && h->bound == 1 && h->kind == H_LATE) {
        int rc = roam_channel_consume(f->s, h->conn, h->ch, b);
        /* (STATE: ended, and its id reused by the peer for a new channel) */
        CHECK(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_STATE);
      }
    }
    break;
  case 11: fz_drain(f); break;
  case 12:
    if (f->rx) {
      int rc = roam_channel_reset(f->s, f->rx_conn, f->rx);
      CHECK(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED);
      if (rc == 0) f->rx = 0;
    }
    break;
  case 13: roam_session_eof(f->s); break;
  case 14: roam_session_close_reason(f->s, b & 1 ? "" : "done"); break;
  default:
    for (int i = 0; i < MAXHOLD; i++)
      if (f->holds[i].in_use && f->holds[i].kind == H_GEN) gen_pump(&f->holds[i]);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fz f;
  fz_setup(&f, data[0]);
  prog g = {data + 1, size - 1};
  int steps = 0;
  while (g.n && !roam_session_is_closed(f.s) && steps++ < 4096) {
    uint8_t op = next(&g);
    if (op < 176)
      peer_message(&f, &g, 1 + op % 11); /* (Hello below: rarely) */
    else if (op < 178)
      peer_message(&f, &g, ROAM_MSG_HELLO);
    else
      app_action(&f, &g, (uint8_t)((op - 178) % 16));
    fz_check(&f);
    if (op & 1) fz_drain(&f);
  }
  fz_drain(&f);
  fz_check(&f);
  fz_teardown(&f, size & 1);
  return 0;
}
