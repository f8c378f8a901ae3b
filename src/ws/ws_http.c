/* The HTTP/1.1 Upgrade handshake of RFC 6455 (§4), both sides. */
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "ws/ws_internal.h"

static const char k_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void rws_accept_key(const char *key, size_t key_len, char out[29]) {
  struct sha1_ctx c;
  uint8_t d[SHA1_DIGEST_SIZE];
  sha1_init(&c);
  sha1_update(&c, key_len, (const uint8_t *)key);
  sha1_update(&c, sizeof k_guid - 1, (const uint8_t *)k_guid);
  sha1_digest(&c, sizeof d, d);
  base64_encode_raw(out, sizeof d, d); /* 28 characters */
  out[28] = 0;
}

/* ---- a parsed header ------------------------------------------------------ */

typedef struct span {
  const char *p;
  size_t n;
} span;

typedef struct http_head {
  span first; /* request or status line */
  span host, upgrade, connection, key, version, origin, accept, extensions, protocol;
  int keys; /* Sec-WebSocket-Key lines */
} http_head;

static span trim(const char *p, size_t n) {
  while (n && (*p == ' ' || *p == '\t')) p++, n--;
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  return (span){p, n};
}

static bool span_is(span s, const char *lit) {
  size_t n = strlen(lit);
  return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Does a comma-separated header value hold this token (case-insensitive)? */
static bool has_token(span v, const char *tok) {
  if (!v.p) return false; /* no such header */
  size_t i = 0;
  while (i <= v.n) {
    size_t j = i;
    while (j < v.n && v.p[j] != ',') j++;
    if (span_is(trim(v.p + i, j - i), tok)) return true;
    i = j + 1;
  }
  return false;
}

/* Split the header into lines; false if malformed (a line without ':',
 * bare CR or LF, control characters). */
static bool parse_head(const uint8_t *buf, size_t len, http_head *h) {
  memset(h, 0, sizeof *h);
  const char *p = (const char *)buf, *end = p + len;
  bool first = true;
  while (p < end) {
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    if (!eol || eol + 1 >= end || eol[1] != '\n') return false;
    size_t n = (size_t)(eol - p);
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)p[i] < 0x20 && p[i] != '\t') return false;
    if (first) {
      h->first = (span){p, n};
      first = false;
    } else if (n == 0) {
      return eol + 2 == end; /* the blank line ends the header */
    } else {
      const char *colon = memchr(p, ':', n);
      if (!colon || colon == p) return false;
      span name = {p, (size_t)(colon - p)};
      span val = trim(colon + 1, n - (size_t)(colon - p) - 1);
      if (span_is(name, "Host")) h->host = val;
      else if (span_is(name, "Upgrade")) h->upgrade = val;
      else if (span_is(name, "Connection")) h->connection = val;
      else if (span_is(name, "Sec-WebSocket-Key")) h->key = val, h->keys++;
      else if (span_is(name, "Sec-WebSocket-Version")) h->version = val;
      else if (span_is(name, "Origin")) h->origin = val;
      else if (span_is(name, "Sec-WebSocket-Accept")) h->accept = val;
      else if (span_is(name, "Sec-WebSocket-Extensions")) h->extensions = val;
      else if (span_is(name, "Sec-WebSocket-Protocol")) h->protocol = val;
    }
    p = eol + 2;
  }
  return false;
}

/* ---- server ----------------------------------------------------------------- */

