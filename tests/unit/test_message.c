/* Unit tests of the message codec (src/wire/message.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include <roam/message.h>

#include "unit/wire_test_util.h"

/* ------------------------------------------------------------------ */
/* Comparing messages                                                  */
/* ------------------------------------------------------------------ */

static int bytes_eq(roam_bytes a, roam_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void assert_metadata_eq(const roam_metadata *a, const roam_metadata *b) {
  assert_int_equal(a->count, b->count);
  roam_meta_iter ia, ib;
  roam_meta_entry ea, eb;
  roam_meta_iter_init(&ia, a);
  roam_meta_iter_init(&ib, b);
  size_t n = 0;
  while (roam_meta_iter_next(&ia, &ea)) {
    assert_int_equal(roam_meta_iter_next(&ib, &eb), 1);
    assert_true(bytes_eq(ea.key, eb.key));
    assert_int_equal(ea.kind, eb.kind);
    if (ea.kind == ROAM_META_U64) assert_true(ea.u64 == eb.u64);
    else assert_true(bytes_eq(ea.value, eb.value));
    n++;
  }
  assert_int_equal(roam_meta_iter_next(&ib, &eb), 0);
  assert_int_equal(n, a->count);
}

static void assert_list_eq(const roam_u64_list *a, const roam_u64_list *b) {
  assert_int_equal(a->count, b->count);
  if (a->count == 0) return;
  uint64_t *x = calloc(a->count, 8), *y = calloc(a->count, 8);
  assert_int_equal(roam_u64_list_get(a, x, a->count), a->count);
  assert_int_equal(roam_u64_list_get(b, y, b->count), b->count);
  assert_memory_equal(x, y, a->count * 8);
  free(x);
  free(y);
}

/* The fields that `kind` uses are equal. */
static void assert_msg_eq(const roam_msg *a, const roam_msg *b) {
  assert_int_equal(a->kind, b->kind);
  switch (a->kind) {
  case ROAM_MSG_HELLO:
    assert_int_equal(a->hello.version, b->hello.version);
    assert_int_equal(a->hello.max_payload_size, b->hello.max_payload_size);
    assert_int_equal(a->hello.initial_channel_credit, b->hello.initial_channel_credit);
    return;
  case ROAM_MSG_CONNECT:
    assert_true(a->request_id == b->request_id);
    assert_metadata_eq(&a->metadata, &b->metadata);
    return;
  case ROAM_MSG_ACCEPT:
    assert_true(a->request_id == b->request_id);
    assert_true(a->conn_id == b->conn_id);
    assert_metadata_eq(&a->metadata, &b->metadata);
    return;
  case ROAM_MSG_REJECT:
    assert_true(a->request_id == b->request_id);
    assert_true(bytes_eq(a->reason, b->reason));
    assert_metadata_eq(&a->metadata, &b->metadata);
    return;
  case ROAM_MSG_GOODBYE:
    assert_true(a->conn_id == b->conn_id);
    assert_true(bytes_eq(a->reason, b->reason));
    return;
  case ROAM_MSG_REQUEST:
    assert_true(a->method_id == b->method_id);
    /* fall through */
  case ROAM_MSG_RESPONSE:
    assert_true(a->conn_id == b->conn_id);
    assert_true(a->request_id == b->request_id);
    assert_metadata_eq(&a->metadata, &b->metadata);
    assert_list_eq(&a->channels, &b->channels);
    assert_true(bytes_eq(a->payload, b->payload));
    return;
  case ROAM_MSG_CANCEL:
    assert_true(a->conn_id == b->conn_id);
    assert_true(a->request_id == b->request_id);
    return;
  case ROAM_MSG_DATA:
    assert_true(a->payload.len == b->payload.len);
    assert_true(bytes_eq(a->payload, b->payload));
    /* fall through */
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET:
    assert_true(a->conn_id == b->conn_id);
    assert_true(a->channel_id == b->channel_id);
    return;
  case ROAM_MSG_CREDIT:
    assert_true(a->conn_id == b->conn_id);
    assert_true(a->channel_id == b->channel_id);
    assert_int_equal(a->credit, b->credit);
    return;
  }
  fail_msg("bad kind %d", (int)a->kind);
}

static roam_bytes cb(const char *s) {
  roam_bytes b = {(const uint8_t *)s, strlen(s)};
  return b;
}

/* ------------------------------------------------------------------ */
/* Golden vectors                                                      */
/* ------------------------------------------------------------------ */

static const uint8_t payload_deadbeef[] = {0xde, 0xad, 0xbe, 0xef};
static const uint8_t payload_42[] = {0x42};
static const uint8_t payload_123[] = {1, 2, 3};
static const uint64_t chans_1_3[] = {1, 3};
static const roam_meta_entry meta_auth[] = {
    {{(const uint8_t *)"auth", 4}, ROAM_META_STRING, {(const uint8_t *)"token123", 8}, 0}};
static const roam_meta_entry meta_key[] = {
    {{(const uint8_t *)"key", 3}, ROAM_META_STRING, {(const uint8_t *)"value", 5}, 0}};

typedef struct golden_msg {
  const char *file;
  roam_msg msg;
} golden_msg;

static golden_msg goldens[32];
static size_t n_goldens;

static roam_msg *add_golden(const char *file, roam_msg_kind kind) {
  golden_msg *g = &goldens[n_goldens++];
  memset(g, 0, sizeof *g);
  g->file = file;
  g->msg.kind = kind;
  return &g->msg;
}

static void build_goldens(void) {
  roam_msg *m;
  n_goldens = 0;
  m = add_golden("message_hello_small.bin", ROAM_MSG_HELLO);
  m->hello.version = ROAM_HELLO_V2;
  m->hello.max_payload_size = 1024;
  m->hello.initial_channel_credit = 64;
  m = add_golden("message_hello_typical.bin", ROAM_MSG_HELLO);
  m->hello.version = ROAM_HELLO_V2;
  m->hello.max_payload_size = 1048576;
  m->hello.initial_channel_credit = 65536;
  m = add_golden("message_connect_empty.bin", ROAM_MSG_CONNECT);
  m->request_id = 1;
  m = add_golden("message_connect_with_metadata.bin", ROAM_MSG_CONNECT);
  m->request_id = 2;
  m->metadata.count = 1;
  m->metadata.entries = meta_auth;
  m = add_golden("message_accept.bin", ROAM_MSG_ACCEPT);
  m->request_id = 1;
  m->conn_id = 1;
  m = add_golden("message_reject.bin", ROAM_MSG_REJECT);
  m->request_id = 1;
  m->reason = cb("not listening");
  m = add_golden("message_goodbye_conn0.bin", ROAM_MSG_GOODBYE);
  m->reason = cb("test");
  m = add_golden("message_goodbye_conn1.bin", ROAM_MSG_GOODBYE);
  m->conn_id = 1;
  m->reason = cb("done");
  m = add_golden("message_request_empty.bin", ROAM_MSG_REQUEST);
  m->request_id = 1;
  m->method_id = 42;
  m = add_golden("message_request_with_payload.bin", ROAM_MSG_REQUEST);
  m->request_id = 1;
  m->method_id = 42;
  m->payload.ptr = payload_deadbeef;
  m->payload.len = 4;
  m = add_golden("message_request_with_metadata.bin", ROAM_MSG_REQUEST);
  m->request_id = 5;
  m->method_id = 100;
  m->metadata.count = 1;
  m->metadata.entries = meta_key;
  m = add_golden("message_request_with_channels.bin", ROAM_MSG_REQUEST);
  m->request_id = 6;
  m->method_id = 200;
  m->channels.count = 2;
  m->channels.items = chans_1_3;
  m->payload.ptr = payload_42;
  m->payload.len = 1;
  m = add_golden("message_request_conn1.bin", ROAM_MSG_REQUEST);
  m->conn_id = 1;
  m->request_id = 1;
  m->method_id = 42;
  m->payload.ptr = payload_42;
  m->payload.len = 1;
  m = add_golden("message_response.bin", ROAM_MSG_RESPONSE);
  m->request_id = 1;
  m->payload.ptr = payload_42;
  m->payload.len = 1;
  m = add_golden("message_cancel.bin", ROAM_MSG_CANCEL);
  m->request_id = 99;
  m = add_golden("message_data.bin", ROAM_MSG_DATA);
  m->channel_id = 1;
  m->payload.ptr = payload_123;
  m->payload.len = 3;
  m = add_golden("message_close.bin", ROAM_MSG_CLOSE);
  m->channel_id = 7;
  m = add_golden("message_reset.bin", ROAM_MSG_RESET);
  m->channel_id = 5;
  m = add_golden("message_credit.bin", ROAM_MSG_CREDIT);
  m->channel_id = 3;
  m->credit = 4096;
}

static int setup_goldens(void **state) {
  (void)state;
  build_goldens();
  return 0;
}

static void test_golden_encode_decode(void **state) {
  (void)state;
  for (size_t i = 0; i < n_goldens; i++) {
    const golden_msg *g = &goldens[i];
    size_t n;
    uint8_t *want = wt_golden("wire", g->file, &n);
    /* encode */
    uint8_t buf[256];
    size_t len = 0;
    assert_int_equal(roam_msg_encoded_size(&g->msg), n);
    int rc = roam_msg_encode_buf(&g->msg, buf, sizeof buf, &len);
    if (rc || len != n || memcmp(buf, want, n) != 0)
      fail_msg("%s: encoded %s (rc %d)", g->file, wt_hex(buf, len), rc);
    roam_enc e;
    roam_enc_init_growable(&e, NULL);
    assert_int_equal(roam_msg_encode(&e, &g->msg), 0);
    assert_int_equal(roam_enc_size(&e), n);
    assert_memory_equal(roam_enc_data(&e), want, n);
    roam_enc_free(&e);
    /* decode */
    roam_msg m;
    rc = roam_msg_decode(&m, want, n);
    if (rc) fail_msg("%s: decode %s", g->file, roam_err_name(rc));
    assert_msg_eq(&m, &g->msg);
    /* re-encode of the decoded value (raw metadata and channels) */
    len = 0;
    assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(buf, want, n);
    free(want);
  }
}

/* The inner Hello vectors, and V1 Hello messages decoding as V1. */
static void test_golden_hello_inner(void **state) {
  (void)state;
  static const struct {
    const char *file;
    uint32_t version, max, credit;
  } h[] = {{"hello_v2_small.bin", ROAM_HELLO_V2, 1024, 64},
           {"hello_v2_typical.bin", ROAM_HELLO_V2, 1048576, 65536},
           {"hello_v1_small.bin", ROAM_HELLO_V1, 1024, 64},
           {"hello_v1_typical.bin", ROAM_HELLO_V1, 1048576, 65536}};
  for (size_t i = 0; i < 4; i++) {
    size_t n;
    uint8_t *inner = wt_golden("wire", h[i].file, &n);
    uint8_t msgb[64];
    msgb[0] = 0; /* Message::Hello */
    memcpy(msgb + 1, inner, n);
    roam_msg m;
    assert_int_equal(roam_msg_decode(&m, msgb, n + 1), 0);
    assert_int_equal(m.kind, ROAM_MSG_HELLO);
    assert_int_equal(m.hello.version, h[i].version);
    assert_int_equal(m.hello.max_payload_size, h[i].max);
    assert_int_equal(m.hello.initial_channel_credit, h[i].credit);
    /* encoding gives the same bytes */
    uint8_t buf[64];
    size_t len;
    assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), 0);
    assert_int_equal(len, n + 1);
    assert_memory_equal(buf, msgb, n + 1);
    /* and the inner value decodes with the postcard primitives */
    roam_dec d;
    roam_dec_init(&d, inner, n);
    uint32_t v, a, b;
    roam_dec_variant(&d, &v);
    roam_dec_u32(&d, &a);
    roam_dec_u32(&d, &b);
    assert_int_equal(roam_dec_finish(&d), 0);
    assert_int_equal(v, h[i].version);
    assert_int_equal(a, h[i].max);
    assert_int_equal(b, h[i].credit);
    free(inner);
  }
}

