/*
 * The twelve roam messages (PROTOCOL.md §3): zero-copy, allocation-free
 * decoding with full validation, exact-size encoding, metadata helpers and a
 * one-line formatter for logs.
 */
#include <roam/message.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire/wire_internal.h"

static const uint8_t rw_empty[1] = {0};

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static const char *const kind_names[ROAM_MSG_KIND_COUNT] = {
    "Hello",   "Connect",  "Accept", "Reject", "Goodbye", "Request",
    "Response", "Cancel",  "Data",   "Close",  "Reset",   "Credit"};

const char *roam_msg_kind_name(int kind) {
  if (kind < 0 || kind >= ROAM_MSG_KIND_COUNT) return "?";
  return kind_names[kind];
}

const char *roam_msg_error_rule(int decode_err) {
  switch (decode_err) {
  case ROAM_ERR_UNKNOWN_VARIANT:
    return "message.unknown-variant";
  case ROAM_ERR_HELLO_VERSION:
    return "message.hello.unknown-version";
  default:
    return "message.decode-error";
  }
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* Cursor-style readers: each takes `p` by pointer only inside always-inline
 * helpers, so the cursor lives in a register of roam_msg_decode. */

static RW_INLINE int rd_u64(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  rw_vres r = rw_varint64(*pp, end);
  if (RW_UNLIKELY(r.n == 0 || r.n == RW_VBAD)) return rw_verr(r.n);
  *out = r.v;
  *pp += r.n;
  return 0;
}

static RW_INLINE int rd_u32(const uint8_t **pp, const uint8_t *end, uint32_t *out) {
  rw_vres r = rw_varint32(*pp, end);
  if (RW_UNLIKELY(r.n == 0 || r.n == RW_VBAD)) return rw_verr(r.n);
  *out = (uint32_t)r.v;
  *pp += r.n;
  return 0;
}

/* Length-prefixed bytes as a view. */
static RW_INLINE int rd_view(const uint8_t **pp, const uint8_t *end, roam_bytes *out) {
  uint64_t n;
  int rc = rd_u64(pp, end, &n);
  if (RW_UNLIKELY(rc)) return rc;
  if (RW_UNLIKELY(n > (uint64_t)(end - *pp))) return ROAM_ERR_TRUNCATED;
  out->ptr = *pp;
  out->len = (size_t)n;
  *pp += n;
  return 0;
}

static RW_INLINE int rd_str(const uint8_t **pp, const uint8_t *end, roam_bytes *out) {
  int rc = rd_view(pp, end, out);
  if (RW_UNLIKELY(rc)) return rc;
  if (RW_UNLIKELY(!roam__utf8_valid(out->ptr, out->len))) return ROAM_ERR_BAD_UTF8;
  return 0;
}

/* One metadata entry, fully validated. */
static RW_INLINE int rd_meta_entry(const uint8_t **pp, const uint8_t *end, roam_meta_entry *e) {
  int rc = rd_str(pp, end, &e->key);
  if (rc) return rc;
  uint32_t v;
  rc = rd_u32(pp, end, &v);
  if (rc) return rc;
  e->u64 = 0;
  e->value.ptr = NULL;
  e->value.len = 0;
  switch (v) {
  case ROAM_META_STRING:
    e->kind = ROAM_META_STRING;
    return rd_str(pp, end, &e->value);
  case ROAM_META_BYTES:
    e->kind = ROAM_META_BYTES;
    return rd_view(pp, end, &e->value);
  case ROAM_META_U64:
    e->kind = ROAM_META_U64;
    return rd_u64(pp, end, &e->u64);
  default:
    return ROAM_ERR_DECODE;
  }
}

static inline size_t meta_value_len(const roam_meta_entry *e) {
  return e->kind == ROAM_META_U64 ? 8 : e->value.len;
}

static RW_NOINLINE int rd_metadata_entries(const uint8_t **pp, const uint8_t *end, size_t count,
                                           roam_metadata *md) {
  const uint8_t *p = *pp;
  size_t max_k = 0, max_v = 0, total = 0;
  for (size_t i = 0; i < count; i++) {
    roam_meta_entry e;
    int rc = rd_meta_entry(&p, end, &e);
    if (rc) return rc;
    size_t vl = meta_value_len(&e);
    if (e.key.len > max_k) max_k = e.key.len;
    if (vl > max_v) max_v = vl;
    total += e.key.len + vl; /* bounded by the input size plus 8 per entry */
  }
  md->raw_len = (size_t)(p - md->raw);
  md->max_key_len = max_k;
  md->max_value_len = max_v;
  md->total_len = total;
  *pp = p;
  return 0;
}

static RW_INLINE int rd_metadata(const uint8_t **pp, const uint8_t *end, roam_metadata *md) {
  const uint8_t *p = *pp;
  if (RW_LIKELY(p < end) && *p == 0) { /* the usual case: no metadata */
    md->raw = p + 1;
    *pp = p + 1;
    return 0;
  }
  uint64_t count;
  int rc = rd_u64(&p, end, &count);
  if (rc) return rc;
  /* Each entry takes at least three bytes. */
  if (count > (uint64_t)(end - p) / 3) return ROAM_ERR_TRUNCATED;
  md->count = (size_t)count;
  md->raw = p;
  rc = rd_metadata_entries(&p, end, md->count, md);
  if (rc) return rc;
  *pp = p;
  return 0;
}

static RW_INLINE int rd_u64_list(const uint8_t **pp, const uint8_t *end, roam_u64_list *l) {
  const uint8_t *p = *pp;
  if (RW_LIKELY(p < end) && *p == 0) {
    l->raw = p + 1;
    *pp = p + 1;
    return 0;
  }
  uint64_t count;
  int rc = rd_u64(&p, end, &count);
  if (rc) return rc;
  if (count > (uint64_t)(end - p)) return ROAM_ERR_TRUNCATED;
  l->count = (size_t)count;
  l->raw = p;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t v;
    rc = rd_u64(&p, end, &v);
    if (rc) return rc;
  }
  l->raw_len = (size_t)(p - l->raw);
  *pp = p;
  return 0;
}