static int http_error(rws *w, int status, const char *title, const char *extra,
                      const char *why) {
  char buf[512];
  int body = (int)strlen(why) + 1;
  int n = snprintf(buf, sizeof buf,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n%s\r\n%s\n",
                   status, title, body, extra, why);
  if (n < 0 || (size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
  w->state = RWS_FAILED;
  w->error = why;
  return rws__out_append(w, buf, (size_t)n);
}

int rws__http_too_large(rws *w) {
  return http_error(w, 431, "Request Header Fields Too Large", "",
                    "request header over 8 KiB");
}

static bool key_ok(span k) {
  if (k.n != 24) return false; /* base64 of 16 bytes */
  struct base64_decode_ctx c;
  uint8_t raw[BASE64_DECODE_LENGTH(24)];
  size_t n = sizeof raw;
  base64_decode_init(&c);
  return base64_decode_update(&c, &n, raw, k.n, k.p) && base64_decode_final(&c) && n == 16;
}

static bool origin_ok(const rws *w, span origin) {
  if (!w->origins || !*w->origins) return true;
  if (!origin.n) return false;
  const char *p = w->origins;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    size_t n = strcspn(p, " ,");
    if (n && n == origin.n && strncasecmp(p, origin.p, n) == 0) return true;
    p += n;
  }
  return false;
}

int rws__http_server(rws *w) {
  http_head h;
  if (!parse_head(w->hbuf, w->hlen, &h))
    return http_error(w, 400, "Bad Request", "", "malformed HTTP request");
  /* GET <target> HTTP/1.1 */
  span l = h.first;
  if (l.n < 4 || memcmp(l.p, "GET ", 4) != 0)
    return http_error(w, 400, "Bad Request", "", "a WebSocket upgrade is a GET request");
  const char *t = l.p + 4, *sp = memchr(t, ' ', l.n - 4);
  if (!sp || (size_t)(l.p + l.n - sp) != 9 || memcmp(sp + 1, "HTTP/1.", 7) != 0 ||
      sp[8] < '1' || sp[8] > '9')
    return http_error(w, 400, "Bad Request", "", "expected HTTP/1.1");
  size_t tn = (size_t)(sp - t);
  const char *q = memchr(t, '?', tn);
  if (q) tn = (size_t)(q - t);
  if (tn != strlen(w->path) || memcmp(t, w->path, tn) != 0)
    return http_error(w, 404, "Not Found", "", "no WebSocket endpoint at this path");
  if (!has_token(h.upgrade, "websocket") || !has_token(h.connection, "upgrade"))
    return http_error(w, 426, "Upgrade Required", "Upgrade: websocket\r\nConnection: Upgrade\r\n",
                      "this is a roam WebSocket endpoint");
  if (!span_is(h.version, "13"))
    return http_error(w, 426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                      "only WebSocket version 13 is supported");
  if (!h.host.n) return http_error(w, 400, "Bad Request", "", "missing Host");
  if (h.keys != 1 || !key_ok(h.key))
    return http_error(w, 400, "Bad Request", "", "bad Sec-WebSocket-Key");
  if (!origin_ok(w, h.origin))
    return http_error(w, 403, "Forbidden", "", "Origin not allowed");
  char acc[29];
  rws_accept_key(h.key.p, h.key.n, acc);
  char buf[256];
  int n = snprintf(buf, sizeof buf,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   acc);
  int r = rws__out_append(w, buf, (size_t)n);
  if (r != 0) return r;
  w->state = RWS_OPEN;
  w->opened = true;
  return 0;
}

/* ---- client ------------------------------------------------------------------ */

int rws__http_client_request(rws *w) {
  uint8_t raw[16];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return ROAM_ERR_IO;
  base64_encode_raw(w->key, sizeof raw, raw); /* 24 characters */
  w->key[24] = 0;
  size_t cap = strlen(w->path) + strlen(w->host) + 256;
  char *buf = roam__malloc(&w->mem, cap);
  if (!buf) return ROAM_ERR_NOMEM;
  int n = snprintf(buf, cap,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   w->path, w->host, w->key);
  int r = rws__out_append(w, buf, (size_t)n);
  roam__free(&w->mem, buf);
  return r;
}

int rws__http_client(rws *w) {
  http_head h;
  w->state = RWS_FAILED;
  if (!parse_head(w->hbuf, w->hlen, &h)) {
    w->error = "malformed HTTP response";
    return 0;
  }
  span l = h.first;
  if (l.n < 12 || memcmp(l.p, "HTTP/1.1 ", 9) != 0) {
    w->error = "not an HTTP/1.1 response";
    return 0;
  }
  if (memcmp(l.p + 9, "101", 3) != 0) {
    static const struct { const char *code, *text; } k[] = {
        {"400", "the server refused the upgrade: HTTP 400 Bad Request"},
        {"403", "the server refused the upgrade: HTTP 403 Forbidden (Origin)"},
        {"404", "the server refused the upgrade: HTTP 404 Not Found (path)"},
        {"426", "the server refused the upgrade: HTTP 426 Upgrade Required"},
    };
    w->error = "the server refused the upgrade (HTTP status other than 101)";
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
      if (memcmp(l.p + 9, k[i].code, 3) == 0) w->error = k[i].text;
    return 0;
  }
  if (!has_token(h.upgrade, "websocket") || !has_token(h.connection, "upgrade")) {
    w->error = "101 response without Upgrade: websocket";
    return 0;
  }
  char acc[29];
  rws_accept_key(w->key, 24, acc);
  if (h.accept.n != 28 || memcmp(h.accept.p, acc, 28) != 0) {
    w->error = "wrong Sec-WebSocket-Accept";
    return 0;
  }
  if (h.extensions.n || h.protocol.n) {
    w->error = "the server chose an extension or subprotocol that was not offered";
    return 0;
  }
  w->state = RWS_OPEN;
  w->opened = true;
  return 0;
}