/* Every file of wire/ is covered by the two tests above. */
static void test_golden_all_files_covered(void **state) {
  (void)state;
  static const char *hello_files[] = {"hello_v2_small.bin", "hello_v2_typical.bin",
                                      "hello_v1_small.bin", "hello_v1_typical.bin"};
  DIR *dir = opendir(ROAM_GOLDEN_DIR "/wire");
  assert_non_null(dir);
  struct dirent *de;
  size_t files = 0;
  while ((de = readdir(dir)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l < 4 || strcmp(de->d_name + l - 4, ".bin") != 0) continue;
    files++;
    int found = 0;
    for (size_t i = 0; i < n_goldens; i++) found |= strcmp(goldens[i].file, de->d_name) == 0;
    for (size_t i = 0; i < 4; i++) found |= strcmp(hello_files[i], de->d_name) == 0;
    if (!found) fail_msg("wire/%s has no test", de->d_name);
  }
  closedir(dir);
  assert_int_equal(files, n_goldens + 4);
}

/* Every strict prefix of every golden message is TRUNCATED; one extra
 * byte is TRAILING. */
static void test_golden_truncations_and_trailing(void **state) {
  (void)state;
  for (size_t i = 0; i < n_goldens; i++) {
    size_t n;
    uint8_t *want = wt_golden("wire", goldens[i].file, &n);
    uint8_t *buf = malloc(n + 1);
    for (size_t k = 0; k < n; k++) {
      memcpy(buf, want, k); /* exact-size copy: ASan catches over-reads */
      roam_msg m;
      int rc = roam_msg_decode(&m, k ? buf : NULL, k);
      if (rc != ROAM_ERR_TRUNCATED)
        fail_msg("%s cut at %zu: %s", goldens[i].file, k, roam_err_name(rc));
      assert_int_equal(m.kind, 0);
      assert_string_equal(roam_msg_error_rule(rc), "message.decode-error");
    }
    memcpy(buf, want, n);
    for (int extra = 0; extra < 256; extra += 85) {
      buf[n] = (uint8_t)extra;
      roam_msg m;
      assert_int_equal(roam_msg_decode(&m, buf, n + 1), ROAM_ERR_TRAILING);
    }
    free(buf);
    free(want);
  }
}