#define RD(expr)                  \
  do {                            \
    rc = (expr);                  \
    if (RW_UNLIKELY(rc)) goto fail; \
  } while (0)

/* Field by field: a memset of the whole structure becomes `rep stos`, which
 * costs more than the rest of decoding a small message. Keep in step with
 * roam_msg. */
static RW_INLINE void msg_clear(roam_msg *m) {
  m->kind = ROAM_MSG_HELLO;
  m->conn_id = 0;
  m->request_id = 0;
  m->method_id = 0;
  m->channel_id = 0;
  m->credit = 0;
  m->hello.version = 0;
  m->hello.max_payload_size = 0;
  m->hello.initial_channel_credit = 0;
  m->reason.ptr = NULL;
  m->reason.len = 0;
  m->metadata.count = 0;
  m->metadata.entries = NULL;
  m->metadata.raw = NULL;
  m->metadata.raw_len = 0;
  m->metadata.max_key_len = 0;
  m->metadata.max_value_len = 0;
  m->metadata.total_len = 0;
  m->channels.count = 0;
  m->channels.items = NULL;
  m->channels.raw = NULL;
  m->channels.raw_len = 0;
  m->payload.ptr = NULL;
  m->payload.len = 0;
}

int roam_msg_decode(roam_msg *m, const uint8_t *buf, size_t len) {
  msg_clear(m);
  if (buf == NULL) {
    if (len) return ROAM_ERR_INVALID_ARG;
    buf = rw_empty;
  }
  const uint8_t *p = buf;
  const uint8_t *const end = buf + len;
  int rc;
  uint32_t disc;
  RD(rd_u32(&p, end, &disc));
  if (disc >= ROAM_MSG_KIND_COUNT) {
    rc = ROAM_ERR_UNKNOWN_VARIANT;
    goto fail;
  }
  m->kind = (roam_msg_kind)disc;
  switch (m->kind) {
  case ROAM_MSG_HELLO: {
    uint32_t v;
    RD(rd_u32(&p, end, &v));
    if (v != ROAM_HELLO_V1 && v != ROAM_HELLO_V2) {
      rc = ROAM_ERR_HELLO_VERSION;
      goto fail;
    }
    m->hello.version = v;
    RD(rd_u32(&p, end, &m->hello.max_payload_size));
    RD(rd_u32(&p, end, &m->hello.initial_channel_credit));
    break;
  }
  case ROAM_MSG_CONNECT:
    RD(rd_u64(&p, end, &m->request_id));
    RD(rd_metadata(&p, end, &m->metadata));
    break;
  case ROAM_MSG_ACCEPT:
    RD(rd_u64(&p, end, &m->request_id));
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_metadata(&p, end, &m->metadata));
    break;
  case ROAM_MSG_REJECT:
    RD(rd_u64(&p, end, &m->request_id));
    RD(rd_str(&p, end, &m->reason));
    RD(rd_metadata(&p, end, &m->metadata));
    break;
  case ROAM_MSG_GOODBYE:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_str(&p, end, &m->reason));
    break;
  case ROAM_MSG_REQUEST:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_u64(&p, end, &m->request_id));
    RD(rd_u64(&p, end, &m->method_id));
    RD(rd_metadata(&p, end, &m->metadata));
    RD(rd_u64_list(&p, end, &m->channels));
    RD(rd_view(&p, end, &m->payload));
    break;
  case ROAM_MSG_RESPONSE:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_u64(&p, end, &m->request_id));
    RD(rd_metadata(&p, end, &m->metadata));
    RD(rd_u64_list(&p, end, &m->channels));
    RD(rd_view(&p, end, &m->payload));
    break;
  case ROAM_MSG_CANCEL:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_u64(&p, end, &m->request_id));
    break;
  case ROAM_MSG_DATA:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_u64(&p, end, &m->channel_id));
    RD(rd_view(&p, end, &m->payload));
    break;
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_u64(&p, end, &m->channel_id));
    break;
  case ROAM_MSG_CREDIT:
    RD(rd_u64(&p, end, &m->conn_id));
    RD(rd_u64(&p, end, &m->channel_id));
    RD(rd_u32(&p, end, &m->credit));
    break;
  }
  if (RW_UNLIKELY(p != end)) {
    rc = ROAM_ERR_TRAILING;
    goto fail;
  }
  return 0;
