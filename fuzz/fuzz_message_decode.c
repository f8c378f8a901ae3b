/*
 * Fuzz roam_msg_decode. Whatever decodes must re-encode canonically and
 * decode back to the same fields; the canonical bytes are stable and never
 * longer than the input (equal to it when the lengths agree). Errors must be
 * decode-layer codes with a Goodbye rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <roam/message.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
  do {                           \
    if (!(c)) __builtin_trap();  \
  } while (0)

static int bytes_eq(roam_bytes a, roam_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_metadata_eq(const roam_metadata *a, const roam_metadata *b) {
  CHECK(a->count == b->count);
  CHECK(a->max_key_len == b->max_key_len);
  CHECK(a->max_value_len == b->max_value_len);
  CHECK(a->total_len == b->total_len);
  roam_meta_iter ia, ib;
  roam_meta_entry ea, eb;
  roam_meta_iter_init(&ia, a);
  roam_meta_iter_init(&ib, b);
  size_t n = 0;
  while (roam_meta_iter_next(&ia, &ea)) {
    CHECK(roam_meta_iter_next(&ib, &eb) == 1);
    CHECK(bytes_eq(ea.key, eb.key));
    CHECK(ea.kind == eb.kind);
    CHECK(ea.u64 == eb.u64);
    CHECK(bytes_eq(ea.value, eb.value));
    CHECK(roam_utf8_valid(ea.key.ptr, ea.key.len));
    if (ea.kind == ROAM_META_STRING) CHECK(roam_utf8_valid(ea.value.ptr, ea.value.len));
    n++;
  }
  CHECK(roam_meta_iter_next(&ib, &eb) == 0);
  CHECK(n == a->count);
  roam_metadata m = *a;
  roam_metadata_measure(&m);
  CHECK(m.total_len == a->total_len && m.max_key_len == a->max_key_len &&
        m.max_value_len == a->max_value_len);
  int lim = roam_metadata_check_limits(a);
  CHECK(lim == 0 || lim == ROAM_ERR_METADATA_LIMIT);
  if (n) {
    /* find the first key (when it has no NUL inside) */
    roam_meta_iter_init(&ia, a);
    roam_meta_iter_next(&ia, &ea);
    char key[300];
    if (ea.key.len < sizeof key && !memchr(ea.key.ptr, 0, ea.key.len)) {
      memcpy(key, ea.key.ptr, ea.key.len);
      key[ea.key.len] = 0;
      roam_meta_entry f;
      CHECK(roam_metadata_find(a, key, &f) == 0);
      CHECK(f.key.ptr == ea.key.ptr);
    }
  }
}

static void check_list_eq(const roam_u64_list *a, const roam_u64_list *b) {
  CHECK(a->count == b->count);
  uint64_t x[16], y[16];
  size_t n = roam_u64_list_get(a, x, 16);
  CHECK(n == a->count);
  CHECK(roam_u64_list_get(b, y, 16) == n);
  CHECK(memcmp(x, y, (n < 16 ? n : 16) * sizeof x[0]) == 0);
}

static void check_msg_eq(const roam_msg *a, const roam_msg *b) {
  CHECK(a->kind == b->kind);
  CHECK(a->conn_id == b->conn_id);
  CHECK(a->request_id == b->request_id);
  CHECK(a->method_id == b->method_id);
  CHECK(a->channel_id == b->channel_id);
  CHECK(a->credit == b->credit);
  CHECK(a->hello.version == b->hello.version);
  CHECK(a->hello.max_payload_size == b->hello.max_payload_size);
  CHECK(a->hello.initial_channel_credit == b->hello.initial_channel_credit);
  CHECK(bytes_eq(a->reason, b->reason));
  CHECK(bytes_eq(a->payload, b->payload));
  check_metadata_eq(&a->metadata, &b->metadata);
  check_list_eq(&a->channels, &b->channels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* exact-size copy so that any over-read is caught */
  uint8_t *in = malloc(size ? size : 1);
  if (size) memcpy(in, data, size);
  roam_msg m;
  int rc = roam_msg_decode(&m, in, size);
  if (rc) {
    CHECK(rc <= ROAM_ERR_TRUNCATED && rc >= ROAM_ERR_BAD_CHAR);
    CHECK(rc != ROAM_ERR_COBS && rc != ROAM_ERR_FRAME_TOO_LARGE);
    CHECK(roam_msg_error_rule(rc) != NULL);
    free(in);
    return 0;
  }
  CHECK(m.kind < ROAM_MSG_KIND_COUNT);
  if (m.kind == ROAM_MSG_HELLO) CHECK(m.hello.version <= ROAM_HELLO_V2);
  if (m.payload.len) CHECK(m.payload.ptr >= in && m.payload.ptr + m.payload.len <= in + size);
  if (m.reason.len) CHECK(roam_utf8_valid(m.reason.ptr, m.reason.len));

  size_t n = roam_msg_encoded_size(&m);
  CHECK(n > 0 && n <= size);
  uint8_t *out = malloc(n);
  size_t len = 0;
  CHECK(roam_msg_encode_buf(&m, out, n, &len) == 0);
  CHECK(len == n);
  if (n == size) CHECK(memcmp(out, in, n) == 0);
  if (n > 1) CHECK(roam_msg_encode_buf(&m, out, n - 1, &len) == ROAM_ERR_BUFFER_FULL);
  CHECK(roam_msg_encode_buf(&m, out, n, &len) == 0);

  /* a growable encoder (which writes in place, with scratch room) appends
   * exactly the same bytes after what it already holds */
  roam_enc g;
  roam_enc_init_growable(&g, NULL);
  for (size_t i = 0; i < size % 7; i++) roam_enc_u8(&g, (uint8_t)i);
  size_t pre = roam_enc_size(&g);
  CHECK(roam_msg_encode(&g, &m) == 0);
  CHECK(roam_enc_size(&g) == pre + n && memcmp(roam_enc_data(&g) + pre, out, n) == 0);
  roam_enc_free(&g);

  roam_msg m2;
  CHECK(roam_msg_decode(&m2, out, n) == 0);
  check_msg_eq(&m, &m2);
  uint8_t *out2 = malloc(n);
  CHECK(roam_msg_encode_buf(&m2, out2, n, &len) == 0);
  CHECK(len == n && memcmp(out, out2, n) == 0);

  /* header + payload == message */
  roam_enc e;
  roam_enc_init(&e, out2, n);
  CHECK(roam_msg_encode_header(&e, &m) == 0);
  size_t h = roam_enc_size(&e);
  int has_payload = m.kind == ROAM_MSG_REQUEST || m.kind == ROAM_MSG_RESPONSE || m.kind == ROAM_MSG_DATA;
  CHECK(h + (has_payload ? m.payload.len : 0) == n);
  CHECK(memcmp(out2, out, h) == 0);

  /* formatting: snprintf semantics at every small size */
  char buf[1024];
  size_t full = roam_msg_format(&m, NULL, 0);
  CHECK(roam_msg_format(&m, buf, sizeof buf) == full);
  if (full < sizeof buf) CHECK(strlen(buf) == full);
  for (size_t cap = 1; cap < 8; cap++) {
    char small[8];
    CHECK(roam_msg_format(&m, small, cap) == full);
    CHECK(strlen(small) == (full < cap ? full : cap - 1));
  }

  free(out);
  free(out2);
  free(in);
  return 0;
}