/* ------------------------------------------------------------------ */
/* Malformed messages                                                  */
/* ------------------------------------------------------------------ */

static const struct {
  const char *name;
  const char *hex;
  int want;
} bad_msgs[] = {
    {"empty", "", ROAM_ERR_TRUNCATED},
    {"disc 12", "0c", ROAM_ERR_UNKNOWN_VARIANT},
    {"disc 13 with body", "0d000000", ROAM_ERR_UNKNOWN_VARIANT},
    {"disc 127", "7f", ROAM_ERR_UNKNOWN_VARIANT},
    {"disc 128", "8001", ROAM_ERR_UNKNOWN_VARIANT},
    {"disc u32 max", "ffffffff0f", ROAM_ERR_UNKNOWN_VARIANT},
    {"disc overflow", "ffffffff1f", ROAM_ERR_VARINT},
    {"disc overlong", "808080808000", ROAM_ERR_VARINT},
    {"disc cut", "80", ROAM_ERR_TRUNCATED},
    {"hello v3 (variant 2)", "0002800840", ROAM_ERR_HELLO_VERSION},
    {"hello variant 2 bare", "0002", ROAM_ERR_HELLO_VERSION},
    {"hello variant 200", "00c801", ROAM_ERR_HELLO_VERSION},
    {"hello variant cut", "00", ROAM_ERR_TRUNCATED},
    {"hello max overflow u32", "0001ffffffff1f40", ROAM_ERR_VARINT},
    {"hello credit 6 bytes", "000101808080808001", ROAM_ERR_VARINT},
    {"credit overflow u32", "0b00038080808010", ROAM_ERR_VARINT},
    {"credit u32 max ok+trailing", "0b0003ffffffff0f00", ROAM_ERR_TRAILING},
    {"cancel id overflow u64", "0700ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"cancel id 11 bytes", "0700" "80808080808080808080" "00", ROAM_ERR_VARINT},
    {"cancel id 10 bytes", "0700" "808080808080808080" "00", 0},
    {"goodbye bad utf8", "040002c0af", ROAM_ERR_BAD_UTF8},
    {"goodbye surrogate", "040003eda080", ROAM_ERR_BAD_UTF8},
    {"goodbye reason too long", "040005616263", ROAM_ERR_TRUNCATED},
    {"reject bad utf8", "030101ff00", ROAM_ERR_BAD_UTF8},
    {"meta unknown value variant", "010101016b0300", ROAM_ERR_DECODE},
    {"meta value variant 200", "010101016bc80100", ROAM_ERR_DECODE},
    {"meta bad key utf8", "01010101ff0000", ROAM_ERR_BAD_UTF8},
    {"meta bad string value", "010101016b0001ff", ROAM_ERR_BAD_UTF8},
    {"meta bytes value any", "010101016b0101ff", 0},
    {"meta u64 value", "010101016b02ffffffffffffffffff01", 0},
    {"meta u64 overflow", "010101016b02ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"meta count too big", "010105016b0000", ROAM_ERR_TRUNCATED},
    {"meta count huge", "0101ffffffffffffffffff01", ROAM_ERR_TRUNCATED},
    {"meta count overflow", "0101ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"channels overlong", "0500010200" "01" "80808080808080808080" "00" "00", ROAM_ERR_VARINT},
    {"channels count too big", "0500010200030100", ROAM_ERR_TRUNCATED},
    {"channels u64 overflow", "0500010200" "01" "ffffffffffffffffff02" "00", ROAM_ERR_VARINT},
    {"payload too long", "08000105010203", ROAM_ERR_TRUNCATED},
    {"payload len overflow", "080001ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"response cut", "0600010000", ROAM_ERR_TRUNCATED},
    {"response empty payload", "060001000000", 0},
    {"data trailing", "0800010301020300", ROAM_ERR_TRAILING},
    {"close trailing", "09000700", ROAM_ERR_TRAILING},
    {"non-canonical ids ok", "098000870000", ROAM_ERR_TRAILING},
    {"non-canonical ids", "0980008700", 0},
};

static void test_malformed_messages(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_msgs / sizeof bad_msgs[0]; i++) {
    uint8_t buf[128];
    size_t n = wt_unhex(bad_msgs[i].hex, buf);
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    roam_msg m;
    int rc = roam_msg_decode(&m, exact, n);
    if (rc != bad_msgs[i].want)
      fail_msg("%s: got %s, want %s", bad_msgs[i].name, roam_err_name(rc),
               roam_err_name(bad_msgs[i].want));
    free(exact);
  }
  assert_string_equal(roam_msg_error_rule(ROAM_ERR_UNKNOWN_VARIANT), "message.unknown-variant");
  assert_string_equal(roam_msg_error_rule(ROAM_ERR_HELLO_VERSION),
                      "message.hello.unknown-version");
  assert_string_equal(roam_msg_error_rule(ROAM_ERR_VARINT), "message.decode-error");
  assert_string_equal(roam_msg_error_rule(ROAM_ERR_TRAILING), "message.decode-error");
  assert_string_equal(roam_msg_error_rule(ROAM_ERR_COBS), "message.decode-error");
  assert_string_equal(roam_msg_error_rule(0), "message.decode-error");
}

static void test_kind_names(void **state) {
  (void)state;
  static const char *names[] = {"Hello",    "Connect", "Accept", "Reject", "Goodbye", "Request",
                                "Response", "Cancel",  "Data",   "Close",  "Reset",   "Credit"};
  for (int i = 0; i < ROAM_MSG_KIND_COUNT; i++) assert_string_equal(roam_msg_kind_name(i), names[i]);
  assert_string_equal(roam_msg_kind_name(12), "?");
  assert_string_equal(roam_msg_kind_name(-1), "?");
}

/* ------------------------------------------------------------------ */
/* Randomized round trips                                              */
/* ------------------------------------------------------------------ */

typedef struct rand_msg {
  roam_msg m;
  roam_meta_entry meta[40];
  uint8_t strbuf[40][2][600];
  uint64_t chans[64];
  uint8_t reason[300];
  uint8_t *payload;
} rand_msg;

static void random_metadata(wt_rng *r, rand_msg *rm) {
  size_t count = wt_below(r, 4) == 0 ? wt_below(r, 40) : wt_below(r, 3);
  for (size_t i = 0; i < count; i++) {
    roam_meta_entry *e = &rm->meta[i];
    size_t kl = wt_below(r, 5) == 0 ? wt_below(r, 600) : wt_below(r, 16);
    wt_fill_utf8(r, rm->strbuf[i][0], kl);
    e->key.ptr = rm->strbuf[i][0];
    e->key.len = kl;
    e->kind = (roam_meta_kind)wt_below(r, 3);
    e->u64 = 0;
    e->value.ptr = NULL;
    e->value.len = 0;
    size_t vl = wt_below(r, 5) == 0 ? wt_below(r, 600) : wt_below(r, 32);
    if (e->kind == ROAM_META_STRING) {
      wt_fill_utf8(r, rm->strbuf[i][1], vl);
      e->value.ptr = rm->strbuf[i][1];
      e->value.len = vl;
    } else if (e->kind == ROAM_META_BYTES) {
      wt_fill(r, rm->strbuf[i][1], vl, -1);
      e->value.ptr = rm->strbuf[i][1];
      e->value.len = vl;
    } else {
      e->u64 = wt_rand_varied(r);
    }
  }
  rm->m.metadata.count = count;
  rm->m.metadata.entries = count ? rm->meta : NULL;
}

static void random_msg(wt_rng *r, rand_msg *rm, roam_msg_kind kind) {
  memset(&rm->m, 0, sizeof rm->m);
  free(rm->payload);
  rm->payload = NULL;
  roam_msg *m = &rm->m;
  m->kind = kind;
  m->conn_id = wt_rand_varied(r);
  m->request_id = wt_rand_varied(r);
  m->method_id = wt_rand(r);
  m->channel_id = wt_rand_varied(r);
  m->credit = (uint32_t)wt_rand_varied(r);
  m->hello.version = wt_below(r, 2) ? ROAM_HELLO_V2 : ROAM_HELLO_V1;
  m->hello.max_payload_size = (uint32_t)wt_rand_varied(r);
  m->hello.initial_channel_credit = (uint32_t)wt_rand_varied(r);
  size_t rl = wt_below(r, 6) == 0 ? 0 : wt_below(r, sizeof rm->reason);
  wt_fill_utf8(r, rm->reason, rl);
  m->reason.ptr = rm->reason;
  m->reason.len = rl;
  random_metadata(r, rm);
  size_t nc = wt_below(r, 3) == 0 ? wt_below(r, 64) : wt_below(r, 3);
  for (size_t i = 0; i < nc; i++) rm->chans[i] = wt_rand_varied(r);
  m->channels.count = nc;
  m->channels.items = rm->chans;
  size_t pl;
  switch (wt_below(r, 5)) {
  case 0: pl = 0; break;
  case 1: pl = wt_below(r, 16); break;
  case 2: pl = wt_below(r, 300); break;
  case 3: pl = wt_below(r, 5000); break;
  default: pl = wt_below(r, 40) == 0 ? 200000 + wt_below(r, 100000) : wt_below(r, 70000); break;
  }
  rm->payload = malloc(pl ? pl : 1);
  wt_fill(r, rm->payload, pl, (int)wt_below(r, 64));
  m->payload.ptr = rm->payload;
  m->payload.len = pl;
}

static void test_random_round_trips(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 20240601);
  static rand_msg rm;
  roam_enc e, h;
  roam_enc_init_growable(&e, NULL);
  roam_enc_init_growable(&h, NULL);
  for (int it = 0; it < 6000; it++) {
    roam_msg_kind kind = (roam_msg_kind)(it % ROAM_MSG_KIND_COUNT);
    random_msg(&r, &rm, kind);
    size_t want = roam_msg_encoded_size(&rm.m);
    assert_true(want > 0);
    roam_enc_reset(&e);
    assert_int_equal(roam_msg_encode(&e, &rm.m), 0);
    assert_int_equal(roam_enc_size(&e), want);
    /* exact-size buffer works, one byte less does not */
    uint8_t *exact = malloc(want);
    size_t len = 0;
    assert_int_equal(roam_msg_encode_buf(&rm.m, exact, want, &len), 0);
    assert_int_equal(len, want);
    assert_memory_equal(exact, roam_enc_data(&e), want);
    assert_int_equal(roam_msg_encode_buf(&rm.m, exact, want - 1, &len), ROAM_ERR_BUFFER_FULL);
    assert_int_equal(len, 0);
    memcpy(exact, roam_enc_data(&e), want);
    /* header + payload == whole message */
    roam_enc_reset(&h);
    assert_int_equal(roam_msg_encode_header(&h, &rm.m), 0);
    int has_payload = kind == ROAM_MSG_REQUEST || kind == ROAM_MSG_RESPONSE || kind == ROAM_MSG_DATA;
    assert_int_equal(roam_enc_size(&h) + (has_payload ? rm.m.payload.len : 0), want);
    assert_memory_equal(roam_enc_data(&h), exact, roam_enc_size(&h));
    /* decode */
    roam_msg d;
    int rc = roam_msg_decode(&d, exact, want);
    if (rc) fail_msg("iteration %d (%s): %s", it, roam_msg_kind_name(kind), roam_err_name(rc));
    assert_msg_eq(&d, &rm.m);
    if (has_payload && d.payload.len) assert_ptr_equal(d.payload.ptr, exact + want - d.payload.len);
    /* metadata figures agree with measuring the source entries */
    if ((kind >= ROAM_MSG_CONNECT && kind <= ROAM_MSG_REJECT) || kind == ROAM_MSG_REQUEST ||
        kind == ROAM_MSG_RESPONSE) {
      roam_metadata src = rm.m.metadata;
      roam_metadata_measure(&src);
      assert_int_equal(d.metadata.max_key_len, src.max_key_len);
      assert_int_equal(d.metadata.max_value_len, src.max_value_len);
      assert_int_equal(d.metadata.total_len, src.total_len);
      roam_metadata dm = d.metadata;
      roam_metadata_measure(&dm);
      assert_int_equal(dm.total_len, src.total_len);
      if (src.count) {
        /* find returns the first entry with the key */
        char key[700];
        memcpy(key, src.entries[0].key.ptr, src.entries[0].key.len);
        key[src.entries[0].key.len] = 0;
        if (strlen(key) == src.entries[0].key.len) {
          roam_meta_entry fe;
          assert_int_equal(roam_metadata_find(&d.metadata, key, &fe), 0);
          assert_true(bytes_eq(fe.key, src.entries[0].key));
        }
      }
    }
    /* decoded -> encoded is the same bytes (raw forwarding) */
    uint8_t *again = malloc(want);
    assert_int_equal(roam_msg_encoded_size(&d), want);
    assert_int_equal(roam_msg_encode_buf(&d, again, want, &len), 0);
    assert_memory_equal(again, exact, want);
    /* every prefix of small messages is truncated */
    if (want < 64) {
      for (size_t k = 0; k < want; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, exact, k);
        assert_int_equal(roam_msg_decode(&d, cut, k), ROAM_ERR_TRUNCATED);
        free(cut);
      }
    }
    free(again);
    free(exact);
  }
  free(rm.payload);
  rm.payload = NULL;
  roam_enc_free(&e);
  roam_enc_free(&h);
}

/* ------------------------------------------------------------------ */
/* Encoding errors                                                     */
/* ------------------------------------------------------------------ */

static void test_encode_invalid(void **state) {
  (void)state;
  roam_msg m;
  uint8_t buf[64];
  size_t len = 99;
  memset(&m, 0, sizeof m);
  m.kind = (roam_msg_kind)12;
  assert_int_equal(roam_msg_encoded_size(&m), 0);
  assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(len, 0);
  /* Hello with an unknown version */
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_HELLO;
  m.hello.version = 2;
  assert_int_equal(roam_msg_encoded_size(&m), 0);
  assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  /* bad UTF-8 in the reason, in a key, in a string value */
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_GOODBYE;
  m.reason = cb("\xff");
  assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), ROAM_ERR_BAD_UTF8);
  roam_meta_entry ent = {{(const uint8_t *)"\xed\xa0\x80", 3}, ROAM_META_BYTES, {NULL, 0}, 0};
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_CONNECT;
  m.metadata.count = 1;
  m.metadata.entries = &ent;
  assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), ROAM_ERR_BAD_UTF8);
  ent.key = cb("k");
  ent.kind = ROAM_META_STRING;
  ent.value = cb("\xc0\x80");
  assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), ROAM_ERR_BAD_UTF8);
  ent.kind = (roam_meta_kind)3;
  assert_int_equal(roam_msg_encoded_size(&m), 0);
  assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  /* a count with no entries and no raw bytes */
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_REQUEST;
  m.channels.count = 2;
  assert_int_equal(roam_msg_encoded_size(&m), 0);
  m.channels.count = 0;
  m.payload.len = 5; /* NULL payload pointer */
  assert_int_equal(roam_msg_encoded_size(&m), 0);
  /* sticky errors in the encoder */
  roam_enc e;
  roam_enc_init(&e, buf, 3);
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_CREDIT;
  m.credit = 1000000;
  assert_int_equal(roam_msg_encode(&e, &m), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(roam_enc_size(&e), 0);
  m.credit = 1;
  assert_int_equal(roam_msg_encode(&e, &m), ROAM_ERR_BUFFER_FULL);
  /* appending: two messages back to back */
  roam_enc_init(&e, buf, sizeof buf);
  m.kind = ROAM_MSG_CLOSE;
  m.channel_id = 7;
  assert_int_equal(roam_msg_encode(&e, &m), 0);
  m.kind = ROAM_MSG_RESET;
  m.channel_id = 5;
  assert_int_equal(roam_msg_encode(&e, &m), 0);
  assert_int_equal(roam_enc_size(&e), 6);
  assert_memory_equal(buf, "\x09\x00\x07\x0a\x00\x05", 6);
}