fail:
  msg_clear(m);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Metadata helpers                                                    */
/* ------------------------------------------------------------------ */

void roam_meta_iter_init(roam_meta_iter *it, const roam_metadata *md) {
  it->md = md;
  it->index = 0;
  if (md->entries == NULL && md->raw != NULL)
    roam_dec_init(&it->dec, md->raw, md->raw_len);
  else
    roam_dec_init(&it->dec, NULL, 0);
}

int roam_meta_iter_next(roam_meta_iter *it, roam_meta_entry *out) {
  const roam_metadata *md = it->md;
  if (it->index >= md->count) return 0;
  if (md->entries) {
    *out = md->entries[it->index++];
    return 1;
  }
  if (it->dec.err || it->dec.p == NULL) return 0;
  const uint8_t *p = it->dec.p;
  int rc = rd_meta_entry(&p, it->dec.end, out);
  if (rc) {
    it->dec.err = rc;
    memset(out, 0, sizeof *out);
    return 0;
  }
  it->dec.p = p;
  it->index++;
  return 1;
}

int roam_metadata_find(const roam_metadata *md, const char *key, roam_meta_entry *out) {
  if (md == NULL || key == NULL) return ROAM_ERR_INVALID_ARG;
  size_t klen = strlen(key);
  roam_meta_iter it;
  roam_meta_entry e;
  roam_meta_iter_init(&it, md);
  while (roam_meta_iter_next(&it, &e)) {
    if (e.key.len == klen && (klen == 0 || memcmp(e.key.ptr, key, klen) == 0)) {
      if (out) *out = e;
      return 0;
    }
  }
  return ROAM_ERR_NOT_FOUND;
}

void roam_metadata_measure(roam_metadata *md) {
  size_t max_k = 0, max_v = 0, total = 0;
  roam_meta_iter it;
  roam_meta_entry e;
  roam_meta_iter_init(&it, md);
  while (roam_meta_iter_next(&it, &e)) {
    size_t vl = meta_value_len(&e);
    if (e.key.len > max_k) max_k = e.key.len;
    if (vl > max_v) max_v = vl;
    total = total > SIZE_MAX - e.key.len - vl ? SIZE_MAX : total + e.key.len + vl;
  }
  md->max_key_len = max_k;
  md->max_value_len = max_v;
  md->total_len = total;
}

