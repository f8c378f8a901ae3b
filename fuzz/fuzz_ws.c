/*
 * Fuzz the WebSocket codec (src/ws/) with arbitrary peer input.
 *
 * Input: [mode][split] then the bytes the peer "sends".
 *   mode bit 0: server (the input starts with the upgrade request) or client
 *               (a valid 101 answer to our request is fed first, then the
 *               input as frames)
 *        bit 1: small message limit (64 bytes; else 64 KiB)
 *        bit 2: server with an Origin allow-list
 *   split: 0 = feed everything at once, else pieces of that many bytes
 * Every complete message is sent back (exercising framing and masking) and
 * the output is consumed as it grows. A violation gets the close frame.
 *
 * Checked: no crash, undefined behaviour or leak (ASan/UBSan and a counting
 * allocator), messages never above the limit, memory bounded (the codec's
 * heap stays under limit + header bound + the output of one round).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/common.h>

#ifdef ROAM_HAVE_WEBSOCKET
#include "ws/ws.h"
#include "ws/ws_internal.h"

static size_t g_live;
typedef struct hdr {
  size_t n;
  max_align_t pad;
} hdr;
static void *f_malloc(size_t n, void *ud) {
  (void)ud;
  hdr *h = malloc(sizeof *h + n);
  if (!h) return NULL;
  h->n = n;
  g_live += n;
  return h + 1;
}
static void f_free(void *p, void *ud) {
  (void)ud;
  if (!p) return;
  hdr *h = (hdr *)p - 1;
  g_live -= h->n;
  free(h);
}
static void *f_realloc(void *p, size_t n, void *ud) {
  if (!p) return f_malloc(n, ud);
  hdr *h = (hdr *)p - 1;
  size_t old = h->n;
  hdr *q = realloc(h, sizeof *q + n);
  if (!q) return NULL;
  g_live = g_live - old + n;
  q->n = n;
  return q + 1;
}
static const roam_mem g_mem = {NULL, f_malloc, f_realloc, f_free};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0];
  bool server = mode & 1;
  size_t limit = (mode & 2) ? 64 : 65536;
  size_t split = data[1];
  data += 2;
  size = size - 2;
  rws_config cfg = {.server = server, .max_message = limit, .path = "/roam",
                    .host = "h:1", .origins = (mode & 4) ? "https://a.example" : NULL,
                    .mem = &g_mem};
  rws *w;
  if (rws_new(&w, &cfg) != 0) abort();
  if (!server) {
    if (rws_client_start(w) != 0) abort();
    char acc[29];
    rws_accept_key(w->key, 24, acc);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
    size_t used = 0;
    if (rws_feed(w, (const uint8_t *)resp, (size_t)n, &used) != 0 || used != (size_t)n ||
        rws_get_state(w) != RWS_OPEN)
      abort();
  }
  size_t off = 0;
  int stuck = 0;
  while (stuck < 2) {
    size_t n = size - off;
    if (split && n > split) n = split;
    size_t used = 0;
    if (rws_feed(w, data + off, n, &used) != 0) break;
    off += used;
    roam_bytes m;
    if (rws_message(w, &m)) {
      if (m.len > limit) abort();
      rws_send(w, m.ptr, m.len);
      rws_message_done(w);
    }
    rws_state st = rws_get_state(w);
    if (st == RWS_CLOSED && !rws_close_sent(w)) rws_close(w, rws_violation_code(w) ? rws_violation_code(w) : 1000);
    const uint8_t *p;
    size_t out = rws_output(w, &p);
    /* one message, the header while it lasts, the output buffer (doubling) */
    if (g_live > 3 * limit + RWS_MAX_HEADER + 16384) abort();
    rws_consume(w, out);
    if (st == RWS_FAILED || st == RWS_CLOSED) break;
    if (used == 0 && !rws_message(w, &m)) stuck++;
    else stuck = 0;
    if (off >= size && !rws_message(w, &m) && used == 0) break;
  }
  rws_free(w);
  if (g_live != 0) abort();
  return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data, (void)size;
  return 0;
}
#endif