/* ------------------------------------------------------------------ */
/* Metadata limits and helpers                                         */
/* ------------------------------------------------------------------ */

static void test_metadata_limits(void **state) {
  (void)state;
  static uint8_t big[70000];
  memset(big, 'x', sizeof big);
  static roam_meta_entry ents[200];
  roam_metadata md;
  memset(&md, 0, sizeof md);
  md.entries = ents;
  /* 128 entries ok, 129 not */
  for (int i = 0; i < 200; i++) {
    ents[i].key.ptr = big;
    ents[i].key.len = 1;
    ents[i].kind = ROAM_META_U64;
    ents[i].u64 = 1;
  }
  md.count = 128;
  assert_int_equal(roam_metadata_check_limits(&md), 0);
  md.count = 129;
  assert_int_equal(roam_metadata_check_limits(&md), ROAM_ERR_METADATA_LIMIT);
  /* key 256 ok, 257 not */
  md.count = 1;
  ents[0].key.len = 256;
  assert_int_equal(roam_metadata_check_limits(&md), 0);
  ents[0].key.len = 257;
  assert_int_equal(roam_metadata_check_limits(&md), ROAM_ERR_METADATA_LIMIT);
  ents[0].key.len = 1;
  /* value 16384 ok, 16385 not */
  ents[0].kind = ROAM_META_BYTES;
  ents[0].value.ptr = big;
  ents[0].value.len = 16384;
  assert_int_equal(roam_metadata_check_limits(&md), 0);
  ents[0].value.len = 16385;
  assert_int_equal(roam_metadata_check_limits(&md), ROAM_ERR_METADATA_LIMIT);
  /* total 65536 ok, 65537 not: 4 entries of key 16 + value 16368, U64 = 8 */
  for (int i = 0; i < 5; i++) {
    ents[i].key.ptr = big;
    ents[i].key.len = 16;
    ents[i].kind = ROAM_META_STRING;
    ents[i].value.ptr = big;
    ents[i].value.len = 16384 - 16;
  }
  md.count = 4;
  roam_metadata_measure(&md);
  assert_int_equal(md.total_len, 65536);
  assert_int_equal(md.max_key_len, 16);
  assert_int_equal(md.max_value_len, 16368);
  assert_int_equal(roam_metadata_check_limits(&md), 0);
  md.count = 5;
  ents[4].key.len = 1;
  ents[4].kind = ROAM_META_U64;
  assert_int_equal(roam_metadata_check_limits(&md), ROAM_ERR_METADATA_LIMIT);
  roam_metadata_measure(&md);
  assert_int_equal(md.total_len, 65536 + 9);
  /* the same through encoding and decoding: decoded figures */
  ents[3].value.len -= 9;
  md.count = 5;
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_CONNECT;
  m.metadata = md;
  size_t need = roam_msg_encoded_size(&m);
  uint8_t *buf = malloc(need);
  size_t len;
  assert_int_equal(roam_msg_encode_buf(&m, buf, need, &len), 0);
  roam_msg d;
  assert_int_equal(roam_msg_decode(&d, buf, len), 0);
  assert_int_equal(d.metadata.total_len, 65536);
  assert_int_equal(roam_metadata_check_limits(&d.metadata), 0);
  free(buf);
  ents[3].value.len += 1;
  m.metadata.count = 5;
  need = roam_msg_encoded_size(&m);
  buf = malloc(need);
  assert_int_equal(roam_msg_encode_buf(&m, buf, need, &len), 0);
  assert_int_equal(roam_msg_decode(&d, buf, len), 0); /* decoding does not enforce */
  assert_int_equal(d.metadata.total_len, 65537);
  assert_int_equal(roam_metadata_check_limits(&d.metadata), ROAM_ERR_METADATA_LIMIT);
  free(buf);
}