int roam_metadata_check_limits(const roam_metadata *md) {
  roam_metadata tmp;
  if (md->entries) { /* measured here: entries may have changed since */
    tmp = *md;
    roam_metadata_measure(&tmp);
    md = &tmp;
  }
  if (md->count > ROAM_META_MAX_ENTRIES || md->max_key_len > ROAM_META_MAX_KEY ||
      md->max_value_len > ROAM_META_MAX_VALUE || md->total_len > ROAM_META_MAX_TOTAL)
    return ROAM_ERR_METADATA_LIMIT;
  return 0;
}

size_t roam_u64_list_get(const roam_u64_list *l, uint64_t *out, size_t max) {
  if (l->items) {
    size_t n = l->count < max ? l->count : max;
    if (n) memcpy(out, l->items, n * sizeof *out);
    return l->count;
  }
  if (l->raw == NULL) return 0;
  const uint8_t *p = l->raw, *end = l->raw + l->raw_len;
  size_t i = 0;
  for (; i < l->count && i < max; i++) {
    uint64_t v;
    if (rd_u64(&p, end, &v)) break;
    out[i] = v;
  }
  return l->count;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

/* Sizes. The fixed fields cannot overflow; anything with a caller-given
 * length is summed with saturation, and SIZE_MAX means "invalid". */
static inline size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static inline size_t lenbytes_size(size_t len) { return add_sat(rw_varint_size(len), len); }

static RW_NOINLINE size_t meta_size_slow(const roam_metadata *md) {
  size_t n = rw_varint_size(md->count);
  if (md->entries == NULL) {
    if ((md->count || md->raw_len) && md->raw == NULL) return SIZE_MAX;
    if (md->count == 0 && md->raw_len) return SIZE_MAX;
    return add_sat(n, md->raw_len);
  }
  for (size_t i = 0; i < md->count; i++) {
    const roam_meta_entry *e = &md->entries[i];
    if (e->key.len && e->key.ptr == NULL) return SIZE_MAX;
    n = add_sat(n, lenbytes_size(e->key.len));
    n = add_sat(n, 1); /* variant 0..2 */
    switch (e->kind) {
    case ROAM_META_STRING:
    case ROAM_META_BYTES:
      if (e->value.len && e->value.ptr == NULL) return SIZE_MAX;
      n = add_sat(n, lenbytes_size(e->value.len));
      break;
    case ROAM_META_U64:
      n = add_sat(n, rw_varint_size(e->u64));
      break;
    default:
      return SIZE_MAX;
    }
  }
  return n;
}

static RW_INLINE size_t meta_size(const roam_metadata *md) {
  if (RW_LIKELY(md->count == 0 && md->raw_len == 0)) return 1;
  return meta_size_slow(md);
}

static RW_NOINLINE size_t list_size_slow(const roam_u64_list *l) {
  size_t n = rw_varint_size(l->count);
  if (l->items) {
    for (size_t i = 0; i < l->count; i++) n = add_sat(n, rw_varint_size(l->items[i]));
    return n;
  }
  if ((l->count || l->raw_len) && l->raw == NULL) return SIZE_MAX;
  if (l->count == 0 && l->raw_len) return SIZE_MAX;
  return add_sat(n, l->raw_len);
}

static RW_INLINE size_t list_size(const roam_u64_list *l) {
  if (RW_LIKELY(l->count == 0 && l->raw_len == 0)) return 1;
  return list_size_slow(l);
}

static inline int kind_has_payload(roam_msg_kind k) {
  return k == ROAM_MSG_REQUEST || k == ROAM_MSG_RESPONSE || k == ROAM_MSG_DATA;
}

/* Size of everything but the payload bytes (their length prefix included);
 * 0 for an invalid message. */
static RW_INLINE size_t head_size(const roam_msg *m) {
  size_t n = 1; /* discriminant: 0..11, one byte */
  size_t var = 0;
  switch (m->kind) {
  case ROAM_MSG_HELLO:
    if (m->hello.version != ROAM_HELLO_V1 && m->hello.version != ROAM_HELLO_V2) return 0;
    n += 1 + rw_varint_size(m->hello.max_payload_size) +
         rw_varint_size(m->hello.initial_channel_credit);
    break;
  case ROAM_MSG_CONNECT:
    n += rw_varint_size(m->request_id);
    var = meta_size(&m->metadata);
    break;
  case ROAM_MSG_ACCEPT:
    n += rw_varint_size(m->request_id) + rw_varint_size(m->conn_id);
    var = meta_size(&m->metadata);
    break;
  case ROAM_MSG_REJECT:
    if (m->reason.len && m->reason.ptr == NULL) return 0;
    n += rw_varint_size(m->request_id);
    var = add_sat(lenbytes_size(m->reason.len), meta_size(&m->metadata));
    break;
  case ROAM_MSG_GOODBYE:
    if (m->reason.len && m->reason.ptr == NULL) return 0;
    n += rw_varint_size(m->conn_id);
    var = lenbytes_size(m->reason.len);
    break;
  case ROAM_MSG_REQUEST:
    n += rw_varint_size(m->conn_id) + rw_varint_size(m->request_id) +
         rw_varint_size(m->method_id) + rw_varint_size(m->payload.len);
    var = add_sat(meta_size(&m->metadata), list_size(&m->channels));
    break;
  case ROAM_MSG_RESPONSE:
    n += rw_varint_size(m->conn_id) + rw_varint_size(m->request_id) +
         rw_varint_size(m->payload.len);
    var = add_sat(meta_size(&m->metadata), list_size(&m->channels));
    break;
  case ROAM_MSG_CANCEL:
    n += rw_varint_size(m->conn_id) + rw_varint_size(m->request_id);
    break;
  case ROAM_MSG_DATA:
    n += rw_varint_size(m->conn_id) + rw_varint_size(m->channel_id) +
         rw_varint_size(m->payload.len);
    break;
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET:
    n += rw_varint_size(m->conn_id) + rw_varint_size(m->channel_id);
    break;
  case ROAM_MSG_CREDIT:
    n += rw_varint_size(m->conn_id) + rw_varint_size(m->channel_id) + rw_varint_size(m->credit);
    break;
  default:
    return 0;
  }
  if (kind_has_payload(m->kind) && m->payload.len && m->payload.ptr == NULL) return 0;
  n = add_sat(n, var);
  return n == SIZE_MAX ? 0 : n;
}

size_t roam_msg_encoded_size(const roam_msg *m) {
  size_t h = head_size(m);
  if (h == 0) return 0;
  if (kind_has_payload(m->kind)) {
    if (m->payload.len > SIZE_MAX - h) return 0;
    h += m->payload.len;
  }
  return h;
}

/* Writers. `wide` (a constant at each call site) selects the word-storing
 * varint writer, allowed when ROAM_VARINT_MAX_U64 bytes of scratch follow
 * the header. */
static RW_INLINE uint8_t *put_var(uint8_t *o, uint64_t v, int wide) {
  return o + (wide ? rw_varint_put_wide(o, v) : rw_varint_put(o, v));
}

static RW_INLINE uint8_t *put_lenbytes(uint8_t *o, const uint8_t *p, size_t len, int wide) {
  o = put_var(o, len, wide);
  if (len) memcpy(o, p, len);
  return o + len;
}

/* Write a String; NULL if it is not valid UTF-8. */
static RW_INLINE uint8_t *put_str(uint8_t *o, roam_bytes s, int wide) {
  if (s.len && !roam__utf8_valid(s.ptr, s.len)) return NULL;
  return put_lenbytes(o, s.ptr, s.len, wide);
}

static RW_NOINLINE uint8_t *put_metadata_slow(uint8_t *o, const roam_metadata *md) {
  o += rw_varint_put(o, md->count);
  if (md->entries == NULL) {
    memcpy(o, md->raw, md->raw_len);
    return o + md->raw_len;
  }
  for (size_t i = 0; i < md->count; i++) {
    const roam_meta_entry *e = &md->entries[i];
    o = put_str(o, e->key, 0);
    if (!o) return NULL;
    *o++ = (uint8_t)e->kind;
    switch (e->kind) {
    case ROAM_META_STRING:
      o = put_str(o, e->value, 0);
      if (!o) return NULL;
      break;
    case ROAM_META_BYTES:
      o = put_lenbytes(o, e->value.ptr, e->value.len, 0);
      break;
    default: /* ROAM_META_U64; the kind was checked by meta_size */
      o += rw_varint_put(o, e->u64);
      break;
    }
  }
  return o;
}

static RW_INLINE uint8_t *put_metadata(uint8_t *o, const roam_metadata *md) {
  if (RW_LIKELY(md->count == 0)) {
    *o = 0;
    return o + 1;
  }
  return put_metadata_slow(o, md);
}

static RW_NOINLINE uint8_t *put_u64_list_slow(uint8_t *o, const roam_u64_list *l) {
  o += rw_varint_put(o, l->count);
  if (l->items) {
    for (size_t i = 0; i < l->count; i++) o += rw_varint_put(o, l->items[i]);
  } else if (l->raw_len) {
    memcpy(o, l->raw, l->raw_len);
    o += l->raw_len;
  }
  return o;
}

static RW_INLINE uint8_t *put_u64_list(uint8_t *o, const roam_u64_list *l) {
  if (RW_LIKELY(l->count == 0)) {
    *o = 0;
    return o + 1;
  }
  return put_u64_list_slow(o, l);
}

/* Write the header (up to and including the payload length prefix) at o;
 * returns the end, or NULL if a string is not valid UTF-8. The message was
 * validated by head_size. */
static RW_INLINE uint8_t *put_head(uint8_t *o, const roam_msg *m, int wide) {
  *o++ = (uint8_t)m->kind;
  switch (m->kind) {
  case ROAM_MSG_HELLO:
    *o++ = (uint8_t)m->hello.version;
    o = put_var(o, m->hello.max_payload_size, wide);
    o = put_var(o, m->hello.initial_channel_credit, wide);
    break;
  case ROAM_MSG_CONNECT:
    o = put_var(o, m->request_id, wide);
    o = put_metadata(o, &m->metadata);
    break;
  case ROAM_MSG_ACCEPT:
    o = put_var(o, m->request_id, wide);
    o = put_var(o, m->conn_id, wide);
    o = put_metadata(o, &m->metadata);
    break;
  case ROAM_MSG_REJECT:
    o = put_var(o, m->request_id, wide);
    o = put_str(o, m->reason, wide);
    if (o) o = put_metadata(o, &m->metadata);
    break;
  case ROAM_MSG_GOODBYE:
    o = put_var(o, m->conn_id, wide);
    o = put_str(o, m->reason, wide);
    break;
  case ROAM_MSG_REQUEST:
    o = put_var(o, m->conn_id, wide);
    o = put_var(o, m->request_id, wide);
    o = put_var(o, m->method_id, wide);
    o = put_metadata(o, &m->metadata);
    if (o) o = put_u64_list(o, &m->channels);
    if (o) o = put_var(o, m->payload.len, wide);
    break;
  case ROAM_MSG_RESPONSE:
    o = put_var(o, m->conn_id, wide);
    o = put_var(o, m->request_id, wide);
    o = put_metadata(o, &m->metadata);
    if (o) o = put_u64_list(o, &m->channels);
    if (o) o = put_var(o, m->payload.len, wide);
    break;
  case ROAM_MSG_CANCEL:
    o = put_var(o, m->conn_id, wide);
    o = put_var(o, m->request_id, wide);
    break;
  case ROAM_MSG_DATA:
    o = put_var(o, m->conn_id, wide);
    o = put_var(o, m->channel_id, wide);
    o = put_var(o, m->payload.len, wide);
    break;
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET:
    o = put_var(o, m->conn_id, wide);
    o = put_var(o, m->channel_id, wide);
    break;
  case ROAM_MSG_CREDIT:
    o = put_var(o, m->conn_id, wide);
    o = put_var(o, m->channel_id, wide);
    o = put_var(o, m->credit, wide);
    break;
  }
  return o;
}

static int enc_set_err(roam_enc *e, int err) {
  if (!e->err) e->err = err;
  return e->err;
}

/* Headers up to this size go through a stack buffer with scratch room when
 * the destination has none; longer ones are written in place, exactly. */
#define RW_HEAD_TMP 256

static int msg_write(roam_enc *e, const roam_msg *m, int with_payload) {
  if (RW_UNLIKELY(e->err)) return e->err;
  size_t head = head_size(m);
  if (RW_UNLIKELY(head == 0)) return enc_set_err(e, ROAM_ERR_INVALID_ARG);
  size_t plen = (with_payload && kind_has_payload(m->kind)) ? m->payload.len : 0;
  if (RW_UNLIKELY(head > SIZE_MAX / 4 || plen > SIZE_MAX / 2 - head))
    return enc_set_err(e, ROAM_ERR_INVALID_ARG);
  size_t need = head + plen;
  uint8_t *o;
  if (RW_LIKELY(e->cap - e->len >= need)) {
    o = e->buf + e->len;
  } else {
    o = roam_enc_reserve(e, need);
    if (!o) return e->err;
  }
  uint8_t *q;
  if (e->growable && e->cap - e->len >= need + ROAM_VARINT_MAX_U64) {
    q = put_head(o, m, 1); /* the encoder's own buffer: its spare room is scratch */
  } else if (head <= RW_HEAD_TMP) {
    uint8_t tmp[RW_HEAD_TMP + ROAM_VARINT_MAX_U64];
    q = put_head(tmp, m, 1);
    if (q) {
      memcpy(o, tmp, head);
      q = o + head;
    }
  } else {
    q = put_head(o, m, 0);
  }
  if (RW_UNLIKELY(!q)) return enc_set_err(e, ROAM_ERR_BAD_UTF8);
  if (plen) memcpy(q, m->payload.ptr, plen);
  e->len += head + plen;
  return 0;
}

int roam_msg_encode(roam_enc *e, const roam_msg *m) { return msg_write(e, m, 1); }

int roam_msg_encode_header(roam_enc *e, const roam_msg *m) { return msg_write(e, m, 0); }

int roam_msg_encode_buf(const roam_msg *m, uint8_t *buf, size_t cap, size_t *out_len) {
  roam_enc e;
  roam_enc_init(&e, buf, cap);
  int rc = msg_write(&e, m, 1);
  if (out_len) *out_len = rc ? 0 : e.len;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

typedef struct fmtw {
  char *buf;
  size_t cap;
  size_t len; /* length of the whole output, even past cap */
} fmtw;

static void fw_put(fmtw *w, const char *s, size_t n) {
  if (w->len < w->cap) {
    size_t room = w->cap - w->len - 1; /* keep one byte for the NUL */
    size_t k = n < room ? n : room;
    if (k) memcpy(w->buf + w->len, s, k);
  }
  w->len += n;
}

static void fw_puts(fmtw *w, const char *s) { fw_put(w, s, strlen(s)); }

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void fw_printf(fmtw *w, const char *fmt, ...) {
  char tmp[96];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t k = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
  fw_put(w, tmp, k);
}

/* Quoted, escaped text, at most `limit` source bytes. */
static void fw_quoted(fmtw *w, roam_bytes s, size_t limit) {
  static const char hex[] = "0123456789abcdef";
  if (s.ptr == NULL) s.len = 0; /* a malformed view: show it as empty */
  int utf8 = s.len == 0 || (s.ptr && roam__utf8_valid(s.ptr, s.len));
  size_t n = s.len < limit ? s.len : limit;
  if (utf8 && n < s.len) { /* do not cut a character in half */
    while (n > 0 && (s.ptr[n] & 0xC0) == 0x80) n--;
  }
  fw_put(w, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s.ptr[i];
    char esc[4];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      fw_put(w, esc, 2);
    } else if (c == '\n') {
      fw_put(w, "\\n", 2);
    } else if (c == '\t') {
      fw_put(w, "\\t", 2);
    } else if (c == '\r') {
      fw_put(w, "\\r", 2);
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      esc[0] = '\\';
      esc[1] = 'x';
      esc[2] = hex[c >> 4];
      esc[3] = hex[c & 15];
      fw_put(w, esc, 4);
    } else {
      char ch = (char)c;
      fw_put(w, &ch, 1);
    }
  }
  fw_put(w, "\"", 1);
  if (n < s.len) fw_printf(w, "...(%zu bytes)", s.len);
}

static void fw_metadata(fmtw *w, const roam_metadata *md) {
  roam_metadata tmp = *md;
  if (tmp.entries) roam_metadata_measure(&tmp);
  fw_printf(w, " meta=%zu", tmp.count);
  if (tmp.count == 0) return;
  fw_printf(w, "(%zuB)", tmp.total_len);
  /* The keys of the first few entries help when reading a log. */
  roam_meta_iter it;
  roam_meta_entry e;
  roam_meta_iter_init(&it, &tmp);
  fw_put(w, "{", 1);
  size_t shown = 0;
  while (roam_meta_iter_next(&it, &e)) {
    if (shown == 4) {
      fw_puts(w, ",...");
      break;
    }
    if (shown) fw_put(w, ",", 1);
    fw_quoted(w, e.key, 32);
    shown++;
  }
  fw_put(w, "}", 1);
}

static void fw_channels(fmtw *w, const roam_u64_list *l) {
  uint64_t ids[8];
  size_t n = roam_u64_list_get(l, ids, 8);
  size_t k = n < 8 ? n : 8;
  fw_puts(w, " channels=[");
  for (size_t i = 0; i < k; i++) {
    if (i) fw_put(w, ",", 1);
    fw_printf(w, "%llu", (unsigned long long)ids[i]);
  }
  if (n > k) fw_printf(w, ",...(%zu)", n);
  fw_put(w, "]", 1);
}

size_t roam_msg_format(const roam_msg *m, char *buf, size_t cap) {
  fmtw w = {buf, buf ? cap : 0, 0};
  if (m == NULL) {
    fw_puts(&w, "(null)");
  } else {
    fw_puts(&w, roam_msg_kind_name((int)m->kind));
    switch (m->kind) {
    case ROAM_MSG_HELLO:
      fw_printf(&w, " %s max_payload=%lu initial_credit=%lu",
                m->hello.version == ROAM_HELLO_V1   ? "V1"
                : m->hello.version == ROAM_HELLO_V2 ? "V2"
                                                    : "V?",
                (unsigned long)m->hello.max_payload_size,
                (unsigned long)m->hello.initial_channel_credit);
      break;
    case ROAM_MSG_CONNECT:
      fw_printf(&w, " req=%llu", (unsigned long long)m->request_id);
      fw_metadata(&w, &m->metadata);
      break;
    case ROAM_MSG_ACCEPT:
      fw_printf(&w, " req=%llu conn=%llu", (unsigned long long)m->request_id,
                (unsigned long long)m->conn_id);
      fw_metadata(&w, &m->metadata);
      break;
    case ROAM_MSG_REJECT:
      fw_printf(&w, " req=%llu reason=", (unsigned long long)m->request_id);
      fw_quoted(&w, m->reason, 200);
      fw_metadata(&w, &m->metadata);
      break;
    case ROAM_MSG_GOODBYE:
      fw_printf(&w, " conn=%llu reason=", (unsigned long long)m->conn_id);
      fw_quoted(&w, m->reason, 200);
      break;
    case ROAM_MSG_REQUEST:
      fw_printf(&w, " conn=%llu req=%llu method=0x%016llx", (unsigned long long)m->conn_id,
                (unsigned long long)m->request_id, (unsigned long long)m->method_id);
      fw_metadata(&w, &m->metadata);
      fw_channels(&w, &m->channels);
      fw_printf(&w, " payload=%zuB", m->payload.len);
      break;
    case ROAM_MSG_RESPONSE:
      fw_printf(&w, " conn=%llu req=%llu", (unsigned long long)m->conn_id,
                (unsigned long long)m->request_id);
      fw_metadata(&w, &m->metadata);
      fw_channels(&w, &m->channels);
      fw_printf(&w, " payload=%zuB", m->payload.len);
      break;
    case ROAM_MSG_CANCEL:
      fw_printf(&w, " conn=%llu req=%llu", (unsigned long long)m->conn_id,
                (unsigned long long)m->request_id);
      break;
    case ROAM_MSG_DATA:
      fw_printf(&w, " conn=%llu chan=%llu payload=%zuB", (unsigned long long)m->conn_id,
                (unsigned long long)m->channel_id, m->payload.len);
      break;
    case ROAM_MSG_CLOSE:
    case ROAM_MSG_RESET:
      fw_printf(&w, " conn=%llu chan=%llu", (unsigned long long)m->conn_id,
                (unsigned long long)m->channel_id);
      break;
    case ROAM_MSG_CREDIT:
      fw_printf(&w, " conn=%llu chan=%llu bytes=%lu", (unsigned long long)m->conn_id,
                (unsigned long long)m->channel_id, (unsigned long)m->credit);
      break;
    default:
      fw_printf(&w, "(kind %d)", (int)m->kind);
      break;
    }
  }
  if (w.cap) w.buf[w.len < w.cap ? w.len : w.cap - 1] = '\0';
  return w.len;
}
