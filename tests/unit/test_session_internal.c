/*
 * Session internals that the scripted-peer tests cannot see: the header
 * writers of the hot paths against the wire layer's encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "session/session_internal.h"

/* The session writes the headers of its common messages itself: they must
 * be the bytes the wire layer writes. */
static void test_fast_headers_match_encoder(void **st) {
  (void)st;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; i++) {
    uint64_t v[5];
    for (int j = 0; j < 5; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      v[j] = x >> (x & 63); /* all magnitudes */
    }
    uint64_t chans[HDR_FAST_CHANS];
    size_t nch = v[4] % (HDR_FAST_CHANS + 1);
    for (size_t j = 0; j < nch; j++) chans[j] = v[j % 4] ^ j;
    size_t plen = (size_t)(v[3] % 100000);
    uint8_t fast[HDR_MAX], gen[256];
    roam_enc e;
    for (int kind = ROAM_MSG_REQUEST; kind <= ROAM_MSG_CREDIT; kind++) {
      roam_msg m;
      memset(&m, 0, sizeof m);
      m.kind = (roam_msg_kind)kind;
      m.conn_id = v[0];
      m.request_id = m.channel_id = v[1];
      m.method_id = v[2];
      m.credit = (uint32_t)v[3];
      m.payload.ptr = gen; /* (only the length is written) */
      m.payload.len = plen;
      size_t n;
      if (kind == ROAM_MSG_REQUEST) {
        m.channels.items = chans;
        m.channels.count = nch;
        n = roam__hdr_request(fast, v[0], v[1], v[2], chans, nch, plen);
      } else if (kind == ROAM_MSG_RESPONSE) {
        n = roam__hdr_response(fast, v[0], v[1], plen);
      } else {
        n = roam__hdr_small(fast, kind, v[0], v[1], kind == ROAM_MSG_DATA ? plen : (uint32_t)v[3]);
      }
      roam_enc_init(&e, gen, sizeof gen);
      assert_int_equal(roam_msg_encode_header(&e, &m), 0);
      assert_int_equal(n, e.len);
      assert_memory_equal(fast, gen, n);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fast_headers_match_encoder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