static void test_metadata_iter_find(void **state) {
  (void)state;
  size_t n;
  uint8_t *want = wt_golden("wire", "message_connect_with_metadata.bin", &n);
  roam_msg m;
  assert_int_equal(roam_msg_decode(&m, want, n), 0);
  assert_null(m.metadata.entries);
  assert_int_equal(m.metadata.count, 1);
  assert_int_equal(m.metadata.max_key_len, 4);
  assert_int_equal(m.metadata.max_value_len, 8);
  assert_int_equal(m.metadata.total_len, 12);
  roam_meta_entry e;
  assert_int_equal(roam_metadata_find(&m.metadata, "auth", &e), 0);
  assert_int_equal(e.kind, ROAM_META_STRING);
  assert_true(bytes_eq(e.value, cb("token123")));
  assert_ptr_equal(e.value.ptr, want + n - 8); /* zero copy */
  assert_int_equal(roam_metadata_find(&m.metadata, "aut", &e), ROAM_ERR_NOT_FOUND);
  assert_int_equal(roam_metadata_find(&m.metadata, "authx", &e), ROAM_ERR_NOT_FOUND);
  free(want);
  /* duplicates: find returns the first; iteration keeps order */
  roam_meta_entry ents[3] = {
      {{(const uint8_t *)"a", 1}, ROAM_META_U64, {NULL, 0}, 7},
      {{(const uint8_t *)"b", 1}, ROAM_META_BYTES, {(const uint8_t *)"\x00\x01", 2}, 0},
      {{(const uint8_t *)"a", 1}, ROAM_META_STRING, {(const uint8_t *)"z", 1}, 0}};
  roam_msg src;
  memset(&src, 0, sizeof src);
  src.kind = ROAM_MSG_ACCEPT;
  src.metadata.count = 3;
  src.metadata.entries = ents;
  uint8_t buf[64];
  size_t len;
  assert_int_equal(roam_msg_encode_buf(&src, buf, sizeof buf, &len), 0);
  assert_int_equal(roam_msg_decode(&m, buf, len), 0);
  assert_int_equal(roam_metadata_find(&m.metadata, "a", &e), 0);
  assert_int_equal(e.kind, ROAM_META_U64);
  assert_true(e.u64 == 7);
  assert_int_equal(roam_metadata_find(&src.metadata, "b", &e), 0);
  assert_int_equal(e.value.len, 2);
  roam_meta_iter it;
  roam_meta_iter_init(&it, &m.metadata);
  const char *keys = "aba";
  for (int i = 0; i < 3; i++) {
    assert_int_equal(roam_meta_iter_next(&it, &e), 1);
    assert_int_equal(e.key.ptr[0], keys[i]);
  }
  assert_int_equal(roam_meta_iter_next(&it, &e), 0);
  assert_int_equal(roam_meta_iter_next(&it, &e), 0);
  assert_int_equal(m.metadata.total_len, 1 + 8 + 1 + 2 + 1 + 1);
  /* an empty list */
  roam_metadata empty;
  memset(&empty, 0, sizeof empty);
  assert_int_equal(roam_metadata_find(&empty, "a", &e), ROAM_ERR_NOT_FOUND);
  roam_meta_iter_init(&it, &empty);
  assert_int_equal(roam_meta_iter_next(&it, &e), 0);
  assert_int_equal(roam_metadata_check_limits(&empty), 0);
}

static void test_u64_list(void **state) {
  (void)state;
  size_t n;
  uint8_t *want = wt_golden("wire", "message_request_with_channels.bin", &n);
  roam_msg m;
  assert_int_equal(roam_msg_decode(&m, want, n), 0);
  assert_null(m.channels.items);
  assert_int_equal(m.channels.count, 2);
  uint64_t ids[4] = {0, 0, 0, 0};
  assert_int_equal(roam_u64_list_get(&m.channels, ids, 4), 2);
  assert_true(ids[0] == 1 && ids[1] == 3 && ids[2] == 0);
  ids[0] = 0;
  assert_int_equal(roam_u64_list_get(&m.channels, ids, 1), 2);
  assert_true(ids[0] == 1 && ids[1] == 3);
  assert_int_equal(roam_u64_list_get(&m.channels, NULL, 0), 2);
  free(want);
  uint64_t items[3] = {5, 1ull << 40, UINT64_MAX};
  roam_u64_list l = {3, items, NULL, 0};
  assert_int_equal(roam_u64_list_get(&l, ids, 2), 3);
  assert_true(ids[0] == 5 && ids[1] == 1ull << 40);
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

static void expect_format(const char *file, const char *want) {
  size_t n;
  uint8_t *bytes = wt_golden("wire", file, &n);
  roam_msg m;
  assert_int_equal(roam_msg_decode(&m, bytes, n), 0);
  char buf[512];
  size_t len = roam_msg_format(&m, buf, sizeof buf);
  assert_string_equal(buf, want);
  assert_int_equal(len, strlen(want));
  free(bytes);
}

static void test_format(void **state) {
  (void)state;
  expect_format("message_hello_typical.bin", "Hello V2 max_payload=1048576 initial_credit=65536");
  expect_format("message_connect_with_metadata.bin", "Connect req=2 meta=1(12B){\"auth\"}");
  expect_format("message_accept.bin", "Accept req=1 conn=1 meta=0");
  expect_format("message_reject.bin", "Reject req=1 reason=\"not listening\" meta=0");
  expect_format("message_goodbye_conn1.bin", "Goodbye conn=1 reason=\"done\"");
  expect_format("message_request_with_channels.bin",
                "Request conn=0 req=6 method=0x00000000000000c8 meta=0 channels=[1,3] payload=1B");
  expect_format("message_response.bin", "Response conn=0 req=1 meta=0 channels=[] payload=1B");
  expect_format("message_cancel.bin", "Cancel conn=0 req=99");
  expect_format("message_data.bin", "Data conn=0 chan=1 payload=3B");
  expect_format("message_close.bin", "Close conn=0 chan=7");
  expect_format("message_reset.bin", "Reset conn=0 chan=5");
  expect_format("message_credit.bin", "Credit conn=0 chan=3 bytes=4096");

  /* escaping and snprintf semantics */
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_GOODBYE;
  m.reason = cb("a\"b\\c\n\x01 \xc3\xa9");
  char buf[128];
  size_t len = roam_msg_format(&m, buf, sizeof buf);
  assert_string_equal(buf, "Goodbye conn=0 reason=\"a\\\"b\\\\c\\n\\x01 \xc3\xa9\"");
  assert_int_equal(len, strlen(buf));
  m.reason = cb("\xff\xfe");
  roam_msg_format(&m, buf, sizeof buf);
  assert_string_equal(buf, "Goodbye conn=0 reason=\"\\xff\\xfe\"");
  /* truncation */
  m.reason = cb("test");
  size_t full = roam_msg_format(&m, NULL, 0);
  assert_int_equal(full, strlen("Goodbye conn=0 reason=\"test\""));
  char small[10];
  memset(small, 'Z', sizeof small);
  assert_int_equal(roam_msg_format(&m, small, sizeof small), full);
  assert_string_equal(small, "Goodbye c");
  char one[1] = {'Z'};
  assert_int_equal(roam_msg_format(&m, one, 1), full);
  assert_int_equal(one[0], 0);
  /* long reasons are cut */
  static char longr[1000];
  memset(longr, 'r', sizeof longr - 1);
  m.reason = cb(longr);
  char big[600];
  len = roam_msg_format(&m, big, sizeof big);
  assert_true(len < sizeof big);
  assert_non_null(strstr(big, "(999 bytes)"));
  /* many channels, credit, hello V1 */
  uint64_t ids[20];
  for (int i = 0; i < 20; i++) ids[i] = (uint64_t)i + 1;
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_RESPONSE;
  m.channels.count = 20;
  m.channels.items = ids;
  roam_msg_format(&m, buf, sizeof buf);
  assert_non_null(strstr(buf, "channels=[1,2,3,4,5,6,7,8,...(20)]"));
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_HELLO;
  m.hello.version = ROAM_HELLO_V1;
  roam_msg_format(&m, buf, sizeof buf);
  assert_string_equal(buf, "Hello V1 max_payload=0 initial_credit=0");
  m.kind = (roam_msg_kind)40;
  roam_msg_format(&m, buf, sizeof buf);
  assert_string_equal(buf, "?(kind 40)");
}


/* Header ids of every varint length (1..10 bytes), at the end of the message
 * (no room after them: the careful path) and followed by a payload (room for
 * the longest encoding: the one-load path), round-trip; a 10th byte above 1
 * and an unterminated id are rejected on both paths. */
static void test_id_varints_every_length(void **ctx) {
  (void)ctx;
  static const uint8_t pay[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  for (unsigned bits = 0; bits <= 64; bits++) {
    for (int v = 0; v < 3; v++) {
      uint64_t id = bits == 0 ? 0 : bits == 64 ? UINT64_MAX - (uint64_t)v : (1ull << bits) - 1 - (uint64_t)v * (bits > 2);
      roam_msg m;
      memset(&m, 0, sizeof m);
      m.kind = ROAM_MSG_REQUEST;
      m.conn_id = id;
      m.request_id = id ^ 1;
      m.method_id = id;
      m.payload.ptr = pay;
      m.payload.len = sizeof pay;
      uint8_t buf[128];
      size_t len;
      assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), 0);
      roam_msg d;
      assert_int_equal(roam_msg_decode(&d, buf, len), 0);
      assert_true(d.conn_id == id && d.request_id == (id ^ 1) && d.method_id == id);
      memset(&m, 0, sizeof m);
      m.kind = ROAM_MSG_CANCEL;
      m.conn_id = id ^ 1;
      m.request_id = id;
      assert_int_equal(roam_msg_encode_buf(&m, buf, sizeof buf, &len), 0);
      assert_int_equal(roam_msg_decode(&d, buf, len), 0);
      assert_true(d.conn_id == (id ^ 1) && d.request_id == id);
    }
  }
  /* 10th byte 2: too large for 64 bits; with and without bytes after it */
  uint8_t bad[32] = {ROAM_MSG_REQUEST, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  roam_msg d;
  assert_int_equal(roam_msg_decode(&d, bad, 11), ROAM_ERR_VARINT);
  assert_int_equal(roam_msg_decode(&d, bad, sizeof bad), ROAM_ERR_VARINT);
  /* eleven continuation bytes */
  memset(bad + 1, 0x80, 20);
  assert_int_equal(roam_msg_decode(&d, bad, sizeof bad), ROAM_ERR_VARINT);
  /* ends inside the id */
  assert_int_equal(roam_msg_decode(&d, bad, 9), ROAM_ERR_TRUNCATED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_golden_encode_decode, setup_goldens),
      cmocka_unit_test(test_golden_hello_inner),
      cmocka_unit_test_setup(test_golden_all_files_covered, setup_goldens),
      cmocka_unit_test_setup(test_golden_truncations_and_trailing, setup_goldens),
      cmocka_unit_test(test_malformed_messages),
      cmocka_unit_test(test_id_varints_every_length),
      cmocka_unit_test(test_kind_names),
      cmocka_unit_test(test_random_round_trips),
      cmocka_unit_test(test_encode_invalid),
      cmocka_unit_test(test_metadata_limits),
      cmocka_unit_test(test_metadata_iter_find),
      cmocka_unit_test(test_u64_list),
      cmocka_unit_test(test_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
